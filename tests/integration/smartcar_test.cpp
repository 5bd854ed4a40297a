// Connecting cars through Smartcar, end to end over HTTP against the simulator: Connect URL,
// approval, callback, sealed tokens, the connections list, denial and every bad state, refresh
// before expiry and on a 401 (once under concurrency), invalid_grant, disconnecting, and a VIN
// that belongs to another user. Runs on every backend.

#include <atomic>
#include <sstream>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/secret_box.hpp"
#include "core/time.hpp"
#include "harness.hpp"
#include "smartcar/service.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

class SmartcarTest : public ::testing::Test {
protected:
    void SetUp() override {
        app_ = std::make_unique<TestApp>();
        alice_ = register_member(*app_, "alice@example.com").token;
        bob_ = register_member(*app_, "bob@example.com").token;
    }

    std::string connect_url(const std::string& token, const std::string& query = "") {
        auto r = call(*app_, "GET", "/api/v1/connect/smartcar" + query, token);
        EXPECT_EQ(r.status, 200) << r.body;
        return std::string(r.json().at("url").as_string());
    }
    // Connect -> the simulator's answer (approve=true|false) -> its redirect to our callback.
    std::string approval_redirect(const std::string& url, const std::string& approve) {
        auto r = app_->client().get(target_of(url) + "&approve=" + approve);
        EXPECT_EQ(r.status, 302) << r.body;
        return r.header("Location").value_or("");
    }
    http::ClientResponse connect(const std::string& token, const std::string& query = "") {
        return connect_smartcar(*app_, token, query);
    }
    std::int64_t connection_row(const std::string& public_id) {
        return app_->app().database().with_reader([&](db::Connection& c) {
            return c.query("SELECT id FROM smartcar_connections WHERE public_id = $1", {public_id}).front().int64(0);
        });
    }
    static std::string problem_code(const http::ClientResponse& r) {
        return std::string(r.json().at("code").as_string());
    }

    std::unique_ptr<TestApp> app_;
    std::string alice_, bob_;
};

