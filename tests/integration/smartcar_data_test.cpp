// Vehicle data from Smartcar over real HTTP against the simulator: polling (v2 batch fractions
// become percent), ?refresh=true with Retry-After obeyed, and webhooks: VERIFY with the SDK's test
// vector in both envelopes, signed / unsigned / tampered deliveries, duplicates, out-of-order
// deliveries, VEHICLE_ERROR, the legacy envelope, the admin log, and deliveries acknowledged but
// not yet processed when the server stops, processed at the next start. Every backend.

#include <algorithm>
#include <set>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "harness.hpp"
#include "smartcar/webhooks.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

struct DeliveryRecordView {
    std::int64_t at_ms;
    std::string event_id;
    int attempt;
    int status;
};

// The Node SDK's test vector: hashChallenge("amt", "challenge").
constexpr const char* kChallengeDigest = "9baf5a7464bd86740ad5a06e439dcf535a075022ed2c92d74efacf646d79328e";

std::string sign(const std::string& body, const std::string& key = "amt") {
    return core::hex_encode(core::hmac_sha256(key, body));
}

// Waits up to `seconds` for `done`; true when it held.
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

class SmartcarDataTest : public ::testing::Test {
protected:
    void SetUp() override { start({}); }
    void start(std::map<std::string, std::string> extra) {
        extra.emplace("SMARTCAR_MANAGEMENT_TOKEN", "amt");
        app_ = std::make_unique<TestApp>(std::move(extra), nullptr, clock_);
        alice_ = register_member(*app_, "alice@example.com").token;
    }
    // Connects Alice's simulated account; returns (our vehicle id, Smartcar's vehicle id) of its first car.
    std::pair<std::string, std::string> connect_first() {
        auto r = connect_smartcar(*app_, alice_);
        EXPECT_EQ(r.status, 200) << r.body;
        json::value body = r.json();
        const auto& v = body.at("vehicles").at(0);
        return {std::string(v.at("vehicle_id").as_string()), std::string(v.at("smartcar_vehicle_id").as_string())};
    }
    // ...after its first poll landed, so that webhook readings made later are the newest.
    std::pair<std::string, std::string> connect_polled() {
        auto ids = connect_first();
        EXPECT_TRUE(
            eventually([&] { return signals(ids.first).as_object().contains("TractionBattery.StateOfCharge"); }));
        return ids;
    }
    json::value signals(const std::string& vehicle) {
        return call(*app_, "GET", "/api/v1/vehicles/" + vehicle + "/signals", alice_).json().at("signals");
    }
    http::ClientResponse deliver(const std::string& body, std::optional<std::string> signature) {
        http::Headers headers{{"Content-Type", "application/json"}};
        if (signature) {
            headers.emplace_back("SC-Signature", *signature);
        }
        return app_->client().request("POST", "/webhooks/smartcar", body, headers);
    }
    std::int64_t logged() {
        return app_->app().database().with_reader(
            [](db::Connection& c) { return c.query("SELECT COUNT(*) FROM webhook_deliveries").front().int64(0); });
    }
    static std::string vehicle_state(const std::string& event_id,
                                     const std::string& smartcar_vehicle,
                                     double soc,
                                     std::int64_t oem_ms) {
        json::object signal{{"code", "tractionbattery-stateofcharge"},
                            {"name", "StateOfCharge"},
                            {"group", "TractionBattery"},
                            {"body", json::object{{"unit", "percent"}, {"value", soc}}},
                            {"meta", json::object{{"oemUpdatedAt", oem_ms}, {"retrievedAt", oem_ms + 500}}},
                            {"status", json::object{{"value", "SUCCESS"}}}};
        json::object failed{
            {"code", "closure-islocked"},
            {"name", "IsLocked"},
            {"group", "Closure"},
            {"status",
             json::object{{"value", "ERROR"},
                          {"error", json::object{{"type", "COMPATIBILITY"}, {"code", "VEHICLE_NOT_CAPABLE"}}}}}};
        json::object odometer{{"code", "odometer-traveleddistance"},
                              {"name", "TraveledDistance"},
                              {"group", "Odometer"},
                              {"body", json::object{{"unit", "miles"}, {"value", 100}}},
                              {"meta", json::object{{"oemUpdatedAt", oem_ms}}},
                              {"status", json::object{{"value", "SUCCESS"}}}};
        return core::to_json_text(json::object{
            {"eventId", event_id},
            {"eventType", "VEHICLE_STATE"},
            {"data",
             json::object{{"user", json::object{{"id", "u-1"}}},
                          {"vehicle", json::object{{"id", smartcar_vehicle}, {"make", "TESLA"}, {"model", "3"}}},
                          {"signals", json::array{signal, failed, odometer}}}},
            {"triggers", json::array{json::object{{"type", "SIGNAL_UPDATED"}}}},
            {"meta",
             json::object{{"version", "4.0"},
                          {"webhookId", "w-1"},
                          {"deliveryId", event_id + "-d"},
                          {"deliveredAt", oem_ms + 1000},
                          {"signalCount", 3},
                          {"mode", "TEST"}}}});
    }

    // Every module's time: the throttle's window is read exactly and lifted by moving it.
    std::shared_ptr<core::ManualClock> clock_ = std::make_shared<core::ManualClock>(core::now_ms());
    std::unique_ptr<TestApp> app_;
    std::string alice_;
};

