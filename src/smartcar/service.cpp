#include "smartcar/service.hpp"

#include <chrono>
#include <thread>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "smartcar/poller.hpp"
#include "smartcar/webhooks.hpp"
#include "vehicles/vehicles.hpp"
#include "vehicles/vin.hpp"

namespace motorpool::smartcar {

namespace json = boost::json;
using core::ApiError;

namespace {

constexpr std::int64_t kStateTtlMs = 10 * 60'000;
constexpr std::int64_t kRefreshMarginMs = 5 * 60'000;
constexpr std::int64_t kWaitForOtherRefreshMs = 3'000;
constexpr std::int64_t kRefreshTokenLifetimeMs = 60LL * 24 * 3600 * 1000;
constexpr std::int64_t kLeaseMs = 45'000;  // longer than one refresh call with its retries can take

ApiError state_problem(const std::string& code, const std::string& detail) {
    return ApiError(400, "Bad Request", detail, "urn:motorpool:problem:smartcar:" + code).with_member("code", code);
}

std::string default_origin(const std::string& configured, const std::string& fallback) {
    std::string origin = configured.empty() ? fallback : configured;
    while (!origin.empty() && origin.back() == '/') {
        origin.pop_back();
    }
    return origin;
}

}  // namespace

std::string token_aad(const std::string& connection_public_id, std::string_view field) {
    return "smartcar_connections:" + connection_public_id + ":" + std::string(field);
}

ApiError upstream_problem(const SmartcarError& error) {
    if (error.is_rate_limit()) {
        ApiError e(429,
                   "Too Many Requests",
                   "Smartcar rate limit: " + error.description(),
                   "urn:motorpool:problem:smartcar:rate_limit");
        e.with_header("Retry-After", std::to_string(std::max(1, error.retry_after_s)));
        e.with_member("smartcar_type", error.type()).with_member("smartcar_code", error.code().value_or(""));
        return e;
    }
    ApiError e(502, "Bad Gateway", "Smartcar: " + error.description(), "urn:motorpool:problem:smartcar:upstream");
    e.with_member("smartcar_type", error.type())
        .with_member("smartcar_code", error.code().value_or(""))
        .with_member("smartcar_request_id", error.request_id);
    return e;
}

SmartcarOptions load_options(core::Settings& s) {
    SmartcarOptions o;
    s.module("smartcar");
    // Unset, the mode is the simulator in development; in production it is never guessed as the
    // simulator (real credentials would silently get fake cars): live is inferred from a client id,
    // and with none the server refuses to start. `sandbox` is the integration's name for `test`.
    std::string mode =
        s.string("SMARTCAR_MODE",
                 "",
                 "simulated (the built-in simulator), test (or sandbox) or live (Connect's mode); unset: "
                 "simulated in development, live in production when SMARTCAR_CLIENT_ID is set");
    mode = core::to_lower_ascii(mode);
    if (mode == "sandbox") {
        mode = "test";
    }
    if (!mode.empty() && mode != "simulated" && mode != "test" && mode != "live") {
        s.fail("SMARTCAR_MODE", "must be simulated, test (sandbox) or live");
        mode = "simulated";
    }
    std::string production_client_id;
    if (mode.empty() && s.production()) {
        production_client_id = s.secret("SMARTCAR_CLIENT_ID", "The application's client id", {}, true);
        if (production_client_id.empty()) {
            s.fail("SMARTCAR_MODE", "must be set in production (simulated, test or live)");
            mode = "simulated";
        } else {
            mode = "live";
            s.derived("SMARTCAR_MODE", "live", "inferred in production from SMARTCAR_CLIENT_ID");
        }
    } else if (mode.empty()) {
        mode = "simulated";
        s.derived("SMARTCAR_MODE", "simulated", "unset outside production: the built-in simulator");
    }
    o.mode = mode;
    const bool simulated = o.mode == "simulated";
    // Simulated, the simulator plays Smartcar with credentials of its own, kept like the other
    // development secrets.
    auto generated = [simulated](std::size_t bytes, const char* prefix) -> std::function<std::string()> {
        if (!simulated) {
            return {};
        }
        return [bytes, prefix] { return prefix + core::hex_encode(core::random_bytes(bytes)); };
    };
    o.client_id = production_client_id.empty()
                      ? s.secret("SMARTCAR_CLIENT_ID", "The application's client id", generated(12, "sim-"), true)
                      : production_client_id;
    o.client_secret = s.secret("SMARTCAR_CLIENT_SECRET", "The application's client secret", generated(24, ""), true);
    o.management_token = s.secret(
        "SMARTCAR_MANAGEMENT_TOKEN", "Application management token (webhook signatures)", generated(16, ""), true);
    o.redirect_uri = s.string("SMARTCAR_REDIRECT_URI", "", "Connect's redirect URI");
    o.api_version =
        s.one_of("SMARTCAR_API_VERSION", "2", {"2", "3"}, "Vehicle API: 2 (endpoints) or 3 (signals)") == "3" ? 3 : 2;
    // The integration's names (SMARTCAR_BASE_URL, _AUTH_URL, _CONNECT_URL) as aliases; motorpool's win.
    auto aliased = [&s](const char* theirs, const char* ours, const char* meaning) {
        return s.string(ours, s.string(theirs, "", meaning), meaning);
    };
    o.api_origin = aliased("SMARTCAR_BASE_URL", "SMARTCAR_API_ORIGIN", "Vehicle API v2 origin");
    o.auth_origin = aliased("SMARTCAR_AUTH_URL", "SMARTCAR_AUTH_ORIGIN", "Token endpoint origin");
    o.connect_origin = aliased("SMARTCAR_CONNECT_URL", "SMARTCAR_CONNECT_ORIGIN", "Connect origin");
    o.api_v3_origin = s.string("SMARTCAR_API_V3_ORIGIN", "", "Vehicle API v3 origin");
    o.management_origin = s.string("SMARTCAR_MANAGEMENT_API_ORIGIN", "", "Management API origin");
    o.scopes = s.string("SMARTCAR_SCOPES",
                        "read_vehicle_info read_vin read_location read_odometer read_battery read_charge "
                        "control_charge",
                        "Permissions asked at Connect, space separated");
    o.poll_interval = s.duration("MOTORPOOL_SMARTCAR_POLL_INTERVAL",
                                 o.poll_interval,
                                 "How often a connected vehicle is polled",
                                 std::chrono::seconds(1));
    o.webhook_id = s.string("SMARTCAR_WEBHOOK_ID",
                            simulated ? kSimulatorWebhookId : "",
                            "Webhook vehicles are subscribed to when connected (empty: none)");
    o.process_webhooks =
        s.boolean("MOTORPOOL_WEBHOOK_PROCESSING", true, "Process deliveries as they arrive (false: log them only)");
    if (!simulated && s.production() && (o.client_id.empty() || o.client_secret.empty())) {
        s.fail("SMARTCAR_CLIENT_ID", "and SMARTCAR_CLIENT_SECRET must be set when SMARTCAR_MODE is test or live");
    }

    // What `motorpool config` shows for values left empty: the server derives them (set_local_origin).
    const std::string local = "http://127.0.0.1:" + s.value_of("PORT");
    s.derived(
        "SMARTCAR_REDIRECT_URI", local + "/oauth/smartcar/callback", "derived from PORT (the port bound, when PORT=0)");
    auto origin = [&](const char* name, const char* live) {
        s.derived(name,
                  simulated ? local + "/sim/smartcar" : live,
                  simulated ? "derived: the simulator on PORT" : "default: Smartcar");
    };
    origin("SMARTCAR_API_ORIGIN", "https://api.smartcar.com");
    origin("SMARTCAR_AUTH_ORIGIN", "https://auth.smartcar.com");
    origin("SMARTCAR_CONNECT_ORIGIN", "https://connect.smartcar.com");
    origin("SMARTCAR_API_V3_ORIGIN", "https://vehicle.api.smartcar.com");
    origin("SMARTCAR_MANAGEMENT_API_ORIGIN", "https://management.smartcar.com");
    return o;
}

SmartcarService::SmartcarService(db::Database& database,
                                 core::EventBus& bus,
                                 telemetry::Ingestor& ingestor,
                                 core::MetricsRegistry* metrics,
                                 SmartcarOptions options)
    : database_(database),
      bus_(bus),
      ingestor_(ingestor),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : std::make_shared<core::SystemClock>()),
      box_(options_.box ? *options_.box : throw std::invalid_argument("SmartcarOptions::box is required")) {
    if (metrics != nullptr) {
        refreshes_ = &metrics->counter("motorpool_smartcar_token_refreshes_total", "Smartcar token refreshes");
        refresh_failures_ = &metrics->counter("motorpool_smartcar_token_refresh_failures_total",
                                              "Smartcar token refreshes that failed");
    }
    set_local_origin("http://localhost:8000");
}

