// The signal catalog. Codes follow Smartcar's signal names (shared/design/SMARTCAR.md, "Signal
// catalogue"); units are ours (API.md conventions: km, kWh, kW, km/h, percent 0-100).

#include <array>

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
               "State of charge of the traction battery, 0-100"},
    SignalInfo{2,
               "TractionBattery.NominalCapacity",
               "TractionBattery",
               "NominalCapacity",
               "kWh",
               ValueType::Number,
               "Usable capacity of the traction battery"},
    SignalInfo{3,
               "TractionBattery.Range",
               "TractionBattery",
               "Range",
               "km",
               ValueType::Number,
               "Estimated range on the remaining charge"},
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
               "Total distance travelled (a dongle's odometer_km is this signal)"},
    SignalInfo{
        6, "Charge.ChargeLimits", "Charge", "ChargeLimits", "percent", ValueType::Number, "Active charge limit, 0-100"},
    SignalInfo{
        7, "Charge.IsCharging", "Charge", "IsCharging", "", ValueType::Boolean, "Whether the vehicle is charging"},
    SignalInfo{8,
               "Charge.IsChargingCableConnected",
               "Charge",
               "IsChargingCableConnected",
               "",
               ValueType::Boolean,
               "Whether a charging cable is plugged in"},
    SignalInfo{9,
               "Charge.DetailedChargingStatus",
               "Charge",
               "DetailedChargingStatus",
               "",
               ValueType::Text,
               "CHARGING, NOT_CHARGING or FULLY_CHARGED"},
    SignalInfo{10, "Motion.Speed", "Motion", "Speed", "km/h", ValueType::Number, "Vehicle speed (dongle)"},
    SignalInfo{11, "Fuel.Rate", "Fuel", "Rate", "l/h", ValueType::Number, "Fuel consumption rate (dongle)"},
    SignalInfo{12, "Engine.RPM", "Engine", "RPM", "rpm", ValueType::Number, "Engine speed (dongle)"},
    SignalInfo{13, "Charge.Wattage", "Charge", "Wattage", "kW", ValueType::Number, "Charging power"},
    SignalInfo{14,
               "Charge.EnergyAdded",
               "Charge",
               "EnergyAdded",
               "kWh",
               ValueType::Number,
               "Energy added in the current charging session"},
    SignalInfo{15,
               "Charge.TimeToComplete",
               "Charge",
               "TimeToComplete",
               "min",
               ValueType::Number,
               "Minutes until the active charge limit is reached"},
    SignalInfo{16,
               "InternalCombustionEngine.FuelLevel",
               "InternalCombustionEngine",
               "FuelLevel",
               "percent",
               ValueType::Number,
               "Fuel tank level, 0-100"},
    SignalInfo{17,
               "LowVoltageBattery.StateOfCharge",
               "LowVoltageBattery",
               "StateOfCharge",
               "percent",
               ValueType::Number,
               "12 V battery state of charge, 0-100"},
    SignalInfo{18, "Closure.IsLocked", "Closure", "IsLocked", "", ValueType::Boolean, "Whether the vehicle is locked"},
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
    }
    return "dongle";
}

std::optional<Source> source_from_id(std::int64_t id) {
    if (id >= 1 && id <= 4) {
        return static_cast<Source>(id);
    }
    return std::nullopt;
}

}  // namespace motorpool::telemetry
