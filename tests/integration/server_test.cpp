// The foundation's HTTP behaviour end to end: operations endpoints, routing errors, CORS,
// authentication hook, JSON bodies, hostile clients, pipelining, WebSocket upgrade, group commit
// through a real route, graceful shutdown. Runs on SQLite, PostgreSQL and PostgreSQL via PgBouncer.

#include <atomic>
#include <future>
#include <latch>
#include <thread>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "db/db.hpp"
#include "harness.hpp"
#include "http/spooled_body.hpp"
#include "http/websocket.hpp"

namespace motorpool::testing {
namespace {

namespace net = boost::asio;
namespace json = boost::json;
namespace beast = boost::beast;
using http::Method;
using http::Request;
using http::Response;

// Test-only routes: a JSON echo with validation, a small-body route, a failing route, an
// authenticated route, a WebSocket echo, and a route that writes through the group commit.
void add_test_routes(app::App& app) {
    auto& router = app.router();
    router.add(Method::Post, "/test/echo", [](Request req) -> net::awaitable<Response> {
        auto body = req.json_object();
        core::FieldReader reader(body);
        auto name = reader.string("name", core::Presence::Required, 1, 50);
        reader.finish();
        co_return Response::json(json::object{{"name", *name}, {"request_id", req.request_id}});
    });
    http::RouteOptions small;
    small.max_body_bytes = 1024;
    router.add(
        Method::Post,
        "/test/small",
        [](Request req) -> net::awaitable<Response> {
            co_return Response::json(json::object{{"bytes", req.body.size()}});
        },
        small);
    router.add(Method::Get, "/test/fail", [](Request) -> net::awaitable<Response> {
        throw std::runtime_error("secret-internal-detail");
    });
    router.add(Method::Get, "/test/items/{id}", [](Request req) -> net::awaitable<Response> {
        co_return Response::json(json::object{{"id", req.param("id")}, {"route", req.route}});
    });
    router.add(Method::Get, "/test/items/special", [](Request) -> net::awaitable<Response> {
        co_return Response::json(json::object{{"special", true}});
    });
    http::RouteOptions auth;
    auth.auth = http::Auth::Required;
    router.add(
        Method::Get,
        "/test/whoami",
        [](Request req) -> net::awaitable<Response> {
            co_return Response::json(
                json::object{{"subject", req.require_principal().subject}, {"role", req.require_principal().role}});
        },
        auth);
    router.set_authenticator([](std::string token) -> net::awaitable<std::shared_ptr<const http::Principal>> {
        if (token != "good-token") {
            throw core::ApiError::unauthorized("Invalid or expired token");
        }
        auto principal = std::make_shared<http::Principal>();
        principal->subject = "user-1";
        principal->role = "member";
        co_return principal;
    });
    router.add_websocket("/test/ws", [](Request, std::shared_ptr<http::WebSocket> ws) -> net::awaitable<void> {
        while (auto message = co_await ws->read()) {
            if (!co_await ws->write("echo:" + message->data)) {
                break;
            }
        }
    });
    http::RouteOptions ws_auth;
    ws_auth.auth = http::Auth::Required;
    ws_auth.token_in_query = true;
    router.add_websocket(
        "/test/ws-auth",
        [](Request req, std::shared_ptr<http::WebSocket> ws) -> net::awaitable<void> {
            co_await ws->write("hello " + req.require_principal().subject);
        },
        ws_auth);
    // The shape of an OCPP endpoint: Basic credentials per charger id in the path, subprotocol
    // negotiation, a small frame limit; the handler says what it was given.
    http::RouteOptions ocpp_like;
    ocpp_like.subprotocols = {"ocpp1.6"};
    ocpp_like.ws_max_message_bytes = 1024;
    ocpp_like.basic = [](std::string user,
                         std::string password,
                         const Request& req) -> net::awaitable<std::shared_ptr<const http::Principal>> {
        if (user != req.param("id") || password != "charger-secret") {
            co_return nullptr;
        }
        auto principal = std::make_shared<http::Principal>();
        principal->subject = user;
        principal->role = "charger";
        co_return principal;
    };
    router.add_websocket(
        "/test/ocpp/{id}",
        [](Request req, std::shared_ptr<http::WebSocket> ws) -> net::awaitable<void> {
            co_await ws->write(req.require_principal().subject + " speaks " + ws->subprotocol());
            while (auto message = co_await ws->read()) {
                if (!co_await ws->write("got " + std::to_string(message->data.size()))) {
                    break;
                }
            }
        },
        ocpp_like);
    // A body into a sink of the route's own: the opener refuses a request without ?key=ok before
    // its body is read and sets the limit from ?limit=; the sink refuses a body with a 'Z' at once.
    struct CountingSink final : http::BodySink {
        std::uint64_t size = 0;
        std::string head;
        bool blocks(std::size_t) const override { return false; }
        void append(std::span<const char> bytes) override {
            if (std::find(bytes.begin(), bytes.end(), 'Z') != bytes.end()) {
                throw core::ApiError::validation({{"body", "holds a Z"}});
            }
            size += bytes.size();
            head.append(bytes.data(), std::min<std::size_t>(bytes.size(), 16 - std::min<std::size_t>(head.size(), 16)));
        }
    };
    http::RouteOptions sink_route;
    sink_route.max_body_bytes = 64 * 1024;
    sink_route.open_sink = [](const Request& req) -> net::awaitable<http::OpenedSink> {
        if (req.query_param("key") != "ok") {
            throw core::ApiError::forbidden("No key");
        }
        co_return http::OpenedSink{std::make_shared<CountingSink>(),
                                   static_cast<std::size_t>(std::stoul(req.query_param("limit").value_or("100")))};
    };
    router.add(
        Method::Put,
        "/test/sink/{name}",
        [](Request req) -> net::awaitable<Response> {
            auto sink = std::static_pointer_cast<CountingSink>(req.sink);
            co_return Response::json(
                json::object{{"name", std::string(req.param("name"))}, {"size", sink->size}, {"head", sink->head}});
        },
        sink_route);
    // A streamed upload: up to 64 KiB, in memory up to 1 KiB, read back in 300-byte pieces on a worker.
    http::RouteOptions upload;
    upload.max_body_bytes = 64 * 1024;
    upload.spool_threshold = 1024;
    router.add(
        Method::Post,
        "/test/upload",
        [&workers = app.workers()](Request req) -> net::awaitable<Response> {
            auto body = req.streamed;
            auto digest = [body] {
                std::string whole;
                std::vector<char> piece(300);
                std::uint64_t offset = 0;
                while (std::size_t n = body->read(offset, piece)) {
                    whole.append(piece.data(), n);
                    offset += n;
                }
                return core::sha256_hex(whole);
            };
            std::string sha = co_await workers.run(std::move(digest));
            co_return Response::json(json::object{{"size", body->size()},
                                                  {"spooled", body->spooled()},
                                                  {"sha256", sha},
                                                  {"in_memory_body", req.body.size()}});
        },
        upload);
    router.add(Method::Post, "/test/meta/{key}", [&db = app.database()](Request req) -> net::awaitable<Response> {
        std::string key = "test." + std::string(req.param("key"));
        std::string value = req.body;
        // Named before co_await: GCC 12 miscompiles closures with non-trivial captures written inside
        // a co_await expression (docs/decisions.md).
        auto upsert = [key, value](db::Connection& c) {
            c.execute(
                "INSERT INTO instance_meta (key, value, updated_at_ms) VALUES ($1, $2, $3) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms",
                {key, value, std::int64_t{1}});
        };
        co_await db.group_commit().submit(std::move(upsert));
        co_return Response::json(json::object{{"key", key}}, 201);
    });
    router.add(Method::Get, "/test/meta/{key}", [&db = app.database()](Request req) -> net::awaitable<Response> {
        std::string key = "test." + std::string(req.param("key"));
        auto select = [key](db::Connection& c) -> std::optional<std::string> {
            auto rows = c.query("SELECT value FROM instance_meta WHERE key = $1", {key});
            if (rows.empty()) {
                return std::nullopt;
            }
            return rows.front().text(0);
        };
        auto value = co_await db.read(std::move(select));
        if (!value) {
            throw core::ApiError::not_found("Key");
        }
        co_return Response::json(json::object{{"value", *value}});
    });
}

json::object problem_of(const http::ClientResponse& response) {
    EXPECT_EQ(response.header("Content-Type").value_or(""), "application/problem+json");
    return response.json().as_object();
}

class ServerTest : public ::testing::Test {
protected:
    void SetUp() override { app_ = std::make_unique<TestApp>(std::map<std::string, std::string>{}, add_test_routes); }
    std::unique_ptr<TestApp> app_;
};

TEST_F(ServerTest, HealthAnswersWithRequestId) {
    auto r = app_->client().get("/health");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, R"({"status":"ok"})");
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    auto id = r.header("X-Request-Id");
    ASSERT_TRUE(id);
    EXPECT_EQ(id->size(), 16U);
    EXPECT_TRUE(r.header("Date"));
    // Security headers on JSON too (OWASP API8); an anonymous answer may be cached.
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff");
    EXPECT_FALSE(r.header("Cache-Control"));
}

TEST_F(ServerTest, ClientRequestIdIsEchoedWhenAcceptable) {
    auto r = app_->client().get("/health", {{"X-Request-Id", "client-req.42"}});
    EXPECT_EQ(r.header("X-Request-Id"), "client-req.42");
    auto bad = app_->client().get("/health", {{"X-Request-Id", std::string(200, 'x')}});
    EXPECT_NE(bad.header("X-Request-Id"), std::string(200, 'x'));
    EXPECT_EQ(bad.header("X-Request-Id")->size(), 16U);
}

TEST_F(ServerTest, ReadyWhenTheDatabaseAnswers) {
    auto r = app_->client().get("/ready");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.json().at("status").as_string(), "ready");
}