void SmartcarService::set_local_origin(const std::string& origin) {
    ClientOptions c;
    c.client_id = options_.client_id;
    c.client_secret = options_.client_secret;
    c.management_token = options_.management_token;
    c.redirect_uri = options_.redirect_uri.empty() ? origin + "/oauth/smartcar/callback" : options_.redirect_uri;
    c.api_version = options_.api_version;
    c.timeout = options_.client_timeout;
    const bool simulated = options_.mode == "simulated";
    const std::string sim = origin + "/sim/smartcar";
    c.origins.api = default_origin(options_.api_origin, simulated ? sim : "https://api.smartcar.com");
    c.origins.auth = default_origin(options_.auth_origin, simulated ? sim : "https://auth.smartcar.com");
    c.origins.connect = default_origin(options_.connect_origin, simulated ? sim : "https://connect.smartcar.com");
    c.origins.api_v3 = default_origin(options_.api_v3_origin, simulated ? sim : "https://vehicle.api.smartcar.com");
    c.origins.management =
        default_origin(options_.management_origin, simulated ? sim : "https://management.smartcar.com");
    c.origins.iam = simulated && options_.auth_origin.empty() ? sim : "https://iam.smartcar.com";
    client_ = std::make_unique<Client>(std::move(c));
}

std::string SmartcarService::connect_url(std::int64_t user_id,
                                         const std::optional<std::string>& make,
                                         bool single_select,
                                         const std::optional<std::string>& vin) {
    const std::string state = core::base64url_encode(core::random_bytes(32));
    const std::int64_t now = now_ms();
    database_.with_transaction([&](db::Connection& c) {
        c.execute("DELETE FROM oauth_states WHERE expires_at_ms < $1", {now - 24 * 3600 * 1000LL});
        c.execute(
            "INSERT INTO oauth_states (state_hash, user_id, provider, created_at_ms, expires_at_ms) "
            "VALUES ($1, $2, 'smartcar', $3, $4)",
            {core::sha256_hex(state), user_id, now, now + kStateTtlMs});
    });
    const auto& o = client_->options();
    std::string scope;
    for (char ch : options_.scopes) {
        scope += ch == ' ' ? std::string("%20") : core::percent_encode(std::string_view(&ch, 1));
    }
    std::string url = o.origins.connect +
                      "/oauth/authorize?response_type=code&client_id=" + core::percent_encode(o.client_id) +
                      "&redirect_uri=" + core::percent_encode(o.redirect_uri) + "&scope=" + scope +
                      "&state=" + core::percent_encode(state) + "&mode=" + core::percent_encode(options_.mode) +
                      "&approval_prompt=auto";
    if (make) {
        url += "&make=" + core::percent_encode(*make);
    }
    if (vin) {
        url += "&single_select=true&single_select_vin=" + core::percent_encode(*vin);
    } else if (single_select) {
        url += "&single_select=true";
    }
    return url;
}

