#include "core/errors.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace motorpool::core {
namespace {

TEST(ProblemJsonTest, CarriesRfc9457Members) {
    auto body = boost::json::parse(problem_json(ApiError::not_found("Vehicle"), "/api/v1/vehicles/x", "rid-1"));
    const auto& o = body.as_object();
    EXPECT_EQ(o.at("type").as_string(), "urn:motorpool:problem:not_found");
    EXPECT_EQ(o.at("title").as_string(), "Not Found");
    EXPECT_EQ(o.at("status").as_int64(), 404);
    EXPECT_EQ(o.at("detail").as_string(), "Vehicle not found");
    EXPECT_EQ(o.at("instance").as_string(), "/api/v1/vehicles/x");
    EXPECT_EQ(o.at("request_id").as_string(), "rid-1");
    EXPECT_FALSE(o.contains("errors"));
}

TEST(ProblemJsonTest, ValidationListsEveryField) {
    auto error = ApiError::validation({{"email", "is required"}, {"password", "is too short"}});
    EXPECT_EQ(error.status(), 422);
    auto body = boost::json::parse(problem_json(error, "/x", "r")).as_object();
    const auto& errors = body.at("errors").as_array();
    ASSERT_EQ(errors.size(), 2U);
    EXPECT_EQ(errors[0].at("field").as_string(), "email");
    EXPECT_EQ(errors[1].at("message").as_string(), "is too short");
}

TEST(ProblemJsonTest, EscapesHostileText) {
    auto body = problem_json(ApiError::bad_request("quote \" and \\ and \n newline"), "/a\"b", "r");
    auto parsed = boost::json::parse(body).as_object();
    EXPECT_EQ(parsed.at("detail").as_string(), "quote \" and \\ and \n newline");
    EXPECT_EQ(parsed.at("instance").as_string(), "/a\"b");
}

TEST(ApiErrorTest, FactoriesSetHeaders) {
    auto too_many = ApiError::too_many_requests(30);
    EXPECT_EQ(too_many.status(), 429);
    ASSERT_EQ(too_many.headers().size(), 1U);
    EXPECT_EQ(too_many.headers()[0].first, "Retry-After");
    EXPECT_EQ(too_many.headers()[0].second, "30");
    auto not_allowed = ApiError::method_not_allowed("GET, HEAD");
    EXPECT_EQ(not_allowed.status(), 405);
    EXPECT_EQ(not_allowed.headers()[0].second, "GET, HEAD");
    EXPECT_EQ(ApiError::unavailable("db down").headers()[0].first, "Retry-After");
    EXPECT_EQ(ApiError::payload_too_large(10).status(), 413);
    EXPECT_EQ(ApiError::unsupported_media_type("application/json").status(), 415);
}

TEST(ApiErrorTest, StatusTitles) {
    EXPECT_STREQ(status_title(431), "Request Header Fields Too Large");
    EXPECT_STREQ(status_title(413), "Content Too Large");
    EXPECT_STREQ(status_title(599), "Error");
}

// A client branches on `type`, never on `detail`: one stable URI per kind of problem.
TEST(ProblemJsonTest, EveryKindHasAStableType) {
    EXPECT_EQ(ApiError::validation({{"f", "m"}}).type(), "urn:motorpool:problem:validation");
    EXPECT_EQ(ApiError::bad_request("x").type(), "urn:motorpool:problem:bad_request");
    EXPECT_EQ(ApiError::unauthorized().type(), "urn:motorpool:problem:unauthorized");
    EXPECT_EQ(ApiError::forbidden().type(), "urn:motorpool:problem:forbidden");
    EXPECT_EQ(ApiError::method_not_allowed("GET").type(), "urn:motorpool:problem:method_not_allowed");
    EXPECT_EQ(ApiError::conflict("x").type(), "urn:motorpool:problem:conflict");
    EXPECT_EQ(ApiError::conflict("x", "vin_taken").type(), "urn:motorpool:problem:vin_taken");
    EXPECT_EQ(ApiError::payload_too_large(1).type(), "urn:motorpool:problem:payload_too_large");
    EXPECT_EQ(ApiError::unsupported_media_type("a").type(), "urn:motorpool:problem:unsupported_media_type");
    EXPECT_EQ(ApiError::too_many_requests(1).type(), "urn:motorpool:problem:rate_limited");
    EXPECT_EQ(ApiError::unavailable("x").type(), "urn:motorpool:problem:unavailable");
    EXPECT_EQ(ApiError(500, "Internal Server Error").type(), "urn:motorpool:problem:internal");
    EXPECT_EQ(ApiError(418, "I'm a teapot").type(), "about:blank");
    EXPECT_EQ(ApiError(400, "Bad Request", "d", "urn:motorpool:problem:smartcar:invalid_state").type(),
              "urn:motorpool:problem:smartcar:invalid_state");  // a specific type is kept
}

}  // namespace
}  // namespace motorpool::core
