// EV charging data over REST: sites, grid clusters (capacity schedule, load and headroom),
// chargers (connectors, the OCPP password shown once), who may manage and read, and the precise
// 4xx for bad input that changes nothing. Runs on every backend.

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/auth.hpp"
#include "harness.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

class ChargingRestTest : public ::testing::Test {
protected:
    void SetUp() override {
        app_ = std::make_unique<TestApp>();
        admin_ = create_user_and_login(*app_, "admin@example.com", auth::Role::Admin).token;
        fleet_ = create_user_and_login(*app_, "fleet@example.com", auth::Role::FleetManager).token;
        member_ = register_member(*app_, "driver@example.com").token;
    }

    json::object post(const std::string& path, const json::value& body, int expected = 201) {
        auto r = call(*app_, "POST", path, admin_, body);
        EXPECT_EQ(r.status, expected) << path << ": " << r.body;
        return r.json().as_object();
    }

    std::vector<std::string> fields_of(const http::ClientResponse& r) {
        std::vector<std::string> out;
        const json::value body = r.json();  // kept: a range-for over a temporary's member dangles
        for (const auto& e : body.at("errors").as_array()) {
            out.emplace_back(e.at("field").as_string());
        }
        return out;
    }

    std::unique_ptr<TestApp> app_;
    std::string admin_, fleet_, member_;
};

TEST_F(ChargingRestTest, ASiteAClusterAndAChargerWithItsPasswordShownOnce) {
    auto site =
        post("/api/v1/grid/sites",
             json::object{{"name", "Depot"}, {"time_zone", "Europe/Berlin"}, {"latitude", 52.5}, {"longitude", 13.4}});
    EXPECT_EQ(site.at("time_zone"), json::value("Europe/Berlin"));
    const std::string site_id(site.at("id").as_string());

    auto cluster = post(
        "/api/v1/grid/clusters",
        json::object{
            {"name", "Transformer A"},
            {"site_id", site_id},
            {"capacity_kw", 150},
            {"peak_shaving_target_kw", 120},
            {"base_load_kw", 20},
            {"capacity_schedule", json::array{json::object{{"from", "17:00"}, {"to", "21:00"}, {"capacity_kw", 80}}}}});
    const std::string cluster_id(cluster.at("id").as_string());
    EXPECT_EQ(cluster.at("site_id"), json::value(site_id));
    EXPECT_DOUBLE_EQ(cluster.at("current_load_kw").as_double(), 20.0);
    EXPECT_DOUBLE_EQ(cluster.at("headroom_kw").as_double(), 100.0);  // peak-shaving target 120 - base 20
    EXPECT_EQ(cluster.at("capacity_schedule").as_array().size(), 1U);

    auto charger =
        post("/api/v1/chargers",
             json::object{{"id", "CP-001"}, {"cluster_id", cluster_id}, {"max_power_kw", 22}, {"connectors", 2}});
    EXPECT_EQ(charger.at("id"), json::value("CP-001"));
    ASSERT_TRUE(charger.at("ocpp_password").is_string());
    EXPECT_EQ(charger.at("ocpp_password").as_string().size(), 20U);
    EXPECT_EQ(charger.at("security_profile"), json::value(1));
    ASSERT_EQ(charger.at("connectors").as_array().size(), 2U);
    EXPECT_EQ(charger.at("connectors").as_array()[1].at("connector_id"), json::value(2));
    EXPECT_EQ(charger.at("connectors").as_array()[1].at("status"), json::value("Unavailable"));
    EXPECT_EQ(charger.at("online"), json::value(false));

    // Read back: never the password again.
    auto got = call(*app_, "GET", "/api/v1/chargers/CP-001", fleet_);
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_FALSE(got.json().as_object().contains("ocpp_password"));
    EXPECT_EQ(got.json().at("cluster_id"), json::value(cluster_id));

    auto listed = call(*app_, "GET", "/api/v1/chargers?cluster_id=" + cluster_id, fleet_);
    ASSERT_EQ(listed.status, 200) << listed.body;
    EXPECT_EQ(listed.json().at("total"), json::value(1));
    auto one = call(*app_, "GET", "/api/v1/grid/clusters/" + cluster_id, fleet_);
    ASSERT_EQ(one.status, 200);
    EXPECT_EQ(one.json().at("chargers"), json::value(1));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/grid/clusters", fleet_).json().at("total"), json::value(1));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/grid/sites", fleet_).json().at("total"), json::value(1));

    // Connectors listed one by one, and a charger without a password (profile 0, explicitly).
    auto listed_connectors = post("/api/v1/chargers",
                                  json::object{{"id", "CP-002"},
                                               {"max_power_kw", 50},
                                               {"security_profile", 0},
                                               {"connectors",
                                                json::array{json::object{{"max_power_kw", 50}, {"phases", 3}},
                                                            json::object{{"max_power_kw", 11}, {"phases", 1}}}}});
    EXPECT_TRUE(listed_connectors.at("ocpp_password").is_null());
    EXPECT_EQ(listed_connectors.at("connectors").as_array()[1].at("phases"), json::value(1));
    EXPECT_EQ(listed_connectors.at("cluster_id"), json::value(nullptr));
}

