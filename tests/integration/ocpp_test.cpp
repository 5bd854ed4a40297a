// The OCPP 1.6J central system over real sockets: the upgrade (subprotocol, identity, Basic
// credentials), every CALLERROR code, boot, heartbeat, status, authorisation, transactions and
// meter values stored once, commands motorpool sends (answered, refused, timed out, offline), a
// duplicate connection, and the password rotation. Runs on every backend.

#include <algorithm>
#include <mutex>
#include <tuple>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/auth.hpp"
#include "core/event_bus.hpp"
#include "harness.hpp"
#include "ocpp_client.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

class OcppTest : public ::testing::Test {
protected:
    void SetUp() override {
        app_ = std::make_unique<TestApp>(std::map<std::string, std::string>{{"MOTORPOOL_OCPP_CALL_TIMEOUT", "1s"}});
        admin_ = create_user_and_login(*app_, "admin@example.com", auth::Role::Admin).token;
        auto driver = register_member(*app_, "driver@example.com");
        driver_ = driver.token;
        other_ = register_member(*app_, "other@example.com").token;
        auto r = call(*app_,
                      "POST",
                      "/api/v1/chargers",
                      admin_,
                      json::object{{"id", "CP-1"}, {"max_power_kw", 22}, {"connectors", 2}});
        ASSERT_EQ(r.status, 201) << r.body;
        password_ = std::string(r.json().at("ocpp_password").as_string());
        // An RFID card of the driver, and a blocked one.
        EXPECT_EQ(call(*app_,
                       "POST",
                       "/api/v1/charging/id-tags",
                       admin_,
                       json::object{{"id_tag", "RFID-1"}, {"user_id", driver.id}})
                      .status,
                  201);
        EXPECT_EQ(call(*app_,
                       "POST",
                       "/api/v1/charging/id-tags",
                       admin_,
                       json::object{{"id_tag", "RFID-BLOCKED"}, {"blocked", true}})
                      .status,
                  201);
    }

    std::unique_ptr<OcppClient> connect(const std::string& identity = "CP-1",
                                        std::optional<std::string> password = std::nullopt) {
        return std::make_unique<OcppClient>(app_->port(),
                                            OcppClient::Options{identity, password ? password : password_});
    }

    static json::object boot_payload() {
        return {{"chargePointVendor", "Acme"}, {"chargePointModel", "Volt 22"}, {"firmwareVersion", "1.2.3"}};
    }

    // The answer's payload when it is a CALLRESULT; fails the test otherwise.
    static json::object result(const std::optional<json::array>& answer) {
        if (!answer) {
            ADD_FAILURE() << "no answer";
            return {};
        }
        if ((*answer)[0] != 3) {
            ADD_FAILURE() << "not a CALLRESULT: " << json::serialize(*answer);
            return {};
        }
        return (*answer)[2].as_object();
    }
    static std::string error_code(const std::optional<json::array>& answer) {
        if (!answer || (*answer)[0] != 4) {
            return answer ? "not a CALLERROR: " + json::serialize(*answer) : "no answer";
        }
        return std::string((*answer)[2].as_string());
    }

    json::object charger() {
        auto r = call(*app_, "GET", "/api/v1/chargers/CP-1", admin_);
        EXPECT_EQ(r.status, 200) << r.body;
        return r.json().as_object();
    }

    std::unique_ptr<TestApp> app_;
    std::string admin_, driver_, other_, password_;
};

TEST_F(OcppTest, TheUpgradeChecksIdentityCredentialsAndSubprotocol) {
    EXPECT_EQ(OcppClient(app_->port(), {"NOPE", password_}).status(), 404U);
    EXPECT_EQ(OcppClient(app_->port(), {"CP-1", std::string("wrong-password-0000")}).status(), 401U);
    EXPECT_EQ(OcppClient(app_->port(), {"CP-1", std::nullopt}).status(), 401U);
    EXPECT_EQ(OcppClient(app_->port(), {"CP-2", password_}).status(), 404U);

    OcppClient ok(app_->port(), {"CP-1", password_});
    EXPECT_EQ(ok.status(), 101U);
    EXPECT_EQ(ok.subprotocol(), "ocpp1.6");

    // None of the offered subprotocols: the handshake completes without the header, then closes.
    OcppClient other(app_->port(), {"CP-1", password_, "ocpp2.0.1"});
    EXPECT_EQ(other.status(), 101U);
    EXPECT_EQ(other.subprotocol(), "");
    EXPECT_TRUE(other.wait_closed(std::chrono::seconds(5)));
}

