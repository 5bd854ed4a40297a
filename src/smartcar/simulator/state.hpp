#pragma once
// The simulator's shared state and the helpers every part of it uses (private to the simulator):
// the owners, cars, grants, codes and tokens behind one mutex, Smartcar's error bodies, and the
// request parsing the OAuth, vehicle, v3 and management parts share.

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "core/threads.hpp"
#include "core/time.hpp"
#include "model.hpp"
#include "smartcar/simulator.hpp"
#include "vehicles/vin.hpp"

namespace motorpool::smartcar::sim {

namespace json = boost::json;
namespace net = boost::asio;
using http::Request;
using http::Response;

namespace detail {

constexpr std::string_view kSuccessMessage = "Successfully sent request to vehicle";
inline const std::vector<std::string> kAllScopes = {"read_vehicle_info",
                                                    "read_vin",
                                                    "read_location",
                                                    "read_odometer",
                                                    "read_battery",
                                                    "read_charge",
                                                    "control_charge",
                                                    "read_security",
                                                    "control_security",
                                                    "read_tires",
                                                    "read_engine_oil",
                                                    "read_fuel",
                                                    "read_diagnostics",
                                                    "read_service_history",
                                                    "control_navigation",
                                                    "read_user_profile"};

inline std::string uuid4(std::mt19937_64& rng) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    std::uint64_t a = rng();
    std::uint64_t b = rng();
    for (int i = 0; i < 32; ++i) {
        std::uint64_t& word = i < 16 ? a : b;
        int nibble = static_cast<int>(word & 0xF);
        word >>= 4;
        if (i == 12) {
            nibble = 4;  // version 4
        } else if (i == 16) {
            nibble = 8 | (nibble & 3);  // RFC 4122 variant
        }
        if (i == 8 || i == 12 || i == 16 || i == 20) {
            out += '-';
        }
        out += kHex[nibble];
    }
    return out;
}

inline double round_to(double value, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

inline std::map<std::string, std::string> parse_form(std::string_view body) {
    std::map<std::string, std::string> out;
    std::size_t start = 0;
    while (start <= body.size()) {
        auto end = body.find('&', start);
        auto pair = body.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        if (!pair.empty()) {
            auto eq = pair.find('=');
            auto key = core::percent_decode(pair.substr(0, eq), true);
            auto value = core::percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
            if (key && value) {
                out.emplace(std::move(*key), std::move(*value));
            }
        }
        if (end == std::string_view::npos) {
            break;
        }
        start = end + 1;
    }
    return out;
}

inline std::string html_escape(std::string_view text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

inline std::vector<std::string> split_spaces(std::string_view text) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && text[i] == ' ') {
            ++i;
        }
        auto j = text.find(' ', i);
        if (j == std::string_view::npos) {
            j = text.size();
        }
        if (j > i) {
            out.emplace_back(text.substr(i, j - i));
        }
        i = j;
    }
    return out;
}

// Basic credentials "user:password" from an Authorization header.
inline std::optional<std::pair<std::string, std::string>> basic_credentials(const Request& request) {
    auto header = request.header("Authorization");
    if (!header || header->size() < 6 || !core::iequals(header->substr(0, 6), "Basic ")) {
        return std::nullopt;
    }
    auto decoded = core::base64_decode(header->substr(6));
    if (!decoded) {
        return std::nullopt;
    }
    auto colon = decoded->find(':');
    if (colon == std::string::npos) {
        return std::nullopt;
    }
    return std::make_pair(decoded->substr(0, colon), decoded->substr(colon + 1));
}

inline std::optional<std::string> bearer(const Request& request) {
    auto header = request.header("Authorization");
    if (!header || header->size() < 7 || !core::iequals(header->substr(0, 7), "Bearer ")) {
        return std::nullopt;
    }
    return std::string(header->substr(7));
}