TEST_F(SmartcarTest, ConnectLinksTheVehiclesAndKeepsTokensSealed) {
    const std::string url = connect_url(alice_, "?make=tesla&single_select=false");
    const std::string origin = "http://127.0.0.1:" + std::to_string(app_->port());
    EXPECT_EQ(url.rfind(origin + "/sim/smartcar/oauth/authorize?", 0), 0U) << url;
    EXPECT_EQ(query_value(url, "response_type"), "code");
    EXPECT_EQ(query_value(url, "client_id"), "sim-client-id");
    EXPECT_EQ(query_value(url, "redirect_uri"),
              "http%3A%2F%2F127.0.0.1%3A" + std::to_string(app_->port()) + "%2Foauth%2Fsmartcar%2Fcallback");
    EXPECT_NE(query_value(url, "scope").find("read_vin"), std::string::npos);
    EXPECT_EQ(query_value(url, "mode"), "simulated");
    EXPECT_EQ(query_value(url, "approval_prompt"), "auto");
    EXPECT_EQ(query_value(url, "make"), "TESLA");
    EXPECT_GE(query_value(url, "state").size(), 40U);

    auto callback = app_->client().get(target_of(approval_redirect(url, "true")));
    ASSERT_EQ(callback.status, 200) << callback.body;
    json::value result = callback.json();
    const std::string connection_id(result.at("connection_id").as_string());
    const auto& linked = result.at("vehicles").as_array();
    ASSERT_GE(linked.size(), 1U);
    ASSERT_LE(linked.size(), 3U);
    for (const auto& v : linked) {
        EXPECT_EQ(v.at("outcome"), json::value("created"));
        EXPECT_EQ(v.at("vin").as_string().size(), 17U);
    }

    // The vehicles are the member's, in the registry, made by Tesla (make bypass).
    auto mine = call(*app_, "GET", "/api/v1/vehicles", alice_);
    json::value list = mine.json();
    EXPECT_EQ(list.at("items").as_array().size(), linked.size());
    EXPECT_EQ(list.at("items").at(0).at("make"), json::value("TESLA"));

    auto connections = call(*app_, "GET", "/api/v1/connections", alice_);
    ASSERT_EQ(connections.status, 200);
    json::value items = connections.json();
    ASSERT_EQ(items.at("items").as_array().size(), 1U);
    const auto& c = items.at("items").at(0);
    EXPECT_EQ(c.at("id"), json::value(connection_id));
    EXPECT_EQ(c.at("status"), json::value("active"));
    EXPECT_EQ(c.at("vehicles").as_array().size(), linked.size());
    EXPECT_EQ(c.at("vehicles").at(0).at("smartcar_vehicle_id"), linked.at(0).at("smartcar_vehicle_id"));
    EXPECT_TRUE(c.at("access_token_expires_at").is_string());
    EXPECT_TRUE(c.at("refresh_token_expires_at").is_string());
    EXPECT_EQ(callback.body.find("token\""), std::string::npos);  // no token in any answer
    EXPECT_EQ(connections.body.find("_token\":\""), std::string::npos);

    // At rest: sealed values that open (with the row's associated data) to tokens found nowhere in plain text.
    core::SecretBox box = core::SecretBox::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    auto row = app_->app().database().with_reader([&](db::Connection& conn) {
        return conn.query("SELECT * FROM smartcar_connections WHERE public_id = $1", {connection_id});
    });
    std::vector<std::string> plain;
    for (std::size_t col = 0; col < row.columns.size(); ++col) {
        if (row.columns[col] == "access_token" || row.columns[col] == "refresh_token") {
            const std::string& sealed = row.front().text(col);
            EXPECT_EQ(sealed.rfind("v1.", 0), 0U);
            auto opened = box.open(sealed, smartcar::token_aad(connection_id, row.columns[col]));
            ASSERT_TRUE(opened);
            EXPECT_EQ(opened->size(), 36U);
            plain.push_back(*opened);
        }
    }
    ASSERT_EQ(plain.size(), 2U);
    for (std::size_t col = 0; col < row.columns.size(); ++col) {
        if (const auto* text = std::get_if<std::string>(&row.rows[0][col])) {
            for (const auto& token : plain) {
                EXPECT_EQ(text->find(token), std::string::npos) << row.columns[col];
            }
        }
    }

    // Another member sees none of it.
    EXPECT_EQ(call(*app_, "GET", "/api/v1/connections/" + connection_id, bob_).status, 404);
    EXPECT_EQ(call(*app_, "DELETE", "/api/v1/connections/" + connection_id, bob_).status, 404);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/connections", bob_).json().at("items").as_array().size(), 0U);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/connect/smartcar", "").status, 401);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/connect/smartcar?vin=123", alice_).status, 422);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/connect/smartcar?single_select=maybe", alice_).status, 422);
}

