// Offers: admins publish them (validity window, eligible plans, locations, vehicle constraints,
// a redemption limit per member); a member sees those their plan is eligible for, active now,
// valid for their vehicle and at a location within the radius, nearest first; a redemption is
// taken on one of their booked appointments, never beyond the limit (a unique key per redemption
// number).

#include <algorithm>
#include <cmath>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>

#include "auth/auth.hpp"
#include "booking/booking.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "routes.hpp"
#include "vehicles/vehicles.hpp"

namespace motorpool::membership {

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

struct Offer {
    std::int64_t id = 0;
    std::string public_id, title;
    std::optional<std::string> description, terms;
    std::int64_t starts_at_ms = 0, expires_at_ms = 0;
    std::vector<std::string> plans, locations, makes, fuel_types;
    std::optional<std::int64_t> year_min, year_max;
    std::int64_t limit_per_member = 1;
    bool active = true;
    std::int64_t created_at_ms = 0, updated_at_ms = 0;
};

std::vector<std::string> strings_of(const std::string& text) {
    std::vector<std::string> out;
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (!ec && v.is_array()) {
        for (const auto& s : v.as_array()) {
            if (s.is_string()) {
                out.emplace_back(s.as_string());
            }
        }
    }
    return out;
}

std::string strings_text(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) {
        a.push_back(json::string(s));
    }
    return json::serialize(a);
}

json::value strings_json(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) {
        a.push_back(json::string(s));
    }
    return a;
}

constexpr const char* kOfferColumns =
    "id, public_id, title, description, terms, starts_at_ms, expires_at_ms, eligible_plans, location_ids, makes, "
    "fuel_types, year_min, year_max, limit_per_member, active, created_at_ms, updated_at_ms";

Offer offer_from(const db::Row& r) {
    Offer o;
    o.id = r.int64(0);
    o.public_id = r.text(1);
    o.title = r.text(2);
    o.description = r.opt_text(3);
    o.terms = r.opt_text(4);
    o.starts_at_ms = r.int64(5);
    o.expires_at_ms = r.int64(6);
    o.plans = strings_of(r.text(7));
    o.locations = strings_of(r.text(8));
    o.makes = strings_of(r.text(9));
    o.fuel_types = strings_of(r.text(10));
    o.year_min = r.opt_int64(11);
    o.year_max = r.opt_int64(12);
    o.limit_per_member = r.int64(13);
    o.active = r.boolean(14);
    o.created_at_ms = r.int64(15);
    o.updated_at_ms = r.int64(16);
    return o;
}

std::optional<Offer> find_offer(db::Connection& c, const std::string& public_id) {
    auto rows = c.query(std::string("SELECT ") + kOfferColumns + " FROM offers WHERE public_id = $1", {public_id});
    return rows.empty() ? std::nullopt : std::optional<Offer>(offer_from(rows.row(0)));
}

json::object offer_json(const Offer& o) {
    return {{"id", o.public_id},
            {"title", o.title},
            {"description", o.description ? json::value(*o.description) : json::value(nullptr)},
            {"terms", o.terms ? json::value(*o.terms) : json::value(nullptr)},
            {"starts_at", core::format_rfc3339(o.starts_at_ms)},
            {"expires_at", core::format_rfc3339(o.expires_at_ms)},
            {"eligible_plans", strings_json(o.plans)},
            {"location_ids", strings_json(o.locations)},
            {"vehicle_makes", strings_json(o.makes)},
            {"fuel_types", strings_json(o.fuel_types)},
            {"year_min", o.year_min ? json::value(*o.year_min) : json::value(nullptr)},
            {"year_max", o.year_max ? json::value(*o.year_max) : json::value(nullptr)},
            {"limit_per_member", o.limit_per_member},
            {"active", o.active},
            {"created_at", core::format_rfc3339(o.created_at_ms)},
            {"updated_at", core::format_rfc3339(o.updated_at_ms)}};
}

