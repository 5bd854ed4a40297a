// Appointment slots without a database: opening windows to instants on ordinary days and on both
// DST transition days in Europe/Berlin, America/New_York and Australia/Sydney, and in Asia/Tokyo
// (no DST); bays against overlapping bookings with the buffer; notice and horizon; the validation
// of opening hours.

#include "booking/slots.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/time.hpp"

namespace motorpool::booking {
namespace {

namespace json = boost::json;

std::int64_t at(const char* rfc3339) {
    return core::parse_rfc3339(rfc3339).value();
}

std::vector<std::string> starts(const std::vector<Slot>& slots) {
    std::vector<std::string> out;
    for (const auto& s : slots) {
        out.push_back(core::format_rfc3339(s.start_ms));
    }
    return out;
}

SlotRules hourly(int bays = 1) {
    SlotRules r;
    r.duration_min = 60;
    r.interval_min = 60;
    r.bays = bays;
    r.earliest_ms = 0;
    r.latest_ms = at("2100-01-01T00:00:00Z");
    return r;
}

core::TimeZone zone(const char* name) {
    return core::TimeZone::load(name).value();
}

TEST(SlotsTest, AnOrdinaryDayWithABreak) {
    SlotRules r = hourly();
    r.interval_min = 30;
    auto slots = available_slots(zone("Europe/Berlin"), {2026, 3, 3}, {{480, 720}, {780, 1020}}, r, {});
    ASSERT_EQ(slots.size(), 14U);  // 08:00..11:00 and 13:00..16:00 every half hour
    EXPECT_EQ(core::format_rfc3339(slots.front().start_ms), "2026-03-03T07:00:00Z");
    EXPECT_EQ(core::format_rfc3339(slots.front().end_ms), "2026-03-03T08:00:00Z");
    EXPECT_EQ(core::format_rfc3339(slots[6].start_ms), "2026-03-03T10:00:00Z");  // 11:00, ends at the break
    EXPECT_EQ(core::format_rfc3339(slots[7].start_ms), "2026-03-03T12:00:00Z");  // 13:00
    EXPECT_EQ(core::format_rfc3339(slots.back().start_ms), "2026-03-03T15:00:00Z");
}

TEST(SlotsTest, BerlinSpringForwardHasNoTwoOClockAndFallBackHasTwo) {
    // 2026-03-29: 02:00 CET -> 03:00 CEST. Open 00:00-06:00 local: five real hours.
    auto spring = available_slots(zone("Europe/Berlin"), {2026, 3, 29}, {{0, 360}}, hourly(), {});
    EXPECT_EQ(starts(spring),
              (std::vector<std::string>{"2026-03-28T23:00:00Z",
                                        "2026-03-29T00:00:00Z",
                                        "2026-03-29T01:00:00Z",
                                        "2026-03-29T02:00:00Z",
                                        "2026-03-29T03:00:00Z"}));
    // 2026-10-25: 03:00 CEST -> 02:00 CET. Seven real hours, 02:xx twice.
    auto autumn = available_slots(zone("Europe/Berlin"), {2026, 10, 25}, {{0, 360}}, hourly(), {});
    EXPECT_EQ(autumn.size(), 7U);
    EXPECT_EQ(core::format_rfc3339(autumn.front().start_ms), "2026-10-24T22:00:00Z");
    EXPECT_EQ(core::format_rfc3339(autumn.back().start_ms), "2026-10-25T04:00:00Z");  // 05:00 CET
    // Business hours on both days sit at the right offset.
    auto day = available_slots(zone("Europe/Berlin"), {2026, 3, 29}, {{480, 1020}}, hourly(), {});
    EXPECT_EQ(core::format_rfc3339(day.front().start_ms), "2026-03-29T06:00:00Z");  // 08:00 CEST
    EXPECT_EQ(day.size(), 9U);
    auto fall = available_slots(zone("Europe/Berlin"), {2026, 10, 25}, {{480, 1020}}, hourly(), {});
    EXPECT_EQ(core::format_rfc3339(fall.front().start_ms), "2026-10-25T07:00:00Z");  // 08:00 CET
    EXPECT_EQ(fall.size(), 9U);
}

TEST(SlotsTest, NewYorkBothTransitions) {
    // 2026-03-08 (EST -> EDT at 02:00) and 2026-11-01 (EDT -> EST at 02:00).
    auto spring = available_slots(zone("America/New_York"), {2026, 3, 8}, {{480, 1020}}, hourly(), {});
    ASSERT_EQ(spring.size(), 9U);
    EXPECT_EQ(core::format_rfc3339(spring.front().start_ms), "2026-03-08T12:00:00Z");
    auto night = available_slots(zone("America/New_York"), {2026, 3, 8}, {{0, 240}}, hourly(), {});
    EXPECT_EQ(night.size(), 3U);  // 00:00, 01:00, 03:00: 02:00 does not exist
    auto fall = available_slots(zone("America/New_York"), {2026, 11, 1}, {{480, 1020}}, hourly(), {});
    ASSERT_EQ(fall.size(), 9U);
    EXPECT_EQ(core::format_rfc3339(fall.front().start_ms), "2026-11-01T13:00:00Z");
    auto long_night = available_slots(zone("America/New_York"), {2026, 11, 1}, {{0, 240}}, hourly(), {});
    EXPECT_EQ(long_night.size(), 5U);  // 01:00 happens twice
}

TEST(SlotsTest, SydneyBothTransitions) {
    // 2026-04-05: 03:00 AEDT -> 02:00 AEST; 2026-10-04: 02:00 AEST -> 03:00 AEDT.
    auto april = available_slots(zone("Australia/Sydney"), {2026, 4, 5}, {{480, 1020}}, hourly(), {});
    ASSERT_EQ(april.size(), 9U);
    EXPECT_EQ(core::format_rfc3339(april.front().start_ms), "2026-04-04T22:00:00Z");  // 08:00 AEST (+10)
    EXPECT_EQ(available_slots(zone("Australia/Sydney"), {2026, 4, 5}, {{0, 360}}, hourly(), {}).size(), 7U);
    auto october = available_slots(zone("Australia/Sydney"), {2026, 10, 4}, {{480, 1020}}, hourly(), {});
    ASSERT_EQ(october.size(), 9U);
    EXPECT_EQ(core::format_rfc3339(october.front().start_ms), "2026-10-03T21:00:00Z");  // 08:00 AEDT (+11)
    EXPECT_EQ(available_slots(zone("Australia/Sydney"), {2026, 10, 4}, {{0, 360}}, hourly(), {}).size(), 5U);
}

TEST(SlotsTest, TokyoHasNoTransitions) {
    for (Date d : {Date{2026, 3, 29}, Date{2026, 10, 25}, Date{2026, 3, 8}, Date{2026, 11, 1}}) {
        auto slots = available_slots(zone("Asia/Tokyo"), d, {{0, 360}}, hourly(), {});
        EXPECT_EQ(slots.size(), 6U) << d.text();
    }
    auto day = available_slots(zone("Asia/Tokyo"), {2026, 3, 29}, {{480, 1020}}, hourly(), {});
    EXPECT_EQ(core::format_rfc3339(day.front().start_ms), "2026-03-28T23:00:00Z");
}

TEST(SlotsTest, BaysCountOverlappingBookingsWithTheBuffer) {
    const auto utc = core::TimeZone::utc();
    SlotRules r = hourly(2);
    r.interval_min = 15;
    r.buffer_min = 15;
    const Date d{2026, 6, 1};
    // Two bookings 09:00-10:00 (held to 10:15 with the buffer): 09:00 is full, 10:15 free again.
    std::vector<Busy> busy{{at("2026-06-01T09:00:00Z"), at("2026-06-01T10:15:00Z")},
                           {at("2026-06-01T09:00:00Z"), at("2026-06-01T10:15:00Z")}};
    auto slots = available_slots(utc, d, {{480, 720}}, r, busy);
    auto s = starts(slots);
    EXPECT_EQ(std::count(s.begin(), s.end(), "2026-06-01T08:00:00Z"), 0);  // its hold (to 09:15) meets both
    EXPECT_EQ(std::count(s.begin(), s.end(), "2026-06-01T07:45:00Z"), 0);  // hold 07:45-09:00? window opens 08:00
    EXPECT_EQ(std::count(s.begin(), s.end(), "2026-06-01T09:00:00Z"), 0);
    EXPECT_EQ(std::count(s.begin(), s.end(), "2026-06-01T10:00:00Z"), 0);
    EXPECT_EQ(std::count(s.begin(), s.end(), "2026-06-01T10:15:00Z"), 1);
    // One booking leaves a bay.
    busy.pop_back();
    s = starts(available_slots(utc, d, {{480, 720}}, r, busy));
    EXPECT_EQ(std::count(s.begin(), s.end(), "2026-06-01T09:00:00Z"), 1);
    // Back-to-back bookings on one bay do not overlap: peak 1, not 2.
    EXPECT_EQ(peak_overlap({{0, 10}, {10, 20}}, 0, 20), 1);
    EXPECT_EQ(peak_overlap({{0, 10}, {5, 15}, {10, 20}}, 0, 20), 2);
    EXPECT_EQ(peak_overlap({{0, 10}, {5, 15}, {8, 20}}, 0, 20), 3);
    EXPECT_EQ(peak_overlap({{0, 10}}, 10, 20), 0);
}

TEST(SlotsTest, NoticeAndHorizonBoundTheStarts) {
    const auto utc = core::TimeZone::utc();
    SlotRules r = hourly();
    r.earliest_ms = at("2026-06-01T10:30:00Z");
    r.latest_ms = at("2026-06-01T13:00:00Z");
    EXPECT_EQ(starts(available_slots(utc, {2026, 6, 1}, {{480, 1020}}, r, {})),
              (std::vector<std::string>{"2026-06-01T11:00:00Z", "2026-06-01T12:00:00Z", "2026-06-01T13:00:00Z"}));
}

TEST(SlotsTest, OpeningHoursAreValidated) {
    std::vector<core::FieldError> errors;
    auto ok = read_weekly_hours(json::parse(R"({"mon":[["08:00","12:00"],["13:00","17:00"]],"tue":[],"wed":[],
        "thu":[],"fri":[["08:00","24:00"]],"sat":[],"sun":[]})"),
                                "opening_hours",
                                errors);
    ASSERT_TRUE(ok) << (errors.empty() ? "" : errors[0].message);
    EXPECT_EQ((*ok)[0], (DayWindows{{480, 720}, {780, 1020}}));
    EXPECT_EQ((*ok)[4], (DayWindows{{480, 1440}}));
    EXPECT_EQ(json::serialize(weekly_hours_json(*ok)).substr(0, 40), R"({"mon":[["08:00","12:00"],["13:00","17:0)");
    struct Case {
        const char* body;
        const char* field;
    };
    for (const Case& c :
         {Case{R"({"mon":[]})", "opening_hours.tue"},
          Case{R"({"mon":[["12:00","08:00"]],"tue":[],"wed":[],"thu":[],"fri":[],"sat":[],"sun":[]})",
               "opening_hours.mon[0]"},
          Case{R"({"mon":[["08:00","12:00"],["11:00","13:00"]],"tue":[],"wed":[],"thu":[],"fri":[],"sat":[],"sun":[]})",
               "opening_hours.mon[1]"},
          Case{R"({"mon":[["8:00","12:00"]],"tue":[],"wed":[],"thu":[],"fri":[],"sat":[],"sun":[]})",
               "opening_hours.mon[0]"},
          Case{R"({"mon":[],"tue":[],"wed":[],"thu":[],"fri":[],"sat":[],"sun":[],"xyz":[]})", "opening_hours.xyz"}}) {
        errors.clear();
        EXPECT_FALSE(read_weekly_hours(json::parse(c.body), "opening_hours", errors)) << c.body;
        ASSERT_FALSE(errors.empty()) << c.body;
        EXPECT_EQ(errors[0].field, c.field) << c.body;
    }
    EXPECT_FALSE(parse_date("2026-02-29"));
    EXPECT_TRUE(parse_date("2028-02-29"));
    EXPECT_FALSE(parse_date("2026-13-01"));
    EXPECT_FALSE(parse_date("2026-1-01"));
    EXPECT_EQ(parse_date("2026-03-29")->weekday(), 6);  // a Sunday
}

}  // namespace
}  // namespace motorpool::booking
