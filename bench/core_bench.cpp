// Micro-benchmarks of per-request work: route matching, ids, problem+json, RFC 3339.
//   build/bench/core_bench
#include <benchmark/benchmark.h>

#include "core/errors.hpp"
#include "core/ids.hpp"
#include "core/time.hpp"
#include "http/router.hpp"

namespace {

using motorpool::http::Method;

motorpool::http::Router& sample_router() {
    static motorpool::http::Router router;
    static bool ready = false;
    if (!ready) {
        auto handler = [](motorpool::http::Request) -> boost::asio::awaitable<motorpool::http::Response> {
            co_return motorpool::http::Response{};
        };
        for (const char* p : {"/health",
                              "/ready",
                              "/metrics",
                              "/api/v1/vehicles",
                              "/api/v1/vehicles/{id}",
                              "/api/v1/vehicles/{id}/signals",
                              "/api/v1/vehicles/{id}/signals/{code}/history",
                              "/api/v1/vehicles/{id}/telemetry",
                              "/api/v1/users/{id}",
                              "/api/v1/auth/login"}) {
            router.add(Method::Get, p, handler);
        }
        ready = true;
    }
    return router;
}

void BM_RouteMatchStatic(benchmark::State& state) {
    auto& router = sample_router();
    for (auto _ : state) {
        benchmark::DoNotOptimize(router.match(Method::Get, "/health"));
    }
}
BENCHMARK(BM_RouteMatchStatic);

void BM_RouteMatchParams(benchmark::State& state) {
    auto& router = sample_router();
    for (auto _ : state) {
        benchmark::DoNotOptimize(router.match(
            Method::Get, "/api/v1/vehicles/0190a6d4-8a1b-7c3d-9e4f-0123456789ab/signals/Motion.Speed/history"));
    }
}
BENCHMARK(BM_RouteMatchParams);

void BM_UuidV7(benchmark::State& state) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(motorpool::core::new_uuid_v7());
    }
}
BENCHMARK(BM_UuidV7);

void BM_RequestId(benchmark::State& state) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(motorpool::core::new_request_id());
    }
}
BENCHMARK(BM_RequestId);

void BM_ProblemJson(benchmark::State& state) {
    auto error = motorpool::core::ApiError::validation({{"vin", "must be 17 characters"}, {"year", "is required"}});
    for (auto _ : state) {
        benchmark::DoNotOptimize(motorpool::core::problem_json(error, "/api/v1/vehicles", "0123456789abcdef"));
    }
}
BENCHMARK(BM_ProblemJson);

void BM_Rfc3339RoundTrip(benchmark::State& state) {
    std::int64_t ms = 1'767'225'600'123;
    for (auto _ : state) {
        benchmark::DoNotOptimize(motorpool::core::parse_rfc3339(motorpool::core::format_rfc3339(ms++)));
    }
}
BENCHMARK(BM_Rfc3339RoundTrip);

}  // namespace
