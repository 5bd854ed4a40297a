// Memberships over REST: plans (admins manage them), subscribing (once, even under concurrent
// requests), the ledger of charges through the development payment provider, an upgrade charged
// pro rata at once, a downgrade from the next period, cancel and resume, renewal and expiry by the
// job, and services included in the plan priced at 0 in bookings until the yearly allowance is
// used. Runs on every backend.

#include <atomic>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/auth.hpp"
#include "core/time.hpp"
#include "harness.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

std::int64_t at(const char* rfc3339) {
    return core::parse_rfc3339(rfc3339).value();
}

class MembershipTest : public ::testing::Test {
protected:
    void SetUp() override {
        clock_ = std::make_shared<core::ManualClock>(at("2026-03-02T06:00:00Z"));
        app_ = std::make_unique<TestApp>(Overrides{{"MOTORPOOL_REFERRAL_MONTHLY_CAP", "1"}}, nullptr, clock_);
        relogin();
        ASSERT_EQ(plan("basic", 1900, json::object{{"tire_rotation", 1}}).status, 201);
        ASSERT_EQ(plan("premium", 6900, json::object{{"oil_change", 2}}).status, 201);
    }

    /// Fresh tokens after the clock moved (access tokens live 15 minutes of clock time).
    void relogin() {
        if (!created_) {
            admin_ = create_user_and_login(*app_, "admin@example.com", auth::Role::Admin).token;
            alice_ = register_member(*app_, "alice@example.com").token;
            bob_ = register_member(*app_, "bob@example.com").token;
            created_ = true;
            return;
        }
        for (auto [email, token] : {std::pair{"admin@example.com", &admin_},
                                    std::pair{"alice@example.com", &alice_},
                                    std::pair{"bob@example.com", &bob_}}) {
            auto r = app_->client().post_json("/api/v1/auth/login",
                                              json::object{{"email", email}, {"password", "correct horse battery"}});
            ASSERT_EQ(r.status, 200) << r.body;
            *token = std::string(r.json().at("access_token").as_string());
        }
    }

    http::ClientResponse plan(const char* code, int cents, json::object included) {
        return call(*app_,
                    "POST",
                    "/api/v1/memberships/plans",
                    admin_,
                    json::object{{"code", code},
                                 {"name", code},
                                 {"price_cents", cents},
                                 {"included_services", included},
                                 {"benefits", json::array{"Roadside assistance"}}});
    }

    json::array charges(const std::string& token) {
        auto r = call(*app_, "GET", "/api/v1/memberships/me/charges", token);
        EXPECT_EQ(r.status, 200) << r.body;
        return r.json().at("items").as_array();
    }

    /// An oil change (49.00, 30 min) at a depot open 08:00-17:00 UTC on weekdays with `bays` bays.
    http::ClientResponse oil_change_depot(int bays) {
        EXPECT_EQ(
            call(*app_,
                 "POST",
                 "/api/v1/services",
                 admin_,
                 json::object{{"code", "oil_change"}, {"name", "Oil"}, {"duration_min", 30}, {"price_cents", 4900}})
                .status,
            201);
        json::array day{
            json::value(json::array{"08:00", "17:00"})};  // one window (json::value: not a copy under clang)
        auto location = call(*app_,
                             "POST",
                             "/api/v1/locations",
                             admin_,
                             json::object{{"name", "Depot"},
                                          {"latitude", 52.5},
                                          {"longitude", 13.4},
                                          {"time_zone", "UTC"},
                                          {"bays", bays},
                                          {"services", json::array{"oil_change"}},
                                          {"opening_hours",
                                           json::object{{"mon", day},
                                                        {"tue", day},
                                                        {"wed", day},
                                                        {"thu", day},
                                                        {"fri", day},
                                                        {"sat", json::array{}},
                                                        {"sun", json::array{}}}}});
        EXPECT_EQ(location.status, 201) << location.body;
        return location;
    }

