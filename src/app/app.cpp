#include "app/app.hpp"

#include <fstream>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "core/crypto.hpp"
#include "ops_routes.hpp"

namespace motorpool::app {

db::Options database_options(const core::Config& config) {
    db::Options options;
    options.url = config.database_url;
    options.pool_size = config.db_pool_size;
    options.pg_prepared_statements = config.pg_prepared_statements;
    options.sqlite_synchronous_full = config.sqlite_synchronous == "FULL";
    options.sqlite_gather_wal = config.sqlite_gather_wal;
    options.group_commit_max_batch = config.group_commit_max_batch;
    return options;
}

std::vector<db::Migration> migrations(db::Dialect dialect) {
    std::vector<db::Migration> all;
    for (auto module : {db::migrations,
                        jobs::migrations,
                        auth::migrations,
                        mail::migrations,
                        vehicles::migrations,
                        telemetry::migrations,
                        smartcar::migrations,
                        smartcar::sim::migrations}) {
        auto some = module(dialect);
        all.insert(all.end(), std::make_move_iterator(some.begin()), std::make_move_iterator(some.end()));
    }
    return all;
}

namespace {

http::ServerOptions server_options(const core::Config& config) {
    http::ServerOptions options;
    options.host = config.host;
    options.port = config.port;
    options.io_threads = config.io_threads;
    options.max_connections = config.max_connections;
    options.max_header_bytes = config.max_header_bytes;
    options.read_timeout = config.read_timeout;
    options.idle_timeout = config.idle_timeout;
    options.shutdown_grace = config.shutdown_grace;
    return options;
}

// Resident set size from /proc/self/statm (pages), for process_resident_memory_bytes.
double resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    long pages_total = 0;
    long pages_resident = 0;
    statm >> pages_total >> pages_resident;
    return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

}  // namespace

App::App(core::Config config, std::shared_ptr<core::Clock> clock)
    : config_(std::move(config)), clock_(clock ? std::move(clock) : std::make_shared<core::SystemClock>()) {
    workers_ = std::make_unique<core::WorkerPool>(config_.worker_threads, config_.worker_queue_limit);
    database_ = db::Database::open(database_options(config_), *workers_, &metrics_);
    if (config_.auto_migrate) {
        db::migrate(*database_, app::migrations(database_->dialect()));
    } else {
        // Left to the operator: refuse to serve a schema this binary does not expect, loudly,
        // rather than fail on the first query that meets a missing table.
        int pending = 0;
        for (const auto& m : db::migration_status(*database_, app::migrations(database_->dialect()))) {
            if (!m.applied) {
                ++pending;
            } else if (!m.checksum_matches) {
                throw db::MigrationError("migration " + m.module + "/" + std::to_string(m.version) + " " + m.name +
                                         " was changed after it was applied; refusing to start");
            }
        }
        if (pending > 0) {
            throw db::MigrationError(std::to_string(pending) +
                                     " migration(s) pending and MOTORPOOL_AUTO_MIGRATE=false: run `motorpool migrate`");
        }
    }

    http::RouterOptions router_options;
    router_options.cors_origins = config_.cors_origins;
    router_options.default_max_body_bytes = config_.max_body_bytes;
    router_ = std::make_unique<http::Router>(router_options);
    router_->register_metrics(metrics_);

    metrics_.gauge_callback("motorpool_worker_pool_threads", "Worker threads for blocking work", [this] {
        return static_cast<double>(workers_->threads());
    });
    metrics_.gauge_callback("motorpool_worker_pool_pending", "Blocking jobs queued or running", [this] {
        return static_cast<double>(workers_->pending());
    });
    metrics_.gauge_callback("motorpool_worker_pool_rejected",
                            "Jobs refused with 503 because the queue was full",
                            [this] { return static_cast<double>(workers_->rejected()); });
    metrics_.gauge_callback("process_resident_memory_bytes", "Resident memory size in bytes", resident_bytes);

    register_ops_routes(*router_, OpsDeps{*database_, metrics_});
    if (config_.smartcar_mode == "simulated") {
        auto simulator_options = smartcar::sim::simulator_options_from(config_);
        simulator_options.clock = clock_;
        simulator_ = std::make_unique<smartcar::sim::Simulator>(std::move(simulator_options));
        simulator_->install(*router_);
        simulator_store_ = std::make_unique<smartcar::sim::SimulatorStore>(
            *simulator_,
            *database_,
            core::SecretBox::from_base64(config_.encryption_key, config_.encryption_keys_previous));
        if (simulator_store_->load()) {
            spdlog::info("smartcar simulator: restored its accounts, cars and tokens");
        }
    }
    mail::MailerOptions mail_options;
    mail_options.smtp_url = config_.smtp_url;
    mail_options.from = config_.mail_from;
    mail_options.log_when_no_smtp = config_.env == "development";
    mail_options.clock = clock_;
    mailer_ = std::make_unique<mail::Mailer>(*database_, mail_options);
    auth_ = auth::install(*router_, *database_, auth::auth_options_from(config_), clock_);
    auth::set_mail_notifier(*auth_, [mailer = mailer_.get()] { mailer->notify(); });
    vehicles_ = vehicles::install(*router_, *database_, clock_);
    auto live_refresh = std::make_shared<telemetry::LiveRefresh>();
    ingestor_ = telemetry::install(*router_, *database_, events_, &metrics_, clock_, live_refresh);
    auto smartcar_options = smartcar::smartcar_options_from(config_);
    smartcar_options.clock = clock_;
    if (simulator_ && smartcar_options.webhook_id.empty()) {
        smartcar_options.webhook_id = simulator_->options().webhook_id;  // the simulator's webhook
    }
    smartcar_ = smartcar::install(
        *router_, *database_, events_, *ingestor_, &metrics_, std::move(smartcar_options), live_refresh);
    if (database_->dialect() == db::Dialect::Postgres) {
        relay_ = std::make_unique<db::PgEventRelay>(
            config_.pg_listen_url.empty() ? config_.database_url : config_.pg_listen_url, events_, &metrics_);
    }
    live::HubOptions hub_options;
    hub_options.max_sockets_per_user = static_cast<std::size_t>(config_.ws_max_sockets_per_user);
    hub_options.idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(config_.ws_idle_timeout);
    hub_ = live::install(*router_, *database_, events_, &metrics_, hub_options);
    // Background work: one scheduler, the modules' jobs.
    jobs_ = std::make_unique<jobs::Scheduler>(
        *workers_, *database_, clock_, &metrics_, "node-" + core::hex_encode(core::random_bytes(6)));
    if (config_.telemetry_retention_days > 0) {
        jobs_->add(telemetry::retention_job(*database_, config_.telemetry_retention_days, clock_));
    }
    for (auto& job : smartcar::background_jobs(*smartcar_)) {
        jobs_->add(std::move(job));
    }
}

App::~App() {
    shutdown();
}

void App::start() {
    http::ServerOptions options = server_options(config_);
    options.response_observer = response_observer_;
    options.blocking = workers_.get();
    server_ = std::make_unique<http::Server>(std::move(options), *router_, metrics_);
    // The port first, then the origin built from it, then the I/O threads that read it: nothing
    // is rewired under a running handler.
    server_->listen();
    smartcar::set_local_origin(*smartcar_, "http://127.0.0.1:" + std::to_string(server_->port()));
    server_->start();
    smartcar::start_jobs(*smartcar_);
    if (simulator_ && config_.smartcar_sim_webhook_url != "off") {
        simulator_->start_emitter(config_.smartcar_sim_webhook_url.empty()
                                      ? "http://127.0.0.1:" + std::to_string(server_->port()) + "/webhooks/smartcar"
                                      : config_.smartcar_sim_webhook_url);
    }
    if (simulator_store_) {
        simulator_store_->start();
    }
    mailer_->start();
    jobs_->start();
    if (relay_) {
        relay_->start();
    }
}

std::uint16_t App::port() const {
    return server_ ? server_->port() : 0;
}

void App::run_until_signal() {
    if (!server_) {
        start();
    }
    server_->run_until_signal();
    shutdown();
}

void App::shutdown() {
    if (shut_down_) {
        return;
    }
    shut_down_ = true;
    if (simulator_) {
        simulator_->stop_emitter();
    }
    if (server_) {
        server_->shutdown();
    }
    // Handlers are done; queued blocking jobs finish before the database goes away. Both the
    // workers and the group-commit writer complete into the server's io_contexts, so they are
    // joined before server_ (and with it the contexts) is destroyed in ~App.
    jobs_->stop();  // before the workers that run the jobs, and the services they use
    smartcar::stop_jobs(*smartcar_);
    if (simulator_store_) {
        simulator_store_->stop();  // after the last request that could change it
    }
    workers_->join();
    mailer_->stop();
    if (relay_) {
        relay_->stop();
    }
    database_->close();
    if (server_) {
        spdlog::info("motorpool stopped");  // the server; a command that never served says nothing
    }
}

}  // namespace motorpool::app
