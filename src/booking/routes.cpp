// The booking routes: the service catalogue, locations (opening hours, closures, services offered,
// distance from a point), availability, appointments (book, list, cancel, reschedule, the staff's
// status flow) and a vehicle's service history. A booking is decided inside one transaction that
// first serialises on its location, so no concurrency books more overlapping appointments than
// the location has bays.

#include "routes.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "auth/auth.hpp"
#include "booking/slots.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "core/time_zone.hpp"
#include "http/paging.hpp"
#include "store.hpp"
#include "vehicles/vehicles.hpp"

namespace motorpool::booking {

namespace net = boost::asio;
namespace json = boost::json;
using core::ApiError;
using core::FieldReader;
using core::Presence;
using http::Method;
using http::Request;
using http::Response;

namespace {

http::RouteOptions authenticated() {
    return http::authenticated(std::size_t{64} * 1024);
}

void require_admin(const Request& req) {
    auth::require_role(req, {auth::Role::Admin});
}
bool is_staff(const auth::Actor& a) {
    return auth::sees_all_rows(a.role);
}

/// Who changes an appointment: the member, fleet managers and admins (the access policy), and
/// support, who run the service desk (they read every row and act on appointments).
void require_appointment_write(const auth::Actor& actor, std::optional<std::int64_t> owner, const char* detail) {
    if (actor.role == auth::Role::Support) {
        return;
    }
    auth::require_access(actor, owner, auth::Access::Write, "Appointment", detail);
}

json::value opt(const std::optional<std::string>& v) {
    return v ? json::value(*v) : json::value(nullptr);
}
json::value opt(const std::optional<double>& v) {
    return v ? json::value(*v) : json::value(nullptr);
}

core::TimeZone zone_of(const store::Location& l) {
    return core::TimeZone::load(l.time_zone).value_or(core::TimeZone::utc());
}

std::string local_text(const core::TimeZone& zone, std::int64_t ms) {
    const core::LocalTime t = zone.local(ms);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}", t.year, t.month, t.day, t.hour, t.minute);
}

json::object service_json(const store::Service& s) {
    return {{"code", s.code},
            {"name", s.name},
            {"description", opt(s.description)},
            {"duration_min", s.duration_min},
            {"price_cents", s.price_cents},
            {"active", s.active}};
}

json::object location_json(const store::Location& l, std::optional<double> distance_km = std::nullopt) {
    json::array services;
    for (const auto& code : l.services) {
        services.push_back(json::string(code));
    }
    json::object o{{"id", l.public_id},
                   {"name", l.name},
                   {"address", opt(l.address)},
                   {"latitude", l.latitude},
                   {"longitude", l.longitude},
                   {"time_zone", l.time_zone},
                   {"bays", l.bays},
                   {"opening_hours", weekly_hours_json(l.hours)},
                   {"services", std::move(services)},
                   {"slot_interval_min", l.slot_interval_min},
                   {"min_notice_min", l.min_notice_min},
                   {"buffer_min", l.buffer_min},
                   {"horizon_days", l.horizon_days},
                   {"cancel_cutoff_min", l.cancel_cutoff_min},
                   {"created_at", core::format_rfc3339(l.created_at_ms)},
                   {"updated_at", core::format_rfc3339(l.updated_at_ms)}};
    if (distance_km) {
        o["distance_km"] = std::round(*distance_km * 1000) / 1000;
    }
    return o;
}

json::object appointment_json(const store::Appointment& a) {
    const auto zone = core::TimeZone::load(a.time_zone).value_or(core::TimeZone::utc());
    boost::system::error_code ec;
    json::value services = json::parse(a.services, ec);
    return {{"id", a.public_id},
            {"user_id", opt(a.user_public_id)},
            {"vehicle_id", opt(a.vehicle_public_id)},
            {"location_id", a.location_public_id},
            {"start_time", core::format_rfc3339(a.start_ms)},
            {"end_time", core::format_rfc3339(a.end_ms)},
            {"local_start", local_text(zone, a.start_ms)},
            {"time_zone", a.time_zone},
            {"status", a.status},
            {"services", ec ? json::value(json::array{}) : services},
            {"price_cents", a.price_cents},
            {"rewards_cents", a.rewards_cents},
            {"amount_due_cents", a.price_cents - a.rewards_cents},
            {"notes", opt(a.notes)},
            {"odometer_km", opt(a.odometer_km)},
            {"work_done", opt(a.work_done)},
            {"cancelled_at",
             a.cancelled_at_ms ? json::value(core::format_rfc3339(*a.cancelled_at_ms)) : json::value(nullptr)},
            {"created_at", core::format_rfc3339(a.created_at_ms)},
            {"updated_at", core::format_rfc3339(a.updated_at_ms)}};
}

/// The location fields of a POST (all required but the rules) or a PATCH (all optional).
void read_location(FieldReader& r,
                   const json::object& body,
                   store::Location& l,
                   bool create,
                   std::optional<std::vector<std::string>>& services) {
    const Presence need = create ? Presence::Required : Presence::Optional;
    if (auto v = r.string("name", need, 1, 120)) {
        l.name = *v;
    }
    if (body.contains("address")) {
        l.address = r.string("address", Presence::Optional, 1, 300);
    }
    if (auto v = r.number("latitude", need, -90, 90)) {
        l.latitude = *v;
    }
    if (auto v = r.number("longitude", need, -180, 180)) {
        l.longitude = *v;
    }
    if (auto v = r.string("time_zone", need, 1, 64)) {
        if (!core::TimeZone::load(*v)) {
            r.fail("time_zone", "must be an IANA time zone name such as Europe/Berlin");
        }
        l.time_zone = *v;
    }
    if (auto v = r.integer("bays", need, 1, 200)) {
        l.bays = static_cast<int>(*v);
    }
    if (const auto* v = r.value("opening_hours", need)) {
        std::vector<core::FieldError> errors;
        if (auto hours = read_weekly_hours(*v, "opening_hours", errors)) {
            l.hours = *hours;
        }
        for (auto& e : errors) {
            r.fail(e.field, e.message);
        }
    }
    if (auto v = r.integer("slot_interval_min", Presence::Optional, 5, 240)) {
        l.slot_interval_min = static_cast<int>(*v);
    }
    if (auto v = r.integer("min_notice_min", Presence::Optional, 0, 60 * 24 * 30)) {
        l.min_notice_min = static_cast<int>(*v);
    }
    if (auto v = r.integer("buffer_min", Presence::Optional, 0, 240)) {
        l.buffer_min = static_cast<int>(*v);
    }
    if (auto v = r.integer("horizon_days", Presence::Optional, 1, 730)) {
        l.horizon_days = static_cast<int>(*v);
    }
    if (auto v = r.integer("cancel_cutoff_min", Presence::Optional, 0, 60 * 24 * 14)) {
        l.cancel_cutoff_min = static_cast<int>(*v);
    }
    if (const auto* v = r.value("services", create ? Presence::Required : Presence::Optional)) {
        std::vector<std::string> codes;
        if (!v->is_array() || v->as_array().size() > 100) {
            r.fail("services", "must be a list of service codes");
        } else {
            for (const auto& c : v->as_array()) {
                if (!c.is_string() || c.as_string().empty() || c.as_string().size() > 64) {
                    r.fail("services", "must be a list of service codes");
                    break;
                }
                codes.emplace_back(c.as_string());
            }
        }
        std::sort(codes.begin(), codes.end());
        codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
        services = codes;
    }
}

/// ?services=a,b: known, active, offered at the location; their total duration and the services.
std::vector<store::Service> services_for(db::Connection& c,
                                         const store::Location& l,
                                         const std::vector<std::string>& codes,
                                         const char* field) {
    std::vector<store::Service> out;
    for (const auto& code : codes) {
        auto s = store::find_service(c, code);
        if (!s || !s->active) {
            throw ApiError::validation({{field, "'" + code + "' is not a service of the catalogue"}});
        }
        if (std::find(l.services.begin(), l.services.end(), code) == l.services.end()) {
            throw ApiError::validation({{field, "'" + code + "' is not offered at this location"}});
        }
        out.push_back(*s);
    }
    return out;
}

std::vector<std::string> split_codes(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = std::min(text.find(',', start), text.size());
        if (comma > start) {
            out.push_back(text.substr(start, comma - start));
        }
        start = comma + 1;
    }
    return out;
}

