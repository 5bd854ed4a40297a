// The Smartcar simulator over real HTTP, as an SDK talks to it: Connect, both token grants with
// rotation, the v2 vehicle endpoints with Smartcar's headers and error bodies, batch, commands,
// management API, v3 signals, faults. Facts checked: shared/design/SMARTCAR.md.

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/crypto.hpp"
#include "harness.hpp"
#include "vehicles/vin.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

constexpr const char* kSim = "/sim/smartcar";
constexpr const char* kRedirect = "http://localhost:8000/callback";

std::string basic(const std::string& user, const std::string& password) {
    return "Basic " + core::base64_encode(user + ":" + password);
}

class SmartcarSimTest : public ::testing::Test {
protected:
    void SetUp() override { app_ = std::make_unique<TestApp>(Overrides{}, nullptr, clock_); }

    http::ClientResponse get(const std::string& path, const http::Headers& headers = {}) {
        return app_->client().request("GET", std::string(kSim) + path, {}, headers);
    }
    http::ClientResponse post(const std::string& path,
                              std::string body,
                              const http::Headers& headers,
                              const std::string& method = "POST") {
        return app_->client().request(method, std::string(kSim) + path, std::move(body), headers);
    }
    // Connect approved: the redirect's code.
    std::string approve(const std::string& extra = "") {
        auto r =
            get(std::string("/oauth/authorize?response_type=code&client_id=sim-client-id&redirect_uri=") +
                "http%3A%2F%2Flocalhost%3A8000%2Fcallback&scope=read_vehicle_info%20read_vin%20read_battery%20"
                "read_charge%20control_charge%20read_location%20read_odometer%20read_fuel&state=st4te&mode=simulated" +
                extra + "&approve=true");
        EXPECT_EQ(r.status, 302) << r.body;
        std::string location = r.header("Location").value_or("");
        EXPECT_EQ(location.rfind(std::string(kRedirect) + "?code=", 0), 0U) << location;
        EXPECT_EQ(query_value(location, "state"), "st4te");
        return query_value(location, "code");
    }
    http::ClientResponse token(const std::string& form, const std::string& secret = "sim-client-secret") {
        return post(
            "/oauth/token",
            form,
            {{"Authorization", basic("sim-client-id", secret)}, {"Content-Type", "application/x-www-form-urlencoded"}});
    }
    json::object exchange(const std::string& code) {
        auto r = token("grant_type=authorization_code&code=" + code +
                       "&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fcallback");
        EXPECT_EQ(r.status, 200) << r.body;
        return r.json().as_object();
    }
    static http::Headers bearer(const json::object& tokens) {
        return {{"Authorization", "Bearer " + std::string(tokens.at("access_token").as_string())}};
    }
    // Every key a Smartcar v2 error carries (the Java SDK fails without them).
    static void expect_error(const http::ClientResponse& r, int status, const std::string& type) {
        EXPECT_EQ(r.status, status) << r.body;
        EXPECT_NE(r.header("Content-Type").value_or("").find("application/json"), std::string::npos);
        EXPECT_EQ(r.header("SC-Request-Id").value_or("").size(), 36U);
        auto body = r.json().as_object();
        for (const char* key : {"type",
                                "code",
                                "description",
                                "docURL",
                                "statusCode",
                                "requestId",
                                "resolution",
                                "suggestedUserMessage"}) {
            EXPECT_TRUE(body.contains(key)) << key << " in " << r.body;
        }
        EXPECT_EQ(body.at("type"), json::value(type));
        EXPECT_EQ(body.at("statusCode"), json::value(status));
        EXPECT_EQ(body.at("requestId"), json::value(*r.header("SC-Request-Id")));
    }

    std::shared_ptr<core::ManualClock> clock_ = std::make_shared<core::ManualClock>(core::now_ms());
    std::unique_ptr<TestApp> app_;
};

