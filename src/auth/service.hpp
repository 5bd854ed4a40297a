#pragma once
// Private to auth: the account flows. Every method blocks (database, Argon2id) and runs on a worker.

#include <array>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "auth/auth.hpp"
#include "password.hpp"
#include "throttle.hpp"
#include "tokens.hpp"

namespace motorpool::auth {

/// A session's terms: motorpool's own (rotating refresh tokens, AuthOptions' lifetimes), or the
/// original services' clients' (docs/compatibility.md): access 1 h, refresh 7 days, the refresh
/// token kept (not rotated) and good again until it expires, as they were documented.
enum class SessionKind { Standard, Legacy };

struct Session {
    std::string access_token;
    std::string refresh_token;
    std::int64_t expires_in_s = 0;
    User user;
};

struct UserPage {
    std::vector<User> items;
    std::int64_t total = 0;
};

/// What the authentication hook needs about a user, cached briefly so that verifying a token
/// usually costs no database round trip.
struct UserStatus {
    std::int64_t user_id = 0;
    Role role = Role::Member;
    bool active = false;
    std::int64_t fetched_at_ms = 0;
};

class AuthService {
public:
    AuthService(db::Database& database, AuthOptions options, std::shared_ptr<core::Clock> clock);

    db::Database& database() { return database_; }
    const AuthOptions& options() const { return options_; }
    void set_registered_hook(RegisteredHook hook) { registered_ = std::move(hook); }
    void set_details_hook(UserDetailsHook hook) { details_ = std::move(hook); }
    /// Before the server starts: the base of magic links when FRONTEND_URL is unset.
    void set_public_url(std::string url) { options_.public_url = std::move(url); }
    std::int64_t now_ms() const { return clock_->now_ms(); }

    Session register_user(const NewUser& user,
                          const std::optional<std::string>& referral_code,
                          SessionKind kind = SessionKind::Standard);
    Session login(const std::string& email,
                  const std::string& password,
                  const std::optional<std::string>& device_id,
                  const std::string& client_address,
                  SessionKind kind = SessionKind::Standard);
    Session refresh(const std::string& refresh_token);
    void logout(const std::string& refresh_token);
    /// Always succeeds from the caller's point of view (202): unknown or inactive e-mail addresses
    /// get no link, and nothing says so.
    void request_magic_link(const std::string& email, const std::string& client_address);
    Session verify_magic_link(const std::string& token);

    User get_user(std::int64_t user_id);
    User update_me(std::int64_t user_id,
                   const std::optional<std::string>& name,
                   const std::optional<std::optional<std::string>>& phone);
    UserPage list_users(std::int64_t page, std::int64_t page_size, const std::optional<std::string>& query);
    User update_user(std::int64_t acting_user_id,
                     const std::string& public_id,
                     const std::optional<Role>& role,
                     const std::optional<bool>& active);

    /// Token verification for the HTTP hook: signature and claims only (no database).
    std::optional<AccessClaims> verify_access_token(const std::string& token) const;
    std::optional<UserStatus> cached_status(const std::string& public_id) const;
    std::optional<UserStatus> load_status(const std::string& public_id);

    User create_user_blocking(const NewUser& user, const std::optional<std::string>& referral_code = std::nullopt);
    std::int64_t count_users();

private:
    Session issue_session(const User& user,
                          const std::optional<std::string>& device_id,
                          const std::optional<std::string>& family_id = std::nullopt,
                          SessionKind kind = SessionKind::Standard);
    std::string issue_access_token(const User& user, std::int64_t now, std::int64_t ttl_ms) const;
    void invalidate(const std::string& public_id);

    db::Database& database_;
    AuthOptions options_;
    std::shared_ptr<core::Clock> clock_;
    RegisteredHook registered_;
    UserDetailsHook details_;
    /// A user by a column, with the details other modules add.
    std::optional<User> user_by(db::Connection& c, const std::string& column, const db::Value& value) const;
    void detail(db::Connection& c, User& user) const;
    PasswordHasher hasher_;
    TokenSigner signer_;
    Throttle login_by_email_;
    Throttle login_by_address_;
    Throttle magic_by_email_;
    Throttle magic_by_address_;
    mutable std::mutex cache_mutex_;
    std::unordered_map<std::string, UserStatus> status_cache_;

    // Tokens already verified, keyed by their exact text: a client sends the same access token on
    // every request for up to 15 minutes, and verifying it (JSON, base64, HMAC) costs several
    // microseconds each time. A hit still checks expiry; any other text is verified in full.
    // Sharded so that I/O threads rarely meet on one mutex; a full shard is simply emptied.
    struct VerifiedShard {
        std::mutex mutex;
        std::unordered_map<std::string, AccessClaims> tokens;
    };
    static constexpr std::size_t kVerifiedShards = 16;
    static constexpr std::size_t kVerifiedPerShard = 4096;
    mutable std::array<VerifiedShard, kVerifiedShards> verified_;
};

/// Normalises an e-mail address (trim, lower case); nullopt when it is not a plausible address.
std::optional<std::string> normalise_email(const std::string& email);

}  // namespace motorpool::auth
