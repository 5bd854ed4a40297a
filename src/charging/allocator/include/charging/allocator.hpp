#pragma once
// The charging allocator: how much power each car of one grid cluster gets for the next period.
// A library on `core` alone (no database, no socket), so it is unit-tested and benchmarked by
// itself and the replay runs the very code the server runs.
//
// One re-plan, O(n log n) in the cars:
//  1. Each car's need rate: the constant power that finishes its remaining energy exactly at its
//     departure, capped by its maximum (connector, vehicle).
//  2. When the needs fit the capacity, every car gets its need, and what is left is shared by
//     water-filling up to each car's maximum, weighted by priority and by how soon the car leaves
//     (energy delivered early frees the future).
//  3. When they do not fit, first the energy each car cannot get later: its projected satisfaction
//     (what it would end with if it got p now and then the rate it can expect under contention,
//     kContendedShare times an even share of the capacity) is raised lowest first (max-min, a
//     priority class of weight w counted at w times the level); then the rest of the capacity is
//     shared so that every car gets the same weighted share of the rest of its need.
//  4. OCPP's practical minimum (6 A per phase): a car given less than its minimum is raised to it
//     when the capacity allows, otherwise paused (0) and its share given to the others, the car
//     with the most slack paused first.

#include <cstdint>
#include <string>
#include <vector>

namespace motorpool::charging::allocator {

/// How much more than an even share of the capacity a car expects for the rest of its stay when
/// the cluster is overloaded (cars come and go, so later shares run above today's even share).
/// Tuned on the Caltech sessions (docs/performance.md): 2.5 maximises the minimum satisfaction from
/// 15 to 30 kW without costing energy.
inline constexpr double kContendedShare = 2.5;

struct Car {
    std::string id;
    double max_kw = 0;         // connector and vehicle maximum
    double min_kw = 0;         // practical minimum while charging (6 A per phase); 0: none
    double remaining_kwh = 0;  // energy still wanted
    double hours_left = 0;     // until departure (<= 0: leaving now)
    double weight = 1;         // priority class weight (emergency > normal)
    double requested_kwh = 0;  // the whole request (its satisfaction's denominator); 0: remaining_kwh
};

struct Allocation {
    std::string id;
    double kw = 0;
    double need_kw = 0;  // the rate that would finish on time
};

/// Powers for one period of `period_hours` under `capacity_kw` (already net of base load and of
/// any draw the allocator does not control). The sum never exceeds the capacity; each power is 0
/// or between the car's minimum and maximum, and never more than its remaining energy needs.
std::vector<Allocation> allocate(const std::vector<Car>& cars, double capacity_kw, double period_hours);

/// Jain's fairness index of non-negative values: (sum x)^2 / (n * sum x^2), 1 for n = 0.
double jain_index(const std::vector<double>& values);

}  // namespace motorpool::charging::allocator
