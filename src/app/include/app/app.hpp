#pragma once
// The whole server wired together: configuration, worker pool, database, routes, HTTP server.
// main() and the integration tests both build an App; only src/app knows every module.

#include <cstdint>
#include <memory>

#include "auth/auth.hpp"
#include "core/config.hpp"
#include "core/event_bus.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "core/worker_pool.hpp"
#include "db/db.hpp"
#include "db/event_relay.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "jobs/jobs.hpp"
#include "live/live.hpp"
#include "mail/mail.hpp"
#include "smartcar/simulator.hpp"
#include "smartcar/smartcar.hpp"
#include "telemetry/telemetry.hpp"
#include "vehicles/vehicles.hpp"

namespace motorpool::app {

/// The database options of the configuration: the one place the server and every command take
/// them from (URL, pool, prepared statements, SQLite's synchronous setting and WAL gathering).
db::Options database_options(const core::Config& config);

/// Every module's migrations for a dialect, module by module in wiring order (a module's tables may
/// reference only those of modules before it): db, auth, mail, vehicles, telemetry, smartcar, the
/// Smartcar simulator.
std::vector<db::Migration> migrations(db::Dialect dialect);

class App {
public:
    /// Opens the database, applies migrations (unless MOTORPOOL_AUTO_MIGRATE=false) and registers
    /// every module's routes. Does not listen yet. Throws on configuration or migration errors.
    /// `clock` (tests) is every module's time: token lifetimes, throttles, expiries, schedules;
    /// null: the system clock.
    explicit App(core::Config config, std::shared_ptr<core::Clock> clock = nullptr);
    ~App();
    App(const App&) = delete;
    App& operator=(const App&) = delete;

    /// Starts listening on config.host:config.port (port 0: ephemeral).
    void start();
    /// Tests: sees every answer the server sends (set before start()).
    void set_response_observer(std::function<void(const http::ResponseSeen&)> observer) {
        response_observer_ = std::move(observer);
    }
    std::uint16_t port() const;
    /// Blocks until SIGINT/SIGTERM, then shuts down gracefully.
    void run_until_signal();
    /// Stops the server (draining in-flight requests), then the workers, then closes the database.
    void shutdown();

    /// True once shutdown began.
    bool draining() const { return server_ && server_->draining(); }

    const core::Config& config() const { return config_; }
    http::Router& router() { return *router_; }
    db::Database& database() { return *database_; }
    core::WorkerPool& workers() { return *workers_; }
    core::MetricsRegistry& metrics() { return metrics_; }
    auth::AuthService& auth() { return *auth_; }
    mail::Mailer& mailer() { return *mailer_; }
    core::EventBus& events() { return events_; }
    telemetry::Ingestor& ingestor() { return *ingestor_; }
    /// The Smartcar simulator mounted at /sim/smartcar; null unless SMARTCAR_MODE=simulated.
    smartcar::sim::Simulator* simulator() { return simulator_.get(); }
    smartcar::SmartcarService& smartcar() { return *smartcar_; }
    /// The background jobs (retention, token renewal, webhook-log prune, ...).
    jobs::Scheduler& jobs() { return *jobs_; }

private:
    core::Config config_;
    std::shared_ptr<core::Clock> clock_;
    core::MetricsRegistry metrics_;
    core::EventBus events_;
    std::unique_ptr<core::WorkerPool> workers_;
    std::unique_ptr<db::Database> database_;
    std::unique_ptr<http::Router> router_;
    std::unique_ptr<mail::Mailer> mailer_;
    std::shared_ptr<auth::AuthService> auth_;
    std::shared_ptr<vehicles::VehicleService> vehicles_;
    std::shared_ptr<telemetry::Ingestor> ingestor_;
    std::unique_ptr<jobs::Scheduler> jobs_;
    std::shared_ptr<live::Hub> hub_;
    std::unique_ptr<smartcar::sim::Simulator> simulator_;
    std::unique_ptr<smartcar::sim::SimulatorStore> simulator_store_;  // simulated mode: survives restarts
    std::shared_ptr<smartcar::SmartcarService> smartcar_;
    std::unique_ptr<db::PgEventRelay> relay_;  // PostgreSQL only: events across nodes
    std::unique_ptr<http::Server> server_;
    std::function<void(const http::ResponseSeen&)> response_observer_;
    bool shut_down_ = false;
};

/// The OpenAPI 3.1 document served at /api/openapi.json.
std::string_view openapi_document();

}  // namespace motorpool::app
