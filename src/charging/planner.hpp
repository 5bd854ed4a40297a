#pragma once
// The rebalancer. Per grid cluster: reads the open sessions and the drivers' requests (matching a
// session to its request by id tag, vehicle or connector, and giving a car that plugged in without
// one a default request), runs the allocator, and decides each connector's limit so that the
// cluster's capacity holds at every moment: a limit counts only once the charger accepted it, and
// until then the planner assumes the worse of the old and the new, so an increase waits for the
// decreases that make room for it (they are sent first; their acceptance re-plans). A charger that
// refuses profiles, or draws more than its limit, is planned around at its measured draw.
// The dispatcher (dispatcher.hpp) sends the limits; the job charging.rebalance runs this on one node.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "alerts.hpp"
#include "db/db.hpp"

namespace motorpool::charging {

struct Services;

struct PlannerOptions {
    double default_energy_kwh = 20;                     // a car that plugged in without a request
    std::int64_t default_dwell_ms = 4LL * 3600 * 1000;  // ... and its assumed departure
    double min_current_a = 6;                           // OCPP's practical minimum per phase (IEC 61851)
    double threshold_kw = 0.5;                          // smaller changes are not sent
    double emergency_weight = 4;                        // an emergency's share against a normal request
    std::int64_t interval_ms = 60'000;                  // the period the allocator plans for
    std::int64_t over_limit_grace_ms = 120'000;         // a limit's time to take effect before a draw above it counts
};

struct PlannedCar {
    std::string request_id;                 // public id
    std::optional<std::string> session_id;  // public id; none while waiting for the car
    std::optional<std::int64_t> user_id;
    std::optional<std::string> vehicle_id;
    std::string charger_id;  // identity
    int connector_id = 0;
    std::int64_t transaction_id = 0;
    std::string kind;      // slot, default
    std::string priority;  // normal, emergency
    std::string status;    // waiting, charging, paused
    std::optional<std::string> reason;
    double power_kw = 0;   // the limit in force from this plan
    double target_kw = 0;  // what the allocator wants (power_kw once the room is confirmed)
    double need_kw = 0;    // the constant rate that finishes on time
    double max_kw = 0;
    std::optional<double> measured_kw;
    double requested_kwh = 0;
    double delivered_kwh = 0;
    double expected_kwh = 0;  // by departure, at this plan's rate
    std::int64_t departure_ms = 0;
    std::optional<double> price_estimate;
    bool controlled = true;  // false: the charger refuses profiles or ignores its limit
};

struct ClusterPlan {
    std::int64_t cluster_id = 0;
    std::string cluster_public_id;
    std::int64_t at_ms = 0;
    double capacity_kw = 0;  // in force now: schedule, peak-shaving target
    double base_load_kw = 0;
    double reserved_kw = 0;   // drawn by cars the allocator cannot control
    double allocated_kw = 0;  // sum of the limits in force, reserved included
    double measured_kw = 0;
    std::vector<PlannedCar> cars;     // plugged in
    std::vector<PlannedCar> waiting;  // requests whose car has not plugged in, with the plan it would get now
    std::optional<double> price_now;  // per kWh, with congestion
    std::optional<std::string> currency;
    std::vector<std::pair<std::string, Alert>> alerts;  // raised by this plan (public id, alert)

    boost::json::object to_json() const;
};

PlannedCar planned_car_from_json(const boost::json::object& o);

class Planner {
public:
    Planner(Services& services, PlannerOptions options);

    /// Re-plans every cluster with open sessions or open requests, each in its own transaction,
    /// and publishes the plans. Blocking (a worker thread).
    std::size_t replan_all();
    /// Re-plans one cluster inside the caller's transaction (the cluster row is locked first).
    ClusterPlan replan(db::Connection& c, std::int64_t cluster_id, std::int64_t now_ms);
    /// Locks the cluster's row (PostgreSQL; SQLite has one writer). A transaction that changes one
    /// of the cluster's requests and then re-plans takes this before that change: the lock order is
    /// then the cluster, then its requests, as in replan_all, and the two cannot deadlock.
    static void lock_cluster(db::Connection& c, std::int64_t cluster_id);
    /// GRID on grid.cluster.<id>, PLAN on charging.session.<id> of each car: after the commit.
    void publish(const ClusterPlan& plan);

    const PlannerOptions& options() const { return options_; }

private:
    Services& services_;
    PlannerOptions options_;
};

}  // namespace motorpool::charging
