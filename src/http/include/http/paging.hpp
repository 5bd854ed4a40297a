#pragma once
// The one list shape of the API (shared/design/API.md, conventions): `?page=&page_size=` answered
// as {items, total, page, page_size, total_pages}; large lists also take `?cursor=` (keyset paging
// on an increasing or decreasing id) and answer {items, page_size, next_cursor}.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "core/errors.hpp"
#include "http/request.hpp"

namespace motorpool::http {

struct PageQuery {
    std::int64_t page = 1;
    std::int64_t page_size = 10;
    bool keyset = false;                // `cursor` was given ("" for the first page)
    std::optional<std::int64_t> after;  // keyset: the id the previous page ended at
    std::int64_t offset() const { return (page - 1) * page_size; }
};

/// Reads page, page_size (1..max_page_size) and cursor; problems go to `errors` (one 422 for all).
PageQuery read_page_query(const Request& request,
                          std::vector<core::FieldError>& errors,
                          std::int64_t default_page_size = 10,
                          std::int64_t max_page_size = 100);

/// An opaque cursor for the id a page ended at, and back (nullopt: not a cursor this API made).
std::string encode_cursor(std::int64_t after_id);
std::optional<std::int64_t> decode_cursor(std::string_view cursor);

/// {items, total, page, page_size, total_pages} in page mode; {items, page_size, next_cursor} in
/// keyset mode (`next_after`: the last id when more may follow).
boost::json::object page_json(boost::json::array items,
                              const PageQuery& query,
                              std::optional<std::int64_t> total,
                              std::optional<std::int64_t> next_after = std::nullopt);

}  // namespace motorpool::http
