// The charging module's REST routes: sites, grid clusters and chargers (staff manage, fleet managers
// and support read).

#include "routes.hpp"

#include <filesystem>

#include <boost/json.hpp>

#include "auth/auth.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "core/time_zone.hpp"
#include "http/paging.hpp"
#include "ocpp/central_system.hpp"
#include "pricing.hpp"
#include "route_helpers.hpp"
#include "store.hpp"

namespace motorpool::charging {

namespace net = boost::asio;
namespace json = boost::json;
using core::ApiError;
using core::FieldReader;
using core::Presence;
using http::Method;
using http::Request;
using http::Response;

namespace {

void require_staff_read(const Request& req) {
    auth::require_role(req, {auth::Role::Admin, auth::Role::Support, auth::Role::FleetManager});
}

void require_admin(const Request& req) {
    auth::require_role(req, {auth::Role::Admin});
}

json::object site_json(const store::Site& s) {
    return {{"id", s.public_id},
            {"name", s.name},
            {"address", opt_json(s.address)},
            {"latitude", opt_json(s.latitude)},
            {"longitude", opt_json(s.longitude)},
            {"time_zone", s.time_zone},
            {"created_at", core::format_rfc3339(s.created_at_ms)}};
}

json::value plan_value(const std::optional<std::string>& text) {
    if (!text) {
        return nullptr;
    }
    boost::system::error_code ec;
    json::value v = json::parse(*text, ec);
    return ec ? json::value(nullptr) : v;
}

json::object cluster_json(const store::Cluster& g) {
    const double load = g.base_load_kw + g.charging_kw;
    double limit = g.capacity_kw;
    if (g.peak_shaving_target_kw && *g.peak_shaving_target_kw < limit) {
        limit = *g.peak_shaving_target_kw;
    }
    boost::system::error_code ec;
    json::value schedule = json::parse(g.capacity_schedule, ec);
    return {{"id", g.public_id},
            {"site_id", opt_json(g.site_public_id)},
            {"name", g.name},
            {"capacity_kw", g.capacity_kw},
            {"peak_shaving_target_kw", opt_json(g.peak_shaving_target_kw)},
            {"base_load_kw", g.base_load_kw},
            {"capacity_schedule", ec ? json::value(json::array{}) : schedule},
            {"chargers", g.chargers},
            {"active_sessions", g.active_sessions},
            {"current_load_kw", load},
            {"headroom_kw", limit - load},
            {"tariff", tariff_from_text(g.tariff) ? tariff_json(*tariff_from_text(g.tariff)) : json::value(nullptr)},
            {"allocation", plan_value(g.plan)},
            {"created_at", core::format_rfc3339(g.created_at_ms)},
            {"updated_at", core::format_rfc3339(g.updated_at_ms)}};
}

json::object charger_json(const Charger& ch) {
    json::array connectors;
    for (const auto& k : ch.connectors) {
        connectors.push_back(json::object{{"connector_id", k.connector_id},
                                          {"max_power_kw", k.max_power_kw},
                                          {"phases", k.phases},
                                          {"voltage_v", k.voltage_v},
                                          {"status", k.status},
                                          {"error_code", k.error_code},
                                          {"info", opt_json(k.info)},
                                          {"vendor_error_code", opt_json(k.vendor_error_code)},
                                          {"status_at", time_json(k.status_at_ms)}});
    }
    return {{"id", ch.identity},
            {"cluster_id", opt_json(ch.cluster_public_id)},
            {"max_power_kw", ch.max_power_kw},
            {"security_profile", ch.security_profile},
            {"registration_status", ch.registration_status},
            {"heartbeat_interval_s", ch.heartbeat_interval_s},
            {"vendor", opt_json(ch.vendor)},
            {"model", opt_json(ch.model)},
            {"serial_number", opt_json(ch.serial_number)},
            {"firmware_version", opt_json(ch.firmware_version)},
            {"online", ch.online},
            {"last_seen_at", time_json(ch.last_seen_at_ms)},
            {"last_boot_at", time_json(ch.last_boot_at_ms)},
            {"connectors", std::move(connectors)},
            {"created_at", core::format_rfc3339(ch.created_at_ms)}};
}

/// An IANA zone name with a zone file (tzdata); "UTC" always.
bool valid_time_zone(const std::string& name) {
    if (name == "UTC") {
        return true;
    }
    if (name.empty() || name.size() > 64 || name.front() == '/' || name.find("..") != std::string::npos) {
        return false;
    }
    for (char c : name) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+')) {
            return false;
        }
    }
    std::error_code ec;
    return std::filesystem::is_regular_file("/usr/share/zoneinfo/" + name, ec);
}