inline bool is_local_redirect(std::string_view uri) {
    for (std::string_view origin : {"http://localhost", "http://127.0.0.1"}) {
        if (uri.substr(0, origin.size()) == origin &&
            (uri.size() == origin.size() || uri[origin.size()] == ':' || uri[origin.size()] == '/')) {
            return true;
        }
    }
    return false;
}

struct Model {
    const char* make;
    const char* model;
    const char* wmi_vds;  // eight characters: WMI and VDS (positions 1-8)
    char plant;
    double capacity_kwh;
    double consumption;
    double charge_kw;
};

constexpr Model kModels[] = {
    {"TESLA", "Model 3", "5YJ3E1EA", 'F', 75, 0.15, 11},
    {"TESLA", "Model Y", "7SAYGDEE", 'A', 78, 0.16, 11},
    {"CHEVROLET", "Bolt EV", "1G1FZ6S0", '4', 65, 0.16, 11},
    {"NISSAN", "Leaf", "1N4AZ1CP", 'C', 40, 0.17, 6.6},
    {"FORD", "Mustang Mach-E", "3FMTK3SU", 'M', 88, 0.19, 10.5},
    {"HYUNDAI", "Ioniq 5", "KM8KNDAF", 'U', 77, 0.18, 10.9},
    {"VOLKSWAGEN", "ID.4", "1V2GNPE8", 'C', 77, 0.19, 11},
    {"KIA", "EV6", "KNDC4DLC", '5', 77, 0.18, 10.9},
};

struct City {
    double latitude;
    double longitude;
};
constexpr City kCities[] = {{37.7749, -122.4194},
                            {39.7392, -104.9903},
                            {30.2672, -97.7431},
                            {52.5200, 13.4050},
                            {52.3676, 4.9041},
                            {47.6062, -122.3321}};

inline char model_year_code(int year) {
    static constexpr std::string_view kCodes = "ABCDEFGHJKLMNPRSTVWXY123456789";  // 2010..2039
    return kCodes[static_cast<std::size_t>((year - 2010) % 30)];
}

struct Grant {
    std::string user_id;
    std::vector<std::string> vehicles;  // in the order Connect listed them
    std::vector<std::string> scopes;
    bool revoked = false;
    std::int64_t connected_at_ms = 0;

    bool has_vehicle(const std::string& id) const {
        return std::find(vehicles.begin(), vehicles.end(), id) != vehicles.end();
    }
    bool has_scope(std::string_view scope) const {
        return scope.empty() || std::find(scopes.begin(), scopes.end(), scope) != scopes.end();
    }
};

struct Code {
    std::shared_ptr<Grant> grant;
    std::string redirect_uri;
    std::int64_t expires_at_ms = 0;
    bool used = false;
};

struct AccessToken {
    std::shared_ptr<Grant> grant;
    std::int64_t expires_at_ms = 0;
};

struct RefreshToken {
    std::shared_ptr<Grant> grant;
    std::int64_t expires_at_ms = 0;
    std::optional<std::int64_t> used_at_ms;
};

struct Owner {
    std::string id;
    std::vector<std::string> vehicles;
    bool pending = true;  // shown on the authorize page, not yet approved
};

struct Fault {
    std::string kind;  // rate_limit, upstream, server, slow, token_error
    std::string vehicle_id;
    int remaining = 1;
    int retry_after = 5;
    std::string code;
    int delay_ms = 0;
};

// A Smartcar API error (v2 shape): every key present, as the Java SDK requires.
struct ScError {
    int status;
    std::string type;
    std::optional<std::string> code;
    std::string description;
    std::optional<std::string> resolution;
    int retry_after = 0;
};

