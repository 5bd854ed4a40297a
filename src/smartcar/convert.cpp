#include "smartcar/convert.hpp"

#include <algorithm>
#include <cmath>

#include <boost/json.hpp>

#include "core/json.hpp"
#include "core/text.hpp"
#include "core/time.hpp"

namespace motorpool::smartcar {

namespace json = boost::json;
using telemetry::Sample;

namespace {

constexpr double kKmPerMile = 1.609344;

const json::value* member(const json::value& v, std::string_view key) {
    return v.is_object() ? v.as_object().if_contains(key) : nullptr;
}

std::optional<double> number(const json::value* v) {
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_number()) {
        double d = v->to_number<double>();
        return std::isfinite(d) ? std::optional(d) : std::nullopt;
    }
    return std::nullopt;
}

std::optional<bool> boolean(const json::value* v) {
    return v != nullptr && v->is_bool() ? std::optional(v->get_bool()) : std::nullopt;
}

std::optional<std::string> text(const json::value* v) {
    return v != nullptr && v->is_string() ? std::optional(std::string(v->as_string())) : std::nullopt;
}

// A v2 fraction (0..1) as percent, without binary noise (0.58 -> 58, not 57.99999999999999).
double percent(double fraction) {
    return std::round(fraction * 100 * 1e6) / 1e6;
}

// Distances to km: Smartcar writes "km", "kilometers", "miles" (and imperial v2 answers in miles).
double to_km(double value, std::string_view unit) {
    auto u = core::to_lower_ascii(unit);
    return u == "miles" || u == "mi" || u == "mile" ? value * kKmPerMile : value;
}

struct Builder {
    std::int64_t vehicle_id;
    telemetry::Source source;
    std::vector<Sample> out;

    void add_number(std::string_view code, std::int64_t t, double value) {
        const auto* info = telemetry::find_signal(code);
        if (info == nullptr || !std::isfinite(value)) {
            return;
        }
        Sample s;
        s.vehicle_id = vehicle_id;
        s.signal = info->id;
        s.t_ms = t;
        s.number = value;
        s.source = source;
        out.push_back(std::move(s));
    }
    void add_bool(std::string_view code, std::int64_t t, bool value) { add_number(code, t, value ? 1 : 0); }
    void add_text(std::string_view code, std::int64_t t, std::string value) {
        const auto* info = telemetry::find_signal(code);
        if (info == nullptr) {
            return;
        }
        Sample s;
        s.vehicle_id = vehicle_id;
        s.signal = info->id;
        s.t_ms = t;
        s.text = std::move(value);
        s.source = source;
        out.push_back(std::move(s));
    }
    void add_location(std::int64_t t, double latitude, double longitude, std::optional<double> heading) {
        json::object value{{"latitude", latitude}, {"longitude", longitude}};
        value["heading"] = heading && *heading >= 0 && *heading <= 360 ? json::value(*heading) : json::value(nullptr);
        add_text("Location.PreciseLocation", t, core::to_json_text(value, core::WholeDoubles::KeepFraction));
    }
};

}  // namespace

std::optional<std::int64_t> parse_time(const json::value* value) {
    if (value == nullptr) {
        return std::nullopt;
    }
    if (value->is_int64() || value->is_uint64() || value->is_double()) {
        double ms = value->to_number<double>();
        return ms > 0 && ms < 4e12 ? std::optional(static_cast<std::int64_t>(ms)) : std::nullopt;
    }
    if (value->is_string()) {
        std::string_view s = value->as_string();
        if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
            s.size() <= 13) {
            return std::stoll(std::string(s));
        }
        return core::parse_rfc3339(s);
    }
    return std::nullopt;
}

const std::vector<std::string>& poll_paths() {
    static const std::vector<std::string> kPaths = {
        "/battery", "/battery/capacity", "/charge", "/charge/limit", "/location", "/odometer"};
    return kPaths;
}