TEST_F(OcppTest, BootHeartbeatAndStatusAreStoredAndAnsweredByTheSchema) {
    auto cp = connect();
    ASSERT_EQ(cp->status(), 101U);
    auto boot = result(cp->call("BootNotification", boot_payload()));
    EXPECT_EQ(boot.at("status"), json::value("Accepted"));
    EXPECT_EQ(boot.at("interval"), json::value(300));
    EXPECT_TRUE(boot.contains("currentTime"));
    EXPECT_FALSE(boot.contains("heartbeatInterval"));  // the spec example's pitfall
    EXPECT_EQ(boot.size(), 3U);

    auto heartbeat = result(cp->call("Heartbeat", json::object{}));
    ASSERT_TRUE(heartbeat.contains("currentTime"));
    EXPECT_EQ(heartbeat.at("currentTime").as_string().back(), 'Z');

    EXPECT_EQ(result(cp->call("StatusNotification",
                              json::object{{"connectorId", 1}, {"errorCode", "NoError"}, {"status", "Preparing"}}))
                  .size(),
              0U);
    EXPECT_EQ(error_code(cp->call("StatusNotification",
                                  json::object{{"connectorId", 0}, {"errorCode", "NoError"}, {"status", "Charging"}})),
              "PropertyConstraintViolation");

    auto ch = charger();
    EXPECT_EQ(ch.at("vendor"), json::value("Acme"));
    EXPECT_EQ(ch.at("firmware_version"), json::value("1.2.3"));
    EXPECT_EQ(ch.at("online"), json::value(true));
    EXPECT_FALSE(ch.at("last_boot_at").is_null());
    EXPECT_EQ(ch.at("connectors").as_array()[0].at("status"), json::value("Preparing"));

    cp.reset();  // disconnect: offline
    for (int i = 0; i < 50 && charger().at("online") == json::value(true); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_EQ(charger().at("online"), json::value(false));
}

TEST_F(OcppTest, EveryMalformedCallGetsItsCallErrorCode) {
    auto cp = connect();
    ASSERT_EQ(cp->status(), 101U);
    EXPECT_EQ(error_code(cp->call("Foo", json::object{})), "NotImplemented");
    EXPECT_EQ(error_code(cp->call("Reset", json::object{{"type", "Soft"}})), "NotSupported");
    EXPECT_EQ(error_code(cp->call("BootNotification", json::object{{"chargePointVendor", "Acme"}})),
              "OccurenceConstraintViolation");
    EXPECT_EQ(
        error_code(cp->call("StatusNotification",
                            json::object{{"connectorId", "1"}, {"errorCode", "NoError"}, {"status", "Available"}})),
        "TypeConstraintViolation");
    EXPECT_EQ(
        error_code(cp->call("BootNotification",
                            json::object{{"chargePointVendor", std::string(21, 'v')}, {"chargePointModel", "M"}})),
        "FormationViolation");
    auto extra = boot_payload();
    extra["colour"] = "red";
    EXPECT_EQ(error_code(cp->call("BootNotification", extra)), "PropertyConstraintViolation");
    EXPECT_EQ(error_code(cp->call("StatusNotification",
                                  json::object{{"connectorId", 1}, {"errorCode", "NoError"}, {"status", "Occupied"}})),
              "FormationViolation");

    // Frames: an id too long is answered with that id; a null payload is not an object; an unknown
    // message type and a message that is not a frame are ignored, and the connection goes on.
    const std::string long_id(37, 'x');
    cp->send_raw(json::serialize(json::array{2, long_id, "Heartbeat", json::object{}}));
    EXPECT_EQ(error_code(cp->answer_to(long_id, std::chrono::seconds(5))), "FormationViolation");
    cp->send_raw("[2,\"p1\",\"Heartbeat\"]");  // no payload at all: incomplete
    EXPECT_EQ(error_code(cp->answer_to("p1", std::chrono::seconds(5))), "ProtocolError");
    cp->send_raw("[2,\"n1\",\"Heartbeat\",null]");
    EXPECT_EQ(error_code(cp->answer_to("n1", std::chrono::seconds(5))), "FormationViolation");
    cp->send_raw("[7,\"u1\",\"Heartbeat\",{}]");
    cp->send_raw("not json at all");
    EXPECT_TRUE(result(cp->call("Heartbeat", json::object{})).contains("currentTime"));
    EXPECT_EQ(charger().at("vendor"), json::value(nullptr));  // nothing malformed was stored
}

TEST_F(OcppTest, TransactionsAndMeterValuesAreStoredOnceAndShownToTheirDriver) {
    auto cp = connect();
    ASSERT_EQ(cp->status(), 101U);
    result(cp->call("BootNotification", boot_payload()));
    EXPECT_EQ(result(cp->call("Authorize", json::object{{"idTag", "RFID-1"}})).at("idTagInfo").at("status"),
              json::value("Accepted"));
    EXPECT_EQ(result(cp->call("Authorize", json::object{{"idTag", "UNKNOWN"}})).at("idTagInfo").at("status"),
              json::value("Invalid"));
    EXPECT_EQ(result(cp->call("Authorize", json::object{{"idTag", "RFID-BLOCKED"}})).at("idTagInfo").at("status"),
              json::value("Blocked"));

    json::object start{
        {"connectorId", 1}, {"idTag", "RFID-1"}, {"meterStart", 1000}, {"timestamp", "2026-12-01T10:00:00Z"}};
    auto started = result(cp->call("StartTransaction", start));
    ASSERT_TRUE(started.at("transactionId").is_int64());
    const std::int64_t tx = started.at("transactionId").as_int64();
    EXPECT_EQ(started.at("idTagInfo").at("status"), json::value("Accepted"));
    // A StartTransaction re-sent after a lost answer gets the same transaction.
    EXPECT_EQ(result(cp->call("StartTransaction", start)).at("transactionId"), json::value(tx));

    json::object meter{
        {"connectorId", 1},
        {"transactionId", tx},
        {"meterValue",
         json::array{json::object{
             {"timestamp", "2026-12-01T10:15:00Z"},
             {"sampledValue",
              json::array{
                  json::object{{"value", "3500"}},
                  json::object{{"value", "7.2"}, {"measurand", "Power.Active.Import"}, {"unit", "kW"}},
                  json::object{{"value", "16"}, {"measurand", "Current.Import"}, {"unit", "A"}, {"phase", "L1"}}}}}}}};
    EXPECT_EQ(result(cp->call("MeterValues", meter)).size(), 0U);
    EXPECT_EQ(result(cp->call("MeterValues", meter)).size(), 0U);  // re-sent: stored once

    auto sessions = call(*app_, "GET", "/api/v1/charging/sessions", driver_);
    ASSERT_EQ(sessions.status, 200) << sessions.body;
    ASSERT_EQ(sessions.json().at("total"), json::value(1));
    const std::string session_id(sessions.json().at("items").as_array()[0].at("id").as_string());
    EXPECT_EQ(sessions.json().at("items").as_array()[0].at("status"), json::value("active"));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/sessions", other_).json().at("total"), json::value(0));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/charging/sessions/" + session_id, other_).status, 404);

    json::object stop{
        {"transactionId", tx},
        {"meterStop", 12000},
        {"timestamp", "2026-12-01T11:00:00Z"},
        {"reason", "EVDisconnected"},
        {"idTag", "RFID-1"},
        {"transactionData",
         json::array{json::object{
             {"timestamp", "2026-12-01T11:00:00Z"},
             {"sampledValue", json::array{json::object{{"value", "12000"}, {"context", "Transaction.End"}}}}}}}};
    auto stopped = result(cp->call("StopTransaction", stop));
    EXPECT_EQ(stopped.at("idTagInfo").at("status"), json::value("Accepted"));
    result(cp->call("StopTransaction", stop));  // re-sent after a reconnect: no change

    auto detail = call(*app_, "GET", "/api/v1/charging/sessions/" + session_id, driver_);
    ASSERT_EQ(detail.status, 200) << detail.body;
    auto s = detail.json().as_object();
    EXPECT_EQ(s.at("status"), json::value("completed"));
    EXPECT_EQ(s.at("energy_wh"), json::value(11000));
    EXPECT_EQ(s.at("stop_reason"), json::value("EVDisconnected"));
    EXPECT_EQ(s.at("transaction_id"), json::value(tx));
    EXPECT_EQ(s.at("meter_values").as_array().size(), 4U);  // three samples once, and the stop's register

    // Unknown transaction: still answered (a charger would otherwise retry forever).
    EXPECT_EQ(result(cp->call("StopTransaction",
                              json::object{
                                  {"transactionId", 999999}, {"meterStop", 1}, {"timestamp", "2026-12-01T11:00:00Z"}}))
                  .size(),
              0U);
}

