// Live updates end to end: authenticated upgrades, authorised subscriptions with SUBSCRIBED /
// ERROR frames, SIGNALS delivered after an ingest commit, garbage and oversize frames, and a slow
// consumer dropped while a fast one keeps receiving. Runs on every backend.

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include "core/crypto.hpp"
#include "core/time.hpp"
#include "harness.hpp"
#include "vehicles/vehicles.hpp"
#include "ws_client.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;
namespace net = boost::asio;
namespace beast = boost::beast;

class LiveTest : public ::testing::Test {
protected:
    void SetUp() override {
        app_ = std::make_unique<TestApp>();
        alice_ = register_member(*app_, "alice@example.com").token;
        bob_ = register_member(*app_, "bob@example.com").token;
        auto v = call(*app_,
                      "POST",
                      "/api/v1/vehicles",
                      alice_,
                      json::value(json::object{{"vin", test_vin(1)}, {"make", "Tesla"}, {"model", "Model 3"}}));
        EXPECT_EQ(v.status, 201) << v.body;
        vehicle_ = std::string(v.json().at("id").as_string());
    }
    int upload(double speed, std::int64_t t_ms) {
        return call(*app_,
                    "POST",
                    "/api/v1/vehicles/" + vehicle_ + "/telemetry",
                    alice_,
                    json::value(
                        json::object{{"samples", json::array{json::object{{"t_ms", t_ms}, {"speed_kmh", speed}}}}}))
            .status;
    }
    std::unique_ptr<WsClient> connect(const std::string& token) {
        return std::make_unique<WsClient>(app_->port(), "/api/v1/ws?token=" + token);
    }

    std::unique_ptr<TestApp> app_;
    std::string alice_, bob_, vehicle_;
};

TEST_F(LiveTest, UpgradeNeedsAValidToken) {
    EXPECT_EQ(WsClient(app_->port(), "/api/v1/ws").status(), 401U);
    EXPECT_EQ(WsClient(app_->port(), "/api/v1/ws?token=garbage").status(), 401U);
    EXPECT_EQ(connect(alice_)->status(), 101U);
}

TEST_F(LiveTest, SubscriptionsAreAuthorisedAndSignalsArriveAfterCommit) {
    auto alice = connect(alice_);
    auto bob = connect(bob_);
    const std::string topic = "vehicle." + vehicle_;
    alice->send(json::object{{"type", "SUBSCRIBE"}, {"topic", topic}});
    auto confirmed = alice->next();
    ASSERT_TRUE(confirmed);
    EXPECT_EQ(confirmed->at("type"), json::value("SUBSCRIBED"));
    EXPECT_EQ(confirmed->at("topic"), json::value(topic));

    bob->send(json::object{{"type", "SUBSCRIBE"}, {"topic", topic}});
    auto refused = bob->next();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->at("type"), json::value("ERROR"));
    EXPECT_EQ(refused->at("code"), json::value("not_found"));
    EXPECT_EQ(refused->at("topic"), json::value(topic));
    bob->send(json::object{{"type", "SUBSCRIBE"}, {"topic", "weather.berlin"}});
    EXPECT_EQ(bob->next()->at("code"), json::value("unknown_topic"));

    ASSERT_EQ(upload(88, core::now_ms()), 202);
    auto signals = alice->next();
    ASSERT_TRUE(signals);
    EXPECT_EQ(signals->at("type"), json::value("SIGNALS"));
    EXPECT_EQ(signals->at("topic"), json::value(topic));  // what it was subscribed under
    EXPECT_EQ(signals->at("vehicle_id"), json::value(vehicle_));
    EXPECT_EQ(signals->at("signals").at("Motion.Speed").at("value").as_double(), 88.0);
    EXPECT_LE(signals->at("published_at_ms").as_int64(), core::now_ms());
    EXPECT_FALSE(bob->next(std::chrono::milliseconds(300)));  // nothing for Bob

    alice->send(json::object{{"type", "UNSUBSCRIBE"}, {"topic", topic}});
    EXPECT_EQ(alice->next()->at("type"), json::value("UNSUBSCRIBED"));
    ASSERT_EQ(upload(90, core::now_ms() + 1), 202);
    EXPECT_FALSE(alice->next(std::chrono::milliseconds(300)));
}

