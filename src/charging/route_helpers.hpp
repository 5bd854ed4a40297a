#pragma once
// What the charging module's route files share: the route options, JSON for optional values, the
// page query of its lists (offset pages only), and which rows a caller's list shows.

#include <cstdint>
#include <optional>
#include <string>

#include <boost/json/value.hpp>

#include "auth/auth.hpp"
#include "core/errors.hpp"
#include "core/time.hpp"
#include "http/paging.hpp"
#include "http/router.hpp"

namespace motorpool::charging {

inline http::RouteOptions authenticated() {
    return http::authenticated(std::size_t{64} * 1024);
}

inline boost::json::value opt_json(const std::optional<std::string>& v) {
    return v ? boost::json::value(*v) : boost::json::value(nullptr);
}
inline boost::json::value opt_json(const std::optional<double>& v) {
    return v ? boost::json::value(*v) : boost::json::value(nullptr);
}
inline boost::json::value opt_json(const std::optional<std::int64_t>& v) {
    return v ? boost::json::value(*v) : boost::json::value(nullptr);
}
inline boost::json::value time_json(const std::optional<std::int64_t>& ms) {
    return ms ? boost::json::value(core::format_rfc3339(*ms)) : boost::json::value(nullptr);
}

/// ?page=&page_size= (20 by default, 100 at most); a cursor is refused: these lists are short.
inline http::PageQuery read_offset_page(const http::Request& request) {
    std::vector<core::FieldError> errors;
    http::PageQuery q = http::read_page_query(request, errors, 20, 100);
    if (q.keyset) {
        errors.push_back({"cursor", "is not supported here: use page"});
    }
    if (!errors.empty()) {
        throw core::ApiError::validation(std::move(errors));
    }
    return q;
}

/// The owner whose rows a list shows: the caller's own, or everyone's (nullopt) for staff.
inline std::optional<std::int64_t> list_scope(const auth::Actor& actor) {
    if (auth::sees_all_rows(actor.role)) {
        return std::nullopt;
    }
    return actor.user_id;
}

}  // namespace motorpool::charging