std::optional<std::vector<std::string>> read_strings(FieldReader& r, const json::object& body, const char* field) {
    const auto* v = body.if_contains(field);
    if (v == nullptr) {
        return std::nullopt;
    }
    (void)r.value(field, Presence::Optional);
    std::vector<std::string> out;
    if (!v->is_array() || v->as_array().size() > 100) {
        r.fail(field, "must be a list of at most 100 texts");
        return std::nullopt;
    }
    for (const auto& s : v->as_array()) {
        if (!s.is_string() || s.as_string().empty() || s.as_string().size() > 80) {
            r.fail(field, "must be a list of at most 100 texts");
            return std::nullopt;
        }
        out.emplace_back(s.as_string());
    }
    return out;
}

/// The offer fields of a POST (`create`: title and expiry required) or a PATCH.
void read_offer(FieldReader& r, const json::object& body, Offer& o, bool create, std::int64_t now) {
    const Presence need = create ? Presence::Required : Presence::Optional;
    if (auto v = r.string("title", need, 1, 200)) {
        o.title = *v;
    }
    if (body.contains("description")) {
        o.description = r.string("description", Presence::Optional, 1, 4000);
    }
    if (body.contains("terms")) {
        o.terms = r.string("terms", Presence::Optional, 1, 4000);
    }
    auto time = [&](const char* field, Presence p) -> std::optional<std::int64_t> {
        auto text = r.string(field, p, 1, 40);
        if (!text) {
            return std::nullopt;
        }
        auto at = core::parse_rfc3339(*text);
        if (!at) {
            r.fail(field, "must be an RFC 3339 time with a zone");
        }
        return at;
    };
    if (auto v = time("starts_at", Presence::Optional)) {
        o.starts_at_ms = *v;
    } else if (create) {
        o.starts_at_ms = now;
    }
    if (auto v = time("expires_at", need)) {
        o.expires_at_ms = *v;
    }
    if (o.expires_at_ms <= o.starts_at_ms && (create || body.contains("expires_at") || body.contains("starts_at"))) {
        r.fail("expires_at", "must be after starts_at");
    }
    if (auto v = read_strings(r, body, "eligible_plans")) {
        o.plans = *v;
    }
    if (auto v = read_strings(r, body, "location_ids")) {
        o.locations = *v;
    }
    if (auto v = read_strings(r, body, "vehicle_makes")) {
        o.makes = *v;
    }
    if (auto v = read_strings(r, body, "fuel_types")) {
        o.fuel_types = *v;
    }
    if (body.contains("year_min")) {
        o.year_min = r.integer("year_min", Presence::Optional, 1900, 2100);
    }
    if (body.contains("year_max")) {
        o.year_max = r.integer("year_max", Presence::Optional, 1900, 2100);
    }
    if (o.year_min && o.year_max && *o.year_max < *o.year_min) {
        r.fail("year_max", "must not be before year_min");
    }
    if (auto v = r.integer("limit_per_member", Presence::Optional, 1, 1000)) {
        o.limit_per_member = *v;
    }
    if (auto v = r.boolean("active", Presence::Optional)) {
        o.active = *v;
    }
}

void write_offer(db::Connection& c, const Offer& o, bool create) {
    auto opt_text = [](const std::optional<std::string>& v) { return v ? db::Value(*v) : db::Value(); };
    auto opt_int = [](const std::optional<std::int64_t>& v) { return v ? db::Value(*v) : db::Value(); };
    if (create) {
        c.execute(
            "INSERT INTO offers (public_id, title, description, terms, starts_at_ms, expires_at_ms, eligible_plans, "
            "location_ids, makes, fuel_types, year_min, year_max, limit_per_member, active, created_at_ms, "
            "updated_at_ms) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
            {o.public_id,
             o.title,
             opt_text(o.description),
             opt_text(o.terms),
             o.starts_at_ms,
             o.expires_at_ms,
             strings_text(o.plans),
             strings_text(o.locations),
             strings_text(o.makes),
             strings_text(o.fuel_types),
             opt_int(o.year_min),
             opt_int(o.year_max),
             o.limit_per_member,
             o.active,
             o.created_at_ms});
    } else {
        c.execute(
            "UPDATE offers SET title = $2, description = $3, terms = $4, starts_at_ms = $5, expires_at_ms = $6, "
            "eligible_plans = $7, location_ids = $8, makes = $9, fuel_types = $10, year_min = $11, year_max = $12, "
            "limit_per_member = $13, active = $14, updated_at_ms = $15 WHERE id = $1",
            {o.id,
             o.title,
             opt_text(o.description),
             opt_text(o.terms),
             o.starts_at_ms,
             o.expires_at_ms,
             strings_text(o.plans),
             strings_text(o.locations),
             strings_text(o.makes),
             strings_text(o.fuel_types),
             opt_int(o.year_min),
             opt_int(o.year_max),
             o.limit_per_member,
             o.active,
             o.updated_at_ms});
    }
}

