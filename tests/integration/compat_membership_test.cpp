// The Membership Auto app's documented requests (MOTORPOOL_COMPAT=membership-auto) replayed
// against motorpool: camelCase both ways, bare arrays, {"error"} and 400 {"field": [...]},
// register / login / refresh with the original's session terms (the refresh token good again
// until it expires: 7 days; access tokens 1 h), vehicles and dongles, telematics batches,
// appointments, offers, referrals, chat and file presigning. Every backend.

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/auth.hpp"
#include "core/time.hpp"
#include "harness.hpp"
#include "ws_client.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

class CompatMembershipTest : public ::testing::Test {
protected:
    void SetUp() override {
        // Monday 2026-03-02, 06:00 UTC.
        clock_ = std::make_shared<core::ManualClock>(core::parse_rfc3339("2026-03-02T06:00:00Z").value());
        app_ = std::make_unique<TestApp>(Overrides{{"MOTORPOOL_COMPAT", "membership-auto"}}, nullptr, clock_);
        admin_ = create_user_and_login(*app_, "admin@example.com", auth::Role::Admin).token;
    }
    http::ClientResponse post(const std::string& path, const json::object& body, const std::string& token = "") {
        return call(*app_, "POST", path, token, body);
    }
    // Registers through the original's route: (accessToken, refreshToken, user).
    json::value register_user(const std::string& email, json::object extra = {}) {
        extra["email"] = email;
        extra["password"] = "correct horse battery";
        auto r = post("/api/auth/register/", extra);
        EXPECT_EQ(r.status, 201) << r.body;
        return r.json();
    }
    std::string vehicle(const std::string& token, int serial) {
        auto r = post("/api/vehicles/", {{"vin", test_vin(serial)}, {"make", "VW"}, {"model", "Golf"}}, token);
        EXPECT_EQ(r.status, 201) << r.body;
        return std::string(r.json().at("id").as_string());
    }

    std::shared_ptr<core::ManualClock> clock_;
    std::unique_ptr<TestApp> app_;
    std::string admin_;
};