inline const char* doc_section(std::string_view type) {
    if (type == "AUTHENTICATION") {
        return "authentication-errors";
    }
    if (type == "PERMISSION") {
        return "permission-errors";
    }
    if (type == "RATE_LIMIT") {
        return "rate-limit-errors";
    }
    if (type == "VALIDATION") {
        return "validation-errors";
    }
    if (type == "VEHICLE_STATE") {
        return "vehicle-state-errors";
    }
    if (type == "COMPATIBILITY") {
        return "compatibility-errors";
    }
    if (type == "UPSTREAM") {
        return "upstream-errors";
    }
    if (type == "RESOURCE_NOT_FOUND") {
        return "resource-not-found-errors";
    }
    return "server-errors";
}

inline json::object error_body(const ScError& e, const std::string& request_id) {
    std::string anchor = e.code ? core::to_lower_ascii(*e.code) : "null";
    json::object body{
        {"type", e.type},
        {"code", e.code ? json::value(*e.code) : json::value(nullptr)},
        {"description", e.description},
        {"docURL", "https://smartcar.com/docs/errors/api-errors/" + std::string(doc_section(e.type)) + "#" + anchor},
        {"statusCode", e.status},
        {"requestId", request_id},
        {"resolution", e.resolution ? json::value(json::object{{"type", *e.resolution}}) : json::value(nullptr)},
        {"suggestedUserMessage",
         e.type == "RATE_LIMIT" ? "Please try again in a few minutes." : "Something went wrong. Please try again."},
    };
    return body;
}

inline ScError authentication_error() {
    return {401,
            "AUTHENTICATION",
            std::nullopt,
            "The authorization header is missing or malformed, or it contains invalid or expired authentication "
            "credentials. Please check for missing parameters, spelling and casing mistakes, and other syntax "
            "issues.",
            "REAUTHENTICATE"};
}

inline ScError permission_error() {
    return {403,
            "PERMISSION",
            std::nullopt,
            "Your application has insufficient permissions to access the requested resource. Please prompt the "
            "user to re-authenticate using Smartcar Connect.",
            "REAUTHENTICATE"};
}

inline ScError validation_error(std::string description) {
    return {400, "VALIDATION", "PARAMETER", std::move(description), std::nullopt};
}

inline ScError not_found_error() {
    return {404,
            "RESOURCE_NOT_FOUND",
            "PATH",
            "The requested resource does not exist. Please check the URL and try again.",
            std::nullopt};
}

inline ScError not_capable_error() {
    return {501,
            "COMPATIBILITY",
            "VEHICLE_NOT_CAPABLE",
            "The vehicle is incapable of performing your request.",
            std::nullopt};
}

// The result of one vehicle path: a body and status, as a batch item needs it.
struct PathResult {
    int status = 200;
    json::value body;
    std::optional<ScError> error;
};

}  // namespace detail

using namespace detail;  // NOLINT(google-build-using-namespace): the simulator's own helpers

struct Simulator::State {
    explicit State(SimulatorOptions o)
        : options(std::move(o)),
          clock(options.clock ? options.clock : std::make_shared<core::SystemClock>()),
          rng(options.seed) {}

    std::int64_t now() const { return clock->now_ms(); }

    SimulatorOptions options;
    std::shared_ptr<core::Clock> clock;
    mutable std::mutex mutex;
    std::mt19937_64 rng;
    std::map<std::string, Owner> owners;
    std::map<std::string, std::unique_ptr<VehicleModel>> vehicles;
    std::map<std::string, Code> codes;
    std::map<std::string, AccessToken> access_tokens;
    std::map<std::string, RefreshToken> refresh_tokens;
    std::map<std::string, std::int64_t> app_tokens;                       // v3 client-credentials tokens -> expiry
    std::map<std::string, std::int64_t> throttled_until;                  // vehicle id -> ms
    std::set<std::pair<std::string, std::string>> webhook_subscriptions;  // (webhook id, vehicle id)
    std::deque<Fault> faults;
    std::deque<RequestRecord> log;
    std::deque<std::string> pending_owner_order;
    // Bumped by every change a restart must not lose (tokens, grants, subscriptions): SimulatorStore
    // saves soon after it moves. Models that only advanced are saved on its slower round.
    std::atomic<std::uint64_t> generation{0};
    void touch() { generation.fetch_add(1, std::memory_order_relaxed); }

