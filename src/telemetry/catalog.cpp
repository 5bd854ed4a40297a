// The signal catalog. Codes follow Smartcar's signal names (shared/design/SMARTCAR.md, "Signal
// catalogue"); units are ours (API.md conventions: km, kWh, kW, km/h, percent 0-100).

#include <array>
#include <cmath>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "core/json.hpp"
#include "core/text.hpp"
#include "telemetry/telemetry.hpp"

namespace motorpool::telemetry {

namespace {

// Ids are stored in the database: append, never renumber or reuse.
constexpr std::array kCatalog = {
    SignalInfo{1,
               "TractionBattery.StateOfCharge",
               "TractionBattery",
               "StateOfCharge",
               "percent",
               ValueType::Number,
               "State of charge of the traction battery, 0-100",
               0,
               100},
    SignalInfo{2,
               "TractionBattery.NominalCapacity",
               "TractionBattery",
               "NominalCapacity",
               "kWh",
               ValueType::Number,
               "Usable capacity of the traction battery",
               0,
               2000},
    SignalInfo{3,
               "TractionBattery.Range",
               "TractionBattery",
               "Range",
               "km",
               ValueType::Number,
               "Estimated range on the remaining charge",
               0,
               5000},
    SignalInfo{4,
               "Location.PreciseLocation",
               "Location",
               "PreciseLocation",
               "degrees",
               ValueType::Location,
               "Latitude and longitude (WGS 84) and heading (degrees from north)"},
    SignalInfo{5,
               "Odometer.TraveledDistance",
               "Odometer",
               "TraveledDistance",
               "km",
               ValueType::Number,
               "Total distance travelled (a dongle's odometer_km is this signal)",
               0,
               10'000'000},
    SignalInfo{6,
               "Charge.ChargeLimits",
               "Charge",
               "ChargeLimits",
               "percent",
               ValueType::Number,
               "Active charge limit, 0-100",
               0,
               100},
    SignalInfo{7,
               "Charge.IsCharging",
               "Charge",
               "IsCharging",
               "",
               ValueType::Boolean,
               "Whether the vehicle is charging",
               0,
               1},
    SignalInfo{8,
               "Charge.IsChargingCableConnected",
               "Charge",
               "IsChargingCableConnected",
               "",
               ValueType::Boolean,
               "Whether a charging cable is plugged in",
               0,
               1},
    SignalInfo{9,
               "Charge.DetailedChargingStatus",
               "Charge",
               "DetailedChargingStatus",
               "",
               ValueType::Text,
               "CHARGING, NOT_CHARGING or FULLY_CHARGED"},
    SignalInfo{10, "Motion.Speed", "Motion", "Speed", "km/h", ValueType::Number, "Vehicle speed (dongle)", 0, 500},
    SignalInfo{11, "Fuel.Rate", "Fuel", "Rate", "l/h", ValueType::Number, "Fuel consumption rate (dongle)", 0, 1000},
    SignalInfo{12, "Engine.RPM", "Engine", "RPM", "rpm", ValueType::Number, "Engine speed (dongle)", 0, 20'000},
    SignalInfo{13, "Charge.Wattage", "Charge", "Wattage", "kW", ValueType::Number, "Charging power", -1000, 1000},
    SignalInfo{14,
               "Charge.EnergyAdded",
               "Charge",
               "EnergyAdded",
               "kWh",
               ValueType::Number,
               "Energy added in the current charging session",
               0,
               2000},
    SignalInfo{15,
               "Charge.TimeToComplete",
               "Charge",
               "TimeToComplete",
               "min",
               ValueType::Number,
               "Minutes until the active charge limit is reached",
               0,
               100'000},
    SignalInfo{16,
               "InternalCombustionEngine.FuelLevel",
               "InternalCombustionEngine",
               "FuelLevel",
               "percent",
               ValueType::Number,
               "Fuel tank level, 0-100",
               0,
               100},
    SignalInfo{17,
               "LowVoltageBattery.StateOfCharge",
               "LowVoltageBattery",
               "StateOfCharge",
               "percent",
               ValueType::Number,
               "12 V battery state of charge, 0-100",
               0,
               100},
    SignalInfo{
        18, "Closure.IsLocked", "Closure", "IsLocked", "", ValueType::Boolean, "Whether the vehicle is locked", 0, 1},
};

}  // namespace

std::span<const SignalInfo> catalog() {
    return kCatalog;
}

const SignalInfo* find_signal(std::string_view code) {
    for (const auto& s : kCatalog) {
        if (s.code == code) {
            return &s;
        }
    }
    return nullptr;
}

const SignalInfo* find_signal(int id) {
    for (const auto& s : kCatalog) {
        if (s.id == id) {
            return &s;
        }
    }
    return nullptr;
}

const char* value_type_name(ValueType type) {
    switch (type) {
        case ValueType::Number:
            return "number";
        case ValueType::Boolean:
            return "boolean";
        case ValueType::Text:
            return "text";
        case ValueType::Location:
            return "location";
    }
    return "number";
}

const char* source_name(Source source) {
    switch (source) {
        case Source::Dongle:
            return "dongle";
        case Source::Webhook:
            return "webhook";
        case Source::Poll:
            return "poll";
        case Source::Simulator:
            return "simulator";
        case Source::Charger:
            return "charger";
    }
    return "dongle";
}

std::optional<Source> source_from_id(std::int64_t id) {
    if (id >= 1 && id <= 5) {
        return static_cast<Source>(id);
    }
    return std::nullopt;
}

namespace {

// As JavaScript writes numbers: 10000000 and 1e+308, not 1e+07.
std::string shortest(double value) {
    return core::to_json_text(boost::json::value(value));
}

constexpr std::size_t kMaxTextValueChars = 256;

}  // namespace

std::string sample_time_problem(std::int64_t t_ms, std::int64_t now_ms) {
    if (t_ms < kOldestSampleMs) {
        return "is before 2000-01-01";
    }
    if (t_ms > now_ms + kSampleFutureSlackMs) {
        return "is more than 5 minutes in the future";
    }
    return {};
}

std::string sample_value_problem(const SignalInfo& signal,
                                 const std::optional<double>& number,
                                 const std::optional<std::string>& text) {
    switch (signal.type) {
        case ValueType::Number:
        case ValueType::Boolean:
            if (!number) {
                return "has no value";
            }
            if (!std::isfinite(*number) || *number < signal.min || *number > signal.max) {
                std::string problem =
                    shortest(*number) + " is outside " + shortest(signal.min) + " to " + shortest(signal.max);
                if (!signal.unit.empty()) {
                    problem += ' ';
                    problem += signal.unit;
                }
                return problem;
            }
            return {};
        case ValueType::Text:
            if (!text) {
                return "has no value";
            }
            if (auto problem = core::text_problem(*text, kMaxTextValueChars); !problem.empty()) {
                return "text " + problem;
            }
            return {};
        case ValueType::Location: {
            // Stored as {"latitude","longitude","heading"}; every converter builds it, this checks it.
            boost::system::error_code ec;
            boost::json::value v = text ? boost::json::parse(*text, ec) : boost::json::value();
            const auto* o = !ec ? v.if_object() : nullptr;
            if (o == nullptr) {
                return "is not a location";
            }
            auto coordinate = [&](std::string_view key, double limit, bool optional) {
                const auto* c = o->if_contains(key);
                if (c == nullptr || c->is_null()) {
                    return optional;
                }
                if (!c->is_number()) {
                    return false;
                }
                const double d = c->to_number<double>();
                return std::isfinite(d) && (optional ? d >= 0 && d <= limit : std::fabs(d) <= limit);
            };
            if (!coordinate("latitude", 90, false) || !coordinate("longitude", 180, false)) {
                return "latitude must be from -90 to 90 and longitude from -180 to 180";
            }
            if (!coordinate("heading", 360, true)) {
                return "heading must be from 0 to 360";
            }
            return {};
        }
    }
    return "has an unknown type";
}

std::string sample_problem(const Sample& sample, std::int64_t now_ms) {
    const SignalInfo* signal = find_signal(sample.signal);
    if (signal == nullptr) {
        return "signal " + std::to_string(sample.signal) + " is not in the catalog";
    }
    std::string problem = sample_time_problem(sample.t_ms, now_ms);
    if (!problem.empty()) {
        return std::string(signal->code) + ": time " + problem;
    }
    problem = sample_value_problem(*signal, sample.number, sample.text);
    if (!problem.empty()) {
        return std::string(signal->code) + ": " + problem;
    }
    return {};
}

std::size_t drop_invalid_samples(std::vector<Sample>& samples, std::int64_t now_ms, std::string* first_problem) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < samples.size(); ++i) {
        std::string problem = sample_problem(samples[i], now_ms);
        if (!problem.empty()) {
            if (first_problem != nullptr && first_problem->empty()) {
                *first_problem = std::move(problem);
            }
            continue;
        }
        if (kept != i) {
            samples[kept] = std::move(samples[i]);
        }
        ++kept;
    }
    const std::size_t dropped = samples.size() - kept;
    samples.resize(kept);
    return dropped;
}

}  // namespace motorpool::telemetry
