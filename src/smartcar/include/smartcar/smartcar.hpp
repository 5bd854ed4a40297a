#pragma once
// Smartcar: Connect (OAuth with a single-use state), connections with tokens sealed at rest,
// refresh (one at a time per connection across threads and nodes), and the vehicles each
// connection reaches, linked into the registry. Contract: the "Smartcar" section of
// shared/design/API.md; facts: shared/design/SMARTCAR.md.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/event_bus.hpp"
#include "core/metrics.hpp"
#include "core/secret_box.hpp"
#include "core/time.hpp"
#include "db/db.hpp"
#include "http/router.hpp"
#include "jobs/jobs.hpp"
#include "telemetry/telemetry.hpp"

namespace motorpool::smartcar {

/// This module's migrations (src/smartcar/migrations), for db::migrate in the App's module order.
std::vector<db::Migration> migrations(db::Dialect dialect);

struct SmartcarOptions {
    std::string mode = "simulated";  // simulated | test | live (Connect's mode parameter)
    std::string client_id;
    std::string client_secret;
    std::string redirect_uri;  // empty: this server's /oauth/smartcar/callback
    std::string management_token;
    int api_version = 2;
    // Origins; empty ones default to Smartcar's (or, simulated, to this server's /sim/smartcar).
    std::string api_origin;
    std::string auth_origin;
    std::string connect_origin;
    std::string api_v3_origin;
    std::string management_origin;
    std::string scopes;  // space separated
    std::string frontend_url;
    std::optional<core::SecretBox> box;  // seals the tokens at rest (required)
    std::chrono::milliseconds poll_interval{30 * 60'000};
    std::string webhook_id;        // vehicles are subscribed to it when connected (empty: none)
    bool process_webhooks = true;  // false: deliveries are logged, processed later
    std::chrono::milliseconds client_timeout{30'000};
    std::shared_ptr<core::Clock> clock;  // token expiries, throttles, poll times, leases; null: the system's
};

/// The webhook the simulator plays in simulated mode when SMARTCAR_WEBHOOK_ID is unset.
inline constexpr const char* kSimulatorWebhookId = "6f1c2a4e-8b3d-4e5f-9a7b-2c1d0e9f8a7b";

/// Declares and reads the SMARTCAR_* variables (credentials generated in development when
/// simulated), MOTORPOOL_SMARTCAR_POLL_INTERVAL and MOTORPOOL_WEBHOOK_PROCESSING.
SmartcarOptions load_options(core::Settings& settings);

class SmartcarService;

/// Mounts /api/v1/connect/smartcar, /oauth/smartcar/callback, /api/v1/connections,
/// /webhooks/smartcar and /api/v1/webhook-events; fills `refresh` for the vehicle-data views; adds
/// its jobs to `jobs`: the poll scheduling (every second, every node), refresh tokens renewed a
/// week before they expire (every 10 minutes, one node), processed deliveries pruned (hourly, one
/// node). The webhook processor starts with start_jobs(service).
std::shared_ptr<SmartcarService> install(http::Router& router,
                                         db::Database& database,
                                         core::EventBus& bus,
                                         telemetry::Ingestor& ingestor,
                                         core::MetricsRegistry* metrics,
                                         jobs::Scheduler& jobs,
                                         SmartcarOptions options,
                                         telemetry::LiveRefresh* refresh = nullptr);

void start_jobs(SmartcarService& service);
void stop_jobs(SmartcarService& service);

/// Once the server listens: this server's origin ("http://127.0.0.1:8000"), the default for the
/// redirect URI and, in simulated mode, the base of the simulator's origins.
void set_local_origin(SmartcarService& service, const std::string& origin);

/// Re-seals every stored token under the current key (`motorpool keys rotate`). Returns how many
/// values were re-sealed; throws when a value opens under none of the keys.
std::int64_t rotate_keys(db::Database& database, const core::SecretBox& box);

}  // namespace motorpool::smartcar
