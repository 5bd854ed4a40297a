#pragma once
// A cluster's tariff: a time-of-use price per kWh by hour and weekday in the site's local time
// (DST-correct: the hour is the wall clock's), plus a congestion component while the cluster's load
// is above a share of its capacity.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "core/errors.hpp"
#include "core/time_zone.hpp"

namespace motorpool::charging {

struct Tariff {
    std::string currency = "EUR";
    std::array<std::array<double, 24>, 7> price_per_kwh{};  // [weekday, Monday first][local hour]
    double congestion_threshold_pct = 80;                   // of the capacity in force
    double congestion_price_per_kwh = 0;                    // added above the threshold
};

/// Reads {"currency", "price_per_kwh": x | [[24 prices] x 7, Monday first], "congestion_threshold_pct",
/// "congestion_price_per_kwh"}; problems go to `errors` under `field`.
std::optional<Tariff> read_tariff(const boost::json::value& v,
                                  const std::string& field,
                                  std::vector<core::FieldError>& errors);
boost::json::value tariff_json(const Tariff& t);
/// The canonical JSON text stored for a tariff, and back.
std::string tariff_text(const Tariff& t);
std::optional<Tariff> tariff_from_text(const std::optional<std::string>& text);

/// Price per kWh at an instant, with the congestion component when `load_share` (load ÷ capacity,
/// 0..1) passes the threshold.
double price_at(const Tariff& t, const core::TimeZone& zone, std::int64_t at_ms, double load_share);

/// The cost of drawing `kw` from `from_ms` to `to_ms` at the time-of-use prices (no congestion),
/// split at the wall clock's hour boundaries.
double energy_cost(const Tariff& t, const core::TimeZone& zone, std::int64_t from_ms, std::int64_t to_ms, double kw);

struct PricePoint {
    std::int64_t from_ms = 0;
    std::int64_t to_ms = 0;
    double price_per_kwh = 0;
};
/// The time-of-use prices from `now_ms` for `hours`, one point per wall-clock hour (a DST day has
/// 23 or 25 of them), the first from now to the next hour boundary.
std::vector<PricePoint> price_forecast(const Tariff& t, const core::TimeZone& zone, std::int64_t now_ms, int hours);

}  // namespace motorpool::charging
