#pragma once
// Accounts and authentication: users and roles, Argon2id passwords, JWT access tokens,
// rotating refresh-token families, login throttling, and the authorisation helpers every
// module uses. Contract: the "Accounts" section of shared/design/API.md.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "core/config.hpp"
#include "core/time.hpp"
#include "db/db.hpp"
#include "http/request.hpp"
#include "http/router.hpp"

namespace motorpool::auth {

/// This module's migrations (src/auth/migrations), for db::migrate in the App's module order.
std::vector<db::Migration> migrations(db::Dialect dialect);

enum class Role { Member, FleetManager, Support, Admin };

const char* role_name(Role role);
std::optional<Role> role_from_name(std::string_view name);

/// A user as the API shows it (`GET /api/v1/me`).
struct User {
    std::string details = "{}";  // JSON object: fields other modules add (membership, referral code, rewards)
    std::int64_t id = 0;         // internal key
    std::string public_id;       // UUIDv7, the API's `id`
    std::string name;
    std::string email;
    std::optional<std::string> phone;
    Role role = Role::Member;
    bool active = true;
    std::int64_t created_at_ms = 0;
    std::int64_t updated_at_ms = 0;
};

struct NewUser {
    std::string name;
    std::string email;
    std::string password;
    std::optional<std::string> phone;
    Role role = Role::Member;
};

class AuthService;

/// Fields other modules add to the user object when a user is read, as the text of a JSON object
/// (the membership module's: `membership`, `referral_code`, `rewards_balance`).
using UserDetailsHook = std::function<std::string(db::Connection& c, std::int64_t user_id)>;

/// Called inside the registration transaction once the user row is in, with the referral code
/// the user gave, if any; throwing ApiError refuses the registration. The membership module gives
/// each user a code and records referrals.
using RegisteredHook = std::function<void(
    db::Connection& c, std::int64_t user_id, const std::optional<std::string>& referral_code, std::int64_t now_ms)>;

/// Authorisation helpers for handlers of every module.
/// The caller's role, or 401 when anonymous.
Role role_of(const http::Request& request);
/// 403 unless the caller has one of `roles` (401 when anonymous).
void require_role(const http::Request& request, std::initializer_list<Role> roles);
/// True for roles that see every member's rows (fleet managers, support, admins).
bool sees_all_rows(Role role);
/// True for roles that may change rows other members own (fleet managers, admins; support reads).
bool may_write_all(Role role);

/// Who acts on a row: the caller's internal user id and role.
struct Actor {
    std::int64_t user_id = 0;
    Role role = Role::Member;
};
/// The signed-in caller of a request (401 when anonymous).
Actor actor_of(const http::Request& request);

/// The one access policy for owner-scoped rows (vehicles and everything hanging off them, and the
/// rows of later modules): the owner reads and writes; staff who see every row read; fleet managers
/// and admins write. A caller who may not read a row is told it does not exist (404), never 403.
enum class Access { Read, Write };
bool may_access(const Actor& actor, std::optional<std::int64_t> owner_user_id, Access access);
/// Throws 404 (`what` not found) unless the actor may read the row, then 403 (`forbidden_detail`)
/// unless they may also write it when `access` is Write.
void require_access(const Actor& actor,
                    std::optional<std::int64_t> owner_user_id,
                    Access access,
                    const char* what,
                    const char* forbidden_detail);

struct AuthOptions {
    std::string secret_key;
    std::string issuer = "motorpool";
    std::string audience = "motorpool-api";
    std::int64_t access_ttl_ms = std::int64_t{15} * 60 * 1000;
    std::int64_t refresh_ttl_ms = 30LL * 24 * 60 * 60 * 1000;
    std::int64_t magic_link_ttl_ms = std::int64_t{15} * 60 * 1000;
    std::string public_url = "http://localhost:8000";  // base of magic links when FRONTEND_URL is unset
    std::string frontend_url;
    // Argon2id cost (docs/security.md).
    unsigned long long password_opslimit = 2;
    std::size_t password_memlimit = std::size_t{19} * 1024 * 1024;
    /// Called after a transaction queued mail (the mailer then delivers at once, not at its next poll).
    std::function<void()> mail_queued;
};

/// Declares and reads SECRET_KEY (generated in development), MOTORPOOL_ACCESS_TOKEN_TTL and
/// FRONTEND_URL.
AuthOptions load_options(core::Settings& settings);

/// Wires the accounts routes into the router and the authentication hook into its pipeline.
/// The returned service lives as long as the router uses it.
std::shared_ptr<AuthService> install(http::Router& router,
                                     db::Database& database,
                                     AuthOptions options,
                                     std::shared_ptr<core::Clock> clock = nullptr);

/// CLI and startup helpers (blocking; not for I/O threads).
User create_user(AuthService& service, const NewUser& user);
std::vector<User> list_users(AuthService& service);
/// On an empty users table, creates a demo member and a demo admin; returns their e-mail addresses
/// (empty when users already existed). Both use `password`.
std::vector<std::string> ensure_demo_users(AuthService& service, const std::string& password);

}  // namespace motorpool::auth
