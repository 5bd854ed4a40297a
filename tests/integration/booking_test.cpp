// Service booking over REST: the catalogue and locations (validation, distance order, who may
// change them), availability (opening hours, breaks, closures and special hours, DST days), booking
// (slots only, bays counted, 409 when full), 50 concurrent bookings at one slot of a two-bay
// location (exactly 2 win, 20 times), reschedules racing bookings, cancel with its cut-off, the
// staff's status flow and the vehicle's service history, and another member's rows as 404. Runs on
// every backend.

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

json::object weekdays(const char* from = "08:00", const char* to = "17:00") {
    json::array day{json::array{from, "12:00"}, json::array{"13:00", to}};
    return json::object{{"mon", day},
                        {"tue", day},
                        {"wed", day},
                        {"thu", day},
                        {"fri", day},
                        {"sat", json::array{json::value(json::array{"09:00", "13:00"})}},
                        {"sun", json::array{}}};
}

class BookingTest : public ::testing::Test {
protected:
    void SetUp() override {
        // Monday 2026-03-02, 06:00 UTC (07:00 in Berlin).
        clock_ = std::make_shared<core::ManualClock>(at("2026-03-02T06:00:00Z"));
        app_ = std::make_unique<TestApp>(Overrides{}, nullptr, clock_);
        admin_ = create_user_and_login(*app_, "admin@example.com", auth::Role::Admin).token;
        support_ = create_user_and_login(*app_, "support@example.com", auth::Role::Support).token;
        alice_ = register_member(*app_, "alice@example.com");
        bob_ = register_member(*app_, "bob@example.com");
        for (auto [code, minutes, price] : {std::tuple{"oil_change", 30, 4900},
                                            std::tuple{"tire_rotation", 30, 2900},
                                            std::tuple{"brake_inspection", 60, 3900}}) {
            auto r =
                call(*app_,
                     "POST",
                     "/api/v1/services",
                     admin_,
                     json::object{{"code", code}, {"name", code}, {"duration_min", minutes}, {"price_cents", price}});
            ASSERT_EQ(r.status, 201) << r.body;
        }
        berlin_ = location("Berlin", 52.52, 13.405, "Europe/Berlin", 2);
        vehicle_ = vehicle(alice_.token, 1);
    }

    std::string location(const char* name,
                         double lat,
                         double lng,
                         const char* zone,
                         int bays,
                         json::array services = json::array{"oil_change", "tire_rotation"}) {
        auto r = call(*app_,
                      "POST",
                      "/api/v1/locations",
                      admin_,
                      json::object{{"name", name},
                                   {"latitude", lat},
                                   {"longitude", lng},
                                   {"time_zone", zone},
                                   {"bays", bays},
                                   {"opening_hours", weekdays()},
                                   {"services", services},
                                   {"slot_interval_min", 30},
                                   {"min_notice_min", 60}});
        EXPECT_EQ(r.status, 201) << r.body;
        return std::string(r.json().at("id").as_string());
    }

    std::string vehicle(const std::string& token, int serial) {
        auto r = call(*app_,
                      "POST",
                      "/api/v1/vehicles",
                      token,
                      json::object{{"vin", test_vin(serial)}, {"make", "VW"}, {"model", "ID.3"}, {"year", 2021}});
        EXPECT_EQ(r.status, 201) << r.body;
        return std::string(r.json().at("id").as_string());
    }

    std::vector<std::string> slots(const std::string& location,
                                   const std::string& date,
                                   const std::string& services = "oil_change") {
        auto r = call(
            *app_,
            "GET",
            "/api/v1/appointments/availability?location_id=" + location + "&date=" + date + "&services=" + services,
            alice_.token);
        EXPECT_EQ(r.status, 200) << r.body;
        std::vector<std::string> out;
        const json::value body = r.json();
        for (const auto& s : body.at("available_slots").as_array()) {
            out.emplace_back(s.at("start").as_string());
        }
        return out;
    }

