// Vehicle data end to end: the catalog, dongle uploads (idempotent re-upload, out-of-order
// batches, every rejection storing nothing), latest values, history with buckets and aggregates
// checked against hand-computed values, the convenience views, owner isolation, and the event
// published after commit. Runs on every backend.

#include "telemetry/telemetry.hpp"

#include <atomic>
#include <mutex>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/auth.hpp"
#include "core/time.hpp"
#include "harness.hpp"
#include "smartcar/smartcar.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

// 2026-01-01T10:00:00Z: hour-aligned, so bucket boundaries are easy to reason about.
constexpr std::int64_t kBase = 1'767'261'600'000;

class TelemetryTest : public ::testing::Test {
protected:
    void SetUp() override {
        app_ = std::make_unique<TestApp>();
        alice_ = register_member(*app_, "alice@example.com").token;
        bob_ = register_member(*app_, "bob@example.com").token;
        support_ = create_user_and_login(*app_, "support@example.com", auth::Role::Support).token;
        auto v = call("POST",
                      "/api/v1/vehicles",
                      alice_,
                      json::value(json::object{{"vin", test_vin(1)}, {"make", "Tesla"}, {"model", "Model 3"}}));
        EXPECT_EQ(v.status, 201) << v.body;
        vehicle_ = std::string(v.json().at("id").as_string());
        base_ = "/api/v1/vehicles/" + vehicle_;
    }

    http::ClientResponse call(const std::string& method,
                              const std::string& path,
                              const std::string& token,
                              const std::optional<json::value>& body = std::nullopt) {
        return testing::call(*app_, method, path, token, body);
    }

    http::ClientResponse upload(const json::array& samples, const std::string& token = {}) {
        return call("POST",
                    base_ + "/telemetry",
                    token.empty() ? alice_ : token,
                    json::value(json::object{{"samples", samples}}));
    }

    std::int64_t history_count(const std::string& code = "Motion.Speed") {
        auto r = call("GET", base_ + "/signals/" + code + "/history?from=2000-01-01T00:00:00Z&limit=10000", alice_);
        EXPECT_EQ(r.status, 200) << r.body;
        return static_cast<std::int64_t>(r.json().at("points").as_array().size());
    }

    json::value latest(const std::string& code) {
        auto r = call("GET", base_ + "/signals", alice_);
        EXPECT_EQ(r.status, 200) << r.body;
        json::value body = r.json();
        const auto& signals = body.at("signals").as_object();
        return signals.contains(code) ? signals.at(code) : json::value(nullptr);
    }

    std::unique_ptr<TestApp> app_;
    std::string alice_, bob_, support_, vehicle_, base_;
};

TEST_F(TelemetryTest, CatalogListsTheSignalsWithUnits) {
    auto r = call("GET", "/api/v1/signals", alice_);
    ASSERT_EQ(r.status, 200);
    std::map<std::string, json::object> by_code;
    json::value body = r.json();
    for (const auto& item : body.at("items").as_array()) {
        by_code[std::string(item.at("code").as_string())] = item.as_object();
    }
    EXPECT_EQ(by_code.at("TractionBattery.StateOfCharge").at("unit"), json::value("percent"));
    EXPECT_EQ(by_code.at("TractionBattery.NominalCapacity").at("unit"), json::value("kWh"));
    EXPECT_EQ(by_code.at("TractionBattery.Range").at("unit"), json::value("km"));
    EXPECT_EQ(by_code.at("Location.PreciseLocation").at("type"), json::value("location"));
    EXPECT_EQ(by_code.at("Odometer.TraveledDistance").at("unit"), json::value("km"));
    EXPECT_EQ(by_code.at("Charge.ChargeLimits").at("unit"), json::value("percent"));
    EXPECT_EQ(by_code.at("Charge.IsCharging").at("type"), json::value("boolean"));
    EXPECT_EQ(by_code.at("Charge.IsChargingCableConnected").at("type"), json::value("boolean"));
    EXPECT_EQ(by_code.at("Charge.DetailedChargingStatus").at("type"), json::value("text"));
    EXPECT_EQ(by_code.at("Motion.Speed").at("unit"), json::value("km/h"));
    EXPECT_EQ(by_code.at("Fuel.Rate").at("unit"), json::value("l/h"));
    EXPECT_EQ(by_code.at("Engine.RPM").at("group"), json::value("Engine"));
}