    // The webhook emitter, under its own lock (it never holds `mutex` while sending).
    struct Attempt {
        std::int64_t due_ms = 0;
        int attempt = 1;
        std::string event_id;
        std::string vehicle_id;
        boost::json::object data;  // the event's data, fixed across retries
    };
    mutable std::mutex emit_mutex;
    std::condition_variable emit_wake;
    std::thread emitter;
    bool emit_stop = false;
    std::string callback_url;
    std::deque<Attempt> attempts;
    std::deque<DeliveryRecord> deliveries;

    // ---- all below: called with `mutex` held ----

    std::string new_id() { return uuid4(rng); }

    const std::string& create_vehicle(std::int64_t now,
                                      std::optional<std::string> vin = std::nullopt,
                                      std::string_view make = {}) {
        std::vector<const Model*> choices;
        for (const auto& model : kModels) {
            if (make.empty() || make == model.make) {
                choices.push_back(&model);
            }
        }
        if (choices.empty()) {
            for (const auto& model : kModels) {
                choices.push_back(&model);  // a make the simulator does not model: any car
            }
        }
        const Model& m = *choices[rng() % choices.size()];
        const City& city = kCities[rng() % std::size(kCities)];
        VehicleSpec spec;
        spec.id = new_id();
        spec.make = m.make;
        spec.model = m.model;
        spec.year = 2019 + static_cast<int>(rng() % 7);
        spec.capacity_kwh = m.capacity_kwh;
        spec.consumption_kwh_per_km = m.consumption;
        spec.charge_power_kw = m.charge_kw;
        spec.home_latitude = city.latitude + static_cast<double>(rng() % 2000) / 20000.0 - 0.05;
        spec.home_longitude = city.longitude + static_cast<double>(rng() % 2000) / 20000.0 - 0.05;
        if (vin) {
            spec.vin = *vin;
        } else {
            do {
                std::string v = m.wmi_vds;
                v += '0';
                v += model_year_code(spec.year);
                v += m.plant;
                char serial[8];
                std::snprintf(serial, sizeof serial, "%06u", static_cast<unsigned>(rng() % 1'000'000));
                v += serial;
                v[8] = vehicles::vin_check_digit(v);
                spec.vin = v;
            } while (std::any_of(
                vehicles.begin(), vehicles.end(), [&](const auto& kv) { return kv.second->spec().vin == spec.vin; }));
        }
        std::string id = spec.id;
        auto [it, inserted] = vehicles.emplace(id, std::make_unique<VehicleModel>(std::move(spec), rng(), now));
        return it->first;
    }

    // A new account with 1-3 cars of its own (of `make` when Connect's brand selection was bypassed).
    Owner& create_owner(std::int64_t now, std::string_view make = {}) {
        Owner owner;
        owner.id = new_id();
        const int count = 1 + static_cast<int>(rng() % 3);
        for (int i = 0; i < count; ++i) {
            owner.vehicles.push_back(create_vehicle(now, std::nullopt, make));
        }
        std::string id = owner.id;
        pending_owner_order.push_back(id);
        // Pages shown but never answered are forgotten after a while.
        while (pending_owner_order.size() > 10'000) {
            auto old = owners.find(pending_owner_order.front());
            if (old != owners.end() && old->second.pending) {
                for (const auto& v : old->second.vehicles) {
                    vehicles.erase(v);
                }
                owners.erase(old);
            }
            pending_owner_order.pop_front();
        }
        return owners.emplace(id, std::move(owner)).first->second;
    }

    std::pair<std::string, std::string> issue_tokens(const std::shared_ptr<Grant>& grant, std::int64_t now) {
        std::string access = new_id();
        std::string refresh = new_id();
        access_tokens[access] = {grant, now + options.access_ttl.count() * 1000};
        refresh_tokens[refresh] = {grant, now + options.refresh_ttl.count() * 1000, std::nullopt};
        touch();
        return {access, refresh};
    }