    http::ClientResponse book(const std::string& start,
                              const std::string& token,
                              const std::string& vehicle,
                              const std::string& location,
                              http::Client* client = nullptr) {
        json::object body{{"vehicle_id", vehicle},
                          {"location_id", location},
                          {"start_time", start},
                          {"services", json::array{"oil_change"}}};
        http::Headers headers{{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
        return (client != nullptr ? *client : app_->client())
            .request("POST", "/api/v1/appointments", json::serialize(body), headers);
    }

    std::int64_t appointments() {
        return app_->app().database().with_reader(
            [](db::Connection& c) { return c.query("SELECT COUNT(*) FROM appointments").row(0).int64(0); });
    }

    std::shared_ptr<core::ManualClock> clock_;
    std::unique_ptr<TestApp> app_;
    std::string admin_, support_, berlin_, vehicle_;
    ApiUser alice_, bob_;
};

TEST_F(BookingTest, LocationsAreValidatedAndSortedByDistance) {
    const std::string tokyo = location("Tokyo", 35.68, 139.76, "Asia/Tokyo", 1);
    auto near = call(*app_, "GET", "/api/v1/locations?lat=48.8566&lng=2.3522", alice_.token);  // Paris
    ASSERT_EQ(near.status, 200) << near.body;
    const json::value items = near.json().at("items");
    ASSERT_EQ(items.as_array().size(), 2U);
    EXPECT_EQ(items.as_array()[0].at("id"), json::value(berlin_));
    EXPECT_NEAR(items.as_array()[0].at("distance_km").to_number<double>(), 878.0, 3.0);
    EXPECT_EQ(items.as_array()[1].at("id"), json::value(tokyo));
    auto within = call(*app_, "GET", "/api/v1/locations?lat=48.8566&lng=2.3522&radius_km=1000", alice_.token);
    EXPECT_EQ(within.json().at("items").as_array().size(), 1U);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/locations?lat=48.8", alice_.token).status, 422);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/locations?radius_km=5", alice_.token).status, 422);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/locations?lat=91&lng=0", alice_.token).status, 422);

    // Paged in distance order: the second page of one holds the farther location, the totals agree.
    auto second = call(*app_, "GET", "/api/v1/locations?lat=48.8566&lng=2.3522&page=2&page_size=1", alice_.token);
    ASSERT_EQ(second.status, 200) << second.body;
    EXPECT_EQ(second.json().at("items").as_array().size(), 1U);
    EXPECT_EQ(second.json().at("items").at(0).at("id"), json::value(tokyo));
    EXPECT_EQ(second.json().at("total"), json::value(2));
    EXPECT_EQ(second.json().at("total_pages"), json::value(2));
    EXPECT_EQ(near.json().at("page_size"), json::value(50));
    EXPECT_EQ(
        call(*app_, "GET", "/api/v1/locations?page=3&page_size=1", alice_.token).json().at("items").as_array().size(),
        0U);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/locations?page_size=101", alice_.token).status, 422);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/locations?cursor=", alice_.token).status, 422);

    auto body = [&](json::object changes) {
        json::object b{{"name", "X"},
                       {"latitude", 1},
                       {"longitude", 1},
                       {"time_zone", "UTC"},
                       {"bays", 1},
                       {"opening_hours", weekdays()},
                       {"services", json::array{}}};
        for (const auto& kv : changes) {
            b[kv.key()] = kv.value();
        }
        return b;
    };
    EXPECT_EQ(call(*app_, "POST", "/api/v1/locations", alice_.token, body({})).status, 403);
    EXPECT_EQ(call(*app_, "POST", "/api/v1/locations", admin_, body({{"time_zone", "Mars/Base"}})).status, 422);
    EXPECT_EQ(call(*app_, "POST", "/api/v1/locations", admin_, body({{"bays", 0}})).status, 422);
    EXPECT_EQ(call(*app_, "POST", "/api/v1/locations", admin_, body({{"services", json::array{"nope"}}})).status, 422);
    auto bad_hours =
        call(*app_,
             "POST",
             "/api/v1/locations",
             admin_,
             body({{"opening_hours", json::object{{"mon", json::array{json::value(json::array{"17:00", "08:00"})}}}}}));
    EXPECT_EQ(bad_hours.status, 422) << bad_hours.body;
    EXPECT_EQ(call(*app_, "GET", "/api/v1/locations", alice_.token).json().at("items").as_array().size(), 2U);

    auto patched = call(*app_, "PATCH", "/api/v1/locations/" + berlin_, admin_, json::object{{"bays", 3}});
    ASSERT_EQ(patched.status, 200) << patched.body;
    EXPECT_EQ(patched.json().at("bays"), json::value(3));
    EXPECT_EQ(patched.json().at("services").as_array().size(), 2U);
    EXPECT_EQ(call(*app_, "PATCH", "/api/v1/locations/nope", admin_, json::object{{"bays", 3}}).status, 404);
    EXPECT_EQ(call(*app_,
                   "POST",
                   "/api/v1/services",
                   admin_,
                   json::object{{"code", "oil_change"}, {"name", "x"}, {"duration_min", 30}, {"price_cents", 1}})
                  .status,
              409);
}

