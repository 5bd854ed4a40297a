#pragma once
// Appointment slots, without a database: a location's local opening windows for one local date,
// turned into UTC instants with the time-zone database (DST days have 23 or 25 hours, a window's
// wall-clock bounds are what the clock on the wall says), stepped every slot interval, after the
// minimum notice and before the horizon, where fewer bookings overlap than there are bays (each
// booking holds its bay until its end plus the location's buffer).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/fwd.hpp>

#include "core/errors.hpp"
#include "core/time_zone.hpp"

namespace motorpool::booking {

/// Local minutes of the day: [from, to), to <= 1440 (24:00).
struct Window {
    int from_min = 0;
    int to_min = 0;
    bool operator==(const Window&) const = default;
};
using DayWindows = std::vector<Window>;
using WeeklyHours = std::array<DayWindows, 7>;  // Monday first

/// "HH:MM" (00:00..24:00) to minutes; -1 when malformed.
int minutes_of(std::string_view hhmm);
/// Reads [["08:00","12:00"],["13:00","17:00"]]: sorted, non-overlapping, each from < to. Problems
/// go to `errors` under `field`.
std::optional<DayWindows> read_windows(const boost::json::value& v,
                                       const std::string& field,
                                       std::vector<core::FieldError>& errors);
/// Reads {"mon":[...],...,"sun":[...]} (every day present).
std::optional<WeeklyHours> read_weekly_hours(const boost::json::value& v,
                                             const std::string& field,
                                             std::vector<core::FieldError>& errors);
boost::json::value windows_json(const DayWindows& w);
boost::json::value weekly_hours_json(const WeeklyHours& hours);

/// A calendar date; valid() checks the day exists.
struct Date {
    int year = 1970, month = 1, day = 1;
    bool valid() const;
    int weekday() const;  // 0 Monday
    std::string text() const;
};
/// "YYYY-MM-DD"; nullopt when malformed or not a real date.
std::optional<Date> parse_date(std::string_view text);

/// A held interval: [start, end) with the buffer already added to end.
struct Busy {
    std::int64_t start_ms = 0;
    std::int64_t end_ms = 0;
};

/// The most intervals of `busy` that overlap one instant within [from, to).
int peak_overlap(const std::vector<Busy>& busy, std::int64_t from, std::int64_t to);

struct SlotRules {
    int duration_min = 30;  // the services' total
    int interval_min = 15;
    int buffer_min = 0;
    int bays = 1;
    std::int64_t earliest_ms = 0;  // now + minimum notice
    std::int64_t latest_ms = 0;    // now + horizon: the last start
};

struct Slot {
    std::int64_t start_ms = 0;
    std::int64_t end_ms = 0;
    bool operator==(const Slot&) const = default;
};

/// The windows' instants on a local date: a window's ends are local wall-clock times (24:00 is the
/// next midnight); a start inside a DST gap moves forward with the clock.
std::vector<Busy> window_instants(const core::TimeZone& zone, const Date& date, const DayWindows& windows);

/// Every bookable slot of the date. `busy` may hold any bookings of the location (the overlapping
/// ones count).
std::vector<Slot> available_slots(const core::TimeZone& zone,
                                  const Date& date,
                                  const DayWindows& windows,
                                  const SlotRules& rules,
                                  std::vector<Busy> busy);

}  // namespace motorpool::booking
