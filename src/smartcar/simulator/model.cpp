#include "model.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

#include <boost/json.hpp>

namespace motorpool::smartcar::sim {

namespace {
constexpr std::int64_t kMinute = 60'000;
constexpr double kKmPerDegreeLatitude = 111.32;
}  // namespace

VehicleModel::VehicleModel(VehicleSpec spec, std::uint64_t seed, std::int64_t now_ms)
    : spec_(std::move(spec)), rng_(seed), t_ms_(now_ms) {
    odometer_km_ = std::round(uniform(2'000, 80'000) * 10) / 10;
    soc_ = uniform(0.35, 0.9);
    limit_ = std::round(uniform(0.8, 1.0) * 10) / 10;
    loop_radius_km_ = uniform(2, 12);
    loop_angle_ = uniform(0, 2 * std::numbers::pi);
    plugged_ = uniform(0, 1) < 0.3;
    phase_ = plugged_ && soc_ < limit_ ? Phase::Charging : Phase::Parked;
    phase_end_ms_ = now_ms + static_cast<std::int64_t>(uniform(5, 40)) * kMinute;
    step(0);  // places it on its loop
}

double VehicleModel::uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng_);
}

void VehicleModel::advance(std::int64_t now_ms) {
    constexpr std::int64_t kMaxGap = 30LL * 24 * 60 * kMinute;
    if (now_ms - t_ms_ > kMaxGap) {
        t_ms_ = now_ms - kMaxGap;
        phase_end_ms_ = std::max(phase_end_ms_, t_ms_);
    }
    while (t_ms_ < now_ms) {
        std::int64_t until = std::min({now_ms, phase_end_ms_, t_ms_ + kMinute});
        if (until <= t_ms_) {
            next_phase();
            continue;
        }
        step(until - t_ms_);
        t_ms_ = until;
        if (t_ms_ >= phase_end_ms_) {
            next_phase();
        }
    }
}

void VehicleModel::step(std::int64_t dt_ms) {
    const double hours = static_cast<double>(dt_ms) / 3'600'000.0;
    if (phase_ == Phase::Driving) {
        double km = speed_kmh_ * hours;
        double energy = km * spec_.consumption_kwh_per_km;
        double available = soc_ * spec_.capacity_kwh;
        if (energy > available - 0.03 * spec_.capacity_kwh) {  // keeps a reserve, then stops
            energy = std::max(0.0, available - 0.03 * spec_.capacity_kwh);
            km = energy / spec_.consumption_kwh_per_km;
            phase_end_ms_ = t_ms_ + dt_ms;
        }
        soc_ -= energy / spec_.capacity_kwh;
        odometer_km_ += km;
        loop_angle_ += km / loop_radius_km_;
    } else if (phase_ == Phase::Charging) {
        double energy = spec_.charge_power_kw * hours;
        double room = (limit_ - soc_) * spec_.capacity_kwh;
        if (energy >= room) {
            energy = std::max(0.0, room);
            phase_ = Phase::Parked;  // FULLY_CHARGED while plugged in
            phase_end_ms_ = t_ms_ + dt_ms + static_cast<std::int64_t>(uniform(30, 240)) * kMinute;
        }
        soc_ += energy / spec_.capacity_kwh;
        energy_added_kwh_ += energy;
    }
    soc_ = std::clamp(soc_, 0.0, 1.0);
    const double north_km = loop_radius_km_ * std::cos(loop_angle_);
    const double east_km = loop_radius_km_ * std::sin(loop_angle_);
    latitude_ = spec_.home_latitude + north_km / kKmPerDegreeLatitude;
    longitude_ = spec_.home_longitude +
                 east_km / (kKmPerDegreeLatitude * std::cos(spec_.home_latitude * std::numbers::pi / 180));
    // Counter-clockwise travel along the loop: the tangent, in degrees from north.
    heading_ = std::fmod(std::atan2(std::cos(loop_angle_), -std::sin(loop_angle_)) * 180 / std::numbers::pi + 360, 360);
}

boost::json::object VehicleModel::to_json() const {
    std::ostringstream rng;
    rng << rng_;  // the standard's text form of the engine's state
    return boost::json::object{{"id", spec_.id},
                               {"vin", spec_.vin},
                               {"make", spec_.make},
                               {"model", spec_.model},
                               {"year", spec_.year},
                               {"capacity_kwh", spec_.capacity_kwh},
                               {"consumption_kwh_per_km", spec_.consumption_kwh_per_km},
                               {"charge_power_kw", spec_.charge_power_kw},
                               {"home_latitude", spec_.home_latitude},
                               {"home_longitude", spec_.home_longitude},
                               {"rng", rng.str()},
                               {"t_ms", t_ms_},
                               {"phase", static_cast<int>(phase_)},
                               {"phase_end_ms", phase_end_ms_},
                               {"odometer_km", odometer_km_},
                               {"soc", soc_},
                               {"limit", limit_},
                               {"plugged", plugged_},
                               {"locked", locked_},
                               {"charge_stopped", charge_stopped_},
                               {"energy_added_kwh", energy_added_kwh_},
                               {"speed_kmh", speed_kmh_},
                               {"loop_radius_km", loop_radius_km_},
                               {"loop_angle", loop_angle_}};
}