TEST_F(CompatMembershipTest, RegisterLoginAndRefreshKeepTheOriginalsTerms) {
    const json::value registered = register_user("ana@example.com", {{"name", "Ana"}, {"phone", "+49 30 1234"}});
    EXPECT_EQ(registered.as_object().size(), 3U);
    const auto& user = registered.at("user").as_object();
    EXPECT_EQ(user.size(), 8U);  // id, name, email, phone, membershipId, referralCode, rewardsBalance, createdAt
    EXPECT_EQ(user.at("name"), json::value("Ana"));
    EXPECT_TRUE(user.at("membershipId").is_null());
    EXPECT_TRUE(user.at("referralCode").is_string());
    EXPECT_EQ(user.at("rewardsBalance").to_number<double>(), 0);
    EXPECT_TRUE(user.at("createdAt").is_string());

    // The name was optional in the original: the e-mail's local part stands in.
    EXPECT_EQ(register_user("ben@example.com").at("user").at("name"), json::value("ben"));
    auto taken = post("/api/auth/register/", {{"email", "ana@example.com"}, {"password", "correct horse battery"}});
    EXPECT_EQ(taken.status, 400);
    EXPECT_EQ(taken.body, R"({"error":"User with this email already exists"})");
    auto weak = post("/api/auth/register/", {{"email", "cy@example.com"}, {"password", "short"}});
    EXPECT_EQ(weak.status, 400);
    EXPECT_TRUE(weak.json().at("password").is_array()) << weak.body;
    auto missing = post("/api/auth/register/", {{"password", "correct horse battery"}});
    EXPECT_EQ(missing.status, 400);
    EXPECT_TRUE(missing.json().at("email").at(0).is_string()) << missing.body;

    auto bad_login = post("/api/auth/login/", {{"email", "ana@example.com"}, {"password", "wrong password!"}});
    EXPECT_EQ(bad_login.status, 401);
    EXPECT_EQ(bad_login.body, R"({"error":"Invalid credentials"})");
    auto login = post("/api/auth/login/",
                      {{"email", "ana@example.com"}, {"password", "correct horse battery"}, {"deviceId", "phone-1"}});
    ASSERT_EQ(login.status, 200) << login.body;
    const std::string refresh(login.json().at("refreshToken").as_string());
    EXPECT_EQ(login.json().at("user").at("email"), json::value("ana@example.com"));

    // The same refresh token, again and again (the app keeps the first): a new access token each time.
    for (int i = 0; i < 3; ++i) {
        clock_->advance_ms(50 * 60'000);
        auto refreshed = post("/api/auth/refresh/", {{"refreshToken", refresh}});
        ASSERT_EQ(refreshed.status, 200) << i << " " << refreshed.body;
        EXPECT_EQ(refreshed.json().as_object().size(), 1U);
        const std::string access(refreshed.json().at("accessToken").as_string());
        EXPECT_EQ(call(*app_, "GET", "/api/vehicles/", access).status, 200);
        // Access tokens live an hour: 59 minutes on, still good; 61, not.
        clock_->advance_ms(59 * 60'000);
        EXPECT_EQ(call(*app_, "GET", "/api/vehicles/", access).status, 200);
        clock_->advance_ms(2 * 60'000);
        auto expired = call(*app_, "GET", "/api/vehicles/", access);
        EXPECT_EQ(expired.status, 401);
        EXPECT_TRUE(expired.json().at("detail").is_string()) << expired.body;
    }
    // Seven days after it was issued the refresh token is spent.
    clock_->advance_ms(7LL * 86'400'000);
    auto spent = post("/api/auth/refresh/", {{"refreshToken", refresh}});
    EXPECT_EQ(spent.status, 401);
    EXPECT_EQ(spent.body, R"({"error":"Invalid refresh token"})");
    EXPECT_EQ(post("/api/auth/refresh/", {{"refreshToken", "nope"}}).status, 401);
    EXPECT_EQ(post("/api/auth/refresh/", {}).status, 400);

    // motorpool's own sessions still rotate: the first refresh token is refused the second time.
    auto own = call(*app_,
                    "POST",
                    "/api/v1/auth/login",
                    "",
                    json::object{{"email", "ana@example.com"}, {"password", "correct horse battery"}});
    const std::string rotating(own.json().at("refresh_token").as_string());
    EXPECT_EQ(call(*app_, "POST", "/api/v1/auth/refresh", "", json::object{{"refresh_token", rotating}}).status, 200);
    EXPECT_EQ(call(*app_, "POST", "/api/v1/auth/refresh", "", json::object{{"refresh_token", rotating}}).status, 401);
}

TEST_F(CompatMembershipTest, VehiclesDonglesAndTelematics) {
    const std::string ana(register_user("ana@example.com").at("accessToken").as_string());
    const std::string ben(register_user("ben@example.com").at("accessToken").as_string());
    EXPECT_EQ(call(*app_, "GET", "/api/vehicles/", ana).body, "[]");
    EXPECT_EQ(call(*app_, "GET", "/api/vehicles/", "").status, 401);

    auto created = post("/api/vehicles/",
                        {{"vin", test_vin(1)},
                         {"make", "VW"},
                         {"model", "Golf"},
                         {"year", 2021},
                         {"licensePlate", "B-AB 123"},
                         {"odometer", 15000.5},
                         {"fuelType", "gasoline"}},
                        ana);
    ASSERT_EQ(created.status, 201) << created.body;
    const auto v = created.json().as_object();
    EXPECT_EQ(v.size(), 13U);
    EXPECT_EQ(v.at("licensePlate"), json::value("B-AB 123"));
    EXPECT_EQ(v.at("odometer").to_number<double>(), 15000.5);
    EXPECT_EQ(v.at("fuelType"), json::value("gasoline"));
    EXPECT_TRUE(v.at("dongleId").is_null());
    const std::string id(v.at("id").as_string());
    auto invalid = post("/api/vehicles/", {{"vin", "NOT-A-VIN"}, {"make", "VW"}, {"model", "Golf"}}, ana);
    EXPECT_EQ(invalid.status, 400);
    EXPECT_TRUE(invalid.json().at("vin").is_array()) << invalid.body;

    auto linked =
        post("/api/vehicles/" + id + "/link-dongle/", {{"dongleId", "OBD-42"}, {"connectionType", "BLE"}}, ana);
    ASSERT_EQ(linked.status, 200) << linked.body;
    EXPECT_EQ(linked.json().at("dongleId"), json::value("OBD-42"));
    EXPECT_EQ(linked.json().at("dongleConnectionType"), json::value("BLE"));
    EXPECT_EQ(post("/api/vehicles/" + id + "/link-dongle/", {{"dongleId", "X"}, {"connectionType", "USB"}}, ana).status,
              400);
    auto others = post("/api/vehicles/" + id + "/link-dongle/", {{"dongleId", "X"}, {"connectionType", "BLE"}}, ben);
    EXPECT_EQ(others.status, 404);
    EXPECT_EQ(others.body, R"({"error":"Vehicle not found"})");
    auto listed = call(*app_, "GET", "/api/vehicles/", ana).json();
    ASSERT_EQ(listed.as_array().size(), 1U);
    EXPECT_EQ(listed.at(0).at("dongleId"), json::value("OBD-42"));

    const std::int64_t start = clock_->now_ms() - 60'000;
    const json::object batch{
        {"vehicleId", id},
        {"startTimestamp", start},
        {"endTimestamp", start + 30'000},
        {"samples",
         json::array{json::object{{"t", start}, {"speed", 45.5}, {"fuelRate", 2.3}, {"odometer", 15000.5}},
                     json::object{{"t", start + 30'000}, {"speed", 50}, {"dtcList", json::array{"P0300"}}},
                     json::object{{"speed", 40}}}}};  // t defaults to startTimestamp
    auto accepted = post("/api/telematics/" + id + "/", batch, ana);
    ASSERT_EQ(accepted.status, 202) << accepted.body;
    EXPECT_EQ(accepted.body, R"({"message":"Telemetry batch accepted"})");
    auto signals = call(*app_, "GET", "/api/v1/vehicles/" + id + "/signals", ana).json().at("signals");
    EXPECT_EQ(signals.at("Motion.Speed").at("value").to_number<double>(), 50);
    EXPECT_EQ(signals.at("Fuel.Rate").at("value").to_number<double>(), 2.3);
    EXPECT_EQ(post("/api/telematics/" + id + "/", batch, ana).status, 202);  // a re-delivery: idempotent

    json::object bad = batch;
    bad["samples"] = json::array{json::object{{"t", start}, {"speed", "fast"}}};
    auto refused = post("/api/telematics/" + id + "/", bad, ana);
    EXPECT_EQ(refused.status, 400);
    EXPECT_TRUE(refused.json().at("samples[0].speed").is_array()) << refused.body;
    auto stranger = post("/api/telematics/" + id + "/", batch, ben);
    EXPECT_EQ(stranger.status, 404);
    EXPECT_EQ(stranger.body, R"({"error":"Vehicle not found"})");
}

TEST_F(CompatMembershipTest, AppointmentsOffersReferralsChatAndFiles) {
    const json::value ana_session = register_user("ana@example.com");
    const std::string ana(ana_session.at("accessToken").as_string());
    const std::string code(ana_session.at("user").at("referralCode").as_string());
    const std::string ben(register_user("ben@example.com", {{"referralCode", code}}).at("accessToken").as_string());
    const std::string car = vehicle(ana, 1);

    ASSERT_EQ(call(*app_,
                   "POST",
                   "/api/v1/services",
                   admin_,
                   json::object{{"code", "oil_change"}, {"name", "Oil"}, {"duration_min", 30}, {"price_cents", 4900}})
                  .status,
              201);
    json::array day{json::value(json::array{"08:00", "18:00"})};  // one window (json::value: not a copy under clang)
    auto place = call(*app_,
                      "POST",
                      "/api/v1/locations",
                      admin_,
                      json::object{{"name", "Berlin"},
                                   {"latitude", 52.52},
                                   {"longitude", 13.405},
                                   {"time_zone", "UTC"},
                                   {"bays", 1},
                                   {"services", json::array{"oil_change"}},
                                   {"opening_hours",
                                    json::object{{"mon", day},
                                                 {"tue", day},
                                                 {"wed", day},
                                                 {"thu", day},
                                                 {"fri", day},
                                                 {"sat", json::array{}},
                                                 {"sun", json::array{}}}}});
    ASSERT_EQ(place.status, 201) << place.body;
    const std::string location(place.json().at("id").as_string());

    auto slots = call(*app_,
                      "GET",
                      "/api/appointments/availability/?locationId=" + location + "&date=2026-03-03&services=oil_change",
                      ana);
    ASSERT_EQ(slots.status, 200) << slots.body;
    const auto available = slots.json().at("availableSlots").as_array();
    ASSERT_FALSE(available.empty());
    EXPECT_EQ(available.at(0).at("start"), json::value("2026-03-03T08:00:00Z"));
    auto unplaced = call(*app_, "GET", "/api/appointments/availability/?date=2026-03-03", ana);
    EXPECT_EQ(unplaced.status, 400);
    EXPECT_EQ(unplaced.json().at("locationId").as_array().size(), 1U) << unplaced.body;
    auto booked = post("/api/appointments/book/",
                       {{"vehicleId", car},
                        {"locationId", location},
                        {"startTime", "2026-03-03T08:00:00Z"},
                        {"services", json::array{"oil_change"}}},
                       ana);
    ASSERT_EQ(booked.status, 201) << booked.body;
    EXPECT_EQ(booked.json().at("startTime"), json::value("2026-03-03T08:00:00Z"));
    EXPECT_EQ(booked.json().at("vehicleId"), json::value(car));
    auto again = post("/api/appointments/book/",
                      {{"vehicleId", car},
                       {"locationId", location},
                       {"startTime", "2026-03-03T08:00:00Z"},
                       {"services", json::array{"oil_change"}}},
                      ana);
    EXPECT_EQ(again.status, 409);
    EXPECT_TRUE(again.json().at("error").is_string()) << again.body;
    auto upcoming = call(*app_, "GET", "/api/appointments/upcoming/", ana).json();
    ASSERT_EQ(upcoming.as_array().size(), 1U);
    EXPECT_EQ(upcoming.at(0).at("locationId"), json::value(location));
    EXPECT_EQ(call(*app_, "GET", "/api/appointments/upcoming/", ben).body, "[]");

    ASSERT_EQ(call(*app_,
                   "POST",
                   "/api/v1/offers",
                   admin_,
                   json::object{{"title", "Spring check"}, {"expires_at", "2026-04-01T00:00:00Z"}})
                  .status,
              201);
    auto offers = call(*app_, "GET", "/api/offers/?lat=52.5&lng=13.4", ana).json();
    ASSERT_EQ(offers.as_array().size(), 1U);
    EXPECT_EQ(offers.at(0).at("title"), json::value("Spring check"));
    EXPECT_EQ(offers.at(0).at("expiry"), json::value("2026-04-01T00:00:00Z"));
    EXPECT_TRUE(offers.at(0).at("eligibleMemberships").is_array());

    auto referrals = call(*app_, "GET", "/api/referrals/me/", ana);
    ASSERT_EQ(referrals.status, 200) << referrals.body;
    EXPECT_EQ(referrals.json().at("code"), json::value(code));
    const json::value referral_body = referrals.json();
    const auto& referral = referral_body.at("referrals").at(0);
    EXPECT_TRUE(referral.at("referredUser").is_string()) << referrals.body;
    EXPECT_EQ(referral.at("rewardsApplied"), json::value(false));
    EXPECT_TRUE(referral.at("referrerUser").is_string());

    auto thread = post("/api/chat/threads/", {{"subject", "Noise"}, {"body", "It rattles"}}, ana);
    ASSERT_EQ(thread.status, 201) << thread.body;
    const std::string thread_id(thread.json().at("id").as_string());
    auto threads = call(*app_, "GET", "/api/chat/threads/", ana).json();
    ASSERT_EQ(threads.as_array().size(), 1U);
    EXPECT_TRUE(threads.at(0).at("lastMessageAt").is_string());
    auto sent = post("/api/chat/threads/" + thread_id + "/messages/", {{"body", "Still rattles"}}, ana);
    ASSERT_EQ(sent.status, 201) << sent.body;
    EXPECT_EQ(sent.json().at("threadId"), json::value(thread_id));
    EXPECT_EQ(sent.json().at("sender"), json::value("user"));
    auto messages = call(*app_, "GET", "/api/chat/threads/" + thread_id + "/messages/", ana).json();
    ASSERT_EQ(messages.as_array().size(), 2U);
    EXPECT_EQ(messages.at(1).at("body"), json::value("Still rattles"));
    auto hidden = call(*app_, "GET", "/api/chat/threads/" + thread_id + "/messages/", ben);
    EXPECT_EQ(hidden.status, 404);
    EXPECT_EQ(hidden.body, R"({"error":"Thread not found"})");
    EXPECT_EQ(post("/api/chat/threads/" + thread_id + "/messages/", {{"body", ""}}, ana).status, 400);

    auto presigned = post(
        "/api/files/presign/", {{"filename", "photo.jpg"}, {"contentType", "image/jpeg"}, {"sizeBytes", 1000}}, ana);
    ASSERT_EQ(presigned.status, 200) << presigned.body;
    for (const char* field : {"url", "method", "publicUrl", "fileId"}) {
        EXPECT_TRUE(presigned.json().as_object().contains(field)) << field << " " << presigned.body;
    }
    EXPECT_EQ(presigned.json().at("method"), json::value("PUT"));
    auto no_size = post("/api/files/presign/", {{"filename", "photo.jpg"}}, ana);
    EXPECT_EQ(no_size.status, 400);
    EXPECT_TRUE(no_size.json().at("sizeBytes").is_array()) << no_size.body;
}

TEST_F(CompatMembershipTest, TheChatSocketSpeaksTheOriginalsFrames) {
    // A socket closes when its token expires by the wall clock: tokens from the real now.
    clock_->advance_ms(core::now_ms() - clock_->now_ms());
    const std::string ana(register_user("ana@example.com").at("accessToken").as_string());
    const std::string ben(register_user("ben@example.com").at("accessToken").as_string());
    const std::string support = create_user_and_login(*app_, "help@example.com", auth::Role::Support).token;
    auto thread = post("/api/chat/threads/", {{"subject", "Noise"}, {"body", "It rattles"}}, ana);
    ASSERT_EQ(thread.status, 201) << thread.body;
    const std::string thread_id(thread.json().at("id").as_string());

    WsClient refused(app_->port(), "/chat/ws");
    EXPECT_EQ(refused.status(), 401U);
    WsClient socket(app_->port(), "/chat/ws?token=" + ana);
    ASSERT_EQ(socket.status(), 101U);
    WsClient stranger(app_->port(), "/chat/ws?token=" + ben);
    ASSERT_EQ(stranger.status(), 101U);
    WsClient staff(app_->port(), "/api/v1/ws?token=" + support);
    ASSERT_EQ(staff.status(), 101U);
    staff.send(json::object{{"type", "SUBSCRIBE"}, {"topic", "chat.thread." + thread_id}});
    const auto subscribed = staff.next();
    ASSERT_TRUE(subscribed.has_value());
    ASSERT_EQ(subscribed->at("type"), json::value("SUBSCRIBED")) << json::serialize(*subscribed);

    // SEND over the socket: stored, and the MESSAGE comes back in the original's shape.
    socket.send(json::object{{"type", "SEND"}, {"threadId", thread_id}, {"body", "Louder now"}});
    auto message = socket.next();
    ASSERT_TRUE(message.has_value());
    ASSERT_EQ(message->at("type"), json::value("MESSAGE")) << json::serialize(*message);
    EXPECT_EQ(message->at("threadId"), json::value(thread_id));
    EXPECT_EQ(message->at("body"), json::value("Louder now"));
    EXPECT_EQ(message->at("sender"), json::value("user"));
    EXPECT_TRUE(message->at("id").is_string());
    EXPECT_TRUE(message->at("timestamp").is_string());
    EXPECT_EQ(call(*app_, "GET", "/api/chat/threads/" + thread_id + "/messages/", ana).json().as_array().size(), 2U);

    // Support's reply (motorpool's REST) reaches the member's socket without a subscription frame.
    ASSERT_EQ(call(*app_,
                   "POST",
                   "/api/v1/chat/threads/" + thread_id + "/messages",
                   support,
                   json::object{{"body", "Bring it in"}})
                  .status,
              201);
    std::optional<json::object> reply;
    for (int i = 0; i < 3 && !(reply && reply->contains("body") && reply->at("body") == "Bring it in"); ++i) {
        reply = socket.next();
    }
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(reply->at("sender"), json::value("support"));

    // TYPING is relayed to the thread; a malformed frame is the original's error.
    socket.send(json::object{{"type", "TYPING"}, {"threadId", thread_id}});
    std::optional<json::object> typing;
    for (int i = 0; i < 4 && !(typing && typing->contains("type") && typing->at("type") == "TYPING"); ++i) {
        typing = staff.next();
    }
    ASSERT_TRUE(typing.has_value());
    EXPECT_EQ(typing->at("thread_id"), json::value(thread_id));
    socket.send(std::string("not json"));
    std::optional<json::object> invalid;
    for (int i = 0; i < 3 && !(invalid && invalid->contains("error")); ++i) {
        invalid = socket.next();
    }
    ASSERT_TRUE(invalid.has_value());
    EXPECT_EQ(invalid->at("error"), json::value("Invalid JSON"));

    // Another member can neither post to the thread nor hear it.
    stranger.send(json::object{{"type", "SEND"}, {"threadId", thread_id}, {"body", "Hi"}});
    auto refusal = stranger.next();
    ASSERT_TRUE(refusal.has_value());
    EXPECT_TRUE(refusal->contains("error")) << json::serialize(*refusal);
    while (auto more = stranger.next(std::chrono::milliseconds(300))) {
        EXPECT_FALSE(more->contains("body")) << json::serialize(*more);
    }
    EXPECT_EQ(call(*app_, "GET", "/api/chat/threads/" + thread_id + "/messages/", ana).json().as_array().size(), 3U);
}

}  // namespace
}  // namespace motorpool::testing