// `fleet`: every vehicle's events on one subscription, for staff only.
TEST_F(LiveTest, TheFleetTopicCarriesEveryVehicleToStaffOnly) {
    auto manager_token = create_user_and_login(*app_, "fm@example.com", auth::Role::FleetManager).token;
    auto support_token = create_user_and_login(*app_, "sup@example.com", auth::Role::Support).token;
    auto bob_car = call(*app_,
                        "POST",
                        "/api/v1/vehicles",
                        bob_,
                        json::value(json::object{{"vin", test_vin(2)}, {"make", "Kia"}, {"model", "EV6"}}));
    ASSERT_EQ(bob_car.status, 201) << bob_car.body;
    const std::string bob_vehicle(bob_car.json().at("id").as_string());

    auto alice = connect(alice_);
    alice->send(json::object{{"type", "SUBSCRIBE"}, {"topic", "fleet"}});
    auto refused = alice->next();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->at("code"), json::value("forbidden"));
    auto manager = connect(manager_token);
    auto support = connect(support_token);
    for (auto* staff : {manager.get(), support.get()}) {
        staff->send(json::object{{"type", "SUBSCRIBE"}, {"topic", "fleet"}});
        auto ok = staff->next();
        ASSERT_TRUE(ok);
        EXPECT_EQ(ok->at("type"), json::value("SUBSCRIBED"));
    }
    ASSERT_EQ(upload(42, core::now_ms()), 202);
    ASSERT_EQ(call(*app_,
                   "POST",
                   "/api/v1/vehicles/" + bob_vehicle + "/telemetry",
                   bob_,
                   json::value(json::object{
                       {"samples", json::array{json::object{{"t_ms", core::now_ms()}, {"speed_kmh", 43}}}}}))
                  .status,
              202);
    for (auto* staff : {manager.get(), support.get()}) {
        std::set<std::string> seen;
        for (int i = 0; i < 2; ++i) {
            auto frame = staff->next();
            ASSERT_TRUE(frame);
            EXPECT_EQ(frame->at("type"), json::value("SIGNALS"));
            EXPECT_EQ(frame->at("topic"), json::value("fleet"));  // the stream's name
            seen.insert(std::string(frame->at("vehicle_id").as_string()));
        }
        EXPECT_EQ(seen, (std::set<std::string>{vehicle_, bob_vehicle}));
    }
    EXPECT_FALSE(alice->next(std::chrono::milliseconds(200)));
}

TEST_F(LiveTest, GarbageFramesGetErrorsAndTheSocketLivesOn) {
    auto alice = connect(alice_);
    for (const char* garbage : {"not json",
                                "[1,2]",
                                R"({"type":"DANCE"})",
                                R"({"type":"SUBSCRIBE"})",
                                R"({"type":"SUBSCRIBE","topic":42})"}) {
        alice->send(std::string(garbage));
        auto e = alice->next();
        ASSERT_TRUE(e) << garbage;
        EXPECT_EQ(e->at("type"), json::value("ERROR")) << garbage;
        EXPECT_EQ(e->at("code"), json::value("bad_frame")) << garbage;
    }
    alice->send(json::object{{"type", "PING"}, {"id", 7}});
    auto pong = alice->next();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->at("type"), json::value("PONG"));
    EXPECT_EQ(pong->at("id"), json::value(7));
}

TEST_F(LiveTest, FramesOfManyKilobytesUnderTheLimitArriveWhole) {
    auto alice = connect(alice_);
    std::string id(40 * 1024, 'a');
    for (std::size_t i = 0; i < id.size(); ++i) {
        id[i] = static_cast<char>('a' + i % 26);
    }
    alice->send(json::object{{"type", "PING"}, {"id", id}});
    auto pong = alice->next();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->at("type"), json::value("PONG"));
    EXPECT_EQ(pong->at("id"), json::value(id));
}

