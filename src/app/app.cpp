#include "app/app.hpp"

#include <algorithm>
#include <fstream>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "core/crypto.hpp"
#include "ops_routes.hpp"

namespace motorpool::app {

std::vector<db::Migration> migrations(db::Dialect dialect) {
    std::vector<db::Migration> all;
    auto append = [&all](std::vector<db::Migration> some) {
        all.insert(all.end(), std::make_move_iterator(some.begin()), std::make_move_iterator(some.end()));
    };
    append(db::migrations(dialect));
    append(jobs::migrations(dialect));
    Modules modules;
    for (const auto& module : modules.all()) {
        append(module->migrations(dialect));
    }
    return all;
}

namespace {

// Resident set size from /proc/self/statm (pages), for process_resident_memory_bytes.
double resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    long pages_total = 0;
    long pages_resident = 0;
    statm >> pages_total >> pages_resident;
    return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

}  // namespace

App::App(Config config, std::shared_ptr<core::Clock> clock, std::optional<std::vector<std::string_view>> only)
    : config_(std::move(config)), clock_(clock ? std::move(clock) : std::make_shared<core::SystemClock>()) {
    workers_ = std::make_unique<core::WorkerPool>(config_.core.worker_threads, config_.core.worker_queue_limit);
    database_ = db::Database::open(config_.database.options, *workers_, &metrics_);
    if (config_.database.auto_migrate) {
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

    router_ = std::make_unique<http::Router>(config_.http.router);
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

    jobs_ = std::make_unique<jobs::Scheduler>(
        *workers_, *database_, clock_, &metrics_, "node-" + core::hex_encode(core::random_bytes(6)));
    secrets_ = std::make_unique<core::SecretBox>(
        core::SecretBox::from_base64(config_.core.encryption_key, config_.core.encryption_keys_previous));
    platform::Context context{
        *router_, *database_, *workers_, events_, metrics_, clock_, *jobs_, *secrets_, config_.core};
    for (const auto& module : config_.modules->all()) {
        if (only && std::find(only->begin(), only->end(), module->name()) == only->end()) {
            continue;
        }
        module->install(context);
        installed_.push_back(module.get());
    }
    if (database_->dialect() == db::Dialect::Postgres) {
        const auto& listen = config_.database.listen_url;
        relay_ = std::make_unique<db::PgEventRelay>(
            listen.empty() ? config_.database.options.url : listen, events_, &metrics_);
    }
}

App::~App() {
    shutdown();
}

void App::start() {
    http::ServerOptions options = config_.http.server;
    options.response_observer = response_observer_;
    options.blocking = workers_.get();
    server_ = std::make_unique<http::Server>(std::move(options), *router_, metrics_);
    // The port first, then the modules that need this server's origin, then the I/O threads:
    // nothing is rewired under a running handler.
    server_->listen();
    const std::string port = std::to_string(server_->port());
    platform::Started started{"http://127.0.0.1:" + port, "http://localhost:" + port};
    started_ = true;
    for (auto* module : installed_) {
        module->start(started);
    }
    server_->start();
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
    if (server_) {
        server_->shutdown();
    }
    // Handlers are done; the jobs stop before the modules whose services they use, the modules in
    // reverse order, and queued blocking work finishes before the database goes away. Both the
    // workers and the group-commit writer complete into the server's io_contexts, so they are
    // joined before server_ (and with it the contexts) is destroyed in ~App.
    jobs_->stop();
    if (started_) {
        for (auto it = installed_.rbegin(); it != installed_.rend(); ++it) {
            (*it)->stop();
        }
    }
    workers_->join();
    if (relay_) {
        relay_->stop();
    }
    database_->close();
    if (server_) {
        spdlog::info("motorpool stopped");  // the server; a command that never served says nothing
    }
}

}  // namespace motorpool::app