    std::shared_ptr<Grant> grant_for_access(const std::string& token, std::int64_t now) {
        auto it = access_tokens.find(token);
        if (it == access_tokens.end() || it->second.expires_at_ms <= now || it->second.grant->revoked) {
            return nullptr;
        }
        return it->second.grant;
    }

    void record(const Request& request, std::string_view vehicle_id, int status) {
        std::string path = request.path.substr(std::min(request.path.size(), options.prefix.size()));
        log.push_back({now(), std::string(http::method_name(request.method)), path, std::string(vehicle_id), status});
        if (log.size() > 10'000) {
            log.pop_front();
        }
    }

    // A fault (or the throttle) answering for this vehicle now, if any. Consumes one use.
    std::optional<Fault> take_fault(const std::string& vehicle_id, std::int64_t now) {
        if (auto it = throttled_until.find(vehicle_id); it != throttled_until.end() && it->second > now) {
            Fault f;
            f.kind = "rate_limit";
            f.retry_after = static_cast<int>((it->second - now + 999) / 1000);
            return f;
        }
        for (auto it = faults.begin(); it != faults.end(); ++it) {
            if (it->kind == "token_error" || (!it->vehicle_id.empty() && it->vehicle_id != vehicle_id)) {
                continue;
            }
            Fault f = *it;
            if (--it->remaining <= 0) {
                faults.erase(it);
            }
            if (f.kind == "rate_limit") {
                throttled_until[vehicle_id] = now + f.retry_after * 1000LL;
            }
            return f;
        }
        return std::nullopt;
    }

    std::optional<Fault> take_token_fault() {
        for (auto it = faults.begin(); it != faults.end(); ++it) {
            if (it->kind == "token_error") {
                Fault f = *it;
                if (--it->remaining <= 0) {
                    faults.erase(it);
                }
                return f;
            }
        }
        return std::nullopt;
    }

    // ---- vehicle data, by path below /vehicles/{id}/ ----