/// "HH:MM" 00:00..24:00 as minutes of the day, or -1.
int minutes_of(const std::string& text) {
    if (text.size() != 5 || text[2] != ':' || !std::isdigit(static_cast<unsigned char>(text[0])) ||
        !std::isdigit(static_cast<unsigned char>(text[1])) || !std::isdigit(static_cast<unsigned char>(text[3])) ||
        !std::isdigit(static_cast<unsigned char>(text[4]))) {
        return -1;
    }
    int h = (text[0] - '0') * 10 + (text[1] - '0');
    int m = (text[3] - '0') * 10 + (text[4] - '0');
    if (m > 59 || h > 24 || (h == 24 && m != 0)) {
        return -1;
    }
    return h * 60 + m;
}

/// A capacity schedule: [{"from":"HH:MM","to":"HH:MM","capacity_kw":x}], windows of site-local
/// time that do not overlap; outside them the cluster's capacity applies. Canonical JSON text.
std::string read_schedule(FieldReader& r, double capacity_kw) {
    const json::value* v = r.value("capacity_schedule", Presence::Optional);
    if (v == nullptr) {
        return "[]";
    }
    if (!v->is_array() || v->as_array().size() > 48) {
        r.fail("capacity_schedule", "must be an array of at most 48 windows");
        return "[]";
    }
    json::array out;
    std::vector<std::pair<int, int>> windows;
    std::size_t i = 0;
    for (const auto& item : v->as_array()) {
        const std::string at = "capacity_schedule[" + std::to_string(i++) + "]";
        if (!item.is_object()) {
            r.fail(at, "must be an object {from, to, capacity_kw}");
            continue;
        }
        FieldReader w(item.as_object(), at);
        auto from = w.string("from", Presence::Required, 5, 5);
        auto to = w.string("to", Presence::Required, 5, 5);
        auto kw = w.number("capacity_kw", Presence::Required, 0, capacity_kw);
        int a = from ? minutes_of(*from) : -1;
        int b = to ? minutes_of(*to) : -1;
        if (from && a < 0) {
            w.fail("from", "must be a time HH:MM");
        }
        if (to && b < 0) {
            w.fail("to", "must be a time HH:MM");
        }
        if (a >= 0 && b >= 0 && b <= a) {
            w.fail("to", "must be after from (split a window across midnight in two)");
        }
        std::vector<core::FieldError> errors;
        w.finish_into(errors, 20);
        for (auto& e : errors) {
            r.fail(e.field, e.message);
        }
        if (errors.empty()) {
            for (const auto& [x, y] : windows) {
                if (a < y && x < b) {
                    r.fail(at, "overlaps another window");
                }
            }
            windows.emplace_back(a, b);
            out.push_back(json::object{{"from", *from}, {"to", *to}, {"capacity_kw", *kw}});
        }
    }
    return core::to_json_text(out);
}

/// An OCPP identity: 1 to 48 printable ASCII characters (inner spaces allowed: OCPP-J's example is
/// "RDAM 123"), no ':' (Basic auth's separator) and no '/' (the path segment it arrives in).
bool valid_identity(const std::string& id) {
    if (id.empty() || id.size() > 48 || id.front() == ' ' || id.back() == ' ') {
        return false;
    }
    for (char c : id) {
        if (c < 0x20 || c >= 0x7f || c == ':' || c == '/' || c == '?' || c == '#' || c == '%') {
            return false;
        }
    }
    return true;
}

json::object session_json(const Session& s) {
    return {{"id", s.public_id},
            {"transaction_id", s.transaction_id},
            {"charger_id", s.charger_identity},
            {"connector_id", s.connector_id},
            {"id_tag", s.id_tag},
            {"user_id", opt_json(s.user_public_id)},
            {"vehicle_id", opt_json(s.vehicle_public_id)},
            {"meter_start_wh", s.meter_start_wh},
            {"meter_stop_wh", opt_json(s.meter_stop_wh)},
            {"started_at", core::format_rfc3339(s.started_at_ms)},
            {"stopped_at", time_json(s.stopped_at_ms)},
            {"stop_reason", opt_json(s.stop_reason)},
            {"energy_wh", opt_json(s.energy_wh)},
            {"status", s.stopped_at_ms ? "completed" : "active"}};
}