std::int64_t SmartcarService::consume_state(const std::string& state) {
    if (state.empty() || state.size() > 200) {
        throw state_problem("invalid_state", "The Connect state is missing or malformed");
    }
    const std::string hash = core::sha256_hex(state);
    const std::int64_t now = now_ms();
    return database_.with_transaction([&](db::Connection& c) -> std::int64_t {
        // Used at most once: the conditional UPDATE is the single point of truth.
        auto used = c.query(
            "UPDATE oauth_states SET used_at_ms = $2 WHERE state_hash = $1 AND used_at_ms IS NULL "
            "AND expires_at_ms > $2 RETURNING user_id",
            {hash, now});
        if (!used.empty()) {
            return used.front().int64(0);
        }
        auto rows = c.query("SELECT used_at_ms, expires_at_ms FROM oauth_states WHERE state_hash = $1", {hash});
        if (rows.empty()) {
            throw state_problem("invalid_state", "The Connect state is not one this server issued");
        }
        if (!rows.front().is_null(0)) {
            throw state_problem("state_used", "The Connect state was already used");
        }
        throw state_problem("state_expired", "The Connect state expired; start connecting again");
    });
}

ConnectResult SmartcarService::complete_connection(std::int64_t user_id, const std::string& code) {
    TokenPair tokens = client_->exchange_code(code);
    const std::int64_t now = now_ms();
    std::string smartcar_user;
    try {
        smartcar_user = client_->user_id(tokens.access_token);
    } catch (const SmartcarError& e) {
        if (e.status() != 403) {
            throw;
        }
    }
    struct Found {
        VehicleAttributes attributes;
        std::optional<std::string> vin;
    };
    std::vector<Found> found;
    for (const auto& id : client_->vehicle_ids(tokens.access_token)) {
        Found f{client_->attributes(tokens.access_token, id), client_->vin(tokens.access_token, id)};
        found.push_back(std::move(f));
    }
    // The permissions actually granted (a user may untick some on Connect's page).
    std::string scopes = options_.scopes;
    if (!found.empty()) {
        auto granted = client_->permissions(tokens.access_token, found.front().attributes.id);
        scopes.clear();
        for (const auto& p : granted) {
            scopes += (scopes.empty() ? "" : " ") + p;
        }
    }

    ConnectResult result;
    result.connection_id = core::new_uuid_v7(now);
    const std::string& pid = result.connection_id;
    database_.with_transaction([&](db::Connection& c) {
        auto row = c.query(
            "INSERT INTO smartcar_connections (public_id, user_id, smartcar_user_id, status, scopes, access_token, "
            "refresh_token, access_expires_at_ms, refresh_expires_at_ms, created_at_ms, updated_at_ms) "
            "VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $9, $9) RETURNING id",
            {pid,
             user_id,
             smartcar_user.empty() ? db::Value() : db::Value(smartcar_user),
             scopes,
             box_.seal(tokens.access_token, token_aad(pid, "access_token")),
             box_.seal(tokens.refresh_token, token_aad(pid, "refresh_token")),
             now + tokens.expires_in_s * 1000,
             now + kRefreshTokenLifetimeMs,
             now});
        const std::int64_t connection_id = row.front().int64(0);
        for (const auto& f : found) {
            ConnectResult::Vehicle v;
            v.smartcar_vehicle_id = f.attributes.id;
            v.vin = f.vin;
            std::optional<std::int64_t> vehicle_id;
            std::string conflict;
            if (!f.vin) {
                v.outcome = "conflict";
                conflict = "vin_not_permitted";
            } else {
                auto claim = vehicles::claim_vehicle_by_vin(
                    c, *f.vin, user_id, f.attributes.make, f.attributes.model, f.attributes.year, now);
                switch (claim.outcome) {
                    case vehicles::ClaimOutcome::Created:
                        v.outcome = "created";
                        break;
                    case vehicles::ClaimOutcome::AlreadyOwned:
                        v.outcome = "linked";
                        break;
                    case vehicles::ClaimOutcome::Claimed:
                        v.outcome = "claimed";
                        break;
                    case vehicles::ClaimOutcome::OwnedByAnother:
                        v.outcome = "conflict";
                        conflict = "vin_owned_by_another_user";
                        break;
                    case vehicles::ClaimOutcome::InvalidVin:
                        v.outcome = "conflict";
                        conflict = "invalid_vin";
                        break;
                }
                if (claim.vehicle) {
                    vehicle_id = claim.vehicle->id;
                    v.vehicle_id = claim.vehicle->public_id;
                }
            }
            if (!conflict.empty()) {
                v.outcome += ": " + conflict;
            }
            // A car connected again moves to the newest connection.
            c.execute("DELETE FROM smartcar_vehicles WHERE smartcar_vehicle_id = $1", {f.attributes.id});
            c.execute(
                "INSERT INTO smartcar_vehicles (smartcar_vehicle_id, connection_id, vehicle_id, vin, make, model, "
                "model_year, conflict, next_poll_at_ms, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
                {f.attributes.id,
                 connection_id,
                 vehicle_id ? db::Value(*vehicle_id) : db::Value(),
                 f.vin ? db::Value(*f.vin) : db::Value(),
                 f.attributes.make,
                 f.attributes.model,
                 f.attributes.year ? db::Value(std::int64_t{*f.attributes.year}) : db::Value(),
                 conflict.empty() ? db::Value() : db::Value(conflict),
                 now});
            result.vehicles.push_back(std::move(v));
        }
    });
    if (!options_.webhook_id.empty()) {
        // Webhook deliveries for these vehicles (best effort: polling covers a failed subscription).
        for (const auto& f : found) {
            try {
                client_->subscribe(tokens.access_token, f.attributes.id, options_.webhook_id);
            } catch (const SmartcarError& e) {
                core::log_event(spdlog::level::warn,
                                "smartcar webhook subscription failed",
                                {{"connection_id", pid}, {"error", std::string_view(e.what())}});
            }
        }
    }
    core::log_event(spdlog::level::info,
                    "smartcar connection made",
                    {{"connection_id", pid},
                     {"user_internal_id", user_id},
                     {"vehicles", static_cast<std::int64_t>(result.vehicles.size())}});
    return result;
}

