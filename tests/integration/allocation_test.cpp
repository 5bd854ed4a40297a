// The rebalancer over the OCPP path: chargers on one grid cluster receive SetChargingProfile
// limits (a TxDefaultProfile of 0 A at once, then a TxProfile per transaction) whose sum never
// exceeds the cluster's capacity at any moment, re-planned when a car arrives and when one leaves;
// slot requests matched to their sessions by id tag; a charger that refuses profiles planned
// around. Runs on every backend.

#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/auth.hpp"
#include "core/time.hpp"
#include "harness.hpp"
#include "ocpp_client.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

/// What every simulated charger of the cluster has accepted: the limit in force per connector,
/// and the largest sum of limits ever in force at once.
class Grid {
public:
    void started(const std::string& charger, int connector, std::int64_t tx) {
        std::lock_guard lock(mutex_);
        running_[{charger, connector}] = tx;
        check();
    }
    void stopped(const std::string& charger, int connector) {
        std::lock_guard lock(mutex_);
        running_.erase({charger, connector});
        tx_limit_.erase({charger, connector});
    }
    json::object set_profile(const std::string& charger, const json::object& p) {
        if (is_slow(charger)) {
            // A charger slow to apply a limit: what the others accept meanwhile must leave room for it.
            std::this_thread::sleep_for(std::chrono::milliseconds(400));
        }
        std::lock_guard lock(mutex_);
        const int connector = static_cast<int>(p.at("connectorId").to_number<std::int64_t>());
        const auto& profile = p.at("csChargingProfiles").as_object();
        const auto& schedule = profile.at("chargingSchedule").as_object();
        EXPECT_EQ(schedule.at("chargingRateUnit"), json::value("A"));
        const auto& period = schedule.at("chargingSchedulePeriod").as_array().at(0).as_object();
        const double amps = period.at("limit").to_number<double>();
        const double phases = period.contains("numberPhases") ? period.at("numberPhases").to_number<double>() : 3;
        const double kw = amps * 230.0 * phases / 1000.0;
        const std::string purpose(profile.at("chargingProfilePurpose").as_string());
        if (refusing_.count(charger) != 0) {
            return {{"status", "Rejected"}};
        }
        if (purpose == "TxDefaultProfile") {
            EXPECT_EQ(connector, 0);
            default_kw_[charger] = amps * 230.0 * 3 / 1000.0;
            ++defaults_;
        } else {
            EXPECT_EQ(purpose, "TxProfile");
            auto it = running_.find({charger, connector});
            if (it == running_.end() || profile.at("transactionId").to_number<std::int64_t>() != it->second) {
                return {{"status", "Rejected"}};  // OCPP: a TxProfile needs its running transaction
            }
            tx_limit_[{charger, connector}] = kw;
            ++profiles_;
        }
        check();
        return {{"status", "Accepted"}};
    }
    void slow(const std::string& charger) {
        std::lock_guard lock(mutex_);
        slow_.insert(charger);
    }
    bool is_slow(const std::string& charger) {
        std::lock_guard lock(mutex_);
        return slow_.count(charger) != 0;
    }
    void refuse(const std::string& charger) {
        std::lock_guard lock(mutex_);
        refusing_.insert(charger);
    }
    /// The limit in force on a running connector (kW): its TxProfile, else the charger's default.
    std::optional<double> limit(const std::string& charger, int connector) {
        std::lock_guard lock(mutex_);
        return limit_locked(charger, connector);
    }
    double max_sum() {
        std::lock_guard lock(mutex_);
        return max_sum_;
    }
    int defaults() {
        std::lock_guard lock(mutex_);
        return defaults_;
    }

private:
    std::optional<double> limit_locked(const std::string& charger, int connector) {
        if (running_.count({charger, connector}) == 0) {
            return std::nullopt;
        }
        if (auto it = tx_limit_.find({charger, connector}); it != tx_limit_.end()) {
            return it->second;
        }
        auto d = default_kw_.find(charger);
        return d == default_kw_.end() ? 22.0 : d->second;  // no default: the charger's full power
    }
    void check() {
        double sum = 0;
        for (const auto& [key, tx] : running_) {
            if (refusing_.count(key.first) == 0) {
                sum += limit_locked(key.first, key.second).value_or(0);
            }
        }
        max_sum_ = std::max(max_sum_, sum);
    }

    std::mutex mutex_;
    std::map<std::pair<std::string, int>, std::int64_t> running_;
    std::map<std::pair<std::string, int>, double> tx_limit_;
    std::map<std::string, double> default_kw_;
    std::set<std::string> refusing_;
    std::set<std::string> slow_;
    double max_sum_ = 0;
    int defaults_ = 0;
    int profiles_ = 0;
};

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
        if (pred()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
}