SlotRules rules_of(const store::Location& l, int duration_min, std::int64_t now) {
    SlotRules r;
    r.duration_min = duration_min;
    r.interval_min = l.slot_interval_min;
    r.buffer_min = l.buffer_min;
    r.bays = l.bays;
    r.earliest_ms = now + static_cast<std::int64_t>(l.min_notice_min) * 60'000;
    r.latest_ms = now + static_cast<std::int64_t>(l.horizon_days) * 86'400'000;
    return r;
}

Date local_date(const core::TimeZone& zone, std::int64_t ms) {
    const core::LocalTime t = zone.local(ms);
    return Date{t.year, t.month, t.day};
}

/// Inside the booking transaction, after the location's lock: 422 unless `start` is one of the
/// location's slots for that duration; 409 when every bay is held at some moment of it.
void take_slot(db::Connection& c,
               const store::Location& l,
               std::int64_t start,
               int duration_min,
               std::int64_t now,
               std::optional<std::int64_t> except) {
    const auto zone = zone_of(l);
    const Date date = local_date(zone, start);
    const SlotRules rules = rules_of(l, duration_min, now);
    const auto grid = available_slots(zone, date, store::day_windows(c, l, date), rules, {});
    const bool on_grid = std::any_of(grid.begin(), grid.end(), [&](const Slot& s) { return s.start_ms == start; });
    if (!on_grid) {
        throw ApiError::validation({{"start_time",
                                     "is not a bookable slot of this location (its opening hours, slot interval, "
                                     "minimum notice and horizon)"}});
    }
    const std::int64_t hold_end = start + static_cast<std::int64_t>(duration_min + l.buffer_min) * 60'000;
    auto busy = store::busy_between(c, l.id, start, hold_end, except);
    if (peak_overlap(busy, start, hold_end) >= l.bays) {
        throw ApiError::conflict("The slot is no longer free", "slot_taken");
    }
}