TEST_F(OcppTest, AnOpenSessionEndsWhenTheChargerRebootsOrReportsAvailable) {
    auto cp = connect();
    ASSERT_EQ(cp->status(), 101U);
    result(cp->call("BootNotification", boot_payload()));
    auto start = [&](int connector, const char* at) {
        return result(cp->call(
                          "StartTransaction",
                          json::object{
                              {"connectorId", connector}, {"idTag", "RFID-1"}, {"meterStart", 100}, {"timestamp", at}}))
            .at("transactionId")
            .as_int64();
    };
    std::mutex mutex;
    std::vector<std::string> stops;  // the stop events drivers see
    auto subscription = app_->app().events().subscribe("charging.session.", [&](const core::Event& e) {
        if (e.payload.find("\"stopped\"") != std::string::npos) {
            std::lock_guard lock(mutex);
            stops.push_back(e.payload);
        }
    });
    start(1, "2026-12-01T08:00:00Z");
    // The StopTransaction never came; the charger rebooted.
    result(cp->call("BootNotification", boot_payload()));
    {
        std::lock_guard lock(mutex);
        ASSERT_EQ(stops.size(), 1U);
        EXPECT_NE(stops[0].find("\"reason\":\"Reboot\""), std::string::npos) << stops[0];
    }
    auto sessions = call(*app_, "GET", "/api/v1/charging/sessions", admin_).json();
    ASSERT_EQ(sessions.at("total"), json::value(1));
    EXPECT_EQ(sessions.at("items").as_array()[0].at("status"), json::value("completed"));
    EXPECT_EQ(sessions.at("items").as_array()[0].at("stop_reason"), json::value("Reboot"));

    const std::int64_t second = start(2, "2026-12-01T09:00:00Z");
    result(cp->call("StatusNotification",
                    json::object{{"connectorId", 2}, {"errorCode", "NoError"}, {"status", "Available"}}));
    sessions = call(*app_, "GET", "/api/v1/charging/sessions", admin_).json();
    EXPECT_EQ(sessions.at("items").as_array()[0].at("transaction_id"), json::value(second));
    EXPECT_EQ(sessions.at("items").as_array()[0].at("stop_reason"), json::value("Other"));
    // A reconnect without a BootNotification finds the charger as it was.
    cp.reset();
    auto again = connect();
    EXPECT_TRUE(result(again->call("Heartbeat", json::object{})).contains("currentTime"));
    EXPECT_EQ(charger().at("vendor"), json::value("Acme"));
    EXPECT_EQ(charger().at("connectors").as_array()[1].at("status"), json::value("Available"));
}