TEST_F(ChargingRestTest, MembersNeitherManageNorReadTheInfrastructure) {
    auto r = call(*app_, "POST", "/api/v1/grid/clusters", member_, json::object{{"name", "x"}, {"capacity_kw", 10}});
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(
        call(*app_, "POST", "/api/v1/grid/clusters", fleet_, json::object{{"name", "x"}, {"capacity_kw", 10}}).status,
        403);  // fleet managers read only
    EXPECT_EQ(call(*app_, "GET", "/api/v1/chargers", member_).status, 403);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/grid/clusters", member_).status, 403);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/chargers/nope", fleet_).status, 404);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/grid/clusters/nope", fleet_).status, 404);
    EXPECT_EQ(app_->client().get("/api/v1/chargers").status, 401);
}

TEST_F(ChargingRestTest, BadInputGetsOne422NamingEveryProblemAndChangesNothing) {
    auto r = call(*app_,
                  "POST",
                  "/api/v1/grid/clusters",
                  admin_,
                  json::object{{"name", ""},
                               {"capacity_kw", 100},
                               {"peak_shaving_target_kw", 150},
                               {"capacity_schedule",
                                json::array{json::object{{"from", "08:00"}, {"to", "12:00"}, {"capacity_kw", 50}},
                                            json::object{{"from", "11:00"}, {"to", "13:00"}, {"capacity_kw", 50}},
                                            json::object{{"from", "25:00"}, {"to", "26:00"}, {"capacity_kw", 500}}}},
                               {"colour", "red"}});
    ASSERT_EQ(r.status, 422) << r.body;
    auto fields = fields_of(r);
    for (const char* f : {"name",
                          "peak_shaving_target_kw",
                          "capacity_schedule[1]",
                          "capacity_schedule[2].from",
                          "capacity_schedule[2].to",
                          "capacity_schedule[2].capacity_kw",
                          "colour"}) {
        EXPECT_NE(std::find(fields.begin(), fields.end(), f), fields.end()) << f << " in " << r.body;
    }
    r = call(*app_, "POST", "/api/v1/grid/sites", admin_, json::object{{"name", "x"}, {"time_zone", "Mars/Olympus"}});
    ASSERT_EQ(r.status, 422);
    EXPECT_EQ(fields_of(r), std::vector<std::string>{"time_zone"});

    r = call(*app_,
             "POST",
             "/api/v1/chargers",
             admin_,
             json::object{{"id", "bad:id"}, {"max_power_kw", 0}, {"connectors", 0}});
    ASSERT_EQ(r.status, 422) << r.body;
    fields = fields_of(r);
    for (const char* f : {"id", "max_power_kw", "connectors"}) {
        EXPECT_NE(std::find(fields.begin(), fields.end(), f), fields.end()) << f << " in " << r.body;
    }
    r = call(*app_,
             "POST",
             "/api/v1/chargers",
             admin_,
             json::object{{"id", "CP-9"}, {"max_power_kw", 22}, {"connectors", 1}, {"cluster_id", "no-such-cluster"}});
    ASSERT_EQ(r.status, 422);
    EXPECT_EQ(fields_of(r), std::vector<std::string>{"cluster_id"});
    EXPECT_EQ(call(*app_, "GET", "/api/v1/chargers", admin_).json().at("total"), json::value(0));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/grid/clusters", admin_).json().at("total"), json::value(0));

    post("/api/v1/chargers", json::object{{"id", "CP-9"}, {"max_power_kw", 22}, {"connectors", 1}});
    r = call(*app_,
             "POST",
             "/api/v1/chargers",
             admin_,
             json::object{{"id", "CP-9"}, {"max_power_kw", 11}, {"connectors", 1}});
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/chargers/CP-9", admin_).json().at("max_power_kw").as_double(), 22.0);
}

