// Drivers' charging requests and the charging views over REST: slot requests (targets in energy
// or state of charge, matching, cancel, every bad input refused and nothing changed), emergency
// requests (the free allowance, review by support, the alert), cluster PATCH and pricing across
// a DST change, a session's cost, the fleet view, the abuse job and fairness analytics, each with
// who may and may not. Runs on every backend.

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/auth.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "harness.hpp"
#include "ocpp_client.hpp"
#include "telemetry/telemetry.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

std::int64_t at(const char* rfc3339) {
    return core::parse_rfc3339(rfc3339).value();
}

class ChargingRequestsTest : public ::testing::Test {
protected:
    void SetUp() override {
        // Sunday 2026-03-29 00:30 UTC: 01:30 in Berlin, half an hour before the clocks jump to 03:00.
        clock_ = std::make_shared<core::ManualClock>(at("2026-03-29T00:30:00Z"));
        app_ = std::make_unique<TestApp>(Overrides{}, nullptr, clock_);
        admin_ = create_user_and_login(*app_, "admin@example.com", auth::Role::Admin).token;
        support_ = create_user_and_login(*app_, "support@example.com", auth::Role::Support).token;
        fleet_ = create_user_and_login(*app_, "fleet@example.com", auth::Role::FleetManager).token;
        alice_ = register_member(*app_, "alice@example.com");
        bob_ = register_member(*app_, "bob@example.com");
        auto site = call(*app_,
                         "POST",
                         "/api/v1/grid/sites",
                         admin_,
                         json::object{{"name", "Depot"}, {"time_zone", "Europe/Berlin"}});
        ASSERT_EQ(site.status, 201) << site.body;
        auto cluster = call(*app_,
                            "POST",
                            "/api/v1/grid/clusters",
                            admin_,
                            json::object{{"name", "Depot"}, {"capacity_kw", 22}, {"site_id", site.json().at("id")}});
        ASSERT_EQ(cluster.status, 201) << cluster.body;
        cluster_ = std::string(cluster.json().at("id").as_string());
        vehicle_ = add_vehicle(alice_.token, 1);
    }

    std::string add_vehicle(const std::string& token, int serial) {
        auto r = call(*app_,
                      "POST",
                      "/api/v1/vehicles",
                      token,
                      json::object{{"vin", test_vin(serial)}, {"make", "Tesla"}, {"model", "Model 3"}, {"year", 2021}});
        EXPECT_EQ(r.status, 201) << r.body;
        return std::string(r.json().at("id").as_string());
    }

    json::object slot_body(const std::string& vehicle, double hours = 4) {
        return json::object{
            {"vehicle_id", vehicle},
            {"cluster_id", cluster_},
            {"energy_kwh", 20},
            {"departure_time", core::format_rfc3339(clock_->now_ms() + static_cast<std::int64_t>(hours * 3.6e6))}};
    }

    std::int64_t count(const std::string& table) {
        return app_->app().database().with_reader(
            [&](db::Connection& c) { return c.query("SELECT COUNT(*) FROM " + table).row(0).int64(0); });
    }

    std::shared_ptr<core::ManualClock> clock_;
    std::unique_ptr<TestApp> app_;
    std::string admin_, support_, fleet_, cluster_, vehicle_;
    ApiUser alice_, bob_;
};