TEST_F(OcppTest, MeterValuesOfAKnownVehicleBecomeItsSignals) {
    auto vehicle = call(*app_,
                        "POST",
                        "/api/v1/vehicles",
                        driver_,
                        json::object{{"vin", test_vin(77)}, {"make", "Kia"}, {"model", "EV6"}});
    ASSERT_EQ(vehicle.status, 201) << vehicle.body;
    const std::string vehicle_id(vehicle.json().at("id").as_string());
    ASSERT_EQ(call(*app_,
                   "POST",
                   "/api/v1/charging/id-tags",
                   admin_,
                   json::object{{"id_tag", "CAR-TAG"}, {"user_id", nullptr}, {"vehicle_id", vehicle_id}})
                  .status,
              201);
    auto cp = connect();
    ASSERT_EQ(cp->status(), 101U);
    result(cp->call("BootNotification", boot_payload()));
    const std::int64_t tx = result(cp->call("StartTransaction",
                                            json::object{{"connectorId", 1},
                                                         {"idTag", "CAR-TAG"},
                                                         {"meterStart", 5000},
                                                         {"timestamp", "2026-12-02T10:00:00Z"}}))
                                .at("transactionId")
                                .as_int64();
    json::object meter{
        {"connectorId", 1},
        {"transactionId", tx},
        {"meterValue",
         json::array{json::object{
             {"timestamp", "2026-12-02T10:30:00Z"},
             {"sampledValue",
              json::array{
                  json::object{{"value", "9500"}},
                  json::object{{"value", "7400"}, {"measurand", "Power.Active.Import"}, {"unit", "W"}},
                  json::object{{"value", "63"}, {"measurand", "SoC"}, {"unit", "Percent"}, {"location", "EV"}}}}}}}};
    result(cp->call("MeterValues", meter));
    auto signals = call(*app_, "GET", "/api/v1/vehicles/" + vehicle_id + "/signals", driver_);
    ASSERT_EQ(signals.status, 200) << signals.body;
    const json::value body = signals.json();
    const auto& s = body.at("signals").as_object();
    ASSERT_TRUE(s.contains("TractionBattery.StateOfCharge")) << signals.body;
    EXPECT_DOUBLE_EQ(s.at("TractionBattery.StateOfCharge").at("value").as_double(), 63.0);
    EXPECT_EQ(s.at("TractionBattery.StateOfCharge").at("source"), json::value("charger"));
    EXPECT_DOUBLE_EQ(s.at("Charge.Wattage").at("value").as_double(), 7.4);
    EXPECT_DOUBLE_EQ(s.at("Charge.EnergyAdded").at("value").as_double(), 4.5);
    auto session = call(*app_, "GET", "/api/v1/charging/sessions", admin_).json();
    EXPECT_EQ(session.at("items").as_array()[0].at("vehicle_id"), json::value(vehicle_id));
}