TEST_F(ChargingRestTest, IdTagsAreManagedByAdminsAndSeenByTheirOwner) {
    auto driver = register_member(*app_, "owner@example.com");
    auto tag =
        post("/api/v1/charging/id-tags",
             json::object{{"id_tag", "04A2B3C4D5"}, {"user_id", driver.id}, {"expires_at", "2030-01-01T00:00:00Z"}});
    const std::string id(tag.at("id").as_string());
    EXPECT_EQ(tag.at("user_id"), json::value(driver.id));
    EXPECT_EQ(tag.at("blocked"), json::value(false));
    EXPECT_EQ(tag.at("expires_at"), json::value("2030-01-01T00:00:00Z"));

    EXPECT_EQ(call(*app_, "POST", "/api/v1/charging/id-tags", admin_, json::object{{"id_tag", "04A2B3C4D5"}}).status,
              409);
    auto bad = call(*app_,
                    "POST",
                    "/api/v1/charging/id-tags",
                    admin_,
                    json::object{{"id_tag", "has space"}, {"expires_at", "tomorrow"}, {"user_id", "nobody"}});
    ASSERT_EQ(bad.status, 422) << bad.body;
    EXPECT_EQ(fields_of(bad), (std::vector<std::string>{"id_tag", "expires_at"}));
    EXPECT_EQ(call(*app_, "POST", "/api/v1/charging/id-tags", member_, json::object{{"id_tag", "X1"}}).status, 403);

    // The owner sees it; another member does not (404), nor lists it.
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/id-tags/" + id, driver.token).status, 200);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/id-tags/" + id, member_).status, 404);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/id-tags", member_).json().at("total"), json::value(0));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/id-tags", driver.token).json().at("total"), json::value(1));

    auto blocked = call(*app_,
                        "PATCH",
                        "/api/v1/charging/id-tags/" + id,
                        admin_,
                        json::object{{"blocked", true}, {"expires_at", nullptr}});
    ASSERT_EQ(blocked.status, 200) << blocked.body;
    EXPECT_EQ(blocked.json().at("blocked"), json::value(true));
    EXPECT_TRUE(blocked.json().at("expires_at").is_null());
    EXPECT_EQ(call(*app_, "PATCH", "/api/v1/charging/id-tags/" + id, admin_, json::object{{"id_tag", "Y"}}).status,
              422);
    EXPECT_EQ(call(*app_, "DELETE", "/api/v1/charging/id-tags/" + id, admin_).status, 204);
    EXPECT_EQ(call(*app_, "DELETE", "/api/v1/charging/id-tags/" + id, admin_).status, 404);
}

}  // namespace
}  // namespace motorpool::testing