json::array SmartcarService::connections_json(std::int64_t user_id, const std::optional<std::string>& public_id) {
    return database_.with_reader([&](db::Connection& c) {
        std::string sql =
            "SELECT id, public_id, status, scopes, access_expires_at_ms, refresh_expires_at_ms, last_error, "
            "created_at_ms, updated_at_ms FROM smartcar_connections WHERE user_id = $1";
        std::vector<db::Value> params{user_id};
        if (public_id) {
            sql += " AND public_id = $2";
            params.emplace_back(*public_id);
        }
        sql += " ORDER BY id";
        auto rows = c.query(sql, params);
        json::array items;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            auto r = rows.row(i);
            json::array scopes;
            std::string_view text = r.text(3);
            while (!text.empty()) {
                auto space = text.find(' ');
                auto word = text.substr(0, space);
                if (!word.empty()) {
                    scopes.push_back(json::value(word));
                }
                text = space == std::string_view::npos ? std::string_view() : text.substr(space + 1);
            }
            json::array linked;
            auto vehicles = c.query(
                "SELECT s.smartcar_vehicle_id, s.vin, v.public_id, s.conflict FROM smartcar_vehicles s "
                "LEFT JOIN vehicles v ON v.id = s.vehicle_id WHERE s.connection_id = $1 ORDER BY s.created_at_ms, "
                "s.smartcar_vehicle_id",
                {r.int64(0)});
            for (std::size_t j = 0; j < vehicles.size(); ++j) {
                auto v = vehicles.row(j);
                linked.push_back(json::object{{"vehicle_id", v.is_null(2) ? json::value() : json::value(v.text(2))},
                                              {"vin", v.is_null(1) ? json::value() : json::value(v.text(1))},
                                              {"smartcar_vehicle_id", v.text(0)},
                                              {"conflict", v.is_null(3) ? json::value() : json::value(v.text(3))}});
            }
            auto time = [&](std::size_t col) {
                return r.is_null(col) ? json::value() : json::value(core::format_rfc3339(r.int64(col)));
            };
            json::value last_error;
            if (!r.is_null(6)) {
                boost::system::error_code ec;
                last_error = json::parse(r.text(6), ec);
            }
            items.push_back(json::object{{"id", r.text(1)},
                                         {"provider", "smartcar"},
                                         {"status", r.text(2)},
                                         {"scopes", std::move(scopes)},
                                         {"access_token_expires_at", time(4)},
                                         {"refresh_token_expires_at", time(5)},
                                         {"last_error", std::move(last_error)},
                                         {"vehicles", std::move(linked)},
                                         {"created_at", time(7)},
                                         {"updated_at", time(8)}});
        }
        return items;
    });
}

