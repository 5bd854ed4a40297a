// Availability of one location's day (the slot computation the server runs per request): 20 bays,
// 1,000 bookings that day, 15-minute slots over 06:00-22:00, a 45-minute service.
//   cmake --build build --target booking_bench && build/bench/booking_bench

#include <random>

#include <benchmark/benchmark.h>

#include "booking/slots.hpp"
#include "core/time_zone.hpp"

namespace {

using namespace motorpool::booking;

void Availability(benchmark::State& state) {
    const auto zone = motorpool::core::TimeZone::load("Europe/Berlin").value();
    const Date date{2026, 6, 15};
    const DayWindows windows{{6 * 60, 22 * 60}};
    const auto open = window_instants(zone, date, windows).front();
    std::mt19937_64 rng(11);
    std::vector<Busy> busy;
    const auto bookings = static_cast<std::size_t>(state.range(0));
    for (std::size_t i = 0; i < bookings; ++i) {
        const std::int64_t start = open.start_ms + static_cast<std::int64_t>(rng() % 64) * 15 * 60'000;
        busy.push_back({start, start + (30 + static_cast<std::int64_t>(rng() % 4) * 15) * 60'000});
    }
    SlotRules rules;
    rules.duration_min = 45;
    rules.interval_min = 15;
    rules.buffer_min = 10;
    rules.bays = 20;
    rules.earliest_ms = 0;
    rules.latest_ms = open.end_ms;
    std::size_t found = 0;
    for (auto _ : state) {
        auto slots = available_slots(zone, date, windows, rules, busy);
        found = slots.size();
        benchmark::DoNotOptimize(slots);
    }
    state.counters["slots"] = static_cast<double>(found);
}

}  // namespace

BENCHMARK(Availability)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond);