TEST_F(ServerTest, ReadyIs503WhenTheDatabaseIsGone) {
    app_->app().database().close();
    auto r = app_->client().get("/ready");
    EXPECT_EQ(r.status, 503);
    EXPECT_TRUE(r.header("Retry-After"));
    EXPECT_EQ(problem_of(r).at("status").as_int64(), 503);
}

TEST_F(ServerTest, MetricsInPrometheusFormat) {
    app_->client().get("/health");
    app_->client().get("/health");
    app_->client().get("/no/such/path");
    auto r = app_->client().get("/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_NE(r.header("Content-Type")->find("text/plain"), std::string::npos);
    const std::string& text = r.body;
    EXPECT_NE(text.find("motorpool_http_requests_total{route=\"/health\",method=\"GET\",status=\"200\"} 2\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("motorpool_http_requests_total{route=\"unmatched\",method=\"ANY\",status=\"404\"} 1\n"),
              std::string::npos);
    EXPECT_NE(
        text.find("motorpool_http_request_duration_seconds_bucket{route=\"/health\",method=\"GET\",le=\"+Inf\"} 2"),
        std::string::npos);
    EXPECT_NE(text.find("motorpool_http_requests_in_flight 1"), std::string::npos);  // this very request
    EXPECT_NE(text.find("motorpool_http_connections_open"), std::string::npos);
    EXPECT_NE(text.find("motorpool_db_pool_connections"), std::string::npos);
    EXPECT_NE(text.find("motorpool_db_group_commit_batch_size"), std::string::npos);
    EXPECT_NE(text.find("motorpool_worker_pool_pending"), std::string::npos);
    EXPECT_NE(text.find("process_resident_memory_bytes"), std::string::npos);
}

TEST_F(ServerTest, ServesTheOpenApiDocument) {
    auto r = app_->client().get("/api/openapi.json");
    EXPECT_EQ(r.status, 200);
    auto doc = r.json().as_object();
    EXPECT_EQ(doc.at("openapi").as_string(), "3.1.0");
    // `servers` names the origin the client reached, not a fixed port.
    EXPECT_EQ(doc.at("servers").at(0).at("url"), json::value("http://127.0.0.1:" + std::to_string(app_->port())));
    // Every route the server answers is documented, with its method.
    const auto& paths = doc.at("paths").as_object();
    for (const auto& [method, pattern] : app_->app().router().routes()) {
        if (pattern.rfind("/test/", 0) == 0 || pattern.rfind("/sim/", 0) == 0) {
            continue;  // routes this suite adds for itself; the Smartcar simulator (README)
        }
        std::string name = http::method_name(method);
        for (char& c : name) {
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        ASSERT_TRUE(paths.contains(pattern)) << pattern;
        EXPECT_TRUE(paths.at(pattern).as_object().contains(name)) << name << " " << pattern;
    }
}

TEST_F(ServerTest, UnknownPathIsProblem404) {
    auto r = app_->client().get("/api/v1/nothing-here", {{"X-Request-Id", "rid-404"}});
    EXPECT_EQ(r.status, 404);
    auto p = problem_of(r);
    EXPECT_EQ(p.at("status").as_int64(), 404);
    EXPECT_EQ(p.at("title").as_string(), "Not Found");
    EXPECT_EQ(p.at("instance").as_string(), "/api/v1/nothing-here");
    EXPECT_EQ(p.at("request_id").as_string(), "rid-404");
    EXPECT_EQ(p.at("type").as_string(), "urn:motorpool:problem:not_found");
}

TEST_F(ServerTest, WrongMethodIs405WithAllow) {
    auto r = app_->client().request("DELETE", "/health");
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.header("Allow"), "GET, HEAD, OPTIONS");
    EXPECT_EQ(problem_of(r).at("status").as_int64(), 405);
    auto options = app_->client().request("OPTIONS", "/health");
    EXPECT_EQ(options.status, 204);
    EXPECT_EQ(options.header("Allow"), "GET, HEAD, OPTIONS");
}

TEST_F(ServerTest, HeadHasHeadersButNoBody) {
    auto r = app_->client().request("HEAD", "/health");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("Content-Length"), "15");
    EXPECT_TRUE(r.body.empty());
    EXPECT_EQ(app_->client().get("/health").body, R"({"status":"ok"})");  // connection still in sync
}

TEST_F(ServerTest, PathParametersAndLiteralPrecedence) {
    auto r = app_->client().get("/test/items/abc%20def");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.json().at("id").as_string(), "abc def");
    EXPECT_EQ(r.json().at("route").as_string(), "/test/items/{id}");
    EXPECT_TRUE(app_->client().get("/test/items/special").json().at("special").as_bool());
    EXPECT_EQ(app_->client().get("/test/items/").status, 404);
    EXPECT_EQ(app_->client().get("/test/items/a/b").status, 404);
    EXPECT_EQ(app_->client().get("/test/items/%zz").status, 404);
}

