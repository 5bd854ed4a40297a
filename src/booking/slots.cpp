#include "booking/slots.hpp"

#include <algorithm>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace motorpool::booking {
namespace json = boost::json;

namespace {
constexpr std::array<const char*, 7> kDays{"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

bool is_leap(int y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

std::string hhmm(int minutes) {
    return fmt::format("{:02}:{:02}", minutes / 60, minutes % 60);
}
}  // namespace

int minutes_of(std::string_view t) {
    if (t.size() != 5 || t[2] != ':') {
        return -1;
    }
    for (std::size_t i : {0U, 1U, 3U, 4U}) {
        if (t[i] < '0' || t[i] > '9') {
            return -1;
        }
    }
    const int h = (t[0] - '0') * 10 + (t[1] - '0');
    const int m = (t[3] - '0') * 10 + (t[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0)) {
        return -1;
    }
    return h * 60 + m;
}

std::optional<DayWindows> read_windows(const json::value& v,
                                       const std::string& field,
                                       std::vector<core::FieldError>& errors) {
    if (!v.is_array() || v.as_array().size() > 12) {
        errors.push_back({field, "must be a list of at most 12 [\"HH:MM\",\"HH:MM\"] windows"});
        return std::nullopt;
    }
    DayWindows out;
    std::size_t i = 0;
    for (const auto& item : v.as_array()) {
        const std::string at = field + "[" + std::to_string(i++) + "]";
        if (!item.is_array() || item.as_array().size() != 2 || !item.as_array()[0].is_string() ||
            !item.as_array()[1].is_string()) {
            errors.push_back({at, "must be [\"HH:MM\",\"HH:MM\"]"});
            return std::nullopt;
        }
        const int from = minutes_of(item.as_array()[0].as_string());
        const int to = minutes_of(item.as_array()[1].as_string());
        if (from < 0 || to < 0) {
            errors.push_back({at, "must hold local times from 00:00 to 24:00"});
            return std::nullopt;
        }
        if (to <= from) {
            errors.push_back({at, "must end after it starts (split a window across midnight in two)"});
            return std::nullopt;
        }
        if (!out.empty() && from < out.back().to_min) {
            errors.push_back({at, "must start after the previous window ends (windows in order, no overlap)"});
            return std::nullopt;
        }
        out.push_back({from, to});
    }
    return out;
}

std::optional<WeeklyHours> read_weekly_hours(const json::value& v,
                                             const std::string& field,
                                             std::vector<core::FieldError>& errors) {
    if (!v.is_object()) {
        errors.push_back({field, "must be an object {\"mon\":[[\"08:00\",\"17:00\"]],...,\"sun\":[]}"});
        return std::nullopt;
    }
    const auto& o = v.as_object();
    const std::size_t before = errors.size();
    for (const auto& kv : o) {
        if (std::find(kDays.begin(), kDays.end(), std::string_view(kv.key())) == kDays.end()) {
            errors.push_back({field + "." + std::string(kv.key()), "is not a day (mon, tue, wed, thu, fri, sat, sun)"});
        }
    }
    WeeklyHours hours;
    for (std::size_t d = 0; d < 7; ++d) {
        const auto* day = o.if_contains(kDays[d]);
        if (day == nullptr) {
            errors.push_back({field + "." + kDays[d], "is required ([] when closed)"});
            continue;
        }
        if (auto w = read_windows(*day, field + "." + kDays[d], errors)) {
            hours[d] = std::move(*w);
        }
    }
    if (errors.size() != before) {
        return std::nullopt;
    }
    return hours;
}

json::value windows_json(const DayWindows& w) {
    json::array out;
    for (const auto& x : w) {
        out.push_back(json::array{json::string(hhmm(x.from_min)), json::string(hhmm(x.to_min))});
    }
    return out;
}

json::value weekly_hours_json(const WeeklyHours& hours) {
    json::object out;
    for (std::size_t d = 0; d < 7; ++d) {
        out[kDays[d]] = windows_json(hours[d]);
    }
    return out;
}

bool Date::valid() const {
    static constexpr std::array<int, 12> kDaysIn{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1970 || year > 9999 || month < 1 || month > 12 || day < 1) {
        return false;
    }
    const int days = kDaysIn[static_cast<std::size_t>(month - 1)] + (month == 2 && is_leap(year) ? 1 : 0);
    return day <= days;
}

int Date::weekday() const {
    // Sakamoto's method: 0 Sunday; shifted to 0 Monday.
    static constexpr std::array<int, 12> t{0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    int y = year - (month < 3 ? 1 : 0);
    const int sunday_first = (y + y / 4 - y / 100 + y / 400 + t[static_cast<std::size_t>(month - 1)] + day) % 7;
    return (sunday_first + 6) % 7;
}

std::string Date::text() const {
    return fmt::format("{:04}-{:02}-{:02}", year, month, day);
}

std::optional<Date> parse_date(std::string_view t) {
    if (t.size() != 10 || t[4] != '-' || t[7] != '-') {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (i != 4 && i != 7 && (t[i] < '0' || t[i] > '9')) {
            return std::nullopt;
        }
    }
    auto num = [&](std::size_t from, std::size_t len) {
        int v = 0;
        for (std::size_t i = from; i < from + len; ++i) {
            v = v * 10 + (t[i] - '0');
        }
        return v;
    };
    Date d{num(0, 4), num(5, 2), num(8, 2)};
    if (!d.valid()) {
        return std::nullopt;
    }
    return d;
}

int peak_overlap(const std::vector<Busy>& busy, std::int64_t from, std::int64_t to) {
    // +1 at each start (clipped to from), -1 at each end; ends sort before starts at one instant
    // (half-open intervals that touch do not overlap).
    std::vector<std::pair<std::int64_t, int>> events;
    for (const auto& b : busy) {
        if (b.start_ms < to && b.end_ms > from) {
            events.emplace_back(std::max(b.start_ms, from), 1);
            events.emplace_back(std::min(b.end_ms, to), -1);
        }
    }
    std::sort(events.begin(), events.end());
    int now = 0, peak = 0;
    for (const auto& [at, delta] : events) {
        now += delta;
        peak = std::max(peak, now);
    }
    return peak;
}

std::vector<Busy> window_instants(const core::TimeZone& zone, const Date& date, const DayWindows& windows) {
    std::vector<Busy> out;
    for (const auto& w : windows) {
        // cctz normalises 24:00 to the next day's 00:00.
        const std::int64_t start = zone.instant(date.year, date.month, date.day, w.from_min / 60, w.from_min % 60);
        const std::int64_t end = zone.instant(date.year, date.month, date.day, w.to_min / 60, w.to_min % 60);
        if (end > start) {
            out.push_back({start, end});
        }
    }
    return out;
}

std::vector<Slot> available_slots(const core::TimeZone& zone,
                                  const Date& date,
                                  const DayWindows& windows,
                                  const SlotRules& rules,
                                  std::vector<Busy> busy) {
    std::vector<Slot> out;
    if (rules.duration_min <= 0 || rules.interval_min <= 0 || rules.bays <= 0) {
        return out;
    }
    const std::int64_t duration = static_cast<std::int64_t>(rules.duration_min) * 60'000;
    const std::int64_t step = static_cast<std::int64_t>(rules.interval_min) * 60'000;
    const std::int64_t buffer = static_cast<std::int64_t>(rules.buffer_min) * 60'000;
    std::sort(busy.begin(), busy.end(), [](const Busy& a, const Busy& b) { return a.start_ms < b.start_ms; });
    for (const auto& w : window_instants(zone, date, windows)) {
        for (std::int64_t start = w.start_ms; start + duration <= w.end_ms; start += step) {
            if (start < rules.earliest_ms || start > rules.latest_ms) {
                continue;
            }
            // The bookings that may overlap: those starting before this one's hold ends.
            const std::int64_t hold_end = start + duration + buffer;
            std::vector<Busy> near;
            for (const auto& b : busy) {
                if (b.start_ms >= hold_end) {
                    break;
                }
                if (b.end_ms > start) {
                    near.push_back(b);
                }
            }
            if (peak_overlap(near, start, hold_end) < rules.bays) {
                out.push_back({start, start + duration});
            }
        }
    }
    return out;
}

}  // namespace motorpool::booking
