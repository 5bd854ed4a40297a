// HTTP adapter for vehicle data: upload, latest values, history, convenience views, the catalog.

#include <algorithm>

#include <boost/json.hpp>

#include "core/errors.hpp"
#include "service.hpp"
#include "values.hpp"

namespace motorpool::telemetry {

namespace net = boost::asio;
namespace json = boost::json;
using core::ApiError;
using http::Method;
using http::Request;
using http::Response;

namespace {

constexpr std::size_t kUploadLimit = std::size_t{4} * 1024 * 1024;

http::RouteOptions authenticated(std::size_t body_limit = 16 * 1024) {
    return http::authenticated(body_limit);
}

using auth::actor_of;

// ?refresh=true|false (422 for anything else).
bool wants_refresh(const Request& req) {
    auto v = req.query_param("refresh");
    if (!v || *v == "false") {
        return false;
    }
    if (*v != "true") {
        throw ApiError::validation({{"refresh", "must be true or false"}});
    }
    return true;
}

json::value unit_json(const SignalInfo& s) {
    return s.unit.empty() ? json::value(nullptr) : json::value(s.unit);
}

json::object latest_json(const LatestValue& v) {
    return json::object{{"value", value_json(*v.signal, v.number, v.text)},
                        {"unit", unit_json(*v.signal)},
                        {"recorded_at", core::format_rfc3339(v.t_ms)},
                        {"source", source_name(v.source)}};
}

const LatestValue* pick(const std::map<int, LatestValue>& values, std::string_view code) {
    const SignalInfo* s = find_signal(code);
    auto it = s ? values.find(s->id) : values.end();
    return it == values.end() ? nullptr : &it->second;
}

json::value number_of(const LatestValue* v) {
    return v && v->number ? json::value(*v->number) : json::value(nullptr);
}
json::value bool_of(const LatestValue* v) {
    return v && v->number ? json::value(*v->number != 0) : json::value(nullptr);
}

// The newest time among the values a view shows (null when it shows none).
json::value newest(std::initializer_list<const LatestValue*> values) {
    std::int64_t t = -1;
    for (const auto* v : values) {
        if (v && v->t_ms > t) {
            t = v->t_ms;
        }
    }
    return t < 0 ? json::value(nullptr) : json::value(core::format_rfc3339(t));
}

// The source of the newest of `values` (a view's values may come from different sources).
json::value newest_source(std::initializer_list<const LatestValue*> values) {
    const LatestValue* newest_value = nullptr;
    for (const auto* v : values) {
        if (v && (newest_value == nullptr || v->t_ms > newest_value->t_ms)) {
            newest_value = v;
        }
    }
    return newest_value == nullptr ? json::value(nullptr) : json::value(source_name(newest_value->source));
}

// Convenience views over the latest values; each is null when the vehicle has none of its signals.
json::value location_view(const std::map<int, LatestValue>& m) {
    const LatestValue* loc = pick(m, "Location.PreciseLocation");
    if (!loc || !loc->text) {
        return nullptr;
    }
    json::value v = value_json(*loc->signal, loc->number, loc->text);
    if (!v.is_object()) {
        return nullptr;
    }
    json::object o = v.as_object();
    o["recorded_at"] = core::format_rfc3339(loc->t_ms);
    o["source"] = source_name(loc->source);
    return o;
}

json::value battery_view(const std::map<int, LatestValue>& m) {
    auto* soc = pick(m, "TractionBattery.StateOfCharge");
    auto* range = pick(m, "TractionBattery.Range");
    auto* capacity = pick(m, "TractionBattery.NominalCapacity");
    if (!soc && !range && !capacity) {
        return nullptr;
    }
    return json::object{{"soc_pct", number_of(soc)},
                        {"range_km", number_of(range)},
                        {"capacity_kwh", number_of(capacity)},
                        {"recorded_at", newest({soc, range, capacity})},
                        {"source", newest_source({soc, range, capacity})}};
}

json::value odometer_view(const std::map<int, LatestValue>& m) {
    auto* odo = pick(m, "Odometer.TraveledDistance");
    if (!odo) {
        return nullptr;
    }
    return json::object{
        {"distance_km", number_of(odo)}, {"recorded_at", newest({odo})}, {"source", source_name(odo->source)}};
}

json::value charge_view(const std::map<int, LatestValue>& m) {
    auto* charging = pick(m, "Charge.IsCharging");
    auto* plugged = pick(m, "Charge.IsChargingCableConnected");
    auto* state = pick(m, "Charge.DetailedChargingStatus");
    auto* power = pick(m, "Charge.Wattage");
    auto* added = pick(m, "Charge.EnergyAdded");
    auto* remaining = pick(m, "Charge.TimeToComplete");
    if (!charging && !plugged && !state && !power && !added && !remaining) {
        return nullptr;
    }
    return json::object{{"is_charging", bool_of(charging)},
                        {"is_plugged_in", bool_of(plugged)},
                        {"state", state && state->text ? json::value(*state->text) : json::value(nullptr)},
                        {"power_kw", number_of(power)},
                        {"energy_added_kwh", number_of(added)},
                        {"time_to_complete_min", number_of(remaining)},
                        {"recorded_at", newest({charging, plugged, state, power, added, remaining})},
                        {"source", newest_source({charging, plugged, state, power, added, remaining})}};
}

json::value charge_limits_view(const std::map<int, LatestValue>& m) {
    auto* limit = pick(m, "Charge.ChargeLimits");
    if (!limit) {
        return nullptr;
    }
    return json::object{
        {"limit_pct", number_of(limit)}, {"recorded_at", newest({limit})}, {"source", source_name(limit->source)}};
}

std::optional<std::int64_t> parse_time(const std::string& text) {
    // RFC 3339, or epoch milliseconds.
    if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos && text.size() <= 15) {
        return std::stoll(text);
    }
    return core::parse_rfc3339(text);
}

std::int64_t bucket_ms(std::string_view bucket) {
    if (bucket == "1m")
        return 60'000;
    if (bucket == "5m")
        return 300'000;
    if (bucket == "15m")
        return 900'000;
    if (bucket == "1h")
        return 3'600'000;
    if (bucket == "1d")
        return 86'400'000;
    return 0;
}

using View = json::value (*)(const std::map<int, LatestValue>&);

// One vehicle of the fleet view: who it is, a summary of what matters at a glance, and every
// latest value (as GET /vehicles/{id}/signals shows them).
json::object fleet_json(const FleetVehicle& v) {
    const auto& m = v.latest;
    const LatestValue* soc = pick(m, "TractionBattery.StateOfCharge");
    const LatestValue* location = pick(m, "Location.PreciseLocation");
    const LatestValue* status = pick(m, "Charge.DetailedChargingStatus");
    json::value position = location && location->text ? value_json(*location->signal, location->number, location->text)
                                                      : json::value(nullptr);
    std::int64_t newest_ms = -1;
    json::object signals;
    for (const auto& [id, value] : m) {
        signals[value.signal->code] = latest_json(value);
        newest_ms = std::max(newest_ms, value.t_ms);
    }
    auto coordinate = [&](const char* key) {
        return position.is_object() && position.as_object().contains(key) ? position.at(key) : json::value(nullptr);
    };
    json::object out{
        {"vehicle_id", v.public_id},
        {"vin", v.vin},
        {"make", v.make},
        {"model", v.model},
        {"owner_id", v.owner_public_id ? json::value(*v.owner_public_id) : json::value(nullptr)},
        {"recorded_at", newest_ms < 0 ? json::value(nullptr) : json::value(core::format_rfc3339(newest_ms))},
        {"soc_pct", number_of(soc)},
        {"range_km", number_of(pick(m, "TractionBattery.Range"))},
        {"charging_state", status && status->text ? json::value(*status->text) : json::value(nullptr)},
        {"is_charging", bool_of(pick(m, "Charge.IsCharging"))},
        {"is_plugged_in", bool_of(pick(m, "Charge.IsChargingCableConnected"))},
        {"latitude", coordinate("latitude")},
        {"longitude", coordinate("longitude")},
        {"odometer_km", number_of(pick(m, "Odometer.TraveledDistance"))},
        {"signals", std::move(signals)}};
    for (const auto& [name, value] : v.fields) {
        out[name] = value;
    }
    return out;
}

}  // namespace

