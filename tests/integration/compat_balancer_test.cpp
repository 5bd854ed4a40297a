// The EV charging load balancer's documented requests (MOTORPOOL_COMPAT=charging-balancer)
// replayed against motorpool's charging module: slot and emergency requests, charging status,
// the fleet, the grid cluster and fairness, in FastAPI's shapes, with who may and may not.
// Every backend.

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/auth.hpp"
#include "core/time.hpp"
#include "harness.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

class CompatBalancerTest : public ::testing::Test {
protected:
    void start(Overrides overrides = {}) {
        overrides.emplace("MOTORPOOL_COMPAT", "charging-balancer");
        clock_ = std::make_shared<core::ManualClock>(core::parse_rfc3339("2026-03-02T06:00:00Z").value());
        app_ = std::make_unique<TestApp>(std::move(overrides), nullptr, clock_);
        admin_ = create_user_and_login(*app_, "admin@example.com", auth::Role::Admin).token;
        fleet_ = create_user_and_login(*app_, "fleet@example.com", auth::Role::FleetManager).token;
        alice_ = register_member(*app_, "alice@example.com").token;
        bob_ = register_member(*app_, "bob@example.com").token;
        auto site =
            call(*app_, "POST", "/api/v1/grid/sites", admin_, json::object{{"name", "Depot"}, {"time_zone", "UTC"}});
        ASSERT_EQ(site.status, 201) << site.body;
        auto cluster = call(*app_,
                            "POST",
                            "/api/v1/grid/clusters",
                            admin_,
                            json::object{{"name", "Depot"}, {"capacity_kw", 50}, {"site_id", site.json().at("id")}});
        ASSERT_EQ(cluster.status, 201) << cluster.body;
        cluster_ = std::string(cluster.json().at("id").as_string());
        auto car = call(*app_,
                        "POST",
                        "/api/v1/vehicles",
                        alice_,
                        json::object{{"vin", test_vin(1)}, {"make", "Tesla"}, {"model", "Model 3"}, {"year", 2021}});
        ASSERT_EQ(car.status, 201) << car.body;
        vehicle_ = std::string(car.json().at("id").as_string());
    }
    json::object slot(json::object extra = {}) {
        json::object body{{"vehicle_id", vehicle_},
                          {"requested_start", core::format_rfc3339(clock_->now_ms())},
                          {"duration_minutes", 240},
                          {"energy_kwh", 20}};
        for (auto& [k, v] : extra) {
            body[k] = v;
        }
        return body;
    }

    std::shared_ptr<core::ManualClock> clock_;
    std::unique_ptr<TestApp> app_;
    std::string admin_, fleet_, alice_, bob_, cluster_, vehicle_;
};