TEST_F(ServerTest, JsonBodiesAreValidated) {
    auto ok = app_->client().post_json("/test/echo", json::object{{"name", "Ada"}});
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.json().at("name").as_string(), "Ada");

    auto malformed = app_->client().request("POST", "/test/echo", "{\"name\":", {{"Content-Type", "application/json"}});
    EXPECT_EQ(malformed.status, 400);
    EXPECT_NE(problem_of(malformed).at("detail").as_string().find("Malformed JSON"), json::string::npos);

    auto wrong_type =
        app_->client().request("POST", "/test/echo", R"({"name":"Ada"})", {{"Content-Type", "text/plain"}});
    EXPECT_EQ(wrong_type.status, 415);
    auto no_type = app_->client().request("POST", "/test/echo", R"({"name":"Ada"})");
    EXPECT_EQ(no_type.status, 415);
    auto charset = app_->client().request(
        "POST", "/test/echo", R"({"name":"Ada"})", {{"Content-Type", "application/json; charset=utf-8"}});
    EXPECT_EQ(charset.status, 200);

    auto not_object = app_->client().post_json("/test/echo", json::array{1, 2});
    EXPECT_EQ(not_object.status, 422);

    auto invalid = app_->client().post_json("/test/echo", json::object{{"name", ""}, {"role", "admin"}});
    EXPECT_EQ(invalid.status, 422);
    auto errors = problem_of(invalid).at("errors").as_array();
    ASSERT_EQ(errors.size(), 2U);
    EXPECT_EQ(errors[0].at("field").as_string(), "name");
    EXPECT_EQ(errors[1].at("field").as_string(), "role");
}

