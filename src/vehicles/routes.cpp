// HTTP adapter for the registry: parse and validate, call the service on a worker, shape the JSON.

#include <boost/json.hpp>

#include "core/errors.hpp"
#include "core/json.hpp"
#include "http/paging.hpp"
#include "service.hpp"
#include "vehicles/vin.hpp"

namespace motorpool::vehicles {

namespace net = boost::asio;
namespace json = boost::json;
using core::ApiError;
using core::FieldReader;
using core::Presence;
using http::Method;
using http::Request;
using http::Response;

namespace {

constexpr std::size_t kVehicleBodyLimit = std::size_t{64} * 1024;
constexpr std::size_t kImportBodyLimit = std::size_t{8} * 1024 * 1024;
constexpr std::size_t kImportRejectsShown = 100;

http::RouteOptions authenticated() {
    return http::authenticated(kVehicleBodyLimit);
}

using auth::actor_of;

// A text field: trimmed, then checked; nullopt when absent or invalid (the reader holds the error).
std::optional<std::string> text_field(FieldReader& r,
                                      std::string_view field,
                                      Presence presence,
                                      const std::function<std::string(std::string_view)>& check) {
    auto raw = r.string(field, presence, 0, 8192);
    if (!raw) {
        return std::nullopt;
    }
    std::string value = trim_text(*raw);
    if (auto problem = check(value); !problem.empty()) {
        r.fail(field, problem);
        return std::nullopt;
    }
    return value;
}

std::optional<std::string> vin_field(FieldReader& r, Presence presence) {
    auto raw = r.string("vin", presence, 0, 64);
    if (!raw) {
        return std::nullopt;
    }
    VinCheck check = check_vin(trim_text(*raw));
    if (!check.valid) {
        r.fail("vin", check.error);
        return std::nullopt;
    }
    return check.vin;
}

std::optional<std::vector<std::string>> image_urls_field(FieldReader& r) {
    const json::value* value = r.value("image_urls", Presence::Optional);
    if (value == nullptr) {
        return std::nullopt;
    }
    if (!value->is_array()) {
        r.fail("image_urls", "must be an array of URLs");
        return std::nullopt;
    }
    const auto& array = value->as_array();
    if (array.size() > kMaxImageUrls) {
        r.fail("image_urls", "must hold at most 20 URLs");
        return std::nullopt;
    }
    std::vector<std::string> urls;
    for (std::size_t i = 0; i < array.size(); ++i) {
        std::string field = "image_urls[" + std::to_string(i) + "]";
        if (!array[i].is_string()) {
            r.fail(field, "must be a string");
            continue;
        }
        std::string url(array[i].as_string());
        if (auto problem = check_image_url(url); !problem.empty()) {
            r.fail(field, problem);
            continue;
        }
        urls.push_back(std::move(url));
    }
    return urls;
}

struct OptionalFields {
    std::optional<std::string> trim;
    std::optional<std::int64_t> year;
    std::optional<std::string> license_plate;
    std::optional<double> odometer_km;
    std::optional<std::string> fuel_type;
    std::optional<std::string> description;
};

OptionalFields optional_fields(FieldReader& r, std::int64_t now_ms) {
    OptionalFields f;
    f.trim = text_field(r, "trim", Presence::Optional, [](std::string_view v) { return check_name(v, 64); });
    if (auto year = r.integer("year", Presence::Optional)) {
        if (auto problem = check_year(*year, now_ms); !problem.empty()) {
            r.fail("year", problem);
        } else {
            f.year = year;
        }
    }
    f.license_plate = text_field(r, "license_plate", Presence::Optional, check_plate);
    if (auto km = r.number("odometer_km", Presence::Optional)) {
        if (auto problem = check_odometer(*km); !problem.empty()) {
            r.fail("odometer_km", problem);
        } else {
            f.odometer_km = km;
        }
    }
    f.fuel_type = text_field(r, "fuel_type", Presence::Optional, check_fuel_type);
    f.description = text_field(r, "description", Presence::Optional, check_description);
    return f;
}

bool is_null(const json::object& body, std::string_view field) {
    const auto* v = body.if_contains(field);
    return v != nullptr && v->is_null();
}

template <typename T>
Patch<T> as_patch(const json::object& body, std::string_view field, const std::optional<T>& value) {
    if (is_null(body, field)) {
        return std::optional<T>{};  // explicit null clears the field
    }
    if (value) {
        return value;
    }
    return std::nullopt;
}

// Fields the server owns: accepted and ignored so a client can send back what it read.
void ignore_server_fields(FieldReader& r) {
    for (const char* field : {"id", "dongle_id", "connection_type", "created_at", "updated_at"}) {
        r.value(field, Presence::Optional);
    }
}

json::object decode_json(const VinDecode& d) {
    const VinCheck& c = d.check;
    json::array rules;
    for (const auto& rule : c.rules) {
        rules.push_back(json::object{
            {"rule", rule.rule}, {"passed", rule.passed}, {"enforced", rule.enforced}, {"message", rule.message}});
    }
    auto opt_char = [](const std::optional<char>& ch) {
        return ch ? json::value(std::string(1, *ch)) : json::value(nullptr);
    };
    auto opt_text = [](const std::optional<std::string>& s) { return s ? json::value(*s) : json::value(nullptr); };
    json::object o;
    o["vin"] = c.vin;
    o["valid"] = c.valid;
    o["error"] = c.error.empty() ? json::value(nullptr) : json::value(c.error);
    o["rules"] = std::move(rules);
    o["check_digit"] =
        json::object{{"expected", opt_char(c.check_digit_expected)},
                     {"found", opt_char(c.check_digit_found)},
                     {"required", c.check_digit_required},
                     {"matches", c.check_digit_expected && c.check_digit_expected == c.check_digit_found}};
    o["wmi"] = d.wmi.empty() ? json::value(nullptr) : json::value(d.wmi);
    o["vds"] = d.vds.empty() ? json::value(nullptr) : json::value(d.vds);
    o["vis"] = d.vis.empty() ? json::value(nullptr) : json::value(d.vis);
    o["region"] = opt_text(d.region);
    o["country"] = opt_text(d.country);
    o["manufacturer"] = opt_text(d.manufacturer);
    if (d.model_year) {
        json::array years;
        for (int y : d.model_year->candidates) {
            years.push_back(y);
        }
        o["model_year"] = json::object{
            {"code", std::string(1, d.model_year->code)},
            {"candidates", std::move(years)},
            {"selected", d.model_year->selected ? json::value(*d.model_year->selected) : json::value(nullptr)},
        };
    } else {
        o["model_year"] = nullptr;
    }
    return o;
}

}  // namespace

void register_routes(http::Router& router, const std::shared_ptr<VehicleService>& svc) {
    router.add(
        Method::Get,
        "/api/v1/vehicles",
        [svc](Request req) -> net::awaitable<Response> {
            std::vector<core::FieldError> errors;
            ListQuery q;
            const http::PageQuery paging = http::read_page_query(req, errors);
            q.page = paging.page;
            q.page_size = paging.page_size;
            q.keyset = paging.keyset;
            q.after_id = paging.after.value_or(0);
            for (auto [name, target] : {std::pair{"make", &q.make}, std::pair{"model", &q.model}}) {
                if (auto value = req.query_param(name)) {
                    if (value->empty() || value->size() > 64) {
                        errors.push_back({name, "must be 1 to 64 characters"});
                    } else {
                        *target = *value;
                    }
                }
            }
            if (req.query_param("year")) {
                q.year = req.query_integer("year", 0, kMinYear, 2100, errors);
            }
            if (auto mine = req.query_param("mine")) {
                if (*mine != "true" && *mine != "false") {
                    errors.push_back({"mine", "must be true or false"});
                }
                q.mine = *mine == "true";
            }
            if (auto text = req.query_param("q")) {
                if (text->size() > 64) {
                    errors.push_back({"q", "must be at most 64 characters"});
                } else {
                    q.q = trim_text(*text);
                }
            }
            if (!errors.empty()) {
                throw ApiError::validation(errors);
            }
            auto job = [svc, actor = actor_of(req), q] { return svc->list(actor, q); };
            VehiclePage page = co_await svc->database().workers().run(std::move(job));
            json::array items;
            for (const auto& v : page.items) {
                items.push_back(vehicle_json(v));
            }
            json::object out{{"items", std::move(items)}, {"page_size", q.page_size}};
            if (page.total) {
                out["total"] = *page.total;
                out["page"] = q.page;
                out["total_pages"] = (*page.total + q.page_size - 1) / q.page_size;
            }
            out["next_cursor"] = page.next_cursor ? json::value(*page.next_cursor) : json::value(nullptr);
            co_return Response::json(out);
        },
        authenticated());

    router.add(
        Method::Post,
        "/api/v1/vehicles",
        [svc](Request req) -> net::awaitable<Response> {
            auto body = req.json_object();
            FieldReader r(body);
            VehicleInput in;
            auto vin = vin_field(r, Presence::Required);
            auto check = [](std::string_view v) { return check_name(v, 64); };
            auto make = text_field(r, "make", Presence::Required, check);
            auto model = text_field(r, "model", Presence::Required, check);
            OptionalFields f = optional_fields(r, svc->now_ms());
            auto urls = image_urls_field(r);
            auto owner = r.string("owner_id", Presence::Optional, 1, 64);
            ignore_server_fields(r);
            r.finish();
            in.vin = *vin;
            in.make = *make;
            in.model = *model;
            in.trim = f.trim;
            in.year = f.year;
            in.license_plate = f.license_plate;
            in.odometer_km = f.odometer_km;
            in.fuel_type = f.fuel_type;
            in.description = f.description;
            in.image_urls = urls.value_or(std::vector<std::string>{});
            in.owner_public_id = owner;
            auto job = [svc, actor = actor_of(req), in] { return svc->create(actor, in); };
            Vehicle created = co_await svc->database().workers().run(std::move(job));
            Response response = Response::json(vehicle_json(created), 201);
            response.header("Location", "/api/v1/vehicles/" + created.public_id);
            co_return response;
        },
        authenticated());

    // CSV import for staff (the dashboard sends a large file in chunks of rows, each with the
    // header, so every request is bounded and the user sees progress): the CLI's importer, upsert by VIN.
    router.add(
        Method::Post,
        "/api/v1/vehicles/import",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = actor_of(req);
            if (actor.role != auth::Role::FleetManager && actor.role != auth::Role::Admin) {
                throw ApiError::forbidden("Only fleet managers and admins import vehicles");
            }
            if (req.header("Content-Type").value_or("").find("text/csv") != 0) {
                throw ApiError::unsupported_media_type("text/csv");
            }
            auto skip = req.query_param("skip_existing").value_or("false");
            if (skip != "true" && skip != "false") {
                throw ApiError::validation({{"skip_existing", "must be true or false"}});
            }
            ImportOptions options;
            options.skip_existing = skip == "true";
            options.batch_size = 2000;
            auto job = [svc, csv = std::move(req.body), options] {
                try {
                    return import_vehicles_csv(svc->database(), csv, options);
                } catch (const core::InputError& e) {
                    throw ApiError::validation({{"file", e.what()}});
                }
            };
            ImportSummary summary = co_await svc->database().workers().run(std::move(job));
            json::array rejects;
            for (std::size_t i = 0; i < summary.rejects.size() && i < kImportRejectsShown; ++i) {
                const auto& r = summary.rejects[i];
                rejects.push_back(json::object{{"line", r.line}, {"vin", r.vin}, {"reason", r.reason}});
            }
            json::array warnings;
            for (const auto& w : summary.warnings) {
                warnings.push_back(json::string(w));
            }
            json::object out{{"rows", summary.rows},
                             {"inserted", summary.inserted},
                             {"updated", summary.updated},
                             {"unchanged", summary.unchanged},
                             {"skipped", summary.skipped},
                             {"owner_kept", summary.owner_kept},
                             {"rejected", summary.rejected},
                             {"rejects", std::move(rejects)},
                             {"warnings", std::move(warnings)}};
            co_return Response::json(out);
        },
        http::authenticated(kImportBodyLimit));

