#include "service.hpp"

#include <algorithm>
#include <cctype>

#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"
#include "mail/mail.hpp"

namespace motorpool::auth {

using core::ApiError;
using db::Connection;
using db::Value;

namespace {

constexpr std::int64_t kStatusCacheMs = 30'000;
constexpr std::int64_t kFifteenMinutesMs = 15LL * 60 * 1000;
constexpr const char* kUserColumns = "id, public_id, name, email, phone, role, active, created_at_ms, updated_at_ms";

User user_from(const db::Row& row) {
    User u;
    u.id = row.int64(0);
    u.public_id = row.text(1);
    u.name = row.text(2);
    u.email = row.text(3);
    u.phone = row.opt_text(4);
    u.role = role_from_name(row.text(5)).value_or(Role::Member);
    u.active = row.boolean(6);
    u.created_at_ms = row.int64(7);
    u.updated_at_ms = row.int64(8);
    return u;
}

std::optional<User> find_user(Connection& c, const std::string& column, const Value& value) {
    auto rows = c.query(std::string("SELECT ") + kUserColumns + " FROM users WHERE " + column + " = $1", {value});
    if (rows.empty()) {
        return std::nullopt;
    }
    return user_from(rows.front());
}

std::string new_opaque_token() {
    return core::base64url_encode(core::random_bytes(32));
}

ApiError invalid_credentials() {
    return ApiError::unauthorized("Invalid credentials");
}

}  // namespace

std::optional<std::string> normalise_email(const std::string& email) {
    std::string e = email;
    auto not_space = [](unsigned char c) { return !std::isspace(c); };
    e.erase(e.begin(), std::find_if(e.begin(), e.end(), not_space));
    e.erase(std::find_if(e.rbegin(), e.rend(), not_space).base(), e.end());
    std::transform(e.begin(), e.end(), e.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto at = e.find('@');
    if (e.size() < 3 || e.size() > 254 || at == std::string::npos || at == 0 || at > 64 ||
        e.find('@', at + 1) != std::string::npos) {
        return std::nullopt;
    }
    auto dot = e.find('.', at + 2);
    if (dot == std::string::npos || e.back() == '.') {
        return std::nullopt;
    }
    for (unsigned char c : e) {
        if (c <= 0x20 || c == 0x7F || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' || c == '\\') {
            return std::nullopt;
        }
    }
    return e;
}

AuthService::AuthService(db::Database& database, AuthOptions options, std::shared_ptr<core::Clock> clock)
    : database_(database),
      options_(std::move(options)),
      clock_(clock ? std::move(clock) : std::make_shared<core::SystemClock>()),
      hasher_(options_.password_opslimit, options_.password_memlimit),
      signer_(options_.secret_key, options_.issuer, options_.audience),
      login_by_email_(5, kFifteenMinutesMs, kFifteenMinutesMs),
      login_by_address_(20, kFifteenMinutesMs, kFifteenMinutesMs),
      magic_by_email_(3, kFifteenMinutesMs, kFifteenMinutesMs),
      magic_by_address_(10, kFifteenMinutesMs, kFifteenMinutesMs) {}

namespace {
constexpr std::int64_t kLegacyAccessTtlMs = std::int64_t{60} * 60 * 1000;
constexpr std::int64_t kLegacyRefreshTtlMs = std::int64_t{7} * 24 * 60 * 60 * 1000;
}  // namespace

std::string AuthService::issue_access_token(const User& user, std::int64_t now, std::int64_t ttl_ms) const {
    AccessClaims claims;
    claims.subject = user.public_id;
    claims.role = role_name(user.role);
    claims.issued_at_s = now / 1000;
    claims.expires_at_s = (now + ttl_ms) / 1000;
    claims.token_id = core::new_uuid_v7(now);
    return signer_.issue(claims);
}

Session AuthService::issue_session(const User& user,
                                   const std::optional<std::string>& device_id,
                                   const std::optional<std::string>& family_id,
                                   SessionKind kind) {
    const std::int64_t now = now_ms();
    const bool legacy = kind == SessionKind::Legacy;
    const std::int64_t access_ttl = legacy ? kLegacyAccessTtlMs : options_.access_ttl_ms;
    const std::int64_t refresh_ttl = legacy ? kLegacyRefreshTtlMs : options_.refresh_ttl_ms;
    Session session;
    session.access_token = issue_access_token(user, now, access_ttl);
    session.expires_in_s = access_ttl / 1000;
    session.refresh_token = new_opaque_token();
    session.user = user;
    std::string family = family_id.value_or(core::new_uuid_v7(now));
    Value device = device_id ? Value(*device_id) : Value();
    // Through the group-commit writer: concurrent logins share one durable commit.
    database_.group_commit().submit_blocking([&](Connection& c) {
        c.execute(
            "INSERT INTO refresh_tokens (user_id, family_id, token_hash, device_id, created_at_ms, expires_at_ms, "
            "reusable) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            {user.id,
             family,
             core::sha256_hex(session.refresh_token),
             device,
             now,
             now + refresh_ttl,
             std::int64_t{legacy ? 1 : 0}});
        if (device_id) {  // the device signing in is registered, or seen again
            c.execute(
                "INSERT INTO devices (user_id, device_id, platform, created_at_ms, last_seen_at_ms) VALUES ($1, $2, "
                "'unknown', $3, $3) ON CONFLICT (user_id, device_id) DO UPDATE SET last_seen_at_ms = "
                "excluded.last_seen_at_ms",
                {user.id, *device_id, now});
        }
    });
    return session;
}

std::optional<User> AuthService::user_by(Connection& c, const std::string& column, const Value& value) const {
    auto user = find_user(c, column, value);
    if (user) {
        detail(c, *user);
    }
    return user;
}

void AuthService::detail(Connection& c, User& user) const {
    if (details_) {
        user.details = details_(c, user.id);
    }
}

User AuthService::create_user_blocking(const NewUser& input, const std::optional<std::string>& referral_code) {
    auto email = normalise_email(input.email);
    if (!email) {
        throw ApiError::validation({{"email", "is not a valid e-mail address"}});
    }
    std::string hash = hasher_.hash(input.password);  // outside the transaction: it takes a while
    const std::int64_t now = now_ms();
    for (int attempt = 0;; ++attempt) {
        try {
            return database_.with_transaction([&](Connection& c) {
                if (referral_code && !registered_) {
                    throw ApiError::validation({{"referral_code", "referrals are not enabled on this server"}});
                }
                if (!c.query("SELECT 1 FROM users WHERE email = $1", {*email}).empty()) {
                    throw ApiError::conflict("An account with this e-mail address already exists", "email_taken");
                }
                std::string public_id = core::new_uuid_v7(now);
                c.execute(
                    "INSERT INTO users (public_id, name, email, phone, role, password_hash, created_at_ms, "
                    "updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                    {public_id,
                     input.name,
                     *email,
                     input.phone ? Value(*input.phone) : Value(),
                     std::string(role_name(input.role)),
                     hash,
                     now});
                User created = *user_by(c, "public_id", public_id);
                if (registered_) {
                    registered_(c, created.id, referral_code, now);
                    created = *user_by(c, "public_id", public_id);  // with what the hook added
                }
                return created;
            });
        } catch (const db::Error& e) {
            if (e.kind() != db::Error::Kind::UniqueViolation) {
                throw;
            }
            // Two registrations of one address raced past the check, or a hook's unique value (a
            // referral code) collided: that is worth another attempt.
            if (e.constraint().find("email") != std::string::npos || attempt >= 4) {
                throw ApiError::conflict("An account with this e-mail address already exists", "email_taken");
            }
        }
    }
}