void register_routes(http::Router& router,
                     const std::shared_ptr<TelemetryService>& svc,
                     std::shared_ptr<LiveRefresh> refresh) {
    // The fleet at a glance (staff): every vehicle's latest state, in the list shape of every list.
    router.add(
        Method::Get,
        "/api/v1/fleet/vehicles",
        [svc](Request req) -> net::awaitable<Response> {
            std::vector<core::FieldError> errors;
            const http::PageQuery q = http::read_page_query(req, errors, 50, 100);
            if (!errors.empty()) {
                throw ApiError::validation(std::move(errors));
            }
            auto job = [svc, actor = actor_of(req), q] { return svc->fleet(actor, q); };
            FleetPage page = co_await svc->database().workers().run(std::move(job));
            json::array items;
            for (const auto& v : page.items) {
                items.push_back(fleet_json(v));
            }
            co_return Response::json(http::page_json(std::move(items), q, page.total, page.next_after));
        },
        authenticated());
    router.add(
        Method::Get,
        "/api/v1/fleet/vehicles/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            auto job = [svc, actor = actor_of(req), key = std::string(req.param("id"))] {
                return svc->fleet_vehicle(actor, key);
            };
            FleetVehicle v = co_await svc->database().workers().run(std::move(job));
            co_return Response::json(fleet_json(v));
        },
        authenticated());

    router.add(
        Method::Get,
        "/api/v1/signals",
        [](Request) -> net::awaitable<Response> {
            json::array items;
            for (const auto& s : catalog()) {
                const bool ranged = s.type == ValueType::Number || s.type == ValueType::Boolean;
                items.push_back(json::object{{"code", s.code},
                                             {"group", s.group},
                                             {"name", s.name},
                                             {"unit", unit_json(s)},
                                             {"type", value_type_name(s.type)},
                                             {"description", s.description},
                                             {"min", ranged ? json::value(s.min) : json::value(nullptr)},
                                             {"max", ranged ? json::value(s.max) : json::value(nullptr)}});
            }
            co_return Response::json(json::object{{"items", std::move(items)}});
        },
        authenticated());

    router.add(
        Method::Post,
        "/api/v1/vehicles/{id}/telemetry",
        [svc](Request req) -> net::awaitable<Response> {
            req.require_json_content_type();
            // Authorisation, parsing and validation (up to 4 MiB of JSON) happen on a worker.
            auto prepare =
                [svc, actor = actor_of(req), key = std::string(req.param("id")), body = std::move(req.body)] {
                    vehicles::VehicleRef ref = svc->authorize(actor, key, true);
                    auto samples = parse_dongle_batch(body, ref.id, svc->now_ms());
                    return std::make_pair(ref.public_id, std::move(samples));
                };
            auto prepared = co_await svc->database().workers().run(std::move(prepare));
            auto op = svc->ingestor().ingest(std::move(prepared.first), std::move(prepared.second));
            IngestResult result = co_await std::move(op);
            co_return Response::json(json::object{{"accepted", result.accepted}, {"duplicates", result.duplicates}},
                                     202);
        },
        authenticated(kUploadLimit));

    router.add(
        Method::Get,
        "/api/v1/vehicles/{id}/signals",
        [svc](Request req) -> net::awaitable<Response> {
            auto job = [svc, actor = actor_of(req), key = std::string(req.param("id"))] {
                return svc->authorized_latest(actor, key).second;
            };
            auto values = co_await svc->database().workers().run(std::move(job));
            json::object signals;
            for (const auto& [id, v] : values) {
                signals[v.signal->code] = latest_json(v);
            }
            co_return Response::json(json::object{{"signals", std::move(signals)}});
        },
        authenticated());

    router.add(
        Method::Get,
        "/api/v1/vehicles/{id}/signals/{code}/history",
        [svc](Request req) -> net::awaitable<Response> {
            std::vector<core::FieldError> errors;
            HistoryQuery q;
            q.signal = find_signal(req.param("code"));
            if (q.signal == nullptr) {
                throw ApiError::not_found("Signal");
            }
            const std::int64_t now = svc->now_ms();
            q.to_ms = now;
            if (auto to = req.query_param("to")) {
                auto t = parse_time(*to);
                t ? void(q.to_ms = *t) : errors.push_back({"to", "must be an RFC 3339 time or epoch milliseconds"});
            }
            q.from_ms = q.to_ms - 86'400'000;
            if (auto from = req.query_param("from")) {
                auto t = parse_time(*from);
                t ? void(q.from_ms = *t) : errors.push_back({"from", "must be an RFC 3339 time or epoch milliseconds"});
            }
            if (errors.empty() && q.from_ms >= q.to_ms) {
                errors.push_back({"from", "must be before to"});
            }
            if (auto bucket = req.query_param("bucket")) {
                q.bucket_ms = bucket_ms(*bucket);
                if (q.bucket_ms == 0) {
                    errors.push_back({"bucket", "must be one of 1m, 5m, 15m, 1h, 1d"});
                }
            }
            if (auto agg = req.query_param("agg")) {
                if (*agg != "avg" && *agg != "min" && *agg != "max" && *agg != "last" && *agg != "count") {
                    errors.push_back({"agg", "must be one of avg, min, max, last, count"});
                } else if (!req.query_param("bucket")) {
                    errors.push_back({"agg", "needs a bucket"});
                } else {
                    q.agg = *agg;
                }
            } else if (q.bucket_ms != 0) {
                q.agg = q.signal->type == ValueType::Number ? "avg" : "last";
            }
            const bool numeric = q.signal->type == ValueType::Number || q.signal->type == ValueType::Boolean;
            if (!numeric && (q.agg == "avg" || q.agg == "min" || q.agg == "max")) {
                errors.push_back(
                    {"agg", std::string("must be last or count for a ") + value_type_name(q.signal->type) + " signal"});
            }
            q.limit = req.query_integer("limit", 1000, 1, 10'000, errors);
            if (!errors.empty()) {
                throw ApiError::validation(errors);
            }
            auto job = [svc, actor = actor_of(req), key = std::string(req.param("id")), q] {
                return svc->history(svc->authorize(actor, key, false).id, q);
            };
            auto points = co_await svc->database().workers().run(std::move(job));
            json::array out;
            out.reserve(points.size());
            for (const auto& p : points) {
                json::value value =
                    q.agg == "count" ? json::value(static_cast<std::int64_t>(p.number.value_or(0)))
                    : q.signal->type == ValueType::Boolean && q.agg != "avg" ? value_json(*q.signal, p.number, p.text)
                    : q.signal->type == ValueType::Boolean ? (p.number ? json::value(*p.number) : json::value(nullptr))
                                                           : value_json(*q.signal, p.number, p.text);
                out.push_back(json::object{{"time", core::format_rfc3339(p.t_ms)}, {"value", std::move(value)}});
            }
            static const std::map<std::int64_t, const char*> kBucketNames{
                {60'000, "1m"}, {300'000, "5m"}, {900'000, "15m"}, {3'600'000, "1h"}, {86'400'000, "1d"}};
            co_return Response::json(
                json::object{{"code", q.signal->code},
                             {"unit", unit_json(*q.signal)},
                             {"bucket", q.bucket_ms ? json::value(kBucketNames.at(q.bucket_ms)) : json::value(nullptr)},
                             {"agg", q.agg.empty() ? json::value(nullptr) : json::value(q.agg)},
                             {"from", core::format_rfc3339(q.from_ms)},
                             {"to", core::format_rfc3339(q.to_ms)},
                             {"points", std::move(out)}});
        },
        authenticated());

    static const std::pair<const char*, View> kViews[] = {
        {"location", location_view},
        {"battery", battery_view},
        {"odometer", odometer_view},
        {"charge", charge_view},
        {"charge-limits", charge_limits_view},
    };
    // A live refresh waits for the live source on its own threads (LiveRefresh::threads).
    auto threads_for = [svc, refresh](bool live) -> core::WorkerPool& {
        return live && refresh->fetch && refresh->threads != nullptr ? *refresh->threads : svc->database().workers();
    };
    for (const auto& entry : kViews) {
        const std::string what = entry.first;
        const auto view = entry.second;  // a variable the handler captures (not a structured binding: clang 14)
        router.add(
            Method::Get,
            std::string("/api/v1/vehicles/{id}/") + what,
            [svc, view, what, refresh, threads_for](Request req) -> net::awaitable<Response> {
                const bool live = wants_refresh(req);
                auto job = [svc, refresh, live, actor = actor_of(req), key = std::string(req.param("id"))] {
                    if (!live || !refresh->fetch) {
                        return svc->authorized_latest(actor, key).second;
                    }
                    auto ref = svc->authorize(actor, key, false);
                    refresh->fetch(ref.id);  // a vehicle no live source reaches shows its stored data
                    return svc->latest(ref.id);
                };
                auto values = co_await threads_for(live).run(std::move(job));
                json::value body = view(values);
                if (body.is_null()) {
                    throw ApiError(404, "Not Found", "No " + what + " data recorded for this vehicle yet");
                }
                co_return Response::json(body);
            },
            authenticated());
    }

    router.add(
        Method::Get,
        "/api/v1/vehicles/{id}/all",
        [svc, refresh, threads_for](Request req) -> net::awaitable<Response> {
            const bool live = wants_refresh(req);
            auto job = [svc, refresh, live, actor = actor_of(req), key = std::string(req.param("id"))] {
                if (!live || !refresh->fetch) {
                    return svc->authorized_latest(actor, key);
                }
                auto ref = svc->authorize(actor, key, false);
                refresh->fetch(ref.id);
                return std::make_pair(ref, svc->latest(ref.id));
            };
            auto [ref, values] = co_await threads_for(live).run(std::move(job));
            co_return Response::json(json::object{{"vehicle_id", ref.public_id},
                                                  {"location", location_view(values)},
                                                  {"battery", battery_view(values)},
                                                  {"odometer", odometer_view(values)},
                                                  {"charge", charge_view(values)},
                                                  {"charge_limits", charge_limits_view(values)}});
        },
        authenticated());

    router.add(
        Method::Get,
        "/api/v1/me/telemetry/latest",
        [svc, refresh, threads_for](Request req) -> net::awaitable<Response> {
            // Stored values older than this are refreshed from the live source (Smartcar) first,
            // as API.md says: a Smartcar failure then answers 502 (429 when it asked to wait).
            // ?refresh=false answers the stored values as they are.
            constexpr std::int64_t kStaleAfterMs = 5 * 60 * 1000;
            bool refresh_stale = true;
            if (auto flag = req.query_param("refresh")) {
                if (*flag != "true" && *flag != "false") {
                    throw ApiError::validation({{"refresh", "must be true or false"}});
                }
                refresh_stale = *flag == "true";
            }
            auto job = [svc, actor = actor_of(req)] { return svc->first_with_data(actor); };
            auto found = co_await svc->database().workers().run(std::move(job));
            if (found && refresh_stale && refresh->fetch) {
                std::int64_t newest = 0;
                for (const auto& [id, v] : found->second) {
                    newest = std::max(newest, v.t_ms);
                }
                if (newest < svc->now_ms() - kStaleAfterMs) {
                    auto live = [svc, refresh, vehicle = found->first.id] {
                        return refresh->fetch(vehicle) ? std::optional(svc->latest(vehicle)) : std::nullopt;
                    };
                    if (auto fresh = co_await threads_for(true).run(std::move(live))) {
                        found->second = std::move(*fresh);
                    }
                }
            }
            if (!found) {
                throw ApiError(404, "Not Found", "None of your vehicles has reported data yet");
            }
            const auto& values = found->second;
            auto* soc = pick(values, "TractionBattery.StateOfCharge");
            auto* state = pick(values, "Charge.DetailedChargingStatus");
            auto* loc = pick(values, "Location.PreciseLocation");
            json::value location = loc ? value_json(*loc->signal, loc->number, loc->text) : json::value(nullptr);
            const json::object* l = location.if_object();
            std::int64_t t = 0;
            for (const auto& [id, v] : values) {
                t = std::max(t, v.t_ms);
            }
            co_return Response::json(json::object{
                {"vehicle_id", found->first.public_id},
                {"recorded_at", core::format_rfc3339(t)},
                {"soc_pct", number_of(soc)},
                {"charging_state", state && state->text ? json::value(*state->text) : json::value(nullptr)},
                {"latitude", l && l->contains("latitude") ? l->at("latitude") : json::value(nullptr)},
                {"longitude", l && l->contains("longitude") ? l->at("longitude") : json::value(nullptr)}});
        },
        authenticated());
}

std::shared_ptr<Ingestor> install(http::Router& router,
                                  db::Database& database,
                                  core::EventBus& bus,
                                  core::MetricsRegistry* metrics,
                                  std::shared_ptr<core::Clock> clock,
                                  std::shared_ptr<LiveRefresh> refresh,
                                  std::shared_ptr<FleetFields> fleet_fields) {
    if (!clock) {
        clock = std::make_shared<core::SystemClock>();
    }
    auto ingestor = std::make_shared<Ingestor>(database, &bus, metrics, clock);
    auto service = std::make_shared<TelemetryService>(
        database, ingestor, std::move(clock), fleet_fields ? std::move(fleet_fields) : std::make_shared<FleetFields>());
    register_routes(router, service, refresh ? std::move(refresh) : std::make_shared<LiveRefresh>());
    return ingestor;
}

}  // namespace motorpool::telemetry