TEST_F(BookingTest, AvailabilityFollowsHoursBreaksClosuresAndSpecialHours) {
    // Tuesday: 08:00-12:00 and 13:00-17:00 Berlin (CET): 30-minute slots every 30 minutes.
    auto tuesday = slots(berlin_, "2026-03-03");
    ASSERT_EQ(tuesday.size(), 16U);
    EXPECT_EQ(tuesday.front(), "2026-03-03T07:00:00Z");
    EXPECT_EQ(tuesday[7], "2026-03-03T10:30:00Z");  // 11:30, the last before the break
    EXPECT_EQ(tuesday[8], "2026-03-03T12:00:00Z");  // 13:00
    EXPECT_EQ(slots(berlin_, "2026-03-03", "oil_change,tire_rotation").size(), 14U);  // an hour each
    EXPECT_TRUE(slots(berlin_, "2026-03-08").empty());                                // Sunday
    // Today: the minimum notice (an hour) takes the first slots.
    auto today = slots(berlin_, "2026-03-02");
    EXPECT_EQ(today.front(), "2026-03-02T07:00:00Z");  // 08:00: exactly an hour from now
    clock_->advance_ms(10 * 60'000);
    EXPECT_EQ(slots(berlin_, "2026-03-02").front(), "2026-03-02T07:30:00Z");

    const std::string closures = "/api/v1/locations/" + berlin_ + "/closures";
    EXPECT_EQ(call(*app_, "POST", closures, admin_, json::object{{"date", "2026-03-04"}, {"note", "inventory"}}).status,
              201);
    EXPECT_TRUE(slots(berlin_, "2026-03-04").empty());
    EXPECT_EQ(
        call(*app_,
             "POST",
             closures,
             admin_,
             json::object{{"date", "2026-03-05"}, {"hours", json::array{json::value(json::array{"10:00", "11:00"})}}})
            .status,
        201);
    EXPECT_EQ(slots(berlin_, "2026-03-05"), (std::vector<std::string>{"2026-03-05T09:00:00Z", "2026-03-05T09:30:00Z"}));
    EXPECT_EQ(call(*app_, "GET", closures, alice_.token).json().at("items").as_array().size(), 2U);
    EXPECT_EQ(call(*app_, "POST", closures, alice_.token, json::object{{"date", "2026-03-06"}}).status, 403);
    EXPECT_EQ(call(*app_, "POST", closures, admin_, json::object{{"date", "2026-02-30"}}).status, 422);
    EXPECT_EQ(call(*app_, "DELETE", closures + "/2026-03-04", admin_).status, 204);
    EXPECT_EQ(slots(berlin_, "2026-03-04").size(), 16U);
    EXPECT_EQ(call(*app_, "DELETE", closures + "/2026-03-04", admin_).status, 404);

    auto bad = [&](const std::string& query) {
        return call(*app_, "GET", "/api/v1/appointments/availability?" + query, alice_.token).status;
    };
    EXPECT_EQ(bad("location_id=" + berlin_ + "&date=2026-3-3&services=oil_change"), 422);
    EXPECT_EQ(bad("location_id=" + berlin_ + "&date=2026-03-03"), 422);
    EXPECT_EQ(bad("location_id=" + berlin_ + "&date=2026-03-03&services=brake_inspection"), 422);  // not offered here
    EXPECT_EQ(bad("location_id=nope&date=2026-03-03&services=oil_change"), 404);
}

TEST_F(BookingTest, AvailabilityOnBothNewYorkTransitionDays) {
    const std::string ny = location("New York", 40.71, -74.0, "America/New_York", 1);
    ASSERT_EQ(call(*app_, "PATCH", "/api/v1/locations/" + ny, admin_, json::object{{"horizon_days", 365}}).status, 200);
    auto spring = slots(ny, "2026-03-09");  // the Monday after the jump: EDT
    EXPECT_EQ(spring.front(), "2026-03-09T12:00:00Z");
    auto before = slots(ny, "2026-03-06");  // the Friday before: EST
    EXPECT_EQ(before.front(), "2026-03-06T13:00:00Z");
    EXPECT_EQ(spring.size(), before.size());
    EXPECT_EQ(slots(ny, "2026-10-30").front(), "2026-10-30T12:00:00Z");  // EDT
    EXPECT_EQ(slots(ny, "2026-11-02").front(), "2026-11-02T13:00:00Z");  // EST
}

TEST_F(BookingTest, BookingTakesASlotAndBaysRunOut) {
    const std::string slot = "2026-03-03T09:00:00Z";  // 10:00 in Berlin
    auto first = book(slot, alice_.token, vehicle_, berlin_);
    ASSERT_EQ(first.status, 201) << first.body;
    const json::value a = first.json();
    EXPECT_EQ(a.at("status"), json::value("booked"));
    EXPECT_EQ(a.at("end_time"), json::value("2026-03-03T09:30:00Z"));
    EXPECT_EQ(a.at("local_start"), json::value("2026-03-03T10:00"));
    EXPECT_EQ(a.at("price_cents"), json::value(4900));
    auto still = slots(berlin_, "2026-03-03");
    EXPECT_NE(std::find(still.begin(), still.end(), slot), still.end());  // a second bay
    ASSERT_EQ(book(slot, alice_.token, vehicle_, berlin_).status, 201);
    auto full = slots(berlin_, "2026-03-03");
    EXPECT_EQ(std::find(full.begin(), full.end(), slot), full.end());
    auto third = book(slot, alice_.token, vehicle_, berlin_);
    EXPECT_EQ(third.status, 409) << third.body;
    EXPECT_NE(third.body.find("slot_taken"), std::string::npos);

    const std::int64_t before = appointments();
    EXPECT_EQ(book("2026-03-03T09:10:00Z", alice_.token, vehicle_, berlin_).status, 422);  // off the grid
    EXPECT_EQ(book("2026-03-03T11:30:00Z", alice_.token, vehicle_, berlin_).status, 422);  // 12:30: the break
    EXPECT_EQ(book("2026-03-02T06:30:00Z", alice_.token, vehicle_, berlin_).status, 422);  // inside the notice
    EXPECT_EQ(book("2026-08-28T06:00:00Z", alice_.token, vehicle_, berlin_).status,
              201);  // 08:00 CEST, within 180 days
    EXPECT_EQ(book("2026-08-31T06:00:00Z", alice_.token, vehicle_, berlin_).status, 422);  // beyond the horizon
    EXPECT_EQ(book(slot, bob_.token, vehicle_, berlin_).status, 404);                      // Alice's vehicle
    EXPECT_EQ(book(slot, alice_.token, vehicle_, "nope").status, 422);
    EXPECT_EQ(appointments(), before + 1);
}

TEST_F(BookingTest, FiftyConcurrentBookingsOfOneSlotOfTwoBaysCreateExactlyTwo) {
    for (int round = 0; round < 20; ++round) {
        // A different slot each round: Tuesday to Friday, 08:00 to 16:30.
        const std::int64_t start = at("2026-03-03T07:00:00Z") + (round / 16) * 86'400'000LL +
                                   (round % 16) * 30 * 60'000LL + (round % 16 >= 8 ? 3'600'000LL : 0);
        const std::string slot = core::format_rfc3339(start);
        std::atomic<int> created{0}, taken{0}, other{0};
        std::vector<std::thread> threads;
        for (int i = 0; i < 50; ++i) {
            threads.emplace_back([&] {
                auto client = app_->new_client();
                auto r = book(slot, alice_.token, vehicle_, berlin_, client.get());
                (r.status == 201 ? created : r.status == 409 ? taken : other)++;
            });
        }
        for (auto& t : threads) {
            t.join();
        }
        EXPECT_EQ(created.load(), 2) << slot;
        EXPECT_EQ(taken.load(), 48) << slot;
        EXPECT_EQ(other.load(), 0) << slot;
    }
    EXPECT_EQ(appointments(), 40);
}

TEST_F(BookingTest, ReschedulesRacingBookingsNeverOverfillASlot) {
    const std::string target = "2026-03-04T09:00:00Z";
    ASSERT_EQ(book(target, alice_.token, vehicle_, berlin_).status, 201);  // one bay of two left
    for (int round = 0; round < 5; ++round) {
        // Ten appointments elsewhere that try to move into the target slot, against forty bookings.
        std::vector<std::string> movers;
        for (int i = 0; i < 10; ++i) {
            const std::string from =
                core::format_rfc3339(at("2026-03-05T07:00:00Z") + round * 86'400'000LL * 0 + (i / 2) * 30 * 60'000LL);
            auto r = book(from, alice_.token, vehicle_, berlin_);
            if (r.status == 201) {
                movers.emplace_back(r.json().at("id").as_string());
            }
        }
        ASSERT_EQ(movers.size(), 10U);
        std::atomic<int> won{0};
        std::vector<std::thread> threads;
        for (int i = 0; i < 50; ++i) {
            threads.emplace_back([&, i] {
                auto client = app_->new_client();
                http::ClientResponse r;
                if (i < 10) {
                    http::Headers headers{{"Authorization", "Bearer " + alice_.token},
                                          {"Content-Type", "application/json"}};
                    r = client->request("POST",
                                        "/api/v1/appointments/" + movers[static_cast<std::size_t>(i)] + "/reschedule",
                                        json::serialize(json::object{{"start_time", target}}),
                                        headers);
                } else {
                    r = book(target, alice_.token, vehicle_, berlin_, client.get());
                }
                EXPECT_TRUE(r.status == 200 || r.status == 201 || r.status == 409) << r.status << r.body;
                if (r.status == 200 || r.status == 201) {
                    ++won;
                }
            });
        }
        for (auto& t : threads) {
            t.join();
        }
        EXPECT_EQ(won.load(), 1) << "round " << round;
        // Exactly two hold the target now; free it again for the next round (cancel the newcomer).
        auto day = call(
            *app_, "GET", "/api/v1/appointments?location_id=" + berlin_ + "&date=2026-03-04&status=booked", support_);
        ASSERT_EQ(day.status, 200) << day.body;
        int at_target = 0;
        std::string newest;
        const json::value items = day.json().at("items");
        for (const auto& a : items.as_array()) {
            if (a.at("start_time") == json::value(target)) {
                ++at_target;
                newest = std::string(a.at("id").as_string());
            }
        }
        EXPECT_EQ(at_target, 2);
        // Clear the round: cancel everything on the 5th, and the newcomer at the target.
        auto fifth =
            call(*app_,
                 "GET",
                 "/api/v1/appointments?location_id=" + berlin_ + "&date=2026-03-05&status=booked&page_size=100",
                 support_);
        const json::value moved = fifth.json().at("items");
        for (const auto& a : moved.as_array()) {
            EXPECT_EQ(
                call(*app_, "POST", "/api/v1/appointments/" + std::string(a.at("id").as_string()) + "/cancel", support_)
                    .status,
                200);
        }
        for (const auto& a : items.as_array()) {
            if (a.at("start_time") == json::value(target) && a.at("id") != items.as_array()[0].at("id")) {
                EXPECT_EQ(call(*app_,
                               "POST",
                               "/api/v1/appointments/" + std::string(a.at("id").as_string()) + "/cancel",
                               support_)
                              .status,
                          200);
            }
        }
    }
}

TEST_F(BookingTest, CancelRescheduleStatusFlowServiceHistoryAndOtherMembers) {
    auto r = book("2026-03-03T09:00:00Z", alice_.token, vehicle_, berlin_);
    ASSERT_EQ(r.status, 201);
    const std::string id(r.json().at("id").as_string());
    const std::string path = "/api/v1/appointments/" + id;
    // Bob sees nothing of it.
    EXPECT_EQ(call(*app_, "GET", path, bob_.token).status, 404);
    EXPECT_EQ(call(*app_, "POST", path + "/cancel", bob_.token).status, 404);
    EXPECT_EQ(
        call(*app_, "POST", path + "/reschedule", bob_.token, json::object{{"start_time", "2026-03-03T10:00:00Z"}})
            .status,
        404);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/appointments", bob_.token).json().at("total"), json::value(0));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/vehicles/" + vehicle_ + "/service-history", bob_.token).status, 404);
    // Alice lists and moves it.
    auto upcoming = call(*app_, "GET", "/api/v1/appointments?upcoming=true", alice_.token);
    EXPECT_EQ(upcoming.json().at("total"), json::value(1)) << upcoming.body;
    EXPECT_EQ(upcoming.json().at("items").as_array().size(), 1U);
    auto moved =
        call(*app_, "POST", path + "/reschedule", alice_.token, json::object{{"start_time", "2026-03-03T10:00:00Z"}});
    ASSERT_EQ(moved.status, 200) << moved.body;
    EXPECT_EQ(moved.json().at("start_time"), json::value("2026-03-03T10:00:00Z"));
    EXPECT_EQ(
        call(*app_, "POST", path + "/reschedule", alice_.token, json::object{{"start_time", "2026-03-03T10:10:00Z"}})
            .status,
        422);
    // Members may not run the status flow; support does, in order.
    EXPECT_EQ(call(*app_, "POST", path + "/status", alice_.token, json::object{{"status", "checked_in"}}).status, 403);
    EXPECT_EQ(call(*app_, "POST", path + "/status", support_, json::object{{"status", "completed"}}).status, 409);
    EXPECT_EQ(
        call(*app_, "POST", path + "/status", support_, json::object{{"status", "checked_in"}, {"odometer_km", 1}})
            .status,
        422);
    for (const char* s : {"checked_in", "in_progress"}) {
        EXPECT_EQ(call(*app_, "POST", path + "/status", support_, json::object{{"status", s}}).status, 200) << s;
    }
    auto done =
        call(*app_,
             "POST",
             path + "/status",
             support_,
             json::object{{"status", "completed"}, {"odometer_km", 23456.7}, {"work_done", "Oil and filter changed"}});
    ASSERT_EQ(done.status, 200) << done.body;
    auto history = call(*app_, "GET", "/api/v1/vehicles/" + vehicle_ + "/service-history", alice_.token);
    ASSERT_EQ(history.status, 200) << history.body;
    ASSERT_EQ(history.json().at("items").as_array().size(), 1U);
    EXPECT_EQ(history.json().at("items").as_array()[0].at("work_done"), json::value("Oil and filter changed"));
    EXPECT_NEAR(history.json().at("items").as_array()[0].at("odometer_km").to_number<double>(), 23456.7, 1e-9);
    EXPECT_EQ(call(*app_, "POST", path + "/cancel", alice_.token).status, 409);  // completed

    // The cut-off: two hours before the start a member no longer cancels; support still does.
    auto late = book("2026-03-02T08:00:00Z", alice_.token, vehicle_, berlin_);  // 09:00 today, two hours from now
    ASSERT_EQ(late.status, 201) << late.body;
    const std::string late_path = "/api/v1/appointments/" + std::string(late.json().at("id").as_string());
    clock_->advance_ms(10 * 60'000);
    EXPECT_EQ(call(*app_, "POST", late_path + "/cancel", alice_.token).status, 409);
    EXPECT_EQ(call(*app_, "POST", late_path + "/cancel", support_).status, 200);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/appointments?status=nope", alice_.token).status, 422);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/appointments?date=2026-03-03", support_).status, 422);  // needs the location
}