TEST_F(SmartcarSimTest, ConnectPageThenApprovalGivesASingleUseCode) {
    auto page =
        get("/oauth/authorize?response_type=code&client_id=sim-client-id&redirect_uri=http%3A%2F%2F"
            "localhost%3A8000%2Fcallback&state=abc&mode=simulated&approval_prompt=force");
    EXPECT_EQ(page.status, 200);
    EXPECT_NE(page.body.find("id=\"approve\""), std::string::npos);
    EXPECT_NE(page.body.find("VIN "), std::string::npos);

    // Unknown client or an unregistered redirect: an error page, never a redirect.
    EXPECT_EQ(
        get("/oauth/authorize?response_type=code&client_id=other&redirect_uri=http%3A%2F%2Flocalhost%2Fcb").status,
        400);
    EXPECT_EQ(get("/oauth/authorize?response_type=code&client_id=sim-client-id&redirect_uri=https%3A%2F%2Fevil.example"
                  "%2Fcb&approve=true")
                  .status,
              400);

    auto denied =
        get("/oauth/authorize?response_type=code&client_id=sim-client-id&redirect_uri=http%3A%2F%2F"
            "localhost%3A8000%2Fcallback&state=abc&approve=false");
    EXPECT_EQ(denied.status, 302);
    auto location = denied.header("Location").value_or("");
    EXPECT_EQ(query_value(location, "error"), "access_denied");
    EXPECT_EQ(query_value(location, "state"), "abc");

    std::string code = approve();
    auto tokens = exchange(code);
    EXPECT_EQ(tokens.at("token_type"), json::value("Bearer"));
    EXPECT_EQ(tokens.at("expires_in"), json::value(7200));
    EXPECT_EQ(tokens.at("access_token").as_string().size(), 36U);
    EXPECT_EQ(tokens.at("refresh_token").as_string().size(), 36U);
    // Used once: a second exchange fails, and so does a wrong secret or redirect.
    auto again =
        token("grant_type=authorization_code&code=" + code + "&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fcallback");
    EXPECT_EQ(again.status, 400);
    EXPECT_EQ(again.json().at("error"), json::value("invalid_grant"));
    EXPECT_EQ(token("grant_type=authorization_code&code=" + approve() + "&redirect_uri=x", "wrong").status, 401);
    auto wrong_redirect = token("grant_type=authorization_code&code=" + approve() + "&redirect_uri=http%3A%2F%2Fx");
    EXPECT_EQ(wrong_redirect.status, 400);
    EXPECT_EQ(wrong_redirect.json().at("error_description"), json::value("Unauthorized redirect_uri: http://x"));
}