TEST_F(ServerTest, BodyLimitsPerRouteAndDefault) {
    auto small_ok = app_->client().request("POST", "/test/small", std::string(1024, 'a'));
    EXPECT_EQ(small_ok.status, 200);
    auto small_over = app_->client().request("POST", "/test/small", std::string(1025, 'a'));
    EXPECT_EQ(small_over.status, 413);
    EXPECT_EQ(problem_of(small_over).at("status").as_int64(), 413);

    {
        // Over the default limit, refused from Content-Length before the body is read. (Sending the
        // whole megabyte races the server's close: the write may fail with a broken pipe.)
        RawConnection raw(app_->port());
        raw.send(
            "POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
            "1048577\r\n\r\n{");
        auto over_default = raw.read_response();
        ASSERT_TRUE(over_default);
        EXPECT_EQ(over_default->result_int(), 413U);
    }

    // Chunked bodies have no Content-Length up front: the limit applies while reading.
    RawConnection raw(app_->port());
    std::string chunk(1000, 'b');
    std::string request = "POST /test/small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 3; ++i) {
        request += "3e8\r\n" + chunk + "\r\n";
    }
    request += "0\r\n\r\n";
    raw.send(request);
    auto response = raw.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 413U);
    EXPECT_EQ(app_->client().get("/health").status, 200);
}

TEST_F(ServerTest, OversizedHeaderIs431AndServerGoesOn) {
    RawConnection raw(app_->port());
    raw.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 * 1024, 'h') + "\r\n\r\n");
    auto response = raw.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 431U);
    EXPECT_TRUE(raw.closed_by_server(std::chrono::seconds(5)));
    EXPECT_EQ(app_->client().get("/health").status, 200);
}

TEST_F(ServerTest, GarbageBytesGet400AndClose) {
    for (std::string garbage : {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15),
                                std::string("HELLO THERE\r\n\r\n"),
                                std::string("GET / HTTP/9.9\r\n\r\n"),
                                std::string("GET /health HTTP/1.1\r\nBad Header Line\r\n\r\n")}) {
        RawConnection raw(app_->port());
        raw.send(garbage);
        auto response = raw.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->result_int(), 400U);
        EXPECT_TRUE(raw.closed_by_server(std::chrono::seconds(5)));
    }
    EXPECT_EQ(app_->client().get("/health").status, 200);
}