    PathResult read_path(VehicleModel& v, const Grant& grant, std::string path, bool imperial, std::int64_t now) {
        while (!path.empty() && path.front() == '/') {
            path.erase(0, 1);
        }
        while (!path.empty() && path.back() == '/') {
            path.pop_back();
        }
        v.advance(now);
        const double km = imperial ? 0.621371 : 1.0;
        auto need = [&](std::string_view scope) -> std::optional<PathResult> {
            if (!grant.has_scope(scope)) {
                return PathResult{403, {}, permission_error()};
            }
            return std::nullopt;
        };
        const auto& s = v.spec();
        std::optional<PathResult> refused;
        if (path.empty()) {
            if ((refused = need("read_vehicle_info"))) {
                return *refused;
            }
            return {200, json::object{{"id", s.id}, {"make", s.make}, {"model", s.model}, {"year", s.year}}, {}};
        }
        if (path == "vin") {
            if ((refused = need("read_vin"))) {
                return *refused;
            }
            return {200, json::object{{"vin", s.vin}}, {}};
        }
        if (path == "location") {
            if ((refused = need("read_location"))) {
                return *refused;
            }
            return {200,
                    json::object{{"latitude", round_to(v.latitude(), 6)}, {"longitude", round_to(v.longitude(), 6)}},
                    {}};
        }
        if (path == "odometer") {
            if ((refused = need("read_odometer"))) {
                return *refused;
            }
            return {200, json::object{{"distance", round_to(v.odometer_km() * km, 2)}}, {}};
        }
        if (path == "battery") {
            if ((refused = need("read_battery"))) {
                return *refused;
            }
            return {200,
                    json::object{{"percentRemaining", round_to(v.soc(), 2)}, {"range", round_to(v.range_km() * km, 1)}},
                    {}};
        }
        if (path == "battery/capacity") {
            if ((refused = need("read_battery"))) {
                return *refused;
            }
            return {200, json::object{{"capacity", s.capacity_kwh}}, {}};
        }
        if (path == "battery/nominal_capacity") {
            if ((refused = need("read_battery"))) {
                return *refused;
            }
            return {200,
                    json::object{{"availableCapacities",
                                  json::array{json::object{{"capacity", s.capacity_kwh}, {"description", nullptr}}}},
                                 {"capacity", json::object{{"nominal", s.capacity_kwh}, {"source", "SMARTCAR"}}},
                                 {"url", nullptr}},
                    {}};
        }
        if (path == "charge") {
            if ((refused = need("read_charge"))) {
                return *refused;
            }
            return {200, json::object{{"isPluggedIn", v.plugged_in()}, {"state", v.charge_state()}}, {}};
        }
        if (path == "charge/limit") {
            if ((refused = need("read_charge"))) {
                return *refused;
            }
            return {200, json::object{{"limit", round_to(v.charge_limit(), 2)}}, {}};
        }
        if (path == "fuel" || path == "engine/oil") {
            if ((refused = need(path == "fuel" ? "read_fuel" : "read_engine_oil"))) {
                return *refused;
            }
            return {501, {}, not_capable_error()};  // every simulated vehicle is a BEV
        }
        if (path == "tires/pressure") {
            if ((refused = need("read_tires"))) {
                return *refused;
            }
            const double unit = imperial ? 0.145038 : 1.0;
            return {200,
                    json::object{{"frontLeft", round_to(248.2 * unit, 1)},
                                 {"frontRight", round_to(249.6 * unit, 1)},
                                 {"backLeft", round_to(251.0 * unit, 1)},
                                 {"backRight", round_to(250.3 * unit, 1)}},
                    {}};
        }
        if (path == "security") {
            if ((refused = need("read_security"))) {
                return *refused;
            }
            const char* door = v.locked() ? "LOCKED" : "UNLOCKED";
            json::array doors;
            for (const char* side : {"frontLeft", "frontRight", "backLeft", "backRight"}) {
                doors.push_back(json::object{{"type", side}, {"status", door}});
            }
            json::array windows;
            for (const char* side : {"frontLeft", "frontRight", "backLeft", "backRight"}) {
                windows.push_back(json::object{{"type", side}, {"status", "CLOSED"}});
            }
            return {200,
                    json::object{{"isLocked", v.locked()},
                                 {"doors", std::move(doors)},
                                 {"windows", std::move(windows)},
                                 {"sunroof", json::array{json::object{{"type", "sunroof"}, {"status", "CLOSED"}}}},
                                 {"storage",
                                  json::array{json::object{{"type", "rear"}, {"status", "CLOSED"}},
                                              json::object{{"type", "front"}, {"status", "CLOSED"}}}},
                                 {"chargingPort",
                                  json::array{json::object{{"type", "chargingPort"},
                                                           {"status", v.plugged_in() ? "OPEN" : "CLOSED"}}}}},
                    {}};
        }
        if (path == "service/history") {
            if ((refused = need("read_service_history"))) {
                return *refused;
            }
            return {200, json::array{}, {}};
        }
        if (path == "diagnostics/system_status") {
            if ((refused = need("read_diagnostics"))) {
                return *refused;
            }
            json::array systems;
            for (const char* id : {"SYSTEM_TPMS", "SYSTEM_BRAKE_FLUID", "SYSTEM_EV_BATTERY_CONDITIONING"}) {
                systems.push_back(json::object{{"systemId", id}, {"status", "OK"}, {"description", nullptr}});
            }
            return {200, json::object{{"systems", std::move(systems)}}, {}};
        }
        if (path == "diagnostics/dtcs") {
            if ((refused = need("read_diagnostics"))) {
                return *refused;
            }
            return {200, json::object{{"activeCodes", json::array{}}}, {}};
        }
        return {404, {}, not_found_error()};
    }