TEST_F(SmartcarSimTest, VehiclesAnswerWithSmartcarsShapesAndHeaders) {
    auto tokens = exchange(approve());
    auto auth = bearer(tokens);
    auto list = get("/v2.0/vehicles/", auth);  // the Node SDK's trailing slash
    ASSERT_EQ(list.status, 200) << list.body;
    json::value body = list.json();
    const auto& ids = body.at("vehicles").as_array();
    ASSERT_GE(ids.size(), 1U);
    ASSERT_LE(ids.size(), 3U);
    EXPECT_EQ(body.at("paging").at("count"), json::value(ids.size()));
    const std::string id(ids[0].as_string());

    auto user = get("/v2.0/user", auth);
    EXPECT_EQ(user.json().at("id").as_string().size(), 36U);

    auto attributes = get("/v2.0/vehicles/" + id + "/", auth);
    ASSERT_EQ(attributes.status, 200);
    EXPECT_EQ(attributes.json().at("id"), json::value(id));
    EXPECT_TRUE(attributes.json().at("year").is_int64());
    EXPECT_EQ(attributes.header("SC-Unit-System"), "metric");
    EXPECT_EQ(attributes.header("SC-Request-Id").value_or("").size(), 36U);
    EXPECT_EQ(attributes.header("SC-Data-Age").value_or("").size(), 24U);  // 2026-11-29T08:00:00.000Z

    auto vin = std::string(get("/v2.0/vehicles/" + id + "/vin", auth).json().at("vin").as_string());
    EXPECT_TRUE(vehicles::check_vin(vin).valid) << vin;

    auto battery = get("/v2.0/vehicles/" + id + "/battery", auth).json();
    double fraction = battery.at("percentRemaining").to_number<double>();
    EXPECT_GE(fraction, 0.0);
    EXPECT_LE(fraction, 1.0);  // v2 reports fractions

    auto imperial = get("/v2.0/vehicles/" + id + "/odometer", {auth[0], {"SC-Unit-System", "imperial"}});
    auto metric = get("/v2.0/vehicles/" + id + "/odometer", auth);
    EXPECT_EQ(imperial.header("SC-Unit-System"), "imperial");
    EXPECT_NEAR(imperial.json().at("distance").to_number<double>(),
                metric.json().at("distance").to_number<double>() * 0.621371,
                1.0);

    auto batch = post("/v2.0/vehicles/" + id + "/batch",
                      R"({"requests":[{"path":"/battery"},{"path":"/charge"},{"path":"/fuel"},{"path":"/security"}]})",
                      {auth[0], {"Content-Type", "application/json"}});
    ASSERT_EQ(batch.status, 200) << batch.body;
    json::value responses = batch.json().at("responses");
    ASSERT_EQ(responses.as_array().size(), 4U);
    EXPECT_EQ(responses.at(0).at("path"), json::value("/battery"));
    EXPECT_EQ(responses.at(0).at("code"), json::value(200));
    EXPECT_TRUE(responses.at(0).at("headers").as_object().contains("sc-data-age"));
    EXPECT_EQ(responses.at(1).at("body").as_object().size(), 2U);  // isPluggedIn, state
    EXPECT_EQ(responses.at(2).at("code"), json::value(501));       // a BEV has no fuel
    EXPECT_EQ(responses.at(2).at("body").at("type"), json::value("COMPATIBILITY"));
    EXPECT_EQ(responses.at(3).at("code"), json::value(403));  // read_security was not granted
    EXPECT_EQ(responses.at(3).at("body").at("type"), json::value("PERMISSION"));

    // The Node SDK sends the limit as a string.
    auto set = post("/v2.0/vehicles/" + id + "/charge/limit", R"({"limit":"0.9"})", auth);
    EXPECT_EQ(set.status, 200) << set.body;
    EXPECT_EQ(set.json().at("status"), json::value("success"));
    EXPECT_EQ(get("/v2.0/vehicles/" + id + "/charge/limit", auth).json().at("limit").to_number<double>(), 0.9);
    expect_error(post("/v2.0/vehicles/" + id + "/charge/limit", R"({"limit":0.3})", auth), 400, "VALIDATION");

    expect_error(get("/v2.0/vehicles/" + id + "/battery"), 401, "AUTHENTICATION");
    expect_error(get("/v2.0/vehicles/" + id + "/security", auth), 403, "PERMISSION");
    expect_error(get("/v2.0/vehicles/" + id + "/nothing", auth), 404, "RESOURCE_NOT_FOUND");
    expect_error(get("/v2.0/vehicles/00000000-0000-4000-8000-000000000000/battery", auth), 403, "PERMISSION");

    auto v3 = get("/v3/vehicles/" + id + "/signals", auth);
    ASSERT_EQ(v3.status, 200) << v3.body;
    bool found_soc = false;
    json::value signals = v3.json();
    for (const auto& signal : signals.at("data").as_array()) {
        if (signal.at("id") == json::value("tractionbattery-stateofcharge")) {
            found_soc = true;
            EXPECT_NEAR(signal.at("attributes").at("body").at("value").to_number<double>(), fraction * 100, 1.0);
            EXPECT_TRUE(signal.at("meta").at("oemUpdatedAt").is_int64());
        }
    }
    EXPECT_TRUE(found_soc);
}

TEST_F(SmartcarSimTest, RefreshRotatesWithAOneMinuteGraceAndRevocationEndsIt) {
    auto first = exchange(approve());
    const std::string refresh(first.at("refresh_token").as_string());
    auto r1 = token("grant_type=refresh_token&refresh_token=" + refresh);
    ASSERT_EQ(r1.status, 200) << r1.body;
    auto second = r1.json().as_object();
    EXPECT_NE(second.at("refresh_token"), first.at("refresh_token"));
    EXPECT_NE(second.at("access_token"), first.at("access_token"));
    // Within the minute the old refresh token still works; the old access token lives until it expires.
    EXPECT_EQ(token("grant_type=refresh_token&refresh_token=" + refresh).status, 200);
    EXPECT_EQ(get("/v2.0/vehicles", bearer(first)).status, 200);
    auto bogus = token("grant_type=refresh_token&refresh_token=00000000-0000-4000-8000-000000000000");
    EXPECT_EQ(bogus.status, 400);
    EXPECT_EQ(bogus.json().at("error_description"), json::value("Invalid or expired refresh token."));

    app_->app().simulator()->add_faults(json::parse(R"({"faults":[{"kind":"revoke"}]})"));
    expect_error(get("/v2.0/vehicles", bearer(second)), 401, "AUTHENTICATION");
    auto after = token("grant_type=refresh_token&refresh_token=" + std::string(second.at("refresh_token").as_string()));
    EXPECT_EQ(after.status, 400);
    EXPECT_EQ(after.json().at("error"), json::value("invalid_grant"));
}