class AllocationTest : public ::testing::Test {
protected:
    void SetUp() override {
        app_ = std::make_unique<TestApp>();
        admin_ = create_user_and_login(*app_, "admin@example.com", auth::Role::Admin).token;
        support_ = create_user_and_login(*app_, "support@example.com", auth::Role::Support).token;
        for (int i = 1; i <= 3; ++i) {
            drivers_.push_back(register_member(*app_, "driver" + std::to_string(i) + "@example.com"));
            auto tag = call(*app_,
                            "POST",
                            "/api/v1/charging/id-tags",
                            admin_,
                            json::object{{"id_tag", "RFID-" + std::to_string(i)}, {"user_id", drivers_.back().id}});
            ASSERT_EQ(tag.status, 201) << tag.body;
        }
        auto cluster =
            call(*app_, "POST", "/api/v1/grid/clusters", admin_, json::object{{"name", "Depot"}, {"capacity_kw", 22}});
        ASSERT_EQ(cluster.status, 201) << cluster.body;
        cluster_ = std::string(cluster.json().at("id").as_string());
        for (const char* id : {"CP-A", "CP-B"}) {
            auto r = call(*app_,
                          "POST",
                          "/api/v1/chargers",
                          admin_,
                          json::object{{"id", id}, {"cluster_id", cluster_}, {"max_power_kw", 22}, {"connectors", 2}});
            ASSERT_EQ(r.status, 201) << r.body;
            passwords_[id] = std::string(r.json().at("ocpp_password").as_string());
        }
    }

    std::unique_ptr<OcppClient> connect(const std::string& identity) {
        auto cp = std::make_unique<OcppClient>(app_->port(), OcppClient::Options{identity, passwords_.at(identity)});
        EXPECT_EQ(cp->status(), 101U);
        cp->on("SetChargingProfile",
               [this, identity](const json::object& p) { return grid_.set_profile(identity, p); });
        auto boot =
            cp->call("BootNotification", json::object{{"chargePointVendor", "Acme"}, {"chargePointModel", "AC22"}});
        EXPECT_TRUE(boot && (*boot)[0] == 3);
        for (int c = 1; c <= 2; ++c) {
            cp->call("StatusNotification",
                     json::object{{"connectorId", c}, {"status", "Available"}, {"errorCode", "NoError"}});
        }
        return cp;
    }

    std::int64_t start(OcppClient& cp, const std::string& identity, int connector, const std::string& tag) {
        cp.call("StatusNotification",
                json::object{{"connectorId", connector}, {"status", "Preparing"}, {"errorCode", "NoError"}});
        auto answer = cp.call("StartTransaction",
                              json::object{{"connectorId", connector},
                                           {"idTag", tag},
                                           {"meterStart", 0},
                                           {"timestamp", core::format_rfc3339(core::now_ms())}});
        EXPECT_TRUE(answer && (*answer)[0] == 3);
        const std::int64_t tx = (*answer)[2].at("transactionId").to_number<std::int64_t>();
        grid_.started(identity, connector, tx);
        cp.call("StatusNotification",
                json::object{{"connectorId", connector}, {"status", "Charging"}, {"errorCode", "NoError"}});
        return tx;
    }

    void stop(OcppClient& cp, const std::string& identity, int connector, std::int64_t tx) {
        grid_.stopped(identity, connector);
        cp.call("StopTransaction",
                json::object{{"transactionId", tx},
                             {"meterStop", 5000},
                             {"timestamp", core::format_rfc3339(core::now_ms())},
                             {"reason", "EVDisconnected"}});
        cp.call("StatusNotification",
                json::object{{"connectorId", connector}, {"status", "Available"}, {"errorCode", "NoError"}});
    }

    std::string vehicle_of(int driver) {
        auto r =
            call(*app_,
                 "POST",
                 "/api/v1/vehicles",
                 drivers_.at(static_cast<std::size_t>(driver)).token,
                 json::object{{"vin", test_vin(driver + 1)}, {"make", "Tesla"}, {"model", "Model 3"}, {"year", 2021}});
        EXPECT_EQ(r.status, 201) << r.body;
        return std::string(r.json().at("id").as_string());
    }

    std::unique_ptr<TestApp> app_;
    std::string admin_, support_, cluster_;
    std::vector<ApiUser> drivers_;
    std::map<std::string, std::string> passwords_;
    Grid grid_;
};

