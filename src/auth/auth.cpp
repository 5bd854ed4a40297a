#include "auth/auth.hpp"

#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "service.hpp"

namespace motorpool::auth {

namespace net = boost::asio;
using core::ApiError;

void register_routes(http::Router& router, const std::shared_ptr<AuthService>& svc);
void register_device_routes(http::Router& router, const std::shared_ptr<AuthService>& svc);

const char* role_name(Role role) {
    switch (role) {
        case Role::Member:
            return "member";
        case Role::FleetManager:
            return "fleet_manager";
        case Role::Support:
            return "support";
        case Role::Admin:
            return "admin";
    }
    return "member";
}

std::optional<Role> role_from_name(std::string_view name) {
    for (Role r : {Role::Member, Role::FleetManager, Role::Support, Role::Admin}) {
        if (name == role_name(r)) {
            return r;
        }
    }
    return std::nullopt;
}

Role role_of(const http::Request& request) {
    return role_from_name(request.require_principal().role).value_or(Role::Member);
}

void require_role(const http::Request& request, std::initializer_list<Role> roles) {
    Role role = role_of(request);
    for (Role allowed : roles) {
        if (role == allowed) {
            return;
        }
    }
    throw ApiError::forbidden("Your role does not allow this");
}

bool sees_all_rows(Role role) {
    return role != Role::Member;
}

bool may_write_all(Role role) {
    return role == Role::FleetManager || role == Role::Admin;
}

Actor actor_of(const http::Request& request) {
    return Actor{request.require_principal().user_id, role_of(request)};
}

bool may_access(const Actor& actor, std::optional<std::int64_t> owner_user_id, Access access) {
    const bool owner = owner_user_id == actor.user_id;
    return owner || (access == Access::Read ? sees_all_rows(actor.role) : may_write_all(actor.role));
}

void require_access(const Actor& actor,
                    std::optional<std::int64_t> owner_user_id,
                    Access access,
                    const char* what,
                    const char* forbidden_detail) {
    if (!may_access(actor, owner_user_id, Access::Read)) {
        throw ApiError::not_found(what);
    }
    if (access == Access::Write && !may_access(actor, owner_user_id, Access::Write)) {
        throw ApiError::forbidden(forbidden_detail);
    }
}

AuthOptions load_options(core::Settings& s) {
    AuthOptions o;
    s.module("auth");
    o.secret_key = s.secret("SECRET_KEY", "Signs access tokens; at least 32 characters in production", [] {
        return core::base64_encode(core::random_bytes(48));
    });
    if (s.production() && !o.secret_key.empty() && o.secret_key.size() < 32) {
        s.fail("SECRET_KEY", "must be at least 32 characters in production");
    }
    o.access_ttl_ms = s.duration("MOTORPOOL_ACCESS_TOKEN_TTL",
                                 std::chrono::milliseconds(o.access_ttl_ms),
                                 "Lifetime of an access token",
                                 std::chrono::seconds(1),
                                 std::chrono::hours(24))
                          .count();
    o.public_url = "http://localhost:" + s.value_of("PORT");  // magic links when FRONTEND_URL is unset
    return o;
}

std::shared_ptr<AuthService> install(http::Router& router,
                                     db::Database& database,
                                     AuthOptions options,
                                     std::shared_ptr<core::Clock> clock) {
    if (options.secret_key.size() < 16) {
        throw core::ConfigError("SECRET_KEY is too short to sign tokens (at least 16 characters)");
    }
    auto svc = std::make_shared<AuthService>(database, std::move(options), std::move(clock));
    router.set_authenticator([svc](std::string token) -> net::awaitable<std::shared_ptr<const http::Principal>> {
        auto claims = svc->verify_access_token(token);
        if (!claims) {
            throw ApiError::unauthorized("Invalid or expired token");
        }
        auto status = svc->cached_status(claims->subject);
        if (!status) {
            auto load = [svc, subject = claims->subject] { return svc->load_status(subject); };
            status = co_await svc->database().workers().run(std::move(load));
        }
        if (!status || !status->active) {
            throw ApiError::unauthorized("Invalid or expired token");
        }
        auto principal = std::make_shared<http::Principal>();
        principal->user_id = status->user_id;
        principal->subject = claims->subject;
        principal->role = role_name(status->role);
        principal->expires_at_ms = claims->expires_at_s * 1000;
        co_return principal;
    });
    register_routes(router, svc);
    register_device_routes(router, svc);
    return svc;
}

User create_user(AuthService& service, const NewUser& user) {
    return service.create_user_blocking(user);
}

std::vector<User> list_users(AuthService& service) {
    std::vector<User> all;
    for (std::int64_t page = 1;; ++page) {
        auto batch = service.list_users(page, 100, std::nullopt);
        all.insert(all.end(), batch.items.begin(), batch.items.end());
        if (batch.items.size() < 100) {
            return all;
        }
    }
}

std::vector<std::string> ensure_demo_users(AuthService& service, const std::string& password) {
    if (service.count_users() != 0) {
        return {};
    }
    create_user(service, {"Demo Member", "member@motorpool.local", password, std::nullopt, Role::Member});
    create_user(service, {"Demo Admin", "admin@motorpool.local", password, std::nullopt, Role::Admin});
    return {"member@motorpool.local", "admin@motorpool.local"};
}

}  // namespace motorpool::auth
