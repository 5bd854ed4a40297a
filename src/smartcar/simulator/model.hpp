#pragma once
// A simulated vehicle: a seeded model that drives along a loop around its home (draining the
// battery, growing the odometer), parks, and charges to its limit at a fixed power when plugged in.
// Advanced lazily to the wall clock whenever it is read.

#include <cstdint>
#include <optional>
#include <random>
#include <string>

#include <boost/json/object.hpp>

namespace motorpool::smartcar::sim {

enum class Phase { Parked, Driving, Charging };

struct VehicleSpec {
    std::string id;  // Smartcar vehicle id (UUID)
    std::string vin;
    std::string make;  // upper case, as Smartcar reports it
    std::string model;
    int year = 2023;
    double capacity_kwh = 75;
    double consumption_kwh_per_km = 0.17;
    double charge_power_kw = 11;
    double home_latitude = 0;
    double home_longitude = 0;
};

class VehicleModel {
public:
    VehicleModel(VehicleSpec spec, std::uint64_t seed, std::int64_t now_ms);

    /// The whole state, random generator included, so a restored model goes on exactly as this
    /// one would (SimulatorStore keeps it across restarts).
    boost::json::object to_json() const;
    /// nullopt when `saved` is not what to_json() writes.
    static std::optional<VehicleModel> from_json(const boost::json::object& saved);

    /// Moves the state forward to `now_ms` (at most 30 days are simulated; older gaps are skipped).
    void advance(std::int64_t now_ms);

    const VehicleSpec& spec() const { return spec_; }
    Phase phase() const { return phase_; }
    std::int64_t updated_at_ms() const { return t_ms_; }
    double odometer_km() const { return odometer_km_; }
    double soc() const { return soc_; }  // 0..1
    double range_km() const { return soc_ * spec_.capacity_kwh / spec_.consumption_kwh_per_km; }
    double latitude() const { return latitude_; }
    double longitude() const { return longitude_; }
    double heading() const { return heading_; }
    double speed_kmh() const { return phase_ == Phase::Driving ? speed_kmh_ : 0; }
    double charge_limit() const { return limit_; }  // 0.5..1
    bool plugged_in() const { return plugged_; }
    bool charging() const { return phase_ == Phase::Charging; }
    double charge_power_kw() const { return charging() ? spec_.charge_power_kw : 0; }
    double energy_added_kwh() const { return energy_added_kwh_; }
    /// Minutes to reach the limit at the current power; 0 when not charging.
    double minutes_to_complete() const;
    /// CHARGING, FULLY_CHARGED (plugged in, at the limit) or NOT_CHARGING.
    const char* charge_state() const;
    bool locked() const { return locked_; }

    // Commands. Each returns an empty string on success, else a VEHICLE_STATE code.
    std::string set_charge_limit(double limit);
    std::string start_charge();
    std::string stop_charge();
    std::string lock(bool locked);

private:
    void step(std::int64_t dt_ms);
    void next_phase();
    double uniform(double lo, double hi);

    VehicleSpec spec_;
    std::mt19937_64 rng_;
    std::int64_t t_ms_;
    Phase phase_ = Phase::Parked;
    std::int64_t phase_end_ms_ = 0;
    double odometer_km_ = 0;
    double soc_ = 0.6;
    double limit_ = 0.8;
    bool plugged_ = false;
    bool locked_ = true;
    bool charge_stopped_ = false;  // STOP command: stays plugged without charging
    double energy_added_kwh_ = 0;
    double speed_kmh_ = 0;
    double loop_radius_km_ = 5;
    double loop_angle_ = 0;  // radians along the loop around home
    double latitude_ = 0;
    double longitude_ = 0;
    double heading_ = 0;
};

}  // namespace motorpool::smartcar::sim
