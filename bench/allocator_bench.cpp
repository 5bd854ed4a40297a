// One re-plan of a cluster by the charging allocator: 50 cars (a site) and 10,000 (a depot), under
// capacity (everyone's need fits) and overloaded (shares of need, the 6 A minimum pausing some).
//   cmake --build build --target allocator_bench && build/bench/allocator_bench

#include <random>

#include <benchmark/benchmark.h>

#include "charging/allocator.hpp"

namespace {

using motorpool::charging::allocator::allocate;
using motorpool::charging::allocator::Car;

std::vector<Car> fleet(std::size_t n) {
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<Car> cars;
    for (std::size_t i = 0; i < n; ++i) {
        cars.push_back({std::to_string(i), 7.4 + unit(rng) * 14.6, 4.14, unit(rng) * 60, 0.5 + unit(rng) * 10, 1.0});
    }
    return cars;
}

void replan(benchmark::State& state, double capacity_per_car) {
    const auto n = static_cast<std::size_t>(state.range(0));
    auto cars = fleet(n);
    const double capacity = capacity_per_car * static_cast<double>(n);
    for (auto _ : state) {
        benchmark::DoNotOptimize(allocate(cars, capacity, 5.0 / 60));
    }
}

void Roomy(benchmark::State& state) {
    replan(state, 11.0);
}
void Overloaded(benchmark::State& state) {
    replan(state, 3.0);
}

}  // namespace

BENCHMARK(Roomy)->Arg(50)->Arg(10000)->Unit(benchmark::kMicrosecond);
BENCHMARK(Overloaded)->Arg(50)->Arg(10000)->Unit(benchmark::kMicrosecond);
