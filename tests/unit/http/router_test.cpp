#include "http/router.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "core/errors.hpp"

namespace motorpool::http {
namespace {

namespace net = boost::asio;

Handler respond(std::string body) {
    return [body](Request) -> net::awaitable<Response> { co_return Response::json_text(body); };
}

Response dispatch(Router& router, Request request) {
    net::io_context io;
    Response out;
    Match match = router.match(request.method, request.path);
    net::co_spawn(io, router.dispatch(std::move(request), std::move(match)), [&](std::exception_ptr e, Response r) {
        EXPECT_FALSE(e);
        out = std::move(r);
    });
    io.run();
    return out;
}

class RouterTest : public ::testing::Test {
protected:
    RouterTest() {
        router.add(Method::Get, "/api/v1/vehicles", respond("list"));
        router.add(Method::Post, "/api/v1/vehicles", respond("create"));
        router.add(Method::Get, "/api/v1/vehicles/{id}", respond("one"));
        router.add(Method::Delete, "/api/v1/vehicles/{id}", respond("delete"));
        router.add(Method::Get, "/api/v1/vehicles/{id}/signals/{code}/history", respond("history"));
        router.add(Method::Get, "/api/v1/vehicles/search", respond("search"));
        router.add(Method::Get, "/static/{path...}", respond("static"));
        router.add(Method::Get, "/", respond("root"));
    }
    Router router;
};

TEST_F(RouterTest, MatchesLiteralsAndParameters) {
    auto m = router.match(Method::Get, "/api/v1/vehicles/1HGCM82633A004352/signals/Motion.Speed/history");
    ASSERT_EQ(m.kind, Match::Kind::Found);
    EXPECT_EQ(m.route->pattern, "/api/v1/vehicles/{id}/signals/{code}/history");
    ASSERT_EQ(m.params.size(), 2U);
    EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"id", "1HGCM82633A004352"}));
    EXPECT_EQ(m.params[1], (std::pair<std::string, std::string>{"code", "Motion.Speed"}));
    EXPECT_EQ(router.match(Method::Get, "/").route->pattern, "/");
}

TEST_F(RouterTest, LiteralWinsOverParameter) {
    EXPECT_EQ(router.match(Method::Get, "/api/v1/vehicles/search").route->pattern, "/api/v1/vehicles/search");
    EXPECT_EQ(router.match(Method::Get, "/api/v1/vehicles/other").route->pattern, "/api/v1/vehicles/{id}");
    // A literal route shadows the parameter route for every method at that path.
    EXPECT_EQ(router.match(Method::Delete, "/api/v1/vehicles/search").kind, Match::Kind::MethodNotAllowed);
}

TEST_F(RouterTest, DecodesSegmentsAndRejectsBadEscapes) {
    auto m = router.match(Method::Get, "/api/v1/vehicles/a%2Fb%20c");
    ASSERT_EQ(m.kind, Match::Kind::Found);
    EXPECT_EQ(m.params[0].second, "a/b c");
    EXPECT_EQ(router.match(Method::Get, "/api/v1/vehicles/%zz").kind, Match::Kind::NotFound);
    EXPECT_EQ(router.match(Method::Get, "/api/v1/vehicles/%2").kind, Match::Kind::NotFound);
    EXPECT_EQ(router.match(Method::Get, "/api/v1/vehicles/%00").kind, Match::Kind::NotFound);
}

TEST_F(RouterTest, NotFoundAndMethodNotAllowed) {
    EXPECT_EQ(router.match(Method::Get, "/api/v1/nothing").kind, Match::Kind::NotFound);
    // One trailing slash is ignored (the list, not an empty id); two are not.
    auto slash = router.match(Method::Get, "/api/v1/vehicles/");
    ASSERT_EQ(slash.kind, Match::Kind::Found);
    EXPECT_EQ(slash.route->pattern, "/api/v1/vehicles");
    EXPECT_TRUE(slash.params.empty());
    EXPECT_EQ(router.match(Method::Get, "/api/v1/vehicles//").kind, Match::Kind::NotFound);
    EXPECT_EQ(router.match(Method::Get, "relative").kind, Match::Kind::NotFound);
    EXPECT_EQ(router.match(Method::Get, "").kind, Match::Kind::NotFound);
    auto m = router.match(Method::Patch, "/api/v1/vehicles");
    EXPECT_EQ(m.kind, Match::Kind::MethodNotAllowed);
    EXPECT_EQ(m.allow, "GET, HEAD, OPTIONS, POST");
}