TEST_F(SmartcarTest, DenialAndForgedExpiredOrReusedStatesAreRefused) {
    auto denied = app_->client().get(target_of(approval_redirect(connect_url(alice_), "false")));
    EXPECT_EQ(denied.status, 400) << denied.body;
    EXPECT_EQ(problem_code(denied), "access_denied");
    EXPECT_EQ(denied.json().at("detail"), json::value("User denied access to application."));

    auto forged = app_->client().get("/oauth/smartcar/callback?code=abc&state=not-a-state-we-issued");
    EXPECT_EQ(forged.status, 400);
    EXPECT_EQ(problem_code(forged), "invalid_state");
    EXPECT_EQ(app_->client().get("/oauth/smartcar/callback?code=abc").status, 400);

    // Reused: the same callback twice.
    const std::string location = approval_redirect(connect_url(alice_), "true");
    EXPECT_EQ(app_->client().get(target_of(location)).status, 200);
    auto reused = app_->client().get(target_of(location));
    EXPECT_EQ(reused.status, 400);
    EXPECT_EQ(problem_code(reused), "state_used");

    // Expired: a state issued eleven minutes ago.
    const std::string state = "an-expired-state-0123456789";
    app_->app().database().with_transaction([&](db::Connection& c) {
        auto user = c.query("SELECT id FROM users WHERE email = 'alice@example.com'").front().int64(0);
        const std::int64_t then = core::now_ms() - 11 * 60'000;
        c.execute(
            "INSERT INTO oauth_states (state_hash, user_id, provider, created_at_ms, expires_at_ms) "
            "VALUES ($1, $2, 'smartcar', $3, $4)",
            {core::sha256_hex(state), user, then, then + 10 * 60'000});
    });
    auto expired = app_->client().get("/oauth/smartcar/callback?code=abc&state=" + state);
    EXPECT_EQ(expired.status, 400);
    EXPECT_EQ(problem_code(expired), "state_expired");

    // Connect's other outcomes pass through with their code; none of this made a connection.
    auto none = app_->client().get(target_of(approval_redirect(connect_url(alice_) + "&sim_error=no_vehicles", "")));
    EXPECT_EQ(problem_code(none), "no_vehicles");
    EXPECT_EQ(call(*app_, "GET", "/api/v1/connections", alice_).json().at("items").as_array().size(), 1U);
}

TEST(SmartcarFrontendTest, CallbackRedirectsToTheFrontend) {
    TestApp app(std::map<std::string, std::string>{{"FRONTEND_URL", "http://front.example"}});
    const std::string token = register_member(app, "carol@example.com").token;
    auto go = [&](const std::string& approve) {
        std::string url(call(app, "GET", "/api/v1/connect/smartcar", token).json().at("url").as_string());
        auto sim = app.client().get(target_of(url) + "&approve=" + approve);
        return app.client().get(target_of(sim.header("Location").value_or("")));
    };
    auto ok = go("true");
    EXPECT_EQ(ok.status, 302);
    const std::string location = ok.header("Location").value_or("");
    EXPECT_EQ(location.rfind("http://front.example/vehicle/connected?provider=smartcar&", 0), 0U) << location;
    EXPECT_EQ(query_value(location, "vehicle_id").size(), 36U);
    auto denied = go("false");
    EXPECT_EQ(denied.status, 302);
    EXPECT_EQ(
        denied.header("Location").value_or("").rfind("http://front.example/vehicle/connect?error=access_denied", 0),
        0U);
}

TEST(SmartcarFrontendTest, ABrowserWithoutAFrontendUrlLandsOnThisServersDashboard) {
    // No FRONTEND_URL: a browser (Accept: text/html) is sent to the dashboard motorpool serves
    // itself, by a relative redirect; an API client still gets the JSON answer.
    TestApp app;
    const std::string token = register_member(app, "dora@example.com").token;
    auto go = [&](const std::string& approve, const http::Headers& headers) {
        std::string url(call(app, "GET", "/api/v1/connect/smartcar", token).json().at("url").as_string());
        auto sim = app.client().get(target_of(url) + "&approve=" + approve);
        return app.client().request("GET", target_of(sim.header("Location").value_or("")), "", headers);
    };
    const http::Headers browser{{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}};
    auto ok = go("true", browser);
    EXPECT_EQ(ok.status, 302) << ok.body;
    const std::string location = ok.header("Location").value_or("");
    EXPECT_EQ(location.rfind("/vehicle/connected?provider=smartcar&connection_id=", 0), 0U) << location;
    EXPECT_EQ(query_value(location, "vehicle_id").size(), 36U);
    auto denied = go("false", browser);
    EXPECT_EQ(denied.status, 302);
    EXPECT_EQ(denied.header("Location").value_or("").rfind("/vehicle/connect?error=access_denied&", 0), 0U);
    auto api_client = go("true", {{"Accept", "application/json"}});
    EXPECT_EQ(api_client.status, 200) << api_client.body;
    EXPECT_EQ(api_client.json().at("provider"), boost::json::value("smartcar"));
}

TEST(SmartcarRedirectTest, TheCallbackIsServedAtTheConfiguredRedirectPath) {
    // The webhook server's /exchange: Connect sends the browser there, so motorpool serves it.
    TestApp app(std::map<std::string, std::string>{{"SMARTCAR_REDIRECT_URI", "http://127.0.0.1:1/exchange"}});
    const std::string token = register_member(app, "dora@example.com").token;
    std::string url(call(app, "GET", "/api/v1/connect/smartcar", token).json().at("url").as_string());
    EXPECT_EQ(query_value(url, "redirect_uri"), "http%3A%2F%2F127.0.0.1%3A1%2Fexchange");
    auto sim = app.client().get(target_of(url) + "&approve=true");
    const std::string back = sim.header("Location").value_or("");
    ASSERT_EQ(back.rfind("http://127.0.0.1:1/exchange?", 0), 0U) << back;
    auto done = app.client().get(target_of(back));
    ASSERT_EQ(done.status, 200) << done.body;
    EXPECT_EQ(done.json().at("provider"), json::value("smartcar"));
    EXPECT_EQ(done.json().at("vehicles").as_array().empty(), false);
    // The usual path still answers.
    EXPECT_EQ(app.client().get("/oauth/smartcar/callback?error=access_denied&state=x").status, 400);
}

TEST(SmartcarRedirectTest, ConnectWithoutCredentialsSaysWhatIsMissing) {
    TestApp app(std::map<std::string, std::string>{
        {"SMARTCAR_MODE", "test"}, {"SMARTCAR_CLIENT_ID", ""}, {"SMARTCAR_CLIENT_SECRET", ""}});
    const std::string token = register_member(app, "erin@example.com").token;
    auto r = call(app, "GET", "/api/v1/connect/smartcar", token);
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.json().at("type"), json::value("urn:motorpool:problem:smartcar:not_configured"));
    EXPECT_NE(r.json().at("detail").as_string().find("SMARTCAR_CLIENT_ID"), std::string::npos);
}

TEST_F(SmartcarTest, TokensRefreshBeforeExpiryOnA401AndOnceUnderConcurrency) {
    auto callback = connect(alice_);
    ASSERT_EQ(callback.status, 200) << callback.body;
    const std::string public_id(callback.json().at("connection_id").as_string());
    const std::int64_t id = connection_row(public_id);
    auto& service = app_->app().smartcar();
    auto expire_in = [&](std::int64_t ms) {
        app_->app().database().with_transaction([&](db::Connection& c) {
            c.execute("UPDATE smartcar_connections SET access_expires_at_ms = $2 WHERE id = $1",
                      {id, core::now_ms() + ms});
        });
    };

    // Fresh tokens: no refresh.
    auto first = service.fresh_tokens(id);
    EXPECT_EQ(service.refreshes(), 0);
    // Within five minutes of expiry: refreshed, the rotated pair stored.
    expire_in(60'000);
    auto second = service.fresh_tokens(id);
    EXPECT_EQ(service.refreshes(), 1);
    EXPECT_NE(second.access_token, first.access_token);
    EXPECT_NE(second.refresh_token, first.refresh_token);
    EXPECT_EQ(second.generation, first.generation + 1);
    EXPECT_EQ(service.fresh_tokens(id).access_token, second.access_token);

    // Smartcar says 401 (the token died early): one refresh, then the call succeeds.
    app_->app().simulator()->add_faults(json::parse(R"({"faults":[{"kind":"expire_access_tokens"}]})"));
    std::atomic<int> calls{0};
    std::string user = service.with_access_token(id, [&](const smartcar::Tokens& t) {
        ++calls;
        return service.client().user_id(t.access_token);
    });
    EXPECT_EQ(user.size(), 36U);
    EXPECT_EQ(calls.load(), 2);
    EXPECT_EQ(service.refreshes(), 2);

    // Eight threads find it expired at once: exactly one refresh, and all use its result.
    expire_in(-1'000);
    std::vector<std::thread> threads;
    std::vector<std::string> seen(8);
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&, i] { seen[static_cast<std::size_t>(i)] = service.fresh_tokens(id).access_token; });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(service.refreshes(), 3);
    for (const auto& token : seen) {
        EXPECT_EQ(token, seen[0]);
    }

    // Another node holds the refresh lease (and may hold it up to 45 s): this worker waits about
    // three seconds for that refresh, then answers 503 with Retry-After: 1, refreshing nothing.
    expire_in(-1'000);
    app_->app().database().with_transaction([&](db::Connection& c) {
        c.execute("UPDATE smartcar_connections SET refreshing_until_ms = $2 WHERE id = $1",
                  {id, core::now_ms() + 45'000});
    });
    const auto waiting_since = std::chrono::steady_clock::now();
    try {
        service.fresh_tokens(id);
        ADD_FAILURE() << "refreshed under another node's lease";
    } catch (const core::ApiError& e) {
        EXPECT_EQ(e.status(), 503);
        EXPECT_EQ(e.headers(), (std::vector<std::pair<std::string, std::string>>{{"Retry-After", "1"}}));
    }
    const auto waited = std::chrono::steady_clock::now() - waiting_since;
    EXPECT_GE(waited, std::chrono::seconds(3));
    EXPECT_LT(waited, std::chrono::seconds(30));  // not for as long as the lease could last
    EXPECT_EQ(service.refreshes(), 3);
    app_->app().database().with_transaction([&](db::Connection& c) {
        c.execute("UPDATE smartcar_connections SET refreshing_until_ms = NULL WHERE id = $1", {id});
    });

    // Refused refresh (revoked at Smartcar): reauth_required, published to the vehicle's watchers.
    std::string vehicle(callback.json().at("vehicles").at(0).at("vehicle_id").as_string());
    std::vector<std::string> events;
    std::mutex events_mutex;
    std::vector<std::string> all_events;  // the poller's SIGNALS may arrive too: only checked for secrets
    auto subscription = app_->app().events().subscribe("vehicle." + vehicle, [&](const core::Event& e) {
        std::lock_guard lock(events_mutex);
        all_events.push_back(e.payload);
        if (e.type == "CONNECTION") {
            events.push_back(e.payload);
        }
    });
    // Neither token of the refused grant may appear in any answer, log line (at every level) or event.
    const smartcar::Tokens refused = service.fresh_tokens(id);
    auto log = std::make_shared<std::ostringstream>();
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*log);
    core::add_log_sink(sink);
    spdlog::set_level(spdlog::level::trace);
    app_->app().simulator()->add_faults(json::parse(R"({"faults":[{"kind":"revoke"}]})"));
    expire_in(-1'000);
    try {
        service.fresh_tokens(id);
        ADD_FAILURE() << "a revoked grant refreshed";
    } catch (const core::ApiError& e) {
        EXPECT_EQ(e.status(), 409);
        EXPECT_EQ(std::string(e.what()).find(refused.refresh_token), std::string::npos);
    }
    auto single = call(*app_, "GET", "/api/v1/connections/" + public_id, alice_);
    auto list = call(*app_, "GET", "/api/v1/connections", alice_);
    auto refresh_view = call(*app_, "GET", "/api/v1/vehicles/" + vehicle + "/battery?refresh=true", alice_);
    core::remove_log_sink(sink);
    spdlog::set_level(spdlog::level::warn);
    json::value after = single.json();
    EXPECT_EQ(after.at("status"), json::value("reauth_required"));
    EXPECT_EQ(after.at("last_error").at("type"), json::value("invalid_grant"));
    EXPECT_EQ(after.at("last_error").at("description"), json::value("Invalid or expired refresh token."));
    EXPECT_TRUE(after.at("last_error").as_object().contains("request_id"));
    for (const std::string& secret : {refused.refresh_token, refused.access_token}) {
        ASSERT_GE(secret.size(), 16U);
        EXPECT_EQ(single.body.find(secret), std::string::npos) << single.body;
        EXPECT_EQ(list.body.find(secret), std::string::npos) << list.body;
        EXPECT_EQ(refresh_view.body.find(secret), std::string::npos) << refresh_view.body;
        EXPECT_EQ(log->str().find(secret), std::string::npos) << log->str();
    }
    EXPECT_NE(log->str().find("refresh refused"), std::string::npos);  // the log was captured
    std::lock_guard lock(events_mutex);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_NE(events[0].find(R"("status":"reauth_required")"), std::string::npos);
    for (const auto& event : all_events) {
        EXPECT_EQ(event.find(refused.refresh_token), std::string::npos);
        EXPECT_EQ(event.find(refused.access_token), std::string::npos);
    }
}

// The embedded default keeps the simulator's accounts, cars and tokens in the database: a restart
// is as invisible as it is with the real Smartcar (no reauth_required, the same cars, their odometer
// going on from where it was, tokens rotated before the stop still refresh after it).
TEST_F(SmartcarTest, ARestartInSimulatedModeIsInvisible) {
    auto callback = connect(alice_);
    ASSERT_EQ(callback.status, 200) << callback.body;
    const std::string public_id(callback.json().at("connection_id").as_string());
    const json::value first_car = callback.json().at("vehicles").at(0);
    const std::string vehicle(first_car.at("vehicle_id").as_string());
    const std::int64_t id = connection_row(public_id);
    auto odometer = [&](TestApp& app, const std::string& token) {
        auto r = call(app, "GET", "/api/v1/vehicles/" + vehicle + "/odometer?refresh=true", token);
        EXPECT_EQ(r.status, 200) << r.body;
        return r.status == 200 ? r.json().at("distance_km").to_number<double>() : -1.0;
    };
    const double before = odometer(*app_, alice_);
    ASSERT_GT(before, 0);
    // A rotation just before the stop: the new pair must be what the restored simulator knows.
    app_->app().database().with_transaction([&](db::Connection& c) {
        c.execute("UPDATE smartcar_connections SET access_expires_at_ms = $2 WHERE id = $1", {id, core::now_ms()});
    });
    const smartcar::Tokens rotated = app_->app().smartcar().fresh_tokens(id);
    EXPECT_EQ(app_->app().smartcar().refreshes(), 1);
    EXPECT_THROW(app_->app().simulator()->restore(R"({"version":1})"), std::runtime_error);  // changes nothing
    EXPECT_THROW(app_->app().simulator()->restore("not json"), std::runtime_error);

    const std::string url = app_->database().url();
    app_->app().shutdown();
    TestApp next({{"DATABASE_URL", url}});
    auto login = call(next,
                      "POST",
                      "/api/v1/auth/login",
                      "",
                      json::value(json::object{{"email", "alice@example.com"}, {"password", "correct horse battery"}}));
    ASSERT_EQ(login.status, 200) << login.body;
    const std::string token(login.json().at("access_token").as_string());

    const double after = odometer(next, token);  // a live call with the rotated access token
    EXPECT_GE(after, before);
    EXPECT_LT(after, before + 50);  // the same car, not a new one with another odometer
    json::value connection = call(next, "GET", "/api/v1/connections/" + public_id, token).json();
    EXPECT_EQ(connection.at("status"), json::value("active"));
    EXPECT_TRUE(connection.at("last_error").is_null()) << connection;
    EXPECT_EQ(connection.at("vehicles").at(0).at("vin"), first_car.at("vin"));
    // The refresh token rotated before the stop still refreshes after it.
    next.app().database().with_transaction([&](db::Connection& c) {
        c.execute("UPDATE smartcar_connections SET access_expires_at_ms = $2 WHERE id = $1", {id, core::now_ms()});
    });
    const smartcar::Tokens again = next.app().smartcar().fresh_tokens(id);
    EXPECT_NE(again.refresh_token, rotated.refresh_token);
    EXPECT_EQ(next.app().smartcar().refreshes(), 1);
    EXPECT_EQ(call(next, "GET", "/api/v1/connections/" + public_id, token).json().at("status"), json::value("active"));
}

TEST_F(SmartcarTest, DisconnectTellsSmartcarAndErasesTheTokens) {
    auto callback = connect(alice_);
    ASSERT_EQ(callback.status, 200) << callback.body;
    const std::string public_id(callback.json().at("connection_id").as_string());
    const std::size_t vehicles = callback.json().at("vehicles").as_array().size();
    EXPECT_EQ(call(*app_, "DELETE", "/api/v1/connections/" + public_id, alice_).status, 204);
    json::value after = call(*app_, "GET", "/api/v1/connections/" + public_id, alice_).json();
    EXPECT_EQ(after.at("status"), json::value("disconnected"));
    EXPECT_EQ(after.at("vehicles").as_array().size(), 0U);
    auto row = app_->app().database().with_reader([&](db::Connection& c) {
        return c.query("SELECT access_token, refresh_token FROM smartcar_connections WHERE public_id = $1",
                       {public_id});
    });
    EXPECT_TRUE(row.front().is_null(0));
    EXPECT_TRUE(row.front().is_null(1));
    std::size_t deletes = 0;
    for (const auto& r : app_->app().simulator()->requests()) {
        if (r.method == "DELETE" && r.path.ends_with("/application") && r.status == 200) {
            ++deletes;
        }
    }
    EXPECT_EQ(deletes, vehicles);
    EXPECT_EQ(call(*app_, "DELETE", "/api/v1/connections/" + public_id, alice_).status, 204);  // idempotent
    // The registry keeps the vehicles: they are the member's whether or not Smartcar reaches them.
    EXPECT_EQ(call(*app_, "GET", "/api/v1/vehicles", alice_).json().at("items").as_array().size(), vehicles);
}

TEST_F(SmartcarTest, AVinOfAnotherUsersVehicleIsNotTakenOver) {
    const std::string vin = test_vin(42);
    auto bobs = call(*app_,
                     "POST",
                     "/api/v1/vehicles",
                     bob_,
                     json::value(json::object{{"vin", vin}, {"make", "Tesla"}, {"model", "Model 3"}}));
    ASSERT_EQ(bobs.status, 201) << bobs.body;
    auto callback = connect(alice_, "?vin=" + vin);
    ASSERT_EQ(callback.status, 200) << callback.body;
    json::value result = callback.json();
    ASSERT_EQ(result.at("vehicles").as_array().size(), 1U);
    EXPECT_EQ(result.at("vehicles").at(0).at("vin"), json::value(vin));
    EXPECT_TRUE(result.at("vehicles").at(0).at("vehicle_id").is_null());
    EXPECT_EQ(result.at("vehicles").at(0).at("outcome"), json::value("conflict: vin_owned_by_another_user"));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/vehicles/" + vin, bob_).status, 200);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/vehicles/" + vin, alice_).status, 404);
    json::value connections = call(*app_, "GET", "/api/v1/connections", alice_).json();
    EXPECT_EQ(connections.at("items").at(0).at("vehicles").at(0).at("conflict"),
              json::value("vin_owned_by_another_user"));
}

}  // namespace
}  // namespace motorpool::testing

