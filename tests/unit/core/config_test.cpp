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

TEST(SettingsTest, ReadsDeclaredVariablesWithDefaultsAndOrigins) {
    EnvSource source = EnvSource::from_map({{"PORT", "9100"}, {"LIST", "http://a.test, ,http://b.test"}});
    source.set("FLAG", "off");
    Settings s(source);
    s.module("one");
    EXPECT_EQ(s.integer("PORT", 8000, 0, 65535, "port"), 9100);
    EXPECT_EQ(s.string("NAME", "fallback", "a name"), "fallback");
    s.module("two");
    EXPECT_FALSE(s.boolean("FLAG", true, "a flag"));
    EXPECT_EQ(s.duration("WAIT", std::chrono::seconds(2), "a wait").count(), 2000);
    auto list = s.list("LIST", "origins");
    ASSERT_EQ(list.size(), 2U);
    EXPECT_EQ(list[1], "http://b.test");
    EXPECT_EQ(s.value_of("PORT"), "9100");
    EXPECT_THROW(s.value_of("UNDECLARED"), std::logic_error);
    s.finish();

    const auto& e = s.entries();
    ASSERT_EQ(e.size(), 5U);
    EXPECT_EQ(e[0].module, "one");
    EXPECT_EQ(e[0].origin, ".env");
    EXPECT_EQ(e[0].meaning, "port");
    EXPECT_EQ(e[1].value, "fallback");
    EXPECT_EQ(e[1].origin, "default");
    EXPECT_EQ(e[2].module, "two");
    EXPECT_EQ(e[2].value, "false");
    EXPECT_EQ(e[2].origin, "command line");
    EXPECT_EQ(e[3].value, "2000ms");
    EXPECT_EQ(e[4].value, "http://a.test,http://b.test");
}

TEST(SettingsTest, GathersEveryProblemNamingEachVariable) {
    Settings s(EnvSource::from_map(
        {{"PORT", "70000"}, {"LEVEL", "loud"}, {"IDLE", "soon"}, {"SHORT", "500ms"}, {"ON", "sometimes"}}));
    EXPECT_EQ(s.integer("PORT", 8000, 0, 65535, ""), 8000);  // the default stays on a bad value
    EXPECT_EQ(s.one_of("LEVEL", "info", {"info", "warn"}, ""), "info");
    s.duration("IDLE", std::chrono::seconds(1), "");
    s.duration("SHORT", std::chrono::seconds(5), "", std::chrono::seconds(1));
    s.boolean("ON", true, "");
    try {
        s.finish();
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        std::string message = e.what();
        for (const char* name : {"PORT", "LEVEL", "IDLE", "SHORT", "ON"}) {
            EXPECT_NE(message.find(name), std::string::npos) << name;
        }
    }
}

TEST(SettingsTest, AVariableHasOneOwner) {
    Settings s(EnvSource::from_map({}));
    s.module("smartcar");
    s.string("SMARTCAR_CLIENT_ID", "", "");
    s.module("elsewhere");
    s.string("SMARTCAR_CLIENT_ID", "", "");
    try {
        s.finish();
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("declared by both smartcar and elsewhere"), std::string::npos);
    }
}

TEST(SettingsTest, SecretsAreMaskedAndDerivedValuesShown) {
    Settings s(EnvSource::from_map({{"SECRET_KEY", "super-secret-value"},
                                    {"DATABASE_URL", "postgresql://user:hunter2@db.example/mp"},
                                    {"KEYS", "k1-secret,k2-secret"}}));
    EXPECT_EQ(s.secret("SECRET_KEY", "signs"), "super-secret-value");
    EXPECT_EQ(s.url("DATABASE_URL", "", "db"), "postgresql://user:hunter2@db.example/mp");
    EXPECT_EQ(s.list("KEYS", "older keys", true).size(), 2U);
    s.string("REDIRECT", "", "derived when empty");
    s.derived("REDIRECT", "http://127.0.0.1:8000/cb", "derived from PORT");
    s.finish();
    const auto& e = s.entries();
    EXPECT_EQ(e[0].value, "**** (18 chars)");
    EXPECT_EQ(e[1].value, "postgresql://user:****@db.example/mp");
    EXPECT_EQ(e[2].value, "**** (9 chars),**** (9 chars)");
    EXPECT_EQ(e[3].value, "http://127.0.0.1:8000/cb");
    EXPECT_EQ(e[3].origin, "derived from PORT");
}

TEST(SettingsTest, DevelopmentSecretsAreGeneratedOnceAndKept) {
    auto dir = std::filesystem::temp_directory_path() / ("mp-settings-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string file = (dir / "dev.db.secrets").string();
    int generated = 0;
    auto generate = [&generated] {
        ++generated;
        return std::string(40, 'g');
    };
    std::string first;
    {
        Settings s(EnvSource::from_map({}));
        s.keep_secrets_in(file);
        first = s.secret("SECRET_KEY", "", generate);
        EXPECT_EQ(s.entries()[0].origin, "secrets file " + file);
        s.finish();
    }
    EXPECT_EQ(generated, 1);
    EXPECT_EQ(first, std::string(40, 'g'));
    auto perms = std::filesystem::status(file).permissions();
    EXPECT_EQ(perms & std::filesystem::perms::others_read, std::filesystem::perms::none);
    {
        Settings s(EnvSource::from_map({}));
        s.keep_secrets_in(file);
        EXPECT_EQ(s.secret("SECRET_KEY", "", generate), first);
        s.finish();
    }
    EXPECT_EQ(generated, 1);  // read back, not generated again
    {
        Settings s(EnvSource::from_map({}));  // no secrets file: stays empty
        EXPECT_EQ(s.secret("SECRET_KEY", "", generate), "");
        s.finish();
    }
    std::filesystem::remove_all(dir);
}

TEST(SettingsTest, ProductionRefusesGeneratedSecretsUnlessOptional) {
    Settings s(EnvSource::from_map({}));
    s.set_production(true);
    s.keep_secrets_in((std::filesystem::temp_directory_path() / "mp-never-written.secrets").string());
    s.secret("MOTORPOOL_ENCRYPTION_KEY", "", [] { return std::string("k"); });
    s.secret(
        "SMARTCAR_CLIENT_ID", "", [] { return std::string("sim-1"); }, true);
    try {
        s.finish();
        FAIL() << "expected ConfigError";
    } catch (const ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find("MOTORPOOL_ENCRYPTION_KEY must be set in production"), std::string::npos);
        EXPECT_EQ(std::string(e.what()).find("SMARTCAR_CLIENT_ID"), std::string::npos);
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