TEST_F(LiveTest, OversizeFrameClosesWith1009) {
    auto alice = connect(alice_);
    alice->send(std::string(65 * 1024, 'x'));
    EXPECT_FALSE(alice->next());
    EXPECT_EQ(alice->reason().code, beast::websocket::close_code::too_big);
}

TEST_F(LiveTest, AuthWithAFreshTokenIsAcceptedAndAStrangersIsNot) {
    auto alice = connect(alice_);
    alice->send(json::object{{"type", "AUTH"}, {"token", alice_}});
    auto ok = alice->next();
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->at("type"), json::value("AUTHENTICATED"));
    alice->send(json::object{{"type", "AUTH"}, {"token", bob_}});
    EXPECT_EQ(alice->next()->at("code"), json::value("unauthorized"));
}

// An access token for `user` that expires at `exp_s`, signed with the test app's key as the server
// signs its own: the test picks each token's expiry instead of waiting for a configured lifetime.
std::string access_token_expiring_at(const ApiUser& user, std::int64_t exp_s) {
    const std::string header = core::base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
    const std::string claims =
        core::base64url_encode(json::serialize(json::object{{"sub", user.id},
                                                            {"role", "member"},
                                                            {"iss", "motorpool"},
                                                            {"aud", "motorpool-api"},
                                                            {"jti", "live-" + std::to_string(exp_s)},
                                                            {"iat", core::now_ms() / 1000},
                                                            {"exp", exp_s}}));
    const std::string input = header + "." + claims;
    return input + "." + core::base64url_encode(core::hmac_sha256(kTestSecretKey, input));
}

// Both sockets start with a token that expires within 3 s. One sends AUTH with a token good for
// ten minutes: it lives on when the other is closed with 1008 (policy), until AUTH brings a token
// that expires within 2 s, whose expiry closes it too. No step waits for a fixed time.
TEST(LiveExpiryTest, SocketClosesWith1008AtTokenExpiryUnlessAuthRenewsIt) {
    TestApp app;
    const ApiUser carol = register_member(app, "carol@example.com");
    const std::int64_t now_s = core::now_ms() / 1000;
    const std::string soon = access_token_expiring_at(carol, now_s + 3);
    WsClient renewed(app.port(), "/api/v1/ws?token=" + soon);
    renewed.send(json::object{{"type", "AUTH"}, {"token", access_token_expiring_at(carol, now_s + 600)}});
    auto ok = renewed.next();
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->at("type"), json::value("AUTHENTICATED"));
    EXPECT_EQ(ok->at("expires_at"), json::value(core::format_rfc3339((now_s + 600) * 1000)));
    WsClient lapsing(app.port(), "/api/v1/ws?token=" + soon);

    EXPECT_FALSE(lapsing.next(std::chrono::seconds(10)));
    EXPECT_EQ(lapsing.reason().code, beast::websocket::close_code::policy_error);
    EXPECT_GE(core::now_ms(), (now_s + 3) * 1000);  // not before the token's expiry
    renewed.send(json::object{{"type", "PING"}});
    auto pong = renewed.next();
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->at("type"), json::value("PONG"));

    const std::int64_t last_s = core::now_ms() / 1000 + 2;
    renewed.send(json::object{{"type", "AUTH"}, {"token", access_token_expiring_at(carol, last_s)}});
    auto moved = renewed.next();
    ASSERT_TRUE(moved);
    EXPECT_EQ(moved->at("type"), json::value("AUTHENTICATED"));
    EXPECT_FALSE(renewed.next(std::chrono::seconds(10)));
    EXPECT_EQ(renewed.reason().code, beast::websocket::close_code::policy_error);
    EXPECT_GE(core::now_ms(), last_s * 1000);
}