TEST_F(ChargingRequestsTest, ASlotRequestAnswersWithItsPlanAndBadOnesChangeNothing) {
    auto ok = call(*app_, "POST", "/api/v1/charging/slot-requests", alice_.token, slot_body(vehicle_));
    ASSERT_EQ(ok.status, 201) << ok.body;
    const json::value created = ok.json();
    EXPECT_EQ(created.at("status"), json::value("waiting"));
    EXPECT_EQ(created.at("kind"), json::value("slot"));
    EXPECT_EQ(created.at("priority"), json::value("normal"));
    EXPECT_EQ(created.at("user_id"), json::value(alice_.id));
    // No charger yet: the preview is of a 7.4 kW connector; 20 kWh in 4 h is 5 kW, and it gets all 7.4.
    EXPECT_NEAR(created.at("plan").at("power_kw").to_number<double>(), 7.4, 1e-9);
    EXPECT_NEAR(created.at("plan").at("expected_kwh").to_number<double>(), 20.0, 1e-9);
    const std::string id(created.at("id").as_string());

    const std::int64_t before = count("charging_requests");
    struct Case {
        const char* what;
        json::object body;
        int status;
        const char* field;
    };
    // A valid body for a fresh vehicle, with `changes` applied (null removes a field).
    auto with = [&](const json::object& changes) {
        json::object b = slot_body(add_vehicle(alice_.token, 100 + static_cast<int>(count("vehicles"))));
        for (const auto& kv : changes) {
            if (kv.value().is_null()) {
                b.erase(kv.key());
            } else {
                b[kv.key()] = kv.value();
            }
        }
        return b;
    };
    const std::vector<Case> cases{
        {"no target", with(json::object{{"energy_kwh", nullptr}}), 422, "energy_kwh"},
        {"both targets", with(json::object{{"target_soc_pct", 80}}), 422, "energy_kwh"},
        {"past departure", with(json::object{{"departure_time", "2026-03-28T00:00:00Z"}}), 422, "departure_time"},
        {"no zone", with(json::object{{"departure_time", "2026-03-29T10:00:00"}}), 422, "departure_time"},
        {"beyond a week", with(json::object{{"departure_time", "2026-04-29T10:00:00Z"}}), 422, "departure_time"},
        {"unknown cluster", with(json::object{{"cluster_id", "nope"}}), 422, "cluster_id"},
        {"emergency here", with(json::object{{"priority", "emergency"}}), 422, "priority"},
        {"unknown field", with(json::object{{"colour", "red"}}), 422, "colour"},
        {"energy out of range", with(json::object{{"energy_kwh", 0}}), 422, "energy_kwh"},
        {"soc unknown", with(json::object{{"energy_kwh", nullptr}, {"target_soc_pct", 80}}), 422, "target_soc_pct"},
        {"another's vehicle", with(json::object{{"vehicle_id", add_vehicle(bob_.token, 90)}}), 404, nullptr},
        {"open request", slot_body(vehicle_), 409, nullptr},
    };
    const std::int64_t created_before = count("charging_requests");
    for (const auto& c : cases) {
        auto r = call(*app_, "POST", "/api/v1/charging/slot-requests", alice_.token, c.body);
        EXPECT_EQ(r.status, c.status) << c.what << ": " << r.body;
        if (c.field != nullptr && r.status == 422) {
            EXPECT_NE(r.body.find(c.field), std::string::npos) << c.what << ": " << r.body;
        }
    }
    EXPECT_EQ(count("charging_requests"), created_before);
    EXPECT_EQ(created_before, before);

    // Bob neither sees nor cancels it; Alice cancels it once.
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/slot-requests/" + id, bob_.token).status, 404);
    EXPECT_EQ(call(*app_, "POST", "/api/v1/charging/slot-requests/" + id + "/cancel", bob_.token).status, 404);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/slot-requests", bob_.token).json().at("total"), json::value(0));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/slot-requests/" + id, support_).status, 200);
    auto cancelled = call(*app_, "POST", "/api/v1/charging/slot-requests/" + id + "/cancel", alice_.token);
    ASSERT_EQ(cancelled.status, 200) << cancelled.body;
    EXPECT_EQ(cancelled.json().at("status"), json::value("cancelled"));
    EXPECT_EQ(call(*app_, "POST", "/api/v1/charging/slot-requests/" + id + "/cancel", alice_.token).status, 409);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/slot-requests?status=cancelled", alice_.token).json().at("total"),
              json::value(1));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/slot-requests?status=gone", alice_.token).status, 422);

    // A target state of charge, from the vehicle's latest signals: (80 - 30) % of 60 kWh.
    app_->app().database().with_transaction([&](db::Connection& c) {
        auto v = c.query("SELECT id FROM vehicles WHERE public_id = $1", {vehicle_}).row(0).int64(0);
        for (auto [code, value] :
             {std::pair{"TractionBattery.StateOfCharge", 30.0}, std::pair{"TractionBattery.NominalCapacity", 60.0}}) {
            c.execute(
                "INSERT INTO signal_latest (vehicle_id, signal_id, t_ms, value_num, source) VALUES ($1, $2, $3, $4, 1)",
                {v, static_cast<std::int64_t>(telemetry::find_signal(code)->id), clock_->now_ms(), value});
        }
    });
    json::object soc = slot_body(vehicle_);
    soc.erase("energy_kwh");
    soc["target_soc_pct"] = 80;
    auto by_soc = call(*app_, "POST", "/api/v1/charging/slot-requests", alice_.token, soc);
    ASSERT_EQ(by_soc.status, 201) << by_soc.body;
    EXPECT_NEAR(by_soc.json().at("energy_kwh").to_number<double>(), 30.0, 1e-9);
    EXPECT_NEAR(by_soc.json().at("target_soc_pct").to_number<double>(), 80.0, 1e-9);
}