TEST_F(BookingTest, OneReminderIsQueuedADayBeforeWithTheLocalTime) {
    ASSERT_EQ(book("2026-03-03T09:00:00Z", alice_.token, vehicle_, berlin_).status, 201);  // 27 hours ahead
    ASSERT_EQ(book("2026-03-02T10:00:00Z", alice_.token, vehicle_, berlin_).status, 201);  // 4 hours ahead
    auto run = [&] {
        const auto runs = app_->app().jobs().stats("booking.reminders").runs;
        app_->app().jobs().trigger("booking.reminders");
        for (int k = 0; k < 500 && app_->app().jobs().stats("booking.reminders").runs == runs; ++k) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    };
    auto mails = [&] {
        return app_->app().database().with_reader([](db::Connection& c) {
            auto rows =
                c.query("SELECT recipient, subject, body FROM mail_outbox WHERE subject LIKE 'Reminder%' ORDER BY id");
            std::vector<std::string> out;
            for (std::size_t i = 0; i < rows.size(); ++i) {
                out.push_back(rows.row(i).text(0) + "|" + rows.row(i).text(2));
            }
            return out;
        });
    };
    run();
    auto first = mails();
    ASSERT_EQ(first.size(), 1U);  // only the one within 24 hours
    EXPECT_EQ(first[0].rfind("alice@example.com|", 0), 0U);
    EXPECT_NE(first[0].find("2026-03-02 at 11:00 (Europe/Berlin time"), std::string::npos) << first[0];
    // With the appointment as a calendar event at its UTC instant.
    auto attachments = app_->app().database().with_reader([](db::Connection& c) {
        return c.query("SELECT attachments FROM mail_outbox WHERE subject LIKE 'Reminder%'").row(0).text(0);
    });
    auto files = json::parse(attachments).as_array();
    ASSERT_EQ(files.size(), 1U);
    EXPECT_EQ(files[0].at("filename"), json::value("appointment.ics"));
    EXPECT_EQ(files[0].at("content_type"), json::value("text/calendar; charset=utf-8; method=PUBLISH"));
    const std::string ics(files[0].at("content").as_string());
    EXPECT_NE(ics.find("BEGIN:VEVENT"), std::string::npos) << ics;
    EXPECT_NE(ics.find("DTSTART:20260302T100000Z"), std::string::npos) << ics;
    run();
    EXPECT_EQ(mails().size(), 1U);      // once
    clock_->advance_ms(4 * 3'600'000);  // now the other is within a day
    run();
    EXPECT_EQ(mails().size(), 2U);
}

}  // namespace
}  // namespace motorpool::testing