TEST_F(TelemetryTest, UploadIsIdempotentAndLatestNeverMovesBack) {
    json::array batch{json::object{{"t_ms", kBase}, {"speed_kmh", 50}, {"odometer_km", 1000.5}, {"rpm", 2000}},
                      json::object{{"t_ms", kBase + 1000}, {"speed_kmh", 55}, {"odometer_km", 1000.6}}};
    auto first = upload(batch);
    ASSERT_EQ(first.status, 202) << first.body;
    EXPECT_EQ(first.json().at("accepted"), json::value(5));
    EXPECT_EQ(first.json().at("duplicates"), json::value(0));
    auto again = upload(batch);
    ASSERT_EQ(again.status, 202);
    auto metrics = app_->client().get("/metrics").body;
    EXPECT_NE(metrics.find("motorpool_telemetry_rows_total{result=\"stored\"} 5"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("motorpool_telemetry_rows_total{result=\"duplicate\"} 5"), std::string::npos);
    EXPECT_EQ(again.json().at("accepted"), json::value(0));
    EXPECT_EQ(again.json().at("duplicates"), json::value(5));
    EXPECT_EQ(history_count(), 2);

    auto speed = latest("Motion.Speed");
    EXPECT_EQ(speed.at("value").as_double(), 55.0);
    EXPECT_EQ(speed.at("unit"), json::value("km/h"));
    EXPECT_EQ(speed.at("recorded_at"), json::value(core::format_rfc3339(kBase + 1000)));
    EXPECT_EQ(speed.at("source"), json::value("dongle"));

    // A late batch, older than what is stored: history grows, latest stays.
    auto late = upload(json::array{json::object{{"t_ms", kBase - 60'000}, {"speed_kmh", 10}}});
    EXPECT_EQ(late.json().at("accepted"), json::value(1));
    EXPECT_EQ(history_count(), 3);
    EXPECT_EQ(latest("Motion.Speed").at("value").as_double(), 55.0);
    // A newer one moves it; a mixed batch counts its duplicates.
    auto mixed = upload(json::array{json::object{{"t_ms", kBase + 1000}, {"speed_kmh", 55}},
                                    json::object{{"t_ms", kBase + 2000}, {"speed_kmh", 60}}});
    EXPECT_EQ(mixed.json().at("accepted"), json::value(1));
    EXPECT_EQ(mixed.json().at("duplicates"), json::value(1));
    EXPECT_EQ(latest("Motion.Speed").at("value").as_double(), 60.0);
    // Raw history in time order.
    auto h = call("GET",
                  base_ + "/signals/Motion.Speed/history?from=" + std::to_string(kBase - 120'000) +
                      "&to=" + std::to_string(kBase + 10'000),
                  alice_);
    ASSERT_EQ(h.status, 200) << h.body;
    auto points = h.json().at("points").as_array();
    ASSERT_EQ(points.size(), 4U);
    EXPECT_EQ(points[0].at("value").as_double(), 10.0);
    EXPECT_EQ(points[3].at("time"), json::value(core::format_rfc3339(kBase + 2000)));
    EXPECT_TRUE(h.json().at("bucket").is_null());
}

TEST_F(TelemetryTest, EveryRejectionStoresNothing) {
    const std::int64_t now = core::now_ms();
    struct Case {
        const char* what;
        json::array samples;
        const char* field;
    };
    std::vector<Case> cases = {
        {"no t_ms", {json::object{{"t_ms", now}, {"speed_kmh", 1}}, json::object{{"speed_kmh", 2}}}, "samples[1].t_ms"},
        {"non-numeric", {json::object{{"t_ms", now}, {"speed_kmh", "fast"}}}, "samples[0].speed_kmh"},
        {"future", {json::object{{"t_ms", now + 6 * 60 * 1000}, {"speed_kmh", 1}}}, "samples[0].t_ms"},
        {"before 2000", {json::object{{"t_ms", 946'684'799'999}, {"speed_kmh", 1}}}, "samples[0].t_ms"},
        {"unknown field",
         {json::object{{"t_ms", now}, {"speed_kmh", 1}, {"warp_factor", 9}}},
         "samples[0].warp_factor"},
        {"half a location", {json::object{{"t_ms", now}, {"latitude", 52.5}}}, "samples[0].longitude"},
        {"no value", {json::object{{"t_ms", now}}}, "samples[0].t_ms"},
        {"out of range", {json::object{{"t_ms", now}, {"soc_pct", 101}}}, "samples[0].soc_pct"},
        {"far out of range", {json::object{{"t_ms", now}, {"soc_pct", 1e308}}}, "samples[0].soc_pct"},
        {"negative odometer", {json::object{{"t_ms", now}, {"odometer_km", -1e308}}}, "samples[0].odometer_km"},
        {"year 9999", {json::object{{"t_ms", 253'402'300'799'000}, {"soc_pct", 51}}}, "samples[0].t_ms"},
        {"not an object", {json::value(5)}, "samples[0]"},
    };
    for (const auto& c : cases) {
        auto r = upload(c.samples);
        ASSERT_EQ(r.status, 422) << c.what << " " << r.body;
        bool named = false;
        json::value body = r.json();
        for (const auto& e : body.at("errors").as_array()) {
            named = named || e.at("field") == json::value(c.field);
        }
        EXPECT_TRUE(named) << c.what << " " << r.body;
    }
    EXPECT_EQ(call("POST", base_ + "/telemetry", alice_, json::value(json::object{{"samples", json::array{}}})).status,
              422);
    EXPECT_EQ(call("POST",
                   base_ + "/telemetry",
                   alice_,
                   json::value(json::object{{"samples", json::array{json::object{{"t_ms", now}, {"speed_kmh", 1}}}},
                                            {"colour", "red"}}))
                  .status,
              422);
    json::array many;
    for (int i = 0; i < 10'001; ++i) {
        many.push_back(json::object{{"t_ms", now - i}, {"speed_kmh", 1}});
    }
    EXPECT_EQ(upload(many).status, 413);
    {
        // Over 4 MiB: refused from the Content-Length alone, before the body is read.
        RawConnection raw(app_->port());
        raw.send("POST " + base_ + "/telemetry HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice_ +
                 "\r\nContent-Type: application/json\r\nContent-Length: 4194305\r\n\r\n{\"samples\":[");
        auto response = raw.read_response();
        ASSERT_TRUE(response);
        EXPECT_EQ(response->result_int(), 413U);
    }
    EXPECT_EQ(app_->client()
                  .request("POST",
                           base_ + "/telemetry",
                           "{\"samples\":[",
                           {{"Authorization", "Bearer " + alice_}, {"Content-Type", "application/json"}})
                  .status,
              400);
    EXPECT_EQ(
        app_->client().request("POST", base_ + "/telemetry", "samples", {{"Authorization", "Bearer " + alice_}}).status,
        415);
    // One Content-Type rule for every JSON route: application/json (parameters allowed) or a +json
    // suffix; a type merely containing "json" is not JSON.
    const std::string valid_batch =
        json::serialize(json::object{{"samples", json::array{json::object{{"t_ms", now}, {"speed_kmh", 1}}}}});
    for (const char* type :
         {"application/jsonx", "text/json", "application/json-seq", "application/jsonfoo; x=1", "application/+json"}) {
        auto r = app_->client().request(
            "POST", base_ + "/telemetry", valid_batch, {{"Authorization", "Bearer " + alice_}, {"Content-Type", type}});
        EXPECT_EQ(r.status, 415) << type;
    }
    // Every bad sample is named in one answer, not only the first.
    auto three = upload({json::object{{"t_ms", now}, {"speed_kmh", 1}},
                         json::object{{"speed_kmh", 2}},
                         json::object{{"t_ms", now}, {"soc_pct", 101}},
                         json::object{{"t_ms", now}, {"speed_kmh", 3}, {"warp", 9}}});
    ASSERT_EQ(three.status, 422);
    std::vector<std::string> fields;
    const json::value three_body = three.json();
    for (const auto& e : three_body.at("errors").as_array()) {
        fields.emplace_back(e.at("field").as_string());
    }
    EXPECT_EQ(fields, (std::vector<std::string>{"samples[1].t_ms", "samples[2].soc_pct", "samples[3].warp"}));
    // The range is named in the problem.
    auto range = upload({json::object{{"t_ms", now}, {"soc_pct", 1000}}});
    ASSERT_EQ(range.status, 422);
    EXPECT_EQ(range.json().at("errors").at(0).at("message"), json::value("must be from 0 to 100"));
    EXPECT_EQ(history_count(), 0);
    EXPECT_EQ(call("GET", base_ + "/signals", alice_).json().at("signals").as_object().size(), 0U);
}

TEST_F(TelemetryTest, BucketsAlignToUtcAndAggregatesAreExact) {
    // 10:05 -> 10, 10:35 -> 20, 10:59:59.999 -> 60, 11:10 -> 7, 13:00 -> 1 (no 12:00 bucket).
    const std::int64_t minute = 60'000;
    json::array samples{json::object{{"t_ms", kBase + 5 * minute}, {"speed_kmh", 10}},
                        json::object{{"t_ms", kBase + 35 * minute}, {"speed_kmh", 20}},
                        json::object{{"t_ms", kBase + 60 * minute - 1}, {"speed_kmh", 60}},
                        json::object{{"t_ms", kBase + 70 * minute}, {"speed_kmh", 7}},
                        json::object{{"t_ms", kBase + 180 * minute}, {"speed_kmh", 1}}};
    ASSERT_EQ(upload(samples).status, 202);
    auto query = [&](const std::string& agg, const std::string& bucket = "1h") {
        auto r = call(
            "GET",
            base_ + "/signals/Motion.Speed/history?from=2026-01-01T09:00:00Z&to=2026-01-01T14:00:00Z&bucket=" + bucket +
                "&agg=" + agg,
            alice_);
        EXPECT_EQ(r.status, 200) << r.body;
        std::vector<std::pair<std::string, double>> out;
        json::value body = r.json();
        if (r.status != 200) {
            return out;
        }
        for (const auto& p : body.at("points").as_array()) {
            out.emplace_back(std::string(p.at("time").as_string()), p.at("value").to_number<double>());
        }
        return out;
    };
    using Points = std::vector<std::pair<std::string, double>>;
    EXPECT_EQ(query("avg"),
              (Points{{"2026-01-01T10:00:00Z", 30.0}, {"2026-01-01T11:00:00Z", 7.0}, {"2026-01-01T13:00:00Z", 1.0}}));
    EXPECT_EQ(query("min"),
              (Points{{"2026-01-01T10:00:00Z", 10.0}, {"2026-01-01T11:00:00Z", 7.0}, {"2026-01-01T13:00:00Z", 1.0}}));
    EXPECT_EQ(query("max"),
              (Points{{"2026-01-01T10:00:00Z", 60.0}, {"2026-01-01T11:00:00Z", 7.0}, {"2026-01-01T13:00:00Z", 1.0}}));
    EXPECT_EQ(query("last"),
              (Points{{"2026-01-01T10:00:00Z", 60.0}, {"2026-01-01T11:00:00Z", 7.0}, {"2026-01-01T13:00:00Z", 1.0}}));
    EXPECT_EQ(query("count"),
              (Points{{"2026-01-01T10:00:00Z", 3.0}, {"2026-01-01T11:00:00Z", 1.0}, {"2026-01-01T13:00:00Z", 1.0}}));
    EXPECT_EQ(query("count", "15m"),
              (Points{{"2026-01-01T10:00:00Z", 1.0},
                      {"2026-01-01T10:30:00Z", 1.0},
                      {"2026-01-01T10:45:00Z", 1.0},
                      {"2026-01-01T11:00:00Z", 1.0},
                      {"2026-01-01T13:00:00Z", 1.0}}));
    EXPECT_EQ(query("max", "1d"), (Points{{"2026-01-01T00:00:00Z", 60.0}}));

    auto bad = [&](const std::string& q) {
        return call("GET", base_ + "/signals/Motion.Speed/history?" + q, alice_).status;
    };
    EXPECT_EQ(bad("bucket=1h&agg=sum"), 422);
    EXPECT_EQ(bad("bucket=2h"), 422);
    EXPECT_EQ(bad("agg=avg"), 422);  // aggregate without a bucket
    EXPECT_EQ(bad("limit=10001"), 422);
    EXPECT_EQ(bad("limit=0"), 422);
    EXPECT_EQ(bad("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"), 422);
    EXPECT_EQ(bad("from=yesterday"), 422);
    EXPECT_EQ(call("GET", base_ + "/signals/Location.PreciseLocation/history?bucket=1h&agg=avg", alice_).status, 422);
    EXPECT_EQ(call("GET", base_ + "/signals/Warp.Factor/history", alice_).status, 404);
    // limit caps the points.
    auto limited =
        call("GET",
             base_ + "/signals/Motion.Speed/history?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z&limit=2",
             alice_);
    EXPECT_EQ(limited.json().at("points").as_array().size(), 2U);
}

// Reading the latest values (and every view of them) finds the vehicle, checks the actor and reads
// the values through one pooled connection, not one for each.
TEST_F(TelemetryTest, LatestValuesTakeOnePooledConnection) {
    ASSERT_EQ(
        upload(json::array{json::object{{"t_ms", core::now_ms() - 1000}, {"speed_kmh", 5}, {"soc_pct", 50}}}).status,
        202);
    // Nothing else may lease a connection meanwhile: the Smartcar jobs and the mailer poll.
    smartcar::stop_jobs(app_->app().smartcar());
    app_->app().mailer().stop();
    for (const std::string view : {"/signals", "/battery", "/all"}) {
        ASSERT_EQ(call("GET", base_ + view, alice_).status, 200) << view;  // warms the user status cache
        const std::uint64_t before = app_->app().database().stats().leases;
        ASSERT_EQ(call("GET", base_ + view, alice_).status, 200) << view;
        EXPECT_EQ(app_->app().database().stats().leases - before, 1U) << view;
    }
}

TEST_F(TelemetryTest, ViewsShowTheLatestValues) {
    EXPECT_EQ(call("GET", base_ + "/location", alice_).status, 404);
    EXPECT_EQ(call("GET", "/api/v1/me/telemetry/latest", alice_).status, 404);
    const std::int64_t now = core::now_ms();
    ASSERT_EQ(upload(json::array{json::object{{"t_ms", now - 2000},
                                              {"latitude", 52.52},
                                              {"longitude", 13.405},
                                              {"heading", 90},
                                              {"odometer_km", 12345.6},
                                              {"soc_pct", 81}}})
                  .status,
              202);
    // Charge signals arrive through the shared ingest path (as Smartcar's will).
    auto& ingestor = app_->app().ingestor();
    auto ref = app_->app().database().with_reader([&](db::Connection& c) {
        return c.query("SELECT id FROM vehicles WHERE public_id = $1", {vehicle_}).front().int64(0);
    });
    auto sample = [&](const char* code, std::optional<double> number, std::optional<std::string> text) {
        telemetry::Sample s;
        s.vehicle_id = ref;
        s.signal = telemetry::find_signal(code)->id;
        s.t_ms = now - 1000;
        s.number = number;
        s.text = std::move(text);
        s.source = telemetry::Source::Webhook;
        return s;
    };
    auto result = ingestor.ingest_blocking(vehicle_,
                                           {sample("Charge.IsCharging", 1, std::nullopt),
                                            sample("Charge.IsChargingCableConnected", 1, std::nullopt),
                                            sample("Charge.DetailedChargingStatus", std::nullopt, "CHARGING"),
                                            sample("Charge.ChargeLimits", 80, std::nullopt)});
    EXPECT_EQ(result.accepted, 4);

    auto location = call("GET", base_ + "/location", alice_).json();
    EXPECT_EQ(location.at("latitude").as_double(), 52.52);
    EXPECT_EQ(location.at("longitude").as_double(), 13.405);
    EXPECT_EQ(location.at("heading").as_double(), 90.0);
    auto battery = call("GET", base_ + "/battery", alice_).json();
    EXPECT_EQ(battery.at("soc_pct").as_double(), 81.0);
    EXPECT_TRUE(battery.at("range_km").is_null());
    EXPECT_EQ(battery.at("source"), json::value("dongle"));  // every view says where its newest value came from
    EXPECT_EQ(call("GET", base_ + "/odometer", alice_).json().at("distance_km").as_double(), 12345.6);
    auto charge = call("GET", base_ + "/charge", alice_).json();
    EXPECT_EQ(charge.at("is_charging"), json::value(true));
    EXPECT_EQ(charge.at("is_plugged_in"), json::value(true));
    EXPECT_EQ(charge.at("state"), json::value("CHARGING"));
    EXPECT_EQ(charge.at("source"), json::value("webhook"));
    auto limits = call("GET", base_ + "/charge-limits", alice_).json();
    EXPECT_EQ(limits.at("limit_pct").as_double(), 80.0);
    EXPECT_TRUE(limits.at("source").is_string());
    auto all = call("GET", base_ + "/all", alice_).json();
    EXPECT_EQ(all.at("odometer").at("distance_km").as_double(), 12345.6);
    EXPECT_EQ(all.at("charge").at("state"), json::value("CHARGING"));
    EXPECT_EQ(latest("Charge.IsCharging").at("value"), json::value(true));
    EXPECT_EQ(latest("Charge.IsCharging").at("source"), json::value("webhook"));

    auto me = call("GET", "/api/v1/me/telemetry/latest", alice_);
    ASSERT_EQ(me.status, 200) << me.body;
    EXPECT_EQ(me.json().at("soc_pct").as_double(), 81.0);
    EXPECT_EQ(me.json().at("charging_state"), json::value("CHARGING"));
    EXPECT_EQ(me.json().at("latitude").as_double(), 52.52);
    EXPECT_EQ(me.json().at("recorded_at"), json::value(core::format_rfc3339(now - 1000)));
    EXPECT_EQ(call("GET", "/api/v1/me/telemetry/latest", bob_).status, 404);
}

TEST_F(TelemetryTest, AnotherMembersVehicleIsNotFound) {
    ASSERT_EQ(upload(json::array{json::object{{"t_ms", core::now_ms()}, {"speed_kmh", 5}}}).status, 202);
    EXPECT_EQ(upload(json::array{json::object{{"t_ms", core::now_ms()}, {"speed_kmh", 6}}}, bob_).status, 404);
    for (const char* path : {"/signals",
                             "/signals/Motion.Speed/history",
                             "/location",
                             "/battery",
                             "/odometer",
                             "/charge",
                             "/charge-limits",
                             "/all"}) {
        EXPECT_EQ(call("GET", base_ + path, bob_).status, 404) << path;
    }
    // Support reads everything and writes nothing.
    EXPECT_EQ(call("GET", base_ + "/signals", support_).status, 200);
    EXPECT_EQ(upload(json::array{json::object{{"t_ms", core::now_ms()}, {"speed_kmh", 6}}}, support_).status, 403);
    EXPECT_EQ(latest("Motion.Speed").at("value").as_double(), 5.0);
    EXPECT_EQ(call("GET", "/api/v1/vehicles/" + test_vin(999) + "/signals", alice_).status, 404);
}

TEST_F(TelemetryTest, CommittedBatchesArePublished) {
    std::mutex mutex;
    std::vector<core::Event> events;
    auto subscription = app_->app().events().subscribe("vehicle.", [&](const core::Event& e) {
        std::lock_guard lock(mutex);
        events.push_back(e);
    });
    const std::int64_t t = core::now_ms();
    ASSERT_EQ(upload(json::array{json::object{{"t_ms", t}, {"speed_kmh", 42}}}).status, 202);
    ASSERT_EQ(upload(json::array{json::object{{"t_ms", t}, {"speed_kmh", 42}}}).status, 202);  // duplicate: no event
    std::lock_guard lock(mutex);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].topic, "vehicle." + vehicle_);
    EXPECT_EQ(events[0].type, "SIGNALS");
    auto payload = json::parse(events[0].payload);
    EXPECT_EQ(payload.at("vehicle_id"), json::value(vehicle_));
    EXPECT_EQ(payload.at("signals").at("Motion.Speed").at("value").as_double(), 42.0);
}

// The fleet view: every vehicle's latest state in one call (staff), in the list shape of every list.
TEST_F(TelemetryTest, TheFleetViewListsEveryVehicleForStaff) {
    const std::int64_t now = core::now_ms();
    ASSERT_EQ(
        upload({json::object{{"t_ms", now - 1000}, {"soc_pct", 64}, {"latitude", 52.5}, {"longitude", 13.4}}}).status,
        202);
    auto bob_car = call("POST",
                        "/api/v1/vehicles",
                        bob_,
                        json::value(json::object{{"vin", test_vin(77, "KNA")}, {"make", "Kia"}, {"model", "EV6"}}));
    ASSERT_EQ(bob_car.status, 201) << bob_car.body;
    auto manager = create_user_and_login(*app_, "fleet@example.com", auth::Role::FleetManager).token;

    EXPECT_EQ(call("GET", "/api/v1/fleet/vehicles", alice_).status, 403);  // a member sees her own only
    EXPECT_EQ(call("GET", "/api/v1/fleet/vehicles/" + vehicle_, alice_).status, 403);
    EXPECT_EQ(call("GET", "/api/v1/fleet/vehicles?page_size=101", manager).status, 422);
    auto r = call("GET", "/api/v1/fleet/vehicles?page_size=1", manager);
    ASSERT_EQ(r.status, 200) << r.body;
    json::value page = r.json();
    EXPECT_EQ(page.at("total"), json::value(2));
    EXPECT_EQ(page.at("total_pages"), json::value(2));
    ASSERT_EQ(page.at("items").as_array().size(), 1U);
    const json::value& first = page.at("items").at(0);
    EXPECT_EQ(first.at("vehicle_id"), json::value(vehicle_));
    EXPECT_EQ(first.at("soc_pct").as_double(), 64.0);
    EXPECT_EQ(first.at("latitude").as_double(), 52.5);
    EXPECT_EQ(first.at("recorded_at"), json::value(core::format_rfc3339(now - 1000)));
    EXPECT_EQ(first.at("signals").at("TractionBattery.StateOfCharge").at("source"), json::value("dongle"));
    // Keyset pages: the second vehicle, with no data yet, then the end.
    json::value p1 = call("GET", "/api/v1/fleet/vehicles?page_size=1&cursor=", support_).json();
    ASSERT_FALSE(p1.at("next_cursor").is_null());
    json::value p2 = call("GET",
                          "/api/v1/fleet/vehicles?page_size=1&cursor=" + std::string(p1.at("next_cursor").as_string()),
                          support_)
                         .json();
    ASSERT_EQ(p2.at("items").as_array().size(), 1U);
    EXPECT_EQ(p2.at("items").at(0).at("vehicle_id"), bob_car.json().at("id"));
    EXPECT_TRUE(p2.at("items").at(0).at("recorded_at").is_null());
    EXPECT_TRUE(p2.at("next_cursor").is_null());
    auto one = call("GET", "/api/v1/fleet/vehicles/" + vehicle_, manager);
    ASSERT_EQ(one.status, 200);
    EXPECT_EQ(one.json().at("vin"), first.at("vin"));
    EXPECT_EQ(call("GET", "/api/v1/fleet/vehicles/00000000-0000-4000-8000-000000000000", manager).status, 404);
}

TEST_F(TelemetryTest, RetentionPrunesOldHistoryButNeverLatestValues) {
    const std::int64_t day = 86'400'000;
    const std::int64_t now = core::now_ms();
    json::array samples;
    for (int i = 0; i < 50; ++i) {
        samples.push_back(json::object{{"t_ms", now - 40 * day + i * 1000}, {"speed_kmh", i}});  // old
    }
    samples.push_back(json::object{{"t_ms", now - day}, {"speed_kmh", 99}});  // recent
    ASSERT_EQ(upload(samples).status, 202);
    // Odometer: only old data, so its latest value is old too.
    ASSERT_EQ(upload(json::array{json::object{{"t_ms", now - 45 * day}, {"odometer_km", 5}}}).status, 202);
    EXPECT_EQ(telemetry::prune_history(app_->app().database(), 0, now), 0);  // 0: keep everything
    EXPECT_EQ(history_count(), 51);
    // Batches of 7 rows: several transactions per (vehicle, signal).
    EXPECT_EQ(telemetry::prune_history(app_->app().database(), 30, now, 7), 51);
    EXPECT_EQ(history_count(), 1);
    EXPECT_EQ(history_count("Odometer.TraveledDistance"), 0);
    EXPECT_EQ(latest("Odometer.TraveledDistance").at("value").as_double(), 5.0);
    EXPECT_EQ(latest("Motion.Speed").at("value").as_double(), 99.0);
    EXPECT_EQ(telemetry::prune_history(app_->app().database(), 30, now), 0);
}

// The retention job's schedule, in the App's clock: the first pass 30 s after start, then hourly;
// each deletes what is older than the retention when it runs.
TEST(RetentionScheduleTest, FirstPassThirtySecondsAfterStartThenHourly) {
    constexpr std::int64_t kDay = 86'400'000;
    auto clock = std::make_shared<core::ManualClock>(core::now_ms());
    TestApp app(Overrides{{"MOTORPOOL_TELEMETRY_RETENTION_DAYS", "7"}}, nullptr, clock);
    std::string alice = register_member(app, "alice@example.com").token;
    auto sign_in_again = [&] {  // a token lives at most a day, and the clock moves by days
        auto login = app.client().post_json(
            "/api/v1/auth/login", json::object{{"email", "alice@example.com"}, {"password", "correct horse battery"}});
        ASSERT_EQ(login.status, 200) << login.body;
        alice = std::string(login.json().at("access_token").as_string());
    };
    auto v = call(app,
                  "POST",
                  "/api/v1/vehicles",
                  alice,
                  json::value(json::object{{"vin", test_vin(1)}, {"make", "Tesla"}, {"model", "Model 3"}}));
    ASSERT_EQ(v.status, 201) << v.body;
    const std::string base = "/api/v1/vehicles/" + std::string(v.json().at("id").as_string());
    const std::int64_t t0 = clock->now_ms();
    auto upload = [&](std::int64_t t_ms, int speed) {
        sign_in_again();
        json::array samples{json::object{{"t_ms", t_ms}, {"speed_kmh", speed}}};
        EXPECT_EQ(call(app, "POST", base + "/telemetry", alice, json::value(json::object{{"samples", samples}})).status,
                  202);
    };
    upload(t0 - 40 * 60'000, 1);
    upload(t0 - 20 * 60'000, 2);
    auto speeds = [&] {
        sign_in_again();
        auto r = call(app,
                      "GET",
                      base + "/signals/Motion.Speed/history?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
                      alice);
        EXPECT_EQ(r.status, 200) << r.body;
        const json::value body = r.json();
        std::vector<double> out;
        for (const auto& p : body.at("points").as_array()) {
            out.push_back(p.at("value").to_number<double>());
        }
        return out;
    };
    ASSERT_EQ(speeds(), (std::vector<double>{1, 2}));
    auto& scheduler = app.app().jobs();
    auto passes = [&] { return scheduler.stats("telemetry.retention").runs; };
    // The scheduler looks at the clock every second of real time: wait for it to have looked twice
    // more (a run it started by then is over by the second look's end: runs are short here).
    auto two_more_ticks = [&] {
        const std::int64_t seen = scheduler.ticks();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (scheduler.ticks() < seen + 2 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        EXPECT_GE(scheduler.ticks(), seen + 2);
    };
    clock->advance_ms(29'999);
    two_more_ticks();
    EXPECT_EQ(passes(), 0);                      // not yet 30 s after the start
    clock->set_ms(t0 + 7 * kDay - 30 * 60'000);  // the first pass: the cutoff is t0 - 30 min
    two_more_ticks();
    EXPECT_EQ(passes(), 1);
    EXPECT_EQ(speeds(), (std::vector<double>{2}));
    upload(clock->now_ms() - 60'000, 3);
    clock->advance_ms(59 * 60'000);  // the 20-minute one is older than 7 days now, but no pass is due
    two_more_ticks();
    EXPECT_EQ(passes(), 1);
    EXPECT_EQ(speeds(), (std::vector<double>{2, 3}));
    clock->advance_ms(60'000);  // an hour after the first pass
    two_more_ticks();
    EXPECT_EQ(passes(), 2);
    EXPECT_EQ(speeds(), (std::vector<double>{3}));
    sign_in_again();
    EXPECT_EQ(call(app, "GET", base + "/signals", alice).json().at("signals").at("Motion.Speed").at("value"),
              json::value(3.0));
}

}  // namespace
}  // namespace motorpool::testing