TEST_F(CompatBalancerTest, DriversRequestSlotsAndEmergencies) {
    start();
    auto anonymous = call(*app_, "POST", "/drivers/slot/request", "", slot());
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_TRUE(anonymous.json().at("detail").is_string()) << anonymous.body;

    // The only cluster is the default when the request names none.
    auto requested = call(*app_, "POST", "/drivers/slot/request", alice_, slot());
    ASSERT_EQ(requested.status, 200) << requested.body;
    const json::value answer = requested.json();
    EXPECT_EQ(answer.as_object().size(), 2U);
    const auto& s = answer.at("slot");
    EXPECT_EQ(s.at("vehicle_id"), json::value(vehicle_));
    EXPECT_EQ(s.at("grid_cluster_id"), json::value(cluster_));
    EXPECT_EQ(s.at("duration_minutes"), json::value(240));
    EXPECT_EQ(s.at("end_time"), json::value(core::format_rfc3339(clock_->now_ms() + 240 * 60'000)));
    EXPECT_EQ(s.at("is_emergency"), json::value(false));
    EXPECT_TRUE(answer.at("status") == json::value("allocated") || answer.at("status") == json::value("unavailable"));
    // motorpool's own view has it.
    auto listed = call(*app_, "GET", "/api/v1/charging/slot-requests", alice_);
    EXPECT_EQ(listed.json().at("total"), json::value(1)) << listed.body;

    // Bad input: FastAPI's 422 locations; another member's car is not found.
    auto no_start = call(*app_, "POST", "/drivers/slot/request", alice_, slot({{"requested_start", "soon"}}));
    EXPECT_EQ(no_start.status, 422);
    EXPECT_EQ(no_start.json().at("detail").at(0).at("loc"), (json::array{"body", "requested_start"}));
    EXPECT_EQ(call(*app_, "POST", "/drivers/slot/request", alice_, slot({{"duration_minutes", 0}})).status, 422);
    auto stranger = call(*app_, "POST", "/drivers/slot/request", bob_, slot());
    EXPECT_EQ(stranger.status, 404);
    EXPECT_TRUE(stranger.json().at("detail").is_string());
    auto unknown_cluster =
        call(*app_, "POST", "/drivers/slot/request", alice_, slot({{"grid_cluster_id", "no-such-cluster"}}));
    EXPECT_EQ(unknown_cluster.status, 422) << unknown_cluster.body;
    // Named as the original names it: the loc is the body's grid_cluster_id.
    EXPECT_EQ(unknown_cluster.json().at("detail").at(0).at("loc").at(1), json::value("grid_cluster_id"))
        << unknown_cluster.body;
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/slot-requests", alice_).json().at("total"), json::value(1));

    auto emergency = call(*app_, "POST", "/drivers/emergency/request", alice_, json::object{{"vehicle_id", vehicle_}});
    ASSERT_EQ(emergency.status, 200) << emergency.body;
    EXPECT_TRUE(emergency.json().at("is_emergency").is_bool());
    EXPECT_EQ(emergency.json().at("reason"), json::value("Emergency charge requested"));
    EXPECT_TRUE(emergency.json().at("confidence").is_null());
    EXPECT_TRUE(emergency.json().at("request_id").is_string());
    EXPECT_EQ(call(*app_, "POST", "/drivers/emergency/request", alice_, json::object{}).status, 422);

    // Nothing is charging yet.
    auto status = call(*app_, "GET", "/drivers/charging/status?vehicle_id=" + vehicle_, alice_);
    EXPECT_EQ(status.status, 404);
    EXPECT_EQ(status.body, R"({"detail":"No active charging session"})");
}

TEST_F(CompatBalancerTest, FleetGridAndFairnessViews) {
    start();
    auto fleet = call(*app_, "GET", "/fleet/vehicles", fleet_);
    ASSERT_EQ(fleet.status, 200) << fleet.body;
    ASSERT_EQ(fleet.json().as_array().size(), 1U) << fleet.body;
    EXPECT_EQ(fleet.json().at(0).at("id"), json::value(vehicle_));
    EXPECT_EQ(fleet.json().at(0).at("make"), json::value("Tesla"));
    auto member = call(*app_, "GET", "/fleet/vehicles", alice_);
    EXPECT_EQ(member.status, 403);
    EXPECT_TRUE(member.json().at("detail").is_string());
    for (const char* path : {"/fleet/vehicle/", "/fleet/vehicles/"}) {
        auto one = call(*app_, "GET", path + vehicle_, fleet_);
        ASSERT_EQ(one.status, 200) << path << one.body;
        EXPECT_EQ(one.json().at("id"), json::value(vehicle_));
        auto missing = call(*app_, "GET", std::string(path) + "nope", fleet_);
        EXPECT_EQ(missing.status, 404);
        EXPECT_EQ(missing.body, R"({"detail":"Vehicle not found"})");
    }

    // The grid is staff's to see (the original had no authentication).
    auto driver = call(*app_, "GET", "/grid/cluster", alice_);
    EXPECT_EQ(driver.status, 403);
    EXPECT_TRUE(driver.json().at("detail").is_string());
    auto grid = call(*app_, "GET", "/grid/cluster", fleet_);
    ASSERT_EQ(grid.status, 200) << grid.body;
    EXPECT_EQ(grid.json().at("cluster_id"), json::value(cluster_));
    EXPECT_EQ(grid.json().at("max_capacity_kw").to_number<double>(), 50);
    EXPECT_EQ(grid.json().at("current_load_kw").to_number<double>(), 0);
    EXPECT_EQ(grid.json().at("utilization_percent").to_number<double>(), 0);
    EXPECT_EQ(grid.json().at("available_capacity_kw").to_number<double>(), 50);
    auto missing = call(*app_, "GET", "/grid/cluster?cluster_id=nope", fleet_);
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.body, R"({"detail":"Grid cluster not found"})");

    auto fairness = call(*app_, "GET", "/analytics/fairness", fleet_);
    ASSERT_EQ(fairness.status, 200) << fairness.body;
    EXPECT_TRUE(fairness.json().at("jain_index").is_number());
    EXPECT_TRUE(fairness.json().at("average_wait_time").is_number());
    EXPECT_TRUE(fairness.json().at("wait_times_by_priority").is_object());
}

TEST_F(CompatBalancerTest, GridClusterIdNamesTheDefaultAndConnectRedirects) {
    start({{"GRID_CLUSTER_ID", "configured-elsewhere"}});
    // The configured default wins over "the only cluster": it names none that exists here.
    EXPECT_EQ(call(*app_, "GET", "/grid/cluster", fleet_).status, 404);
    EXPECT_EQ(call(*app_, "GET", "/grid/cluster?cluster_id=" + cluster_, fleet_).status, 200);

    EXPECT_EQ(app_->client().get("/auth/smartcar/connect").status, 401);
    auto connect = app_->client().get("/auth/smartcar/connect?token=" + alice_);
    ASSERT_EQ(connect.status, 302) << connect.body;
    EXPECT_FALSE(query_value(connect.header("Location").value_or(""), "state").empty());
    // The callback at the original's path is motorpool's (a bad state is refused).
    EXPECT_EQ(app_->client().get("/auth/smartcar/callback?code=x&state=nope").status, 400);
}

}  // namespace
}  // namespace motorpool::testing
