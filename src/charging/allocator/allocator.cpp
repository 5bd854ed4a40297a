#include "charging/allocator.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace motorpool::charging::allocator {
namespace {

constexpr double kEpsilon = 1e-9;

// Water-filling: p_i = min(cap_i, level * scale_i) with sum p_i = budget (or every p_i = cap_i
// when the caps fit). Returns the powers; O(n log n).
std::vector<double> water_fill(const std::vector<double>& cap, const std::vector<double>& scale, double budget) {
    const std::size_t n = cap.size();
    std::vector<double> out(n, 0.0);
    const double total = std::accumulate(cap.begin(), cap.end(), 0.0);
    if (total <= budget + kEpsilon) {
        return cap;
    }
    // Each car saturates at level cap_i / scale_i: take them in that order.
    std::vector<std::size_t> order;
    double scale_sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (cap[i] > kEpsilon && scale[i] > kEpsilon) {
            order.push_back(i);
            scale_sum += scale[i];
        }
    }
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return cap[a] / scale[a] < cap[b] / scale[b];
    });
    double left = budget;
    for (std::size_t k = 0; k < order.size(); ++k) {
        const std::size_t i = order[k];
        const double level = left / scale_sum;
        if (level * scale[i] >= cap[i]) {
            out[i] = cap[i];  // saturated below the common level
            left -= cap[i];
            scale_sum -= scale[i];
        } else {
            for (std::size_t j = k; j < order.size(); ++j) {
                out[order[j]] = level * scale[order[j]];
            }
            break;
        }
    }
    return out;
}

// Max-min on projected satisfaction: p_i(L) = clamp((w_i L - base_i) * requested_i / dt, 0, cap_i)
// with sum p_i = budget (every p_i = cap_i when the caps fit). The level by bisection: each step
// O(n), 60 steps reach double precision on [0, 1 / min w].
std::vector<double> raise_lowest(const std::vector<double>& base,
                                 const std::vector<double>& cap,
                                 const std::vector<double>& requested,
                                 const std::vector<Car>& cars,
                                 double dt,
                                 double budget) {
    const std::size_t n = cap.size();
    const double total = std::accumulate(cap.begin(), cap.end(), 0.0);
    if (total <= budget + kEpsilon) {
        return cap;
    }
    double min_weight = 1e300;
    for (std::size_t i = 0; i < n; ++i) {
        if (cap[i] > kEpsilon) {
            min_weight = std::min(min_weight, std::max(cars[i].weight, kEpsilon));
        }
    }
    auto at = [&](double level, std::vector<double>* out) {
        double sum = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const double p = cap[i] > kEpsilon
                                 ? std::clamp((cars[i].weight * level - base[i]) * requested[i] / dt, 0.0, cap[i])
                                 : 0.0;
            sum += p;
            if (out != nullptr) {
                (*out)[i] = p;
            }
        }
        return sum;
    };
    double lo = 0, hi = 1.0 / min_weight + 1.0;
    for (int k = 0; k < 60; ++k) {
        const double mid = 0.5 * (lo + hi);
        (at(mid, nullptr) > budget ? hi : lo) = mid;
    }
    std::vector<double> out(n, 0.0);
    at(lo, &out);
    return out;
}

}  // namespace

