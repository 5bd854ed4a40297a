// motorpool: the connected-vehicle platform server. Subcommands: serve (default), config, migrate, version.

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "app/app.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "db/db.hpp"

namespace {

using motorpool::core::Config;
using motorpool::core::EnvSource;

int serve(Config config) {
    config.ensure_secrets();
    motorpool::app::App app(std::move(config));
    app.start();
    const auto& c = app.config();
    std::string shown_host = c.host == "0.0.0.0" || c.host == "::" ? "localhost" : c.host;
    spdlog::info("motorpool listening on http://{}:{} (database {}, {} I/O threads, {} workers)",
                 shown_host,
                 app.port(),
                 motorpool::core::mask_url_password(c.database_url),
                 c.io_threads,
                 c.worker_threads);
    std::printf(
        "\n  motorpool is running at http://%s:%u\n  health: http://%s:%u/health   API document: "
        "http://%s:%u/api/openapi.json\n  Stop with Ctrl+C.\n\n",
        shown_host.c_str(),
        app.port(),
        shown_host.c_str(),
        app.port(),
        shown_host.c_str(),
        app.port());
    std::fflush(stdout);
    app.run_until_signal();
    return 0;
}

int show_config(Config config, const EnvSource& source) {
    // Shows the secrets serve would use: read from (or generated into) the secrets file in development.
    config.ensure_secrets();
    for (const auto& entry : config.describe(source)) {
        std::printf("%-34s %-48s (%s)\n", entry.name.c_str(), entry.value.c_str(), entry.origin.c_str());
    }
    return 0;
}

int migrate(const Config& config, bool status_only) {
    motorpool::core::WorkerPool workers(1, 16);
    motorpool::db::Options options;
    options.url = config.database_url;
    options.pool_size = 1;
    options.pg_prepared_statements = config.pg_prepared_statements;
    auto database = motorpool::db::Database::open(options, workers, nullptr);
    auto migrations = motorpool::db::embedded_migrations(database->dialect());
    if (status_only) {
        for (const auto& m : motorpool::db::migration_status(*database, migrations)) {
            std::printf("%04d %-32s %-8s %s%s\n",
                        m.version,
                        m.name.c_str(),
                        m.applied ? "applied" : "pending",
                        m.applied_at_ms ? motorpool::core::format_rfc3339(*m.applied_at_ms).c_str() : "",
                        m.applied && !m.checksum_matches ? "  CHANGED SINCE APPLIED" : "");
        }
    } else {
        int applied = motorpool::db::migrate(*database, migrations);
        std::printf("%d migration(s) applied\n", applied);
    }
    database->close();
    return 0;
}

}  // namespace

int run(int argc, char** argv) {
    CLI::App cli{"motorpool: connected-vehicle platform server"};
    cli.require_subcommand(0, 1);
    auto* serve_cmd = cli.add_subcommand("serve", "Run the HTTP server (the default)");
    auto* config_cmd = cli.add_subcommand("config", "Print the effective configuration, secrets masked");
    auto* migrate_cmd = cli.add_subcommand("migrate", "Apply pending database migrations");
    bool status_only = false;
    migrate_cmd->add_flag("--status", status_only, "List migrations and whether each is applied");
    auto* version_cmd = cli.add_subcommand("version", "Print the version");
    CLI11_PARSE(cli, argc, argv);

    try {
        EnvSource source = EnvSource::from_process(".env");
        Config config = Config::load(source);
        motorpool::core::init_logging(config.log_level, config.log_format);
        if (version_cmd->parsed()) {
            std::printf("motorpool %s\n", MOTORPOOL_VERSION);
            return 0;
        }
        if (config_cmd->parsed()) {
            return show_config(config, source);
        }
        if (migrate_cmd->parsed()) {
            return migrate(config, status_only);
        }
        (void)serve_cmd;
        return serve(std::move(config));
    } catch (const motorpool::core::ConfigError& e) {
        std::fprintf(stderr, "motorpool: %s\n", e.what());
        return 2;
    } catch (const motorpool::db::MigrationError& e) {
        std::fprintf(stderr, "motorpool: migration error: %s\n", e.what());
        return 3;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "motorpool: %s\n", e.what());
        return 1;
    }
}

int main(int argc, char** argv) {
    int status = run(argc, argv);
    spdlog::shutdown();  // flushes buffered log lines
    return status;
}
