#pragma once
// IANA time zones (tzdata through cctz): local wall-clock time of an instant and the instant of a
// local wall-clock time, DST-correct. Sites, locations and tariffs keep their rules in local time.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace motorpool::core {

struct LocalTime {
    int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0;
    int weekday = 0;  // 0 Monday ... 6 Sunday
    int utc_offset_s = 0;
};

class TimeZone {
public:
    /// The zone of an IANA name ("Europe/Berlin", "UTC"); nullopt when tzdata does not know it.
    static std::optional<TimeZone> load(const std::string& name);
    static TimeZone utc();

    LocalTime local(std::int64_t utc_ms) const;
    /// The instant of a local wall-clock time. In a gap (clocks spring forward) it is the instant
    /// the wall clock would read had it not jumped (so 02:30 on a 02:00->03:00 day is 03:30); in a
    /// repeated hour (clocks fall back) it is the first.
    std::int64_t instant(int year, int month, int day, int hour, int minute, int second = 0) const;
    /// The instant local midnight starts the day after `utc_ms`'s local day.
    std::int64_t next_midnight(std::int64_t utc_ms) const;
    const std::string& name() const { return name_; }

private:
    struct Impl;
    TimeZone(std::shared_ptr<const Impl> impl, std::string name) : impl_(std::move(impl)), name_(std::move(name)) {}
    std::shared_ptr<const Impl> impl_;
    std::string name_;
};

}  // namespace motorpool::core
