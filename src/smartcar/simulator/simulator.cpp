// The Smartcar simulator: state (owners, vehicles, grants, codes, tokens, faults) behind one mutex,
// and the routes the official SDKs call. Facts it follows: shared/design/SMARTCAR.md.

#include "smartcar/simulator.hpp"

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
#include <curl/curl.h>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "core/threads.hpp"
#include "core/time.hpp"
#include "model.hpp"
#include "vehicles/vin.hpp"

namespace motorpool::smartcar::sim {

namespace json = boost::json;
namespace net = boost::asio;
using http::Request;
using http::Response;

namespace {

constexpr std::string_view kSuccessMessage = "Successfully sent request to vehicle";
const std::vector<std::string> kAllScopes = {"read_vehicle_info",
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

std::string uuid4(std::mt19937_64& rng) {
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

double round_to(double value, int decimals) {
    const double scale = std::pow(10.0, decimals);
    return std::round(value * scale) / scale;
}

std::map<std::string, std::string> parse_form(std::string_view body) {
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

std::string html_escape(std::string_view text) {
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

std::vector<std::string> split_spaces(std::string_view text) {
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
std::optional<std::pair<std::string, std::string>> basic_credentials(const Request& request) {
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

std::optional<std::string> bearer(const Request& request) {
    auto header = request.header("Authorization");
    if (!header || header->size() < 7 || !core::iequals(header->substr(0, 7), "Bearer ")) {
        return std::nullopt;
    }
    return std::string(header->substr(7));
}

bool is_local_redirect(std::string_view uri) {
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

char model_year_code(int year) {
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

const char* doc_section(std::string_view type) {
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

json::object error_body(const ScError& e, const std::string& request_id) {
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

ScError authentication_error() {
    return {401,
            "AUTHENTICATION",
            std::nullopt,
            "The authorization header is missing or malformed, or it contains invalid or expired authentication "
            "credentials. Please check for missing parameters, spelling and casing mistakes, and other syntax "
            "issues.",
            "REAUTHENTICATE"};
}

ScError permission_error() {
    return {403,
            "PERMISSION",
            std::nullopt,
            "Your application has insufficient permissions to access the requested resource. Please prompt the "
            "user to re-authenticate using Smartcar Connect.",
            "REAUTHENTICATE"};
}

ScError validation_error(std::string description) {
    return {400, "VALIDATION", "PARAMETER", std::move(description), std::nullopt};
}

ScError not_found_error() {
    return {404,
            "RESOURCE_NOT_FOUND",
            "PATH",
            "The requested resource does not exist. Please check the URL and try again.",
            std::nullopt};
}

ScError not_capable_error() {
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

}  // namespace

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

namespace {

using StatePtr = std::shared_ptr<Simulator::State>;

Response sc_response(const json::value& body, int status, const std::string& request_id) {
    Response r = Response::json_text(core::to_json_text(body), status);
    r.header("SC-Request-Id", request_id);
    return r;
}

Response sc_error_response(const ScError& e, const std::string& request_id) {
    Response r = sc_response(error_body(e, request_id), e.status, request_id);
    if (e.status == 429) {
        r.header("Retry-After", std::to_string(std::max(1, e.retry_after)));
    }
    return r;
}

Response oauth_error(int status, std::string_view error, std::string_view description) {
    Response r = Response::json_text(
        core::to_json_text(json::object{{"error", error}, {"error_description", description}}), status);
    r.header("Cache-Control", "no-store");
    return r;
}

ScError fault_error(const Fault& f) {
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

net::awaitable<void> sleep_ms(int ms) {
    net::steady_timer timer(co_await net::this_coro::executor);
    timer.expires_after(std::chrono::milliseconds(ms));
    co_await timer.async_wait(net::use_awaitable);
}

// The request id every answer carries.
std::string request_id_for(Simulator::State& s) {
    std::lock_guard lock(s.mutex);
    return s.new_id();
}

}  // namespace

Simulator::Simulator(SimulatorOptions options) : state_(std::make_shared<State>(std::move(options))) {
    if (!state_->options.faults_json.empty()) {
        add_faults(core::parse_json(state_->options.faults_json));
    }
}

Simulator::~Simulator() {
    stop_emitter();
}

const SimulatorOptions& Simulator::options() const {
    return state_->options;
}

void Simulator::add_faults(const json::value& body) {
    std::vector<core::FieldError> errors;
    const json::array* list = nullptr;
    if (body.is_object()) {
        if (const auto* f = body.as_object().if_contains("faults"); f != nullptr && f->is_array()) {
            list = &f->as_array();
        }
    }
    if (list == nullptr) {
        throw core::ApiError::validation({{"faults", "must be an array of faults"}});
    }
    std::vector<Fault> parsed;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const auto& item = (*list)[i];
        std::string prefix = "faults[" + std::to_string(i) + "]";
        if (!item.is_object()) {
            errors.push_back({prefix, "must be an object"});
            continue;
        }
        core::FieldReader r(item.as_object(), prefix);
        Fault f;
        f.kind = r.string("kind", core::Presence::Required).value_or("");
        static const std::set<std::string> kKinds = {
            "rate_limit", "upstream", "server", "slow", "token_error", "expire_access_tokens", "revoke"};
        if (!f.kind.empty() && !kKinds.contains(f.kind)) {
            r.fail("kind", "must be rate_limit, upstream, server, slow, token_error, expire_access_tokens or revoke");
        }
        f.vehicle_id = r.string("vehicle_id", core::Presence::Optional).value_or("");
        f.remaining = static_cast<int>(r.integer("count", core::Presence::Optional, 1, 1'000'000).value_or(1));
        f.retry_after = static_cast<int>(r.integer("retry_after", core::Presence::Optional, 1, 86'400).value_or(5));
        f.code = r.string("code", core::Presence::Optional).value_or("");
        f.delay_ms = static_cast<int>(r.integer("delay_ms", core::Presence::Optional, 0, 600'000).value_or(0));
        for (const auto& e : r.errors()) {
            errors.push_back(e);
        }
        std::set<std::string_view> known = {"kind", "vehicle_id", "count", "retry_after", "code", "delay_ms"};
        for (const auto& kv : item.as_object()) {
            if (!known.contains(kv.key())) {
                errors.push_back({prefix + "." + std::string(kv.key()), "is not a known field"});
            }
        }
        parsed.push_back(std::move(f));
    }
    if (!errors.empty()) {
        throw core::ApiError::validation(errors);
    }
    std::lock_guard lock(state_->mutex);
    const std::int64_t now = state_->now();
    for (auto& f : parsed) {
        if (f.kind == "expire_access_tokens" || f.kind == "revoke") {
            // Immediate: every token reaching the vehicle (or every token) stops working.
            for (auto& [token, access] : state_->access_tokens) {
                if (f.vehicle_id.empty() || access.grant->has_vehicle(f.vehicle_id)) {
                    access.expires_at_ms = std::min(access.expires_at_ms, now);
                    if (f.kind == "revoke") {
                        access.grant->revoked = true;
                        state_->touch();
                    }
                }
            }
            continue;
        }
        state_->faults.push_back(std::move(f));
    }
}

void Simulator::clear_faults() {
    std::lock_guard lock(state_->mutex);
    state_->faults.clear();
    state_->throttled_until.clear();
}

std::vector<RequestRecord> Simulator::requests() const {
    std::lock_guard lock(state_->mutex);
    return {state_->log.begin(), state_->log.end()};
}

std::uint64_t Simulator::generation() const {
    return state_->generation.load(std::memory_order_relaxed);
}

std::string Simulator::snapshot() const {
    std::lock_guard lock(state_->mutex);
    const State& st = *state_;
    const std::int64_t now = state_->now();
    std::ostringstream rng;
    rng << st.rng;
    // Grants are shared by their tokens: written once each, referred to by index.
    std::map<const Grant*, std::size_t> grant_index;
    json::array grants;
    auto index_of = [&](const std::shared_ptr<Grant>& g) {
        auto [it, added] = grant_index.emplace(g.get(), grants.size());
        if (added) {
            json::array vehicles(g->vehicles.begin(), g->vehicles.end());
            json::array scopes(g->scopes.begin(), g->scopes.end());
            grants.push_back(json::object{{"user_id", g->user_id},
                                          {"vehicles", std::move(vehicles)},
                                          {"scopes", std::move(scopes)},
                                          {"revoked", g->revoked},
                                          {"connected_at_ms", g->connected_at_ms}});
        }
        return it->second;
    };
    json::array access;
    for (const auto& [token, t] : st.access_tokens) {
        if (t.expires_at_ms > now) {
            access.push_back(
                json::object{{"token", token}, {"grant", index_of(t.grant)}, {"expires_at_ms", t.expires_at_ms}});
        }
    }
    json::array refresh;
    for (const auto& [token, t] : st.refresh_tokens) {
        if (t.expires_at_ms > now) {
            refresh.push_back(json::object{{"token", token},
                                           {"grant", index_of(t.grant)},
                                           {"expires_at_ms", t.expires_at_ms},
                                           {"used_at_ms", t.used_at_ms ? json::value(*t.used_at_ms) : json::value()}});
        }
    }
    // Accounts that approved Connect and their cars; a page shown but never answered is not kept.
    json::array owners;
    json::array vehicles;
    for (const auto& [id, owner] : st.owners) {
        if (owner.pending) {
            continue;
        }
        owners.push_back(
            json::object{{"id", id}, {"vehicles", json::array(owner.vehicles.begin(), owner.vehicles.end())}});
        for (const auto& v : owner.vehicles) {
            if (auto it = st.vehicles.find(v); it != st.vehicles.end()) {
                vehicles.push_back(it->second->to_json());
            }
        }
    }
    json::array app_tokens;
    for (const auto& [token, expires] : st.app_tokens) {
        if (expires > now) {
            app_tokens.push_back(json::object{{"token", token}, {"expires_at_ms", expires}});
        }
    }
    json::array subscriptions;
    for (const auto& [webhook, vehicle] : st.webhook_subscriptions) {
        subscriptions.push_back(json::array{json::value(webhook), json::value(vehicle)});
    }
    return core::to_json_text(json::object{{"version", 1},
                                           {"rng", rng.str()},
                                           {"owners", std::move(owners)},
                                           {"vehicles", std::move(vehicles)},
                                           {"grants", std::move(grants)},
                                           {"access_tokens", std::move(access)},
                                           {"refresh_tokens", std::move(refresh)},
                                           {"app_tokens", std::move(app_tokens)},
                                           {"webhook_subscriptions", std::move(subscriptions)}},
                              core::WholeDoubles::KeepFraction);
}

void Simulator::restore(std::string_view snapshot) {
    auto fail = [](const std::string& what) { throw std::runtime_error("the saved simulator state " + what); };
    boost::system::error_code ec;
    json::value root = json::parse(snapshot, ec);
    if (ec || !root.is_object() || root.as_object().if_contains("version") == nullptr ||
        root.at("version") != json::value(1)) {
        fail("is not a version-1 snapshot");
    }
    State fresh(state_->options);
    try {
        const json::object& o = root.as_object();
        auto strings = [](const json::value& v) {
            std::vector<std::string> out;
            for (const auto& item : v.as_array()) {
                out.emplace_back(item.as_string());
            }
            return out;
        };
        std::istringstream rng(std::string(o.at("rng").as_string()));
        rng >> fresh.rng;
        if (rng.fail()) {
            fail("has a malformed generator state");
        }
        for (const auto& v : o.at("vehicles").as_array()) {
            auto model = VehicleModel::from_json(v.as_object());
            if (!model) {
                fail("has a malformed vehicle");
            }
            std::string id = model->spec().id;
            fresh.vehicles.emplace(std::move(id), std::make_unique<VehicleModel>(std::move(*model)));
        }
        for (const auto& item : o.at("owners").as_array()) {
            Owner owner;
            owner.id = std::string(item.at("id").as_string());
            owner.vehicles = strings(item.at("vehicles"));
            owner.pending = false;
            for (const auto& v : owner.vehicles) {
                if (!fresh.vehicles.contains(v)) {
                    fail("names a vehicle it does not hold");
                }
            }
            std::string id = owner.id;
            fresh.owners.emplace(std::move(id), std::move(owner));
        }
        std::vector<std::shared_ptr<Grant>> grants;
        for (const auto& item : o.at("grants").as_array()) {
            auto g = std::make_shared<Grant>();
            g->user_id = std::string(item.at("user_id").as_string());
            g->vehicles = strings(item.at("vehicles"));
            g->scopes = strings(item.at("scopes"));
            g->revoked = item.at("revoked").as_bool();
            g->connected_at_ms = item.at("connected_at_ms").to_number<std::int64_t>();
            grants.push_back(std::move(g));
        }
        auto grant_at = [&](const json::value& index) {
            const auto i = index.to_number<std::size_t>();
            if (i >= grants.size()) {
                fail("names a grant it does not hold");
            }
            return grants[i];
        };
        for (const auto& item : o.at("access_tokens").as_array()) {
            fresh.access_tokens[std::string(item.at("token").as_string())] = {
                grant_at(item.at("grant")), item.at("expires_at_ms").to_number<std::int64_t>()};
        }
        for (const auto& item : o.at("refresh_tokens").as_array()) {
            const auto& used = item.at("used_at_ms");
            fresh.refresh_tokens[std::string(item.at("token").as_string())] = {
                grant_at(item.at("grant")),
                item.at("expires_at_ms").to_number<std::int64_t>(),
                used.is_null() ? std::nullopt : std::optional(used.to_number<std::int64_t>())};
        }
        for (const auto& item : o.at("app_tokens").as_array()) {
            fresh.app_tokens[std::string(item.at("token").as_string())] =
                item.at("expires_at_ms").to_number<std::int64_t>();
        }
        for (const auto& item : o.at("webhook_subscriptions").as_array()) {
            fresh.webhook_subscriptions.emplace(std::string(item.at(0).as_string()),
                                                std::string(item.at(1).as_string()));
        }
    } catch (const std::runtime_error&) {
        throw;
    } catch (const std::exception&) {
        fail("is malformed");  // a missing key or a value of the wrong kind
    }
    std::lock_guard lock(state_->mutex);
    State& st = *state_;
    st.rng = fresh.rng;
    st.owners = std::move(fresh.owners);
    st.vehicles = std::move(fresh.vehicles);
    st.access_tokens = std::move(fresh.access_tokens);
    st.refresh_tokens = std::move(fresh.refresh_tokens);
    st.app_tokens = std::move(fresh.app_tokens);
    st.webhook_subscriptions = std::move(fresh.webhook_subscriptions);
    st.codes.clear();
    st.pending_owner_order.clear();
    st.touch();
}

namespace {

// ---- Connect ----

Response authorize_page(const StatePtr& s, const Request& req) {
    auto q = [&](std::string_view name) { return req.query_param(name).value_or(""); };
    const std::string client_id = q("client_id");
    const std::string redirect_uri = q("redirect_uri");
    const std::string state_param = q("state");
    const std::string response_type = q("response_type");
    const std::string mode = q("mode");
    // Errors that must not be redirected (the redirect target itself is in doubt).
    auto page_error = [](int status, const std::string& message) {
        return Response::text(
            "<!doctype html><title>Smartcar Connect</title><h1>Error</h1><p>" + html_escape(message) + "</p>",
            "text/html; charset=utf-8",
            status);
    };
    const auto& o = s->options;
    if (client_id != o.client_id) {
        return page_error(400, "Invalid client_id.");
    }
    bool registered = std::find(o.redirect_uris.begin(), o.redirect_uris.end(), redirect_uri) != o.redirect_uris.end();
    if (redirect_uri.empty() || (!registered && !is_local_redirect(redirect_uri))) {
        return page_error(400, "Invalid redirect_uri: it is not registered for this application.");
    }
    if (response_type != "code") {
        return page_error(400, "Invalid response_type: expected code.");
    }
    if (!mode.empty() && mode != "live" && mode != "test" && mode != "simulated") {
        return page_error(400, "Invalid mode: expected live, test or simulated.");
    }
    std::vector<std::string> scopes;
    for (auto& scope : split_spaces(q("scope"))) {
        if (scope.rfind("required:", 0) == 0) {
            scope.erase(0, 9);
        }
        if (std::find(kAllScopes.begin(), kAllScopes.end(), scope) == kAllScopes.end()) {
            return page_error(400, "Invalid scope: " + scope + ".");
        }
        if (std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) {
            scopes.push_back(scope);
        }
    }
    if (scopes.empty()) {
        scopes = kAllScopes;  // the application's default permissions
    }
    const char sep = redirect_uri.find('?') == std::string::npos ? '?' : '&';
    auto redirect = [&](const std::string& query) {
        Response r;
        r.status = 302;
        r.header("Location", redirect_uri + sep + query);
        r.header("Cache-Control", "no-store");
        return r;
    };
    const std::string state_suffix = state_param.empty() ? "" : "&state=" + core::percent_encode(state_param);
    const std::string approve = q("approve");
    if (approve == "false") {
        return redirect("error=access_denied&error_description=" +
                        core::percent_encode("User denied access to application.") + state_suffix);
    }
    if (auto forced = req.query_param("sim_error")) {
        // Test hook: Connect's other outcomes (no_vehicles, vehicle_incompatible, server_error, ...).
        std::string query = "error=" + core::percent_encode(*forced) +
                            "&error_description=" + core::percent_encode("Simulated Connect outcome: " + *forced + ".");
        if (*forced == "vehicle_incompatible") {
            query += "&vin=0SCAUDI012FE3B132&make=AUDI&model=A4&year=2019";
        }
        return redirect(query + state_suffix);
    }
    const std::int64_t now = s->now();
    std::lock_guard lock(s->mutex);
    Owner* owner = nullptr;
    if (auto id = req.query_param("sim_user"); id) {
        auto it = s->owners.find(*id);
        if (it == s->owners.end() || !it->second.pending) {
            return page_error(400, "This Connect session has expired; start again.");
        }
        owner = &it->second;
    }
    if (owner == nullptr) {
        owner = &s->create_owner(now, core::to_upper_ascii(q("make")));
        if (auto vin = req.query_param("single_select_vin"); vin && vin->size() == 17) {
            owner->vehicles.insert(owner->vehicles.begin(), s->create_vehicle(now, core::to_upper_ascii(*vin)));
        }
    }
    std::vector<std::string> selected = owner->vehicles;
    if (auto vin = req.query_param("single_select_vin"); vin) {
        std::erase_if(selected,
                      [&](const std::string& id) { return !core::iequals(s->vehicles.at(id)->spec().vin, *vin); });
    } else if (q("single_select") == "true") {
        selected.resize(std::min<std::size_t>(selected.size(), 1));
    }
    if (approve != "true") {
        std::string page =
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Smartcar Connect (simulated)</title>"
            "</head><body><h1>Connect your vehicle</h1><p>Simulated Smartcar account " +
            html_escape(owner->id) + " grants access to:</p><ul>";
        for (const auto& id : selected) {
            const auto& spec = s->vehicles.at(id)->spec();
            page += "<li>" + html_escape(std::to_string(spec.year) + " " + spec.make + " " + spec.model) + " (VIN " +
                    html_escape(spec.vin) + ")</li>";
        }
        page += "</ul><p>Permissions: " + html_escape([&] {
                    std::string joined;
                    for (const auto& sc : scopes) {
                        joined += (joined.empty() ? "" : ", ") + sc;
                    }
                    return joined;
                }()) +
                "</p>";
        const std::string base = req.path + "?" + req.query + "&sim_user=" + core::percent_encode(owner->id);
        page += "<p><a id=\"approve\" href=\"" + html_escape(base + "&approve=true") +
                "\">Approve</a> <a id=\"deny\" href=\"" + html_escape(base + "&approve=false") +
                "\">Deny</a></p></body></html>";
        return Response::text(std::move(page), "text/html; charset=utf-8");
    }
    if (selected.empty()) {
        return redirect("error=no_vehicles&error_description=" +
                        core::percent_encode("No vehicles were found on this connected services account.") +
                        state_suffix);
    }
    owner->pending = false;
    s->touch();
    auto grant = std::make_shared<Grant>();
    grant->user_id = owner->id;
    grant->vehicles = selected;
    grant->scopes = scopes;
    grant->connected_at_ms = now;
    std::string code = s->new_id();
    s->codes[code] = {grant, redirect_uri, now + s->options.code_ttl.count() * 1000, false};
    return redirect("code=" + code + state_suffix);
}

Response token_endpoint(const StatePtr& s, const Request& req) {
    auto credentials = basic_credentials(req);
    const auto& o = s->options;
    if (!credentials || credentials->first != o.client_id ||
        !core::constant_time_equal(credentials->second, o.client_secret)) {
        return oauth_error(401, "invalid_client", "Invalid client credentials.");
    }
    auto content_type = req.header("Content-Type").value_or("");
    if (content_type.find("application/x-www-form-urlencoded") == std::string_view::npos) {
        return oauth_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded.");
    }
    auto form = parse_form(req.body);
    const std::string grant_type = form["grant_type"];
    const std::int64_t now = s->now();
    std::lock_guard lock(s->mutex);
    if (auto fault = s->take_token_fault()) {
        return oauth_error(500, "server_error", "Simulated token endpoint failure.");
    }
    std::shared_ptr<Grant> grant;
    if (grant_type == "authorization_code") {
        const std::string code = form["code"];
        auto it = s->codes.find(code);
        if (it == s->codes.end() || it->second.expires_at_ms <= now) {
            return oauth_error(400, "invalid_grant", "Invalid or expired authorization code.");
        }
        if (it->second.used) {
            it->second.grant->revoked = true;  // a replayed code revokes what it granted (RFC 6749 §4.1.2)
            s->touch();
            return oauth_error(400, "invalid_grant", "Invalid or expired authorization code.");
        }
        if (form["redirect_uri"] != it->second.redirect_uri) {
            return oauth_error(400, "invalid_grant", "Unauthorized redirect_uri: " + form["redirect_uri"]);
        }
        it->second.used = true;
        grant = it->second.grant;
    } else if (grant_type == "refresh_token") {
        const std::string token = form["refresh_token"];
        auto it = s->refresh_tokens.find(token);
        // A used refresh token still works for one minute (the race window Smartcar documents).
        if (it == s->refresh_tokens.end() || it->second.expires_at_ms <= now || it->second.grant->revoked ||
            (it->second.used_at_ms && *it->second.used_at_ms + 60'000 <= now)) {
            // As Smartcar answers: the text never echoes the token it was given.
            return oauth_error(400, "invalid_grant", "Invalid or expired refresh token.");
        }
        if (!it->second.used_at_ms) {
            it->second.used_at_ms = now;
        }
        grant = it->second.grant;
    } else {
        return oauth_error(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token.");
    }
    auto [access, refresh] = s->issue_tokens(grant, now);
    Response r = Response::json_text(core::to_json_text(json::object{{"access_token", access},
                                                                     {"token_type", "Bearer"},
                                                                     {"expires_in", o.access_ttl.count()},
                                                                     {"refresh_token", refresh}}));
    r.header("Cache-Control", "no-store");
    return r;
}

Response iam_token_endpoint(const StatePtr& s, const Request& req) {
    auto form = parse_form(req.body);
    std::string id = form["client_id"];
    std::string secret = form["client_secret"];
    if (auto basic = basic_credentials(req)) {
        id = basic->first;
        secret = basic->second;
    }
    if (form["grant_type"] != "client_credentials") {
        return oauth_error(400, "invalid_request", "grant_type must be client_credentials.");
    }
    if (id != s->options.client_id || !core::constant_time_equal(secret, s->options.client_secret)) {
        return oauth_error(401, "invalid_client", "Invalid client credentials.");
    }
    std::lock_guard lock(s->mutex);
    std::string token = s->new_id();
    s->app_tokens[token] = s->now() + 3'600'000;
    s->touch();
    return Response::json_text(
        core::to_json_text(json::object{{"access_token", token}, {"token_type", "Bearer"}, {"expires_in", 3600}}));
}

// ---- the Vehicle API ----

// Resolves the caller's grant from the bearer token (v2 user token, or a v3 application token
// with sc-user-id). nullptr: answer 401.
std::shared_ptr<Grant> caller_grant(Simulator::State& s, const Request& req, std::int64_t now) {
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

void add_data_headers(Response& r, const VehicleModel& v, bool imperial, std::int64_t now) {
    r.header("SC-Data-Age", core::format_rfc3339(v.updated_at_ms(), true));
    r.header("SC-Fetched-At", core::format_rfc3339(now, true));
    r.header("SC-Unit-System", imperial ? "imperial" : "metric");
}

bool wants_imperial(const Request& req) {
    return core::iequals(req.header("SC-Unit-System").value_or("metric"), "imperial");
}

std::string strip_slashes(std::string_view path) {
    while (!path.empty() && path.front() == '/') {
        path.remove_prefix(1);
    }
    while (!path.empty() && path.back() == '/') {
        path.remove_suffix(1);
    }
    return std::string(path);
}

// Body value as a number; Node sends the charge limit as a string ("0.8").
std::optional<double> number_of(const json::value* v) {
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

net::awaitable<Response> vehicle_request(StatePtr s, Request req, std::string path) {
    const std::string vehicle_id(req.param("id"));
    const std::string request_id = request_id_for(*s);
    const bool imperial = wants_imperial(req);
    const std::int64_t now = s->now();
    std::optional<Fault> fault;
    {
        std::lock_guard lock(s->mutex);
        auto grant = caller_grant(*s, req, now);
        if (!grant) {
            s->record(req, vehicle_id, 401);
            co_return sc_error_response(authentication_error(), request_id);
        }
        if (!grant->has_vehicle(vehicle_id) || !s->vehicles.contains(vehicle_id)) {
            s->record(req, vehicle_id, 403);
            co_return sc_error_response(permission_error(), request_id);
        }
        fault = s->take_fault(vehicle_id, now);
        if (fault && fault->kind != "slow") {
            ScError e = fault_error(*fault);
            s->record(req, vehicle_id, e.status);
            co_return sc_error_response(e, request_id);
        }
    }
    if (fault) {
        co_await sleep_ms(fault->delay_ms);
    }
    std::lock_guard lock(s->mutex);
    auto grant = caller_grant(*s, req, now);
    if (!grant) {
        s->record(req, vehicle_id, 401);
        co_return sc_error_response(authentication_error(), request_id);
    }
    VehicleModel& v = *s->vehicles.at(vehicle_id);
    auto finish = [&](Response r) {
        s->record(req, vehicle_id, r.status);
        return r;
    };
    auto success = [&] {
        return sc_response(json::object{{"status", "success"}, {"message", kSuccessMessage}}, 200, request_id);
    };
    auto command_result = [&](const std::string& state_code) {
        if (!state_code.empty()) {
            return sc_error_response({409,
                                      "VEHICLE_STATE",
                                      state_code,
                                      "The vehicle was unable to perform your request due to its current state.",
                                      std::nullopt},
                                     request_id);
        }
        return success();
    };
    if (req.method == http::Method::Get) {
        if (path == "permissions") {
            std::vector<core::FieldError> errors;
            auto limit = req.query_integer("limit", 25, 1, 100, errors);
            auto offset = req.query_integer("offset", 0, 0, 1'000'000, errors);
            json::array list;
            for (std::size_t i = static_cast<std::size_t>(offset);
                 i < grant->scopes.size() && list.size() < static_cast<std::size_t>(limit);
                 ++i) {
                list.push_back(json::value(grant->scopes[i]));
            }
            co_return finish(
                sc_response(json::object{{"permissions", std::move(list)},
                                         {"paging", json::object{{"count", grant->scopes.size()}, {"offset", offset}}}},
                            200,
                            request_id));
        }
        PathResult result = s->read_path(v, *grant, path, imperial, now);
        if (result.error) {
            co_return finish(sc_error_response(*result.error, request_id));
        }
        Response r = sc_response(result.body, result.status, request_id);
        add_data_headers(r, v, imperial, now);
        co_return finish(std::move(r));
    }
    if (req.method == http::Method::Delete) {
        if (path == "application") {
            std::erase(grant->vehicles, vehicle_id);
            s->touch();
            co_return finish(sc_response(json::object{{"status", "success"}}, 200, request_id));
        }
        co_return finish(sc_error_response(not_found_error(), request_id));
    }
    // POST
    json::value body;
    {
        boost::system::error_code ec;
        body = json::parse(req.body, ec);
        if (ec && !(path.rfind("webhooks/", 0) == 0 && req.body.empty())) {
            co_return finish(sc_error_response(validation_error("Request invalid or malformed. Please check for "
                                                                "missing parameters, spelling and casing mistakes, "
                                                                "and other syntax issues."),
                                               request_id));
        }
    }
    const json::object empty;
    const json::object& o = body.is_object() ? body.as_object() : empty;
    auto action = [&]() -> std::string {
        const auto* a = o.if_contains("action");
        return a != nullptr && a->is_string() ? std::string(a->as_string()) : std::string();
    };
    if (path == "batch") {
        const auto* requests = o.if_contains("requests");
        if (requests == nullptr || !requests->is_array() || requests->as_array().empty()) {
            ScError e = validation_error(
                "Request invalid or malformed. Please check for missing parameters, "
                "spelling and casing mistakes, and other syntax issues.");
            e.code = std::nullopt;
            Response r = sc_error_response(e, request_id);
            co_return finish(std::move(r));
        }
        json::array responses;
        for (const auto& item : requests->as_array()) {
            const json::value* p = item.is_object() ? item.as_object().if_contains("path") : nullptr;
            std::string sub = p != nullptr && p->is_string() ? std::string(p->as_string()) : std::string();
            std::string normal = strip_slashes(sub);
            PathResult result = s->read_path(v, *grant, normal, imperial, now);
            // Each path is echoed exactly as asked: the Node SDK names its accessors after it.
            json::object entry{{"path", sub.empty() ? std::string("/") : sub},
                               {"code", result.error ? result.error->status : result.status}};
            if (result.error) {
                entry["body"] = error_body(*result.error, request_id);
                json::object headers{{"content-type", "application/json"}, {"sc-request-id", request_id}};
                if (result.error->status == 429) {
                    headers["retry-after"] = std::to_string(std::max(1, result.error->retry_after));
                }
                entry["headers"] = std::move(headers);
            } else {
                entry["body"] = result.body;
                entry["headers"] = json::object{{"sc-data-age", core::format_rfc3339(v.updated_at_ms(), true)},
                                                {"sc-fetched-at", core::format_rfc3339(now, true)},
                                                {"sc-unit-system", imperial ? "imperial" : "metric"}};
            }
            responses.push_back(std::move(entry));
        }
        co_return finish(sc_response(json::object{{"responses", std::move(responses)}}, 200, request_id));
    }
    if (path == "charge") {
        if (!grant->has_scope("control_charge")) {
            co_return finish(sc_error_response(permission_error(), request_id));
        }
        std::string a = action();
        if (a != "START" && a != "STOP") {
            co_return finish(
                sc_error_response(validation_error("\"action\" must be one of [START, STOP]"), request_id));
        }
        v.advance(now);
        co_return finish(command_result(a == "START" ? v.start_charge() : v.stop_charge()));
    }
    if (path == "charge/limit") {
        if (!grant->has_scope("control_charge")) {
            co_return finish(sc_error_response(permission_error(), request_id));
        }
        auto limit = number_of(o.if_contains("limit"));
        if (!limit || *limit < 0.5 || *limit > 1) {
            co_return finish(sc_error_response(
                validation_error("\"limit\" must be a number greater than or equal to 0.5 and less than or equal to 1"),
                request_id));
        }
        v.advance(now);
        co_return finish(command_result(v.set_charge_limit(*limit)));
    }
    if (path == "security") {
        if (!grant->has_scope("control_security")) {
            co_return finish(sc_error_response(permission_error(), request_id));
        }
        std::string a = action();
        if (a != "LOCK" && a != "UNLOCK") {
            co_return finish(
                sc_error_response(validation_error("\"action\" must be one of [LOCK, UNLOCK]"), request_id));
        }
        v.advance(now);
        co_return finish(command_result(v.lock(a == "LOCK")));
    }
    if (path == "navigation/destination") {
        if (!grant->has_scope("control_navigation")) {
            co_return finish(sc_error_response(permission_error(), request_id));
        }
        auto lat = number_of(o.if_contains("latitude"));
        auto lon = number_of(o.if_contains("longitude"));
        if (!lat || !lon || std::fabs(*lat) > 90 || std::fabs(*lon) > 180) {
            co_return finish(sc_error_response(
                validation_error("\"latitude\" and \"longitude\" must be valid coordinates"), request_id));
        }
        co_return finish(success());
    }
    if (path.rfind("webhooks/", 0) == 0 && path.size() > 9) {
        std::string webhook_id = path.substr(9);
        s->webhook_subscriptions.emplace(webhook_id, vehicle_id);
        s->touch();
        co_return finish(
            sc_response(json::object{{"webhookId", webhook_id}, {"vehicleId", vehicle_id}}, 200, request_id));
    }
    co_return finish(sc_error_response(not_found_error(), request_id));
}

net::awaitable<Response> unsubscribe_webhook(StatePtr s, Request req, std::string webhook_id) {
    const std::string request_id = request_id_for(*s);
    auto token = bearer(req);
    if (!token || !core::constant_time_equal(*token, s->options.management_token)) {
        co_return sc_error_response(authentication_error(), request_id);
    }
    std::lock_guard lock(s->mutex);
    s->webhook_subscriptions.erase({webhook_id, std::string(req.param("id"))});
    s->touch();
    s->record(req, req.param("id"), 200);
    co_return sc_response(json::object{{"status", "success"}}, 200, request_id);
}

// ---- v3 ----

Response v3_error(const ScError& e, const std::string& request_id) {
    json::object item{{"status", std::to_string(e.status)},
                      {"type", e.type},
                      {"code", e.code ? json::value(*e.code) : json::value(nullptr)},
                      {"title",
                       e.status == 401   ? "Unauthorized"
                       : e.status == 404 ? "Not Found"
                                         : "Error"},
                      {"detail", e.description},
                      {"links", json::object{{"about", error_body(e, request_id).at("docURL")}}},
                      {"resolution", json::object{{"type", e.resolution ? json::value(*e.resolution) : nullptr}}},
                      {"suggestedUserMessage", "Something went wrong. Please try again."}};
    Response r = sc_response(json::object{{"errors", json::array{std::move(item)}}}, e.status, request_id);
    if (e.status == 429) {
        r.header("Retry-After", std::to_string(std::max(1, e.retry_after)));
    }
    return r;
}

net::awaitable<Response> v3_request(StatePtr s, Request req, std::string rest) {
    const std::string vehicle_id(req.param("id"));
    const std::string request_id = request_id_for(*s);
    const std::int64_t now = s->now();
    std::lock_guard lock(s->mutex);
    auto grant = caller_grant(*s, req, now);
    if (!grant) {
        s->record(req, vehicle_id, 401);
        co_return v3_error(authentication_error(), request_id);
    }
    if (!grant->has_vehicle(vehicle_id) || !s->vehicles.contains(vehicle_id)) {
        s->record(req, vehicle_id, 403);
        co_return v3_error(permission_error(), request_id);
    }
    if (auto fault = s->take_fault(vehicle_id, now); fault && fault->kind != "slow") {
        ScError e = fault_error(*fault);
        s->record(req, vehicle_id, e.status);
        co_return v3_error(e, request_id);
    }
    VehicleModel& v = *s->vehicles.at(vehicle_id);
    const auto& spec = v.spec();
    json::object vehicle{{"id", spec.id},
                         {"type", "vehicle"},
                         {"attributes", json::object{{"make", spec.make}, {"model", spec.model}, {"year", spec.year}}},
                         {"links", json::object{{"self", "/vehicles/" + spec.id}}}};
    s->record(req, vehicle_id, 200);
    if (rest.empty()) {
        co_return sc_response(vehicle, 200, request_id);
    }
    auto to_resource = [&](json::value& signal) {
        auto& o = signal.as_object();
        std::string code(o.at("code").as_string());
        json::object attributes{{"code", code},
                                {"name", o.at("name")},
                                {"group", o.at("group")},
                                {"status", o.at("status")},
                                {"body", o.at("body")}};
        return json::object{{"id", code},
                            {"type", "signal"},
                            {"attributes", std::move(attributes)},
                            {"meta", o.at("meta")},
                            {"links",
                             json::object{{"self", "/vehicles/" + spec.id + "/signals/" + code},
                                          {"values", "/vehicles/" + spec.id + "/signals/" + code + "/values"}}}};
    };
    json::array all = s->signals(v, now);
    if (rest == "signals") {
        json::array data;
        for (auto& signal : all) {
            data.push_back(to_resource(signal));
        }
        const auto count = data.size();
        co_return sc_response(
            json::object{{"data", std::move(data)},
                         {"meta", json::object{{"page", 1}, {"pageSize", count}, {"totalCount", count}}},
                         {"links", json::object{{"self", "/vehicles/" + spec.id + "/signals"}}},
                         {"included", json::object{{"vehicle", vehicle}}}},
            200,
            request_id);
    }
    if (rest.rfind("signals/", 0) == 0) {
        std::string code = core::to_lower_ascii(rest.substr(8));
        for (auto& signal : all) {
            if (signal.as_object().at("code").as_string() == code) {
                co_return sc_response(to_resource(signal), 200, request_id);
            }
        }
    }
    co_return v3_error(not_found_error(), request_id);
}

// ---- user, vehicles, management ----

net::awaitable<Response> user_info(StatePtr s, Request req) {
    const std::string request_id = request_id_for(*s);
    std::lock_guard lock(s->mutex);
    auto grant = caller_grant(*s, req, s->now());
    s->record(req, "", grant ? 200 : 401);
    if (!grant) {
        co_return sc_error_response(authentication_error(), request_id);
    }
    co_return sc_response(json::object{{"id", grant->user_id}}, 200, request_id);
}

net::awaitable<Response> vehicle_list(StatePtr s, Request req) {
    const std::string request_id = request_id_for(*s);
    std::lock_guard lock(s->mutex);
    auto grant = caller_grant(*s, req, s->now());
    s->record(req, "", grant ? 200 : 401);
    if (!grant) {
        co_return sc_error_response(authentication_error(), request_id);
    }
    std::vector<core::FieldError> errors;
    auto limit = req.query_integer("limit", 10, 1, 50, errors);
    auto offset = req.query_integer("offset", 0, 0, 1'000'000, errors);
    if (!errors.empty()) {
        co_return sc_error_response(validation_error("\"limit\" must be 1 to 50 and \"offset\" at least 0"),
                                    request_id);
    }
    json::array ids;
    for (std::size_t i = static_cast<std::size_t>(offset);
         i < grant->vehicles.size() && ids.size() < static_cast<std::size_t>(limit);
         ++i) {
        ids.push_back(json::value(grant->vehicles[i]));
    }
    co_return sc_response(json::object{{"vehicles", std::move(ids)},
                                       {"paging", json::object{{"count", grant->vehicles.size()}, {"offset", offset}}}},
                          200,
                          request_id);
}

net::awaitable<Response> management_connections(StatePtr s, Request req) {
    const std::string request_id = request_id_for(*s);
    auto credentials = basic_credentials(req);
    if (!credentials || credentials->first != "default" ||
        !core::constant_time_equal(credentials->second, s->options.management_token)) {
        co_return sc_error_response(authentication_error(), request_id);
    }
    const auto user_id = req.query_param("user_id");
    const auto vehicle_id = req.query_param("vehicle_id");
    std::lock_guard lock(s->mutex);
    s->record(req, vehicle_id.value_or(""), 200);
    // Live (user, vehicle) pairs, newest grant last, each once.
    std::vector<std::tuple<std::string, std::string, std::int64_t>> pairs;
    std::set<std::shared_ptr<Grant>> seen;
    for (const auto& [t, access] : s->access_tokens) {
        if (access.grant->revoked || !seen.insert(access.grant).second) {
            continue;
        }
        for (const auto& v : access.grant->vehicles) {
            if ((!user_id || *user_id == access.grant->user_id) && (!vehicle_id || *vehicle_id == v)) {
                pairs.emplace_back(v, access.grant->user_id, access.grant->connected_at_ms);
            }
        }
    }
    std::sort(pairs.begin(), pairs.end());
    pairs.erase(std::unique(pairs.begin(),
                            pairs.end(),
                            [](const auto& a, const auto& b) {
                                return std::get<0>(a) == std::get<0>(b) && std::get<1>(a) == std::get<1>(b);
                            }),
                pairs.end());
    if (req.method == http::Method::Delete) {
        if (user_id.has_value() == vehicle_id.has_value()) {
            co_return sc_error_response(validation_error("Exactly one of user_id and vehicle_id is required."),
                                        request_id);
        }
        json::array removed;
        s->touch();
        for (const auto& grant : seen) {
            if (user_id && grant->user_id == *user_id) {
                grant->vehicles.clear();
            } else if (vehicle_id) {
                std::erase(grant->vehicles, *vehicle_id);
            }
        }
        for (const auto& [v, u, at] : pairs) {
            removed.push_back(json::object{{"vehicleId", v}, {"userId", u}});
        }
        co_return sc_response(json::object{{"connections", std::move(removed)}}, 200, request_id);
    }
    std::vector<core::FieldError> errors;
    auto limit = req.query_integer("limit", 10, 1, 100, errors);
    std::size_t start = 0;
    if (auto cursor = req.query_param("cursor")) {
        start = static_cast<std::size_t>(std::strtoull(cursor->c_str(), nullptr, 10));
    }
    json::array list;
    std::size_t i = start;
    for (; i < pairs.size() && list.size() < static_cast<std::size_t>(limit); ++i) {
        const auto& [v, u, at] = pairs[i];
        list.push_back(json::object{{"vehicleId", v}, {"userId", u}, {"connectedAt", core::format_rfc3339(at, true)}});
    }
    json::value next = i < pairs.size() ? json::value(std::to_string(i)) : json::value(nullptr);
    co_return sc_response(
        json::object{{"connections", std::move(list)}, {"paging", json::object{{"cursor", next}}}}, 200, request_id);
}

bool admin_allowed(const Simulator::State& s, const Request& req) {
    auto credentials = basic_credentials(req);
    return credentials && credentials->first == s.options.client_id &&
           core::constant_time_equal(credentials->second, s.options.client_secret);
}

}  // namespace

void Simulator::install(http::Router& router) {
    const std::string p = state_->options.prefix;
    StatePtr s = state_;
    // Smartcar's SDKs differ on trailing slashes (/v2.0/vehicles/ vs /v2.0/vehicles): both work.
    auto add = [&](http::Method method, const std::string& path, http::Handler handler) {
        router.add(method, p + path, handler);
        router.add(method, p + path + "/", std::move(handler));
    };
    add(http::Method::Get, "/oauth/authorize", [s](Request req) -> net::awaitable<Response> {
        co_return authorize_page(s, req);
    });
    add(http::Method::Post, "/oauth/token", [s](Request req) -> net::awaitable<Response> {
        Response r = token_endpoint(s, req);
        {
            // In the request log too: tests count token grants (one refresh across nodes).
            std::lock_guard lock(s->mutex);
            s->record(req, "", r.status);
        }
        co_return r;
    });
    add(http::Method::Post, "/oauth2/token", [s](Request req) -> net::awaitable<Response> {
        co_return iam_token_endpoint(s, req);
    });
    add(http::Method::Get, "/v2.0/user", [s](Request req) { return user_info(s, std::move(req)); });
    add(http::Method::Get, "/v2.0/vehicles", [s](Request req) { return vehicle_list(s, std::move(req)); });
    add(http::Method::Get, "/v2.0/vehicles/{id}", [s](Request req) { return vehicle_request(s, std::move(req), ""); });
    for (auto method : {http::Method::Get, http::Method::Post, http::Method::Delete}) {
        router.add(method, p + "/v2.0/vehicles/{id}/{path...}", [s](Request req) -> net::awaitable<Response> {
            std::string path = strip_slashes(req.param("path"));
            if (req.method == http::Method::Delete && path.rfind("webhooks/", 0) == 0) {
                return unsubscribe_webhook(s, std::move(req), path.substr(9));
            }
            return vehicle_request(s, std::move(req), std::move(path));
        });
    }
    for (auto method : {http::Method::Get, http::Method::Delete}) {
        add(method, "/v2.0/management/connections", [s](Request req) {
            return management_connections(s, std::move(req));
        });
    }
    add(http::Method::Get, "/v3/vehicles/{id}", [s](Request req) { return v3_request(s, std::move(req), ""); });
    router.add(http::Method::Get, p + "/v3/vehicles/{id}/{path...}", [s](Request req) {
        std::string rest = strip_slashes(req.param("path"));
        return v3_request(s, std::move(req), std::move(rest));
    });
    // Administration (Basic client_id:client_secret): faults and the request log.
    add(http::Method::Post, "/admin/faults", [this, s](Request req) -> net::awaitable<Response> {
        if (!admin_allowed(*s, req)) {
            throw core::ApiError::unauthorized("Basic client credentials required");
        }
        add_faults(core::parse_json(req.body));
        co_return Response::no_content();
    });
    add(http::Method::Delete, "/admin/faults", [this, s](Request req) -> net::awaitable<Response> {
        if (!admin_allowed(*s, req)) {
            throw core::ApiError::unauthorized("Basic client credentials required");
        }
        clear_faults();
        co_return Response::no_content();
    });
    add(http::Method::Get, "/admin/requests", [this, s](Request req) -> net::awaitable<Response> {
        if (!admin_allowed(*s, req)) {
            throw core::ApiError::unauthorized("Basic client credentials required");
        }
        json::array list;
        for (const auto& r : requests()) {
            list.push_back(json::object{{"at", core::format_rfc3339(r.at_ms, true)},
                                        {"method", r.method},
                                        {"path", r.path},
                                        {"vehicle_id", r.vehicle_id},
                                        {"status", r.status}});
        }
        co_return Response::json(json::object{{"items", std::move(list)}});
    });
    // Anything else below the prefix answers as Smartcar does for an unknown path.
    for (auto method : {http::Method::Get, http::Method::Post, http::Method::Delete}) {
        router.add(method, p + "/{rest...}", [s](Request) -> net::awaitable<Response> {
            co_return sc_error_response(not_found_error(), request_id_for(*s));
        });
    }
}

// ---- the webhook emitter ----

namespace {

std::size_t discard_body(char*, std::size_t size, std::size_t count, void*) {
    return size * count;
}

std::size_t keep_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* out = static_cast<std::string*>(user);
    if (out->size() < 64 * 1024) {
        out->append(data, size * count);
    }
    return size * count;
}

// POSTs a delivery as Smartcar does: compact JSON, its signature, a 15-second limit. The status
// (0 when unreachable) and, for VERIFY, the answer.
int post_delivery(const std::string& url, const std::string& body, const std::string& signature, std::string* answer) {
    static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
    (void)global;
    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
        return 0;
    }
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "User-Agent: Smartcar/4.0 (motorpool simulator)");
    headers = curl_slist_append(headers, ("SC-Signature: " + signature).c_str());
    std::string sink;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, answer != nullptr ? keep_body : discard_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer != nullptr ? answer : &sink);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 15L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    return static_cast<int>(status);
}

json::object delivery_meta(Simulator::State& s, std::int64_t now, std::size_t signal_count) {
    std::string delivery;
    {
        std::lock_guard lock(s.mutex);
        delivery = s.new_id();
    }
    json::object meta{{"version", "4.0"},
                      {"webhookId", s.options.webhook_id},
                      {"webhookName", s.options.webhook_name},
                      {"deliveryId", delivery},
                      {"deliveredAt", now}};
    if (signal_count > 0) {
        meta["signalCount"] = signal_count;
    }
    meta["mode"] = "TEST";
    return meta;
}

void emitter_loop(const std::shared_ptr<Simulator::State>& s) {
    using Attempt = Simulator::State::Attempt;
    const std::int64_t interval = s->options.webhook_interval.count();
    std::int64_t next_round = interval > 0 ? s->now() + interval : INT64_MAX;
    auto record = [&](DeliveryRecord r) {
        std::lock_guard lock(s->emit_mutex);
        s->deliveries.push_back(std::move(r));
        if (s->deliveries.size() > 10'000) {
            s->deliveries.pop_front();
        }
    };
    // VERIFY first: Smartcar activates a webhook only once its callback answers the challenge.
    {
        std::string challenge;
        std::string event_id;
        {
            std::lock_guard lock(s->mutex);
            challenge = s->new_id();
            event_id = s->new_id();
        }
        json::object meta = delivery_meta(*s, s->now(), 0);
        meta["deliveredAt"] = core::format_rfc3339(s->now(), true);  // VERIFY writes it as text (SMARTCAR.md 4.1)
        std::string body = core::to_json_text(json::object{{"eventId", event_id},
                                                           {"eventType", "VERIFY"},
                                                           {"data", json::object{{"challenge", challenge}}},
                                                           {"meta", std::move(meta)}});
        std::string answer;
        int status = post_delivery(
            s->callback_url, body, core::hex_encode(core::hmac_sha256(s->options.management_token, body)), &answer);
        boost::system::error_code ec;
        json::value parsed = json::parse(answer, ec);
        const std::string expected = core::hex_encode(core::hmac_sha256(s->options.management_token, challenge));
        const bool verified = !ec && parsed.is_object() && parsed.as_object().if_contains("challenge") &&
                              parsed.as_object().at("challenge") == json::value(expected);
        record({s->now(), event_id, "VERIFY", "", 1, status, verified});
    }
    while (true) {
        std::optional<Attempt> due;
        {
            std::unique_lock lock(s->emit_mutex);
            const std::int64_t now = s->now();
            std::int64_t wake_at = next_round;
            for (const auto& a : s->attempts) {
                wake_at = std::min(wake_at, a.due_ms);
            }
            if (wake_at > now && !s->emit_stop) {
                s->emit_wake.wait_for(lock, std::chrono::milliseconds(std::min<std::int64_t>(wake_at - now, 60'000)));
            }
            if (s->emit_stop) {
                return;
            }
            auto it = std::min_element(s->attempts.begin(), s->attempts.end(), [](const Attempt& a, const Attempt& b) {
                return a.due_ms < b.due_ms;
            });
            if (it != s->attempts.end() && it->due_ms <= s->now()) {
                due = std::move(*it);
                s->attempts.erase(it);
            }
        }
        if (!due) {
            if (s->now() >= next_round) {
                next_round = s->now() + interval;
                Simulator::emit_round(s);
            }
            continue;
        }
        const std::int64_t now = s->now();
        std::size_t count = 0;
        if (const auto* signals = due->data.if_contains("signals"); signals != nullptr && signals->is_array()) {
            count = signals->as_array().size();
        }
        json::array triggers;
        if (const auto* signals = due->data.if_contains("signals"); signals != nullptr && signals->is_array()) {
            for (const auto& sig : signals->as_array()) {
                triggers.push_back(json::object{
                    {"type", "SIGNAL_UPDATED"},
                    {"signal",
                     json::object{{"name", sig.at("name")}, {"code", sig.at("code")}, {"group", sig.at("group")}}}});
                break;  // one trigger: the poll-like update that produced the event
            }
        }
        std::string body = core::to_json_text(json::object{{"eventId", due->event_id},
                                                           {"eventType", "VEHICLE_STATE"},
                                                           {"data", due->data},
                                                           {"triggers", std::move(triggers)},
                                                           {"meta", delivery_meta(*s, now, count)}});
        int status = post_delivery(
            s->callback_url, body, core::hex_encode(core::hmac_sha256(s->options.management_token, body)), nullptr);
        const bool delivered = status >= 200 && status <= 299;
        record({now, due->event_id, "VEHICLE_STATE", due->vehicle_id, due->attempt, status, delivered});
        if (!delivered) {
            // Smartcar retries three times, 25, 50 and 100 s apart, then drops the event.
            if (due->attempt < 4) {
                const double wait_s = 25.0 * static_cast<double>(1 << (due->attempt - 1)) * s->options.retry_scale;
                due->due_ms = now + static_cast<std::int64_t>(wait_s * 1000);
                due->attempt += 1;
                std::lock_guard lock(s->emit_mutex);
                s->attempts.push_back(std::move(*due));
            }
        }
    }
}

}  // namespace

void Simulator::emit_round(const std::shared_ptr<State>& s) {
    std::vector<State::Attempt> round;
    {
        std::lock_guard lock(s->mutex);
        const std::int64_t now = s->now();
        for (const auto& [webhook, vehicle] : s->webhook_subscriptions) {
            auto it = s->vehicles.find(vehicle);
            if (webhook != s->options.webhook_id || it == s->vehicles.end()) {
                continue;
            }
            // Only vehicles some live grant still reaches.
            std::string user;
            for (const auto& [token, access] : s->access_tokens) {
                if (!access.grant->revoked && access.grant->has_vehicle(vehicle)) {
                    user = access.grant->user_id;
                }
            }
            if (user.empty()) {
                continue;
            }
            const auto& spec = it->second->spec();
            json::object data{
                {"user", json::object{{"id", user}}},
                {"vehicle",
                 json::object{{"id", spec.id}, {"make", spec.make}, {"model", spec.model}, {"year", spec.year}}},
                {"signals", s->signals(*it->second, now)}};
            round.push_back({now, 1, s->new_id(), vehicle, std::move(data)});
        }
    }
    {
        std::lock_guard lock(s->emit_mutex);
        for (auto& a : round) {
            s->attempts.push_back(std::move(a));
        }
    }
    s->emit_wake.notify_all();
}

void Simulator::start_emitter(const std::string& callback_url) {
    std::lock_guard lock(state_->emit_mutex);
    if (state_->emitter.joinable() || callback_url.empty()) {
        return;
    }
    state_->callback_url = callback_url;
    state_->emit_stop = false;
    state_->emitter = std::thread([s = state_] {
        core::name_this_thread("mp-sim-emitter");
        emitter_loop(s);
    });
}

void Simulator::stop_emitter() {
    {
        std::lock_guard lock(state_->emit_mutex);
        state_->emit_stop = true;
    }
    state_->emit_wake.notify_all();
    if (state_->emitter.joinable()) {
        state_->emitter.join();
    }
}

void Simulator::emit_now() {
    emit_round(state_);
}

std::vector<DeliveryRecord> Simulator::deliveries() const {
    std::lock_guard lock(state_->emit_mutex);
    return {state_->deliveries.begin(), state_->deliveries.end()};
}

}  // namespace motorpool::smartcar::sim