namespace motorpool::testing {
namespace {

// Smartcar's vehicle ids and what they are linked to: a member sees their own connections'
// vehicles, staff every one; a Smartcar id finds motorpool's vehicle; and motorpool's own lists
// filtered to the caller's vehicles (mine=true) whatever the role.
TEST_F(SmartcarTest, SmartcarVehiclesAreListedPerCallerAndFoundBySmartcarsId) {
    auto linked = connect(alice_);
    ASSERT_EQ(linked.status, 200) << linked.body;
    const json::value car = linked.json().at("vehicles").at(0);
    const std::string smartcar_id(car.at("smartcar_vehicle_id").as_string());
    const auto count = linked.json().at("vehicles").as_array().size();

    auto mine = call(*app_, "GET", "/api/v1/smartcar/vehicles", alice_);
    ASSERT_EQ(mine.status, 200) << mine.body;
    EXPECT_EQ(mine.json().at("total"), json::value(count));
    auto found = call(*app_, "GET", "/api/v1/smartcar/vehicles?smartcar_vehicle_id=" + smartcar_id, alice_);
    ASSERT_EQ(found.json().at("total"), json::value(1)) << found.body;
    const json::value found_body = found.json();
    const auto& item = found_body.at("items").at(0);
    EXPECT_EQ(item.at("vehicle_id"), car.at("vehicle_id"));
    EXPECT_EQ(item.at("vin"), car.at("vin"));
    EXPECT_EQ(item.at("connection_id"), linked.json().at("connection_id"));
    EXPECT_EQ(item.at("connection_status"), json::value("active"));

    // Bob sees none of them, not even by id; an admin sees them all.
    EXPECT_EQ(call(*app_, "GET", "/api/v1/smartcar/vehicles", bob_).json().at("total"), json::value(0));
    EXPECT_EQ(
        call(*app_, "GET", "/api/v1/smartcar/vehicles?smartcar_vehicle_id=" + smartcar_id, bob_).json().at("total"),
        json::value(0));
    const std::string admin = create_user_and_login(*app_, "admin@example.com", auth::Role::Admin).token;
    EXPECT_EQ(call(*app_, "GET", "/api/v1/smartcar/vehicles", admin).json().at("total"), json::value(count));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/smartcar/vehicles", "").status, 401);
    for (const char* bad : {"?page_size=0", "?page_size=101", "?cursor=", "?smartcar_vehicle_id="}) {
        EXPECT_EQ(call(*app_, "GET", std::string("/api/v1/smartcar/vehicles") + bad, alice_).status, 422) << bad;
    }

    // The admin owns no vehicle: all of them without mine, none with it.
    EXPECT_EQ(call(*app_, "GET", "/api/v1/vehicles", admin).json().at("total"), json::value(count));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/vehicles?mine=true", admin).json().at("total"), json::value(0));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/vehicles?mine=true", alice_).json().at("total"), json::value(count));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/vehicles?mine=yes", alice_).status, 422);
}

}  // namespace
}  // namespace motorpool::testing