Session AuthService::register_user(const NewUser& user,
                                   const std::optional<std::string>& referral_code,
                                   SessionKind kind) {
    User created = create_user_blocking(user, referral_code);
    spdlog::info("registered user {}", created.public_id);
    return issue_session(created, std::nullopt, std::nullopt, kind);
}

Session AuthService::login(const std::string& email_input,
                           const std::string& password,
                           const std::optional<std::string>& device_id,
                           const std::string& client_address,
                           SessionKind kind) {
    const std::int64_t now = now_ms();
    std::string email = normalise_email(email_input).value_or(email_input);
    const std::string email_key = "e:" + email;
    const std::string address_key = "a:" + client_address;
    std::int64_t wait =
        std::max(login_by_email_.retry_after_ms(email_key, now), login_by_address_.retry_after_ms(address_key, now));
    if (wait > 0) {
        throw ApiError::too_many_requests(static_cast<int>((wait + 999) / 1000));
    }
    auto found = database_.with_reader([&](Connection& c) -> std::optional<std::pair<User, std::string>> {
        auto rows =
            c.query(std::string("SELECT ") + kUserColumns + ", password_hash FROM users WHERE email = $1", {email});
        if (rows.empty()) {
            return std::nullopt;
        }
        User user = user_from(rows.front());
        detail(c, user);
        return std::make_pair(user, rows.front().opt_text(9).value_or(""));
    });
    // Unknown addresses verify against a dummy hash: the same work, the same answer.
    bool ok = hasher_.verify(password, found ? found->second : std::string());
    if (!ok || !found->first.active) {
        login_by_email_.record_failure(email_key, now);
        login_by_address_.record_failure(address_key, now);
        throw invalid_credentials();
    }
    login_by_email_.record_success(email_key);
    return issue_session(found->first, device_id, std::nullopt, kind);
}