TEST_F(ChargingRequestsTest, EmergenciesAreFreeTwiceThenReviewedBySupportAndFlagged) {
    std::vector<std::string> vehicles{vehicle_, add_vehicle(alice_.token, 2), add_vehicle(alice_.token, 3)};
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < vehicles.size(); ++i) {
        json::object body = slot_body(vehicles[i]);
        body["reason"] = "night shift ambulance run";
        auto r = call(*app_, "POST", "/api/v1/charging/emergency-requests", alice_.token, body);
        ASSERT_EQ(r.status, 201) << r.body;
        ids.emplace_back(r.json().at("id").as_string());
        const bool free = i < 2;
        EXPECT_EQ(r.json().at("status"), json::value(free ? "approved" : "pending")) << i;
        EXPECT_EQ(r.json().at("automatic"), json::value(free));
        auto request = call(*app_,
                            "GET",
                            "/api/v1/charging/slot-requests/" + std::string(r.json().at("request_id").as_string()),
                            alice_.token);
        EXPECT_EQ(request.json().at("priority"), json::value(free ? "emergency" : "normal")) << i;
    }
    // The third one is flagged for support; members do not see alerts.
    auto alerts = call(*app_, "GET", "/api/v1/charging/alerts?kind=emergency_limit", support_);
    ASSERT_EQ(alerts.status, 200) << alerts.body;
    EXPECT_EQ(alerts.json().at("total"), json::value(1));
    EXPECT_EQ(alerts.json().at("items").as_array()[0].at("user_id"), json::value(alice_.id));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/alerts", alice_.token).status, 403);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/alerts?kind=nope", support_).status, 422);

    // Review: not by the member, not by a fleet manager; support approves once, with a note.
    const std::string pending = "/api/v1/charging/emergency-requests/" + ids[2];
    EXPECT_EQ(call(*app_, "POST", pending + "/approve", alice_.token, json::object{}).status, 403);
    EXPECT_EQ(call(*app_, "POST", pending + "/approve", fleet_, json::object{}).status, 403);
    EXPECT_EQ(call(*app_, "POST", pending + "/approve", support_, json::object{{"note", 1}}).status, 422);
    auto approved =
        call(*app_, "POST", pending + "/approve", support_, json::object{{"note", "verified with dispatch"}});
    ASSERT_EQ(approved.status, 200) << approved.body;
    EXPECT_EQ(approved.json().at("status"), json::value("approved"));
    EXPECT_EQ(approved.json().at("review_note"), json::value("verified with dispatch"));
    EXPECT_EQ(call(*app_, "POST", pending + "/reject", support_, json::object{}).status, 409);
    auto request = call(*app_,
                        "GET",
                        "/api/v1/charging/slot-requests/" + std::string(approved.json().at("request_id").as_string()),
                        alice_.token);
    EXPECT_EQ(request.json().at("priority"), json::value("emergency"));

    // Bob sees none of Alice's; the same request twice is refused; a vehicle without a request needs the target.
    EXPECT_EQ(call(*app_, "GET", pending, bob_.token).status, 404);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/emergency-requests", bob_.token).json().at("total"), json::value(0));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/emergency-requests?status=pending", support_).json().at("total"),
              json::value(0));
    EXPECT_EQ(call(*app_,
                   "POST",
                   "/api/v1/charging/emergency-requests",
                   alice_.token,
                   json::object{{"vehicle_id", vehicle_}, {"reason", "again please"}})
                  .status,
              409);
    auto bare = call(*app_,
                     "POST",
                     "/api/v1/charging/emergency-requests",
                     bob_.token,
                     json::object{{"vehicle_id", add_vehicle(bob_.token, 7)}, {"reason", "flat battery"}});
    EXPECT_EQ(bare.status, 422) << bare.body;
}