TEST_F(SmartcarDataTest, PollingStoresPercentAndRefreshObeysRetryAfter) {
    // Named variables, not a structured binding: lambdas below capture them (clang 14).
    const auto vehicle_and_smartcar_vehicle = connect_first();
    const auto& vehicle = vehicle_and_smartcar_vehicle.first;
    const auto& smartcar_vehicle = vehicle_and_smartcar_vehicle.second;
    // A new connection is polled at once (then every MOTORPOOL_SMARTCAR_POLL_INTERVAL, 30 min here).
    ASSERT_TRUE(eventually([&] { return signals(vehicle).as_object().contains("TractionBattery.StateOfCharge"); }));
    json::value stored = signals(vehicle);
    const auto& soc = stored.at("TractionBattery.StateOfCharge");
    EXPECT_EQ(soc.at("source"), json::value("poll"));
    EXPECT_EQ(soc.at("unit"), json::value("percent"));
    const double percent = soc.at("value").to_number<double>();
    EXPECT_GT(percent, 1.0);  // v2's 0..1 fraction became percent
    EXPECT_LE(percent, 100.0);
    EXPECT_TRUE(stored.as_object().contains("Location.PreciseLocation"));
    EXPECT_TRUE(stored.as_object().contains("Odometer.TraveledDistance"));
    EXPECT_TRUE(stored.as_object().contains("Charge.DetailedChargingStatus"));

    // ?refresh=true polls now.
    auto count_batches = [&] {
        std::size_t n = 0;
        for (const auto& r : app_->app().simulator()->requests()) {
            n += r.path.ends_with("/batch") && r.vehicle_id == smartcar_vehicle ? 1 : 0;
        }
        return n;
    };
    const std::size_t before = count_batches();
    auto fresh = call(*app_, "GET", "/api/v1/vehicles/" + vehicle + "/battery?refresh=true", alice_);
    EXPECT_EQ(fresh.status, 200) << fresh.body;
    EXPECT_EQ(count_batches(), before + 1);

    // Smartcar throttles the vehicle: 429 with its Retry-After, and no call until that time passes.
    app_->app().simulator()->add_faults(json::parse(R"({"faults":[{"kind":"rate_limit","vehicle_id":")" +
                                                    smartcar_vehicle + R"(","retry_after":30}]})"));
    auto limited = call(*app_, "GET", "/api/v1/vehicles/" + vehicle + "/battery?refresh=true", alice_);
    EXPECT_EQ(limited.status, 429) << limited.body;
    EXPECT_EQ(limited.header("Retry-After"), "30");
    EXPECT_EQ(limited.json().at("smartcar_type"), json::value("RATE_LIMIT"));
    EXPECT_EQ(count_batches(), before + 2);
    auto again = call(*app_, "GET", "/api/v1/vehicles/" + vehicle + "/all?refresh=true", alice_);
    EXPECT_EQ(again.status, 429);
    EXPECT_EQ(again.header("Retry-After"), "30");
    EXPECT_EQ(count_batches(), before + 2);  // remembered: Smartcar was not asked again
    clock_->advance_ms(29'500);
    auto later = call(*app_, "GET", "/api/v1/vehicles/" + vehicle + "/battery?refresh=true", alice_);
    EXPECT_EQ(later.status, 429);
    EXPECT_EQ(later.header("Retry-After"), "1");  // what is left of the window, rounded up
    EXPECT_EQ(count_batches(), before + 2);
    // The window passed: the next refresh asks Smartcar again, which has lifted its limit too.
    clock_->advance_ms(500);
    auto lifted = call(*app_, "GET", "/api/v1/vehicles/" + vehicle + "/battery?refresh=true", alice_);
    EXPECT_EQ(lifted.status, 200) << lifted.body;
    EXPECT_EQ(count_batches(), before + 3);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/vehicles/" + vehicle + "/battery", alice_).status, 200);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/vehicles/" + vehicle + "/battery?refresh=maybe", alice_).status, 422);

    // A vehicle no Smartcar connection reaches shows what is stored.
    auto own = call(*app_,
                    "POST",
                    "/api/v1/vehicles",
                    alice_,
                    json::value(json::object{{"vin", test_vin(7)}, {"make", "Ford"}, {"model", "F-150"}}));
    std::string own_id(own.json().at("id").as_string());
    EXPECT_EQ(call(*app_, "GET", "/api/v1/vehicles/" + own_id + "/battery?refresh=true", alice_).status, 404);
}