    router.add(
        Method::Get,
        "/api/v1/vehicles/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            auto job = [svc, actor = actor_of(req), key = std::string(req.param("id"))] {
                return svc->get(actor, key);
            };
            Vehicle vehicle = co_await svc->database().workers().run(std::move(job));
            co_return Response::json(vehicle_json(vehicle));
        },
        authenticated());

    router.add(
        Method::Patch,
        "/api/v1/vehicles/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            auto body = req.json_object();
            FieldReader r(body);
            VehiclePatch p;
            p.vin = vin_field(r, Presence::Optional);
            auto check = [](std::string_view v) { return check_name(v, 64); };
            p.make = text_field(r, "make", Presence::Optional, check);
            p.model = text_field(r, "model", Presence::Optional, check);
            for (const char* required : {"vin", "make", "model"}) {
                if (is_null(body, required)) {
                    r.fail(required, "cannot be cleared");
                }
            }
            OptionalFields f = optional_fields(r, svc->now_ms());
            p.trim = as_patch(body, "trim", f.trim);
            p.year = as_patch(body, "year", f.year);
            p.license_plate = as_patch(body, "license_plate", f.license_plate);
            p.odometer_km = as_patch(body, "odometer_km", f.odometer_km);
            p.fuel_type = as_patch(body, "fuel_type", f.fuel_type);
            p.description = as_patch(body, "description", f.description);
            if (is_null(body, "image_urls")) {
                p.image_urls = std::vector<std::string>{};
                r.value("image_urls", Presence::Optional);
            } else {
                p.image_urls = image_urls_field(r);
            }
            auto owner = r.string("owner_id", Presence::Optional, 1, 64);
            p.owner_public_id = as_patch(body, "owner_id", owner);
            ignore_server_fields(r);
            r.finish();
            auto job = [svc, actor = actor_of(req), key = std::string(req.param("id")), p] {
                return svc->update(actor, key, p);
            };
            Vehicle vehicle = co_await svc->database().workers().run(std::move(job));
            co_return Response::json(vehicle_json(vehicle));
        },
        authenticated());

    router.add(
        Method::Delete,
        "/api/v1/vehicles/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            auto job = [svc, actor = actor_of(req), key = std::string(req.param("id"))] { svc->remove(actor, key); };
            co_await svc->database().workers().run(std::move(job));
            co_return Response::no_content();
        },
        authenticated());

    router.add(
        Method::Post,
        "/api/v1/vehicles/{id}/dongle",
        [svc](Request req) -> net::awaitable<Response> {
            auto body = req.json_object();
            FieldReader r(body);
            auto dongle = text_field(r, "dongle_id", Presence::Required, check_dongle_id);
            auto type = text_field(r, "connection_type", Presence::Required, check_connection_type);
            r.finish();
            auto job =
                [svc, actor = actor_of(req), key = std::string(req.param("id")), dongle = *dongle, type = *type] {
                    return svc->link_dongle(actor, key, dongle, type);
                };
            Vehicle vehicle = co_await svc->database().workers().run(std::move(job));
            co_return Response::json(vehicle_json(vehicle));
        },
        authenticated());

    router.add(
        Method::Delete,
        "/api/v1/vehicles/{id}/dongle",
        [svc](Request req) -> net::awaitable<Response> {
            auto job = [svc, actor = actor_of(req), key = std::string(req.param("id"))] {
                svc->unlink_dongle(actor, key);
            };
            co_await svc->database().workers().run(std::move(job));
            co_return Response::no_content();
        },
        authenticated());

    // Pure computation: answered on the I/O thread.
    router.add(
        Method::Get,
        "/api/v1/vins/{vin}",
        [](Request req) -> net::awaitable<Response> {
            std::string_view vin = req.param("vin");
            if (vin.size() > 64) {
                throw ApiError::validation({{"vin", "must be at most 64 characters"}});
            }
            co_return Response::json(decode_json(decode_vin(vin)));
        },
        authenticated());
}

std::shared_ptr<VehicleService> install(http::Router& router,
                                        db::Database& database,
                                        std::shared_ptr<core::Clock> clock) {
    if (!clock) {
        clock = std::make_shared<core::SystemClock>();
    }
    auto service = std::make_shared<VehicleService>(database, std::move(clock));
    register_routes(router, service);
    return service;
}

}  // namespace motorpool::vehicles