Session AuthService::refresh(const std::string& refresh_token) {
    enum class Outcome { Rotated, Kept, Unknown, Reused };
    const std::int64_t now = now_ms();
    const std::string hash = core::sha256_hex(refresh_token);
    std::optional<User> user;
    std::string family;
    std::optional<std::string> device;
    Outcome outcome = database_.with_transaction([&](Connection& c) {
        auto rows = c.query(
            "SELECT id, user_id, family_id, expires_at_ms, rotated_at_ms, revoked_at_ms, device_id, reusable FROM "
            "refresh_tokens WHERE token_hash = $1",
            {hash});
        if (rows.empty()) {
            return Outcome::Unknown;
        }
        auto row = rows.front();
        family = row.text(2);
        if (!row.is_null(5) || row.int64(3) <= now) {
            return Outcome::Unknown;
        }
        if (row.int64(7) != 0) {
            // A legacy session's token is not rotated: good again until it expires or is revoked.
            user = user_by(c, "id", row.int64(1));
            return Outcome::Kept;
        }
        // Only one exchange of a token can win; a second one is a replay of a stolen token.
        if (!row.is_null(4) ||
            c.execute("UPDATE refresh_tokens SET rotated_at_ms = $1 WHERE id = $2 AND rotated_at_ms IS NULL",
                      {now, row.int64(0)}) != 1) {
            c.execute("UPDATE refresh_tokens SET revoked_at_ms = $1 WHERE family_id = $2 AND revoked_at_ms IS NULL",
                      {now, family});
            return Outcome::Reused;
        }
        user = user_by(c, "id", row.int64(1));
        device = row.opt_text(6);
        return Outcome::Rotated;
    });
    switch (outcome) {
        case Outcome::Unknown:
            throw ApiError::unauthorized("Invalid refresh token");
        case Outcome::Reused:
            spdlog::warn("refresh token reuse detected; revoked token family {}", family);
            throw ApiError::unauthorized("Invalid refresh token");
        case Outcome::Rotated:
        case Outcome::Kept:
            break;
    }
    if (!user || !user->active) {
        throw ApiError::unauthorized("Invalid refresh token");
    }
    if (outcome == Outcome::Kept) {
        Session session;
        session.access_token = issue_access_token(*user, now, kLegacyAccessTtlMs);
        session.expires_in_s = kLegacyAccessTtlMs / 1000;
        session.refresh_token = refresh_token;
        session.user = *user;
        return session;
    }
    return issue_session(*user, device, family);  // the family stays the device's
}

void AuthService::logout(const std::string& refresh_token) {
    const std::int64_t now = now_ms();
    const std::string hash = core::sha256_hex(refresh_token);
    database_.with_transaction([&](Connection& c) {
        auto rows = c.query("SELECT family_id FROM refresh_tokens WHERE token_hash = $1", {hash});
        if (!rows.empty()) {
            c.execute("UPDATE refresh_tokens SET revoked_at_ms = $1 WHERE family_id = $2 AND revoked_at_ms IS NULL",
                      {now, rows.front().text(0)});
        }
    });
}