TEST_F(SmartcarDataTest, MyLatestTelemetryAsksSmartcarWhenStaleAndSays502WhenItFails) {
    // Named variables, not a structured binding: lambdas below capture them (clang 14).
    const auto vehicle_and_smartcar_vehicle = connect_polled();
    const auto& vehicle = vehicle_and_smartcar_vehicle.first;
    const auto& smartcar_vehicle = vehicle_and_smartcar_vehicle.second;
    auto batches = [&] {
        std::size_t n = 0;
        for (const auto& r : app_->app().simulator()->requests()) {
            n += r.path.ends_with("/batch") && r.vehicle_id == smartcar_vehicle ? 1 : 0;
        }
        return n;
    };
    // Just polled: answered from storage.
    const std::size_t before = batches();
    auto fresh = call(*app_, "GET", "/api/v1/me/telemetry/latest", alice_);
    ASSERT_EQ(fresh.status, 200) << fresh.body;
    EXPECT_EQ(fresh.json().at("vehicle_id"), json::value(vehicle));
    EXPECT_EQ(batches(), before);
    // Six minutes on, the stored values are stale: Smartcar is asked first.
    clock_->advance_ms(6 * 60'000);
    auto refreshed = call(*app_, "GET", "/api/v1/me/telemetry/latest", alice_);
    EXPECT_EQ(refreshed.status, 200) << refreshed.body;
    EXPECT_EQ(batches(), before + 1);
    EXPECT_GT(core::parse_rfc3339(std::string(refreshed.json().at("recorded_at").as_string())).value_or(0),
              core::parse_rfc3339(std::string(fresh.json().at("recorded_at").as_string())).value_or(0));
    // Stale again, and Smartcar failing on every attempt: 502, as API.md says.
    clock_->advance_ms(6 * 60'000);
    app_->app().simulator()->add_faults(
        json::parse(R"({"faults":[{"kind":"server","vehicle_id":")" + smartcar_vehicle + R"(","count":5}]})"));
    auto failed = call(*app_, "GET", "/api/v1/me/telemetry/latest", alice_);
    EXPECT_EQ(failed.status, 502) << failed.body;
    // ?refresh=false answers what is stored, never asking Smartcar.
    const std::size_t asked = batches();
    auto stored = call(*app_, "GET", "/api/v1/me/telemetry/latest?refresh=false", alice_);
    EXPECT_EQ(stored.status, 200) << stored.body;
    EXPECT_EQ(stored.json().at("recorded_at"), refreshed.json().at("recorded_at"));
    EXPECT_EQ(batches(), asked);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/me/telemetry/latest?refresh=maybe", alice_).status, 422);
}

TEST_F(SmartcarDataTest, UpstreamFailuresAreRetriedAndV3ReadsSignals) {
    // Named variables, not a structured binding: lambdas below capture them (clang 14).
    const auto vehicle_and_smartcar_vehicle = connect_polled();
    const auto& vehicle = vehicle_and_smartcar_vehicle.first;
    const auto& smartcar_vehicle = vehicle_and_smartcar_vehicle.second;
    auto batches = [&] {
        std::size_t n = 0;
        for (const auto& r : app_->app().simulator()->requests()) {
            n += r.path.ends_with("/batch") && r.vehicle_id == smartcar_vehicle ? 1 : 0;
        }
        return n;
    };
    // One UPSTREAM failure: retried after a jittered pause, and the caller never sees it.
    const std::size_t before = batches();
    app_->app().simulator()->add_faults(json::parse(R"({"faults":[{"kind":"upstream","vehicle_id":")" +
                                                    smartcar_vehicle + R"(","code":"NO_RESPONSE"}]})"));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/vehicles/" + vehicle + "/odometer?refresh=true", alice_).status, 200);
    EXPECT_EQ(batches(), before + 2);
    // Failing on every attempt: a 502 carrying Smartcar's type and code.
    app_->app().simulator()->add_faults(
        json::parse(R"({"faults":[{"kind":"server","vehicle_id":")" + smartcar_vehicle + R"(","count":5}]})"));
    auto failed = call(*app_, "GET", "/api/v1/vehicles/" + vehicle + "/odometer?refresh=true", alice_);
    EXPECT_EQ(failed.status, 502) << failed.body;
    EXPECT_EQ(failed.json().at("smartcar_type"), json::value("SERVER"));
    EXPECT_EQ(failed.json().at("smartcar_code"), json::value("INTERNAL"));
    EXPECT_EQ(batches(), before + 5);  // three attempts
    // The connection says so (what the API and the dashboard show), still active: its tokens are fine...
    auto connection = [&] { return call(*app_, "GET", "/api/v1/connections", alice_).json().at("items").at(0); };
    EXPECT_EQ(connection().at("status"), json::value("active"));
    EXPECT_EQ(connection().at("last_error").at("type"), json::value("SERVER"));
    app_->app().simulator()->clear_faults();
    // ...until the car answers again.
    EXPECT_EQ(call(*app_, "GET", "/api/v1/vehicles/" + vehicle + "/odometer?refresh=true", alice_).status, 200);
    EXPECT_TRUE(connection().at("last_error").is_null()) << connection();

    // SMARTCAR_API_VERSION=3: an application token with sc-user-id and /v3/vehicles/{id}/signals.
    app_.reset();
    start({{"SMARTCAR_API_VERSION", "3"}});
    // Named variables, not a structured binding: lambdas below capture them (clang 14).
    const auto v3_vehicle_and_v3_smartcar_vehicle = connect_polled();
    const auto& v3_vehicle = v3_vehicle_and_v3_smartcar_vehicle.first;
    const auto& v3_smartcar_vehicle = v3_vehicle_and_v3_smartcar_vehicle.second;
    json::value stored = signals(v3_vehicle);
    EXPECT_EQ(stored.at("TractionBattery.StateOfCharge").at("source"), json::value("poll"));
    EXPECT_TRUE(stored.as_object().contains("Charge.ChargeLimits"));
    EXPECT_TRUE(stored.as_object().contains("Closure.IsLocked"));  // only the v3 signals carry it
    bool used_v3 = false;
    for (const auto& r : app_->app().simulator()->requests()) {
        used_v3 = used_v3 || (r.path == "/v3/vehicles/" + v3_smartcar_vehicle + "/signals" && r.status == 200);
    }
    EXPECT_TRUE(used_v3);
}