TEST_F(SmartcarSimTest, RateLimitFaultsCarryRetryAfterAndHoldForTheWindow) {
    auto tokens = exchange(approve());
    auto auth = bearer(tokens);
    const std::string id(get("/v2.0/vehicles", auth).json().at("vehicles").at(0).as_string());
    auto faults = post("/admin/faults",
                       R"({"faults":[{"kind":"rate_limit","vehicle_id":")" + id +
                           R"(","retry_after":30},)"
                           R"({"kind":"upstream","count":1}]})",
                       {{"Authorization", basic("sim-client-id", "sim-client-secret")}});
    ASSERT_EQ(faults.status, 204) << faults.body;
    auto limited = get("/v2.0/vehicles/" + id + "/battery", auth);
    expect_error(limited, 429, "RATE_LIMIT");
    EXPECT_EQ(limited.json().at("code"), json::value("VEHICLE"));
    EXPECT_EQ(limited.header("Retry-After"), "30");
    auto still = get("/v2.0/vehicles/" + id + "/odometer", auth);
    EXPECT_EQ(still.status, 429);
    EXPECT_EQ(still.header("Retry-After"), "30");  // the simulator's clock stands still here
    // The other fault is for any vehicle: the next vehicle of the account (if any) gets a 502.
    auto log = app_->app().simulator()->requests();
    ASSERT_GE(log.size(), 2U);
    EXPECT_EQ(log.back().status, 429);
    EXPECT_EQ(log.back().vehicle_id, id);
    clock_->advance_ms(29'999);
    EXPECT_EQ(get("/v2.0/vehicles/" + id + "/odometer", auth).header("Retry-After"), "1");
    clock_->advance_ms(1);  // the window is over
    // The upstream fault waited for the next request of any vehicle that was not throttled: this one.
    EXPECT_EQ(get("/v2.0/vehicles/" + id + "/odometer", auth).status, 502);
    auto after = get("/v2.0/vehicles/" + id + "/odometer", auth);
    EXPECT_EQ(after.status, 200) << after.body;

    auto bad = post("/admin/faults",
                    R"({"faults":[{"kind":"meteor"}]})",
                    {{"Authorization", basic("sim-client-id", "sim-client-secret")}});
    EXPECT_EQ(bad.status, 422);
    EXPECT_EQ(post("/admin/faults", R"({"faults":[]})", {}).status, 401);
}

TEST_F(SmartcarSimTest, ManagementApiListsAndDeletesConnections) {
    auto tokens = exchange(approve());
    const std::string user(get("/v2.0/user", bearer(tokens)).json().at("id").as_string());
    http::Headers amt{{"Authorization", basic("default", "sim-management-token")}};
    auto list = get("/v2.0/management/connections/?user_id=" + user, amt);
    ASSERT_EQ(list.status, 200) << list.body;
    json::value body = list.json();
    ASSERT_GE(body.at("connections").as_array().size(), 1U);
    EXPECT_EQ(body.at("connections").at(0).at("userId"), json::value(user));
    EXPECT_TRUE(body.at("paging").at("cursor").is_null());
    expect_error(
        get("/v2.0/management/connections", {{"Authorization", basic("default", "wrong")}}), 401, "AUTHENTICATION");
    auto removed = post("/v2.0/management/connections?user_id=" + user, "", amt, "DELETE");
    EXPECT_EQ(removed.status, 200) << removed.body;
    EXPECT_EQ(get("/v2.0/vehicles", bearer(tokens)).json().at("vehicles").as_array().size(), 0U);
}

}  // namespace
}  // namespace motorpool::testing