std::vector<Allocation> allocate(const std::vector<Car>& cars, double capacity_kw, double period_hours) {
    const std::size_t n = cars.size();
    std::vector<Allocation> out(n);
    const double budget = std::max(0.0, capacity_kw);
    const double dt = std::max(period_hours, 1e-6);
    std::vector<double> need(n, 0.0);    // kW to finish on time
    std::vector<double> most(n, 0.0);    // kW at most this period (maximum, and no more than it wants)
    std::vector<bool> active(n, false);  // may charge this period
    std::vector<double> floor(n, 0.0);   // the practical minimum, never above what the car can take
    // Projected satisfaction: what a car would end with if it got p now and, for the rest of its
    // stay, the rate it can expect under contention (kContendedShare times an even share of the
    // capacity, at most its maximum): base (p = 0) plus p * dt / requested, up to the energy it
    // cannot get later (`at_risk`); beyond that, energy now only replaces energy later.
    std::vector<double> base(n, 1.0), at_risk(n, 0.0), requested(n, 1.0);
    std::size_t wanting = 0;
    for (const Car& c : cars) {
        wanting += (c.remaining_kwh > kEpsilon && c.max_kw > kEpsilon) ? 1 : 0;
    }
    const double even_share = wanting > 0 ? budget / static_cast<double>(wanting) : budget;
    for (std::size_t i = 0; i < n; ++i) {
        const Car& c = cars[i];
        out[i].id = c.id;
        if (c.remaining_kwh <= kEpsilon || c.max_kw <= kEpsilon) {
            continue;
        }
        most[i] = std::min(c.max_kw, c.remaining_kwh / dt);
        if (most[i] + kEpsilon < c.min_kw) {
            // Its last bit of energy is below the minimum rate: it may still charge at the minimum
            // for part of the period, which the charger meters; we plan the minimum.
            most[i] = std::min(c.max_kw, c.min_kw);
        }
        need[i] = std::min(most[i], c.remaining_kwh / std::max(c.hours_left, dt));
        floor[i] = std::min(c.min_kw, most[i]);
        requested[i] = std::max(c.requested_kwh, c.remaining_kwh);
        const double later = std::min(
            c.remaining_kwh, std::min(c.max_kw, kContendedShare * even_share) * std::max(0.0, c.hours_left - dt));
        base[i] = (requested[i] - c.remaining_kwh + later) / requested[i];
        at_risk[i] = std::min(most[i], (c.remaining_kwh - later) / dt);
        active[i] = true;
        out[i].need_kw = need[i];
    }

    std::vector<double> power;
    std::vector<std::size_t> paused;
    while (true) {
        std::vector<double> need_cap(n, 0.0), scale(n, 0.0), extra_cap(n, 0.0);
        for (std::size_t i = 0; i < n; ++i) {
            if (active[i]) {
                need_cap[i] = need[i];
                scale[i] = cars[i].weight * std::max(need[i], kEpsilon);
            }
        }
        const double need_total = std::accumulate(need_cap.begin(), need_cap.end(), 0.0);
        if (need_total > budget + kEpsilon) {
            // Overloaded. First the energy at risk, by raising the lowest projected satisfaction
            // (weighted: a class of weight w counts as satisfied at w times the level); then the
            // same weighted share of the rest of every car's need.
            std::vector<double> risk_cap(n, 0.0);
            for (std::size_t i = 0; i < n; ++i) {
                risk_cap[i] = active[i] ? at_risk[i] : 0.0;
            }
            power = raise_lowest(base, risk_cap, requested, cars, dt, budget);
            const double spent = std::accumulate(power.begin(), power.end(), 0.0);
            if (budget - spent > kEpsilon) {
                std::vector<double> rest_cap(n, 0.0);
                for (std::size_t i = 0; i < n; ++i) {
                    rest_cap[i] = std::max(0.0, need_cap[i] - power[i]);
                }
                auto rest = water_fill(rest_cap, scale, budget - spent);
                for (std::size_t i = 0; i < n; ++i) {
                    power[i] += rest[i];
                }
            }
        } else {
            // Everyone's need fits: the rest by weight, up to each car's maximum.
            power = need_cap;
            std::vector<double> weight(n, 0.0);
            for (std::size_t i = 0; i < n; ++i) {
                if (active[i]) {
                    extra_cap[i] = std::max(0.0, most[i] - need_cap[i]);
                    weight[i] = cars[i].weight / std::max(cars[i].hours_left, dt);  // the sooner gone, the more
                }
            }
            auto extra = water_fill(extra_cap, weight, budget - need_total);
            for (std::size_t i = 0; i < n; ++i) {
                power[i] += extra[i];
            }
        }

        // The practical minimum: raise what the capacity allows, pause the rest, re-plan.
        double used = std::accumulate(power.begin(), power.end(), 0.0);
        std::vector<std::size_t> below;
        for (std::size_t i = 0; i < n; ++i) {
            if (active[i] && power[i] + kEpsilon < floor[i]) {
                below.push_back(i);
            }
        }
        if (below.empty()) {
            break;
        }
        // The most urgent first: least slack (hours left beyond what the need implies), then weight.
        std::sort(below.begin(), below.end(), [&](std::size_t a, std::size_t b) {
            if (cars[a].weight != cars[b].weight) {
                return cars[a].weight > cars[b].weight;
            }
            return cars[a].hours_left < cars[b].hours_left;
        });
        for (std::size_t i : below) {
            const double raise = floor[i] - power[i];
            if (used + raise <= budget + kEpsilon) {
                power[i] = floor[i];
                used += raise;
            }
        }
        std::vector<std::size_t> still;  // below their minimum, most urgent first
        for (std::size_t i : below) {
            if (power[i] + kEpsilon < floor[i]) {
                still.push_back(i);
            }
        }
        if (still.empty()) {
            break;  // every raise was checked against the budget
        }
        // Pause the least urgent half of them at once (a geometric series of re-plans, not one per
        // car: 10,000 overloaded cars re-plan in milliseconds); the others may then reach theirs.
        const std::size_t pause = std::max<std::size_t>(1, still.size() / 2);
        for (std::size_t k = 0; k < pause; ++k) {
            const std::size_t i = still[still.size() - 1 - k];
            active[i] = false;
            paused.push_back(i);
        }
    }
    // Halving may pause a few more than needed: the most urgent of them get their minimum back
    // from what is left.
    for (std::size_t i = 0; i < n; ++i) {
        if (!active[i]) {
            power[i] = 0.0;
        }
    }
    double spare = budget - std::accumulate(power.begin(), power.end(), 0.0);
    std::sort(paused.begin(), paused.end(), [&](std::size_t a, std::size_t b) {
        if (cars[a].weight != cars[b].weight) {
            return cars[a].weight > cars[b].weight;
        }
        return cars[a].hours_left < cars[b].hours_left;
    });
    for (std::size_t i : paused) {
        if (floor[i] > kEpsilon && floor[i] <= spare + kEpsilon) {
            active[i] = true;
            power[i] = floor[i];
            spare -= floor[i];
        }
    }
    for (std::size_t i = 0; i < n; ++i) {
        out[i].kw = active[i] ? std::max(0.0, power[i]) : 0.0;
    }
    return out;
}

double jain_index(const std::vector<double>& values) {
    if (values.empty()) {
        return 1.0;
    }
    double sum = 0, squares = 0;
    for (double v : values) {
        sum += v;
        squares += v * v;
    }
    if (squares <= 0) {
        return 1.0;
    }
    return sum * sum / (static_cast<double>(values.size()) * squares);
}

}  // namespace motorpool::charging::allocator
