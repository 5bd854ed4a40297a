#include "core/config.hpp"

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

namespace motorpool::core {
namespace {

TEST(DotenvTest, ParsesCommentsQuotesAndExport) {
    auto values = parse_dotenv(
        "# comment\n"
        "PORT=9000\n"
        "export DATABASE_URL = \"postgresql://u:p@h/db\"\n"
        "SECRET_KEY='abc def'\n"
        "CORS_ORIGINS=http://a, http://b # trailing comment\n"
        "BROKEN LINE\n"
        "=nokey\n");
    EXPECT_EQ(values.at("PORT"), "9000");
    EXPECT_EQ(values.at("DATABASE_URL"), "postgresql://u:p@h/db");
    EXPECT_EQ(values.at("SECRET_KEY"), "abc def");
    EXPECT_EQ(values.at("CORS_ORIGINS"), "http://a, http://b");
    EXPECT_EQ(values.size(), 4U);
}

TEST(DurationTest, ParsesUnits) {
    EXPECT_EQ(parse_duration("250ms")->count(), 250);
    EXPECT_EQ(parse_duration("30s")->count(), 30'000);
    EXPECT_EQ(parse_duration("30")->count(), 30'000);
    EXPECT_EQ(parse_duration("5m")->count(), 300'000);
    EXPECT_EQ(parse_duration("1h")->count(), 3'600'000);
    EXPECT_FALSE(parse_duration(""));
    EXPECT_FALSE(parse_duration("ms"));
    EXPECT_FALSE(parse_duration("10x"));
    EXPECT_FALSE(parse_duration("-5s"));
}

TEST(ConfigTest, DefaultsWithNoConfiguration) {
    Config c = Config::load(EnvSource::from_map({}));
    EXPECT_EQ(c.port, 8000);
    EXPECT_EQ(c.database_url, "sqlite:///motorpool.db");
    EXPECT_EQ(c.env, "development");
    EXPECT_EQ(c.smartcar_mode, "simulated");
    EXPECT_GT(c.io_threads, 0);
    const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    EXPECT_EQ(c.worker_threads, std::max(2, cores));  // SQLite: one per core
    EXPECT_EQ(c.db_pool_size, c.worker_threads);
    EXPECT_EQ(Config::load(EnvSource::from_map({{"DATABASE_URL", "postgresql://localhost/mp"}})).worker_threads,
              std::max(8, 4 * cores));
    EXPECT_EQ(c.sqlite_synchronous, "FULL");
    EXPECT_EQ(Config::load(EnvSource::from_map({{"MOTORPOOL_SQLITE_SYNCHRONOUS", "normal"}})).sqlite_synchronous,
              "NORMAL");
    EXPECT_THROW(Config::load(EnvSource::from_map({{"MOTORPOOL_SQLITE_SYNCHRONOUS", "OFF"}})), ConfigError);
    EXPECT_TRUE(c.sqlite_gather_wal);
    EXPECT_FALSE(Config::load(EnvSource::from_map({{"MOTORPOOL_SQLITE_GATHER_WAL", "false"}})).sqlite_gather_wal);
    EXPECT_THROW(Config::load(EnvSource::from_map({{"MOTORPOOL_SQLITE_GATHER_WAL", "sometimes"}})), ConfigError);
    EXPECT_EQ(c.telemetry_retention_days, 0);
    EXPECT_THROW(Config::load(EnvSource::from_map({{"MOTORPOOL_TELEMETRY_RETENTION_DAYS", "-1"}})), ConfigError);
    EXPECT_EQ(c.max_header_bytes, 16U * 1024);
    EXPECT_EQ(c.max_body_bytes, 1024U * 1024);
    EXPECT_EQ(c.secrets_file, "motorpool.db.secrets");
    EXPECT_EQ(c.ws_idle_timeout, std::chrono::seconds(60));
    EXPECT_EQ(Config::load(EnvSource::from_map({{"MOTORPOOL_WS_IDLE_TIMEOUT", "5m"}})).ws_idle_timeout,
              std::chrono::minutes(5));
    for (const char* bad : {"0s", "500ms", "1500ms", "2h"}) {
        EXPECT_THROW(Config::load(EnvSource::from_map({{"MOTORPOOL_WS_IDLE_TIMEOUT", bad}})), ConfigError) << bad;
    }
}

TEST(ConfigTest, ReadsNamedVariables) {
    Config c = Config::load(EnvSource::from_map({{"PORT", "9100"},
                                                 {"DATABASE_URL", "postgresql://localhost/mp"},
                                                 {"CORS_ORIGINS", "http://a.test, http://b.test"},
                                                 {"MOTORPOOL_READ_TIMEOUT", "1500ms"},
                                                 {"MOTORPOOL_PG_PREPARED_STATEMENTS", "false"},
                                                 {"MOTORPOOL_LOG_FORMAT", "json"}}));
    EXPECT_EQ(c.port, 9100);
    EXPECT_EQ(c.database_url, "postgresql://localhost/mp");
    ASSERT_EQ(c.cors_origins.size(), 2U);
    EXPECT_EQ(c.cors_origins[1], "http://b.test");
    EXPECT_EQ(c.read_timeout.count(), 1500);
    EXPECT_FALSE(c.pg_prepared_statements);
    EXPECT_EQ(c.log_format, "json");
    EXPECT_EQ(c.secrets_file, "motorpool.secrets");
}

TEST(ConfigTest, RejectsBadValuesNamingEachVariable) {
    try {
        Config::load(EnvSource::from_map(
            {{"PORT", "70000"}, {"MOTORPOOL_LOG_LEVEL", "loud"}, {"MOTORPOOL_IDLE_TIMEOUT", "soon"}}));
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        std::string message = e.what();
        EXPECT_NE(message.find("PORT"), std::string::npos);
        EXPECT_NE(message.find("MOTORPOOL_LOG_LEVEL"), std::string::npos);
        EXPECT_NE(message.find("MOTORPOOL_IDLE_TIMEOUT"), std::string::npos);
    }
}

TEST(ConfigTest, ProductionRefusesToStartWithoutSecrets) {
    Config c =
        Config::load(EnvSource::from_map({{"MOTORPOOL_ENV", "production"}, {"SECRET_KEY", std::string(40, 'k')}}));
    try {
        c.ensure_secrets();
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("MOTORPOOL_ENCRYPTION_KEY"), std::string::npos);
        EXPECT_EQ(std::string(e.what()).find("SECRET_KEY "), std::string::npos);
    }
}

TEST(ConfigTest, DevelopmentSecretsAreGeneratedOnceAndKept) {
    auto dir = std::filesystem::temp_directory_path() / ("mp-config-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::string url = "sqlite:///" + (dir / "dev.db").string();
    Config first = Config::load(EnvSource::from_map({{"DATABASE_URL", url}}));
    first.ensure_secrets();
    EXPECT_GE(first.secret_key.size(), 32U);
    EXPECT_FALSE(first.encryption_key.empty());
    EXPECT_TRUE(std::filesystem::exists(dir / "dev.db.secrets"));
    auto perms = std::filesystem::status(dir / "dev.db.secrets").permissions();
    EXPECT_EQ(perms & std::filesystem::perms::others_read, std::filesystem::perms::none);

    Config second = Config::load(EnvSource::from_map({{"DATABASE_URL", url}}));
    second.ensure_secrets();
    EXPECT_EQ(second.secret_key, first.secret_key);
    EXPECT_EQ(second.encryption_key, first.encryption_key);
    std::filesystem::remove_all(dir);
}

TEST(ConfigTest, RejectsMalformedEncryptionKey) {
    Config c =
        Config::load(EnvSource::from_map({{"SECRET_KEY", "x"}, {"MOTORPOOL_ENCRYPTION_KEY", "bm90LTMyLWJ5dGVz"}}));
    EXPECT_THROW(c.ensure_secrets(), ConfigError);
}

TEST(ConfigTest, DescribeMasksSecrets) {
    EnvSource source = EnvSource::from_map({{"SECRET_KEY", "super-secret-value"},
                                            {"DATABASE_URL", "postgresql://user:hunter2@db.example/mp"},
                                            {"SMARTCAR_CLIENT_SECRET", "sc-secret"}});
    Config c = Config::load(source);
    for (const auto& entry : c.describe(source)) {
        EXPECT_EQ(entry.value.find("super-secret-value"), std::string::npos) << entry.name;
        EXPECT_EQ(entry.value.find("hunter2"), std::string::npos) << entry.name;
        EXPECT_EQ(entry.value.find("sc-secret"), std::string::npos) << entry.name;
        if (entry.name == "DATABASE_URL") {
            EXPECT_EQ(entry.value, "postgresql://user:****@db.example/mp");
            EXPECT_EQ(entry.origin, ".env");
        }
        if (entry.name == "PORT") {
            EXPECT_EQ(entry.origin, "default");
        }
    }
}

TEST(ConfigTest, MasksPasswordParameters) {
    EXPECT_EQ(mask_url_password("postgresql://h/db?sslmode=require&password=abc&x=1"),
              "postgresql://h/db?sslmode=require&password=****&x=1");
    EXPECT_EQ(mask_url_password("sqlite:///motorpool.db"), "sqlite:///motorpool.db");
    EXPECT_EQ(mask_url_password("postgresql://user@h/db"), "postgresql://user@h/db");
}

}  // namespace
}  // namespace motorpool::core