void publish(core::EventBus& events, const store::Appointment& a, const char* change) {
    if (!a.user_public_id) {
        return;
    }
    json::object payload = appointment_json(a);
    payload["change"] = change;
    events.publish({"member." + *a.user_public_id, "APPOINTMENT", core::to_json_text(payload)});
}

const std::set<std::string> kStatuses{"booked", "checked_in", "in_progress", "completed", "cancelled", "no_show"};

bool transition_allowed(const std::string& from, const std::string& to) {
    if (from == "booked") {
        return to == "checked_in" || to == "cancelled" || to == "no_show";
    }
    if (from == "checked_in") {
        return to == "in_progress" || to == "cancelled" || to == "no_show";
    }
    if (from == "in_progress") {
        return to == "completed";
    }
    return false;
}

}  // namespace

void install_routes(http::Router& router, const std::shared_ptr<Services>& services) {
    auto svc = services;

    // ---- the service catalogue ----
    router.add(
        Method::Get,
        "/api/v1/services",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            const bool all = actor.role == auth::Role::Admin && req.query_param("include_inactive") == "true";
            auto job = [svc, all] {
                return svc->database.with_reader([&](db::Connection& c) { return store::list_services(c, !all); });
            };
            auto list = co_await svc->database.workers().run(std::move(job));
            json::array items;
            for (const auto& s : list) {
                items.push_back(service_json(s));
            }
            co_return Response::json(json::object{{"items", std::move(items)}});
        },
        authenticated());
    router.add(
        Method::Post,
        "/api/v1/services",
        [svc](Request req) -> net::awaitable<Response> {
            require_admin(req);
            auto body = req.json_object();
            FieldReader r(body);
            store::Service s;
            s.code = r.string("code", Presence::Required, 1, 64).value_or("");
            if (!s.code.empty() && !std::all_of(s.code.begin(), s.code.end(), [](char ch) {
                    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
                })) {
                r.fail("code", "must be lower-case letters, digits and _ (e.g. oil_change)");
            }
            s.name = r.string("name", Presence::Required, 1, 120).value_or("");
            s.description = r.string("description", Presence::Optional, 1, 2000);
            s.duration_min = static_cast<int>(r.integer("duration_min", Presence::Required, 5, 8 * 60).value_or(30));
            s.price_cents = r.integer("price_cents", Presence::Required, 0, 100'000'000).value_or(0);
            r.finish();
            s.created_at_ms = svc->clock->now_ms();
            auto job = [svc, s] {
                return svc->database.with_transaction([&](db::Connection& c) {
                    if (store::find_service(c, s.code)) {
                        throw ApiError::conflict("A service with this code exists", "service_exists");
                    }
                    store::insert_service(c, s);
                    return *store::find_service(c, s.code);
                });
            };
            store::Service created = co_await svc->database.workers().run(std::move(job));
            Response response = Response::json(service_json(created), 201);
            response.header("Location", "/api/v1/services/" + created.code);
            co_return response;
        },
        authenticated());
    router.add(
        Method::Patch,
        "/api/v1/services/{code}",
        [svc](Request req) -> net::awaitable<Response> {
            require_admin(req);
            auto body = req.json_object();
            FieldReader r(body);
            auto name = r.string("name", Presence::Optional, 1, 120);
            auto description = r.string("description", Presence::Optional, 1, 2000);
            auto duration = r.integer("duration_min", Presence::Optional, 5, 8 * 60);
            auto price = r.integer("price_cents", Presence::Optional, 0, 100'000'000);
            auto active = r.boolean("active", Presence::Optional);
            r.finish();
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, code = std::string(req.param("code")), name, description, duration, price, active, now] {
                return svc->database.with_transaction([&](db::Connection& c) {
                    auto s = store::find_service(c, code);
                    if (!s) {
                        throw ApiError::not_found("Service");
                    }
                    s->name = name.value_or(s->name);
                    s->description = description ? description : s->description;
                    s->duration_min = duration ? static_cast<int>(*duration) : s->duration_min;
                    s->price_cents = price.value_or(s->price_cents);
                    s->active = active.value_or(s->active);
                    s->updated_at_ms = now;
                    store::update_service(c, *s);
                    return *store::find_service(c, code);
                });
            };
            store::Service updated = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(service_json(updated));
        },
        authenticated());

    // ---- locations ----
    router.add(
        Method::Get,
        "/api/v1/locations",
        [svc](Request req) -> net::awaitable<Response> {
            (void)req.require_principal();
            const NearQuery near = near_query(req);
            const http::PageQuery page = distance_page_query(req);
            auto job = [svc] {
                return svc->database.with_reader([&](db::Connection& c) { return store::list_locations(c); });
            };
            auto all = co_await svc->database.workers().run(std::move(job));
            std::vector<std::pair<std::optional<double>, const store::Location*>> shown;
            for (const auto& l : all) {
                std::optional<double> km;
                if (near.given()) {
                    km = near.distance_km(l.latitude, l.longitude);
                    if (!near.within(*km)) {
                        continue;
                    }
                }
                shown.emplace_back(km, &l);
            }
            if (near.given()) {
                std::stable_sort(
                    shown.begin(), shown.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
            }
            const auto total = static_cast<std::int64_t>(shown.size());
            json::array items;
            for (std::int64_t i = page.offset(); i < total && i < page.offset() + page.page_size; ++i) {
                items.push_back(location_json(*shown[static_cast<std::size_t>(i)].second,
                                              shown[static_cast<std::size_t>(i)].first));
            }
            co_return Response::json(http::page_json(std::move(items), page, total));
        },
        authenticated());
    router.add(
        Method::Get,
        "/api/v1/locations/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            (void)req.require_principal();
            auto job = [svc, id = std::string(req.param("id"))] {
                return svc->database.with_reader([&](db::Connection& c) { return store::find_location(c, id); });
            };
            auto found = co_await svc->database.workers().run(std::move(job));
            if (!found) {
                throw ApiError::not_found("Location");
            }
            co_return Response::json(location_json(*found));
        },
        authenticated());
    router.add(
        Method::Post,
        "/api/v1/locations",
        [svc](Request req) -> net::awaitable<Response> {
            require_admin(req);
            auto body = req.json_object();
            FieldReader r(body);
            store::Location l;
            std::optional<std::vector<std::string>> codes;
            read_location(r, body, l, true, codes);
            r.finish();
            l.services = codes.value_or(std::vector<std::string>{});
            l.created_at_ms = svc->clock->now_ms();
            auto job = [svc, l] {
                return svc->database.with_transaction([&](db::Connection& c) { return store::insert_location(c, l); });
            };
            store::Location created = co_await svc->database.workers().run(std::move(job));
            Response response = Response::json(location_json(created), 201);
            response.header("Location", "/api/v1/locations/" + created.public_id);
            co_return response;
        },
        authenticated());
    router.add(
        Method::Patch,
        "/api/v1/locations/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            require_admin(req);
            auto body = req.json_object();
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, body, now, id = std::string(req.param("id"))] {
                return svc->database.with_transaction([&](db::Connection& c) {
                    auto l = store::find_location(c, id, true);
                    if (!l) {
                        throw ApiError::not_found("Location");
                    }
                    FieldReader r(body);
                    std::optional<std::vector<std::string>> codes;
                    read_location(r, body, *l, false, codes);
                    r.finish();
                    l->updated_at_ms = now;
                    store::update_location(c, *l);
                    if (codes) {
                        store::set_location_services(c, l->id, *codes);
                    }
                    return *store::find_location(c, id);
                });
            };
            store::Location updated = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(location_json(updated));
        },
        authenticated());

    // ---- closures and special hours ----
    router.add(
        Method::Post,
        "/api/v1/locations/{id}/closures",
        [svc](Request req) -> net::awaitable<Response> {
            require_admin(req);
            auto body = req.json_object();
            FieldReader r(body);
            store::Closure closure;
            auto day = r.string("date", Presence::Required, 10, 10);
            if (day && !parse_date(*day)) {
                r.fail("date", "must be a date YYYY-MM-DD (the location's local date)");
            }
            closure.day = day.value_or("");
            if (const auto* hours = r.value("hours", Presence::Optional); hours != nullptr && !hours->is_null()) {
                std::vector<core::FieldError> errors;
                closure.hours = read_windows(*hours, "hours", errors);
                for (auto& e : errors) {
                    r.fail(e.field, e.message);
                }
            }
            closure.note = r.string("note", Presence::Optional, 1, 300);
            r.finish();
            auto job = [svc, closure, id = std::string(req.param("id"))] {
                return svc->database.with_transaction([&](db::Connection& c) {
                    auto l = store::find_location(c, id, true);
                    if (!l) {
                        throw ApiError::not_found("Location");
                    }
                    store::upsert_closure(c, l->id, closure);
                });
            };
            co_await svc->database.workers().run(std::move(job));
            co_return Response::json(
                json::object{{"date", closure.day},
                             {"hours", closure.hours ? windows_json(*closure.hours) : json::value(nullptr)},
                             {"note", opt(closure.note)}},
                201);
        },
        authenticated());
    router.add(
        Method::Get,
        "/api/v1/locations/{id}/closures",
        [svc](Request req) -> net::awaitable<Response> {
            (void)req.require_principal();
            auto job = [svc, id = std::string(req.param("id"))] {
                return svc->database.with_reader([&](db::Connection& c) {
                    auto l = store::find_location(c, id);
                    if (!l) {
                        throw ApiError::not_found("Location");
                    }
                    return store::list_closures(c, l->id);
                });
            };
            auto list = co_await svc->database.workers().run(std::move(job));
            json::array items;
            for (const auto& cl : list) {
                items.push_back(json::object{{"date", cl.day},
                                             {"hours", cl.hours ? windows_json(*cl.hours) : json::value(nullptr)},
                                             {"note", opt(cl.note)}});
            }
            co_return Response::json(json::object{{"items", std::move(items)}});
        },
        authenticated());
    router.add(
        Method::Delete,
        "/api/v1/locations/{id}/closures/{date}",
        [svc](Request req) -> net::awaitable<Response> {
            require_admin(req);
            auto job = [svc, id = std::string(req.param("id")), day = std::string(req.param("date"))] {
                return svc->database.with_transaction([&](db::Connection& c) {
                    auto l = store::find_location(c, id, true);
                    return l && store::delete_closure(c, l->id, day);
                });
            };
            if (!co_await svc->database.workers().run(std::move(job))) {
                throw ApiError::not_found("Closure");
            }
            co_return Response::no_content();
        },
        authenticated());

    // ---- availability ----
    router.add(
        Method::Get,
        "/api/v1/appointments/availability",
        [svc](Request req) -> net::awaitable<Response> {
            (void)req.require_principal();
            std::vector<core::FieldError> errors;
            auto location = req.query_param("location_id");
            auto day = req.query_param("date");
            auto codes = req.query_param("services");
            if (!location) {
                errors.push_back({"location_id", "is required"});
            }
            std::optional<Date> date = day ? parse_date(*day) : std::nullopt;
            if (!date) {
                errors.push_back({"date", "must be a date YYYY-MM-DD (the location's local date)"});
            }
            std::vector<std::string> list = codes ? split_codes(*codes) : std::vector<std::string>{};
            if (list.empty() || list.size() > 10) {
                errors.push_back({"services", "must name 1 to 10 service codes, comma-separated"});
            }
            if (!errors.empty()) {
                throw ApiError::validation(std::move(errors));
            }
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, id = *location, d = *date, list, now] {
                return svc->database.with_reader([&](db::Connection& c) {
                    auto l = store::find_location(c, id);
                    if (!l) {
                        throw ApiError::not_found("Location");
                    }
                    int duration = 0;
                    for (const auto& s : services_for(c, *l, list, "services")) {
                        duration += s.duration_min;
                    }
                    const auto zone = zone_of(*l);
                    const auto windows = store::day_windows(c, *l, d);
                    const auto bounds = window_instants(zone, d, windows);
                    std::vector<Busy> busy;
                    if (!bounds.empty()) {
                        busy = store::busy_between(
                            c, l->id, bounds.front().start_ms - 86'400'000, bounds.back().end_ms + 86'400'000);
                    }
                    auto slots = available_slots(zone, d, windows, rules_of(*l, duration, now), std::move(busy));
                    json::array out;
                    for (const auto& s : slots) {
                        out.push_back(json::object{{"start", core::format_rfc3339(s.start_ms)},
                                                   {"end", core::format_rfc3339(s.end_ms)}});
                    }
                    return json::object{{"location_id", l->public_id},
                                        {"date", d.text()},
                                        {"time_zone", l->time_zone},
                                        {"duration_min", duration},
                                        {"available_slots", std::move(out)}};
                });
            };
            json::object answer = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(answer);
        },
        authenticated());

    // ---- appointments ----
    router.add(
        Method::Post,
        "/api/v1/appointments",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto body = req.json_object();
            FieldReader r(body);
            auto vehicle = r.string("vehicle_id", Presence::Required, 1, 64);
            auto location = r.string("location_id", Presence::Required, 1, 64);
            auto start_text = r.string("start_time", Presence::Required, 1, 40);
            std::optional<std::int64_t> start;
            if (start_text) {
                start = core::parse_rfc3339(*start_text);
                if (!start) {
                    r.fail("start_time", "must be an RFC 3339 time with a zone, such as 2026-12-03T09:00:00Z");
                }
            }
            std::vector<std::string> codes;
            if (const auto* v = r.value("services", Presence::Required)) {
                if (!v->is_array() || v->as_array().empty() || v->as_array().size() > 10) {
                    r.fail("services", "must be a list of 1 to 10 service codes");
                } else {
                    for (const auto& c : v->as_array()) {
                        if (!c.is_string() || c.as_string().empty() || c.as_string().size() > 64) {
                            r.fail("services", "must be a list of 1 to 10 service codes");
                            break;
                        }
                        codes.emplace_back(c.as_string());
                    }
                    std::vector<std::string> sorted = codes;
                    std::sort(sorted.begin(), sorted.end());
                    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
                        r.fail("services", "names a service twice");
                    }
                }
            }
            auto notes = r.string("notes", Presence::Optional, 1, 1000);
            // Rewards paying part of the price: at most the price and the balance (checked when booking).
            const std::int64_t rewards = r.integer("rewards_cents", Presence::Optional, 0, 10'000'000).value_or(0);
            r.finish();
            if (rewards > 0 && !svc->rewards.spend) {
                throw ApiError::validation({{"rewards_cents", "rewards cannot pay on this server"}});
            }
            const std::int64_t now = svc->clock->now_ms();
            // Through the group commit: each booking runs in its own savepoint of a shared writer
            // transaction (so still one after another, each seeing the last), and concurrent
            // bookings share one commit instead of one fsync each. Only its submitter sees its error.
            auto book =
                [svc, actor, vehicle = *vehicle, location = *location, start = *start, codes, notes, rewards, now](
                    db::Connection& c) {
                    {
                        // Serialise on the location first: every booking of it waits here.
                        auto l = store::find_location(c, location, true);
                        if (!l) {
                            throw ApiError::validation({{"location_id", "is not a location"}});
                        }
                        const auto v =
                            vehicles::vehicle_for(c,
                                                  actor,
                                                  vehicle,
                                                  auth::Access::Write,
                                                  "Only the vehicle's owner or a fleet manager books for it");
                        auto chosen = services_for(c, *l, codes, "services");
                        int duration = 0;
                        std::int64_t price = 0;
                        json::array lines;
                        for (const auto& s : chosen) {
                            duration += s.duration_min;
                            ServicePrice p{s.price_cents, false};
                            if (svc->pricing) {
                                p = svc->pricing(c, actor.user_id, s.code, s.price_cents, start);
                            }
                            price += p.price_cents;
                            lines.push_back(json::object{{"code", s.code},
                                                         {"name", s.name},
                                                         {"duration_min", s.duration_min},
                                                         {"price_cents", p.price_cents},
                                                         {"included", p.included}});
                        }
                        take_slot(c, *l, start, duration, now, std::nullopt);
                        store::Appointment a;
                        a.public_id = core::new_uuid_v7(now);
                        a.user_id = v.owner_id.value_or(actor.user_id);
                        a.vehicle_id = v.id;
                        a.location_id = l->id;
                        a.start_ms = start;
                        a.end_ms = start + static_cast<std::int64_t>(duration) * 60'000;
                        a.block_end_ms = a.end_ms + static_cast<std::int64_t>(l->buffer_min) * 60'000;
                        a.services = json::serialize(lines);
                        a.price_cents = price;
                        a.notes = notes;
                        a.created_at_ms = now;
                        if (rewards > price) {
                            throw ApiError::validation({{"rewards_cents", "is more than the price of the services"}});
                        }
                        a.rewards_cents = rewards;
                        store::insert_appointment(c, a);
                        if (rewards > 0 && a.user_id) {
                            svc->rewards.spend(c, *a.user_id, rewards, a.public_id, now);
                        }
                        return *store::find_appointment(c, a.public_id);
                    }
                };
            store::Appointment created = co_await svc->database.group_commit().submit(std::move(book));
            publish(svc->events, created, "booked");  // after the commit
            Response response = Response::json(appointment_json(created), 201);
            response.header("Location", "/api/v1/appointments/" + created.public_id);
            co_return response;
        },
        authenticated());

    router.add(
        Method::Get,
        "/api/v1/appointments",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            std::vector<core::FieldError> errors;
            http::PageQuery q = http::read_page_query(req, errors, 20, 100);
            if (q.keyset) {
                errors.push_back({"cursor", "is not supported here: use page"});
            }
            store::AppointmentFilter f;
            if (!is_staff(actor)) {
                f.user_id = actor.user_id;
            }
            if (auto s = req.query_param("status")) {
                if (kStatuses.count(*s) == 0) {
                    errors.push_back(
                        {"status", "must be booked, checked_in, in_progress, completed, cancelled or no_show"});
                }
                f.status = *s;
            }
            const std::int64_t now = svc->clock->now_ms();
            auto upcoming = req.query_param("upcoming");
            if (upcoming && *upcoming != "true" && *upcoming != "false") {
                errors.push_back({"upcoming", "must be true or false"});
            }
            if (upcoming == "true") {
                f.from_ms = now;
            } else {
                f.newest_first = true;
            }
            auto location = req.query_param("location_id");
            auto day = req.query_param("date");
            std::optional<Date> date;
            if (day) {
                date = parse_date(*day);
                if (!date) {
                    errors.push_back({"date", "must be a date YYYY-MM-DD (the location's local date)"});
                } else if (!location) {
                    errors.push_back({"date", "needs location_id (the day is the location's)"});
                }
            }
            if (!errors.empty()) {
                throw ApiError::validation(std::move(errors));
            }
            auto job = [svc, f, q, location, date]() mutable {
                return svc->database.with_reader([&](db::Connection& c) {
                    if (location) {
                        auto l = store::find_location(c, *location);
                        if (!l) {
                            throw ApiError::validation({{"location_id", "is not a location"}});
                        }
                        f.location_id = l->id;
                        if (date) {
                            const auto zone = zone_of(*l);
                            f.from_ms = zone.instant(date->year, date->month, date->day, 0, 0);
                            f.to_ms = zone.next_midnight(*f.from_ms);
                            f.newest_first = false;
                        }
                    }
                    return std::make_pair(store::list_appointments(c, f, q.offset(), q.page_size),
                                          store::count_appointments(c, f));
                });
            };
            auto [list, total] = co_await svc->database.workers().run(std::move(job));
            json::array items;
            for (const auto& a : list) {
                items.push_back(appointment_json(a));
            }
            co_return Response::json(http::page_json(std::move(items), q, total));
        },
        authenticated());

    router.add(
        Method::Get,
        "/api/v1/appointments/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto job = [svc, id = std::string(req.param("id"))] {
                return svc->database.with_reader([&](db::Connection& c) { return store::find_appointment(c, id); });
            };
            auto found = co_await svc->database.workers().run(std::move(job));
            if (!found) {
                throw ApiError::not_found("Appointment");
            }
            auth::require_access(actor, found->user_id, auth::Access::Read, "Appointment", "");
            co_return Response::json(appointment_json(*found));
        },
        authenticated());

    // Cancel (member: before the location's cut-off; staff: any time) and reschedule (the new slot is
    // taken in the same transaction that frees the old one).
    router.add(
        Method::Post,
        "/api/v1/appointments/{id}/cancel",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, actor, now, id = std::string(req.param("id"))] {
                auto done = svc->database.with_transaction([&](db::Connection& c) {
                    auto a = store::find_appointment(c, id);
                    if (!a) {
                        throw ApiError::not_found("Appointment");
                    }
                    require_appointment_write(actor, a->user_id, "Only the member or a fleet manager cancels it");
                    if (a->status != "booked" && a->status != "checked_in") {
                        throw ApiError::conflict("The appointment is " + a->status, "appointment_closed");
                    }
                    auto l = store::find_location_by_id(c, a->location_id);
                    if (!is_staff(actor) &&
                        now > a->start_ms - static_cast<std::int64_t>(l->cancel_cutoff_min) * 60'000) {
                        throw ApiError::conflict("Too late to cancel online: call the location", "cancel_cutoff");
                    }
                    c.execute(
                        "UPDATE appointments SET status = 'cancelled', cancelled_at_ms = $2, updated_at_ms = $2 WHERE "
                        "id = $1",
                        {a->id, now});
                    if (a->rewards_cents > 0 && a->user_id && svc->rewards.refund) {
                        svc->rewards.refund(c, *a->user_id, a->rewards_cents, a->public_id, now);
                    }
                    return *store::find_appointment(c, id);
                });
                publish(svc->events, done, "cancelled");
                return done;
            };
            store::Appointment cancelled = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(appointment_json(cancelled));
        },
        authenticated());

    router.add(
        Method::Post,
        "/api/v1/appointments/{id}/reschedule",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto body = req.json_object();
            FieldReader r(body);
            auto text = r.string("start_time", Presence::Required, 1, 40);
            std::optional<std::int64_t> start = text ? core::parse_rfc3339(*text) : std::nullopt;
            if (text && !start) {
                r.fail("start_time", "must be an RFC 3339 time with a zone, such as 2026-12-03T09:00:00Z");
            }
            r.finish();
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, actor, now, start = *start, id = std::string(req.param("id"))] {
                auto moved = svc->database.with_transaction([&](db::Connection& c) {
                    auto a = store::find_appointment(c, id);
                    if (!a) {
                        throw ApiError::not_found("Appointment");
                    }
                    require_appointment_write(actor, a->user_id, "Only the member or a fleet manager reschedules it");
                    auto l = store::find_location(c, a->location_public_id, true);
                    if (a->status != "booked") {
                        throw ApiError::conflict("The appointment is " + a->status, "appointment_closed");
                    }
                    if (!is_staff(actor) &&
                        now > a->start_ms - static_cast<std::int64_t>(l->cancel_cutoff_min) * 60'000) {
                        throw ApiError::conflict("Too late to reschedule online: call the location", "cancel_cutoff");
                    }
                    const int duration = static_cast<int>((a->end_ms - a->start_ms) / 60'000);
                    take_slot(c, *l, start, duration, now, a->id);  // its own old slot does not count
                    c.execute(
                        "UPDATE appointments SET start_ms = $2, end_ms = $3, block_end_ms = $4, reminder_sent_at_ms = "
                        "NULL, "
                        "updated_at_ms = $5 WHERE id = $1",
                        {a->id,
                         start,
                         start + (a->end_ms - a->start_ms),
                         start + (a->block_end_ms - a->start_ms),
                         now});
                    return *store::find_appointment(c, id);
                });
                publish(svc->events, moved, "rescheduled");
                return moved;
            };
            store::Appointment moved = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(appointment_json(moved));
        },
        authenticated());

    // The staff's status flow: booked -> checked_in -> in_progress -> completed, or no_show / cancelled.
    router.add(
        Method::Post,
        "/api/v1/appointments/{id}/status",
        [svc](Request req) -> net::awaitable<Response> {
            auth::require_role(req, {auth::Role::Support, auth::Role::Admin});
            auto body = req.json_object();
            FieldReader r(body);
            auto status = r.string("status", Presence::Required, 1, 20);
            if (status && kStatuses.count(*status) == 0) {
                r.fail("status", "must be checked_in, in_progress, completed, cancelled or no_show");
            }
            auto odometer = r.number("odometer_km", Presence::Optional, 0, 10'000'000);
            auto work = r.string("work_done", Presence::Optional, 1, 4000);
            if ((odometer || work) && status != "completed") {
                r.fail(odometer ? "odometer_km" : "work_done", "is recorded when the appointment is completed");
            }
            r.finish();
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, now, to = *status, odometer, work, id = std::string(req.param("id"))] {
                auto changed = svc->database.with_transaction([&](db::Connection& c) {
                    auto a = store::find_appointment(c, id);
                    if (!a) {
                        throw ApiError::not_found("Appointment");
                    }
                    if (!transition_allowed(a->status, to)) {
                        throw ApiError::conflict("An appointment " + a->status + " cannot become " + to,
                                                 "status_transition");
                    }
                    c.execute(
                        "UPDATE appointments SET status = $2, odometer_km = COALESCE($3, odometer_km), work_done = "
                        "COALESCE($4, work_done), cancelled_at_ms = CASE WHEN $2 = 'cancelled' THEN $5 ELSE "
                        "cancelled_at_ms END, updated_at_ms = $5 WHERE id = $1",
                        {a->id,
                         to,
                         odometer ? db::Value(*odometer) : db::Value(),
                         work ? db::Value(*work) : db::Value(),
                         now});
                    if (to == "completed" && svc->completed && a->user_id) {
                        svc->completed(c, *a->user_id, a->price_cents, now);
                    }
                    return *store::find_appointment(c, id);
                });
                publish(svc->events, changed, "status");
                return changed;
            };
            store::Appointment changed = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(appointment_json(changed));
        },
        authenticated());

    // ---- a vehicle's service history: its completed appointments ----
    router.add(
        Method::Get,
        "/api/v1/vehicles/{id}/service-history",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto job = [svc, actor, id = std::string(req.param("id"))] {
                return svc->database.with_reader([&](db::Connection& c) {
                    const auto v = vehicles::vehicle_for(c, actor, id, auth::Access::Read);
                    store::AppointmentFilter f;
                    f.vehicle_id = v.id;
                    f.status = "completed";
                    f.newest_first = true;
                    return store::list_appointments(c, f, 0, 500);
                });
            };
            auto list = co_await svc->database.workers().run(std::move(job));
            json::array items;
            for (const auto& a : list) {
                boost::system::error_code ec;
                json::value done = json::parse(a.services, ec);
                items.push_back(json::object{{"appointment_id", a.public_id},
                                             {"location_id", a.location_public_id},
                                             {"date", core::format_rfc3339(a.start_ms)},
                                             {"completed_at", core::format_rfc3339(a.updated_at_ms)},
                                             {"services", ec ? json::value(json::array{}) : done},
                                             {"odometer_km", opt(a.odometer_km)},
                                             {"work_done", opt(a.work_done)},
                                             {"price_cents", a.price_cents}});
            }
            co_return Response::json(json::object{{"items", std::move(items)}});
        },
        authenticated());
}

http::PageQuery distance_page_query(const Request& req) {
    std::vector<core::FieldError> errors;
    const http::PageQuery page = http::read_page_query(req, errors, 50, 100);
    if (page.keyset) {
        errors.push_back({"cursor", "this list is ordered by distance: page it with page and page_size"});
    }
    if (!errors.empty()) {
        throw ApiError::validation(errors);
    }
    return page;
}

}  // namespace motorpool::booking
