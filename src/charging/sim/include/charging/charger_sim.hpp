#pragma once
// `motorpool charger-sim`: N simulated OCPP 1.6J charge points (security profile 1) against a
// motorpool server. It registers them through the REST API (an admin token), connects each, boots
// it, reports status, heartbeats and meter values, plugs in EVs from a sessions CSV (the format of
// shared/data: arrivals and departures in 5-minute periods, energy, power) at an adjustable speed,
// obeys the charging profiles it receives, and reports the latency of every CALL it made.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace motorpool::charging::sim {

struct Options {
    std::string url = "http://127.0.0.1:8000";  // the server (REST and /ocpp on the same origin)
    std::string token;                          // an admin's access token (registers the chargers)
    int chargers = 10;
    int connectors = 2;
    double max_power_kw = 22;
    std::string prefix;                           // identities <prefix><n>; empty: SIM-<random>-
    std::optional<std::string> cluster_id;        // the grid cluster they hang on
    std::optional<std::string> sessions_csv;      // EV arrivals and departures; none: no EVs
    double speed = 60;                            // simulated seconds per real second (sessions)
    std::chrono::seconds heartbeat{60};           // 0: the interval BootNotification answers
    std::chrono::seconds meter_interval{30};      // MeterValues of every connector, this often
    std::chrono::seconds duration{0};             // 0: until Ctrl+C (or the last session ends)
    std::chrono::milliseconds connect_spread{0};  // connections spread over this (avoid a storm)
};

struct Report {
    std::int64_t connected = 0;
    std::int64_t calls = 0;
    std::int64_t call_errors = 0;
    std::int64_t timeouts = 0;
    std::int64_t sessions_started = 0;
    std::int64_t sessions_stopped = 0;
    std::int64_t profiles_received = 0;
    double p50_ms = 0, p99_ms = 0, max_ms = 0;  // CALL to its answer
};

/// Runs the simulation; prints progress to stdout. Throws std::runtime_error on setup failures.
Report run(const Options& options);

}  // namespace motorpool::charging::sim
