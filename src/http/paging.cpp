#include "http/paging.hpp"

#include "core/crypto.hpp"

namespace motorpool::http {

PageQuery read_page_query(const Request& request,
                          std::vector<core::FieldError>& errors,
                          std::int64_t default_page_size,
                          std::int64_t max_page_size) {
    PageQuery q;
    q.page = request.query_integer("page", 1, 1, 1'000'000, errors);
    q.page_size = request.query_integer("page_size", default_page_size, 1, max_page_size, errors);
    if (auto cursor = request.query_param("cursor")) {
        q.keyset = true;
        if (!cursor->empty()) {
            if (auto after = decode_cursor(*cursor)) {
                q.after = *after;
            } else {
                errors.push_back({"cursor", "is not a cursor this API returned"});
            }
        }
    }
    return q;
}

std::string encode_cursor(std::int64_t after_id) {
    return core::base64url_encode("v1:" + std::to_string(after_id));
}

std::optional<std::int64_t> decode_cursor(std::string_view cursor) {
    auto raw = core::base64url_decode(cursor);
    if (!raw || raw->size() < 4 || raw->size() > 23 || raw->compare(0, 3, "v1:") != 0) {
        return std::nullopt;
    }
    std::int64_t value = 0;
    for (std::size_t i = 3; i < raw->size(); ++i) {
        const char c = (*raw)[i];
        if (c < '0' || c > '9' || value > (INT64_MAX - 9) / 10) {
            return std::nullopt;
        }
        value = value * 10 + (c - '0');
    }
    return value;
}

boost::json::object page_json(boost::json::array items,
                              const PageQuery& query,
                              std::optional<std::int64_t> total,
                              std::optional<std::int64_t> next_after) {
    boost::json::object out{{"items", std::move(items)}};
    if (query.keyset) {
        out["page_size"] = query.page_size;
        out["next_cursor"] = next_after ? boost::json::value(encode_cursor(*next_after)) : boost::json::value(nullptr);
        return out;
    }
    const std::int64_t count = total.value_or(0);
    out["total"] = count;
    out["page"] = query.page;
    out["page_size"] = query.page_size;
    out["total_pages"] = (count + query.page_size - 1) / query.page_size;
    return out;
}

}  // namespace motorpool::http
