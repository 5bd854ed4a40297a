// The server's configuration as the modules declare it: defaults, each module's variables, the
// secrets kept in development, what `motorpool config` lists.

#include "app/config.hpp"

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

namespace motorpool::app {
namespace {

Config load(std::map<std::string, std::string> values) {
    return Config::load(core::EnvSource::from_map(std::move(values)), false);
}

const core::Settings::Entry* entry(const Config& c, const std::string& name) {
    for (const auto& e : c.settings.entries()) {
        if (e.name == name) {
            return &e;
        }
    }
    return nullptr;
}

TEST(AppConfigTest, DefaultsWithNoConfiguration) {
    Config c = load({});
    EXPECT_EQ(c.http.server.port, 8000);
    EXPECT_EQ(c.http.server.host, "0.0.0.0");
    EXPECT_EQ(c.database.options.url, "sqlite:///motorpool.db");
    EXPECT_EQ(c.core.env, "development");
    EXPECT_EQ(c.modules->smartcar->options().mode, "simulated");
    EXPECT_EQ(c.modules->smartcar->options().webhook_id, smartcar::kSimulatorWebhookId);
    const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    EXPECT_EQ(c.http.server.io_threads, cores);
    EXPECT_EQ(c.core.worker_threads, std::max(2, cores));  // SQLite: one per core
    EXPECT_EQ(c.database.options.pool_size, c.core.worker_threads);
    EXPECT_EQ(load({{"DATABASE_URL", "postgresql://localhost/mp"}}).core.worker_threads, std::max(8, 4 * cores));
    EXPECT_TRUE(c.database.options.sqlite_synchronous_full);
    EXPECT_FALSE(load({{"MOTORPOOL_SQLITE_SYNCHRONOUS", "normal"}}).database.options.sqlite_synchronous_full);
    EXPECT_THROW(load({{"MOTORPOOL_SQLITE_SYNCHRONOUS", "OFF"}}), core::ConfigError);
    EXPECT_TRUE(c.database.options.sqlite_gather_wal);
    EXPECT_FALSE(load({{"MOTORPOOL_SQLITE_GATHER_WAL", "false"}}).database.options.sqlite_gather_wal);
    EXPECT_THROW(load({{"MOTORPOOL_SQLITE_GATHER_WAL", "sometimes"}}), core::ConfigError);
    EXPECT_THROW(load({{"MOTORPOOL_TELEMETRY_RETENTION_DAYS", "-1"}}), core::ConfigError);
    EXPECT_EQ(c.http.server.max_header_bytes, 16U * 1024);
    EXPECT_EQ(c.http.router.default_max_body_bytes, 1024U * 1024);
    EXPECT_EQ(c.core.secrets_file, "motorpool.db.secrets");
    EXPECT_EQ(load({{"DATABASE_URL", "postgresql://localhost/mp"}}).core.secrets_file, "motorpool.secrets");
    EXPECT_TRUE(c.database.auto_migrate);
    // Resolved defaults are what `motorpool config` shows.
    EXPECT_EQ(entry(c, "MOTORPOOL_WORKER_THREADS")->value, std::to_string(c.core.worker_threads));
    for (const char* bad : {"0s", "500ms", "1500ms", "2h"}) {
        EXPECT_THROW(load({{"MOTORPOOL_WS_IDLE_TIMEOUT", bad}}), core::ConfigError) << bad;
    }
    EXPECT_NO_THROW(load({{"MOTORPOOL_WS_IDLE_TIMEOUT", "5m"}}));
    EXPECT_THROW(load({{"MOTORPOOL_ACCESS_TOKEN_TTL", "25h"}}), core::ConfigError);
    EXPECT_THROW(load({{"MOTORPOOL_SMARTCAR_POLL_INTERVAL", "500ms"}}), core::ConfigError);
}

TEST(AppConfigTest, ReadsNamedVariables) {
    Config c = load({{"PORT", "9100"},
                     {"DATABASE_URL", "postgresql://localhost/mp"},
                     {"CORS_ORIGINS", "http://a.test, http://b.test"},
                     {"MOTORPOOL_READ_TIMEOUT", "1500ms"},
                     {"MOTORPOOL_PG_PREPARED_STATEMENTS", "false"},
                     {"MOTORPOOL_LOG_FORMAT", "json"},
                     {"SMARTCAR_MODE", "live"},
                     {"SMARTCAR_API_VERSION", "3"}});
    EXPECT_EQ(c.http.server.port, 9100);
    ASSERT_EQ(c.http.router.cors_origins.size(), 2U);
    EXPECT_EQ(c.http.router.cors_origins[1], "http://b.test");
    EXPECT_EQ(c.http.server.read_timeout.count(), 1500);
    EXPECT_FALSE(c.database.options.pg_prepared_statements);
    EXPECT_EQ(c.core.log_format, "json");
    EXPECT_EQ(c.modules->smartcar->options().api_version, 3);
    EXPECT_EQ(c.modules->smartcar->options().webhook_id, "");  // live: no simulator's webhook
}

TEST(AppConfigTest, RejectsBadValuesNamingEachVariable) {
    try {
        load({{"PORT", "70000"}, {"MOTORPOOL_LOG_LEVEL", "loud"}, {"MOTORPOOL_IDLE_TIMEOUT", "soon"}});
        FAIL() << "expected ConfigError";
    } catch (const core::ConfigError& e) {
        std::string message = e.what();
        EXPECT_NE(message.find("PORT"), std::string::npos);
        EXPECT_NE(message.find("MOTORPOOL_LOG_LEVEL"), std::string::npos);
        EXPECT_NE(message.find("MOTORPOOL_IDLE_TIMEOUT"), std::string::npos);
    }
    EXPECT_THROW(load({{"MOTORPOOL_ENCRYPTION_KEY", "bm90LTMyLWJ5dGVz"}}), core::ConfigError);
}

TEST(AppConfigTest, ProductionRefusesToStartWithoutSecrets) {
    auto dir = std::filesystem::temp_directory_path() / ("mp-app-config-prod-" + std::to_string(::getpid()));
    std::string url = "sqlite:///" + (dir / "prod.db").string();
    try {
        Config::load(
            core::EnvSource::from_map(
                {{"MOTORPOOL_ENV", "production"}, {"DATABASE_URL", url}, {"SECRET_KEY", std::string(40, 'k')}}),
            true);
        FAIL() << "expected ConfigError";
    } catch (const core::ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("MOTORPOOL_ENCRYPTION_KEY"), std::string::npos);
        EXPECT_EQ(std::string(e.what()).find("SECRET_KEY "), std::string::npos);
    }
    EXPECT_FALSE(std::filesystem::exists(dir / "prod.db.secrets"));
    EXPECT_THROW(load({{"MOTORPOOL_ENV", "production"},
                       {"SECRET_KEY", "short"},
                       {"MOTORPOOL_ENCRYPTION_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}}),
                 core::ConfigError);
}

TEST(AppConfigTest, SmartcarsModeIsNeverTheSimulatorByDefaultInProduction) {
    const std::map<std::string, std::string> production{
        {"MOTORPOOL_ENV", "production"},
        {"DATABASE_URL", "sqlite:///unused-prod.db"},
        {"SECRET_KEY", std::string(40, 'k')},
        {"MOTORPOOL_ENCRYPTION_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}};
    try {
        load(production);
        FAIL() << "production started without a Smartcar mode";
    } catch (const core::ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("SMARTCAR_MODE must be set in production"), std::string::npos) << e.what();
    }
    // Real credentials: live is inferred.
    auto with_credentials = production;
    with_credentials["SMARTCAR_CLIENT_ID"] = "real-client";
    with_credentials["SMARTCAR_CLIENT_SECRET"] = "real-secret";
    with_credentials["SMARTCAR_MANAGEMENT_TOKEN"] = "real-amt";
    try {
        Config live = load(with_credentials);
        EXPECT_EQ(live.modules->smartcar->options().mode, "live");
        EXPECT_EQ(live.modules->smartcar->options().client_id, "real-client");
    } catch (const core::ConfigError& e) {
        EXPECT_EQ(std::string(e.what()).find("SMARTCAR"), std::string::npos) << e.what();
    }
    // A test mode without credentials refuses to start in production.
    auto test_mode = production;
    test_mode["SMARTCAR_MODE"] = "sandbox";  // the integration's name for test
    try {
        load(test_mode);
        FAIL() << "production started in test mode without credentials";
    } catch (const core::ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("SMARTCAR_CLIENT_ID and SMARTCAR_CLIENT_SECRET must be set"),
                  std::string::npos)
            << e.what();
    }
    // Outside production: the simulator, and the integration's origin names as aliases.
    Config dev = load({{"SMARTCAR_MODE", "Sandbox"}, {"SMARTCAR_BASE_URL", "http://127.0.0.1:9/api"}});
    EXPECT_EQ(dev.modules->smartcar->options().mode, "test");
    EXPECT_EQ(dev.modules->smartcar->options().api_origin, "http://127.0.0.1:9/api");
    EXPECT_EQ(load({}).modules->smartcar->options().mode, "simulated");
}

TEST(AppConfigTest, UsePostgresBuildsTheUrlFromDbVariables) {
    Config c = load({{"USE_POSTGRES", "True"},
                     {"DB_NAME", "membership"},
                     {"DB_USER", "app"},
                     {"DB_PASSWORD", "p@ss word"},
                     {"DB_HOST", "db.internal"},
                     {"DB_PORT", "6543"}});
    EXPECT_EQ(c.database.options.url, "postgresql://app:p%40ss%20word@db.internal:6543/membership");
    // DATABASE_URL, when set, wins.
    EXPECT_EQ(
        load({{"USE_POSTGRES", "true"}, {"DB_NAME", "x"}, {"DATABASE_URL", "sqlite:///a.db"}}).database.options.url,
        "sqlite:///a.db");
    EXPECT_THROW(load({{"USE_POSTGRES", "true"}}), core::ConfigError);  // no DB_NAME
}

TEST(AppConfigTest, DevelopmentSecretsAreGeneratedOnceAndKept) {
    auto dir = std::filesystem::temp_directory_path() / ("mp-app-config-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string url = "sqlite:///" + (dir / "dev.db").string();
    Config first = Config::load(core::EnvSource::from_map({{"DATABASE_URL", url}}), true);
    EXPECT_GE(first.modules->auth->options().secret_key.size(), 32U);
    EXPECT_FALSE(first.core.encryption_key.empty());
    EXPECT_EQ(first.modules->smartcar->options().client_id.rfind("sim-", 0), 0U);
    EXPECT_TRUE(std::filesystem::exists(dir / "dev.db.secrets"));
    EXPECT_EQ(entry(first, "SMARTCAR_MANAGEMENT_TOKEN")->origin, "secrets file " + (dir / "dev.db.secrets").string());

    Config second = Config::load(core::EnvSource::from_map({{"DATABASE_URL", url}}), true);
    EXPECT_EQ(second.modules->auth->options().secret_key, first.modules->auth->options().secret_key);
    EXPECT_EQ(second.core.encryption_key, first.core.encryption_key);
    EXPECT_EQ(second.modules->smartcar->options().client_secret, first.modules->smartcar->options().client_secret);
    std::filesystem::remove_all(dir);
}

TEST(AppConfigTest, EveryVariableBelongsToTheModuleDeclaringIt) {
    Config c = load({{"SECRET_KEY", "super-secret-value"},
                     {"DATABASE_URL", "postgresql://user:hunter2@db.example/mp"},
                     {"SMARTCAR_CLIENT_SECRET", "sc-secret"}});
    std::map<std::string, std::string> module_of;
    for (const auto& e : c.settings.entries()) {
        EXPECT_TRUE(module_of.emplace(e.name, e.module).second) << e.name << " listed twice";
        EXPECT_EQ(e.value.find("super-secret-value"), std::string::npos) << e.name;
        EXPECT_EQ(e.value.find("hunter2"), std::string::npos) << e.name;
        EXPECT_EQ(e.value.find("sc-secret"), std::string::npos) << e.name;
        EXPECT_FALSE(e.meaning.empty()) << e.name;
    }
    EXPECT_EQ(module_of.at("MOTORPOOL_ENV"), "core");
    EXPECT_EQ(module_of.at("DATABASE_URL"), "db");
    EXPECT_EQ(module_of.at("PORT"), "http");
    EXPECT_EQ(module_of.at("SECRET_KEY"), "auth");
    EXPECT_EQ(module_of.at("MOTORPOOL_SMTP_URL"), "mail");
    EXPECT_EQ(module_of.at("MOTORPOOL_TELEMETRY_RETENTION_DAYS"), "telemetry");
    EXPECT_EQ(module_of.at("MOTORPOOL_WS_IDLE_TIMEOUT"), "live");
    EXPECT_EQ(module_of.at("SMARTCAR_CLIENT_ID"), "smartcar");
    EXPECT_EQ(module_of.at("SMARTCAR_SIM_FAULTS"), "smartcar_sim");
    EXPECT_EQ(entry(c, "DATABASE_URL")->value, "postgresql://user:****@db.example/mp");
    EXPECT_EQ(entry(c, "DATABASE_URL")->origin, ".env");
    EXPECT_EQ(entry(c, "PORT")->origin, "default");
    EXPECT_EQ(entry(c, "SMARTCAR_REDIRECT_URI")->value, "http://127.0.0.1:8000/oauth/smartcar/callback");
    // Grouped: a module's variables are listed together.
    std::set<std::string> seen;
    std::string current;
    for (const auto& e : c.settings.entries()) {
        if (e.module != current) {
            EXPECT_TRUE(seen.insert(e.module).second) << e.module << " listed in two places";
            current = e.module;
        }
    }
}

}  // namespace
}  // namespace motorpool::app