// Refresh tokens live 60 days; the poller renews those that expire within 7, with nobody asking,
// and only those. Polls are made rare here so that no poll refreshes the tokens instead.
TEST_F(SmartcarDataTest, TheBackgroundRenewsRefreshTokensAWeekBeforeTheyExpire) {
    start({{"MOTORPOOL_SMARTCAR_POLL_INTERVAL", "2400h"}});
    connect_polled();
    auto grants = [&] {
        std::size_t n = 0;
        for (const auto& r : app_->app().simulator()->requests()) {
            n += r.method == "POST" && r.path == "/oauth/token" && r.status == 200 ? 1 : 0;
        }
        return n;
    };
    auto connection = [&] {
        return app_->app().database().with_reader([](db::Connection& c) {
            auto rows = c.query("SELECT token_generation, refresh_expires_at_ms FROM smartcar_connections");
            return std::pair{rows.row(0).int64(0), rows.row(0).int64(1)};
        });
    };
    auto calls_to_vehicles = [&] {
        std::size_t n = 0;
        for (const auto& r : app_->app().simulator()->requests()) {
            n += r.path.starts_with("/v2.0/vehicles/") ? 1 : 0;
        }
        return n;
    };
    // Named variables, not a structured binding: lambdas below capture them (clang 14).
    const auto generation_and_expires = connection();
    const auto& generation = generation_and_expires.first;
    const auto& expires = generation_and_expires.second;
    const std::size_t before = grants();
    const std::size_t vehicle_calls = calls_to_vehicles();
    constexpr std::int64_t kDay = 86'400'000;
    // 53 days on, the token has 7 days and a minute left: not yet (asked directly, as the poller does).
    clock_->set_ms(expires - 7 * kDay - 60'000);
    EXPECT_EQ(app_->app().smartcar().renew_expiring_refresh_tokens(), 0);
    EXPECT_EQ(connection().first, generation);
    // Eleven minutes later (more than ten since the poller last looked) it has less than 7 days: the
    // poller renews it on its own.
    clock_->advance_ms(11 * 60'000);
    ASSERT_TRUE(eventually([&] { return connection().first == generation + 1; }));
    EXPECT_EQ(grants(), before + 1);
    EXPECT_EQ(connection().second, clock_->now_ms() + 60 * kDay);
    EXPECT_EQ(calls_to_vehicles(), vehicle_calls);  // no poll or request did it
}

TEST_F(SmartcarDataTest, VerifyAnswersTheChallengeInBothEnvelopes) {
    auto v4 =
        deliver(R"({"eventId":"e0","eventType":"VERIFY","data":{"challenge":"challenge"},"meta":{"version":"4.0",)"
                R"("webhookId":"w-1","webhookName":"n","deliveryId":"d0","deliveredAt":"2025-07-31T19:38:42.332Z"}})",
                std::nullopt);
    ASSERT_EQ(v4.status, 200) << v4.body;
    EXPECT_EQ(v4.json().at("challenge"), json::value(kChallengeDigest));
    auto v2 = deliver(R"({"version":"2.0","webhookId":"w-1","eventName":"verify","payload":{"challenge":"challenge"}})",
                      std::nullopt);
    ASSERT_EQ(v2.status, 200) << v2.body;
    EXPECT_EQ(v2.json().at("challenge"), json::value(kChallengeDigest));
    EXPECT_EQ(logged(), 0);  // a challenge is answered, not logged

    // Signed but not a delivery, a VERIFY without its challenge, an unsigned non-VERIFY: refused, nothing logged.
    const std::string garbage = "{not json";
    EXPECT_EQ(deliver(garbage, sign(garbage)).status, 400);
    const std::string stranger = R"({"hello":"world"})";
    EXPECT_EQ(deliver(stranger, sign(stranger)).status, 400);
    EXPECT_EQ(deliver(R"({"eventId":"e1","eventType":"VERIFY","data":{}})", std::nullopt).status, 400);
    EXPECT_EQ(deliver(R"({"eventId":"e2","eventType":"VEHICLE_STATE","data":{}})", std::nullopt).status, 401);
    EXPECT_EQ(logged(), 0);
}

TEST_F(SmartcarDataTest, DeliveriesAreVerifiedLoggedDeduplicatedAndIngested) {
    // Named variables, not a structured binding: lambdas below capture them (clang 14).
    const auto vehicle_and_smartcar_vehicle = connect_polled();
    const auto& vehicle = vehicle_and_smartcar_vehicle.first;
    const auto& smartcar_vehicle = vehicle_and_smartcar_vehicle.second;
    clock_->advance_ms(1'000);  // after the poll's readings
    const std::int64_t t1 = clock_->now_ms();
    const std::string body = vehicle_state("ev-1", smartcar_vehicle, 64.5, t1);

    EXPECT_EQ(deliver(body, std::nullopt).status, 401);
    std::string tampered = body;
    tampered.replace(tampered.find("64.5"), 4, "99.5");
    EXPECT_EQ(deliver(tampered, sign(body)).status, 401);
    EXPECT_EQ(deliver(body, sign(body, "not-the-amt")).status, 401);
    EXPECT_EQ(logged(), 0);
    EXPECT_NE(call(*app_, "GET", "/metrics", "")
                  .body.find(R"(motorpool_webhook_deliveries_total{outcome="bad_signature"} 3)"),
              std::string::npos);

    auto ok = deliver(body, sign(body));
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(ok.json().at("status"), json::value("accepted"));
    EXPECT_EQ(deliver(body, core::to_upper_ascii(sign(body))).json().at("status"), json::value("duplicate"));
    ASSERT_TRUE(eventually([&] {
        json::value s = signals(vehicle);
        const auto* soc = s.as_object().if_contains("TractionBattery.StateOfCharge");
        return soc != nullptr && soc->at("source") == json::value("webhook");
    }));
    json::value stored = signals(vehicle);
    EXPECT_EQ(stored.at("TractionBattery.StateOfCharge").at("value").to_number<double>(), 64.5);
    EXPECT_EQ(stored.at("TractionBattery.StateOfCharge").at("recorded_at"), json::value(core::format_rfc3339(t1)));
    EXPECT_NEAR(stored.at("Odometer.TraveledDistance").at("value").to_number<double>(), 160.934, 0.01);  // miles

    // Out of order: an older reading arriving later goes to history, not over the newer value.
    const std::string older = vehicle_state("ev-0", smartcar_vehicle, 50.0, t1 - 30'000);
    EXPECT_EQ(deliver(older, sign(older)).status, 200);
    app_->app().smartcar().webhooks().drain();
    EXPECT_EQ(signals(vehicle).at("TractionBattery.StateOfCharge").at("value").to_number<double>(), 64.5);
    auto history = call(*app_,
                        "GET",
                        "/api/v1/vehicles/" + vehicle +
                            "/signals/TractionBattery.StateOfCharge/history?from=" + std::to_string(t1 - 60'000),
                        alice_);
    EXPECT_EQ(history.json().at("points").as_array().size(), 2U);

    // VEHICLE_ERROR: recorded on the connection and published to the vehicle's watchers, once the
    // pass that processed the delivery committed (its outcome is stored when watchers hear of it).
    std::vector<std::string> events;
    std::mutex events_mutex;
    std::int64_t outcomes_when_published = -1;
    auto subscription = app_->app().events().subscribe("vehicle." + vehicle, [&](const core::Event& e) {
        std::lock_guard lock(events_mutex);
        events.push_back(e.type);
        if (e.type == "VEHICLE_ERROR") {
            outcomes_when_published = app_->app().database().with_reader([](db::Connection& c) {
                return c
                    .query(
                        "SELECT COUNT(*) FROM webhook_outcomes o JOIN webhook_deliveries d ON d.id = o.delivery_id "
                        "WHERE d.event_id = 'ev-err'")
                    .front()
                    .int64(0);
            });
        }
    });
    const std::string error = R"({"eventId":"ev-err","eventType":"VEHICLE_ERROR","data":{"user":{"id":"u-1"},)"
                              R"("vehicle":{"id":")" +
                              smartcar_vehicle +
                              R"("},"errors":[{"type":"VEHICLE_STATE","code":"ASLEEP","state":"ERROR",)"
                              R"("description":"The vehicle is asleep."}]},"meta":{"version":"4.0","deliveredAt":1}})";
    EXPECT_EQ(deliver(error, sign(error)).status, 200);
    app_->app().smartcar().webhooks().drain();
    json::value connection = call(*app_, "GET", "/api/v1/connections", alice_).json().at("items").at(0);
    EXPECT_EQ(connection.at("last_error").at("type"), json::value("VEHICLE_ERROR"));
    EXPECT_EQ(connection.at("last_error").at("errors").at(0).at("code"), json::value("ASLEEP"));
    {
        std::lock_guard lock(events_mutex);
        EXPECT_EQ(std::count(events.begin(), events.end(), "VEHICLE_ERROR"), 1);
        EXPECT_EQ(outcomes_when_published, 1);
    }

    // The legacy v2 envelope: batch-style results per vehicle, fractions again.
    const std::string legacy =
        R"({"version":"2.0","webhookId":"w-1","eventName":"scheduled","mode":"test","payload":{"vehicles":[)"
        R"({"vehicleId":")" +
        smartcar_vehicle +
        R"(","requestId":"r-1","data":[{"path":"/battery","code":200,"body":{"range":283.24,"percentRemaining":0.58},)"
        R"("headers":{"sc-data-age":")" +
        core::format_rfc3339(t1 + 60'000) + R"("}}]}]}})";
    EXPECT_EQ(deliver(legacy, sign(legacy)).status, 200);
    app_->app().smartcar().webhooks().drain();
    EXPECT_EQ(signals(vehicle).at("TractionBattery.StateOfCharge").at("value").to_number<double>(), 58.0);

    // The admin log: every delivery with its outcome; members may not read it.
    auto admin = create_user_and_login(*app_, "root@example.com", auth::Role::Admin).token;
    auto log = call(*app_, "GET", "/api/v1/webhook-events?page_size=10", admin);
    ASSERT_EQ(log.status, 200) << log.body;
    json::value page = log.json();
    EXPECT_EQ(page.at("total"), json::value(4));
    bool found_duplicate = false;
    for (const auto& item : page.at("items").as_array()) {
        EXPECT_EQ(item.at("status"), json::value("processed")) << item.at("outcome");
        if (item.at("event_id") == json::value("ev-1")) {
            found_duplicate = item.at("redeliveries") == json::value(1);
        }
    }
    EXPECT_TRUE(found_duplicate);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/webhook-events", alice_).status, 403);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/webhook-events?status=lost", admin).status, 422);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/webhook-events?page_size=0", admin).status, 422);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/webhook-events?cursor=bogus", admin).status, 422);
    // The documented list shape, and keyset pages that together hold every delivery once.
    json::value first_page = call(*app_, "GET", "/api/v1/webhook-events?page=2&page_size=3", admin).json();
    EXPECT_EQ(first_page.at("page"), json::value(2));
    EXPECT_EQ(first_page.at("page_size"), json::value(3));
    EXPECT_EQ(first_page.at("total_pages"), json::value(2));
    EXPECT_EQ(first_page.at("items").as_array().size(), 1U);
    std::vector<std::int64_t> walked;
    std::string cursor;
    for (int pages = 0; pages < 5; ++pages) {
        json::value p = call(*app_, "GET", "/api/v1/webhook-events?page_size=3&cursor=" + cursor, admin).json();
        for (const auto& item : p.at("items").as_array()) {
            walked.push_back(item.at("id").as_int64());
        }
        if (p.at("next_cursor").is_null()) {
            break;
        }
        cursor = std::string(p.at("next_cursor").as_string());
    }
    ASSERT_EQ(walked.size(), 4U);
    EXPECT_TRUE(std::is_sorted(walked.rbegin(), walked.rend()));  // newest first
    EXPECT_EQ(std::set<std::int64_t>(walked.begin(), walked.end()).size(), 4U);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/webhook-events?status=processed", admin).json().at("total"), json::value(4));
    EXPECT_EQ(call(*app_, "DELETE", "/api/v1/webhook-events", admin).status, 204);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/webhook-events", admin).json().at("total"), json::value(0));
}

