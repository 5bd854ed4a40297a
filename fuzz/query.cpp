// Request targets: the router's matching over every real route (literal and parameter segments,
// trailing rest parameters), percent-decoding, and the query readers every list uses (page,
// page_size, cursor, integers with ranges), with their invariants.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/text.hpp"
#include "http/paging.hpp"
#include "http/request.hpp"
#include "http/router.hpp"
#include "server_fixture.hpp"
#include "target.hpp"

using namespace motorpool;

int motorpool::fuzz::query(const std::uint8_t* data, std::size_t size) {
    if (size < 1 || size > 8192) {
        return -1;
    }
    static const http::Method kMethods[] = {http::Method::Get,
                                            http::Method::Post,
                                            http::Method::Put,
                                            http::Method::Patch,
                                            http::Method::Delete,
                                            http::Method::Head};
    const http::Method method = kMethods[data[0] % 6];
    const std::string_view target(reinterpret_cast<const char*>(data) + 1, size - 1);

    http::Request request;
    request.method = method;
    request.target = std::string(target);
    const auto question = target.find('?');
    const std::string_view raw_path = target.substr(0, question);
    if (question != std::string_view::npos) {
        request.query = std::string(target.substr(question + 1));
    }
    if (auto path = core::percent_decode(raw_path)) {
        request.path = *path;
        const http::Match match = fuzz::ServerFixture::instance().router().match(method, request.path);
        if (match.kind == http::Match::Kind::Found) {
            if (match.route == nullptr) {
                fuzz::fail("a match without its route", target);
            }
            for (const auto& [name, value] : match.params) {
                if (name.empty()) {
                    fuzz::fail("a path parameter without a name", target);
                }
            }
        } else if (match.kind == http::Match::Kind::MethodNotAllowed && match.allow.empty()) {
            fuzz::fail("405 without an Allow list", target);
        }
    }
    for (const char* name : {"page", "page_size", "cursor", "q", "from", "to", "status", "vin"}) {
        (void)request.query_param(name);
    }
    std::vector<core::FieldError> errors;
    const http::PageQuery page = http::read_page_query(request, errors, 10, 100);
    if (errors.empty() && (page.page < 1 || page.page_size < 1 || page.page_size > 100 || page.offset() < 0)) {
        fuzz::fail("a page query out of its bounds passed", target);
    }
    errors.clear();
    const std::int64_t n = request.query_integer("limit", 7, -5, 500, errors);
    if (errors.empty() ? (n < -5 || n > 500) : n != 7) {
        fuzz::fail("query_integer out of range", target);
    }
    if (auto cursor = request.query_param("cursor")) {
        if (auto after = http::decode_cursor(*cursor)) {
            if (http::decode_cursor(http::encode_cursor(*after)) != after) {
                fuzz::fail("a cursor does not round-trip", target);
            }
        }
    }
    // (A decoded NUL is refused on purpose, so text holding one cannot come back.)
    if (auto plus = core::percent_decode(request.query, true); plus && plus->find('\0') == std::string::npos) {
        if (core::percent_decode(core::percent_encode(*plus)) != plus) {
            fuzz::fail("percent-encoding does not round-trip", target);
        }
    }
    return 0;
}