bool same_text(const std::string& a, const std::string& b) {
    return core::to_lower_ascii(a) == core::to_lower_ascii(b);
}

/// The member's current plan code, if any.
std::optional<std::string> plan_of(db::Connection& c, std::int64_t user_id) {
    auto rows = c.query(
        "SELECT p.code FROM memberships m JOIN membership_plans p ON p.id = m.plan_id WHERE m.user_id = $1 AND "
        "m.status "
        "<> 'expired'",
        {user_id});
    return rows.empty() ? std::nullopt : std::optional<std::string>(rows.row(0).text(0));
}

struct VehicleFacts {
    std::optional<std::string> make, fuel_type;
    std::optional<std::int64_t> year;
};

bool vehicle_matches(const Offer& o, const std::optional<VehicleFacts>& v) {
    if (!v) {
        return true;  // no vehicle given: offers with constraints are shown (they are checked at redemption)
    }
    if (!o.makes.empty() && (!v->make || std::none_of(o.makes.begin(), o.makes.end(), [&](const std::string& m) {
            return same_text(m, *v->make);
        }))) {
        return false;
    }
    if (!o.fuel_types.empty() &&
        (!v->fuel_type || std::none_of(o.fuel_types.begin(), o.fuel_types.end(), [&](const std::string& f) {
            return same_text(f, *v->fuel_type);
        }))) {
        return false;
    }
    if (o.year_min && (!v->year || *v->year < *o.year_min)) {
        return false;
    }
    if (o.year_max && (!v->year || *v->year > *o.year_max)) {
        return false;
    }
    return true;
}

VehicleFacts facts_of(db::Connection& c, std::int64_t vehicle_id) {
    auto rows = c.query("SELECT make, fuel_type, model_year FROM vehicles WHERE id = $1", {vehicle_id});
    VehicleFacts f;
    if (!rows.empty()) {
        f.make = rows.row(0).opt_text(0);
        f.fuel_type = rows.row(0).opt_text(1);
        f.year = rows.row(0).opt_int64(2);
    }
    return f;
}

}  // namespace

