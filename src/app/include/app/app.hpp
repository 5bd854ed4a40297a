#pragma once
// The whole server wired together: configuration, worker pool, database, routes, HTTP server.
// main() and the integration tests both build an App; only src/app knows every module.

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "app/config.hpp"
#include "core/event_bus.hpp"
#include "core/metrics.hpp"
#include "core/secret_box.hpp"
#include "core/time.hpp"
#include "core/worker_pool.hpp"
#include "db/db.hpp"
#include "db/event_relay.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "jobs/jobs.hpp"

namespace motorpool::app {

/// Every migration for a dialect: the platform's (db, jobs), then each module's in wiring order.
std::vector<db::Migration> migrations(db::Dialect dialect);

class App {
public:
    /// Opens the database, applies migrations (unless MOTORPOOL_AUTO_MIGRATE=false) and installs
    /// the modules (all, or those named in `only`, for commands that need a few). Does not listen
    /// yet. Throws on configuration or migration errors. `clock` (tests) is every module's time:
    /// token lifetimes, throttles, expiries, schedules; null: the system clock.
    explicit App(Config config,
                 std::shared_ptr<core::Clock> clock = nullptr,
                 std::optional<std::vector<std::string_view>> only = std::nullopt);
    ~App();
    App(const App&) = delete;
    App& operator=(const App&) = delete;

    /// Listens on the configured host and port (0: ephemeral), starts the modules, then serves.
    void start();
    /// Tests: sees every answer the server sends (set before start()).
    void set_response_observer(std::function<void(const http::ResponseSeen&)> observer) {
        response_observer_ = std::move(observer);
    }
    std::uint16_t port() const;
    /// Blocks until SIGINT/SIGTERM, then shuts down gracefully.
    void run_until_signal();
    /// Stops serving (draining in-flight requests), the jobs, the modules in reverse order, the
    /// workers, then closes the database.
    void shutdown();

    /// True once shutdown began.
    bool draining() const { return server_ && server_->draining(); }

    const Config& config() const { return config_; }
    http::Router& router() { return *router_; }
    db::Database& database() { return *database_; }
    core::WorkerPool& workers() { return *workers_; }
    core::MetricsRegistry& metrics() { return metrics_; }
    core::EventBus& events() { return events_; }
    /// The background jobs (retention, token renewal, webhook-log prune, ...).
    jobs::Scheduler& jobs() { return *jobs_; }
    Modules& modules() { return *config_.modules; }
    // Shortcuts into the modules (installed ones only).
    auth::AuthService& auth() { return modules().auth->service(); }
    mail::Mailer& mailer() { return modules().mail->mailer(); }
    telemetry::Ingestor& ingestor() { return modules().telemetry->ingestor(); }
    smartcar::SmartcarService& smartcar() { return modules().smartcar->service(); }
    /// The Smartcar simulator mounted at /sim/smartcar; null unless SMARTCAR_MODE=simulated.
    smartcar::sim::Simulator* simulator() { return modules().smartcar_sim->simulator(); }

private:
    Config config_;
    std::shared_ptr<core::Clock> clock_;
    core::MetricsRegistry metrics_;
    core::EventBus events_;
    std::unique_ptr<core::WorkerPool> workers_;
    std::unique_ptr<db::Database> database_;
    std::unique_ptr<http::Router> router_;
    std::unique_ptr<jobs::Scheduler> jobs_;
    std::unique_ptr<core::SecretBox> secrets_;
    std::vector<platform::Module*> installed_;  // in order
    std::unique_ptr<db::PgEventRelay> relay_;   // PostgreSQL only: events across nodes
    std::unique_ptr<http::Server> server_;
    std::function<void(const http::ResponseSeen&)> response_observer_;
    bool started_ = false;
    bool shut_down_ = false;
};

/// The OpenAPI 3.1 document served at /api/openapi.json.
std::string_view openapi_document();

}  // namespace motorpool::app