/// The OCPP 1.6 messages a central system sends a charger (the admin commands).
bool is_central_system_action(std::string_view action) {
    for (std::string_view a : {"CancelReservation",
                               "ChangeAvailability",
                               "ChangeConfiguration",
                               "ClearCache",
                               "ClearChargingProfile",
                               "DataTransfer",
                               "GetCompositeSchedule",
                               "GetConfiguration",
                               "GetDiagnostics",
                               "GetLocalListVersion",
                               "RemoteStartTransaction",
                               "RemoteStopTransaction",
                               "ReserveNow",
                               "Reset",
                               "SendLocalList",
                               "SetChargingProfile",
                               "TriggerMessage",
                               "UnlockConnector",
                               "UpdateFirmware"}) {
        if (action == a) {
            return true;
        }
    }
    return false;
}

/// A charger's password (the OCPP AuthorizationKey): 20 characters, 120 random bits.
std::string new_password() {
    std::string raw = core::base64url_encode(core::random_bytes(15));  // 20 characters
    return raw;
}

}  // namespace

void install_rest_routes(http::Router& router, const std::shared_ptr<Services>& svc) {
    // ---- sites ----
    router.add(
        Method::Post,
        "/api/v1/grid/sites",
        [svc](Request req) -> net::awaitable<Response> {
            require_admin(req);
            auto body = req.json_object();
            FieldReader r(body);
            store::Site site;
            site.name = r.string("name", Presence::Required, 1, 120).value_or("");
            site.address = r.string("address", Presence::Optional, 1, 300);
            site.latitude = r.number("latitude", Presence::Optional, -90, 90);
            site.longitude = r.number("longitude", Presence::Optional, -180, 180);
            site.time_zone = r.string("time_zone", Presence::Required, 1, 64).value_or("UTC");
            if (site.latitude.has_value() != site.longitude.has_value()) {
                r.fail("longitude", "latitude and longitude come together");
            }
            r.finish();
            site.created_at_ms = svc->clock->now_ms();
            auto job = [svc, site] {
                // The zone file is looked up here, on a worker: a file-system call stays off the I/O thread.
                if (!valid_time_zone(site.time_zone)) {
                    throw ApiError::validation({{"time_zone", "must be an IANA time zone name such as Europe/Berlin"}});
                }
                return svc->database.with_transaction([&](db::Connection& c) { return store::insert_site(c, site); });
            };
            store::Site created = co_await svc->database.workers().run(std::move(job));
            Response response = Response::json(site_json(created), 201);
            response.header("Location", "/api/v1/grid/sites/" + created.public_id);
            co_return response;
        },
        authenticated());
    router.add(
        Method::Get,
        "/api/v1/grid/sites",
        [svc](Request req) -> net::awaitable<Response> {
            require_staff_read(req);
            auto job = [svc] {
                return svc->database.with_reader([](db::Connection& c) { return store::list_sites(c); });
            };
            auto sites = co_await svc->database.workers().run(std::move(job));
            json::array items;
            for (const auto& s : sites) {
                items.push_back(site_json(s));
            }
            http::PageQuery all;
            all.page_size = static_cast<std::int64_t>(std::max<std::size_t>(1, items.size()));
            auto total = static_cast<std::int64_t>(items.size());
            co_return Response::json(http::page_json(std::move(items), all, total));
        },
        authenticated());

    // ---- grid clusters ----
    router.add(
        Method::Post,
        "/api/v1/grid/clusters",
        [svc](Request req) -> net::awaitable<Response> {
            require_admin(req);
            auto body = req.json_object();
            FieldReader r(body);
            store::Cluster g;
            g.name = r.string("name", Presence::Required, 1, 120).value_or("");
            g.capacity_kw = r.number("capacity_kw", Presence::Required, 0.1, 1'000'000).value_or(1);
            g.peak_shaving_target_kw = r.number("peak_shaving_target_kw", Presence::Optional, 0.1, 1'000'000);
            g.base_load_kw = r.number("base_load_kw", Presence::Optional, 0, 1'000'000).value_or(0);
            if (g.peak_shaving_target_kw && *g.peak_shaving_target_kw > g.capacity_kw) {
                r.fail("peak_shaving_target_kw", "must not exceed capacity_kw");
            }
            if (g.base_load_kw >= g.capacity_kw) {
                r.fail("base_load_kw", "must be below capacity_kw");
            }
            g.capacity_schedule = read_schedule(r, g.capacity_kw);
            auto site = r.string("site_id", Presence::Optional, 1, 64);
            r.finish();
            g.created_at_ms = svc->clock->now_ms();
            auto job = [svc, g, site] {
                return svc->database.with_transaction([&](db::Connection& c) {
                    std::optional<std::int64_t> site_id;
                    if (site) {
                        auto found = store::find_site(c, *site);
                        if (!found) {
                            throw ApiError::validation({{"site_id", "is not a site"}});
                        }
                        site_id = found->id;
                    }
                    return store::insert_cluster(c, g, site_id);
                });
            };
            store::Cluster created = co_await svc->database.workers().run(std::move(job));
            Response response = Response::json(cluster_json(created), 201);
            response.header("Location", "/api/v1/grid/clusters/" + created.public_id);
            co_return response;
        },
        authenticated());
    router.add(
        Method::Get,
        "/api/v1/grid/clusters",
        [svc](Request req) -> net::awaitable<Response> {
            require_staff_read(req);
            const http::PageQuery q = read_offset_page(req);
            auto job = [svc, q] {
                return svc->database.with_reader([&](db::Connection& c) {
                    return std::make_pair(store::list_clusters(c, q.offset(), q.page_size), store::count_clusters(c));
                });
            };
            auto [clusters, total] = co_await svc->database.workers().run(std::move(job));
            json::array items;
            for (const auto& g : clusters) {
                items.push_back(cluster_json(g));
            }
            co_return Response::json(http::page_json(std::move(items), q, total));
        },
        authenticated());
    router.add(
        Method::Get,
        "/api/v1/grid/clusters/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            require_staff_read(req);
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, now, id = std::string(req.param("id"))] {
                return svc->database.with_reader([&](db::Connection& c) -> std::optional<json::object> {
                    auto found = store::find_cluster(c, id);
                    if (!found) {
                        return std::nullopt;
                    }
                    json::object out = cluster_json(*found);
                    // Today in the site's time zone: its peak; the requests waiting for their car.
                    const auto zone = core::TimeZone::load(found->time_zone).value_or(core::TimeZone::utc());
                    const core::LocalTime t = zone.local(now);
                    const std::int64_t midnight = zone.instant(t.year, t.month, t.day, 0, 0);
                    out["peak_today_kw"] = store::peak_load(c, found->id, midnight, now + 1);
                    out["queued_requests"] = store::queued_requests(c, found->id);
                    if (auto tariff = tariff_from_text(found->tariff)) {
                        const double limit = found->capacity_kw;
                        const double share = limit > 0 ? (found->base_load_kw + found->charging_kw) / limit : 1.0;
                        out["price_now"] = price_at(*tariff, zone, now, share);
                    } else {
                        out["price_now"] = nullptr;
                    }
                    return out;
                });
            };
            auto found = co_await svc->database.workers().run(std::move(job));
            if (!found) {
                throw ApiError::not_found("Grid cluster");
            }
            co_return Response::json(*found);
        },
        authenticated());

    router.add(
        Method::Patch,
        "/api/v1/grid/clusters/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            require_admin(req);
            auto body = req.json_object();
            FieldReader r(body);
            store::ClusterPatch patch;
            patch.name = r.string("name", Presence::Optional, 1, 120);
            patch.capacity_kw = r.number("capacity_kw", Presence::Optional, 0.1, 1'000'000);
            if (const auto* v = body.if_contains("peak_shaving_target_kw"); v != nullptr && v->is_null()) {
                (void)r.value("peak_shaving_target_kw", Presence::Optional);
                patch.peak_shaving_target_kw = std::optional<double>();
            } else if (auto target = r.number("peak_shaving_target_kw", Presence::Optional, 0.1, 1'000'000)) {
                patch.peak_shaving_target_kw = target;
            }
            patch.base_load_kw = r.number("base_load_kw", Presence::Optional, 0, 1'000'000);
            if (body.contains("capacity_schedule")) {
                patch.capacity_schedule = read_schedule(r, patch.capacity_kw.value_or(1'000'000));
            }
            if (const auto* v = body.if_contains("tariff")) {
                (void)r.value("tariff", Presence::Optional);
                if (v->is_null()) {
                    patch.tariff = std::optional<std::string>();
                } else {
                    std::vector<core::FieldError> errors;
                    if (auto tariff = read_tariff(*v, "tariff", errors)) {
                        patch.tariff = tariff_text(*tariff);
                    }
                    for (auto& e : errors) {
                        r.fail(e.field, e.message);
                    }
                }
            }
            r.finish();
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, patch, now, id = std::string(req.param("id"))] {
                return svc->database.with_transaction([&](db::Connection& c) {
                    auto found = store::find_cluster(c, id);
                    if (!found) {
                        throw ApiError::not_found("Grid cluster");
                    }
                    // The result must hold together: checked against the values it keeps.
                    const double capacity = patch.capacity_kw.value_or(found->capacity_kw);
                    const auto target =
                        patch.peak_shaving_target_kw ? *patch.peak_shaving_target_kw : found->peak_shaving_target_kw;
                    const double base = patch.base_load_kw.value_or(found->base_load_kw);
                    std::vector<core::FieldError> errors;
                    if (target && *target > capacity) {
                        errors.push_back({"peak_shaving_target_kw", "must not exceed capacity_kw"});
                    }
                    if (base >= capacity) {
                        errors.push_back({"base_load_kw", "must be below capacity_kw"});
                    }
                    const std::string& schedule = patch.capacity_schedule.value_or(found->capacity_schedule);
                    boost::system::error_code ec;
                    json::value windows = json::parse(schedule, ec);
                    if (!ec && windows.is_array()) {
                        for (const auto& w : windows.as_array()) {
                            if (w.at("capacity_kw").to_number<double>() > capacity) {
                                errors.push_back(
                                    {"capacity_schedule", "a window's capacity_kw must not exceed capacity_kw"});
                                break;
                            }
                        }
                    }
                    if (!errors.empty()) {
                        throw ApiError::validation(std::move(errors));
                    }
                    store::update_cluster(c, found->id, patch, now);
                    return *store::find_cluster(c, id);
                });
            };
            store::Cluster updated = co_await svc->database.workers().run(std::move(job));
            svc->replan_soon();  // a capacity or tariff change re-plans the cluster
            co_return Response::json(cluster_json(updated));
        },
        authenticated());

    router.add(
        Method::Get,
        "/api/v1/grid/clusters/{id}/price",
        [svc](Request req) -> net::awaitable<Response> {
            (void)req.require_principal();
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, id = std::string(req.param("id"))] {
                return svc->database.with_reader([&](db::Connection& c) { return store::find_cluster(c, id); });
            };
            auto found = co_await svc->database.workers().run(std::move(job));
            if (!found) {
                throw ApiError::not_found("Grid cluster");
            }
            auto tariff = tariff_from_text(found->tariff);
            if (!tariff) {
                throw ApiError(404, "Not Found", "The grid cluster has no tariff", "urn:motorpool:problem:no_tariff");
            }
            const auto zone = core::TimeZone::load(found->time_zone).value_or(core::TimeZone::utc());
            double limit = found->capacity_kw;
            if (found->peak_shaving_target_kw) {
                limit = std::min(limit, *found->peak_shaving_target_kw);
            }
            const double load = found->base_load_kw + found->charging_kw;
            const double share = limit > 0 ? load / limit : 1.0;
            const double now_price = price_at(*tariff, zone, now, share);
            const double tou = price_at(*tariff, zone, now, 0);
            json::array forecast;
            for (const auto& p : price_forecast(*tariff, zone, now, 24)) {
                forecast.push_back(json::object{{"from", core::format_rfc3339(p.from_ms)},
                                                {"to", core::format_rfc3339(p.to_ms)},
                                                {"price_per_kwh", p.price_per_kwh}});
            }
            co_return Response::json(json::object{{"cluster_id", found->public_id},
                                                  {"currency", tariff->currency},
                                                  {"time_zone", zone.name()},
                                                  {"at", core::format_rfc3339(now)},
                                                  {"price_per_kwh", now_price},
                                                  {"time_of_use_per_kwh", tou},
                                                  {"congestion_per_kwh", now_price - tou},
                                                  {"load_kw", load},
                                                  {"load_share_pct", std::round(share * 1000) / 10},
                                                  {"congestion_threshold_pct", tariff->congestion_threshold_pct},
                                                  {"forecast", std::move(forecast)}});
        },
        authenticated());

    // ---- chargers ----
    router.add(
        Method::Post,
        "/api/v1/chargers",
        [svc](Request req) -> net::awaitable<Response> {
            require_admin(req);
            auto body = req.json_object();
            FieldReader r(body);
            store::NewCharger ch;
            ch.identity = r.string("id", Presence::Required, 1, 48).value_or("");
            if (!ch.identity.empty() && !valid_identity(ch.identity)) {
                r.fail("id", "must be printable ASCII without ':', '/', '?', '#', '%' or outer spaces");
            }
            auto cluster = r.string("cluster_id", Presence::Optional, 1, 64);
            ch.max_power_kw = r.number("max_power_kw", Presence::Required, 0.1, 1000).value_or(1);
            ch.security_profile = static_cast<int>(r.integer("security_profile", Presence::Optional, 0, 1).value_or(1));
            const json::value* connectors = r.value("connectors", Presence::Required);
            if (connectors != nullptr && connectors->is_int64()) {
                const std::int64_t n = connectors->as_int64();
                if (n < 1 || n > 16) {
                    r.fail("connectors", "must be 1 to 16, or a list of connectors");
                }
                for (int i = 1; i <= n && n <= 16; ++i) {
                    Connector c;
                    c.connector_id = i;
                    c.max_power_kw = ch.max_power_kw;
                    ch.connectors.push_back(c);
                }
            } else if (connectors != nullptr && connectors->is_array()) {
                const auto& list = connectors->as_array();
                if (list.empty() || list.size() > 16) {
                    r.fail("connectors", "must list 1 to 16 connectors");
                }
                std::vector<core::FieldError> errors;
                int next = 1;
                for (std::size_t i = 0; i < list.size() && i < 16; ++i) {
                    const std::string at = "connectors[" + std::to_string(i) + "]";
                    if (!list[i].is_object()) {
                        errors.push_back({at, "must be an object"});
                        continue;
                    }
                    FieldReader k(list[i].as_object(), at);
                    Connector c;
                    c.connector_id =
                        static_cast<int>(k.integer("connector_id", Presence::Optional, 1, 16).value_or(next));
                    c.max_power_kw = k.number("max_power_kw", Presence::Optional, 0.1, 1000).value_or(ch.max_power_kw);
                    c.phases = static_cast<int>(k.integer("phases", Presence::Optional, 1, 3).value_or(3));
                    c.voltage_v = k.number("voltage_v", Presence::Optional, 100, 1000).value_or(230);
                    if (c.max_power_kw > ch.max_power_kw) {
                        k.fail("max_power_kw", "must not exceed the charger's max_power_kw");
                    }
                    for (const auto& other : ch.connectors) {
                        if (other.connector_id == c.connector_id) {
                            k.fail("connector_id", "is listed twice");
                        }
                    }
                    k.finish_into(errors, 20);
                    next = c.connector_id + 1;
                    ch.connectors.push_back(c);
                }
                for (auto& e : errors) {
                    r.fail(e.field, e.message);
                }
            } else if (connectors != nullptr) {
                r.fail("connectors", "must be a number of connectors or a list of connectors");
            }
            r.finish();
            std::string password;
            if (ch.security_profile == 1) {
                password = new_password();
                ch.password_salt = core::hex_encode(core::random_bytes(16));
                ch.password_hash = store::password_hash(*ch.password_salt, password);
            }
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, ch, cluster, now]() mutable {
                return svc->database.with_transaction([&](db::Connection& c) {
                    if (cluster) {
                        ch.cluster_id = store::cluster_id(c, *cluster);
                        if (!ch.cluster_id) {
                            throw ApiError::validation({{"cluster_id", "is not a grid cluster"}});
                        }
                    }
                    store::insert_charger(c, ch, now);
                    return *store::find_charger(c, ch.identity);
                });
            };
            Charger created = co_await svc->database.workers().run(std::move(job));
            json::object out = charger_json(created);
            // Shown once: only its salted hash is stored.
            out["ocpp_password"] = password.empty() ? json::value(nullptr) : json::value(password);
            Response response = Response::json(out, 201);
            response.header("Location", "/api/v1/chargers/" + core::percent_encode(created.identity));
            response.header("Cache-Control", "no-store");
            co_return response;
        },
        authenticated());
    router.add(
        Method::Get,
        "/api/v1/chargers",
        [svc](Request req) -> net::awaitable<Response> {
            require_staff_read(req);
            const http::PageQuery q = read_offset_page(req);
            auto cluster = req.query_param("cluster_id");
            auto job = [svc, q, cluster = cluster ? std::optional<std::string>(*cluster) : std::nullopt] {
                return svc->database.with_reader([&](db::Connection& c) {
                    std::optional<std::int64_t> id;
                    if (cluster) {
                        id = store::cluster_id(c, *cluster);
                        if (!id) {
                            throw ApiError::validation({{"cluster_id", "is not a grid cluster"}});
                        }
                    }
                    return std::make_pair(store::list_chargers(c, id, q.offset(), q.page_size),
                                          store::count_chargers(c, id));
                });
            };
            auto [chargers, total] = co_await svc->database.workers().run(std::move(job));
            json::array items;
            for (const auto& ch : chargers) {
                items.push_back(charger_json(ch));
            }
            co_return Response::json(http::page_json(std::move(items), q, total));
        },
        authenticated());
    router.add(
        Method::Get,
        "/api/v1/chargers/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            require_staff_read(req);
            auto job = [svc, id = std::string(req.param("id"))] {
                return svc->database.with_reader([&](db::Connection& c) { return store::find_charger(c, id); });
            };
            auto found = co_await svc->database.workers().run(std::move(job));
            if (!found) {
                throw ApiError::not_found("Charger");
            }
            co_return Response::json(charger_json(*found));
        },
        authenticated());

    router.add(
        Method::Patch,
        "/api/v1/chargers/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            require_admin(req);
            auto body = req.json_object();
            FieldReader r(body);
            store::ChargerPatch patch;
            std::optional<std::optional<std::string>> cluster;
            if (const auto* v = body.if_contains("cluster_id")) {
                if (v->is_null()) {
                    (void)r.value("cluster_id", Presence::Optional);
                    cluster = std::optional<std::string>();
                } else if (auto id = r.string("cluster_id", Presence::Required, 1, 64)) {
                    cluster = *id;
                }
            }
            patch.max_power_kw = r.number("max_power_kw", Presence::Optional, 0.1, 1000);
            if (auto status = r.string("registration_status", Presence::Optional, 1, 16)) {
                if (*status != "Accepted" && *status != "Pending" && *status != "Rejected") {
                    r.fail("registration_status", "must be Accepted, Pending or Rejected");
                }
                patch.registration_status = *status;
            }
            if (auto interval = r.integer("heartbeat_interval_s", Presence::Optional, 10, 86400)) {
                patch.heartbeat_interval_s = static_cast<int>(*interval);
            }
            r.finish();
            const std::string identity(req.param("id"));
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, identity, patch, cluster, now]() mutable {
                return svc->database.with_transaction([&](db::Connection& c) -> std::optional<Charger> {
                    if (cluster) {
                        if (*cluster) {
                            auto id = store::cluster_id(c, **cluster);
                            if (!id) {
                                throw ApiError::validation({{"cluster_id", "is not a grid cluster"}});
                            }
                            patch.cluster_id = id;
                        } else {
                            patch.cluster_id = std::optional<std::int64_t>();
                        }
                    }
                    if (!store::update_charger(c, identity, patch, now)) {
                        return std::nullopt;
                    }
                    return store::find_charger(c, identity);
                });
            };
            auto updated = co_await svc->database.workers().run(std::move(job));
            if (!updated) {
                throw ApiError::not_found("Charger");
            }
            if (patch.registration_status) {
                svc->central_system->set_registration(identity, *patch.registration_status);
            }
            co_return Response::json(charger_json(*updated));
        },
        authenticated());

    // ---- commands to a connected charger ----
    router.add(
        Method::Post,
        "/api/v1/chargers/{id}/ocpp/{action}",
        [svc](Request req) -> net::awaitable<Response> {
            require_admin(req);
            const std::string action(req.param("action"));
            if (!is_central_system_action(action)) {
                throw ApiError::not_found("OCPP command");
            }
            json::value payload = req.body.empty() ? json::value(json::object{}) : json::value(req.json_object());
            if (const auto* key = payload.as_object().if_contains("key"); action == "ChangeConfiguration" &&
                                                                          key != nullptr && key->is_string() &&
                                                                          key->as_string() == "AuthorizationKey") {
                // The key a charger authenticates with changes only through the rotation below.
                throw ApiError::validation(
                    {{"key", "AuthorizationKey changes through POST /api/v1/chargers/{id}/password"}});
            }
            json::value answer = co_await svc->central_system->call(std::string(req.param("id")), action, payload);
            co_return Response::json(answer.as_object());
        },
        authenticated());
    router.add(
        Method::Post,
        "/api/v1/chargers/{id}/password",
        [svc](Request req) -> net::awaitable<Response> {
            require_admin(req);
            const std::string identity(req.param("id"));
            auto lookup = [svc, identity] {
                return svc->database.with_reader([&](db::Connection& c) { return store::credentials(c, identity); });
            };
            auto found = co_await svc->database.workers().run(std::move(lookup));
            if (!found) {
                throw ApiError::not_found("Charger");
            }
            const std::string password = new_password();
            const std::string salt = core::hex_encode(core::random_bytes(16));
            const std::string hash = store::password_hash(salt, password);
            const std::int64_t charger_id = found->charger_id;
            auto pend = [svc, charger_id, salt, hash] {
                svc->database.with_transaction(
                    [&](db::Connection& c) { store::set_pending_password(c, charger_id, salt, hash); });
            };
            co_await svc->database.workers().run(std::move(pend));
            std::string status;
            std::exception_ptr failure;
            json::value change = json::object{{"key", "AuthorizationKey"}, {"value", password}};
            try {
                json::value answer = co_await svc->central_system->call(identity, "ChangeConfiguration", change);
                status = std::string(answer.at("status").as_string());
            } catch (const ApiError&) {
                failure = std::current_exception();
            }
            const bool accepted = !failure && status == "Accepted";
            // OCPP security whitepaper: the old key goes only once the charger accepted the new one.
            auto settle = [svc, charger_id, accepted] {
                svc->database.with_transaction([&](db::Connection& c) {
                    if (accepted) {
                        store::promote_pending_password(c, charger_id);
                    } else {
                        store::drop_pending_password(c, charger_id);
                    }
                });
            };
            co_await svc->database.workers().run(std::move(settle));
            if (failure) {
                std::rethrow_exception(failure);
            }
            if (!accepted) {
                throw ApiError(502,
                               "Bad Gateway",
                               "The charger did not accept the new key (" + status + "); the old one stays",
                               "urn:motorpool:problem:charger_error");
            }
            Response response = Response::json(json::object{{"id", identity}, {"ocpp_password", password}});
            response.header("Cache-Control", "no-store");
            co_return response;
        },
        authenticated());

    // ---- charging sessions ----
    router.add(
        Method::Get,
        "/api/v1/charging/sessions",
        [svc](Request req) -> net::awaitable<Response> {
            const http::PageQuery q = read_offset_page(req);
            // Members see their own sessions; staff every session.
            const std::optional<std::int64_t> only = list_scope(auth::actor_of(req));
            auto job = [svc, q, only] {
                return svc->database.with_reader([&](db::Connection& c) {
                    return std::make_pair(store::list_sessions(c, only, q.offset(), q.page_size),
                                          store::count_sessions(c, only));
                });
            };
            auto [sessions, total] = co_await svc->database.workers().run(std::move(job));
            json::array items;
            for (const auto& s : sessions) {
                items.push_back(session_json(s));
            }
            co_return Response::json(http::page_json(std::move(items), q, total));
        },
        authenticated());
    router.add(
        Method::Get,
        "/api/v1/charging/sessions/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            const auto actor = auth::actor_of(req);
            auto job = [svc, id = std::string(req.param("id"))] {
                return svc->database.with_reader([&](db::Connection& c) {
                    auto session = store::find_session(c, id);
                    std::vector<MeterValue> values;
                    if (session) {
                        values = store::session_meter_values(c, session->transaction_id, 5000);
                    }
                    return std::make_pair(session, values);
                });
            };
            auto [session, values] = co_await svc->database.workers().run(std::move(job));
            if (!session) {
                throw ApiError::not_found("Charging session");
            }
            auth::require_access(actor, session->user_id, auth::Access::Read, "Charging session", "");
            json::object out = session_json(*session);
            json::array meter;
            for (const auto& v : values) {
                meter.push_back(json::object{{"at", core::format_rfc3339(v.at_ms)},
                                             {"measurand", v.measurand},
                                             {"phase", v.phase.empty() ? json::value(nullptr) : json::value(v.phase)},
                                             {"location", v.location},
                                             {"context", v.context},
                                             {"unit", v.unit},
                                             {"value", v.value}});
            }
            out["meter_values"] = std::move(meter);
            co_return Response::json(out);
        },
        authenticated());
}

}  // namespace motorpool::charging