TEST_F(ServerTest, SmugglingShapedRequestsAreRefused) {
    struct Case {
        const char* what;
        std::string bytes;
        unsigned status;
    };
    std::vector<Case> cases{
        {"Content-Length and Transfer-Encoding",
         "POST /test/small HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         400},
        {"two Content-Length values",
         "POST /test/small HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
         400},
        {"unknown transfer coding",
         "POST /test/small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
         501},
        {"HTTP/1.1 without Host", "GET /health HTTP/1.1\r\n\r\n", 400},
    };
    for (const auto& c : cases) {
        RawConnection raw(app_->port());
        raw.send(c.bytes + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
        auto response = raw.read_response();
        ASSERT_TRUE(response) << c.what;
        EXPECT_EQ(response->result_int(), c.status) << c.what;
        // Nothing after a refused request is read as another request.
        EXPECT_TRUE(raw.closed_by_server(std::chrono::seconds(5))) << c.what;
    }
    RawConnection http10(app_->port());
    http10.send("GET /health HTTP/1.0\r\n\r\n");
    auto old = http10.read_response();
    ASSERT_TRUE(old);
    EXPECT_EQ(old->result_int(), 200U);
}

TEST_F(ServerTest, PipelinedRequestsAnsweredInOrder) {
    RawConnection raw(app_->port());
    raw.send(
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: p1\r\n\r\n"
        "GET /nope HTTP/1.1\r\nHost: x\r\nX-Request-Id: p2\r\n\r\n"
        "POST /test/echo HTTP/1.1\r\nHost: x\r\nX-Request-Id: p3\r\nContent-Type: application/json\r\n"
        "Content-Length: 14\r\n\r\n{\"name\":\"Ada\"}"
        "GET /ready HTTP/1.1\r\nHost: x\r\nX-Request-Id: p4\r\n\r\n");
    const unsigned expected_status[] = {200, 404, 200, 200};
    for (int i = 0; i < 4; ++i) {
        auto response = raw.read_response();
        ASSERT_TRUE(response) << i;
        EXPECT_EQ(response->result_int(), expected_status[i]) << i;
        EXPECT_EQ((*response)["X-Request-Id"], "p" + std::to_string(i + 1));
    }
}

TEST_F(ServerTest, ClientDisconnectingMidRequestHarmsNothing) {
    for (int i = 0; i < 20; ++i) {
        RawConnection raw(app_->port());
        raw.send(
            "POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
            "100\r\n\r\n{\"na");
        raw.close();
        RawConnection half(app_->port());
        half.send("GET /hea");
        half.close();
    }
    EXPECT_EQ(app_->client().get("/health").status, 200);
}

TEST_F(ServerTest, UnexpectedErrorsAre500WithoutDetails) {
    std::ostringstream captured;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
    core::add_log_sink(sink);
    auto r = app_->client().get("/test/fail", {{"X-Request-Id", "rid-500"}});
    core::remove_log_sink(sink);
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.body.find("secret-internal-detail"), std::string::npos);
    EXPECT_EQ(problem_of(r).at("request_id").as_string(), "rid-500");
    EXPECT_NE(captured.str().find("request_id=rid-500"), std::string::npos) << captured.str();
}

TEST_F(ServerTest, AuthenticationHook) {
    EXPECT_EQ(app_->client().get("/test/whoami").status, 401);
    auto bad = app_->client().get("/test/whoami", {{"Authorization", "Bearer nope"}});
    EXPECT_EQ(bad.status, 401);
    EXPECT_EQ(problem_of(bad).at("detail").as_string(), "Invalid or expired token");
    EXPECT_EQ(bad.header("WWW-Authenticate"), "Bearer");
    EXPECT_EQ(app_->client().get("/test/whoami", {{"Authorization", "Basic Zm9vOmJhcg=="}}).status, 401);
    auto good = app_->client().get("/test/whoami", {{"Authorization", "Bearer good-token"}});
    EXPECT_EQ(good.status, 200);
    EXPECT_EQ(good.json().at("subject").as_string(), "user-1");
    // What a signed-in caller got is stored by no cache; every answer forbids sniffing.
    EXPECT_EQ(good.header("Cache-Control"), "no-store");
    EXPECT_EQ(good.header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(bad.header("X-Content-Type-Options"), "nosniff");
    // Query tokens are only accepted where the route allows them (WebSocket upgrades).
    EXPECT_EQ(app_->client().get("/test/whoami?token=good-token").status, 401);
}

TEST_F(ServerTest, WebSocketUpgradeAndEcho) {
    net::io_context io;
    beast::websocket::stream<net::ip::tcp::socket> ws(io);
    ws.next_layer().connect({net::ip::make_address("127.0.0.1"), app_->port()});
    ws.handshake("127.0.0.1", "/test/ws");
    ws.write(net::buffer(std::string("hi")));
    beast::flat_buffer buffer;
    ws.read(buffer);
    EXPECT_EQ(beast::buffers_to_string(buffer.data()), "echo:hi");
    ws.close(beast::websocket::close_code::normal);
}

TEST_F(ServerTest, WebSocketUpgradeIsAuthenticated) {
    auto handshake = [&](const std::string& target) {
        net::io_context io;
        beast::websocket::stream<net::ip::tcp::socket> ws(io);
        ws.next_layer().connect({net::ip::make_address("127.0.0.1"), app_->port()});
        beast::websocket::response_type response;
        boost::system::error_code ec;
        ws.handshake(response, "127.0.0.1", target, ec);
        std::string first;
        if (!ec) {
            beast::flat_buffer buffer;
            ws.read(buffer);
            first = beast::buffers_to_string(buffer.data());
        }
        return std::make_pair(response.result_int(), first);
    };
    EXPECT_EQ(handshake("/test/ws-auth").first, 401U);
    EXPECT_EQ(handshake("/test/ws-auth?token=wrong").first, 401U);
    auto ok = handshake("/test/ws-auth?token=good-token");
    EXPECT_EQ(ok.first, 101U);
    EXPECT_EQ(ok.second, "hello user-1");
    EXPECT_EQ(handshake("/test/no-such-socket").first, 404U);
    // A plain GET on a WebSocket route says it needs an upgrade.
    EXPECT_EQ(app_->client().get("/test/ws").status, 426);
}

// Subprotocol negotiation (OCPP-J 1.6 §3), Basic credentials checked before the upgrade (security
// profile 1) and a per-route frame limit.
TEST_F(ServerTest, WebSocketRoutesNegotiateSubprotocolsAndTakeBasicCredentials) {
    struct Outcome {
        unsigned status = 0;
        std::string protocol;                  // the answer's Sec-WebSocket-Protocol
        std::string www_authenticate;          // on a 401
        std::optional<std::string> first;      // the handler's first message
        beast::websocket::close_reason close;  // when the server closed instead
    };
    auto connect = [&](const std::string& target, const std::string& offered, const std::string& credentials) {
        net::io_context io;
        beast::websocket::stream<net::ip::tcp::socket> ws(io);
        ws.next_layer().connect({net::ip::make_address("127.0.0.1"), app_->port()});
        ws.set_option(beast::websocket::stream_base::decorator([&](beast::websocket::request_type& req) {
            if (!offered.empty()) {
                req.set(beast::http::field::sec_websocket_protocol, offered);
            }
            if (!credentials.empty()) {
                req.set(beast::http::field::authorization, "Basic " + core::base64_encode(credentials));
            }
        }));
        beast::websocket::response_type response;
        boost::system::error_code ec;
        ws.handshake(response, "127.0.0.1", target, ec);
        Outcome out;
        out.status = response.result_int();
        out.protocol = std::string(response[beast::http::field::sec_websocket_protocol]);
        out.www_authenticate = std::string(response[beast::http::field::www_authenticate]);
        if (!ec) {
            beast::flat_buffer buffer;
            ws.read(buffer, ec);
            if (!ec) {
                out.first = beast::buffers_to_string(buffer.data());
            } else {
                out.close = ws.reason();
            }
        }
        return out;
    };
    // The first of the client's offers that the route speaks.
    auto ok = connect("/test/ocpp/CP001", "ocpp2.0.1, ocpp1.6", "CP001:charger-secret");
    EXPECT_EQ(ok.status, 101U);
    EXPECT_EQ(ok.protocol, "ocpp1.6");
    EXPECT_EQ(ok.first, "CP001 speaks ocpp1.6");
    // None acceptable: the handshake completes without the header, then the server closes at once.
    auto none = connect("/test/ocpp/CP001", "ocpp1.5, OCPP1.6", "CP001:charger-secret");
    EXPECT_EQ(none.status, 101U);
    EXPECT_EQ(none.protocol, "");
    EXPECT_FALSE(none.first);
    EXPECT_EQ(none.close.code, beast::websocket::close_code::protocol_error);
    auto silent = connect("/test/ocpp/CP001", "", "CP001:charger-secret");
    EXPECT_EQ(silent.status, 101U);
    EXPECT_FALSE(silent.first);
    // Credentials: checked before the upgrade, against the charger named in the path.
    auto missing = connect("/test/ocpp/CP001", "ocpp1.6", "");
    EXPECT_EQ(missing.status, 401U);
    EXPECT_EQ(missing.www_authenticate, "Basic realm=\"motorpool\", charset=\"UTF-8\"");
    EXPECT_EQ(connect("/test/ocpp/CP001", "ocpp1.6", "CP001:wrong").status, 401U);
    EXPECT_EQ(connect("/test/ocpp/CP002", "ocpp1.6", "CP001:charger-secret").status, 401U);
    EXPECT_EQ(connect("/test/ocpp/CP001", "ocpp1.6", "no colon here").status, 401U);

    // The route's frame limit: 1 KiB here; a larger message closes with 1009.
    net::io_context io;
    beast::websocket::stream<net::ip::tcp::socket> ws(io);
    ws.next_layer().connect({net::ip::make_address("127.0.0.1"), app_->port()});
    ws.set_option(beast::websocket::stream_base::decorator([](beast::websocket::request_type& req) {
        req.set(beast::http::field::sec_websocket_protocol, "ocpp1.6");
        req.set(beast::http::field::authorization, "Basic " + core::base64_encode("CP001:charger-secret"));
    }));
    ws.handshake("127.0.0.1", "/test/ocpp/CP001");
    beast::flat_buffer buffer;
    ws.read(buffer);
    buffer.clear();
    ws.write(net::buffer(std::string(1000, 'a')));
    ws.read(buffer);
    EXPECT_EQ(beast::buffers_to_string(buffer.data()), "got 1000");
    buffer.clear();
    ws.write(net::buffer(std::string(2000, 'a')));
    boost::system::error_code ec;
    ws.read(buffer, ec);
    EXPECT_TRUE(ec);
    EXPECT_EQ(ws.reason().code, beast::websocket::close_code::too_big);
}

// Expect: 100-continue (README): the interim answer comes before the body is sent, then the
// real one; a body over the route's limit is refused at once, without a 100.
TEST_F(ServerTest, ExpectContinueIsAnsweredBeforeTheBody) {
    const std::string body = R"({"name":"Ada"})";
    RawConnection raw(app_->port());
    raw.send(
        "POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n");
    auto interim = raw.read_response();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->result_int(), 100U);
    raw.send(body);
    auto final_answer = raw.read_response();
    ASSERT_TRUE(final_answer);
    EXPECT_EQ(final_answer->result_int(), 200U);
    EXPECT_NE(final_answer->body().find("\"name\":\"Ada\""), std::string::npos);

    RawConnection too_big(app_->port());
    too_big.send(
        "POST /test/small HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Expect: 100-continue\r\nContent-Length: 4096\r\n\r\n");
    auto refused = too_big.read_response();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->result_int(), 413U);
}

