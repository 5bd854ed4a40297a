#pragma once
// An appointment as an iCalendar (RFC 5545) event, attached to its reminder e-mail so a member's
// calendar holds it at the right instant whatever their own time zone.

#include <cstdint>
#include <string>

namespace motorpool::booking {

struct CalendarEvent {
    std::string uid;  // stable per appointment: a re-sent reminder updates the same event
    std::int64_t start_ms = 0;
    std::int64_t end_ms = 0;
    std::int64_t stamp_ms = 0;  // when it was written
    std::string summary;
    std::string location;
    std::string description;
    double latitude = 0, longitude = 0;
};

/// A VCALENDAR (METHOD:PUBLISH) with one VEVENT, times in UTC, text escaped and lines folded by
/// libical.
std::string calendar_text(const CalendarEvent& event);

}  // namespace motorpool::booking