TEST_F(OcppTest, NotificationsAndEveryCommandTravelBothWays) {
    auto cp = connect();
    ASSERT_EQ(cp->status(), 101U);
    result(cp->call("BootNotification", boot_payload()));
    EXPECT_EQ(result(cp->call("DataTransfer", json::object{{"vendorId", "com.acme"}, {"messageId", "x"}})).at("status"),
              json::value("UnknownVendorId"));
    EXPECT_EQ(result(cp->call("DiagnosticsStatusNotification", json::object{{"status", "Uploaded"}})).size(), 0U);
    EXPECT_EQ(result(cp->call("FirmwareStatusNotification", json::object{{"status", "Installed"}})).size(), 0U);

    // Every command the central system sends, each answered by the charger as the schema says.
    const std::vector<std::tuple<std::string, json::object, json::object>> commands{
        {"RemoteStartTransaction", {{"idTag", "RFID-1"}, {"connectorId", 1}}, {{"status", "Accepted"}}},
        {"RemoteStopTransaction", {{"transactionId", 42}}, {{"status", "Accepted"}}},
        {"ChangeAvailability", {{"connectorId", 0}, {"type", "Inoperative"}}, {{"status", "Scheduled"}}},
        {"TriggerMessage", {{"requestedMessage", "StatusNotification"}}, {{"status", "Accepted"}}},
        {"ClearChargingProfile", {{"chargingProfilePurpose", "TxDefaultProfile"}}, {{"status", "Unknown"}}},
        {"GetCompositeSchedule",
         {{"connectorId", 1}, {"duration", 3600}, {"chargingRateUnit", "W"}},
         {{"status", "Rejected"}}},
        {"ChangeConfiguration", {{"key", "MeterValueSampleInterval"}, {"value", "30"}}, {{"status", "Accepted"}}},
        {"GetConfiguration",
         {{"key", json::array{"MeterValueSampleInterval"}}},
         {{"configurationKey",
           json::array{json::object{{"key", "MeterValueSampleInterval"}, {"readonly", false}, {"value", "30"}}}}}},
        {"Reset", {{"type", "Hard"}}, {{"status", "Accepted"}}},
        {"UnlockConnector", {{"connectorId", 1}}, {{"status", "Unlocked"}}},
        {"ClearCache", {}, {{"status", "Accepted"}}},
        {"DataTransfer", {{"vendorId", "com.motorpool"}}, {{"status", "Rejected"}}},
    };
    for (const auto& [action, request, answer] : commands) {
        cp->on(action, [answer = answer](const json::object&) { return answer; });
        auto r = call(*app_, "POST", "/api/v1/chargers/CP-1/ocpp/" + action, admin_, request);
        ASSERT_EQ(r.status, 200) << action << ": " << r.body;
        EXPECT_EQ(r.json().as_object(), answer) << action;
        json::array sent;
        for (auto& c : cp->calls_received()) {
            if (c[2] != json::value("SetChargingProfile")) {  // the rebalancer's default profile
                sent = std::move(c);
            }
        }
        ASSERT_EQ(sent.size(), 4U);
        EXPECT_EQ(sent[2], json::value(action));
        EXPECT_EQ(sent[3].as_object(), request) << action;
    }
}