// A route that streams its body (uploads): read as it arrives, in memory up to the route's
// threshold and in a temporary file past it, the size limit enforced while reading, with
// Content-Length or chunked, and Expect: 100-continue answered first.
TEST_F(ServerTest, StreamedBodiesAreSpooledPastTheThresholdAndLimitedWhileRead) {
    auto upload = [&](const std::string& body) {
        auto r = app_->client().request("POST", "/test/upload", body, {{"Content-Type", "application/octet-stream"}});
        EXPECT_EQ(r.status, 200) << r.body;
        return r.json();
    };
    std::string small(500, 's');
    auto a = upload(small);
    EXPECT_EQ(a.at("size"), json::value(500));
    EXPECT_EQ(a.at("spooled"), json::value(false));
    EXPECT_EQ(a.at("sha256"), json::value(core::sha256_hex(small)));
    EXPECT_EQ(a.at("in_memory_body"), json::value(0));
    std::string large;
    for (int i = 0; large.size() < 40'000; ++i) {
        large += std::to_string(i) + ",";
    }
    auto b = upload(large);
    EXPECT_EQ(b.at("size"), json::value(large.size()));
    EXPECT_EQ(b.at("spooled"), json::value(true));
    EXPECT_EQ(b.at("sha256"), json::value(core::sha256_hex(large)));

    // Chunked, with 100-continue: the interim answer, then the body in three chunks.
    RawConnection raw(app_->port());
    raw.send("POST /test/upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n");
    auto interim = raw.read_response();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->result_int(), 100U);
    const std::string part(2000, 'c');
    for (int i = 0; i < 3; ++i) {
        raw.send("7d0\r\n" + part + "\r\n");
    }
    raw.send("0\r\n\r\n");
    auto chunked = raw.read_response();
    ASSERT_TRUE(chunked);
    EXPECT_EQ(chunked->result_int(), 200U) << chunked->body();
    auto c = json::parse(chunked->body());
    EXPECT_EQ(c.at("size"), json::value(6000));
    EXPECT_EQ(c.at("spooled"), json::value(true));
    EXPECT_EQ(c.at("sha256"), json::value(core::sha256_hex(part + part + part)));

    // Over the limit: refused from the Content-Length at once; chunked, once the limit is crossed.
    RawConnection declared(app_->port());
    declared.send("POST /test/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n");
    auto refused = declared.read_response();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->result_int(), 413U);
    RawConnection endless(app_->port());
    endless.send("POST /test/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string big(8000, 'e');
    for (int i = 0; i < 9; ++i) {  // 72,000 bytes: past the 64 KiB limit on the ninth chunk
        endless.send("1f40\r\n" + big + "\r\n");
    }
    auto stopped = endless.read_response();
    ASSERT_TRUE(stopped);
    EXPECT_EQ(stopped->result_int(), 413U);
}