std::vector<Sample> samples_from_v2(const json::array& items,
                                    std::int64_t vehicle_id,
                                    telemetry::Source source,
                                    std::int64_t fallback_ms) {
    Builder b{vehicle_id, source, {}};
    for (const auto& item : items) {
        auto code = number(member(item, "code"));
        auto path = text(member(item, "path"));
        const json::value* body = member(item, "body");
        if (!path || body == nullptr || (code && *code != 200)) {
            continue;  // a failed sub-request (its own error body) contributes nothing
        }
        std::int64_t t = fallback_ms;
        std::string unit_system = "metric";
        if (const auto* headers = member(item, "headers"); headers != nullptr && headers->is_object()) {
            for (const auto& h : headers->as_object()) {
                auto name = core::to_lower_ascii(h.key());
                if (name == "sc-data-age") {
                    t = parse_time(&h.value()).value_or(t);
                } else if (name == "sc-unit-system" && h.value().is_string()) {
                    unit_system = std::string(h.value().as_string());
                }
            }
        }
        const std::string distance_unit = unit_system == "imperial" ? "miles" : "km";
        std::string p = *path;
        while (p.size() > 1 && p.back() == '/') {
            p.pop_back();
        }
        if (p == "/battery") {
            if (auto v = number(member(*body, "percentRemaining"))) {
                b.add_number("TractionBattery.StateOfCharge", t, percent(*v));  // v2: a fraction
            }
            if (auto v = number(member(*body, "range"))) {
                b.add_number("TractionBattery.Range", t, to_km(*v, distance_unit));
            }
        } else if (p == "/battery/capacity") {
            if (auto v = number(member(*body, "capacity"))) {
                b.add_number("TractionBattery.NominalCapacity", t, *v);
            }
        } else if (p == "/charge") {
            if (auto plugged = boolean(member(*body, "isPluggedIn"))) {
                b.add_bool("Charge.IsChargingCableConnected", t, *plugged);
            }
            if (auto state = text(member(*body, "state"))) {
                b.add_bool("Charge.IsCharging", t, *state == "CHARGING");
                b.add_text("Charge.DetailedChargingStatus", t, *state);
            }
        } else if (p == "/charge/limit") {
            if (auto v = number(member(*body, "limit"))) {
                b.add_number("Charge.ChargeLimits", t, percent(*v));
            }
        } else if (p == "/location") {
            auto lat = number(member(*body, "latitude"));
            auto lon = number(member(*body, "longitude"));
            if (lat && lon) {
                b.add_location(t, *lat, *lon, std::nullopt);
            }
        } else if (p == "/odometer") {
            if (auto v = number(member(*body, "distance"))) {
                b.add_number("Odometer.TraveledDistance", t, to_km(*v, distance_unit));
            }
        } else if (p == "/fuel") {
            if (auto v = number(member(*body, "percentRemaining"))) {
                b.add_number("InternalCombustionEngine.FuelLevel", t, percent(*v));
            }
        } else if (p == "/security") {
            if (auto v = boolean(member(*body, "isLocked"))) {
                b.add_bool("Closure.IsLocked", t, *v);
            }
        }
    }
    return std::move(b.out);
}

