#pragma once
// The server's configuration: the platform's settings (core, db, http) and every feature module,
// each of which declared and read its own variables.

#include <memory>
#include <vector>

#include "auth/module.hpp"
#include "booking/module.hpp"
#include "charging/module.hpp"
#include "compat/module.hpp"
#include "core/config.hpp"
#include "db/settings.hpp"
#include "files/module.hpp"
#include "http/settings.hpp"
#include "live/module.hpp"
#include "mail/module.hpp"
#include "membership/module.hpp"
#include "notify/notify.hpp"
#include "platform/module.hpp"
#include "smartcar/module.hpp"
#include "smartcar/simulator_module.hpp"
#include "support/module.hpp"
#include "telemetry/module.hpp"
#include "vehicles/module.hpp"
#include "web/module.hpp"

namespace motorpool::app {

/// Every feature module, in wiring order: installed and started in this order, stopped in
/// reverse; a module's tables may reference only those of modules before it. The constructor is
/// the one place a module is added (docs/modules.md).
class Modules {
public:
    Modules();
    Modules(const Modules&) = delete;
    Modules& operator=(const Modules&) = delete;

    const std::vector<std::unique_ptr<platform::Module>>& all() const { return list_; }

    // The modules others depend on, or tests and commands reach into.
    mail::Module* mail = nullptr;
    auth::Module* auth = nullptr;
    telemetry::Module* telemetry = nullptr;
    live::Module* live = nullptr;
    smartcar::Module* smartcar = nullptr;
    smartcar::sim::Module* smartcar_sim = nullptr;

private:
    template <typename M, typename... Args>
    M* add(Args&&... args) {
        auto module = std::make_unique<M>(std::forward<Args>(args)...);
        M* raw = module.get();
        list_.push_back(std::move(module));
        return raw;
    }

    std::vector<std::unique_ptr<platform::Module>> list_;
};

struct Config {
    /// Every variable declared, for `motorpool config`: module, value (secrets masked), origin.
    core::Settings settings{core::EnvSource::from_map({})};
    core::CoreSettings core;
    db::Settings database;
    http::Settings http;
    std::unique_ptr<Modules> modules;

    /// Reads every module's variables from `source` (throws core::ConfigError naming each bad
    /// one). `keep_secrets`: development secrets left unset are read from, or generated once into,
    /// the secrets file (serve, config and the commands that need them; not migrate).
    static Config load(core::EnvSource source, bool keep_secrets = true);
};

}  // namespace motorpool::app