// A route with a sink of its own (uploads written straight to storage): opened before the body is
// read (its refusal answered with the body unread), the limit it sets enforced from the
// Content-Length and while reading, and a refusal part way answered at once.
TEST_F(ServerTest, ARouteSinkIsOpenedBeforeTheBodyAndMayRefuseItPartWay) {
    auto put = [&](const std::string& target, const std::string& body) {
        return app_->client().request("PUT", target, body, {{"Content-Type", "application/octet-stream"}});
    };
    auto ok = put("/test/sink/a?key=ok&limit=100", "hello sink");
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(ok.json().at("name"), json::value("a"));
    EXPECT_EQ(ok.json().at("size"), json::value(10));
    EXPECT_EQ(ok.json().at("head"), json::value("hello sink"));
    EXPECT_EQ(put("/test/sink/a?key=no", "hello").status, 403);
    EXPECT_EQ(put("/test/sink/a?key=ok&limit=5", "hello sink").status, 413);  // the route allows 64 KiB
    auto refused = put("/test/sink/a?key=ok&limit=100", "abcZ");
    EXPECT_EQ(refused.status, 422);
    EXPECT_EQ(refused.json().at("errors").at(0).at("field"), json::value("body"));
    // Chunked past the sink's limit: refused once it is crossed.
    RawConnection endless(app_->port());
    endless.send("PUT /test/sink/b?key=ok&limit=3000 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const std::string part(2000, 'p');
    for (int i = 0; i < 2; ++i) {
        endless.send("7d0\r\n" + part + "\r\n");
    }
    auto stopped = endless.read_response();
    ASSERT_TRUE(stopped);
    EXPECT_EQ(stopped->result_int(), 413U);
}

TEST_F(ServerTest, GroupCommittedWritesAreVisibleWhenAcknowledged) {
    constexpr int kClients = 8;
    constexpr int kPerClient = 10;
    std::vector<std::thread> threads;
    std::atomic<int> created{0};
    for (int t = 0; t < kClients; ++t) {
        threads.emplace_back([&, t] {
            auto client = app_->new_client();
            for (int i = 0; i < kPerClient; ++i) {
                std::string key = std::to_string(t) + "-" + std::to_string(i);
                auto r = client->request("POST", "/test/meta/" + key, "v" + key);
                if (r.status == 201) {
                    ++created;
                }
                // Acknowledged means committed: a read right after sees it.
                auto read = client->get("/test/meta/" + key);
                EXPECT_EQ(read.status, 200) << key;
                EXPECT_EQ(read.json().at("value").as_string(), "v" + key);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(created, kClients * kPerClient);
    auto stats = app_->app().database().group_commit().stats();
    // Every acknowledged write went through the group commit (grouping itself is proven exactly
    // in db_test); a write that bypassed it would leave submissions short.
    EXPECT_EQ(stats.submissions, static_cast<std::uint64_t>(kClients * kPerClient));
    EXPECT_GT(stats.batches, 0U);
}

TEST(ServerLimitsTest, SlowClientsAreCutOffByTheReadTimeout) {
    TestApp app(Overrides{{"MOTORPOOL_READ_TIMEOUT", "300ms"}, {"MOTORPOOL_IDLE_TIMEOUT", "300ms"}});
    RawConnection slow_header(app.port());
    slow_header.send("GET /health HTTP/1.1\r\nHost: x\r\n");  // never finishes the header block
    RawConnection slow_body(app.port());
    slow_body.send("POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{");
    RawConnection idle(app.port());  // connects and says nothing
    EXPECT_TRUE(slow_header.closed_by_server(std::chrono::seconds(5)));
    EXPECT_TRUE(slow_body.closed_by_server(std::chrono::seconds(5)));
    EXPECT_TRUE(idle.closed_by_server(std::chrono::seconds(5)));
    EXPECT_EQ(app.client().get("/health").status, 200);
}

TEST(ServerLimitsTest, ConnectionsBeyondTheLimitAreRefused) {
    TestApp app(Overrides{{"MOTORPOOL_MAX_CONNECTIONS", "2"}});
    auto first = app.new_client();
    auto second = app.new_client();
    ASSERT_EQ(first->get("/health").status, 200);
    ASSERT_EQ(second->get("/health").status, 200);
    RawConnection third(app.port());
    third.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    auto response = third.read_response();
    ASSERT_TRUE(response);
    EXPECT_EQ(response->result_int(), 503U);
    EXPECT_EQ((*response)["Retry-After"], "1");
    EXPECT_EQ(first->get("/health").status, 200);
}

TEST(ServerCorsTest, AllowedOriginsOnlyAndPreflight) {
    TestApp app(Overrides{{"CORS_ORIGINS", "http://app.test,http://admin.test"}}, add_test_routes);
    auto allowed = app.client().get("/health", {{"Origin", "http://app.test"}});
    EXPECT_EQ(allowed.header("Access-Control-Allow-Origin"), "http://app.test");
    EXPECT_EQ(allowed.header("Vary"), "Origin");
    auto other = app.client().get("/health", {{"Origin", "http://evil.test"}});
    EXPECT_EQ(other.status, 200);
    EXPECT_FALSE(other.header("Access-Control-Allow-Origin"));

    auto preflight = app.client().request("OPTIONS",
                                          "/test/echo",
                                          {},
                                          {{"Origin", "http://admin.test"},
                                           {"Access-Control-Request-Method", "POST"},
                                           {"Access-Control-Request-Headers", "content-type, authorization"}});
    EXPECT_EQ(preflight.status, 204);
    EXPECT_EQ(preflight.header("Access-Control-Allow-Origin"), "http://admin.test");
    EXPECT_EQ(preflight.header("Access-Control-Allow-Methods"), "OPTIONS, POST");
    EXPECT_EQ(preflight.header("Access-Control-Allow-Headers"), "content-type, authorization");
    EXPECT_EQ(preflight.header("Access-Control-Max-Age"), "600");

    auto refused = app.client().request(
        "OPTIONS", "/test/echo", {}, {{"Origin", "http://evil.test"}, {"Access-Control-Request-Method", "POST"}});
    EXPECT_EQ(refused.status, 403);
    EXPECT_FALSE(refused.header("Access-Control-Allow-Origin"));

    // Errors carry CORS headers too, so browsers can read the problem.
    auto missing = app.client().get("/nope", {{"Origin", "http://app.test"}});
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.header("Access-Control-Allow-Origin"), "http://app.test");
}

TEST(DatabaseErrorAnswerTest, AnOutageIs503RetryShortlyAndAFullDisk503RetryLaterWithoutInternals) {
    TestApp app(Overrides{}, [](app::App& a) {
        a.router().add(Method::Post, "/test/lost", [](Request) -> net::awaitable<Response> {
            throw db::Error(db::Error::Kind::Unavailable, "PostgreSQL: server closed the connection unexpectedly");
            co_return Response::json_text("{}");
        });
        a.router().add(Method::Post, "/test/full", [](Request) -> net::awaitable<Response> {
            throw db::Error(db::Error::Kind::Unavailable, "SQLite: database or disk is full", {}, true);
            co_return Response::json_text("{}");
        });
    });
    auto lost = app.client().post_json("/test/lost", json::object{});
    EXPECT_EQ(lost.status, 503);
    EXPECT_EQ(lost.header("Retry-After"), "2");
    EXPECT_EQ(lost.header("Content-Type"), "application/problem+json");
    EXPECT_EQ(core::parse_json(lost.body).at("detail"), json::value("The database is unavailable; retry shortly"));
    auto full = app.client().post_json("/test/full", json::object{});
    EXPECT_EQ(full.status, 503);
    EXPECT_EQ(full.header("Retry-After"), "30");
    EXPECT_EQ(core::parse_json(full.body).at("detail"),
              json::value("The server's storage is full; nothing was stored, retry later"));
    EXPECT_EQ(full.body.find("SQLite"), std::string::npos) << full.body;
    EXPECT_EQ(lost.body.find("PostgreSQL"), std::string::npos) << lost.body;
}

TEST(ServerShutdownTest, InFlightRequestsFinishAndNewOnesAreRefused) {
    std::latch handler_entered(1);
    std::latch release_handler(1);
    TestApp app(Overrides{}, [&](app::App& a) {
        a.router().add(Method::Get, "/test/slow", [&, &workers = a.workers()](Request) -> net::awaitable<Response> {
            co_await workers.run([&] {
                handler_entered.count_down();
                release_handler.wait();
            });
            co_return Response::json_text(R"({"slow":"done"})");
        });
    });
    RawConnection idle(app.port());  // an idle keep-alive connection, answered once
    idle.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    auto first = idle.read_response();
    ASSERT_TRUE(first);
    ASSERT_EQ(first->result_int(), 200U);
    ASSERT_TRUE(first->keep_alive());

    auto in_flight = std::async(std::launch::async, [&] { return app.new_client()->get("/test/slow"); });
    handler_entered.wait();
    auto stopping = std::async(std::launch::async, [&] { app.app().shutdown(); });
    // Let the slow handler finish only once the shutdown has begun.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!app.app().draining() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
    }
    ASSERT_TRUE(app.app().draining());
    // The idle keep-alive connection is closed by the server as the shutdown begins.
    EXPECT_TRUE(idle.closed_by_server(std::chrono::seconds(5)));
    release_handler.count_down();
    auto response = in_flight.get();
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, R"({"slow":"done"})");
    EXPECT_EQ(response.header("Connection"), "close");
    stopping.get();
    // After shutdown nothing listens any more.
    EXPECT_THROW(app.new_client()->get("/health"), boost::system::system_error);
}

}  // namespace
}  // namespace motorpool::testing