    // Signals in v3 / webhook form (shared/design/SMARTCAR.md §4.5 (c)).
    json::array signals(VehicleModel& v, std::int64_t now) {
        v.advance(now);
        const auto& s = v.spec();
        const std::int64_t oem = v.updated_at_ms();
        json::array out;
        auto add = [&](const char* group, const char* name, json::object body) {
            std::string code = core::to_lower_ascii(std::string(group) + "-" + name);
            out.push_back(json::object{{"code", code},
                                       {"name", name},
                                       {"group", group},
                                       {"body", std::move(body)},
                                       {"meta", json::object{{"oemUpdatedAt", oem}, {"retrievedAt", now}}},
                                       {"status", json::object{{"value", "SUCCESS"}}}});
        };
        const int limit_pct = static_cast<int>(std::lround(v.charge_limit() * 100));
        add("TractionBattery", "StateOfCharge", {{"unit", "percent"}, {"value", round_to(v.soc() * 100, 1)}});
        add("TractionBattery",
            "Range",
            {{"unit", "km"},
             {"value", round_to(v.range_km(), 1)},
             {"additionalValues",
              json::array{json::object{{"type", "ESTIMATED"}, {"value", round_to(v.range_km(), 1)}}}}});
        add("TractionBattery",
            "NominalCapacity",
            {{"source", "SMARTCAR"},
             {"capacity", s.capacity_kwh},
             {"availableCapacities", json::array{}},
             {"unit", "kWh"}});
        add("Location",
            "PreciseLocation",
            {{"latitude", round_to(v.latitude(), 6)},
             {"longitude", round_to(v.longitude(), 6)},
             {"heading", round_to(v.heading(), 1)},
             {"locationType", "CURRENT"}});
        add("Odometer", "TraveledDistance", {{"unit", "km"}, {"value", round_to(v.odometer_km(), 1)}});
        add("Charge",
            "ChargeLimits",
            {{"values", json::array{json::object{{"type", "GLOBAL"}, {"limit", limit_pct}, {"condition", nullptr}}}},
             {"activeLimit", limit_pct},
             {"unit", "percent"}});
        add("Charge", "IsCharging", {{"value", v.charging()}});
        add("Charge", "IsChargingCableConnected", {{"value", v.plugged_in()}});
        add("Charge", "DetailedChargingStatus", {{"value", v.charge_state()}});
        add("Charge", "Wattage", {{"unit", "watts"}, {"value", round_to(v.charge_power_kw() * 1000, 0)}});
        add("Charge", "EnergyAdded", {{"unit", "kWh"}, {"value", round_to(v.energy_added_kwh(), 2)}});
        add("Charge", "TimeToComplete", {{"unit", "minutes"}, {"value", std::lround(v.minutes_to_complete())}});
        add("Closure", "IsLocked", {{"value", v.locked()}});
        add("VehicleIdentification", "VIN", {{"value", s.vin}});
        return out;
    }
};

