#pragma once
// Replays EV sessions through the allocator, period by period, revealing each car only at its
// arrival (with its energy and departure, as a driver's slot request would): the figures
// `motorpool charging replay` prints, from the very code the server runs.

#include <cstdint>
#include <iosfwd>
#include <string>
#include <tuple>
#include <vector>

namespace motorpool::charging::allocator {

/// One row of a sessions CSV in the format of shared/data/caltech_acn_2019-03_sessions.csv.
struct ReplaySession {
    std::string id;
    std::int64_t arrival_period = 0;    // 5-minute periods
    std::int64_t departure_period = 0;  // exclusive
    double requested_kwh = 0;
    double max_kw = 0;
};

/// Reads the CSV; throws std::runtime_error naming the line of a malformed row.
std::vector<ReplaySession> read_sessions_csv(std::istream& in);

struct ReplayOptions {
    double capacity_kw = 20;
    double max_power_kw = 6.6;        // each EVSE's maximum (a session's own maximum applies too)
    double min_power_kw = 0;          // practical minimum while charging (0: none, as in ACN-Sim's model)
    std::int64_t period_minutes = 5;  // how often the allocator re-plans (the data's periods are 5 minutes)
};

struct ReplayResult {
    double requested_kwh = 0;
    double delivered_kwh = 0;
    double jain = 1;  // over satisfaction (delivered / requested) of every session
    double min_satisfaction = 1;
    double peak_kw = 0;
    std::int64_t periods = 0;
    double replan_p50_us = 0, replan_p99_us = 0, replan_max_us = 0;
    /// Every period's power per session (zero rows omitted): period (of period_minutes from the
    /// data's start of time), session id, kW.
    std::vector<std::tuple<std::int64_t, std::string, double>> schedule;
};

ReplayResult replay(const std::vector<ReplaySession>& sessions, const ReplayOptions& options, bool keep_schedule);

}  // namespace motorpool::charging::allocator