std::optional<VehicleModel> VehicleModel::from_json(const boost::json::object& saved) {
    try {
        auto text = [&](const char* key) { return std::string(saved.at(key).as_string()); };
        auto number = [&](const char* key) { return saved.at(key).to_number<double>(); };
        auto integer = [&](const char* key) { return saved.at(key).to_number<std::int64_t>(); };
        VehicleSpec spec;
        spec.id = text("id");
        spec.vin = text("vin");
        spec.make = text("make");
        spec.model = text("model");
        spec.year = static_cast<int>(integer("year"));
        spec.capacity_kwh = number("capacity_kwh");
        spec.consumption_kwh_per_km = number("consumption_kwh_per_km");
        spec.charge_power_kw = number("charge_power_kw");
        spec.home_latitude = number("home_latitude");
        spec.home_longitude = number("home_longitude");
        const std::int64_t phase = integer("phase");
        if (phase < 0 || phase > static_cast<std::int64_t>(Phase::Charging) || spec.capacity_kwh <= 0 ||
            spec.consumption_kwh_per_km <= 0) {
            return std::nullopt;
        }
        VehicleModel m(spec, 0, integer("t_ms"));
        std::istringstream rng(text("rng"));
        rng >> m.rng_;
        if (rng.fail()) {
            return std::nullopt;
        }
        m.phase_ = static_cast<Phase>(phase);
        m.phase_end_ms_ = integer("phase_end_ms");
        m.odometer_km_ = number("odometer_km");
        m.soc_ = number("soc");
        m.limit_ = number("limit");
        m.plugged_ = saved.at("plugged").as_bool();
        m.locked_ = saved.at("locked").as_bool();
        m.charge_stopped_ = saved.at("charge_stopped").as_bool();
        m.energy_added_kwh_ = number("energy_added_kwh");
        m.speed_kmh_ = number("speed_kmh");
        m.loop_radius_km_ = number("loop_radius_km");
        m.loop_angle_ = number("loop_angle");
        m.step(0);  // position and heading from the loop
        return m;
    } catch (const std::exception&) {
        return std::nullopt;  // a missing key or a value of the wrong kind
    }
}

void VehicleModel::next_phase() {
    const std::int64_t start = t_ms_;
    if (phase_ == Phase::Driving) {
        // Arrives: plugs in when the battery is getting low, sometimes anyway.
        phase_ = Phase::Parked;
        plugged_ = soc_ < 0.5 || uniform(0, 1) < 0.35;
        charge_stopped_ = false;
        energy_added_kwh_ = 0;
        if (plugged_ && soc_ < limit_) {
            phase_ = Phase::Charging;
            phase_end_ms_ = start + 48LL * 60 * kMinute;  // ends when full (step() cuts it short)
            return;
        }
        phase_end_ms_ = start + static_cast<std::int64_t>(uniform(20, 180)) * kMinute;
        return;
    }
    if (phase_ == Phase::Charging) {
        phase_ = Phase::Parked;
        phase_end_ms_ = start + static_cast<std::int64_t>(uniform(10, 60)) * kMinute;
        return;
    }
    // Parked: drives off unless the battery is nearly empty and it is charging.
    if (soc_ < 0.12 && plugged_ && !charge_stopped_) {
        phase_ = Phase::Charging;
        phase_end_ms_ = start + 48LL * 60 * kMinute;
        return;
    }
    if (soc_ < 0.12) {
        plugged_ = true;  // a driver plugs in an almost empty car
        phase_ = Phase::Charging;
        phase_end_ms_ = start + 48LL * 60 * kMinute;
        return;
    }
    phase_ = Phase::Driving;
    plugged_ = false;
    locked_ = true;
    speed_kmh_ = std::round(uniform(25, 95));
    phase_end_ms_ = start + static_cast<std::int64_t>(uniform(8, 50)) * kMinute;
}

double VehicleModel::minutes_to_complete() const {
    if (!charging() || spec_.charge_power_kw <= 0) {
        return 0;
    }
    return std::max(0.0, (limit_ - soc_) * spec_.capacity_kwh / spec_.charge_power_kw * 60);
}

const char* VehicleModel::charge_state() const {
    if (charging()) {
        return "CHARGING";
    }
    if (plugged_ && soc_ >= limit_ - 1e-6) {
        return "FULLY_CHARGED";
    }
    return "NOT_CHARGING";
}

std::string VehicleModel::set_charge_limit(double limit) {
    limit_ = limit;
    if (phase_ == Phase::Parked && plugged_ && !charge_stopped_ && soc_ < limit_) {
        phase_ = Phase::Charging;
        phase_end_ms_ = t_ms_ + 48LL * 60 * kMinute;
    }
    return {};
}

std::string VehicleModel::start_charge() {
    if (!plugged_) {
        return "CHARGING_PLUG_NOT_CONNECTED";
    }
    charge_stopped_ = false;
    if (soc_ < limit_) {
        phase_ = Phase::Charging;
        phase_end_ms_ = t_ms_ + 48LL * 60 * kMinute;
    }
    return {};
}

std::string VehicleModel::stop_charge() {
    if (!plugged_) {
        return "CHARGING_PLUG_NOT_CONNECTED";
    }
    charge_stopped_ = true;
    if (phase_ == Phase::Charging) {
        phase_ = Phase::Parked;
        phase_end_ms_ = t_ms_ + static_cast<std::int64_t>(uniform(30, 120)) * kMinute;
    }
    return {};
}

std::string VehicleModel::lock(bool locked) {
    if (phase_ == Phase::Driving) {
        return "IN_MOTION";
    }
    locked_ = locked;
    return {};
}

}  // namespace motorpool::smartcar::sim
