// The original Smartcar services' APIs (MOTORPOOL_COMPAT): the integration's documented requests
// (Connect URL, latest telemetry with 404 and 502, vehicles, history) and the webhook server's
// (vehicles by Smartcar id, the signal views by either id, the receiver with its signature, the
// admin-only clear, /login and /exchange), replayed with their shapes. Every backend.

#include <chrono>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/auth.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "harness.hpp"
#include "smartcar/service.hpp"
#include "smartcar/webhooks.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

template <typename F>
bool eventually(F done, int seconds = 10) {
    for (int i = 0; i < seconds * 20; ++i) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
}

class CompatSmartcarTest : public ::testing::Test {
protected:
    void start(const std::string& surfaces) {
        app_ = std::make_unique<TestApp>(
            Overrides{{"MOTORPOOL_COMPAT", surfaces}, {"SMARTCAR_MANAGEMENT_TOKEN", "amt"}}, nullptr, clock_);
        alice_ = register_member(*app_, "alice@example.com").token;
        bob_ = register_member(*app_, "bob@example.com").token;
        admin_ = create_user_and_login(*app_, "admin@example.com", auth::Role::Admin).token;
    }
    // Connects Alice's simulated account and waits for its first poll: (motorpool id, Smartcar id).
    std::pair<std::string, std::string> connect_polled() {
        auto r = connect_smartcar(*app_, alice_);
        EXPECT_EQ(r.status, 200) << r.body;
        json::value body = r.json();
        const auto& v = body.at("vehicles").at(0);
        std::pair<std::string, std::string> ids{std::string(v.at("vehicle_id").as_string()),
                                                std::string(v.at("smartcar_vehicle_id").as_string())};
        EXPECT_TRUE(eventually([&] {
            auto s = call(*app_, "GET", "/api/v1/vehicles/" + ids.first + "/signals", alice_).json();
            return s.at("signals").as_object().contains("TractionBattery.StateOfCharge");
        }));
        return ids;
    }
    http::ClientResponse deliver(const std::string& body, const std::string& signature) {
        return app_->client().request(
            "POST", "/webhook", body, {{"Content-Type", "application/json"}, {"SC-Signature", signature}});
    }
    static std::string sign(const std::string& body) { return core::hex_encode(core::hmac_sha256("amt", body)); }

    std::shared_ptr<core::ManualClock> clock_ = std::make_shared<core::ManualClock>(core::now_ms());
    std::unique_ptr<TestApp> app_;
    std::string alice_, bob_, admin_;
};

// ---- smartcar-integration ----