TEST_F(ChargingRequestsTest, ConcurrentRequestsEmergenciesAndCancelsInOneClusterNeverDeadlock) {
    // Each of these re-plans the cluster inside its transaction. On PostgreSQL they once locked the
    // request's row, then the cluster (a re-plan locks the cluster, then its requests): a deadlock,
    // answered 503. Every one takes the cluster first now.
    struct Driver {
        std::string token, vehicle;
    };
    std::vector<Driver> drivers;
    for (int i = 0; i < 6; ++i) {
        const ApiUser u = register_member(*app_, "driver" + std::to_string(i) + "@example.com");
        drivers.push_back({u.token, add_vehicle(u.token, 20 + i)});
    }
    std::atomic<int> done{0};
    std::mutex failures_mutex;
    std::vector<std::string> failures;
    std::vector<std::thread> threads;
    for (const Driver& d : drivers) {
        threads.emplace_back([&, d] {
            auto client = app_->new_client();
            auto send = [&](const std::string& path, const std::optional<json::object>& body, int expected) {
                http::Headers headers{{"Authorization", "Bearer " + d.token}};
                if (body) {
                    headers.emplace_back("Content-Type", "application/json");
                }
                auto r = client->request("POST", path, body ? json::serialize(*body) : std::string(), headers);
                if (r.status != expected) {
                    std::lock_guard lock(failures_mutex);
                    failures.push_back("POST " + path + ": " + std::to_string(r.status) + " " + r.body);
                    return json::value();
                }
                return core::parse_json(r.body);
            };
            for (int round = 0; round < 3; ++round) {
                auto request = send("/api/v1/charging/slot-requests", slot_body(d.vehicle), 201);
                if (!request.is_object()) {
                    return;
                }
                send("/api/v1/charging/emergency-requests",
                     json::object{{"vehicle_id", d.vehicle}, {"reason", "a night shift ambulance run"}},
                     201);
                send("/api/v1/charging/slot-requests/" + std::string(request.at("id").as_string()) + "/cancel",
                     std::nullopt,
                     200);
                ++done;
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_TRUE(failures.empty()) << failures.size() << " failed, the first: " << failures.front();
    EXPECT_EQ(done.load(), 18);
    EXPECT_EQ(count("charging_requests"), 18);
    EXPECT_EQ(count("charging_emergencies"), 18);
}

TEST_F(ChargingRequestsTest, PricesFollowTheSitesWallClockAcrossTheSpringJump) {
    // The price is the local hour (0..23), every day: the forecast shows which wall-clock hours exist.
    json::array day;
    for (int h = 0; h < 24; ++h) {
        day.push_back(h);
    }
    json::array week;
    for (int d = 0; d < 7; ++d) {
        week.push_back(day);
    }
    const std::string path = "/api/v1/grid/clusters/" + cluster_;
    EXPECT_EQ(call(*app_, "GET", path + "/price", alice_.token).status, 404);  // no tariff yet
    EXPECT_EQ(call(*app_, "PATCH", path, alice_.token, json::object{{"capacity_kw", 30}}).status, 403);
    auto bad = call(
        *app_, "PATCH", path, admin_, json::object{{"tariff", json::object{{"price_per_kwh", json::array{1, 2}}}}});
    EXPECT_EQ(bad.status, 422) << bad.body;
    EXPECT_EQ(call(*app_, "PATCH", path, admin_, json::object{{"base_load_kw", 40}}).status, 422);  // above capacity
    auto patched = call(*app_,
                        "PATCH",
                        path,
                        admin_,
                        json::object{{"tariff",
                                      json::object{{"currency", "EUR"},
                                                   {"price_per_kwh", week},
                                                   {"congestion_threshold_pct", 50},
                                                   {"congestion_price_per_kwh", 0.25}}}});
    ASSERT_EQ(patched.status, 200) << patched.body;
    EXPECT_EQ(patched.json().at("tariff").at("currency"), json::value("EUR"));

    auto price = call(*app_, "GET", path + "/price", alice_.token);
    ASSERT_EQ(price.status, 200) << price.body;
    const json::value p = price.json();
    EXPECT_EQ(p.at("time_zone"), json::value("Europe/Berlin"));
    EXPECT_DOUBLE_EQ(p.at("price_per_kwh").to_number<double>(), 1.0);  // 01:30 local
    const auto& forecast = p.at("forecast").as_array();
    ASSERT_EQ(forecast.size(), 25U);  // 24 hours from half past: two partial hours and 23 whole
    EXPECT_EQ(forecast[0].at("to"), json::value("2026-03-29T01:00:00Z"));
    EXPECT_DOUBLE_EQ(forecast[0].at("price_per_kwh").to_number<double>(), 1.0);
    EXPECT_DOUBLE_EQ(forecast[1].at("price_per_kwh").to_number<double>(), 3.0);   // 02:00 never happens
    EXPECT_DOUBLE_EQ(forecast[22].at("price_per_kwh").to_number<double>(), 0.0);  // local midnight, 22:00 UTC
    for (std::size_t i = 0; i < 22; ++i) {                                        // Sunday's hours: no 02:00
        EXPECT_NE(forecast[i].at("price_per_kwh").to_number<double>(), 2.0) << json::serialize(forecast[i]);
    }

    // A session across the jump: 5 kWh in the 01:xx hour (price 1), 5 kWh around 03:00 (price 3).
    auto tag = call(
        *app_, "POST", "/api/v1/charging/id-tags", admin_, json::object{{"id_tag", "ALICE"}, {"user_id", alice_.id}});
    ASSERT_EQ(tag.status, 201);
    auto charger =
        call(*app_,
             "POST",
             "/api/v1/chargers",
             admin_,
             json::object{{"id", "CP-1"}, {"cluster_id", cluster_}, {"max_power_kw", 22}, {"connectors", 1}});
    ASSERT_EQ(charger.status, 201);
    OcppClient cp(app_->port(), {"CP-1", std::string(charger.json().at("ocpp_password").as_string())});
    ASSERT_EQ(cp.status(), 101U);
    cp.on("SetChargingProfile", [](const json::object&) { return json::object{{"status", "Accepted"}}; });
    cp.call("BootNotification", json::object{{"chargePointVendor", "Acme"}, {"chargePointModel", "AC"}});
    auto started = cp.call(
        "StartTransaction",
        json::object{
            {"connectorId", 1}, {"idTag", "ALICE"}, {"meterStart", 1000}, {"timestamp", "2026-03-29T00:30:00Z"}});
    ASSERT_TRUE(started && (*started)[0] == 3);
    const auto tx = (*started)[2].at("transactionId").to_number<std::int64_t>();
    auto meter = [&](const char* when, int wh) {
        cp.call("MeterValues",
                json::object{
                    {"connectorId", 1},
                    {"transactionId", tx},
                    {"meterValue",
                     json::array{json::object{{"timestamp", when},
                                              {"sampledValue",
                                               json::array{json::object{{"value", std::to_string(wh)},
                                                                        {"measurand", "Energy.Active.Import.Register"},
                                                                        {"unit", "Wh"}}}}}}}});
    };
    meter("2026-03-29T00:45:00Z", 6000);
    meter("2026-03-29T01:15:00Z", 11000);
    // Once the rebalancer gave the session its default request.
    auto status = call(*app_, "GET", "/api/v1/charging/status", alice_.token);
    for (int i = 0; i < 500 && status.status == 200 && status.json().at("current").as_array().size() == 1 &&
                    status.json().at("current").as_array()[0].at("request").is_null();
         ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        status = call(*app_, "GET", "/api/v1/charging/status", alice_.token);
    }
    ASSERT_EQ(status.status, 200) << status.body;
    const json::value s = status.json();
    ASSERT_EQ(s.at("current").as_array().size(), 1U);
    const auto& session = s.at("current").as_array()[0];
    EXPECT_NEAR(session.at("energy_kwh").to_number<double>(), 10.0, 1e-9);
    EXPECT_EQ(session.at("cost").at("currency"), json::value("EUR"));
    // Plus congestion on all 10 kWh: the car alone was given the whole cluster, above the 50 % threshold.
    EXPECT_NEAR(session.at("cost").at("amount").to_number<double>(), 5 * 1.0 + 5 * 3.0 + 10 * 0.25, 1e-9);
    ASSERT_TRUE(session.at("request").is_object()) << json::serialize(session);
    EXPECT_EQ(session.at("request").at("kind"), json::value("default"));  // plugged in without one
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/status", bob_.token).json().at("current").as_array().size(), 0U);
}

TEST_F(ChargingRequestsTest, TheFleetViewTheAbuseJobAndFairnessAnalytics) {
    auto charger =
        call(*app_,
             "POST",
             "/api/v1/chargers",
             admin_,
             json::object{{"id", "CP-1"}, {"cluster_id", cluster_}, {"max_power_kw", 11}, {"connectors", 1}});
    ASSERT_EQ(charger.status, 201);
    ASSERT_EQ(call(*app_,
                   "POST",
                   "/api/v1/charging/id-tags",
                   admin_,
                   json::object{{"id_tag", "ALICE"}, {"user_id", alice_.id}, {"vehicle_id", vehicle_}})
                  .status,
              201);
    OcppClient cp(app_->port(), {"CP-1", std::string(charger.json().at("ocpp_password").as_string())});
    ASSERT_EQ(cp.status(), 101U);
    cp.on("SetChargingProfile", [](const json::object&) { return json::object{{"status", "Accepted"}}; });
    cp.call("BootNotification", json::object{{"chargePointVendor", "Acme"}, {"chargePointModel", "AC"}});
    auto started = cp.call("StartTransaction",
                           json::object{{"connectorId", 1},
                                        {"idTag", "ALICE"},
                                        {"meterStart", 0},
                                        {"timestamp", core::format_rfc3339(clock_->now_ms() - 3'600'000)}});
    ASSERT_TRUE(started && (*started)[0] == 3);
    // Done charging an hour ago, still plugged in.
    cp.call("StatusNotification",
            json::object{{"connectorId", 1},
                         {"status", "SuspendedEV"},
                         {"errorCode", "NoError"},
                         {"timestamp", core::format_rfc3339(clock_->now_ms() - 50 * 60'000)}});
    app_->app().jobs().trigger("charging.rebalance");

    // The fleet: every vehicle with its plan (once the rebalancer gave the session its default
    // request), for fleet managers and staff only.
    auto fleet = call(*app_, "GET", "/api/v1/fleet/vehicles", fleet_);
    for (int i = 0; i < 500 && fleet.status == 200 && fleet.json().at("items").as_array().size() == 1 &&
                    fleet.json().at("items").as_array()[0].at("charging").is_null();
         ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        fleet = call(*app_, "GET", "/api/v1/fleet/vehicles", fleet_);
    }
    ASSERT_EQ(fleet.status, 200) << fleet.body;
    const json::value items = fleet.json().at("items");
    ASSERT_EQ(items.as_array().size(), 1U);
    EXPECT_EQ(items.as_array()[0].at("vehicle_id"), json::value(vehicle_));
    EXPECT_EQ(items.as_array()[0].at("owner_id"), json::value(alice_.id));
    const json::value charging = items.as_array()[0].at("charging");
    ASSERT_TRUE(charging.is_object()) << json::serialize(items);
    EXPECT_EQ(charging.at("charger_id"), json::value("CP-1"));
    EXPECT_EQ(charging.at("cluster_id"), json::value(cluster_));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/fleet/vehicles", alice_.token).status, 403);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/fleet/vehicles/" + vehicle_, support_).status, 200);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/fleet/vehicles/nope", support_).status, 404);

    // The abuse job flags the idle connector once.
    for (int i = 0; i < 2; ++i) {
        const auto runs = app_->app().jobs().stats("charging.abuse").runs;
        app_->app().jobs().trigger("charging.abuse");
        for (int k = 0; k < 500 && app_->app().jobs().stats("charging.abuse").runs == runs; ++k) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    auto alerts = call(*app_, "GET", "/api/v1/charging/alerts?kind=idle_occupancy", admin_);
    ASSERT_EQ(alerts.status, 200) << alerts.body;
    ASSERT_EQ(alerts.json().at("total"), json::value(1));
    EXPECT_EQ(alerts.json().at("items").as_array()[0].at("charger_id"), json::value("CP-1"));

    // Fairness over the last day.
    auto fairness = call(*app_, "GET", "/api/v1/analytics/fairness?cluster_id=" + cluster_, fleet_);
    ASSERT_EQ(fairness.status, 200) << fairness.body;
    EXPECT_EQ(fairness.json().at("requests"), json::value(1));
    EXPECT_TRUE(fairness.json().at("by_priority").as_object().contains("normal"));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/analytics/fairness?cluster_id=" + cluster_, alice_.token).status, 403);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/analytics/fairness?cluster_id=nope", fleet_).status, 404);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/analytics/fairness", fleet_).status, 422);
    EXPECT_EQ(
        call(*app_,
             "GET",
             "/api/v1/analytics/fairness?cluster_id=" + cluster_ + "&from=2026-03-29T00:00:00Z&to=2026-03-28T00:00:00Z",
             fleet_)
            .status,
        422);
}

}  // namespace
}  // namespace motorpool::testing