void AuthService::request_magic_link(const std::string& email_input, const std::string& client_address) {
    const std::int64_t now = now_ms();
    auto email = normalise_email(email_input);
    const std::string email_key = "e:" + email.value_or(email_input);
    const std::string address_key = "a:" + client_address;
    std::int64_t wait =
        std::max(magic_by_email_.retry_after_ms(email_key, now), magic_by_address_.retry_after_ms(address_key, now));
    if (wait > 0) {
        throw ApiError::too_many_requests(static_cast<int>((wait + 999) / 1000));
    }
    // Every request counts against the limit, whether or not the address exists.
    magic_by_email_.record_failure(email_key, now);
    magic_by_address_.record_failure(address_key, now);
    if (!email) {
        return;
    }
    std::string token = new_opaque_token();
    std::string base = options_.frontend_url.empty() ? options_.public_url : options_.frontend_url;
    std::string link = base + "/auth/magic-link?token=" + token;
    bool queued = database_.with_transaction([&](Connection& c) {
        auto user = user_by(c, "email", *email);
        if (!user || !user->active) {
            return false;
        }
        c.execute("INSERT INTO magic_links (user_id, token_hash, created_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4)",
                  {user->id, core::sha256_hex(token), now, now + options_.magic_link_ttl_ms});
        mail::enqueue(c,
                      *email,
                      "Your motorpool sign-in link",
                      "Sign in to motorpool with this link within 15 minutes:\n\n" + link +
                          "\n\nIf you did not ask for it, ignore this message.",
                      now);
        return true;
    });
    if (queued && options_.mail_queued) {
        options_.mail_queued();
    }
}

Session AuthService::verify_magic_link(const std::string& token) {
    const std::int64_t now = now_ms();
    const std::string hash = core::sha256_hex(token);
    auto user = database_.with_transaction([&](Connection& c) -> std::optional<User> {
        auto rows = c.query(
            "SELECT id, user_id FROM magic_links WHERE token_hash = $1 AND used_at_ms IS NULL AND "
            "expires_at_ms > $2",
            {hash, now});
        if (rows.empty() || c.execute("UPDATE magic_links SET used_at_ms = $1 WHERE id = $2 AND used_at_ms IS NULL",
                                      {now, rows.front().int64(0)}) != 1) {
            return std::nullopt;
        }
        return user_by(c, "id", rows.front().int64(1));
    });
    if (!user || !user->active) {
        throw ApiError::unauthorized("Invalid or expired sign-in link");
    }
    return issue_session(*user, std::nullopt);
}

User AuthService::get_user(std::int64_t user_id) {
    auto user = database_.with_reader([&](Connection& c) { return user_by(c, "id", user_id); });
    if (!user) {
        throw ApiError::not_found("User");
    }
    return *user;
}

User AuthService::update_me(std::int64_t user_id,
                            const std::optional<std::string>& name,
                            const std::optional<std::optional<std::string>>& phone) {
    const std::int64_t now = now_ms();
    return database_.with_transaction([&](Connection& c) {
        if (name) {
            c.execute("UPDATE users SET name = $1, updated_at_ms = $2 WHERE id = $3", {*name, now, user_id});
        }
        if (phone) {
            c.execute("UPDATE users SET phone = $1, updated_at_ms = $2 WHERE id = $3",
                      {*phone ? Value(**phone) : Value(), now, user_id});
        }
        auto user = user_by(c, "id", user_id);
        if (!user) {
            throw ApiError::not_found("User");
        }
        return *user;
    });
}