TEST_F(CompatSmartcarTest, IntegrationConnectsAndReadsLatestTelemetry) {
    start("smartcar-integration");
    auto anonymous = call(*app_, "GET", "/v1/ev/connect", "");
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_TRUE(anonymous.json().at("detail").is_string()) << anonymous.body;

    auto connect = call(*app_, "GET", "/v1/ev/connect", alice_);
    ASSERT_EQ(connect.status, 200) << connect.body;
    EXPECT_EQ(connect.json().as_object().size(), 1U);
    EXPECT_FALSE(query_value(std::string(connect.json().at("url").as_string()), "state").empty());

    auto none = call(*app_, "GET", "/v1/ev/me/telemetry/latest", alice_);
    EXPECT_EQ(none.status, 404);
    EXPECT_EQ(none.body, R"({"detail":"No connected vehicle with telemetry"})");
    EXPECT_EQ(call(*app_, "GET", "/v1/ev/me/telemetry/history", alice_).status, 404);

    auto [vehicle, smartcar_vehicle] = connect_polled();
    auto latest = call(*app_, "GET", "/v1/ev/me/telemetry/latest", alice_);
    ASSERT_EQ(latest.status, 200) << latest.body;
    const auto t = latest.json().as_object();
    EXPECT_EQ(t.size(), 5U);  // exactly the original's response model
    for (const char* field : {"recorded_at", "soc_pct", "charging_state", "latitude", "longitude"}) {
        EXPECT_TRUE(t.contains(field)) << field;
    }
    EXPECT_TRUE(t.at("soc_pct").is_number()) << latest.body;
    EXPECT_TRUE(t.at("latitude").is_number()) << latest.body;
    // Bob has no car: his own 404, never Alice's.
    EXPECT_EQ(call(*app_, "GET", "/v1/ev/me/telemetry/latest", bob_).status, 404);

    auto vehicles = call(*app_, "GET", "/v1/ev/me/vehicles", alice_);
    ASSERT_EQ(vehicles.status, 200) << vehicles.body;
    ASSERT_TRUE(vehicles.json().is_array());
    ASSERT_GE(vehicles.json().as_array().size(), 1U);
    EXPECT_EQ(vehicles.json().at(0).at("id"), json::value(vehicle));
    EXPECT_EQ(call(*app_, "GET", "/v1/ev/me/vehicles", bob_).body, "[]");
    // An admin's own list is theirs, not the fleet.
    EXPECT_EQ(call(*app_, "GET", "/v1/ev/me/vehicles", admin_).body, "[]");

    // Stale and Smartcar failing: 502 in FastAPI's shape.
    clock_->advance_ms(6 * 60'000);
    app_->app().simulator()->add_faults(
        json::parse(R"({"faults":[{"kind":"server","vehicle_id":")" + smartcar_vehicle + R"(","count":5}]})"));
    auto failed = call(*app_, "GET", "/v1/ev/me/telemetry/latest", alice_);
    EXPECT_EQ(failed.status, 502) << failed.body;
    EXPECT_TRUE(failed.json().at("detail").is_string()) << failed.body;
}

TEST_F(CompatSmartcarTest, IntegrationHistoryJoinsTheSeriesByTime) {
    start("smartcar-integration");
    connect_polled();
    clock_->advance_ms(60'000);  // the simulator dates readings by the wall clock, past the frozen one
    auto history = call(*app_, "GET", "/v1/ev/me/telemetry/history?days=7", alice_);
    ASSERT_EQ(history.status, 200) << history.body;
    const auto rows = history.json().as_array();
    ASSERT_GE(rows.size(), 1U);
    bool soc = false;
    std::string previous;
    for (const auto& row : rows) {
        EXPECT_EQ(row.as_object().size(), 5U);
        const std::string at(row.at("recorded_at").as_string());
        EXPECT_LT(previous, at);  // one row per time, oldest first
        previous = at;
        soc = soc || row.at("soc_pct").is_number();
    }
    EXPECT_TRUE(soc) << history.body;
    // Eight days on, a 7-day window is empty; a 30-day one is not.
    clock_->advance_ms(8 * 86'400'000LL);
    auto login = call(*app_,
                      "POST",
                      "/api/v1/auth/login",
                      "",
                      json::object{{"email", "alice@example.com"}, {"password", "correct horse battery"}});
    ASSERT_EQ(login.status, 200) << login.body;
    alice_ = std::string(login.json().at("access_token").as_string());
    EXPECT_EQ(call(*app_, "GET", "/v1/ev/me/telemetry/history?days=7", alice_).body, "[]");
    EXPECT_GE(call(*app_, "GET", "/v1/ev/me/telemetry/history?days=30", alice_).json().as_array().size(), 1U);
    for (const char* bad : {"0", "91", "seven", "-1", ""}) {
        auto r = call(*app_, "GET", std::string("/v1/ev/me/telemetry/history?days=") + bad, alice_);
        EXPECT_EQ(r.status, 422) << bad;
        EXPECT_EQ(r.json().at("detail").at(0).at("loc"), (json::array{"query", "days"})) << bad;
    }
}

TEST_F(CompatSmartcarTest, IntegrationUnderAPrefixServesTheCallbackThere) {
    start("smartcar-integration@/ev");
    EXPECT_EQ(call(*app_, "GET", "/v1/ev/connect", alice_).status, 404);
    auto connect = call(*app_, "GET", "/ev/v1/ev/connect", alice_);
    ASSERT_EQ(connect.status, 200) << connect.body;
    // A callback without a state, at the prefixed path, is motorpool's callback's refusal.
    auto callback = app_->client().get("/ev/oauth/smartcar/callback?code=x&state=nope");
    EXPECT_EQ(callback.status, 400) << callback.body;
}

// ---- smartcar-webhooks ----

std::string vehicle_state(const std::string& event_id, const std::string& smartcar_vehicle, std::int64_t oem_ms) {
    auto signal = [&](const char* code, const char* name, const char* group, json::object body) {
        return json::object{{"code", code},
                            {"name", name},
                            {"group", group},
                            {"body", std::move(body)},
                            {"meta", json::object{{"oemUpdatedAt", oem_ms}}},
                            {"status", json::object{{"value", "SUCCESS"}}}};
    };
    json::array signals{signal("tractionbattery-stateofcharge",
                               "StateOfCharge",
                               "TractionBattery",
                               json::object{{"unit", "percent"}, {"value", 71.5}}),
                        signal("location-preciselocation",
                               "PreciseLocation",
                               "Location",
                               json::object{{"latitude", 52.52}, {"longitude", 13.405}, {"heading", 90}}),
                        signal("odometer-traveleddistance",
                               "TraveledDistance",
                               "Odometer",
                               json::object{{"unit", "kilometers"}, {"value", 12345.5}}),
                        signal("charge-chargelimits",
                               "ChargeLimits",
                               "Charge",
                               json::object{{"values", json::array{json::object{{"type", "GLOBAL"}, {"limit", 80}}}},
                                            {"activeLimit", 80},
                                            {"unit", "percent"}})};
    return core::to_json_text(json::object{
        {"eventId", event_id},
        {"eventType", "VEHICLE_STATE"},
        {"data",
         json::object{{"user", json::object{{"id", "u-1"}}},
                      {"vehicle", json::object{{"id", smartcar_vehicle}, {"make", "TESLA"}, {"model", "3"}}},
                      {"signals", std::move(signals)}}},
        {"triggers", json::array{json::object{{"type", "SIGNAL_UPDATED"}}}},
        {"meta",
         json::object{{"version", "4.0"},
                      {"webhookId", "w-1"},
                      {"deliveryId", event_id + "-d"},
                      {"deliveredAt", oem_ms + 1000},
                      {"signalCount", 4},
                      {"mode", "TEST"}}}});
}

TEST_F(CompatSmartcarTest, WebhookServerReceivesSignedDeliveriesAndServesTheSignals) {
    start("smartcar-webhooks");
    auto [vehicle, smartcar_vehicle] = connect_polled();

    auto vehicles = call(*app_, "GET", "/api/vehicles", alice_);
    ASSERT_EQ(vehicles.status, 200) << vehicles.body;
    EXPECT_EQ(vehicles.json().at("vehicles"), (json::array{json::value(smartcar_vehicle)}));
    EXPECT_EQ(vehicles.json().at("total_vehicles"), json::value(1));
    EXPECT_TRUE(vehicles.json().at("total_entries").is_null());  // the log's size is the admins'
    EXPECT_EQ(call(*app_, "GET", "/api/vehicles", bob_).json().at("total_vehicles"), json::value(0));
    auto anonymous = call(*app_, "GET", "/api/vehicles", "");
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_TRUE(anonymous.json().at("error").is_string()) << anonymous.body;

    // The receiver is motorpool's: unsigned and tampered deliveries are refused, nothing stored.
    const std::int64_t oem = clock_->now_ms() + 60'000;
    const std::string body = vehicle_state("ev-compat-1", smartcar_vehicle, oem);
    auto unsigned_delivery = app_->client().request("POST", "/webhook", body, {{"Content-Type", "application/json"}});
    EXPECT_EQ(unsigned_delivery.status, 401);
    EXPECT_TRUE(unsigned_delivery.json().at("error").is_string());
    EXPECT_EQ(deliver(body, sign(body + " ")).status, 401);
    auto ok = deliver(body, sign(body));
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(ok.json().at("status"), json::value("success"));
    EXPECT_EQ(ok.json().at("message"), json::value("Delivery accepted"));
    EXPECT_EQ(deliver(body, sign(body)).json().at("message"), json::value("Delivery already received"));
    // VERIFY answers the challenge's HMAC, as the original did.
    const std::string verify =
        R"({"eventId":"v1","eventType":"VERIFY","data":{"challenge":"challenge"},"meta":{"version":"4.0","webhookId":"w-1","deliveryId":"d","deliveredAt":1}})";
    auto challenge = app_->client().request("POST", "/webhook", verify, {{"Content-Type", "application/json"}});
    ASSERT_EQ(challenge.status, 200) << challenge.body;
    EXPECT_EQ(challenge.json().at("challenge"),
              json::value("9baf5a7464bd86740ad5a06e439dcf535a075022ed2c92d74efacf646d79328e"));

    app_->app().smartcar().webhooks().drain();
    const std::string when = core::format_rfc3339(oem);
    // By Smartcar's id and by motorpool's: the same answers.
    for (const std::string& id : {smartcar_vehicle, vehicle}) {
        auto location = call(*app_, "GET", "/api/vehicle/" + id + "/location", alice_);
        ASSERT_EQ(location.status, 200) << location.body;
        EXPECT_EQ(location.json().at("vehicle_id"), json::value(id));
        EXPECT_EQ(location.json().at("timestamp"), json::value(when));
        EXPECT_EQ(location.json().at("location").at("latitude").to_number<double>(), 52.52);
        EXPECT_EQ(location.json().at("location").at("longitude").to_number<double>(), 13.405);

        auto battery = call(*app_, "GET", "/api/vehicle/" + id + "/battery", alice_);
        ASSERT_EQ(battery.status, 200) << battery.body;
        EXPECT_EQ(battery.json().at("battery").at("state_of_charge"),
                  (json::object{{"value", 71.5}, {"unit", "percent"}}));

        auto odometer = call(*app_, "GET", "/api/vehicle/" + id + "/odometer", alice_);
        ASSERT_EQ(odometer.status, 200) << odometer.body;
        EXPECT_NEAR(odometer.json().at("odometer").at("value").to_number<double>(), 12345.5, 0.01);
        EXPECT_EQ(odometer.json().at("odometer").at("unit"), json::value("kilometers"));

        auto limits = call(*app_, "GET", "/api/vehicle/" + id + "/charge-limits", alice_);
        ASSERT_EQ(limits.status, 200) << limits.body;
        EXPECT_EQ(limits.json().at("charge_limits").at("activeLimit").to_number<double>(), 80);

        auto latest = call(*app_, "GET", "/api/vehicle/" + id + "/latest-signals", alice_);
        ASSERT_EQ(latest.status, 200) << latest.body;
        EXPECT_EQ(latest.json().as_object().size(), 5U);
        EXPECT_EQ(latest.json().at("TractionBattery.StateOfCharge").at("timestamp"), json::value(when));
        EXPECT_EQ(latest.json().at("TractionBattery.StateOfCharge").at("data").at("value").to_number<double>(), 71.5);

        auto all = call(*app_, "GET", "/api/vehicle/" + id + "/all", alice_);
        ASSERT_EQ(all.status, 200) << all.body;
        EXPECT_EQ(all.json().at("vehicle_id"), json::value(id));
        EXPECT_TRUE(all.json().at("last_updated").is_string());
        EXPECT_EQ(all.json().at("data").at("Location.PreciseLocation").at(0).at("timestamp"), json::value(when));
    }
    // Another member sees neither id; an unknown id is not found.
    for (const std::string& id : {smartcar_vehicle, vehicle, std::string("no-such-car")}) {
        auto r = call(*app_, "GET", "/api/vehicle/" + id + "/location", bob_);
        EXPECT_EQ(r.status, 404) << id;
        EXPECT_EQ(r.body, R"({"error":"Vehicle not found"})") << id;
    }
}

TEST_F(CompatSmartcarTest, WebhookServerClearIsForAdminsAndLoginGoesToConnect) {
    start("smartcar-webhooks");
    auto [vehicle, smartcar_vehicle] = connect_polled();
    const std::string body = vehicle_state("ev-compat-2", smartcar_vehicle, clock_->now_ms());
    ASSERT_EQ(deliver(body, sign(body)).status, 200);
    app_->app().smartcar().webhooks().drain();  // pending deliveries are kept by a clear
    EXPECT_EQ(call(*app_, "GET", "/api/vehicles", admin_).json().at("total_entries"), json::value(1));

    auto anonymous = app_->client().request("POST", "/clear-webhook-data", "", {});
    EXPECT_EQ(anonymous.status, 401);
    auto member = call(*app_, "POST", "/clear-webhook-data", alice_);
    EXPECT_EQ(member.status, 403);
    EXPECT_TRUE(member.json().at("error").is_string());
    EXPECT_EQ(call(*app_, "GET", "/api/vehicles", admin_).json().at("total_entries"), json::value(1));
    auto cleared = call(*app_, "POST", "/clear-webhook-data", admin_);
    ASSERT_EQ(cleared.status, 200) << cleared.body;
    EXPECT_EQ(cleared.json().at("status"), json::value("success"));
    EXPECT_EQ(call(*app_, "GET", "/api/vehicles", admin_).json().at("total_entries"), json::value(0));

    // /login: a browser link with ?token= is sent to Connect; without a token, 401.
    EXPECT_EQ(app_->client().get("/login").status, 401);
    auto login = app_->client().get("/login?token=" + alice_);
    ASSERT_EQ(login.status, 302) << login.body;
    const std::string connect = login.header("Location").value_or("");
    EXPECT_FALSE(query_value(connect, "state").empty()) << connect;
    // /exchange is the callback: approving at the simulator comes back there and links the car.
    std::string approved = target_of(connect);
    auto simulator = app_->client().get(approved + "&approve=true");
    ASSERT_EQ(simulator.status, 302) << simulator.body;
    const std::string back = target_of(simulator.header("Location").value_or(""));
    auto exchange = app_->client().get("/exchange" + back.substr(back.find('?')));
    EXPECT_EQ(exchange.status, 200) << exchange.body;
    EXPECT_EQ(exchange.json().at("provider"), json::value("smartcar"));
}

TEST_F(CompatSmartcarTest, AllMountsTheServedSurfacesThatDoNotCollide) {
    start("all");
    EXPECT_EQ(call(*app_, "GET", "/v1/ev/connect", alice_).status, 200);
    EXPECT_EQ(call(*app_, "GET", "/api/vehicles", alice_).json().at("total_vehicles"), json::value(0));
}

}  // namespace
}  // namespace motorpool::testing