json::object SmartcarService::linked_vehicles_json(std::int64_t user_id,
                                                   bool all,
                                                   const std::optional<std::string>& smartcar_vehicle_id,
                                                   const http::PageQuery& page) {
    return database_.with_reader([&](db::Connection& c) {
        std::string where = " WHERE ($1 = 1 OR c.user_id = $2)";
        std::vector<db::Value> params{std::int64_t{all ? 1 : 0}, user_id};
        if (smartcar_vehicle_id) {
            params.emplace_back(*smartcar_vehicle_id);
            where += " AND s.smartcar_vehicle_id = $3";
        }
        const std::string from = " FROM smartcar_vehicles s JOIN smartcar_connections c ON c.id = s.connection_id";
        const std::int64_t total = c.query("SELECT COUNT(*)" + from + where, params).front().int64(0);
        params.emplace_back(page.page_size);
        params.emplace_back(page.offset());
        std::string sql =
            "SELECT s.smartcar_vehicle_id, v.public_id, s.vin, s.make, s.model, s.model_year, c.public_id, c.status, "
            "s.conflict";
        sql += from;
        sql += " LEFT JOIN vehicles v ON v.id = s.vehicle_id";
        sql += where;
        sql += " ORDER BY s.smartcar_vehicle_id LIMIT $" + std::to_string(params.size() - 1);
        sql += " OFFSET $" + std::to_string(params.size());
        auto rows = c.query(sql, params);
        json::array items;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            auto r = rows.row(i);
            auto text = [&](std::size_t col) { return r.is_null(col) ? json::value() : json::value(r.text(col)); };
            items.push_back(json::object{{"smartcar_vehicle_id", r.text(0)},
                                         {"vehicle_id", text(1)},
                                         {"vin", text(2)},
                                         {"make", text(3)},
                                         {"model", text(4)},
                                         {"year", r.is_null(5) ? json::value() : json::value(r.int64(5))},
                                         {"connection_id", r.text(6)},
                                         {"connection_status", r.text(7)},
                                         {"conflict", text(8)}});
        }
        return http::page_json(std::move(items), page, total);
    });
}

