// HTTP adapter for accounts: parse and validate, call the service on a worker, shape the JSON.

#include <boost/json.hpp>

#include "core/errors.hpp"
#include "core/json.hpp"
#include "service.hpp"

namespace motorpool::auth {

namespace net = boost::asio;
namespace json = boost::json;
using core::ApiError;
using core::FieldReader;
using core::Presence;
using http::Method;
using http::Request;
using http::Response;

namespace {

constexpr std::size_t kAuthBodyLimit = std::size_t{16} * 1024;

json::object user_json(const User& u) {
    json::object o;
    o["id"] = u.public_id;
    o["name"] = u.name;
    o["email"] = u.email;
    o["phone"] = u.phone ? json::value(*u.phone) : json::value(nullptr);
    o["role"] = role_name(u.role);
    o["active"] = u.active;
    o["membership"] = nullptr;  // unless the membership module says otherwise
    boost::system::error_code ec;
    json::value details = json::parse(u.details, ec);
    if (!ec && details.is_object()) {
        for (const auto& [key, value] : details.as_object()) {
            o[key] = value;
        }
    }
    o["created_at"] = core::format_rfc3339(u.created_at_ms);
    o["updated_at"] = core::format_rfc3339(u.updated_at_ms);
    return o;
}

Response session_response(const Session& s, int status) {
    return Response::json(json::object{{"access_token", s.access_token},
                                       {"refresh_token", s.refresh_token},
                                       {"token_type", "Bearer"},
                                       {"expires_in", s.expires_in_s},
                                       {"user", user_json(s.user)}},
                          status);
}

// Fields a client may send but never set (mass assignment): accepted and ignored.
void ignore_server_fields(FieldReader& reader) {
    for (const char* field :
         {"role", "id", "active", "referral_code_own", "rewards_balance", "created_at", "updated_at"}) {
        reader.value(field, Presence::Optional);
    }
}

std::optional<std::string> read_phone(FieldReader& reader) {
    auto phone = reader.string("phone", Presence::Optional, 3, 32);
    if (phone && phone->find_first_not_of("0123456789+-() .") != std::string::npos) {
        reader.fail("phone", "may contain only digits, spaces and + - ( ) .");
        return std::nullopt;
    }
    return phone;
}

/// The original services' clients (through src/compat) get their documented session terms.
SessionKind session_kind(const Request& req) {
    return req.profile == "legacy" ? SessionKind::Legacy : SessionKind::Standard;
}

http::RouteOptions body_limited(http::Auth auth = http::Auth::None) {
    http::RouteOptions o;
    o.max_body_bytes = kAuthBodyLimit;
    o.auth = auth;
    return o;
}

}  // namespace

void register_routes(http::Router& router, const std::shared_ptr<AuthService>& svc) {
    router.add(
        Method::Post,
        "/api/v1/auth/register",
        [svc](Request req) -> net::awaitable<Response> {
            auto body = req.json_object();
            FieldReader r(body);
            NewUser user;
            auto name = r.string("name", Presence::Required, 1, 100);
            auto email = r.string("email", Presence::Required, 1, 254);
            auto password = r.string("password", Presence::Required, 8, 256);
            user.phone = read_phone(r);
            auto referral = r.string("referral_code", Presence::Optional, 1, 32);
            ignore_server_fields(r);
            std::optional<std::string> normalised;
            if (email) {
                normalised = normalise_email(*email);
                if (!normalised) {
                    r.fail("email", "is not a valid e-mail address");
                }
            }
            if (password && normalised && core::iequals(*password, *normalised)) {
                r.fail("password", "must not be the e-mail address");
            }
            r.finish();
            user.name = *name;
            user.email = *normalised;
            user.password = *password;
            auto job = [svc, user, referral, kind = session_kind(req)] {
                return svc->register_user(user, referral, kind);
            };
            Session session = co_await svc->database().workers().run(std::move(job));
            co_return session_response(session, 201);
        },
        body_limited());

    router.add(
        Method::Post,
        "/api/v1/auth/login",
        [svc](Request req) -> net::awaitable<Response> {
            auto body = req.json_object();
            FieldReader r(body);
            auto email = r.string("email", Presence::Required, 1, 320);
            auto password = r.string("password", Presence::Required, 1, 1024);
            auto device = r.string("device_id", Presence::Optional, 1, 200);
            r.finish();
            auto job = [svc,
                        email = *email,
                        password = *password,
                        device,
                        address = req.remote_address,
                        kind = session_kind(req)] { return svc->login(email, password, device, address, kind); };
            Session session = co_await svc->database().workers().run(std::move(job));
            co_return session_response(session, 200);
        },
        body_limited());

    router.add(
        Method::Post,
        "/api/v1/auth/refresh",
        [svc](Request req) -> net::awaitable<Response> {
            auto body = req.json_object();
            FieldReader r(body);
            auto token = r.string("refresh_token", Presence::Required, 1, 512);
            r.finish();
            auto job = [svc, token = *token] { return svc->refresh(token); };
            Session session = co_await svc->database().workers().run(std::move(job));
            co_return session_response(session, 200);
        },
        body_limited());

    router.add(
        Method::Post,
        "/api/v1/auth/logout",
        [svc](Request req) -> net::awaitable<Response> {
            auto body = req.json_object();
            FieldReader r(body);
            auto token = r.string("refresh_token", Presence::Required, 1, 512);
            r.finish();
            auto job = [svc, token = *token] { svc->logout(token); };
            co_await svc->database().workers().run(std::move(job));
            co_return Response::no_content();
        },
        body_limited());

    router.add(
        Method::Post,
        "/api/v1/auth/magic-link",
        [svc](Request req) -> net::awaitable<Response> {
            auto body = req.json_object();
            FieldReader r(body);
            auto email = r.string("email", Presence::Required, 1, 320);
            r.finish();
            auto job = [svc, email = *email, address = req.remote_address] { svc->request_magic_link(email, address); };
            co_await svc->database().workers().run(std::move(job));
            co_return Response::json(
                json::object{{"status", "accepted"},
                             {"detail", "If the address belongs to an account, a sign-in link is on its way"}},
                202);
        },
        body_limited());

    router.add(
        Method::Post,
        "/api/v1/auth/magic-link/verify",
        [svc](Request req) -> net::awaitable<Response> {
            auto body = req.json_object();
            FieldReader r(body);
            auto token = r.string("token", Presence::Required, 1, 512);
            r.finish();
            auto job = [svc, token = *token] { return svc->verify_magic_link(token); };
            Session session = co_await svc->database().workers().run(std::move(job));
            co_return session_response(session, 200);
        },
        body_limited());

    router.add(
        Method::Get,
        "/api/v1/me",
        [svc](Request req) -> net::awaitable<Response> {
            auto job = [svc, id = req.require_principal().user_id] { return svc->get_user(id); };
            User user = co_await svc->database().workers().run(std::move(job));
            co_return Response::json(user_json(user));
        },
        body_limited(http::Auth::Required));

    router.add(
        Method::Patch,
        "/api/v1/me",
        [svc](Request req) -> net::awaitable<Response> {
            auto body = req.json_object();
            FieldReader r(body);
            auto name = r.string("name", Presence::Optional, 1, 100);
            std::optional<std::optional<std::string>> phone;
            if (const auto* v = body.if_contains("phone"); v != nullptr && v->is_null()) {
                phone.emplace(std::nullopt);  // explicit null clears the phone number
                r.value("phone", Presence::Optional);
            } else if (auto p = read_phone(r)) {
                phone.emplace(*p);
            }
            r.value("email", Presence::Optional);  // not client-writable: ignored
            ignore_server_fields(r);
            r.finish();
            auto job = [svc, id = req.require_principal().user_id, name, phone] {
                return svc->update_me(id, name, phone);
            };
            User user = co_await svc->database().workers().run(std::move(job));
            co_return Response::json(user_json(user));
        },
        body_limited(http::Auth::Required));

    router.add(
        Method::Get,
        "/api/v1/users",
        [svc](Request req) -> net::awaitable<Response> {
            require_role(req, {Role::Admin});
            std::vector<core::FieldError> errors;
            std::int64_t page = req.query_integer("page", 1, 1, 1'000'000, errors);
            std::int64_t page_size = req.query_integer("page_size", 10, 1, 100, errors);
            auto q = req.query_param("q");
            if (q && q->size() > 100) {
                errors.push_back({"q", "must be at most 100 characters"});
            }
            if (!errors.empty()) {
                throw ApiError::validation(errors);
            }
            auto job = [svc, page, page_size, q] { return svc->list_users(page, page_size, q); };
            UserPage result = co_await svc->database().workers().run(std::move(job));
            json::array items;
            for (const auto& u : result.items) {
                items.push_back(user_json(u));
            }
            co_return Response::json(json::object{{"items", std::move(items)},
                                                  {"total", result.total},
                                                  {"page", page},
                                                  {"page_size", page_size},
                                                  {"total_pages", (result.total + page_size - 1) / page_size}});
        },
        body_limited(http::Auth::Required));

    router.add(
        Method::Patch,
        "/api/v1/users/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            require_role(req, {Role::Admin});
            auto body = req.json_object();
            FieldReader r(body);
            std::optional<Role> role;
            if (auto name = r.string("role", Presence::Optional, 1, 32)) {
                role = role_from_name(*name);
                if (!role) {
                    r.fail("role", "must be one of member, fleet_manager, support, admin");
                }
            }
            auto active = r.boolean("active", Presence::Optional);
            r.finish();
            auto job = [svc, actor = req.require_principal().user_id, id = std::string(req.param("id")), role, active] {
                return svc->update_user(actor, id, role, active);
            };
            User user = co_await svc->database().workers().run(std::move(job));
            co_return Response::json(user_json(user));
        },
        body_limited(http::Auth::Required));
}

}  // namespace motorpool::auth
