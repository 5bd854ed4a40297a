// Smartcar routes: the Connect URL, the OAuth callback, the user's connections.

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "auth/auth.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/secret_box.hpp"
#include "core/text.hpp"
#include "http/paging.hpp"
#include "smartcar/poller.hpp"
#include "smartcar/service.hpp"
#include "smartcar/webhooks.hpp"
#include "vehicles/vin.hpp"

namespace motorpool::smartcar {

namespace net = boost::asio;
namespace json = boost::json;
using core::ApiError;
using http::Request;
using http::Response;

namespace {

http::RouteOptions authenticated() {
    return http::authenticated(1024);
}

Response redirect(const std::string& location) {
    Response r;
    r.status = 302;
    r.header("Location", location);
    r.header("Cache-Control", "no-store");
    return r;
}

// Connect's error codes (shared/design/SMARTCAR.md §1.2); anything else is reported as is, bounded.
std::string safe_code(std::string_view code) {
    std::string out;
    for (char c : code.substr(0, 64)) {
        if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_') {
            out += c;
        }
    }
    return out.empty() ? "unknown_error" : out;
}

/// The path of an absolute URL ("https://app.example/exchange?x" -> "/exchange"); nullopt for none.
std::optional<std::string> path_of_url(const std::string& url) {
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) {
        return std::nullopt;
    }
    const auto slash = url.find('/', scheme + 3);
    if (slash == std::string::npos) {
        return std::nullopt;
    }
    std::string path = url.substr(slash, url.find_first_of("?#", slash) - slash);
    if (path.size() < 2) {
        return std::nullopt;
    }
    return path;
}

}  // namespace