TEST_F(OcppTest, PendingChargersTakeNoRemoteStartAndRejectedOnesOnlyBoot) {
    auto patch = [&](const json::object& body) { return call(*app_, "PATCH", "/api/v1/chargers/CP-1", admin_, body); };
    EXPECT_EQ(patch(json::object{{"registration_status", "Maybe"}}).status, 422);
    EXPECT_EQ(call(*app_, "PATCH", "/api/v1/chargers/NOPE", admin_, json::object{{"max_power_kw", 11}}).status, 404);
    EXPECT_EQ(call(*app_, "PATCH", "/api/v1/chargers/CP-1", driver_, json::object{{"max_power_kw", 11}}).status, 403);
    auto pending = patch(json::object{{"registration_status", "Pending"}, {"heartbeat_interval_s", 120}});
    ASSERT_EQ(pending.status, 200) << pending.body;
    EXPECT_EQ(pending.json().at("registration_status"), json::value("Pending"));

    auto cp = connect();
    ASSERT_EQ(cp->status(), 101U);
    auto boot = result(cp->call("BootNotification", boot_payload()));
    EXPECT_EQ(boot.at("status"), json::value("Pending"));
    EXPECT_EQ(boot.at("interval"), json::value(120));
    cp->on("RemoteStartTransaction", [](const json::object&) { return json::object{{"status", "Accepted"}}; });
    cp->on("GetConfiguration", [](const json::object&) { return json::object{{"configurationKey", json::array{}}}; });
    auto start = call(
        *app_, "POST", "/api/v1/chargers/CP-1/ocpp/RemoteStartTransaction", admin_, json::object{{"idTag", "RFID-1"}});
    EXPECT_EQ(start.status, 409) << start.body;
    EXPECT_EQ(call(*app_, "POST", "/api/v1/chargers/CP-1/ocpp/GetConfiguration", admin_, json::object{}).status, 200);

    ASSERT_EQ(patch(json::object{{"registration_status", "Rejected"}}).status, 200);
    EXPECT_EQ(error_code(cp->call("Heartbeat", json::object{})), "SecurityError");
    EXPECT_EQ(result(cp->call("BootNotification", boot_payload())).at("status"), json::value("Rejected"));

    ASSERT_EQ(patch(json::object{{"registration_status", "Accepted"}}).status, 200);
    EXPECT_EQ(result(cp->call("BootNotification", boot_payload())).at("status"), json::value("Accepted"));
    EXPECT_EQ(call(*app_,
                   "POST",
                   "/api/v1/chargers/CP-1/ocpp/RemoteStartTransaction",
                   admin_,
                   json::object{{"idTag", "RFID-1"}})
                  .status,
              200);
}

