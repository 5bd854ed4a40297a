#pragma once
// The module contract: what the App hands every feature module (Context) and what a module does
// (configure, install, start, stop). src/app holds the modules in a list, installs and starts them
// in order and stops them in reverse; docs/modules.md says how to add one.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/event_bus.hpp"
#include "core/metrics.hpp"
#include "core/secret_box.hpp"
#include "core/time.hpp"
#include "core/worker_pool.hpp"
#include "db/db.hpp"
#include "http/router.hpp"
#include "jobs/jobs.hpp"

namespace motorpool::platform {

/// What the App hands a module when it installs it; everything outlives the module.
struct Context {
    http::Router& router;
    db::Database& database;
    core::WorkerPool& workers;
    core::EventBus& events;
    core::MetricsRegistry& metrics;
    std::shared_ptr<core::Clock> clock;
    jobs::Scheduler& jobs;
    const core::SecretBox& secrets;  // seals values at rest under MOTORPOOL_ENCRYPTION_KEY
    const core::CoreSettings& core;  // the environment (development, production, test)
};

/// Facts known once the server listens, before it serves a request.
struct Started {
    std::string local_origin;  // "http://127.0.0.1:8000": this server, for calls to itself
    /// "http://localhost:8000": the bound port in the links this server hands out when no public
    /// address is configured (PORT=0 binds an ephemeral one, known only now).
    std::string public_origin;
};

/// `url` with an unbound port ("http://localhost:0", PORT=0 at configuration) replaced by the
/// bound one; any other URL unchanged.
std::string with_bound_port(const std::string& url, const Started& started);

class Module {
public:
    Module() = default;
    virtual ~Module();
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    /// Names the module in `motorpool config`, logs and migrations.
    virtual std::string_view name() const = 0;
    /// Declares and reads the module's settings. Called once, first; opens nothing (`motorpool
    /// config` calls it alone). Problems go to settings.fail().
    virtual void configure(core::Settings& settings);
    /// The module's migrations for a dialect (src/<module>/migrations).
    virtual std::vector<db::Migration> migrations(db::Dialect dialect) const;
    /// Builds the services, registers routes, topics and jobs. Before the server listens; modules
    /// installed earlier in the list are installed already.
    virtual void install(Context& context) = 0;
    /// After the server listens, before it serves: the module's own threads and timers.
    virtual void start(const Started& started);
    /// In reverse order, once the server stopped serving and the jobs stopped; before the workers
    /// join and the database closes.
    virtual void stop();
};

}  // namespace motorpool::platform