// A signed delivery that names no vehicle cannot be acted on: 400 naming the field, nothing logged.
TEST_F(SmartcarDataTest, ADeliveryWithoutItsVehicleIsRefused) {
    for (const std::string& body :
         {std::string(R"({"eventId":"x1","eventType":"VEHICLE_STATE","data":{}})"),
          std::string(R"({"eventId":"x2","eventType":"VEHICLE_ERROR","data":{"vehicle":{}}})"),
          std::string(R"({"eventId":"x3","eventType":"VEHICLE_STATE"})")}) {
        auto r = deliver(body, sign(body));
        EXPECT_EQ(r.status, 400) << body;
        EXPECT_NE(r.json().at("detail").as_string().find("data.vehicle.id"), std::string_view::npos) << r.body;
    }
    EXPECT_EQ(logged(), 0);
    // Not JSON by its Content-Type: 415, even when signed.
    const std::string body = R"({"eventId":"x4","eventType":"VEHICLE_STATE","data":{"vehicle":{"id":"v"}}})";
    auto typed = app_->client().request(
        "POST", "/webhooks/smartcar", body, {{"Content-Type", "text/plain"}, {"SC-Signature", sign(body)}});
    EXPECT_EQ(typed.status, 415);
    EXPECT_EQ(logged(), 0);
    EXPECT_EQ(deliver(body, sign(body)).status, 200);  // the same body, properly sent
    EXPECT_EQ(logged(), 1);
}