    void renew() {
        const auto runs = app_->app().jobs().stats("membership.renewal").runs;
        app_->app().jobs().trigger("membership.renewal");
        for (int k = 0; k < 500 && app_->app().jobs().stats("membership.renewal").runs == runs; ++k) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    std::shared_ptr<core::ManualClock> clock_;
    std::unique_ptr<TestApp> app_;
    std::string admin_, alice_, bob_;
    bool created_ = false;
};

TEST_F(MembershipTest, PlansAreManagedByAdminsAndValidated) {
    auto list = call(*app_, "GET", "/api/v1/memberships/plans", alice_);
    ASSERT_EQ(list.status, 200) << list.body;
    const json::value items = list.json().at("items");
    ASSERT_EQ(items.as_array().size(), 2U);
    EXPECT_EQ(items.as_array()[0].at("code"), json::value("basic"));  // cheapest first
    EXPECT_EQ(items.as_array()[1].at("included_services").at("oil_change"), json::value(2));
    EXPECT_EQ(call(*app_,
                   "POST",
                   "/api/v1/memberships/plans",
                   alice_,
                   json::object{{"code", "x"}, {"name", "x"}, {"price_cents", 1}})
                  .status,
              403);
    EXPECT_EQ(plan("basic", 1, {}).status, 409);
    EXPECT_EQ(plan("odd", 1, json::object{{"oil_change", -1}}).status, 422);
    EXPECT_EQ(plan("Bad Code", 1, {}).status, 422);
    auto patched = call(*app_, "PATCH", "/api/v1/memberships/plans/basic", admin_, json::object{{"price_cents", 2100}});
    ASSERT_EQ(patched.status, 200) << patched.body;
    EXPECT_EQ(patched.json().at("price_cents"), json::value(2100));
    EXPECT_EQ(call(*app_, "PATCH", "/api/v1/memberships/plans/nope", admin_, json::object{{"price_cents", 1}}).status,
              404);
}

TEST_F(MembershipTest, SubscribeUpgradeDowngradeCancelResumeRenewAndExpire) {
    EXPECT_EQ(call(*app_, "GET", "/api/v1/memberships/me", alice_).status, 404);
    EXPECT_EQ(call(*app_, "POST", "/api/v1/memberships", alice_, json::object{{"plan_code", "gold"}}).status, 422);
    auto joined = call(*app_, "POST", "/api/v1/memberships", alice_, json::object{{"plan_code", "basic"}});
    ASSERT_EQ(joined.status, 201) << joined.body;
    EXPECT_EQ(joined.json().at("status"), json::value("active"));
    EXPECT_EQ(joined.json().at("period_end"), json::value("2026-04-02T06:00:00Z"));
    EXPECT_EQ(call(*app_, "POST", "/api/v1/memberships", alice_, json::object{{"plan_code", "premium"}}).status, 409);
    // The user object names the current plan.
    auto user = call(*app_, "GET", "/api/v1/me", alice_);
    ASSERT_EQ(user.status, 200) << user.body;
    EXPECT_EQ(user.json().at("membership").at("plan_code"), json::value("basic"));
    EXPECT_EQ(user.json().at("membership").at("status"), json::value("active"));
    EXPECT_TRUE(call(*app_, "GET", "/api/v1/me", bob_).json().at("membership").is_null());
    auto ledger = charges(alice_);
    ASSERT_EQ(ledger.size(), 1U);
    EXPECT_EQ(ledger[0].at("kind"), json::value("subscription"));
    EXPECT_EQ(ledger[0].at("amount_cents"), json::value(1900));
    EXPECT_EQ(ledger[0].at("provider"), json::value("development"));
    EXPECT_EQ(ledger[0].at("status"), json::value("settled"));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/memberships/me", bob_).status, 404);  // Bob has none; Alice's is hers
    EXPECT_TRUE(charges(bob_).empty());

    // Halfway through March's 31 days: the upgrade costs half the difference, at once.
    clock_->set_ms(at("2026-03-17T18:00:00Z"));
    relogin();
    auto up = call(*app_, "PATCH", "/api/v1/memberships/me", alice_, json::object{{"plan_code", "premium"}});
    ASSERT_EQ(up.status, 200) << up.body;
    EXPECT_EQ(up.json().at("plan_code"), json::value("premium"));
    ledger = charges(alice_);
    ASSERT_EQ(ledger.size(), 2U);
    EXPECT_EQ(ledger[0].at("kind"), json::value("upgrade"));
    EXPECT_EQ(ledger[0].at("amount_cents"), json::value(2500));  // (6900 - 1900) x 15.5 / 31 days
    // A downgrade waits for the next period; cancel and resume.
    auto down = call(*app_, "PATCH", "/api/v1/memberships/me", alice_, json::object{{"plan_code", "basic"}});
    ASSERT_EQ(down.status, 200) << down.body;
    EXPECT_EQ(down.json().at("plan_code"), json::value("premium"));
    EXPECT_EQ(down.json().at("pending_plan_code"), json::value("basic"));
    auto cancelled = call(*app_, "DELETE", "/api/v1/memberships/me", alice_);
    ASSERT_EQ(cancelled.status, 200) << cancelled.body;
    EXPECT_EQ(cancelled.json().at("status"), json::value("cancelled"));
    EXPECT_EQ(cancelled.json().at("cancel_at_period_end"), json::value(true));
    auto resumed = call(*app_, "PATCH", "/api/v1/memberships/me", alice_, json::object{{"plan_code", "premium"}});
    ASSERT_EQ(resumed.status, 200) << resumed.body;
    EXPECT_EQ(resumed.json().at("status"), json::value("active"));
    ASSERT_EQ(call(*app_, "PATCH", "/api/v1/memberships/me", alice_, json::object{{"plan_code", "basic"}}).status, 200);

    // The period ends: renewed on the pending plan and charged; once only.
    clock_->set_ms(at("2026-04-02T06:00:01Z"));
    relogin();
    renew();
    renew();
    auto renewed = call(*app_, "GET", "/api/v1/memberships/me", alice_);
    ASSERT_EQ(renewed.status, 200) << renewed.body;
    EXPECT_EQ(renewed.json().at("plan_code"), json::value("basic"));
    EXPECT_EQ(renewed.json().at("period_start"), json::value("2026-04-02T06:00:00Z"));
    EXPECT_EQ(renewed.json().at("period_end"), json::value("2026-05-02T06:00:00Z"));
    ledger = charges(alice_);
    ASSERT_EQ(ledger.size(), 3U);
    EXPECT_EQ(ledger[0].at("kind"), json::value("renewal"));
    EXPECT_EQ(ledger[0].at("amount_cents"), json::value(1900));
    // Cancelled, it ends with its period.
    ASSERT_EQ(call(*app_, "DELETE", "/api/v1/memberships/me", alice_).status, 200);
    clock_->set_ms(at("2026-05-02T06:00:01Z"));
    relogin();
    renew();
    EXPECT_EQ(call(*app_, "GET", "/api/v1/memberships/me", alice_).status, 404);
    EXPECT_EQ(charges(alice_).size(), 3U);
    // A new subscription after the old one expired.
    EXPECT_EQ(call(*app_, "POST", "/api/v1/memberships", alice_, json::object{{"plan_code", "basic"}}).status, 201);
}

TEST_F(MembershipTest, ConcurrentSubscriptionsMakeOneMembership) {
    std::atomic<int> created{0}, refused{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 10; ++i) {
        threads.emplace_back([&] {
            auto client = app_->new_client();
            http::Headers headers{{"Authorization", "Bearer " + bob_}, {"Content-Type", "application/json"}};
            auto r = client->request(
                "POST", "/api/v1/memberships", json::serialize(json::object{{"plan_code", "basic"}}), headers);
            (r.status == 201 ? created : refused)++;
            EXPECT_TRUE(r.status == 201 || r.status == 409) << r.status << " " << r.body;
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(created.load(), 1);
    EXPECT_EQ(refused.load(), 9);
    EXPECT_EQ(charges(bob_).size(), 1U);
}

TEST_F(MembershipTest, IncludedServicesAreFreeInBookingsUntilTheAllowanceIsUsed) {
    auto location = oil_change_depot(5);
    auto vehicle = call(*app_,
                        "POST",
                        "/api/v1/vehicles",
                        alice_,
                        json::object{{"vin", test_vin(1)}, {"make", "VW"}, {"model", "ID.3"}, {"year", 2021}});
    ASSERT_EQ(vehicle.status, 201);
    auto book = [&](const char* start) {
        return call(*app_,
                    "POST",
                    "/api/v1/appointments",
                    alice_,
                    json::object{{"vehicle_id", vehicle.json().at("id")},
                                 {"location_id", location.json().at("id")},
                                 {"start_time", start},
                                 {"services", json::array{"oil_change"}}});
    };
    auto before = book("2026-03-03T09:00:00Z");  // no membership: the list price
    ASSERT_EQ(before.status, 201) << before.body;
    EXPECT_EQ(before.json().at("price_cents"), json::value(4900));
    ASSERT_EQ(call(*app_, "POST", "/api/v1/memberships", alice_, json::object{{"plan_code", "premium"}}).status, 201);
    std::vector<std::int64_t> prices;
    for (const char* start : {"2026-03-04T09:00:00Z", "2026-03-05T09:00:00Z", "2026-03-06T09:00:00Z"}) {
        auto r = book(start);
        ASSERT_EQ(r.status, 201) << r.body;
        prices.push_back(r.json().at("price_cents").as_int64());
    }
    EXPECT_EQ(prices, (std::vector<std::int64_t>{0, 0, 4900}));  // two a year in premium
    // A cancelled included appointment gives its use back.
    auto list = call(*app_, "GET", "/api/v1/appointments?upcoming=true", alice_);
    std::string first_free;
    const json::value items = list.json().at("items");
    for (const auto& a : items.as_array()) {
        if (a.at("price_cents") == json::value(0)) {
            first_free = std::string(a.at("id").as_string());
            break;
        }
    }
    ASSERT_EQ(call(*app_, "POST", "/api/v1/appointments/" + first_free + "/cancel", alice_).status, 200);
    auto again = book("2026-03-09T09:00:00Z");
    ASSERT_EQ(again.status, 201);
    EXPECT_EQ(again.json().at("price_cents"), json::value(0));
    EXPECT_EQ(again.json().at("services").as_array()[0].at("included"), json::value(true));
}

TEST_F(MembershipTest, AReferralIsCreditedOnceAtTheFirstPaidActionUnderConcurrency) {
    auto me = call(*app_, "GET", "/api/v1/referrals/me", alice_);
    ASSERT_EQ(me.status, 200) << me.body;
    const std::string code(me.json().at("code").as_string());
    const std::string link(me.json().at("link").as_string());
    EXPECT_EQ(link, "http://localhost:" + std::to_string(app_->port()) + "/r/" + code);  // the bound port
    EXPECT_EQ(me.json().at("rewards_balance_cents"), json::value(0));
    auto join = [&](const char* email) {
        auto r = app_->client().post_json(
            "/api/v1/auth/register",
            json::object{
                {"name", "Friend"}, {"email", email}, {"password", "correct horse battery"}, {"referral_code", code}});
        EXPECT_EQ(r.status, 201) << r.body;
        return std::string(r.json().at("access_token").as_string());
    };
    const std::string carol = join("carol@example.com");
    auto pending = call(*app_, "GET", "/api/v1/referrals/me", alice_);
    ASSERT_EQ(pending.json().at("referrals").as_array().size(), 1U);
    EXPECT_EQ(pending.json().at("referrals").as_array()[0].at("status"), json::value("pending"));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/referrals/me", bob_).json().at("referrals").as_array().size(), 0U);

    // Carol's paid subscription credits it: both sides rewarded, once.
    ASSERT_EQ(call(*app_, "POST", "/api/v1/memberships", carol, json::object{{"plan_code", "basic"}}).status, 201);
    ASSERT_EQ(call(*app_, "PATCH", "/api/v1/memberships/me", carol, json::object{{"plan_code", "premium"}}).status,
              200);
    auto credited = call(*app_, "GET", "/api/v1/referrals/me", alice_);
    EXPECT_EQ(credited.json().at("referrals").as_array()[0].at("status"), json::value("credited"));
    EXPECT_EQ(credited.json().at("referrals").as_array()[0].at("credited_action"), json::value("membership"));
    EXPECT_EQ(credited.json().at("rewards_balance_cents"), json::value(1000));
    EXPECT_EQ(credited.json().at("rewards_balance"), json::value(10.0));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/referrals/me", carol).json().at("rewards_balance_cents"), json::value(500));
    // The user object shows the same balance, derived from the ledger.
    EXPECT_EQ(call(*app_, "GET", "/api/v1/me", alice_).json().at("rewards_balance"), json::value(10.0));

    // Dave's first paid actions race: ten appointments completed at once credit one referral. The
    // referrer's monthly cap (1 here) is reached, so only Dave is rewarded.
    const std::string dave = join("dave@example.com");
    auto support = create_user_and_login(*app_, "support@example.com", auth::Role::Support).token;
    auto location = oil_change_depot(20);
    auto vehicle = call(*app_,
                        "POST",
                        "/api/v1/vehicles",
                        dave,
                        json::object{{"vin", test_vin(7)}, {"make", "VW"}, {"model", "ID.3"}, {"year", 2021}});
    std::vector<std::string> ids;
    for (int i = 0; i < 10; ++i) {
        auto r = call(*app_,
                      "POST",
                      "/api/v1/appointments",
                      dave,
                      json::object{{"vehicle_id", vehicle.json().at("id")},
                                   {"location_id", location.json().at("id")},
                                   {"start_time", "2026-03-03T09:00:00Z"},
                                   {"services", json::array{"oil_change"}}});
        ASSERT_EQ(r.status, 201) << r.body;
        ids.emplace_back(r.json().at("id").as_string());
        for (const char* s : {"checked_in", "in_progress"}) {
            ASSERT_EQ(call(*app_,
                           "POST",
                           "/api/v1/appointments/" + ids.back() + "/status",
                           support,
                           json::object{{"status", s}})
                          .status,
                      200);
        }
    }
    std::vector<std::thread> threads;
    for (const auto& id : ids) {
        threads.emplace_back([&, id] {
            auto client = app_->new_client();
            http::Headers headers{{"Authorization", "Bearer " + support}, {"Content-Type", "application/json"}};
            auto r = client->request("POST",
                                     "/api/v1/appointments/" + id + "/status",
                                     json::serialize(json::object{{"status", "completed"}}),
                                     headers);
            EXPECT_EQ(r.status, 200) << r.body;
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    auto after = call(*app_, "GET", "/api/v1/referrals/me", dave);
    EXPECT_EQ(after.json().at("rewards_balance_cents"), json::value(500));
    EXPECT_EQ(after.json().at("rewards").as_array().size(), 1U);
    auto alice_after = call(*app_, "GET", "/api/v1/referrals/me", alice_);
    EXPECT_EQ(alice_after.json().at("rewards_balance_cents"), json::value(1000));  // capped this month
    std::int64_t credited_count = 0;
    const json::value list = alice_after.json().at("referrals");
    for (const auto& r : list.as_array()) {
        credited_count += r.at("status") == json::value("credited") ? 1 : 0;
    }
    EXPECT_EQ(credited_count, 2);
    EXPECT_EQ(app_->app().database().with_reader(
                  [](db::Connection& c) { return c.query("SELECT COUNT(*) FROM rewards_ledger").row(0).int64(0); }),
              3);  // Alice once, Carol once, Dave once
}

TEST_F(MembershipTest, OffersForThePlanVehicleAndPlaceNearestFirstRedeemedWithinTheirLimit) {
    ASSERT_EQ(call(*app_,
                   "POST",
                   "/api/v1/services",
                   admin_,
                   json::object{{"code", "oil_change"}, {"name", "Oil"}, {"duration_min", 30}, {"price_cents", 4900}})
                  .status,
              201);
    json::array day{json::value(json::array{"08:00", "17:00"})};  // one window (json::value: not a copy under clang)
    json::object hours{{"mon", day},
                       {"tue", day},
                       {"wed", day},
                       {"thu", day},
                       {"fri", day},
                       {"sat", json::array{}},
                       {"sun", json::array{}}};
    auto place = [&](const char* name, double lat, double lng) {
        auto r = call(*app_,
                      "POST",
                      "/api/v1/locations",
                      admin_,
                      json::object{{"name", name},
                                   {"latitude", lat},
                                   {"longitude", lng},
                                   {"time_zone", "UTC"},
                                   {"bays", 20},
                                   {"services", json::array{"oil_change"}},
                                   {"opening_hours", hours}});
        EXPECT_EQ(r.status, 201) << r.body;
        return std::string(r.json().at("id").as_string());
    };
    const std::string berlin = place("Berlin", 52.52, 13.405);
    const std::string munich = place("Munich", 48.137, 11.575);
    auto offer = [&](json::object body) {
        auto r = call(*app_, "POST", "/api/v1/offers", admin_, body);
        EXPECT_EQ(r.status, 201) << r.body;
        return std::string(r.json().at("id").as_string());
    };
    const std::string premium_only = offer(json::object{{"title", "Premium: free wash"},
                                                        {"expires_at", "2026-04-01T00:00:00Z"},
                                                        {"eligible_plans", json::array{"premium"}},
                                                        {"location_ids", json::array{munich}}});
    const std::string vw_berlin = offer(json::object{{"title", "VW owners in Berlin"},
                                                     {"expires_at", "2026-04-01T00:00:00Z"},
                                                     {"location_ids", json::array{berlin}},
                                                     {"vehicle_makes", json::array{"vw"}},
                                                     {"year_min", 2020}});
    offer(json::object{
        {"title", "Expired"}, {"starts_at", "2026-01-01T00:00:00Z"}, {"expires_at", "2026-02-01T00:00:00Z"}});
    EXPECT_EQ(call(*app_,
                   "POST",
                   "/api/v1/offers",
                   alice_,
                   json::object{{"title", "x"}, {"expires_at", "2026-04-01T00:00:00Z"}})
                  .status,
              403);
    EXPECT_EQ(call(*app_,
                   "POST",
                   "/api/v1/offers",
                   admin_,
                   json::object{
                       {"title", "x"}, {"starts_at", "2026-05-01T00:00:00Z"}, {"expires_at", "2026-04-01T00:00:00Z"}})
                  .status,
              422);

    ASSERT_EQ(call(*app_, "POST", "/api/v1/memberships", alice_, json::object{{"plan_code", "premium"}}).status, 201);
    auto vw = call(*app_,
                   "POST",
                   "/api/v1/vehicles",
                   alice_,
                   json::object{{"vin", test_vin(3)}, {"make", "VW"}, {"model", "ID.3"}, {"year", 2021}});
    ASSERT_EQ(vw.status, 201) << vw.body;
    const std::string vehicle(vw.json().at("id").as_string());
    auto titles = [&](const std::string& token, const std::string& query) {
        auto r = call(*app_, "GET", "/api/v1/offers" + query, token);
        EXPECT_EQ(r.status, 200) << r.body;
        std::vector<std::string> out;
        const json::value items = r.json().at("items");
        for (const auto& o : items.as_array()) {
            out.emplace_back(o.at("title").as_string());
        }
        return out;
    };
    // From Berlin: the Berlin offer first (3 km), then Munich's (500 km).
    EXPECT_EQ(titles(alice_, "?vehicle_id=" + vehicle + "&lat=52.5&lng=13.4"),
              (std::vector<std::string>{"VW owners in Berlin", "Premium: free wash"}));
    EXPECT_EQ(titles(alice_, "?vehicle_id=" + vehicle + "&lat=52.5&lng=13.4&radius_km=100"),
              (std::vector<std::string>{"VW owners in Berlin"}));
    EXPECT_EQ(titles(bob_, ""), (std::vector<std::string>{"VW owners in Berlin"}));  // no plan: no premium offer
    auto tesla = call(*app_,
                      "POST",
                      "/api/v1/vehicles",
                      alice_,
                      json::object{{"vin", test_vin(4)}, {"make", "Tesla"}, {"model", "3"}, {"year", 2021}});
    EXPECT_EQ(titles(alice_, "?vehicle_id=" + std::string(tesla.json().at("id").as_string())),
              (std::vector<std::string>{"Premium: free wash"}));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/offers?vehicle_id=" + vehicle, bob_).status, 404);  // Alice's vehicle
    EXPECT_EQ(call(*app_, "GET", "/api/v1/offers?lat=52", alice_).status, 422);
    // Paged after filtering and ordering: page 2 of 1 from Berlin is Munich's offer.
    EXPECT_EQ(titles(alice_, "?vehicle_id=" + vehicle + "&lat=52.5&lng=13.4&page=2&page_size=1"),
              (std::vector<std::string>{"Premium: free wash"}));
    auto paged = call(*app_, "GET", "/api/v1/offers?vehicle_id=" + vehicle + "&page_size=1", alice_);
    EXPECT_EQ(paged.json().at("total"), json::value(2));
    EXPECT_EQ(paged.json().at("total_pages"), json::value(2));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/offers?page_size=0", alice_).status, 422);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/offers?cursor=", alice_).status, 422);

    // Redemption on a booked appointment at the right place, once; ten at once: one wins.
    std::vector<std::string> appointments;
    for (int i = 0; i < 10; ++i) {
        auto r = call(*app_,
                      "POST",
                      "/api/v1/appointments",
                      alice_,
                      json::object{{"vehicle_id", vehicle},
                                   {"location_id", berlin},
                                   {"start_time", "2026-03-03T09:00:00Z"},
                                   {"services", json::array{"oil_change"}}});
        ASSERT_EQ(r.status, 201) << r.body;
        appointments.emplace_back(r.json().at("id").as_string());
    }
    auto redeem = [&](const std::string& offer_id, const std::string& appointment, const std::string& token) {
        return call(*app_,
                    "POST",
                    "/api/v1/offers/" + offer_id + "/redeem",
                    token,
                    json::object{{"appointment_id", appointment}});
    };
    EXPECT_EQ(redeem(premium_only, appointments[0], alice_).status, 409);  // Munich only
    EXPECT_EQ(redeem(vw_berlin, appointments[0], bob_).status, 422);       // not Bob's appointment
    std::atomic<int> won{0}, used{0};
    std::vector<std::thread> threads;
    for (const auto& a : appointments) {
        threads.emplace_back([&, a] {
            auto client = app_->new_client();
            http::Headers headers{{"Authorization", "Bearer " + alice_}, {"Content-Type", "application/json"}};
            auto r = client->request("POST",
                                     "/api/v1/offers/" + vw_berlin + "/redeem",
                                     json::serialize(json::object{{"appointment_id", a}}),
                                     headers);
            (r.status == 201 ? won : used)++;
            EXPECT_TRUE(r.status == 201 || r.status == 409) << r.status << " " << r.body;
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(won.load(), 1);
    EXPECT_EQ(used.load(), 9);
    auto after = call(*app_, "GET", "/api/v1/offers?vehicle_id=" + vehicle, alice_);
    const json::value items = after.json().at("items");
    for (const auto& o : items.as_array()) {
        if (o.at("id") == json::value(vw_berlin)) {
            EXPECT_EQ(o.at("redemptions_left"), json::value(0));
        }
    }
}

// Rewards pay part of an appointment: never more than the price or the balance (also when two
// bookings spend at once), a spent entry in the ledger, and a refund when it is cancelled.
TEST_F(MembershipTest, RewardsPayPartOfAnAppointmentAndComeBackWhenItIsCancelled) {
    auto location = oil_change_depot(5);
    auto vehicle = call(*app_,
                        "POST",
                        "/api/v1/vehicles",
                        alice_,
                        json::object{{"vin", test_vin(3)}, {"make", "VW"}, {"model", "ID.3"}, {"year", 2021}});
    ASSERT_EQ(vehicle.status, 201);
    // Alice has earned 10.00 (arranged directly: how rewards are earned is the referral test's).
    app_->app().database().with_transaction([](db::Connection& c) {
        c.execute(
            "INSERT INTO rewards_ledger (public_id, user_id, kind, amount_cents, reason, reference, created_at_ms) "
            "SELECT 'seed', id, 'earned', 1000, 'test', 'seed', 0 FROM users WHERE email = 'alice@example.com'");
    });
    auto balance = [&] {
        return call(*app_, "GET", "/api/v1/referrals/me", alice_).json().at("rewards_balance_cents");
    };
    auto book = [&](const char* start, std::int64_t rewards, const std::string& token) {
        return call(*app_,
                    "POST",
                    "/api/v1/appointments",
                    token,
                    json::object{{"vehicle_id", vehicle.json().at("id")},
                                 {"location_id", location.json().at("id")},
                                 {"start_time", start},
                                 {"services", json::array{"oil_change"}},
                                 {"rewards_cents", rewards}});
    };
    auto appointments = [&] {
        return app_->app().database().with_reader(
            [](db::Connection& c) { return c.query("SELECT COUNT(*) FROM appointments").row(0).int64(0); });
    };
    // More than the balance, more than the price, a negative amount: 422, nothing booked or spent.
    auto short_balance = book("2026-03-03T09:00:00Z", 1500, alice_);
    EXPECT_EQ(short_balance.status, 422) << short_balance.body;
    EXPECT_EQ(short_balance.json().at("errors").at(0).at("field"), json::value("rewards_cents"));
    EXPECT_EQ(book("2026-03-03T09:00:00Z", 5000, alice_).status, 422);
    EXPECT_EQ(book("2026-03-03T09:00:00Z", -1, alice_).status, 422);
    EXPECT_EQ(appointments(), 0);
    EXPECT_EQ(balance(), json::value(1000));

    auto paid = book("2026-03-03T09:00:00Z", 600, alice_);
    ASSERT_EQ(paid.status, 201) << paid.body;
    EXPECT_EQ(paid.json().at("price_cents"), json::value(4900));
    EXPECT_EQ(paid.json().at("rewards_cents"), json::value(600));
    EXPECT_EQ(paid.json().at("amount_due_cents"), json::value(4300));
    EXPECT_EQ(balance(), json::value(400));

    // Two bookings spending the remaining 4.00 at once: one gets it, the other is refused.
    std::atomic<int> created{0}, refused{0};
    std::vector<std::thread> threads;
    for (const char* start : {"2026-03-04T09:00:00Z", "2026-03-04T10:00:00Z", "2026-03-04T11:00:00Z"}) {
        threads.emplace_back([&, start] {
            auto client = app_->new_client();
            http::Headers headers{{"Authorization", "Bearer " + alice_}, {"Content-Type", "application/json"}};
            auto r = client->request("POST",
                                     "/api/v1/appointments",
                                     json::serialize(json::object{{"vehicle_id", vehicle.json().at("id")},
                                                                  {"location_id", location.json().at("id")},
                                                                  {"start_time", start},
                                                                  {"services", json::array{"oil_change"}},
                                                                  {"rewards_cents", 400}}),
                                     headers);
            (r.status == 201 ? created : refused)++;
            EXPECT_TRUE(r.status == 201 || r.status == 422) << r.status << " " << r.body;
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(created.load(), 1);
    EXPECT_EQ(refused.load(), 2);
    EXPECT_EQ(balance(), json::value(0));

    // Cancelled: what it spent comes back, once.
    const std::string id(paid.json().at("id").as_string());
    ASSERT_EQ(call(*app_, "POST", "/api/v1/appointments/" + id + "/cancel", alice_).status, 200);
    EXPECT_EQ(balance(), json::value(600));
    auto ledger = call(*app_, "GET", "/api/v1/referrals/me", alice_).json().at("rewards").as_array();
    ASSERT_EQ(ledger.size(), 4U);  // seed, two spent, the refund (newest first)
    EXPECT_EQ(ledger[0].at("kind"), json::value("earned"));
    EXPECT_EQ(ledger[0].at("amount_cents"), json::value(600));
    EXPECT_EQ(ledger[1].at("kind"), json::value("spent"));
    // Bob cannot spend Alice's balance: he has none, and her vehicle is not his (404 first).
    EXPECT_EQ(book("2026-03-05T09:00:00Z", 100, bob_).status, 404);
}

}  // namespace
}  // namespace motorpool::testing