std::shared_ptr<SmartcarService> install(http::Router& router,
                                         db::Database& database,
                                         core::EventBus& bus,
                                         telemetry::Ingestor& ingestor,
                                         core::MetricsRegistry* metrics,
                                         jobs::Scheduler& jobs,
                                         SmartcarOptions options,
                                         telemetry::LiveRefresh* refresh) {
    auto service = std::make_shared<SmartcarService>(database, bus, ingestor, metrics, std::move(options));
    PollerOptions poll;
    poll.interval = service->options().poll_interval;
    auto poller = std::make_shared<Poller>(*service, ingestor, poll);
    WebhookOptions hooks;
    hooks.process = service->options().process_webhooks;
    auto processor = std::make_shared<WebhookProcessor>(*service, ingestor, bus, metrics, hooks);
    service->set_jobs(poller, processor);
    jobs.add(poller->job(jobs));
    SmartcarService* svc = service.get();  // the App stops its scheduler before the service goes
    jobs.add({"smartcar.token_renewal",
              std::chrono::minutes(10),
              std::chrono::milliseconds(0),
              true,
              [svc](const std::atomic<bool>&) {
                  if (std::int64_t renewed = svc->renew_expiring_refresh_tokens(); renewed > 0) {
                      spdlog::info("smartcar: renewed {} refresh token(s) due to expire within a week", renewed);
                  }
              }});
    jobs.add({"smartcar.webhook_prune",
              std::chrono::hours(1),
              std::chrono::milliseconds(0),
              true,
              [svc](const std::atomic<bool>&) { svc->webhooks().prune(); }});
    install_webhooks(router, *service, processor, metrics);
    if (refresh != nullptr) {
        refresh->fetch = [poller](std::int64_t vehicle_id) { return poller->poll_now(vehicle_id); };
        refresh->threads = &service->calls();
    }

    router.add(
        http::Method::Get,
        "/api/v1/connect/smartcar",
        [service](Request req) -> net::awaitable<Response> {
            const auto& who = req.require_principal();
            if (service->options().mode != "simulated" &&
                (service->options().client_id.empty() || service->options().client_secret.empty())) {
                // Connect would get an empty client_id: say what is missing instead.
                throw ApiError(500,
                               "Internal Server Error",
                               "Smartcar is not configured: set SMARTCAR_CLIENT_ID and SMARTCAR_CLIENT_SECRET",
                               "urn:motorpool:problem:smartcar:not_configured");
            }
            std::vector<core::FieldError> errors;
            auto make = req.query_param("make");
            if (make && (make->empty() || make->size() > 40 || !std::all_of(make->begin(), make->end(), [](char c) {
                             return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == ' ' || c == '-';
                         }))) {
                errors.push_back({"make", "must be a make name of letters, digits, spaces or hyphens"});
            }
            bool single_select = false;
            if (auto v = req.query_param("single_select")) {
                if (*v != "true" && *v != "false") {
                    errors.push_back({"single_select", "must be true or false"});
                }
                single_select = *v == "true";
            }
            auto vin = req.query_param("vin");
            if (vin) {
                auto check = vehicles::check_vin(*vin);
                if (!check.valid) {
                    errors.push_back({"vin", check.error});
                }
                vin = check.vin;
            }
            if (!errors.empty()) {
                throw ApiError::validation(errors);
            }
            auto work = [service, user = who.user_id, make, single_select, vin] {
                return service->connect_url(
                    user, make ? std::optional(core::to_upper_ascii(*make)) : std::nullopt, single_select, vin);
            };
            std::string url = co_await service->database().workers().run(std::move(work));
            co_return Response::json(json::object{{"url", url}});
        },
        authenticated());

    auto callback = [service](Request req) -> net::awaitable<Response> {
        const std::string frontend = service->options().frontend_url;
        // A browser coming back from Connect lands on a page: FRONTEND_URL's, or this server's own
        // dashboard (a relative redirect) when none is set; an API client without text/html gets JSON.
        const bool to_page =
            !frontend.empty() || req.header("Accept").value_or("").find("text/html") != std::string_view::npos;
        auto fail = [&](const std::string& code, const std::string& description, int status) -> Response {
            if (to_page) {
                return redirect(frontend + "/vehicle/connect?error=" + core::percent_encode(code) +
                                "&error_description=" + core::percent_encode(description));
            }
            throw ApiError(status, core::status_title(status), description, "urn:motorpool:problem:smartcar:" + code)
                .with_member("code", code);
        };
        const std::string state = req.query_param("state").value_or("");
        if (auto error = req.query_param("error")) {
            // The user said no, or Connect could not go on: the state is spent either way.
            auto consume = [service, state] {
                try {
                    service->consume_state(state);
                } catch (const ApiError&) {
                }
                return 0;
            };
            co_await service->database().workers().run(std::move(consume));
            std::string description = req.query_param("error_description").value_or("").substr(0, 500);
            co_return fail(safe_code(*error), description.empty() ? "Smartcar Connect failed" : description, 400);
        }
        const std::string code = req.query_param("code").value_or("");
        auto consume = [service, state] { return service->consume_state(state); };
        std::int64_t user_id = 0;
        try {
            user_id = co_await service->database().workers().run(std::move(consume));
        } catch (const ApiError& e) {
            if (!to_page) {
                throw;
            }
            std::string problem_code = "invalid_state";
            for (const auto& [name, value] : e.members()) {
                if (name == "code") {
                    problem_code = value;
                }
            }
            co_return fail(problem_code, e.detail(), 400);
        }
        if (code.empty() || code.size() > 200) {
            co_return fail("invalid_request", "The callback carries no authorization code", 400);
        }
        auto complete = [service, user_id, code] { return service->complete_connection(user_id, code); };
        ConnectResult result;
        try {
            result = co_await service->calls().run(std::move(complete));  // Smartcar's token endpoint
        } catch (const SmartcarError& e) {
            core::log_event(spdlog::level::warn,
                            "smartcar connect failed",
                            {{"request_id", req.request_id}, {"error", std::string_view(e.what())}});
            if (to_page) {
                co_return fail("smartcar_error", e.description(), 502);
            }
            throw upstream_problem(e);
        }
        service->poller().wake();  // a new connection's vehicles are polled at once
        if (to_page) {
            std::string first;
            for (const auto& v : result.vehicles) {
                if (v.vehicle_id && first.empty()) {
                    first = *v.vehicle_id;
                }
            }
            if (first.empty()) {
                // Nothing to show on the success page: say why, as the integration did.
                co_return fail("no_vehicles", "Smartcar Connect linked no vehicle for this account", 400);
            }
            co_return redirect(frontend + "/vehicle/connected?provider=smartcar&connection_id=" +
                               core::percent_encode(result.connection_id) +
                               "&vehicle_id=" + core::percent_encode(first));
        }
        json::array vehicles;
        for (const auto& v : result.vehicles) {
            vehicles.push_back(json::object{{"vehicle_id", v.vehicle_id ? json::value(*v.vehicle_id) : nullptr},
                                            {"vin", v.vin ? json::value(*v.vin) : nullptr},
                                            {"smartcar_vehicle_id", v.smartcar_vehicle_id},
                                            {"outcome", v.outcome}});
        }
        co_return Response::json(json::object{
            {"provider", "smartcar"}, {"connection_id", result.connection_id}, {"vehicles", std::move(vehicles)}});
    };
    router.add(http::Method::Get, "/oauth/smartcar/callback", callback);
    // SMARTCAR_REDIRECT_URI may name another path (the webhook server's /exchange, the balancer's
    // /auth/smartcar/callback): Connect sends the browser there, so the callback is served there too.
    if (auto path = path_of_url(service->options().redirect_uri);
        path && *path != "/oauth/smartcar/callback" &&
        router.match(http::Method::Get, *path).kind != http::Match::Kind::Found) {
        router.add(http::Method::Get, *path, callback);
    }

    router.add(
        http::Method::Get,
        "/api/v1/connections",
        [service](Request req) -> net::awaitable<Response> {
            auto work = [service, user = req.require_principal().user_id] {
                return service->connections_json(user, std::nullopt);
            };
            json::array items = co_await service->database().workers().run(std::move(work));
            co_return Response::json(json::object{{"items", std::move(items)}});
        },
        authenticated());

    // Smartcar's vehicle ids, for clients that know a car by them (the webhook server's API).
    router.add(
        http::Method::Get,
        "/api/v1/smartcar/vehicles",
        [service](Request req) -> net::awaitable<Response> {
            const auto actor = auth::actor_of(req);
            std::vector<core::FieldError> errors;
            auto page = http::read_page_query(req, errors, 10, 100);
            if (page.keyset) {
                errors.push_back({"cursor", "is not supported here: use page"});
            }
            auto id = req.query_param("smartcar_vehicle_id");
            if (id && (id->empty() || id->size() > 100)) {
                errors.push_back({"smartcar_vehicle_id", "must be 1 to 100 characters"});
            }
            if (!errors.empty()) {
                throw ApiError::validation(errors);
            }
            auto work = [service, actor, id, page] {
                return service->linked_vehicles_json(actor.user_id, auth::sees_all_rows(actor.role), id, page);
            };
            co_return Response::json(co_await service->database().workers().run(std::move(work)));
        },
        authenticated());

    router.add(
        http::Method::Get,
        "/api/v1/connections/{id}",
        [service](Request req) -> net::awaitable<Response> {
            std::string id(req.param("id"));
            if (!core::is_uuid(id)) {
                throw ApiError::not_found("Connection");
            }
            auto work = [service, user = req.require_principal().user_id, id] {
                return service->connections_json(user, id);
            };
            json::array items = co_await service->database().workers().run(std::move(work));
            if (items.empty()) {
                throw ApiError::not_found("Connection");
            }
            co_return Response::json(items[0]);
        },
        authenticated());

    router.add(
        http::Method::Delete,
        "/api/v1/connections/{id}",
        [service](Request req) -> net::awaitable<Response> {
            std::string id(req.param("id"));
            if (!core::is_uuid(id)) {
                throw ApiError::not_found("Connection");
            }
            auto work = [service, user = req.require_principal().user_id, id] { return service->disconnect(user, id); };
            bool found = co_await service->calls().run(std::move(work));  // Smartcar's disconnect call
            if (!found) {
                throw ApiError::not_found("Connection");
            }
            co_return Response::no_content();
        },
        authenticated());

    return service;
}

void start_jobs(SmartcarService& service) {
    service.start_jobs();
}

void stop_jobs(SmartcarService& service) {
    service.stop_jobs();
}

void set_local_origin(SmartcarService& service, const std::string& origin) {
    service.set_local_origin(origin);
}

}  // namespace motorpool::smartcar