// One bad reading must never corrupt a vehicle's data: samples from the future or before 2000, and
// values outside the catalog's range, are dropped and named in the delivery's outcome, never stored.
TEST_F(SmartcarDataTest, SamplesOutsideTheBoundsAreDroppedAndCounted) {
    // Named variables, not a structured binding: lambdas below capture them (clang 14).
    const auto vehicle_and_smartcar_vehicle = connect_polled();
    const auto& vehicle = vehicle_and_smartcar_vehicle.first;
    const auto& smartcar_vehicle = vehicle_and_smartcar_vehicle.second;
    auto v4 =
        [&](const std::string& event_id, const std::string& code, const std::string& body, const std::string& at) {
            return R"({"eventId":")" + event_id + R"(","eventType":"VEHICLE_STATE","data":{"vehicle":{"id":")" +
                   smartcar_vehicle + R"("},"signals":[{"code":")" + code + R"(","body":)" + body +
                   R"(,"meta":{"oemUpdatedAt":)" + at + "}}]}}";
        };
    const std::string now_text = "\"" + core::format_rfc3339(clock_->now_ms()) + "\"";
    const std::vector<std::pair<std::string, std::string>> hostile = {
        {"future", v4("b-1", "tractionbattery-stateofcharge", R"({"value":51})", R"("9999-12-31T23:59:59Z")")},
        {"1970", v4("b-2", "tractionbattery-stateofcharge", R"({"value":52})", R"("1970-01-02T00:00:00Z")")},
        {"huge", v4("b-3", "tractionbattery-stateofcharge", R"({"value":1e308})", now_text)},
        {"negative", v4("b-4", "tractionbattery-stateofcharge", R"({"value":-1e308})", now_text)},
        {"latitude", v4("b-5", "location-preciselocation", R"({"latitude":1e308,"longitude":13.4})", now_text)},
        {"legacy odometer",
         R"({"version":"2.0","webhookId":"w-1","eventName":"scheduled","mode":"test","payload":{"vehicles":[)"
         R"({"vehicleId":")" +
             smartcar_vehicle +
             R"(","data":[{"path":"/odometer","code":200,"body":{"distance":-1e308},"headers":{}}]}]}})"},
    };
    const json::value before = signals(vehicle);
    for (const auto& [what, body] : hostile) {
        auto r = deliver(body, sign(body));
        ASSERT_EQ(r.status, 200) << what << " " << r.body;
    }
    app_->app().smartcar().webhooks().drain();
    // Nothing changed: the latest values are the poll's, and history holds none of those readings.
    const json::value after = signals(vehicle);
    for (const char* code :
         {"TractionBattery.StateOfCharge", "Odometer.TraveledDistance", "Location.PreciseLocation"}) {
        EXPECT_EQ(after.as_object().if_contains(code) ? after.at(code) : json::value(),
                  before.as_object().if_contains(code) ? before.at(code) : json::value())
            << code;
    }
    const std::int64_t stored = app_->app().database().with_reader([&](db::Connection& c) {
        return c
            .query(
                "SELECT COUNT(*) FROM signal_history WHERE t_ms < 946684800000 OR t_ms > $1 OR "
                "value_num > 10000000 OR value_num < -1000",
                {clock_->now_ms() + 3'600'000})
            .front()
            .int64(0);
    });
    EXPECT_EQ(stored, 0);
    auto admin = create_user_and_login(*app_, "root@example.com", auth::Role::Admin).token;
    json::value log = call(*app_, "GET", "/api/v1/webhook-events?page_size=20", admin).json();
    ASSERT_EQ(log.at("items").as_array().size(), hostile.size());
    for (const auto& item : log.at("items").as_array()) {
        const std::string outcome(item.at("outcome").as_string());
        EXPECT_NE(outcome.find("dropped 1 value ("), std::string::npos) << outcome;
        EXPECT_NE(outcome.find("ingested 0 values"), std::string::npos) << outcome;
        if (item.at("event_id") == json::value("b-1")) {
            EXPECT_EQ(outcome,
                      "ingested 0 values, dropped 1 value (TractionBattery.StateOfCharge: time is more than 5 minutes "
                      "in the future)");
        }
    }

    // A real reading after them becomes the latest value, as it would have without them.
    clock_->advance_ms(1'000);
    const std::int64_t t = clock_->now_ms();
    const std::string real = vehicle_state("b-7", smartcar_vehicle, 74, t);
    EXPECT_EQ(deliver(real, sign(real)).status, 200);
    app_->app().smartcar().webhooks().drain();
    const json::value latest = signals(vehicle).at("TractionBattery.StateOfCharge");
    EXPECT_EQ(latest.at("value").to_number<double>(), 74);
    EXPECT_EQ(latest.at("recorded_at"), json::value(core::format_rfc3339(t)));
}