namespace detail {

using StatePtr = std::shared_ptr<Simulator::State>;

inline Response sc_response(const json::value& body, int status, const std::string& request_id) {
    Response r = Response::json_text(core::to_json_text(body), status);
    r.header("SC-Request-Id", request_id);
    return r;
}

inline Response sc_error_response(const ScError& e, const std::string& request_id) {
    Response r = sc_response(error_body(e, request_id), e.status, request_id);
    if (e.status == 429) {
        r.header("Retry-After", std::to_string(std::max(1, e.retry_after)));
    }
    return r;
}

inline Response oauth_error(int status, std::string_view error, std::string_view description) {
    Response r = Response::json_text(
        core::to_json_text(json::object{{"error", error}, {"error_description", description}}), status);
    r.header("Cache-Control", "no-store");
    return r;
}

inline ScError fault_error(const Fault& f) {
    if (f.kind == "rate_limit") {
        ScError e{429,
                  "RATE_LIMIT",
                  "VEHICLE",
                  "You have reached the throttling rate limit for this vehicle. Please see the retry-after header "
                  "for when to retry the request.",
                  "RETRY_LATER"};
        e.retry_after = f.retry_after;
        return e;
    }
    if (f.kind == "upstream") {
        return {502,
                "UPSTREAM",
                f.code.empty() ? "NO_RESPONSE" : f.code,
                "The vehicle manufacturer's server did not respond in time.",
                "RETRY_LATER"};
    }
    return {500,
            "SERVER",
            f.code.empty() ? "INTERNAL" : f.code,
            "Smartcar experienced an unexpected error. Please try again.",
            "RETRY_LATER"};
}

inline net::awaitable<void> sleep_ms(int ms) {
    net::steady_timer timer(co_await net::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(ms));
    co_await timer.async_wait(net::use_awaitable);
}

// The request id every answer carries.
inline std::string request_id_for(Simulator::State& s) {
    std::lock_guard lock(s.mutex);
    return s.new_id();
}

// ---- the Vehicle API ----

// Resolves the caller's grant from the bearer token (v2 user token, or a v3 application token
// with sc-user-id). nullptr: answer 401.
inline std::shared_ptr<Grant> caller_grant(Simulator::State& s, const Request& req, std::int64_t now) {
    auto token = bearer(req);
    if (!token) {
        return nullptr;
    }
    if (auto grant = s.grant_for_access(*token, now)) {
        return grant;
    }
    auto app = s.app_tokens.find(*token);
    auto user = req.header("sc-user-id");
    if (app == s.app_tokens.end() || app->second <= now || !user) {
        return nullptr;
    }
    // An application token reaches every vehicle the user connected, with every permission granted.
    auto grant = std::make_shared<Grant>();
    grant->user_id = std::string(*user);
    for (const auto& [t, access] : s.access_tokens) {
        if (access.grant->user_id == grant->user_id && !access.grant->revoked) {
            for (const auto& v : access.grant->vehicles) {
                if (!grant->has_vehicle(v)) {
                    grant->vehicles.push_back(v);
                }
            }
            for (const auto& sc : access.grant->scopes) {
                if (!grant->has_scope(sc)) {
                    grant->scopes.push_back(sc);
                }
            }
        }
    }
    return grant;
}

inline void add_data_headers(Response& r, const VehicleModel& v, bool imperial, std::int64_t now) {
    r.header("SC-Data-Age", core::format_rfc3339(v.updated_at_ms(), true));
    r.header("SC-Fetched-At", core::format_rfc3339(now, true));
    r.header("SC-Unit-System", imperial ? "imperial" : "metric");
}

inline bool wants_imperial(const Request& req) {
    return core::iequals(req.header("SC-Unit-System").value_or("metric"), "imperial");
}

inline std::string strip_slashes(std::string_view path) {
    while (!path.empty() && path.front() == '/') {
        path.remove_prefix(1);
    }
    while (!path.empty() && path.back() == '/') {
        path.remove_suffix(1);
    }
    return std::string(path);
}

// Body value as a number; Node sends the charge limit as a string ("0.8").
inline std::optional<double> number_of(const json::value* v) {
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_number()) {
        return v->to_number<double>();
    }
    if (v->is_string()) {
        const std::string text(v->as_string());
        char* end = nullptr;
        double d = std::strtod(text.c_str(), &end);
        if (!text.empty() && end == text.c_str() + text.size() && std::isfinite(d)) {
            return d;
        }
    }
    return std::nullopt;
}

inline bool admin_allowed(const Simulator::State& s, const Request& req) {
    auto credentials = basic_credentials(req);
    return credentials && credentials->first == s.options.client_id &&
           core::constant_time_equal(credentials->second, s.options.client_secret);
}

}  // namespace detail

}  // namespace motorpool::smartcar::sim