UserPage AuthService::list_users(std::int64_t page, std::int64_t page_size, const std::optional<std::string>& query) {
    return database_.with_reader([&](Connection& c) {
        std::string where = " WHERE 1 = 1";
        std::vector<Value> params;
        if (query && !query->empty()) {
            std::string pattern = *query;
            std::transform(pattern.begin(), pattern.end(), pattern.begin(), [](unsigned char ch) {
                return static_cast<char>(std::tolower(ch));
            });
            // LIKE metacharacters in the search text match themselves.
            std::string escaped;
            for (char ch : pattern) {
                if (ch == '%' || ch == '_' || ch == '\\') {
                    escaped.push_back('\\');
                }
                escaped.push_back(ch);
            }
            params.emplace_back("%" + escaped + "%");
            where += " AND (lower(name) LIKE $1 ESCAPE '\\' OR email LIKE $1 ESCAPE '\\')";
        }
        UserPage out;
        out.total = c.query("SELECT COUNT(*) FROM users" + where, params).front().int64(0);
        auto paged = params;
        paged.emplace_back(page_size);
        paged.emplace_back((page - 1) * page_size);
        const std::string n = std::to_string(params.size());
        auto rows = c.query(std::string("SELECT ") + kUserColumns + " FROM users" + where +
                                " ORDER BY created_at_ms, id LIMIT $" + std::to_string(params.size() + 1) +
                                " OFFSET $" + std::to_string(params.size() + 2),
                            paged);
        (void)n;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            out.items.push_back(user_from(rows.row(i)));
            detail(c, out.items.back());
        }
        return out;
    });
}

User AuthService::update_user(std::int64_t acting_user_id,
                              const std::string& public_id,
                              const std::optional<Role>& role,
                              const std::optional<bool>& active) {
    const std::int64_t now = now_ms();
    User updated = database_.with_transaction([&](Connection& c) {
        auto user = user_by(c, "public_id", public_id);
        if (!user) {
            throw ApiError::not_found("User");
        }
        if (user->id == acting_user_id && ((role && *role != user->role) || (active && !*active))) {
            // An admin demoting or deactivating themselves could leave nobody to undo it.
            throw ApiError::validation({{role ? "role" : "active", "cannot be changed on your own account"}});
        }
        if (role) {
            c.execute("UPDATE users SET role = $1, updated_at_ms = $2 WHERE id = $3",
                      {std::string(role_name(*role)), now, user->id});
        }
        if (active) {
            c.execute("UPDATE users SET active = $1, updated_at_ms = $2 WHERE id = $3", {*active, now, user->id});
            if (!*active) {
                c.execute("UPDATE refresh_tokens SET revoked_at_ms = $1 WHERE user_id = $2 AND revoked_at_ms IS NULL",
                          {now, user->id});
            }
        }
        return *user_by(c, "id", user->id);
    });
    invalidate(public_id);
    return updated;
}

std::optional<AccessClaims> AuthService::verify_access_token(const std::string& token) const {
    const std::int64_t now_s = now_ms() / 1000;
    auto& shard = verified_[std::hash<std::string>{}(token) % kVerifiedShards];
    {
        std::lock_guard lock(shard.mutex);
        if (auto it = shard.tokens.find(token); it != shard.tokens.end()) {
            if (it->second.expires_at_s > now_s) {
                return it->second;
            }
            shard.tokens.erase(it);
            return std::nullopt;
        }
    }
    auto claims = signer_.verify(token, now_s);
    if (claims) {
        std::lock_guard lock(shard.mutex);
        if (shard.tokens.size() >= kVerifiedPerShard) {
            shard.tokens.clear();
        }
        shard.tokens.emplace(token, *claims);
    }
    return claims;
}

std::optional<UserStatus> AuthService::cached_status(const std::string& public_id) const {
    std::lock_guard lock(cache_mutex_);
    auto it = status_cache_.find(public_id);
    if (it == status_cache_.end() || now_ms() - it->second.fetched_at_ms > kStatusCacheMs) {
        return std::nullopt;
    }
    return it->second;
}

std::optional<UserStatus> AuthService::load_status(const std::string& public_id) {
    auto user = database_.with_reader([&](Connection& c) { return user_by(c, "public_id", public_id); });
    if (!user) {
        return std::nullopt;
    }
    UserStatus status{user->id, user->role, user->active, now_ms()};
    std::lock_guard lock(cache_mutex_);
    if (status_cache_.size() > 100'000) {
        status_cache_.clear();  // bounded: a cold cache only costs lookups
    }
    status_cache_[public_id] = status;
    return status;
}

void AuthService::invalidate(const std::string& public_id) {
    std::lock_guard lock(cache_mutex_);
    status_cache_.erase(public_id);
}

std::int64_t AuthService::count_users() {
    return database_.with_reader([](Connection& c) { return c.query("SELECT COUNT(*) FROM users").front().int64(0); });
}

}  // namespace motorpool::auth