bool SmartcarService::disconnect(std::int64_t user_id, const std::string& public_id) {
    auto ids = database_.with_reader([&](db::Connection& c) {
        auto rows = c.query("SELECT id, status FROM smartcar_connections WHERE user_id = $1 AND public_id = $2",
                            {user_id, public_id});
        return rows.empty() ? std::optional<std::pair<std::int64_t, std::string>>()
                            : std::make_pair(rows.front().int64(0), rows.front().text(1));
    });
    if (!ids) {
        return false;
    }
    // Named copies, not a structured binding: the lambdas below capture them (clang 14).
    const std::int64_t connection_id = ids->first;
    const std::string status = ids->second;
    auto topics = vehicle_topics(connection_id);
    if (status == "active") {
        // Best effort: tell Smartcar first, so the application's access ends there too.
        auto vehicles = database_.with_reader([&](db::Connection& c) {
            auto rows =
                c.query("SELECT smartcar_vehicle_id FROM smartcar_vehicles WHERE connection_id = $1", {connection_id});
            std::vector<std::string> out;
            for (std::size_t i = 0; i < rows.size(); ++i) {
                out.push_back(rows.row(i).text(0));
            }
            return out;
        });
        for (const auto& vehicle : vehicles) {
            try {
                with_access_token(connection_id, [&](const Tokens& t) {
                    client_->disconnect(t.access_token, vehicle);
                    return 0;
                });
            } catch (const std::exception& e) {
                core::log_event(spdlog::level::warn,
                                "smartcar disconnecting a vehicle at Smartcar failed",
                                {{"connection_id", public_id}, {"error", std::string_view(e.what())}});
            }
        }
    }
    database_.with_transaction([&](db::Connection& c) {
        c.execute(
            "UPDATE smartcar_connections SET status = 'disconnected', access_token = NULL, refresh_token = NULL, "
            "access_expires_at_ms = NULL, refresh_expires_at_ms = NULL, refreshing_until_ms = NULL, updated_at_ms = $2 "
            "WHERE id = $1",
            {connection_id, now_ms()});
        c.execute("DELETE FROM smartcar_vehicles WHERE connection_id = $1", {connection_id});
    });
    publish_connection(topics, "disconnected");
    return true;
}

std::shared_ptr<std::mutex> SmartcarService::refresh_lock(std::int64_t connection_id) {
    std::lock_guard lock(locks_mutex_);
    auto& weak = refresh_locks_[connection_id];
    auto strong = weak.lock();
    if (!strong) {
        strong = std::make_shared<std::mutex>();
        weak = strong;
    }
    if (refresh_locks_.size() > 1024) {
        std::erase_if(refresh_locks_, [](const auto& kv) { return kv.second.expired(); });
    }
    return strong;
}

Tokens SmartcarService::load_tokens(db::Connection& c, std::int64_t connection_id) {
    auto rows = c.query(
        "SELECT public_id, user_id, status, smartcar_user_id, access_token, refresh_token, access_expires_at_ms, "
        "refresh_expires_at_ms, token_generation FROM smartcar_connections WHERE id = $1",
        {connection_id});
    if (rows.empty()) {
        throw ApiError::not_found("Connection");
    }
    auto r = rows.front();
    Tokens t;
    t.connection_id = connection_id;
    t.public_id = r.text(0);
    t.user_id = r.int64(1);
    t.status = r.text(2);
    t.smartcar_user_id = r.opt_text(3).value_or("");
    t.generation = r.int64(8);
    if (t.status != "active" || r.is_null(4) || r.is_null(5)) {
        return t;
    }
    auto access = box_.open(r.text(4), token_aad(t.public_id, "access_token"));
    auto refresh = box_.open(r.text(5), token_aad(t.public_id, "refresh_token"));
    if (!access || !refresh) {
        // Never the token itself in a log: only which connection and that the key does not open it.
        spdlog::error("smartcar connection {}: stored tokens do not open under the configured keys", t.public_id);
        throw ApiError(500, "Internal Server Error", "Stored credentials cannot be read");
    }
    t.access_token = std::move(*access);
    t.refresh_token = std::move(*refresh);
    t.access_expires_at_ms = r.opt_int64(6).value_or(0);
    t.refresh_expires_at_ms = r.opt_int64(7).value_or(0);
    return t;
}

