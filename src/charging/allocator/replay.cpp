#include "charging/replay.hpp"

#include <algorithm>
#include <chrono>
#include <istream>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "charging/allocator.hpp"

namespace motorpool::charging::allocator {

std::vector<ReplaySession> read_sessions_csv(std::istream& in) {
    std::vector<ReplaySession> out;
    std::string line;
    std::int64_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (number == 1 || line.empty()) {
            continue;  // the header
        }
        std::stringstream fields(line);
        std::string id, station, arrival, departure, energy, power;
        if (!std::getline(fields, id, ',') || !std::getline(fields, station, ',') ||
            !std::getline(fields, arrival, ',') || !std::getline(fields, departure, ',') ||
            !std::getline(fields, energy, ',') || !std::getline(fields, power, ',')) {
            throw std::runtime_error("line " + std::to_string(number) + ": expected 6 columns");
        }
        try {
            ReplaySession s{id, std::stoll(arrival), std::stoll(departure), std::stod(energy), std::stod(power)};
            if (s.departure_period <= s.arrival_period || s.requested_kwh < 0 || s.max_kw <= 0) {
                throw std::invalid_argument("window or values");
            }
            out.push_back(std::move(s));
        } catch (const std::exception&) {
            throw std::runtime_error("line " + std::to_string(number) + ": malformed values");
        }
    }
    return out;
}

ReplayResult replay(const std::vector<ReplaySession>& sessions, const ReplayOptions& options, bool keep_schedule) {
    ReplayResult result;
    if (sessions.empty()) {
        return result;
    }
    // The data's periods are 5 minutes; the allocator re-plans every period_minutes.
    const std::int64_t step = std::max<std::int64_t>(1, options.period_minutes);
    const double period_hours = static_cast<double>(step) / 60.0;
    std::int64_t first = sessions.front().arrival_period * 5, last = sessions.front().departure_period * 5;
    for (const auto& s : sessions) {
        first = std::min(first, s.arrival_period * 5);
        last = std::max(last, s.departure_period * 5);
        result.requested_kwh += s.requested_kwh;
    }
    std::vector<double> delivered(sessions.size(), 0.0);
    std::vector<double> timings;
    std::vector<Car> cars;
    std::vector<std::size_t> index;
    for (std::int64_t t = first; t < last; t += step) {
        cars.clear();
        index.clear();
        for (std::size_t i = 0; i < sessions.size(); ++i) {
            const auto& s = sessions[i];
            if (s.arrival_period * 5 <= t && t < s.departure_period * 5 && delivered[i] < s.requested_kwh - 1e-9) {
                Car c;
                c.id = s.id;
                c.max_kw = std::min(options.max_power_kw, s.max_kw);
                c.min_kw = options.min_power_kw;
                c.remaining_kwh = s.requested_kwh - delivered[i];
                c.requested_kwh = s.requested_kwh;
                c.hours_left = static_cast<double>(s.departure_period * 5 - t) / 60.0;
                cars.push_back(std::move(c));
                index.push_back(i);
            }
        }
        ++result.periods;
        if (cars.empty()) {
            continue;
        }
        const auto started = std::chrono::steady_clock::now();
        auto plan = allocate(cars, options.capacity_kw, period_hours);
        timings.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - started).count());
        double total = 0;
        for (std::size_t k = 0; k < plan.size(); ++k) {
            const double kw = plan[k].kw;
            delivered[index[k]] += kw * period_hours;
            total += kw;
            if (keep_schedule && kw > 0) {
                result.schedule.emplace_back(t / step, sessions[index[k]].id, kw);
            }
        }
        result.peak_kw = std::max(result.peak_kw, total);
    }
    std::vector<double> satisfaction;
    for (std::size_t i = 0; i < sessions.size(); ++i) {
        result.delivered_kwh += delivered[i];
        if (sessions[i].requested_kwh > 0) {
            satisfaction.push_back(std::min(1.0, delivered[i] / sessions[i].requested_kwh));
        }
    }
    result.jain = jain_index(satisfaction);
    result.min_satisfaction = satisfaction.empty() ? 1.0 : *std::min_element(satisfaction.begin(), satisfaction.end());
    if (!timings.empty()) {
        std::sort(timings.begin(), timings.end());
        auto at = [&](double q) {
            return timings[std::min(timings.size() - 1,
                                    static_cast<std::size_t>(q * static_cast<double>(timings.size())))];
        };
        result.replan_p50_us = at(0.5);
        result.replan_p99_us = at(0.99);
        result.replan_max_us = timings.back();
    }
    return result;
}

}  // namespace motorpool::charging::allocator