std::vector<Sample> samples_from_signals(const json::array& signals,
                                         std::int64_t vehicle_id,
                                         telemetry::Source source,
                                         std::int64_t fallback_ms) {
    Builder b{vehicle_id, source, {}};
    for (const auto& raw : signals) {
        // v3 wraps the signal in {id, attributes: {...}, meta}; v4 webhooks do not.
        const json::value* attributes = member(raw, "attributes");
        const json::value& signal = attributes != nullptr && attributes->is_object() ? *attributes : raw;
        std::string code;
        if (auto c = text(member(signal, "code"))) {
            code = core::to_lower_ascii(*c);
        } else if (auto group = text(member(signal, "group")), name = text(member(signal, "name")); group && name) {
            code = core::to_lower_ascii(*group + "-" + *name);
        } else {
            continue;
        }
        if (const auto* status = member(signal, "status")) {
            auto value = text(member(*status, "value"));
            if (value && *value != "SUCCESS") {
                continue;  // a failed signal carries no body
            }
        }
        const json::value* body = member(signal, "body");
        if (body == nullptr || !body->is_object()) {
            continue;
        }
        const json::value* meta = member(raw, "meta");
        if (meta == nullptr) {
            meta = member(signal, "meta");
        }
        std::int64_t t = fallback_ms;
        if (meta != nullptr) {
            for (const char* key : {"oemUpdatedAt", "retrievedAt", "fetchedAt"}) {
                if (auto at = parse_time(member(*meta, key))) {
                    t = *at;
                    break;
                }
            }
        }
        auto value = number(member(*body, "value"));
        auto unit = text(member(*body, "unit")).value_or("");
        if (code == "tractionbattery-stateofcharge" && value) {
            b.add_number("TractionBattery.StateOfCharge", t, *value);  // percent already
        } else if (code == "tractionbattery-range" && value) {
            b.add_number("TractionBattery.Range", t, to_km(*value, unit));
        } else if (code == "tractionbattery-nominalcapacity") {
            if (auto capacity = number(member(*body, "capacity"))) {
                b.add_number("TractionBattery.NominalCapacity", t, *capacity);
            }
        } else if (code == "location-preciselocation") {
            auto lat = number(member(*body, "latitude"));
            auto lon = number(member(*body, "longitude"));
            if (lat && lon) {
                b.add_location(t, *lat, *lon, number(member(*body, "heading")));
            }
        } else if (code == "odometer-traveleddistance" && value) {
            b.add_number("Odometer.TraveledDistance", t, to_km(*value, unit));
        } else if (code == "charge-chargelimits") {
            auto active = number(member(*body, "activeLimit"));
            if (!active) {
                if (const auto* values = member(*body, "values"); values != nullptr && values->is_array()) {
                    for (const auto& v : values->as_array()) {
                        auto type = core::to_upper_ascii(text(member(v, "type")).value_or(""));
                        if (type == "GLOBAL") {
                            active = number(member(v, "limit"));
                        }
                    }
                }
            }
            if (active) {
                b.add_number("Charge.ChargeLimits", t, *active);
            }
        } else if (code == "charge-ischarging") {
            if (auto v = boolean(member(*body, "value"))) {
                b.add_bool("Charge.IsCharging", t, *v);
            }
        } else if (code == "charge-ischargingcableconnected") {
            if (auto v = boolean(member(*body, "value"))) {
                b.add_bool("Charge.IsChargingCableConnected", t, *v);
            }
        } else if (code == "charge-detailedchargingstatus") {
            if (auto v = text(member(*body, "value"))) {
                b.add_text("Charge.DetailedChargingStatus", t, *v);
            }
        } else if (code == "charge-wattage" && value) {
            auto u = core::to_lower_ascii(unit);
            b.add_number("Charge.Wattage", t, u == "kw" || u == "kilowatts" ? *value : *value / 1000);
        } else if (code == "charge-energyadded" && value) {
            b.add_number("Charge.EnergyAdded", t, *value);
        } else if (code == "charge-timetocomplete" && value) {
            auto u = core::to_lower_ascii(unit);
            b.add_number("Charge.TimeToComplete", t, u == "hours" || u == "h" ? *value * 60 : *value);
        } else if (code == "closure-islocked") {
            if (auto v = boolean(member(*body, "value"))) {
                b.add_bool("Closure.IsLocked", t, *v);
            }
        } else if (code == "lowvoltagebattery-stateofcharge" && value) {
            b.add_number("LowVoltageBattery.StateOfCharge", t, *value);
        } else if (code == "internalcombustionengine-fuellevel" && value) {
            b.add_number("InternalCombustionEngine.FuelLevel", t, *value);
        }
    }
    return std::move(b.out);
}

}  // namespace motorpool::smartcar