Tokens SmartcarService::fresh_tokens(std::int64_t connection_id, bool force, std::int64_t seen) {
    auto reauth = [] {
        return ApiError(409,
                        "Conflict",
                        "The Smartcar connection needs the user to connect again",
                        "urn:motorpool:problem:smartcar:reauth_required")
            .with_member("code", "reauth_required");
    };
    Tokens t = database_.with_reader([&](db::Connection& c) { return load_tokens(c, connection_id); });
    if (t.status != "active") {
        throw reauth();
    }
    const std::int64_t now = now_ms();
    if ((force && t.generation != seen) || (!force && t.access_expires_at_ms > now + kRefreshMarginMs)) {
        return t;
    }
    // One refresh per connection at a time: a mutex among this node's threads, a lease in the row
    // among nodes (a row-level compare-and-set, so no transaction stays open over the HTTP call).
    auto lock = refresh_lock(connection_id);
    std::lock_guard guard(*lock);
    // Real time, not the service's clock: how long this worker waits for another node's refresh
    // (which takes one HTTP round trip) before answering 503 with Retry-After rather than holding
    // a worker for as long as the lease could last.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kWaitForOtherRefreshMs);
    while (true) {
        t = database_.with_reader([&](db::Connection& c) { return load_tokens(c, connection_id); });
        if (t.status != "active") {
            throw reauth();
        }
        const std::int64_t at = now_ms();
        if ((force && t.generation != seen) || (!force && t.access_expires_at_ms > at + kRefreshMarginMs)) {
            return t;  // refreshed meanwhile, here or on another node
        }
        std::int64_t won = database_.with_transaction([&](db::Connection& c) {
            return c.execute(
                "UPDATE smartcar_connections SET refreshing_until_ms = $3 WHERE id = $1 AND token_generation = $2 "
                "AND status = 'active' AND (refreshing_until_ms IS NULL OR refreshing_until_ms < $4)",
                {connection_id, t.generation, at + kLeaseMs, at});
        });
        if (won == 1) {
            break;
        }
        if (std::chrono::steady_clock::now() > deadline) {
            throw ApiError::unavailable("A Smartcar token refresh is in progress on another node", 1);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    TokenPair pair;
    try {
        pair = client_->refresh(t.refresh_token);
    } catch (const SmartcarError& e) {
        if (refresh_failures_ != nullptr) {
            refresh_failures_->inc();
        }
        if (e.is_invalid_grant()) {
            mark_reauth_required(connection_id, e);
            throw reauth();
        }
        database_.with_transaction([&](db::Connection& c) {
            c.execute("UPDATE smartcar_connections SET refreshing_until_ms = NULL WHERE id = $1", {connection_id});
        });
        throw;
    }
    // The rotated pair is committed before anyone uses it: the old refresh token dies a minute after use.
    const std::int64_t at = now_ms();
    Tokens next = t;
    next.access_token = pair.access_token;
    next.refresh_token = pair.refresh_token;
    next.access_expires_at_ms = at + pair.expires_in_s * 1000;
    next.refresh_expires_at_ms = at + kRefreshTokenLifetimeMs;
    next.generation = t.generation + 1;
    database_.with_transaction([&](db::Connection& c) {
        c.execute(
            "UPDATE smartcar_connections SET access_token = $2, refresh_token = $3, access_expires_at_ms = $4, "
            "refresh_expires_at_ms = $5, token_generation = token_generation + 1, refreshing_until_ms = NULL, "
            "last_error = NULL, updated_at_ms = $6 WHERE id = $1 AND token_generation = $7",
            {connection_id,
             box_.seal(next.access_token, token_aad(t.public_id, "access_token")),
             box_.seal(next.refresh_token, token_aad(t.public_id, "refresh_token")),
             next.access_expires_at_ms,
             next.refresh_expires_at_ms,
             at,
             t.generation});
    });
    if (refreshes_ != nullptr) {
        refreshes_->inc();
    }
    refresh_count_.fetch_add(1);
    return next;
}

std::int64_t SmartcarService::refreshes() const {
    return refresh_count_.load();
}

std::int64_t SmartcarService::renew_expiring_refresh_tokens(std::int64_t within_ms) {
    auto rows = database_.with_reader([&](db::Connection& c) {
        return c.query(
            "SELECT id, token_generation FROM smartcar_connections WHERE status = 'active' AND "
            "refresh_expires_at_ms < $1 ORDER BY refresh_expires_at_ms LIMIT 100",
            {now_ms() + within_ms});
    });
    std::int64_t renewed = 0;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        try {
            auto before = rows.row(i).int64(1);
            if (fresh_tokens(rows.row(i).int64(0), true, before).generation != before) {
                ++renewed;
            }
        } catch (const std::exception& e) {
            spdlog::warn(
                "smartcar connection {}: renewing the refresh token failed: {}", rows.row(i).int64(0), e.what());
        }
    }
    return renewed;
}

void SmartcarService::set_jobs(std::shared_ptr<Poller> poller, std::shared_ptr<WebhookProcessor> webhooks) {
    poller_ = std::move(poller);
    webhooks_ = std::move(webhooks);
}

void SmartcarService::start_jobs() {
    poller_->start();
    webhooks_->start();
}

void SmartcarService::stop_jobs() {
    poller_->stop();
    webhooks_->stop();
}

void SmartcarService::mark_reauth_required(std::int64_t connection_id, const SmartcarError& error) {
    const std::int64_t now = now_ms();
    std::string last_error = core::to_json_text(
        json::object{{"type", error.type()},
                     {"code", error.code() ? json::value(*error.code()) : nullptr},
                     {"description", error.description()},
                     {"request_id", error.request_id.empty() ? json::value(nullptr) : json::value(error.request_id)},
                     {"at", core::format_rfc3339(now)}});
    database_.with_transaction([&](db::Connection& c) {
        c.execute(
            "UPDATE smartcar_connections SET status = 'reauth_required', refreshing_until_ms = NULL, last_error = $2, "
            "updated_at_ms = $3 WHERE id = $1",
            {connection_id, last_error, now});
    });
    core::log_event(spdlog::level::warn,
                    "smartcar refresh refused; the user must connect again",
                    {{"connection_internal_id", connection_id},
                     {"smartcar_type", error.type()},
                     {"smartcar_request_id", core::optional_field(error.request_id)}});
    publish_connection(vehicle_topics(connection_id), "reauth_required");
}

std::vector<std::pair<std::string, std::string>> SmartcarService::vehicle_topics(std::int64_t connection_id) {
    auto rows = database_.with_reader([&](db::Connection& c) {
        return c.query(
            "SELECT v.public_id, s.public_id FROM smartcar_connections s JOIN smartcar_vehicles sv ON "
            "sv.connection_id = s.id JOIN vehicles v ON v.id = sv.vehicle_id WHERE s.id = $1",
            {connection_id});
    });
    std::vector<std::pair<std::string, std::string>> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out.emplace_back(rows.row(i).text(0), rows.row(i).text(1));
    }
    return out;
}