TEST_F(OcppTest, TheChargerAndItsSessionsArePublishedOnTheBus) {
    std::mutex mutex;
    std::vector<std::pair<std::string, std::string>> seen;  // (topic, type)
    auto subscription = app_->app().events().subscribe("charg", [&](const core::Event& e) {
        std::lock_guard lock(mutex);
        seen.emplace_back(e.topic, e.type);
    });
    auto cp = connect();
    ASSERT_EQ(cp->status(), 101U);
    result(cp->call("BootNotification", boot_payload()));
    result(cp->call("StatusNotification",
                    json::object{{"connectorId", 1}, {"errorCode", "NoError"}, {"status", "Charging"}}));
    auto started = result(cp->call(
        "StartTransaction",
        json::object{
            {"connectorId", 1}, {"idTag", "RFID-1"}, {"meterStart", 0}, {"timestamp", "2026-12-02T10:00:00Z"}}));
    auto sessions = call(*app_, "GET", "/api/v1/charging/sessions", admin_).json();
    const std::string session(sessions.at("items").as_array()[0].at("id").as_string());
    cp.reset();
    for (int i = 0; i < 50; ++i) {
        {
            std::lock_guard lock(mutex);
            if (std::count(seen.begin(),
                           seen.end(),
                           std::make_pair(std::string("charger.CP-1"), std::string("ONLINE"))) == 2) {
                break;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::lock_guard lock(mutex);
    auto has = [&](const std::string& topic, const std::string& type) {
        return std::find(seen.begin(), seen.end(), std::make_pair(topic, type)) != seen.end();
    };
    EXPECT_TRUE(has("charger.CP-1", "ONLINE"));
    EXPECT_TRUE(has("charger.CP-1", "BOOT"));
    EXPECT_TRUE(has("charger.CP-1", "STATUS"));
    EXPECT_TRUE(has("charger.CP-1", "SESSION"));
    EXPECT_TRUE(has("charging.session." + session, "SESSION"));
    // Online when it connected, offline when it went.
    EXPECT_EQ(std::count(seen.begin(), seen.end(), std::make_pair(std::string("charger.CP-1"), std::string("ONLINE"))),
              2);
}

TEST_F(OcppTest, CommandsReachTheChargerAndTheirFailuresAreNamed) {
    auto offline = call(*app_, "POST", "/api/v1/chargers/CP-1/ocpp/Reset", admin_, json::object{{"type", "Soft"}});
    EXPECT_EQ(offline.status, 409) << offline.body;

    auto cp = connect();
    ASSERT_EQ(cp->status(), 101U);
    result(cp->call("BootNotification", boot_payload()));
    cp->on("Reset", [](const json::object& p) {
        return json::object{{"status", p.at("type") == "Soft" ? "Accepted" : "Rejected"}};
    });
    auto reset = call(*app_, "POST", "/api/v1/chargers/CP-1/ocpp/Reset", admin_, json::object{{"type", "Soft"}});
    ASSERT_EQ(reset.status, 200) << reset.body;
    EXPECT_EQ(reset.json().at("status"), json::value("Accepted"));
    // Besides the TxDefaultProfile the rebalancer sends every accepted charger.
    std::vector<json::array> calls;
    for (auto& c : cp->calls_received()) {
        if (c[2] != json::value("SetChargingProfile")) {
            calls.push_back(std::move(c));
        }
    }
    ASSERT_EQ(calls.size(), 1U);
    EXPECT_EQ(calls[0][2], json::value("Reset"));
    EXPECT_LE(calls[0][1].as_string().size(), 36U);

    EXPECT_EQ(call(*app_, "POST", "/api/v1/chargers/CP-1/ocpp/Reset", admin_, json::object{{"type", "Warm"}}).status,
              422);
    EXPECT_EQ(call(*app_, "POST", "/api/v1/chargers/CP-1/ocpp/Heartbeat", admin_, json::object{}).status, 404);
    EXPECT_EQ(call(*app_, "POST", "/api/v1/chargers/CP-1/ocpp/Reset", driver_, json::object{{"type", "Soft"}}).status,
              403);
    // No handler on the charger: its CALLERROR comes back as 502.
    auto unlock =
        call(*app_, "POST", "/api/v1/chargers/CP-1/ocpp/UnlockConnector", admin_, json::object{{"connectorId", 1}});
    EXPECT_EQ(unlock.status, 502) << unlock.body;
    // A charger that does not answer: 504 after MOTORPOOL_OCPP_CALL_TIMEOUT (1 s here).
    cp->ignore("ClearCache");
    EXPECT_EQ(call(*app_, "POST", "/api/v1/chargers/CP-1/ocpp/ClearCache", admin_, json::object{}).status, 504);
    // An answer that breaks the schema is not passed on.
    cp->on("GetConfiguration", [](const json::object&) { return json::object{{"colour", "red"}}; });
    EXPECT_EQ(call(*app_, "POST", "/api/v1/chargers/CP-1/ocpp/GetConfiguration", admin_, json::object{}).status, 502);
    // Limits are multiples of 0.1 (with ocpp-rpc's tolerance: 16.0 is one, 8.15 is not).
    cp->on("SetChargingProfile", [](const json::object&) { return json::object{{"status", "Accepted"}}; });
    auto profile = [](double limit) {
        return json::object{
            {"connectorId", 0},
            {"csChargingProfiles",
             json::object{{"chargingProfileId", 7},
                          {"stackLevel", 0},
                          {"chargingProfilePurpose", "ChargePointMaxProfile"},
                          {"chargingProfileKind", "Absolute"},
                          {"chargingSchedule",
                           json::object{{"chargingRateUnit", "A"},
                                        {"startSchedule", "2026-12-01T00:00:00Z"},
                                        {"chargingSchedulePeriod",
                                         json::array{json::object{{"startPeriod", 0}, {"limit", limit}}}}}}}}};
    };
    EXPECT_EQ(call(*app_, "POST", "/api/v1/chargers/CP-1/ocpp/SetChargingProfile", admin_, profile(16.0)).status, 200);
    EXPECT_EQ(call(*app_, "POST", "/api/v1/chargers/CP-1/ocpp/SetChargingProfile", admin_, profile(7.3)).status, 200);
    auto rejected = call(*app_, "POST", "/api/v1/chargers/CP-1/ocpp/SetChargingProfile", admin_, profile(8.15));
    EXPECT_EQ(rejected.status, 422) << rejected.body;
    // The key a charger authenticates with changes only by rotation.
    EXPECT_EQ(call(*app_,
                   "POST",
                   "/api/v1/chargers/CP-1/ocpp/ChangeConfiguration",
                   admin_,
                   json::object{{"key", "AuthorizationKey"}, {"value", "x"}})
                  .status,
              422);
}

TEST_F(OcppTest, ASecondConnectionReplacesTheFirst) {
    auto first = connect();
    ASSERT_EQ(first->status(), 101U);
    result(first->call("BootNotification", boot_payload()));
    auto second = connect();
    ASSERT_EQ(second->status(), 101U);
    EXPECT_TRUE(first->wait_closed(std::chrono::seconds(5)));
    EXPECT_TRUE(result(second->call("Heartbeat", json::object{})).contains("currentTime"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(charger().at("online"), json::value(true));  // the first one's end does not mark it offline
    second->on("Reset", [](const json::object&) { return json::object{{"status", "Accepted"}}; });
    EXPECT_EQ(call(*app_, "POST", "/api/v1/chargers/CP-1/ocpp/Reset", admin_, json::object{{"type", "Hard"}}).status,
              200);
}

TEST_F(OcppTest, APasswordRotationKeepsTheOldKeyUntilTheChargerAcceptsTheNew) {
    auto cp = connect();
    ASSERT_EQ(cp->status(), 101U);
    result(cp->call("Heartbeat", json::object{}));
    cp->on("ChangeConfiguration", [](const json::object& p) {
        return json::object{{"status", p.at("key") == "AuthorizationKey" ? "Rejected" : "NotSupported"}};
    });
    auto refused = call(*app_, "POST", "/api/v1/chargers/CP-1/password", admin_, json::object{});
    EXPECT_EQ(refused.status, 502) << refused.body;
    cp.reset();
    EXPECT_EQ(connect()->status(), 101U);  // the old key still works

    auto again = connect();
    again->on("ChangeConfiguration", [](const json::object&) { return json::object{{"status", "Accepted"}}; });
    auto rotated = call(*app_, "POST", "/api/v1/chargers/CP-1/password", admin_, json::object{});
    ASSERT_EQ(rotated.status, 200) << rotated.body;
    const std::string fresh(rotated.json().at("ocpp_password").as_string());
    json::array sent;
    for (auto& c : again->calls_received()) {
        if (c[2] == json::value("ChangeConfiguration")) {
            sent = std::move(c);
        }
    }
    ASSERT_EQ(sent.size(), 4U);
    EXPECT_EQ(sent[3].at("value"), json::value(fresh));
    again.reset();
    EXPECT_EQ(connect("CP-1", password_)->status(), 401U);
    EXPECT_EQ(connect("CP-1", fresh)->status(), 101U);
}

}  // namespace
}  // namespace motorpool::testing
