// motorpool: the connected-vehicle platform server. Subcommands: serve (default), config, migrate, version.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <malloc.h>
#include <spdlog/spdlog.h>

#include "app/app.hpp"
#include "auth/auth.hpp"
#include "booking/booking.hpp"
#include "charging/charger_sim.hpp"
#include "charging/replay.hpp"
#include "core/config.hpp"
#include "core/errors.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "db/db.hpp"
#include "import_cli.hpp"
#include "membership/membership.hpp"
#include "routes_cli.hpp"
#include "smartcar_cli.hpp"
#include "watch_cli.hpp"

namespace {

using motorpool::app::Config;
constexpr const char* kDemoPassword = "motorpool-demo";
using motorpool::core::EnvSource;

int serve(Config config) {
    motorpool::app::App app(std::move(config));
    app.start();
    const auto& c = app.config();
    const auto& host = c.http.server.host;
    std::string shown_host = host == "0.0.0.0" || host == "::" ? "localhost" : host;
    spdlog::info("motorpool listening on http://{}:{} (database {}, {} I/O threads, {} workers)",
                 shown_host,
                 app.port(),
                 motorpool::core::mask_url_password(c.database.options.url),
                 c.http.server.io_threads,
                 c.core.worker_threads);
    std::printf(
        "\n  motorpool is running at http://%s:%u\n  health: http://%s:%u/health   API document: "
        "http://%s:%u/api/openapi.json\n  Stop with Ctrl+C.\n\n",
        shown_host.c_str(),
        app.port(),
        shown_host.c_str(),
        app.port(),
        shown_host.c_str(),
        app.port());
    if (c.core.env == "development") {
        auto created = motorpool::auth::ensure_demo_users(app.auth(), kDemoPassword);
        if (!created.empty()) {
            std::printf("  Created demo accounts on the empty database.\n");
        }
        if (motorpool::booking::ensure_demo_data(app.database(), motorpool::core::now_ms())) {
            std::printf("  Created the demo service catalogue and locations (Berlin, Brooklyn).\n");
        }
        if (motorpool::membership::ensure_demo_plans(app.database(), motorpool::core::now_ms())) {
            std::printf("  Created the demo membership plans (basic, plus, premium).\n");
        }
        std::printf("  Demo logins (development): member@motorpool.local and admin@motorpool.local, password %s\n\n",
                    kDemoPassword);
    }
    std::fflush(stdout);
    app.run_until_signal();
    return 0;
}

int show_config(const Config& config, bool meanings) {
    // Grouped by the module that declares each variable; the secrets serve would use are read from
    // (or generated into) the secrets file in development, and masked.
    std::string module;
    for (const auto& entry : config.settings.entries()) {
        if (entry.module != module) {
            module = entry.module;
            std::printf("%s[%s]\n", &entry == &config.settings.entries().front() ? "" : "\n", module.c_str());
        }
        std::printf("%-34s %-48s (%s)\n", entry.name.c_str(), entry.value.c_str(), entry.origin.c_str());
        if (meanings) {
            std::printf("    %s\n", entry.meaning.c_str());
        }
    }
    return 0;
}

int users_command(Config config,
                  const std::string& action,
                  const std::string& email,
                  const std::string& name,
                  const std::string& role_name) {
    // Accounts only: the database and the auth module (with the mail outbox it queues to), not the
    // whole server (no simulator, no jobs, nothing started).
    config.core.worker_threads = 2;
    config.database.options.pool_size = 1;
    config.database.auto_migrate = true;
    motorpool::app::App app(std::move(config), nullptr, std::vector<std::string_view>{"mail", "auth"});
    auto& auth = app.auth();
    if (action == "list") {
        for (const auto& u : motorpool::auth::list_users(auth)) {
            std::printf("%s  %-32s %-14s %-8s %s\n",
                        u.public_id.c_str(),
                        u.email.c_str(),
                        motorpool::auth::role_name(u.role),
                        u.active ? "active" : "inactive",
                        u.name.c_str());
        }
        return 0;
    }
    auto role = motorpool::auth::role_from_name(role_name);
    if (!role) {
        std::fprintf(stderr, "motorpool: --role must be member, fleet_manager, support or admin\n");
        return 2;
    }
    std::string password;
    std::getline(std::cin, password);  // --password-stdin: keeps the password out of argv and shell history
    if (password.size() < 8 || password.size() > 256) {
        std::fprintf(stderr, "motorpool: the password (one line on standard input) must be 8 to 256 characters\n");
        return 5;
    }
    try {
        auto user =
            motorpool::auth::create_user(auth, {name.empty() ? email : name, email, password, std::nullopt, *role});
        std::printf("created %s (%s) as %s\n",
                    user.email.c_str(),
                    user.public_id.c_str(),
                    motorpool::auth::role_name(user.role));
        return 0;
    } catch (const motorpool::core::ApiError& e) {
        std::fprintf(stderr,
                     "motorpool: %s%s%s\n",
                     e.detail().c_str(),
                     e.errors().empty() ? "" : ": ",
                     e.errors().empty() ? "" : (e.errors()[0].field + " " + e.errors()[0].message).c_str());
        return 5;  // refused input: an e-mail already taken, an invalid one
    }
}

int migrate(const Config& config, bool status_only) {
    motorpool::core::WorkerPool workers(1, 16);
    auto options = config.database.options;
    options.pool_size = 1;
    auto database = motorpool::db::Database::open(options, workers, nullptr);
    auto migrations = motorpool::app::migrations(database->dialect());
    if (status_only) {
        for (const auto& m : motorpool::db::migration_status(*database, migrations)) {
            std::printf("%-12s %04d %-24s %-8s %s%s\n",
                        m.module.c_str(),
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
    std::string serve_host;
    int serve_port = -1;
    serve_cmd->add_option("--host", serve_host, "Address to listen on (wins over MOTORPOOL_HOST)")
        ->check(
            [](const std::string& host) { return host.empty() ? std::string("must not be empty") : std::string(); });
    serve_cmd->add_option("--port", serve_port, "Port to listen on, 0 for any free one (wins over PORT)")
        ->check(CLI::Range(0, 65535));
    auto* config_cmd =
        cli.add_subcommand("config", "Print the effective configuration by module, secrets masked, with each source");
    bool config_meanings = false;
    config_cmd->add_flag("--explain", config_meanings, "Also say what each variable means");
    auto* migrate_cmd = cli.add_subcommand("migrate", "Apply pending database migrations");
    bool status_only = false;
    migrate_cmd->add_flag("--status", status_only, "List migrations and whether each is applied");
    auto* version_cmd = cli.add_subcommand("version", "Print the version");
    auto* users_cmd = cli.add_subcommand("users", "Manage user accounts");
    users_cmd->require_subcommand(1);
    auto* users_create = users_cmd->add_subcommand("create", "Create a user; the password is read from standard input");
    std::string user_email;
    std::string user_name;
    std::string user_role = "member";
    bool password_stdin = false;
    users_create->add_option("--email", user_email, "E-mail address")->required();
    users_create->add_option("--name", user_name, "Display name (default: the e-mail address)");
    users_create->add_option("--role", user_role, "member, fleet_manager, support or admin")
        ->check(CLI::IsMember({"member", "fleet_manager", "support", "admin"}));
    users_create->add_flag("--password-stdin", password_stdin, "Read the password from standard input")->required();
    auto* users_list = users_cmd->add_subcommand("list", "List users");
    auto* import_cmd = cli.add_subcommand("import", "Import data from files");
    import_cmd->require_subcommand(1);
    auto* import_vehicles = import_cmd->add_subcommand(
        "vehicles", "Upsert vehicles by VIN from a CSV file (columns: vin,make,model[,description,image_urls,...])");
    motorpool::app::ImportCommand import_options;
    std::int64_t import_limit = 0;
    std::string import_owner;
    // The original catalog seeder's spellings work too: --csv-path for the file, --limit -1 for
    // every row, --skip-existing.
    auto* file_arg = import_vehicles->add_option("file", import_options.file, "CSV file");
    auto* csv_path = import_vehicles->add_option("--csv-path", import_options.file, "CSV file (the seeder's name)");
    file_arg->excludes(csv_path);
    csv_path->excludes(file_arg);
    import_vehicles->add_option("--limit", import_limit, "Read at most N data rows (-1: all)")
        ->check(CLI::Validator(
            [](const std::string& text) {
                return text == "-1" || (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos &&
                                        text != "0" && text.size() < 19)
                           ? std::string()
                           : std::string("must be a positive number or -1");
            },
            "N|-1"));
    import_vehicles->add_flag("--skip-existing",
                              import_options.skip_existing,
                              "Leave vehicles whose VIN is known as they are (count them as skipped)");
    auto* owner_option = import_vehicles->add_option(
        "--owner",
        import_owner,
        "E-mail address of the owner of the vehicles the import creates (and of unowned ones)");
    import_vehicles
        ->add_flag("--reassign-owner",
                   import_options.reassign_owner,
                   "With --owner: also give known vehicles another account owns to that owner")
        ->needs(owner_option);
    import_vehicles->add_option("--batch-size", import_options.batch_size, "Rows per transaction (default 10000)")
        ->check(CLI::Range(1, 100000));
    auto* watch_cmd = cli.add_subcommand("watch", "Print the live feed of a topic (vehicle.<id>, fleet, ...)");
    motorpool::app::WatchCommand watch_options;
    std::int64_t watch_timeout_s = 0;
    watch_cmd->add_option("topic", watch_options.topic, "Topic to subscribe to")->required();
    watch_cmd->add_option("--url", watch_options.url, "The server (default http://127.0.0.1:8000)");
    watch_cmd->add_option("--token", watch_options.token, "An access token (default: MOTORPOOL_TOKEN)");
    watch_cmd->add_option("--count", watch_options.count, "Stop after N event frames")->check(CLI::NonNegativeNumber);
    watch_cmd->add_option("--timeout", watch_timeout_s, "Stop after S seconds")->check(CLI::NonNegativeNumber);
    auto* routes_cmd = cli.add_subcommand(
        "routes", "List every route this configuration serves, with its authentication and body limit");
    bool routes_markdown = false;
    routes_cmd->add_flag("--markdown", routes_markdown, "As a Markdown table (the inventory in docs/security.md)");
    auto* sim_cmd = cli.add_subcommand("smartcar-sim", "Run the Smartcar simulator alone");
    int sim_port = 8100;
    sim_cmd->add_option("--port", sim_port, "Port (0: any free one)")->check(CLI::Range(0, 65535));
    auto* charger_sim_cmd = cli.add_subcommand(
        "charger-sim",
        "Connect simulated OCPP 1.6J chargers to a motorpool server (registers them with an admin token)");
    motorpool::charging::sim::Options charger_sim;
    std::int64_t charger_sim_heartbeat = 60;
    std::int64_t charger_sim_meter = 30;
    std::int64_t charger_sim_duration = 0;
    std::int64_t charger_sim_spread_ms = 0;
    std::string charger_sim_cluster;
    std::string charger_sim_sessions;
    charger_sim_cmd->add_option("--url", charger_sim.url, "The server (default http://127.0.0.1:8000)");
    charger_sim_cmd->add_option("--token", charger_sim.token, "An admin's access token (default: MOTORPOOL_TOKEN)");
    charger_sim_cmd->add_option("--chargers", charger_sim.chargers, "How many chargers")->check(CLI::Range(1, 100000));
    charger_sim_cmd->add_option("--connectors", charger_sim.connectors, "Connectors per charger")
        ->check(CLI::Range(1, 8));
    charger_sim_cmd->add_option("--max-power", charger_sim.max_power_kw, "kW per charger")
        ->check(CLI::Range(1.0, 1000.0));
    charger_sim_cmd->add_option("--prefix", charger_sim.prefix, "Identities <prefix><n> (default SIM-<random>-)");
    charger_sim_cmd->add_option("--cluster-id", charger_sim_cluster, "The grid cluster they hang on");
    charger_sim_cmd->add_option("--sessions", charger_sim_sessions, "EV sessions CSV (shared/data format)");
    charger_sim_cmd->add_option("--speed", charger_sim.speed, "Simulated seconds per real second")
        ->check(CLI::Range(0.1, 100000.0));
    charger_sim_cmd->add_option("--heartbeat", charger_sim_heartbeat, "Seconds between heartbeats (0: as booted)")
        ->check(CLI::Range(0, 86400));
    charger_sim_cmd->add_option("--meter-interval", charger_sim_meter, "Seconds between meter values")
        ->check(CLI::Range(1, 86400));
    charger_sim_cmd->add_option("--duration", charger_sim_duration, "Stop after S seconds (0: Ctrl+C or the last EV)")
        ->check(CLI::NonNegativeNumber);
    charger_sim_cmd
        ->add_option("--connect-spread", charger_sim_spread_ms, "Spread the connections over MS milliseconds")
        ->check(CLI::NonNegativeNumber);
    auto* charging_cmd = cli.add_subcommand("charging", "EV charging tools");
    auto* replay_cmd = charging_cmd->add_subcommand(
        "replay", "Replay EV sessions (shared/data CSV format) through the allocator and print the figures as JSON");
    std::string replay_file;
    std::string replay_schedule;
    motorpool::charging::allocator::ReplayOptions replay_options;
    replay_cmd->add_option("file", replay_file, "Sessions CSV")->required();
    replay_cmd->add_option("--capacity-kw", replay_options.capacity_kw, "The cluster's capacity")
        ->required()
        ->check(CLI::Range(0.1, 1e6));
    replay_cmd->add_option("--max-power-kw", replay_options.max_power_kw, "Each EVSE's maximum (default 6.6)")
        ->check(CLI::Range(0.1, 1000.0));
    replay_cmd
        ->add_option("--min-power-kw", replay_options.min_power_kw, "Practical minimum while charging (default 0)")
        ->check(CLI::Range(0.0, 1000.0));
    replay_cmd->add_option("--period-min", replay_options.period_minutes, "Minutes between re-plans (default 5)")
        ->check(CLI::Range(1, 60));
    replay_cmd->add_option("--schedule", replay_schedule, "Also write every period's power per session as CSV");
    auto* keys_cmd = cli.add_subcommand("keys", "Encryption keys for secrets at rest");
    keys_cmd->require_subcommand(1);
    auto* keys_generate = keys_cmd->add_subcommand("generate", "Print a new MOTORPOOL_ENCRYPTION_KEY");
    auto* keys_rotate = keys_cmd->add_subcommand(
        "rotate",
        "Re-seal stored tokens under MOTORPOOL_ENCRYPTION_KEY (older keys in MOTORPOOL_ENCRYPTION_KEYS_PREVIOUS)");
    try {
        cli.parse(argc, argv);
    } catch (const CLI::Success& e) {
        return cli.exit(e);  // --help: printed, status 0
    } catch (const CLI::ParseError& e) {
        // CLI11's own codes (105-109, ...) are not ours: every usage error is status 2, as documented.
        cli.exit(e);
        return 2;
    }

    if (replay_cmd->parsed()) {
        // Offline: the allocator and a file, no server.
        std::ifstream in(replay_file);
        if (!in) {
            std::fprintf(stderr, "motorpool: cannot read %s\n", replay_file.c_str());
            return 5;
        }
        try {
            auto sessions = motorpool::charging::allocator::read_sessions_csv(in);
            auto r = motorpool::charging::allocator::replay(sessions, replay_options, !replay_schedule.empty());
            if (!replay_schedule.empty()) {
                std::ofstream out(replay_schedule, std::ios::trunc);
                out << "period,session_id,power_kw\n";
                for (const auto& [period, id, kw] : r.schedule) {
                    out << period << ',' << id << ',' << kw << '\n';
                }
            }
            std::printf(
                "{\"sessions\":%zu,\"capacity_kw\":%g,\"requested_kwh\":%.3f,\"delivered_kwh\":%.3f,"
                "\"delivered_pct\":%.3f,\"jain\":%.4f,\"min_satisfaction\":%.4f,\"peak_kw\":%.3f,"
                "\"replan_us\":{\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}}\n",
                sessions.size(),
                replay_options.capacity_kw,
                r.requested_kwh,
                r.delivered_kwh,
                r.requested_kwh > 0 ? 100.0 * r.delivered_kwh / r.requested_kwh : 100.0,
                r.jain,
                r.min_satisfaction,
                r.peak_kw,
                r.replan_p50_us,
                r.replan_p99_us,
                r.replan_max_us);
            return 0;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "motorpool: %s: %s\n", replay_file.c_str(), e.what());
            return 5;
        }
    }
    if (charger_sim_cmd->parsed()) {
        // A client too: it needs no configuration of its own.
        if (charger_sim.token.empty()) {
            if (const char* token = std::getenv("MOTORPOOL_TOKEN")) {
                charger_sim.token = token;
            }
        }
        if (charger_sim.token.empty()) {
            std::fprintf(stderr, "motorpool: charger-sim needs an admin token (--token or MOTORPOOL_TOKEN)\n");
            return 2;
        }
        if (!charger_sim_cluster.empty()) {
            charger_sim.cluster_id = charger_sim_cluster;
        }
        if (!charger_sim_sessions.empty()) {
            charger_sim.sessions_csv = charger_sim_sessions;
        }
        charger_sim.heartbeat = std::chrono::seconds(charger_sim_heartbeat);
        charger_sim.meter_interval = std::chrono::seconds(charger_sim_meter);
        charger_sim.duration = std::chrono::seconds(charger_sim_duration);
        charger_sim.connect_spread = std::chrono::milliseconds(charger_sim_spread_ms);
        try {
            auto report = motorpool::charging::sim::run(charger_sim);
            return report.connected == charger_sim.chargers ? 0 : 1;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "motorpool: charger-sim: %s\n", e.what());
            return 1;
        }
    }
    if (watch_cmd->parsed()) {
        // A client: no configuration, database or logging of its own.
        if (watch_options.token.empty()) {
            if (const char* token = std::getenv("MOTORPOOL_TOKEN")) {
                watch_options.token = token;
            }
        }
        watch_options.timeout = std::chrono::seconds(watch_timeout_s);
        return motorpool::app::run_watch(watch_options);
    }
    try {
        EnvSource source = EnvSource::from_process(".env");
        if (!serve_host.empty()) {
            source.set("MOTORPOOL_HOST", serve_host);
        }
        if (serve_port >= 0) {
            source.set("PORT", std::to_string(serve_port));
        }
        if (sim_cmd->parsed()) {
            source.set("SMARTCAR_MODE", "simulated");  // the simulator's credentials, kept like the server's
        }
        if (routes_cmd->parsed()) {
            source.set("DATABASE_URL", "sqlite:///:memory:");  // the routes only: nothing is stored
        }
        // Development secrets are generated (once) for every command but those that need none.
        const bool keep_secrets = !migrate_cmd->parsed() && !version_cmd->parsed() && !keys_generate->parsed();
        Config config = Config::load(std::move(source), keep_secrets);
        motorpool::core::init_logging(config.core.log_level, config.core.log_format);
        if (version_cmd->parsed()) {
            std::printf("motorpool %s\n", MOTORPOOL_VERSION);
            return 0;
        }
        if (config_cmd->parsed()) {
            return show_config(config, config_meanings);
        }
        if (migrate_cmd->parsed()) {
            return migrate(config, status_only);
        }
        if (users_cmd->parsed()) {
            return users_command(
                std::move(config), users_list->parsed() ? "list" : "create", user_email, user_name, user_role);
        }
        if (import_vehicles->parsed()) {
            if (import_options.file.empty()) {
                std::fprintf(stderr, "motorpool import vehicles: a CSV file (or --csv-path FILE) is required\n");
                return 2;
            }
            if (import_limit > 0) {
                import_options.limit = import_limit;
            }
            if (!import_owner.empty()) {
                import_options.owner_email = import_owner;
            }
            return motorpool::app::run_import_vehicles(std::move(config), import_options);
        }
        if (sim_cmd->parsed()) {
            return motorpool::app::run_smartcar_simulator(std::move(config), sim_port);
        }
        if (routes_cmd->parsed()) {
            return motorpool::app::run_routes(std::move(config), routes_markdown);
        }
        if (keys_generate->parsed()) {
            return motorpool::app::run_keys_generate();
        }
        if (keys_rotate->parsed()) {
            return motorpool::app::run_keys_rotate(std::move(config));
        }
        return serve(std::move(config));
    } catch (const motorpool::core::ConfigError& e) {
        std::fprintf(stderr, "motorpool: %s\n", e.what());
        return 2;
    } catch (const motorpool::db::MigrationError& e) {
        std::fprintf(stderr, "motorpool: migration error: %s\n", e.what());
        return 3;
    } catch (const motorpool::core::InputError& e) {
        std::fprintf(stderr, "motorpool: %s\n", e.what());
        return 5;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "motorpool: %s\n", e.what());
        return 1;
    }
}

int main(int argc, char** argv) {
    // A fixed threshold turns off glibc's dynamic one, which after the first 19 MiB Argon2id buffer
    // would serve later ones from the heap and keep them resident: large buffers go back to the OS.
    mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
    int status = 1;
    try {
        status = run(argc, argv);
    } catch (...) {
        std::fputs("motorpool: unexpected error\n", stderr);
    }
    spdlog::shutdown();  // flushes buffered log lines
    return status;
}