void SmartcarService::publish_connection(const std::vector<std::pair<std::string, std::string>>& vehicles,
                                         const std::string& status) {
    // Watchers of the connection's vehicles learn that its data stops (CONNECTION frames).
    for (const auto& [vehicle, connection] : vehicles) {
        core::Event event;
        event.topic = "vehicle." + vehicle;
        event.type = "CONNECTION";
        event.payload = core::to_json_text(json::object{{"type", "CONNECTION"},
                                                        {"vehicle_id", vehicle},
                                                        {"connection_id", connection},
                                                        {"provider", "smartcar"},
                                                        {"status", status}});
        bus_.publish(event);
    }
}

// `motorpool keys rotate` (declared in smartcar.hpp): the token columns, re-sealed in one transaction.
std::int64_t rotate_keys(db::Database& database, const core::SecretBox& box) {
    std::int64_t resealed = 0;
    database.with_transaction([&](db::Connection& c) {
        auto rows = c.query(
            "SELECT id, public_id, access_token, refresh_token FROM smartcar_connections "
            "WHERE access_token IS NOT NULL OR refresh_token IS NOT NULL");
        for (std::size_t i = 0; i < rows.size(); ++i) {
            auto r = rows.row(i);
            const std::string public_id = r.text(1);
            for (int col : {2, 3}) {
                if (r.is_null(static_cast<std::size_t>(col))) {
                    continue;
                }
                const std::string field = col == 2 ? "access_token" : "refresh_token";
                const std::string& sealed = r.text(static_cast<std::size_t>(col));
                if (box.is_current(sealed)) {
                    continue;
                }
                auto plain = box.open(sealed, token_aad(public_id, field));
                if (!plain) {
                    throw std::runtime_error("connection " + public_id + ": the " + field +
                                             " opens under none of the configured keys");
                }
                c.execute("UPDATE smartcar_connections SET " + field + " = $2 WHERE id = $1",
                          {r.int64(0), box.seal(*plain, token_aad(public_id, field))});
                ++resealed;
            }
        }
    });
    return resealed;
}

}  // namespace motorpool::smartcar