// MOTORPOOL_WS_IDLE_TIMEOUT (60 s by default; 2 s here): the server pings a silent peer at half
// the timeout and cuts a peer that did not answer by the end; a peer that answers stays.
TEST(LiveIdleTest, APeerThatAnswersNoPingIsDroppedAtTheIdleTimeout) {
    TestApp app(Overrides{{"MOTORPOOL_WS_IDLE_TIMEOUT", "2s"}});
    const std::string dave = register_member(app, "dave@example.com").token;
    const auto started = std::chrono::steady_clock::now();
    WsClient silent(app.port(), "/api/v1/ws?token=" + dave, true);  // never reads: never answers a ping
    WsClient answering(app.port(), "/api/v1/ws?token=" + dave);     // reads, and so answers each ping
    auto seen = silent.raw_until_closed(std::chrono::seconds(20));
    ASSERT_TRUE(seen) << "the silent peer was not dropped";
    EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
    ASSERT_FALSE(seen->empty());
    EXPECT_EQ(static_cast<unsigned char>(seen->front()), 0x89U);  // FIN + ping, unanswered
    answering.send(json::object{{"type", "PING"}});
    auto pong = answering.next();
    ASSERT_TRUE(pong) << "the answering peer was dropped";
    EXPECT_EQ(pong->at("type"), json::value("PONG"));
}

TEST_F(LiveTest, ShutdownClosesSocketsWith1001) {
    auto alice = connect(alice_);
    alice->send(json::object{{"type", "PING"}});
    ASSERT_TRUE(alice->next());
    app_->app().shutdown();
    EXPECT_FALSE(alice->next());
    EXPECT_EQ(alice->reason().code, beast::websocket::close_code::going_away);
}

TEST_F(LiveTest, SlowConsumerIsDroppedWhileAFastOneKeepsReceiving) {
    auto fast = connect(alice_);
    WsClient slow(app_->port(), "/api/v1/ws?token=" + alice_, true);  // reads nothing for now
    const std::string topic = "vehicle." + vehicle_;
    fast->send(json::object{{"type", "SUBSCRIBE"}, {"topic", topic}});
    ASSERT_EQ(fast->next()->at("type"), json::value("SUBSCRIBED"));
    slow.send(json::object{{"type", "SUBSCRIBE"}, {"topic", topic}});
    ASSERT_EQ(slow.read_now().at("type"), json::value("SUBSCRIBED"));
    // Publish far more than a socket buffer and the outbound queue hold; only the fast client reads.
    const std::string padding(8 * 1024, 'p');
    core::Event event{topic, "SIGNALS", json::serialize(json::object{{"type", "SIGNALS"}, {"padding", padding}})};
    // The fast client reads each chunk before the next is published, so only the slow one falls
    // behind, however slow this build is.
    int received = 0;
    for (int i = 0; i < 4000; ++i) {
        app_->app().events().publish(event);
        if (i % 100 == 99) {
            while (received < i + 1 && fast->next(std::chrono::seconds(10))) {
                ++received;
            }
        }
    }
    EXPECT_EQ(received, 4000);
    // The slow one was disconnected: after the frames that got through, its socket ends.
    slow.start_reading();
    int slow_frames = 0;
    while (slow.next(std::chrono::seconds(2))) {
        ++slow_frames;
    }
    EXPECT_LT(slow_frames, 4000);
    // Its socket buffer was full too, so its connection was cut rather than sent a close frame
    // (README): no 1013 reaches a consumer this far behind.
    EXPECT_EQ(slow.reason().code, 0);
    EXPECT_NE(app_->client().get("/metrics").body.find("motorpool_ws_slow_consumers_dropped_total 1"),
              std::string::npos);
}