TEST_F(SmartcarDataTest, AcknowledgedDeliveriesSurviveAStopBeforeProcessing) {
    app_.reset();
    start({{"MOTORPOOL_WEBHOOK_PROCESSING", "false"}});
    // Named variables, not a structured binding: lambdas below capture them (clang 14).
    const auto vehicle_and_smartcar_vehicle = connect_polled();
    const auto& vehicle = vehicle_and_smartcar_vehicle.first;
    const auto& smartcar_vehicle = vehicle_and_smartcar_vehicle.second;
    const std::string body = vehicle_state("ev-late", smartcar_vehicle, 71.0, clock_->now_ms() + 1'000);
    ASSERT_EQ(deliver(body, sign(body)).status, 200);
    EXPECT_EQ(logged(), 1);
    auto admin = create_user_and_login(*app_, "root@example.com", auth::Role::Admin).token;
    json::value waiting = call(*app_, "GET", "/api/v1/webhook-events?status=pending", admin).json();
    EXPECT_EQ(waiting.at("total"), json::value(1));
    EXPECT_EQ(waiting.at("items").at(0).at("status"), json::value("pending"));
    EXPECT_EQ(waiting.at("items").at(0).at("outcome"), json::value(nullptr));
    EXPECT_EQ(waiting.at("items").at(0).at("processed_at"), json::value(nullptr));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/webhook-events?status=processed", admin).json().at("total"), json::value(0));
    // Clearing the log keeps what is still to be processed.
    EXPECT_EQ(call(*app_, "DELETE", "/api/v1/webhook-events", admin).status, 204);
    EXPECT_EQ(logged(), 1);
    // Stopped after the 200 and before any processing.
    const std::string url = app_->database().url();
    app_->app().shutdown();
    TestApp next({{"DATABASE_URL", url}, {"SMARTCAR_MANAGEMENT_TOKEN", "amt"}});
    auto token = call(next,
                      "POST",
                      "/api/v1/auth/login",
                      "",
                      json::value(json::object{{"email", "alice@example.com"}, {"password", "correct horse battery"}}))
                     .json()
                     .at("access_token");
    const std::string bearer(token.as_string());
    ASSERT_TRUE(eventually([&] {
        json::value s = call(next, "GET", "/api/v1/vehicles/" + vehicle + "/signals", bearer).json().at("signals");
        const auto* soc = s.as_object().if_contains("TractionBattery.StateOfCharge");
        return soc != nullptr && soc->at("source") == json::value("webhook") &&
               soc->at("value").to_number<double>() == 71.0;
    }));
}

// The README's promise: processed deliveries are kept eight days, then pruned by the processor
// (its first pass after a start, then hourly); newer ones stay.
TEST_F(SmartcarDataTest, ProcessedDeliveriesOlderThanEightDaysArePruned) {
    const std::int64_t now = clock_->now_ms();
    auto add_processed = [&](const std::string& event_id, std::int64_t received_at_ms) {
        app_->app().database().with_transaction([&](db::Connection& c) {
            auto id = c.query(
                           "INSERT INTO webhook_deliveries (provider, event_id, event_type, received_at_ms, body) "
                           "VALUES ('smartcar', $1, 'VEHICLE_STATE', $2, '{}') RETURNING id",
                           {event_id, received_at_ms})
                          .front()
                          .int64(0);
            c.execute(
                "INSERT INTO webhook_outcomes (delivery_id, status, outcome, processed_at_ms) VALUES ($1, "
                "'processed', 'ingested 0 values', $2)",
                {id, received_at_ms + 1000});
        });
    };
    add_processed("old-1", now - 9 * 86'400'000LL);
    add_processed("recent-1", now - 7 * 86'400'000LL);
    // A restart: the new processor's first pass prunes.
    const std::string url = app_->database().url();
    app_->app().shutdown();
    TestApp next({{"DATABASE_URL", url}, {"SMARTCAR_MANAGEMENT_TOKEN", "amt"}});
    auto exists = [&](const std::string& event_id) {
        return next.app().database().with_reader([&](db::Connection& c) {
            return c.query("SELECT COUNT(*) FROM webhook_deliveries WHERE event_id = $1", {event_id}).front().int64(0);
        });
    };
    EXPECT_TRUE(eventually([&] { return exists("old-1") == 0; }, 15));
    EXPECT_EQ(exists("recent-1"), 1);
    const std::int64_t outcomes = next.app().database().with_reader([](db::Connection& c) {
        return c
            .query(
                "SELECT COUNT(*) FROM webhook_outcomes o LEFT JOIN webhook_deliveries d ON d.id = o.delivery_id "
                "WHERE d.id IS NULL")
            .front()
            .int64(0);
    });
    EXPECT_EQ(outcomes, 0);  // the outcomes went with their deliveries
}

TEST(SmartcarWebhookConfigTest, WithoutAManagementTokenDeliveriesAreRefused) {
    TestApp app(std::map<std::string, std::string>{{"SMARTCAR_MODE", "live"}, {"SMARTCAR_MANAGEMENT_TOKEN", ""}});
    auto r = app.client().request("POST",
                                  "/webhooks/smartcar",
                                  R"({"eventId":"e","eventType":"VERIFY","data":{"challenge":"challenge"}})",
                                  {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(r.header("Retry-After"), "60");
}

// The simulator's emitter against this server: VERIFY answered, then signed deliveries every
// interval for the vehicles the connection subscribed, ingested with source webhook.
TEST(SmartcarEmitterTest, SimulatorDeliversSignedVehicleStateToTheServer) {
    TestApp app(std::map<std::string, std::string>{{"SMARTCAR_SIM_WEBHOOK_INTERVAL", "300ms"},
                                                   {"SMARTCAR_SIM_WEBHOOK_URL", ""}});
    const std::string token = register_member(app, "dora@example.com").token;
    auto connected = connect_smartcar(app, token);
    ASSERT_EQ(connected.status, 200) << connected.body;
    const std::string vehicle(connected.json().at("vehicles").at(0).at("vehicle_id").as_string());
    ASSERT_TRUE(eventually([&] {
        json::value s = call(app, "GET", "/api/v1/vehicles/" + vehicle + "/signals", token).json().at("signals");
        const auto* soc = s.as_object().if_contains("TractionBattery.StateOfCharge");
        return soc != nullptr && soc->at("source") == json::value("webhook");
    }));
    auto deliveries = app.app().simulator()->deliveries();
    ASSERT_GE(deliveries.size(), 2U);
    EXPECT_EQ(deliveries[0].event_type, "VERIFY");
    EXPECT_TRUE(deliveries[0].ok);
    bool delivered = false;
    for (const auto& d : deliveries) {
        delivered = delivered || (d.event_type == "VEHICLE_STATE" && d.ok && d.status == 200);
    }
    EXPECT_TRUE(delivered);
}

// Failed deliveries are retried on Smartcar's schedule (25, 50, 100 s; compressed to 100, 200,
// 400 ms here) with the same eventId, and dropped after the fourth attempt.
TEST(SmartcarEmitterTest, FailedDeliveriesAreRetriedOnSmartcarsScheduleThenDropped) {
    auto failures_left = std::make_shared<std::atomic<int>>(2);
    TestApp app(std::map<std::string, std::string>{{"SMARTCAR_SIM_WEBHOOK_INTERVAL", "1h"},
                                                   {"SMARTCAR_SIM_WEBHOOK_URL", ""},
                                                   {"SMARTCAR_SIM_WEBHOOK_RETRY", "100ms"}},
                [failures_left](app::App& a) {
                    // Fails the first two VEHICLE_STATE deliveries (VERIFY passes through).
                    a.router().add(http::Method::Post, "/test/flaky", [failures_left](http::Request req) {
                        const bool state = req.body.find("VEHICLE_STATE") != std::string::npos;
                        return [](int fail) -> boost::asio::awaitable<http::Response> {
                            co_return http::Response::json(json::object{}, fail > 0 ? 503 : 200);
                        }(state ? (*failures_left)-- : 0);
                    });
                    a.router().add(
                        http::Method::Post, "/test/down", [](http::Request) -> boost::asio::awaitable<http::Response> {
                            co_return http::Response::json(json::object{}, 500);
                        });
                });
    const std::string token = register_member(app, "erin@example.com").token;
    ASSERT_EQ(connect_smartcar(app, token, "?single_select=true").status, 200);
    auto* sim = app.app().simulator();
    const std::string origin = "http://127.0.0.1:" + std::to_string(app.port());
    auto attempts_of = [&](const std::string& type) {
        std::vector<DeliveryRecordView> out;
        for (const auto& d : sim->deliveries()) {
            if (d.event_type == type) {
                out.push_back({d.at_ms, d.event_id, d.attempt, d.status});
            }
        }
        return out;
    };
    sim->stop_emitter();
    sim->start_emitter(origin + "/test/flaky");
    sim->emit_now();
    ASSERT_TRUE(eventually([&] { return attempts_of("VEHICLE_STATE").size() >= 3; }));
    auto flaky = attempts_of("VEHICLE_STATE");
    ASSERT_EQ(flaky.size(), 3U);
    EXPECT_EQ(flaky[0].status, 503);
    EXPECT_EQ(flaky[1].status, 503);
    EXPECT_EQ(flaky[2].status, 200);
    EXPECT_EQ(flaky[1].event_id, flaky[0].event_id);
    EXPECT_EQ(flaky[2].event_id, flaky[0].event_id);
    EXPECT_EQ(flaky[2].attempt, 3);
    EXPECT_GE(flaky[1].at_ms - flaky[0].at_ms, 100);
    EXPECT_GE(flaky[2].at_ms - flaky[1].at_ms, 200);

    sim->stop_emitter();
    sim->start_emitter(origin + "/test/down");
    sim->emit_now();
    ASSERT_TRUE(eventually([&] { return attempts_of("VEHICLE_STATE").size() >= 7; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(1'200));  // a fifth attempt would be due by now
    auto down = attempts_of("VEHICLE_STATE");
    ASSERT_EQ(down.size(), 7U);
    EXPECT_EQ(down[6].attempt, 4);
    EXPECT_EQ(down[6].status, 500);
}

}  // namespace
}  // namespace motorpool::testing