TEST_F(RouterTest, HeadFallsBackToGet) {
    auto m = router.match(Method::Head, "/api/v1/vehicles/x");
    ASSERT_EQ(m.kind, Match::Kind::Found);
    EXPECT_EQ(m.route->method, Method::Get);
}

TEST_F(RouterTest, TailParameterTakesTheRest) {
    auto m = router.match(Method::Get, "/static/css/site.css");
    ASSERT_EQ(m.kind, Match::Kind::Found);
    EXPECT_EQ(m.params[0], (std::pair<std::string, std::string>{"path", "css/site.css"}));
}

TEST_F(RouterTest, DispatchTurnsErrorsIntoProblems) {
    router.add(Method::Get, "/boom", [](Request) -> net::awaitable<Response> {
        throw core::ApiError::conflict("already there");
    });
    router.add(Method::Get, "/crash", [](Request) -> net::awaitable<Response> {
        throw std::logic_error("secret-internal-detail");
    });
    Request request;
    request.path = "/boom";
    request.request_id = "r1";
    auto conflict = dispatch(router, request);
    EXPECT_EQ(conflict.status, 409);
    EXPECT_EQ(conflict.content_type, "application/problem+json");
    auto body = boost::json::parse(conflict.body).as_object();
    EXPECT_EQ(body.at("detail").as_string(), "already there");
    EXPECT_EQ(body.at("request_id").as_string(), "r1");

    request.path = "/crash";
    auto crash = dispatch(router, request);
    EXPECT_EQ(crash.status, 500);
    EXPECT_EQ(crash.body.find("secret-internal-detail"), std::string::npos);  // never leaked to the client

    request.path = "/api/v1/vehicles";
    request.method = Method::Put;
    auto not_allowed = dispatch(router, request);
    EXPECT_EQ(not_allowed.status, 405);
    ASSERT_EQ(not_allowed.headers.size(), 1U);
    EXPECT_EQ(not_allowed.headers[0].second, "GET, HEAD, OPTIONS, POST");
}

TEST_F(RouterTest, RequiredAuthenticationWithoutHookIs401) {
    RouteOptions options;
    options.auth = Auth::Required;
    router.add(Method::Get, "/private", respond("secret"), options);
    Request request;
    request.path = "/private";
    EXPECT_EQ(dispatch(router, request).status, 401);
    request.headers.emplace_back("authorization", "Bearer abc");
    EXPECT_EQ(dispatch(router, request).status, 401);
    router.set_authenticator([](std::string token) -> net::awaitable<std::shared_ptr<const Principal>> {
        auto p = std::make_shared<Principal>();
        p->subject = token;
        co_return p;
    });
    auto ok = dispatch(router, request);
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.body, "secret");
}

TEST(RequestTest, HeadersQueryAndJson) {
    Request r;
    r.headers = {{"Content-Type", "application/merge-patch+json"}, {"X-Thing", "1"}};
    r.query = "a=1&b=hello%20world&c&a=2";
    r.body = R"({"x":1})";
    EXPECT_EQ(r.header("content-type"), "application/merge-patch+json");
    EXPECT_FALSE(r.header("missing"));
    EXPECT_EQ(r.query_param("a"), "1");
    EXPECT_EQ(r.query_param("b"), "hello world");
    EXPECT_EQ(r.query_param("c"), "");
    EXPECT_FALSE(r.query_param("d"));
    EXPECT_EQ(r.json_object().at("x").as_int64(), 1);
    r.headers[0].second = "text/json";
    EXPECT_THROW(r.json_object(), core::ApiError);
}

}  // namespace
}  // namespace motorpool::http

namespace motorpool::http {
namespace {

TEST(PercentDecodeTest, DecodesAndRejects) {
    EXPECT_EQ(percent_decode("a%20b%2Fc"), "a b/c");
    EXPECT_EQ(percent_decode("a+b"), "a+b");
    EXPECT_EQ(percent_decode("a+b", true), "a b");
    EXPECT_FALSE(percent_decode("%"));
    EXPECT_FALSE(percent_decode("%4"));
    EXPECT_FALSE(percent_decode("%zz"));
    EXPECT_FALSE(percent_decode("%00"));
}

TEST(RequestTest, MalformedQueryValuesReadAsAbsent) {
    Request r;
    r.query = "a=%zz&b=ok";
    EXPECT_FALSE(r.query_param("a"));
    EXPECT_EQ(r.query_param("b"), "ok");
}

}  // namespace
}  // namespace motorpool::http
