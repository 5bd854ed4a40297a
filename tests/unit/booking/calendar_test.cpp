// The reminder's iCalendar event: read back by libical's own parser, its times are the UTC
// instants given, text is escaped and long lines are folded as RFC 5545 requires.

#include "booking/calendar.hpp"

#include <cstdlib>
#include <memory>
#include <sstream>

#include <gtest/gtest.h>
#include <libical/ical.h>

#include "core/time.hpp"

namespace motorpool::booking {
namespace {

std::int64_t at(const char* rfc3339) {
    return core::parse_rfc3339(rfc3339).value();
}

CalendarEvent sample() {
    CalendarEvent e;
    e.uid = "0190a1b2-0000-7000-8000-000000000001@motorpool";
    e.start_ms = at("2026-03-29T00:30:00Z");  // 01:30 in Berlin, half an hour before the clocks go forward
    e.end_ms = at("2026-03-29T01:30:00Z");    // 03:30 in Berlin: one hour of real time
    e.stamp_ms = at("2026-03-28T00:30:00Z");
    e.summary = "Service appointment at Motorpool Berlin, Mitte";
    e.location = "Motorpool Berlin; Torstrasse 1, 10119 Berlin";
    e.description = std::string(200, 'x');
    e.latitude = 52.529;
    e.longitude = 13.401;
    return e;
}

TEST(CalendarTest, TheEventReadsBackWithItsInstantsAndText) {
    const std::string text = calendar_text(sample());
    std::unique_ptr<icalcomponent, decltype(&icalcomponent_free)> calendar(icalparser_parse_string(text.c_str()),
                                                                           &icalcomponent_free);
    ASSERT_NE(calendar, nullptr) << text;
    EXPECT_EQ(icalcomponent_isa(calendar.get()), ICAL_VCALENDAR_COMPONENT);
    EXPECT_EQ(icalcomponent_get_method(calendar.get()), ICAL_METHOD_PUBLISH);
    icalcomponent* event = icalcomponent_get_first_component(calendar.get(), ICAL_VEVENT_COMPONENT);
    ASSERT_NE(event, nullptr);
    EXPECT_STREQ(icalcomponent_get_uid(event), "0190a1b2-0000-7000-8000-000000000001@motorpool");
    const icaltimetype start = icalcomponent_get_dtstart(event);
    EXPECT_TRUE(icaltime_is_utc(start));
    EXPECT_EQ(icaltime_as_timet(start), at("2026-03-29T00:30:00Z") / 1000);
    EXPECT_EQ(icaltime_as_timet(icalcomponent_get_dtend(event)), at("2026-03-29T01:30:00Z") / 1000);
    EXPECT_STREQ(icalcomponent_get_summary(event), "Service appointment at Motorpool Berlin, Mitte");
    EXPECT_STREQ(icalcomponent_get_location(event), "Motorpool Berlin; Torstrasse 1, 10119 Berlin");
    EXPECT_EQ(std::string(icalcomponent_get_description(event)), std::string(200, 'x'));
    // On the wire: UTC times, escaped separators, CRLF lines of at most 75 octets.
    EXPECT_NE(text.find("DTSTART:20260329T003000Z\r\n"), std::string::npos) << text;
    EXPECT_NE(text.find("SUMMARY:Service appointment at Motorpool Berlin\\, Mitte"), std::string::npos) << text;
    EXPECT_NE(text.find("LOCATION:Motorpool Berlin\\; Torstrasse 1\\, 10119 Berlin"), std::string::npos) << text;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
        ASSERT_FALSE(line.empty());
        EXPECT_EQ(line.back(), '\r') << line;
        EXPECT_LE(line.size(), 76U) << line;  // 75 octets and the CR
    }
}

}  // namespace
}  // namespace motorpool::booking