TEST_F(AllocationTest, LimitsNeverSumAboveTheClusterAsCarsArriveAndLeave) {
    grid_.slow("CP-A");
    auto a = connect("CP-A");
    auto b = connect("CP-B");
    // Both get a TxDefaultProfile of 0 A: no transaction draws before its plan.
    ASSERT_TRUE(eventually([&] { return grid_.defaults() >= 2; })) << "no TxDefaultProfile";

    // Driver 1 asks first: 30 kWh in 3 hours, matched by the id tag it will present.
    const std::string vehicle = vehicle_of(0);
    auto slot = call(*app_,
                     "POST",
                     "/api/v1/charging/slot-requests",
                     drivers_[0].token,
                     json::object{{"vehicle_id", vehicle},
                                  {"cluster_id", cluster_},
                                  {"energy_kwh", 30},
                                  {"departure_time", core::format_rfc3339(core::now_ms() + 3 * 3'600'000)},
                                  {"id_tag", "RFID-1"}});
    ASSERT_EQ(slot.status, 201) << slot.body;
    const std::string request(slot.json().at("id").as_string());
    EXPECT_EQ(slot.json().at("status"), json::value("waiting"));
    EXPECT_EQ(slot.json().at("reason"), json::value("the car has not plugged in yet"));
    EXPECT_NEAR(slot.json().at("plan").at("power_kw").to_number<double>(), 22.0, 0.01);  // alone: all it can take

    const std::int64_t tx1 = start(*a, "CP-A", 1, "RFID-1");
    ASSERT_TRUE(eventually([&] { return grid_.limit("CP-A", 1).value_or(0) > 21; }))
        << grid_.limit("CP-A", 1).value_or(-1);
    auto matched = call(*app_, "GET", "/api/v1/charging/slot-requests/" + request, drivers_[0].token);
    ASSERT_EQ(matched.status, 200) << matched.body;
    EXPECT_EQ(matched.json().at("status"), json::value("charging"));
    EXPECT_EQ(matched.json().at("charger_id"), json::value("CP-A"));
    EXPECT_EQ(matched.json().at("connector_id"), json::value(1));

    // A second car without a request: a default one; the first car is lowered before it rises.
    const std::int64_t tx2 = start(*b, "CP-B", 1, "RFID-2");
    ASSERT_TRUE(eventually([&] {
        auto l1 = grid_.limit("CP-A", 1).value_or(0), l2 = grid_.limit("CP-B", 1).value_or(0);
        return l2 > 4 && l1 + l2 > 21;
    })) << grid_.limit("CP-A", 1).value_or(-1)
        << " " << grid_.limit("CP-B", 1).value_or(-1);
    EXPECT_LE(grid_.max_sum(), 22.0 + 1e-9);

    // A third car: everyone shares.
    const std::int64_t tx3 = start(*a, "CP-A", 2, "RFID-3");
    ASSERT_TRUE(eventually([&] {
        return grid_.limit("CP-A", 2).value_or(0) > 4 && grid_.limit("CP-A", 1).value_or(0) > 4 &&
               grid_.limit("CP-B", 1).value_or(0) > 4;
    }));
    EXPECT_LE(grid_.max_sum(), 22.0 + 1e-9);
    const double two_and_three = grid_.limit("CP-B", 1).value_or(0) + grid_.limit("CP-A", 2).value_or(0);

    // The first leaves: the others rise into its share.
    stop(*a, "CP-A", 1, tx1);
    ASSERT_TRUE(eventually(
        [&] { return grid_.limit("CP-B", 1).value_or(0) + grid_.limit("CP-A", 2).value_or(0) > two_and_three + 3; }));
    EXPECT_LE(grid_.max_sum(), 22.0 + 1e-9);
    ASSERT_TRUE(eventually([&] {
        auto r = call(*app_, "GET", "/api/v1/charging/slot-requests/" + request, drivers_[0].token);
        return r.status == 200 && r.json().at("status") == json::value("completed");
    }));

    // The cluster shows its plan; the drivers see only their own requests.
    auto detail = call(*app_, "GET", "/api/v1/grid/clusters/" + cluster_, admin_);
    ASSERT_EQ(detail.status, 200) << detail.body;
    const json::value plan = detail.json().at("allocation");
    EXPECT_EQ(plan.at("cars").as_array().size(), 2U);
    EXPECT_LE(plan.at("allocated_kw").to_number<double>(), 22.0 + 1e-9);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/slot-requests/" + request, drivers_[1].token).status, 404);
    auto mine = call(*app_, "GET", "/api/v1/charging/slot-requests", drivers_[1].token);
    ASSERT_EQ(mine.status, 200) << mine.body;
    ASSERT_EQ(mine.json().at("items").as_array().size(), 1U);
    EXPECT_EQ(mine.json().at("items").as_array()[0].at("kind"), json::value("default"));
    (void)tx2;
    (void)tx3;
}

TEST_F(AllocationTest, AChargerThatRefusesProfilesIsPlannedAroundAtItsFullPower) {
    auto a = connect("CP-A");
    auto b = connect("CP-B");
    ASSERT_TRUE(eventually([&] { return grid_.defaults() >= 2; }));
    grid_.refuse("CP-B");
    start(*b, "CP-B", 1, "RFID-2");
    start(*a, "CP-A", 1, "RFID-1");
    // CP-B draws up to 22 kW whatever we say: CP-A gets what is left, which is nothing.
    ASSERT_TRUE(eventually([&] {
        auto detail = call(*app_, "GET", "/api/v1/grid/clusters/" + cluster_, admin_);
        if (detail.status != 200 || !detail.json().at("allocation").is_object()) {
            return false;
        }
        const json::value plan = detail.json().at("allocation");
        return plan.at("reserved_kw").to_number<double>() > 21.9 && plan.at("cars").as_array().size() == 2;
    }));
    EXPECT_NEAR(grid_.limit("CP-A", 1).value_or(-1), 0.0, 1e-9);
}

}  // namespace
}  // namespace motorpool::testing