// The README's limits: 20 sockets per user (the 21st closed with 1008), 100 subscriptions per
// socket (the 101st refused with `limit`, the socket lives on).
TEST_F(LiveTest, SocketAndSubscriptionLimitsHold) {
    std::vector<std::unique_ptr<WsClient>> sockets;
    for (int i = 0; i < 20; ++i) {
        sockets.push_back(connect(alice_));
        ASSERT_EQ(sockets.back()->status(), 101U) << i;
    }
    auto extra = connect(alice_);
    EXPECT_FALSE(extra->next());
    EXPECT_EQ(extra->reason().code, beast::websocket::close_code::policy_error);
    sockets.pop_back();  // one closed: there is room again
    std::unique_ptr<WsClient> again;
    for (int i = 0; i < 50 && !again; ++i) {  // the hub counts the closed socket out asynchronously
        auto attempt = connect(alice_);
        attempt->send(json::object{{"type", "PING"}});
        if (attempt->next(std::chrono::milliseconds(500))) {
            again = std::move(attempt);
        }
    }
    ASSERT_TRUE(again);
    sockets.clear();

    // 101 vehicles of Alice's, one topic each.
    std::string csv = "vin,make,model\n";
    for (int i = 0; i < 101; ++i) {
        csv += test_vin(1000 + i) + ",Tesla,Model 3\n";
    }
    vehicles::ImportOptions options;
    options.owner_email = "alice@example.com";
    ASSERT_EQ(vehicles::import_vehicles_csv(app_->app().database(), csv, options).inserted, 101);
    auto ids = app_->app().database().with_reader(
        [](db::Connection& c) { return c.query("SELECT public_id FROM vehicles ORDER BY id LIMIT 101"); });
    ASSERT_EQ(ids.size(), 101U);
    auto watcher = connect(alice_);
    for (std::size_t i = 0; i < ids.size(); ++i) {
        watcher->send(json::object{{"type", "SUBSCRIBE"}, {"topic", "vehicle." + ids.row(i).text(0)}});
    }
    int subscribed = 0;
    std::optional<json::object> refused;
    for (int i = 0; i < 101; ++i) {
        auto frame = watcher->next();
        ASSERT_TRUE(frame) << i;
        if (frame->at("type") == json::value("SUBSCRIBED")) {
            ++subscribed;
        } else {
            refused = frame;
        }
    }
    EXPECT_EQ(subscribed, 100);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->at("code"), json::value("limit"));
    watcher->send(json::object{{"type", "PING"}});
    EXPECT_EQ(watcher->next()->at("type"), json::value("PONG"));
}

TEST_F(LiveTest, AnEventOnOneNodeReachesASubscriberOnAnother) {
    const char* backend = std::getenv("MOTORPOOL_TEST_BACKEND");
    if (backend == nullptr || std::string(backend) != "postgres") {
        GTEST_SKIP() << "two nodes share one PostgreSQL; LISTEN needs a direct connection (not PgBouncer)";
    }
    // Node B: a second app on node A's database.
    TestApp node_b({{"DATABASE_URL", app_->database().url()}});
    WsClient watcher(node_b.port(), "/api/v1/ws?token=" + alice_);
    ASSERT_EQ(watcher.status(), 101U);
    const std::string topic = "vehicle." + vehicle_;
    watcher.send(json::object{{"type", "SUBSCRIBE"}, {"topic", topic}});
    ASSERT_EQ(watcher.next()->at("type"), json::value("SUBSCRIBED"));

    ASSERT_EQ(upload(61, core::now_ms()), 202);  // on node A
    auto signals = watcher.next(std::chrono::seconds(10));
    ASSERT_TRUE(signals);
    EXPECT_EQ(signals->at("type"), json::value("SIGNALS"));
    EXPECT_EQ(signals->at("signals").at("Motion.Speed").at("value").as_double(), 61.0);

    // A payload beyond NOTIFY's 8000 bytes travels by reference.
    const std::string big(20'000, 'x');
    app_->app().events().publish(
        {topic, "SIGNALS", json::serialize(json::object{{"type", "SIGNALS"}, {"padding", big}})});
    auto large = watcher.next(std::chrono::seconds(10));
    ASSERT_TRUE(large);
    EXPECT_EQ(large->at("padding").as_string().size(), big.size());
    // Node B's own events are not echoed back to it twice.
    node_b.app().events().publish({topic, "SIGNALS", R"({"type":"SIGNALS","n":1})"});
    auto once = watcher.next();
    ASSERT_TRUE(once);
    EXPECT_EQ(once->at("n"), json::value(1));
    EXPECT_FALSE(watcher.next(std::chrono::milliseconds(500)));
}

}  // namespace
}  // namespace motorpool::testing