void install_offer_routes(http::Router& router, const std::shared_ptr<Services>& services) {
    auto svc = services;

    router.add(
        Method::Post,
        "/api/v1/offers",
        [svc](Request req) -> net::awaitable<Response> {
            auth::require_role(req, {auth::Role::Admin});
            auto body = req.json_object();
            FieldReader r(body);
            const std::int64_t now = svc->clock->now_ms();
            Offer o;
            read_offer(r, body, o, true, now);
            r.finish();
            o.public_id = core::new_uuid_v7(now);
            o.created_at_ms = now;
            auto job = [svc, o] {
                return svc->database.with_transaction([&](db::Connection& c) {
                    write_offer(c, o, true);
                    return *find_offer(c, o.public_id);
                });
            };
            Offer created = co_await svc->database.workers().run(std::move(job));
            Response response = Response::json(offer_json(created), 201);
            response.header("Location", "/api/v1/offers/" + created.public_id);
            co_return response;
        },
        authenticated());

    router.add(
        Method::Patch,
        "/api/v1/offers/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            auth::require_role(req, {auth::Role::Admin});
            auto body = req.json_object();
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, body, now, id = std::string(req.param("id"))] {
                return svc->database.with_transaction([&](db::Connection& c) {
                    auto o = find_offer(c, id);
                    if (!o) {
                        throw ApiError::not_found("Offer");
                    }
                    FieldReader r(body);
                    read_offer(r, body, *o, false, now);
                    r.finish();
                    o->updated_at_ms = now;
                    write_offer(c, *o, false);
                    return *find_offer(c, id);
                });
            };
            Offer updated = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(offer_json(updated));
        },
        authenticated());

    router.add(
        Method::Get,
        "/api/v1/offers/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            (void)req.require_principal();
            auto job = [svc, id = std::string(req.param("id"))] {
                return svc->database.with_reader([&](db::Connection& c) { return find_offer(c, id); });
            };
            auto found = co_await svc->database.workers().run(std::move(job));
            if (!found) {
                throw ApiError::not_found("Offer");
            }
            co_return Response::json(offer_json(*found));
        },
        authenticated());

    // A member's offers: their plan eligible, active now, valid for the vehicle, at a location
    // within the radius of the point, nearest first. Admins (?all=true) see every offer.
    router.add(
        Method::Get,
        "/api/v1/offers",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            const booking::NearQuery near = booking::near_query(req);
            const http::PageQuery page = booking::distance_page_query(req);
            const bool all = actor.role == auth::Role::Admin && req.query_param("all") == "true";
            auto vehicle = req.query_param("vehicle_id");
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, actor, all, vehicle, near, page, now] {
                return svc->database.with_reader([&](db::Connection& c) {
                    std::optional<VehicleFacts> facts;
                    if (vehicle) {
                        auto ref = vehicles::vehicle_for(c, actor, *vehicle, auth::Access::Read);
                        facts = facts_of(c, ref.id);
                    }
                    const auto plan = plan_of(c, actor.user_id);
                    auto rows = c.query(std::string("SELECT ") + kOfferColumns + " FROM offers ORDER BY id");
                    const auto points = booking::location_points(c);
                    std::vector<std::pair<std::optional<double>, Offer>> shown;
                    for (std::size_t i = 0; i < rows.size(); ++i) {
                        Offer o = offer_from(rows.row(i));
                        if (!all) {
                            if (!o.active || now < o.starts_at_ms || now >= o.expires_at_ms) {
                                continue;
                            }
                            if (!o.plans.empty() &&
                                (!plan || std::find(o.plans.begin(), o.plans.end(), *plan) == o.plans.end())) {
                                continue;
                            }
                            if (!vehicle_matches(o, facts)) {
                                continue;
                            }
                        }
                        std::optional<double> nearest;
                        if (near.given()) {
                            for (const auto& p : points) {
                                if (!o.locations.empty() &&
                                    std::find(o.locations.begin(), o.locations.end(), p.id) == o.locations.end()) {
                                    continue;
                                }
                                nearest = std::min(nearest.value_or(1e18), near.distance_km(p.latitude, p.longitude));
                            }
                            if (!all && (!nearest || !near.within(*nearest))) {
                                continue;
                            }
                        }
                        shown.emplace_back(nearest, std::move(o));
                    }
                    if (near.given()) {
                        std::stable_sort(shown.begin(), shown.end(), [](const auto& a, const auto& b) {
                            return a.first.value_or(1e18) < b.first.value_or(1e18);
                        });
                    }
                    // The page's offers only: what the member has left of each is read for them.
                    const auto total = static_cast<std::int64_t>(shown.size());
                    const std::int64_t first = std::min(page.offset(), total);
                    const std::int64_t last = std::min(total, page.offset() + page.page_size);
                    // One grouped query for the page's offers (at most a page of ids; the primary
                    // key's offer_id prefix finds them).
                    std::unordered_map<std::int64_t, std::int64_t> used;
                    if (last > first) {
                        std::vector<db::Value> params{db::Value(actor.user_id)};
                        std::string sql =
                            "SELECT offer_id, COUNT(*) FROM offer_redemptions WHERE user_id = $1 AND offer_id IN (";
                        for (std::int64_t i = first; i < last; ++i) {
                            params.emplace_back(shown[static_cast<std::size_t>(i)].second.id);
                            sql += (i > first ? ", $" : "$") + std::to_string(params.size());
                        }
                        sql += ") GROUP BY offer_id";
                        auto counts = c.query(sql, params);
                        for (std::size_t r = 0; r < counts.size(); ++r) {
                            used[counts.row(r).int64(0)] = counts.row(r).int64(1);
                        }
                    }
                    json::array items;
                    for (std::int64_t i = first; i < last; ++i) {
                        const auto& [nearest, o] = shown[static_cast<std::size_t>(i)];
                        json::object item = offer_json(o);
                        if (nearest) {
                            item["distance_km"] = std::round(*nearest * 1000) / 1000;
                        }
                        const auto found = used.find(o.id);
                        item["redemptions_left"] =
                            std::max<std::int64_t>(0, o.limit_per_member - (found == used.end() ? 0 : found->second));
                        items.push_back(std::move(item));
                    }
                    return http::page_json(std::move(items), page, total);
                });
            };
            co_return Response::json(co_await svc->database.workers().run(std::move(job)));
        },
        authenticated());

    // Redeem on one of the member's booked appointments: eligible, active, valid for its vehicle
    // and location, within the limit (the next redemption number is a unique key).
    router.add(
        Method::Post,
        "/api/v1/offers/{id}/redeem",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto body = req.json_object();
            FieldReader r(body);
            auto appointment = r.string("appointment_id", Presence::Required, 1, 64).value_or("");
            r.finish();
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, actor, appointment, now, id = std::string(req.param("id"))] {
                return svc->database.with_transaction([&](db::Connection& c) {
                    auto o = find_offer(c, id);
                    if (!o) {
                        throw ApiError::not_found("Offer");
                    }
                    auto a = booking::appointment_ref(c, appointment);
                    if (!a || a->user_id != actor.user_id) {
                        throw ApiError::validation({{"appointment_id", "is not one of your appointments"}});
                    }
                    if (a->status != "booked") {
                        throw ApiError::conflict("The appointment is " + a->status, "appointment_closed");
                    }
                    auto refuse = [](const std::string& why) { throw ApiError::conflict(why, "offer_not_applicable"); };
                    if (!o->active || now < o->starts_at_ms || now >= o->expires_at_ms) {
                        refuse("The offer is not running");
                    }
                    const auto plan = plan_of(c, actor.user_id);
                    if (!o->plans.empty() &&
                        (!plan || std::find(o->plans.begin(), o->plans.end(), *plan) == o->plans.end())) {
                        refuse("Your plan is not eligible for this offer");
                    }
                    if (!o->locations.empty() &&
                        std::find(o->locations.begin(), o->locations.end(), a->location_id) == o->locations.end()) {
                        refuse("The offer does not apply at this location");
                    }
                    if (!vehicle_matches(*o,
                                         a->vehicle_id ? std::optional<VehicleFacts>(facts_of(c, *a->vehicle_id))
                                                       : std::optional<VehicleFacts>(VehicleFacts{}))) {
                        refuse("The offer does not apply to this vehicle");
                    }
                    const std::int64_t used =
                        c.query("SELECT COUNT(*) FROM offer_redemptions WHERE offer_id = $1 AND user_id = $2",
                                {o->id, actor.user_id})
                            .row(0)
                            .int64(0);
                    if (used >= o->limit_per_member) {
                        throw ApiError::conflict("You have used this offer", "offer_used");
                    }
                    try {
                        c.execute(
                            "INSERT INTO offer_redemptions (offer_id, user_id, sequence, appointment_public_id, "
                            "created_at_ms) VALUES ($1, $2, $3, $4, $5)",
                            {o->id, actor.user_id, used + 1, appointment, now});
                    } catch (const db::Error& e) {
                        if (e.kind() == db::Error::Kind::UniqueViolation) {
                            throw ApiError::conflict("You have used this offer", "offer_used");
                        }
                        throw;
                    }
                    return json::object{{"offer_id", o->public_id},
                                        {"appointment_id", appointment},
                                        {"redemptions_left", o->limit_per_member - used - 1},
                                        {"redeemed_at", core::format_rfc3339(now)}};
                });
            };
            json::object redeemed = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(redeemed, 201);
        },
        authenticated());
}

}  // namespace motorpool::membership
