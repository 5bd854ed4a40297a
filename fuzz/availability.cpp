// Appointment availability: a location's opening windows (as its JSON is read), a date and the
// slot rules, in time zones with DST gaps and repeated hours (30-minute DST included), against
// bookings already held. Every slot offered lies inside an opening window, after the notice,
// before the horizon, on the interval grid, in order, and where a bay is free.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <fuzzer/FuzzedDataProvider.h>

#include "booking/slots.hpp"
#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/time_zone.hpp"
#include "server_fixture.hpp"
#include "target.hpp"

using namespace motorpool;

int motorpool::fuzz::availability(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    static const char* const kZones[] = {"UTC",
                                         "Europe/Berlin",
                                         "America/New_York",
                                         "Australia/Lord_Howe",
                                         "Pacific/Chatham",
                                         "America/Santiago",
                                         "Asia/Kolkata",
                                         "Pacific/Kiritimati"};
    const auto zone = core::TimeZone::load(kZones[in.ConsumeIntegralInRange<int>(0, 7)]);
    if (!zone) {
        fuzz::fail("tzdata lacks a zone the fuzzer uses", "");
    }
    const auto date = booking::parse_date(in.ConsumeBytesAsString(10));
    booking::SlotRules rules;
    rules.duration_min = in.ConsumeIntegralInRange<int>(5, 480);
    rules.interval_min = in.ConsumeIntegralInRange<int>(5, 120);
    rules.buffer_min = in.ConsumeIntegralInRange<int>(0, 120);
    rules.bays = in.ConsumeIntegralInRange<int>(1, 5);
    std::vector<booking::Busy> busy;
    for (int n = in.ConsumeIntegralInRange<int>(0, 12); n > 0; --n) {
        booking::Busy b;
        b.start_ms = in.ConsumeIntegral<std::int64_t>() % (std::int64_t{5000} * 365 * 86'400'000);
        b.end_ms = b.start_ms + in.ConsumeIntegralInRange<std::int64_t>(0, std::int64_t{2} * 86'400'000);
        busy.push_back(b);
    }
    const std::string windows_text = in.ConsumeRemainingBytesAsString();
    if (!date) {
        return 0;
    }
    boost::json::value windows_json;
    try {
        windows_json = core::parse_json(windows_text);
    } catch (const core::ApiError&) {
        return 0;
    }
    std::vector<core::FieldError> errors;
    const auto windows = booking::read_windows(windows_json, "hours", errors);
    if (!windows) {
        if (errors.empty()) {
            fuzz::fail("windows refused without a reason", windows_text);
        }
        return 0;
    }
    const auto instants = booking::window_instants(*zone, *date, *windows);
    const std::int64_t day_start = zone->instant(date->year, date->month, date->day, 0, 0);
    rules.earliest_ms = day_start + in.ConsumeIntegralInRange<std::int64_t>(-86'400'000, 86'400'000);
    rules.latest_ms = rules.earliest_ms + std::int64_t{3} * 86'400'000;
    const auto slots = booking::available_slots(*zone, *date, *windows, rules, busy);
    const std::int64_t duration_ms = std::int64_t{rules.duration_min} * 60'000;
    std::int64_t previous = INT64_MIN;
    for (const auto& slot : slots) {
        if (slot.end_ms - slot.start_ms != duration_ms) {
            fuzz::fail("a slot of the wrong length", windows_text);
        }
        if (slot.start_ms < rules.earliest_ms || slot.start_ms > rules.latest_ms) {
            fuzz::fail("a slot outside the notice and the horizon", windows_text);
        }
        if (slot.start_ms <= previous) {
            fuzz::fail("slots out of order or repeated", windows_text);
        }
        previous = slot.start_ms;
        bool inside = false;
        for (const auto& w : instants) {
            inside = inside || (slot.start_ms >= w.start_ms && slot.end_ms <= w.end_ms);
        }
        if (!inside) {
            fuzz::fail("a slot outside every opening window", windows_text);
        }
        std::vector<booking::Busy> held;
        for (const auto& b : busy) {
            held.push_back({b.start_ms, b.end_ms + std::int64_t{rules.buffer_min} * 60'000});
        }
        if (booking::peak_overlap(held, slot.start_ms, slot.end_ms + std::int64_t{rules.buffer_min} * 60'000) >=
            rules.bays) {
            fuzz::fail("a slot where every bay is taken", windows_text);
        }
    }
    return 0;
}
