#include "core/time_zone.hpp"

#include <chrono>

#include <cctz/civil_time.h>
#include <cctz/time_zone.h>

namespace motorpool::core {

struct TimeZone::Impl {
    cctz::time_zone zone;
};

namespace {
using sys_s = std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds>;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}
}  // namespace

std::optional<TimeZone> TimeZone::load(const std::string& name) {
    cctz::time_zone zone;
    if (name.empty() || !cctz::load_time_zone(name, &zone)) {
        return std::nullopt;
    }
    return TimeZone(std::make_shared<const Impl>(Impl{zone}), name);
}

TimeZone TimeZone::utc() {
    return TimeZone(std::make_shared<const Impl>(Impl{cctz::utc_time_zone()}), "UTC");
}

LocalTime TimeZone::local(std::int64_t utc_ms) const {
    const sys_s at{std::chrono::seconds(floor_div(utc_ms, 1000))};
    const auto info = impl_->zone.lookup(at);
    const cctz::civil_second cs = info.cs;
    LocalTime t;
    t.year = static_cast<int>(cs.year());
    t.month = cs.month();
    t.day = cs.day();
    t.hour = cs.hour();
    t.minute = cs.minute();
    t.second = cs.second();
    t.weekday = static_cast<int>(cctz::get_weekday(cctz::civil_day(cs)));  // cctz: monday = 0
    t.utc_offset_s = info.offset;
    return t;
}

std::int64_t TimeZone::instant(int year, int month, int day, int hour, int minute, int second) const {
    const cctz::civil_second cs(year, month, day, hour, minute, second);
    const auto lookup = impl_->zone.lookup(cs);
    // UNIQUE: pre == post; SKIPPED: pre is the instant with the offset before the jump (the wall
    // clock's reading had it not jumped); REPEATED: pre is the first occurrence.
    const auto at = lookup.pre;
    return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

std::int64_t TimeZone::next_midnight(std::int64_t utc_ms) const {
    const LocalTime t = local(utc_ms);
    const cctz::civil_day next = cctz::civil_day(t.year, t.month, t.day) + 1;
    return instant(static_cast<int>(next.year()), next.month(), next.day(), 0, 0, 0);
}

}  // namespace motorpool::core
