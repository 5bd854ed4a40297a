// Every module's migrations together (the App's list), and the upgrade of a database made by the
// release with one global migration sequence (tests/fixtures/upgrade), on each backend.
#include <algorithm>
#include <fstream>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "app/app.hpp"
#include "core/worker_pool.hpp"
#include "db/db.hpp"
#include "test_database.hpp"

namespace motorpool::testing {
namespace {

using db::Connection;
using db::Migration;

// The fixture's SQL, without psql's meta-commands (pg_dump writes \restrict lines for psql).
std::string read_fixture(const std::string& name) {
    std::ifstream in(std::string(MOTORPOOL_SOURCE_DIR) + "/tests/fixtures/upgrade/" + name);
    std::string text;
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with('\\')) {
            text += line + "\n";
        }
    }
    return text;
}

class MigrationsTest : public ::testing::Test {
protected:
    void SetUp() override {
        MOTORPOOL_SKIP_UNLESS_BACKEND_AVAILABLE();
        database_ = std::make_unique<TestDatabase>();
        db_ = db::Database::open(database_->options(), workers_, nullptr);
    }
    void TearDown() override {
        if (db_) {
            db_->close();
        }
    }
    std::int64_t count(const std::string& sql) {
        return db_->with_reader([&](Connection& c) { return c.query(sql).front().int64(0); });
    }
    bool has_table(const std::string& table) {
        return db_->with_reader([&](Connection& c) {
            if (c.dialect() == db::Dialect::Sqlite) {
                return !c.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1", {table}).empty();
            }
            return c.query("SELECT to_regclass($1) IS NOT NULL", {table}).front().boolean(0);
        });
    }
    // Loads a fixture database through a connection of its own (pg_dump's script empties the
    // search_path of the session that runs it).
    void load_release_fixture() {
        const bool sqlite = db_->dialect() == db::Dialect::Sqlite;
        auto options = database_->options();
        options.pool_size = 1;
        auto loader = db::Database::open(options, workers_, nullptr);
        {
            db::Lease writer = loader->acquire_writer();
            writer->execute_script(read_fixture(sqlite ? "sqlite.sql" : "postgres.sql"));
        }
        loader->close();
    }

    core::WorkerPool workers_{2, 16};
    std::unique_ptr<TestDatabase> database_;
    std::unique_ptr<db::Database> db_;
};

TEST_F(MigrationsTest, EveryModulesMigrationsApplyOnceAndReportStatus) {
    auto migrations = app::migrations(db_->dialect());
    ASSERT_FALSE(migrations.empty());
    EXPECT_EQ(migrations.front().module, "db");
    EXPECT_EQ(migrations.front().name, "baseline");
    EXPECT_EQ(db::migrate(*db_, migrations), static_cast<int>(migrations.size()));
    EXPECT_EQ(db::migrate(*db_, migrations), 0);
    for (const auto& status : db::migration_status(*db_, migrations)) {
        EXPECT_TRUE(status.applied) << status.module << "/" << status.version;
        EXPECT_TRUE(status.checksum_matches);
        EXPECT_TRUE(status.applied_at_ms.has_value());
    }
    EXPECT_EQ(count("SELECT COUNT(*) FROM module_migrations"), static_cast<std::int64_t>(migrations.size()));
    EXPECT_FALSE(has_table("schema_migrations"));
}

// Each module numbers its own files from 1, with the same versions and names in both dialects.
TEST(MigrationFilesTest, EachModuleNumbersItsOwnAndTheDialectsAgree) {
    auto sqlite = app::migrations(db::Dialect::Sqlite);
    auto postgres = app::migrations(db::Dialect::Postgres);
    ASSERT_EQ(sqlite.size(), postgres.size());
    std::map<std::string, int> last;
    for (std::size_t i = 0; i < sqlite.size(); ++i) {
        EXPECT_EQ(sqlite[i].module, postgres[i].module);
        EXPECT_EQ(sqlite[i].version, postgres[i].version);
        EXPECT_EQ(sqlite[i].name, postgres[i].name);
        EXPECT_FALSE(sqlite[i].sql.empty());
        EXPECT_EQ(sqlite[i].version, ++last[sqlite[i].module]) << sqlite[i].module;
    }
    for (const char* module : {"db", "jobs", "auth", "mail", "vehicles", "telemetry", "smartcar", "smartcar_sim"}) {
        EXPECT_TRUE(last.contains(module)) << module;
    }
}

// smartcar/0002 moves the webhook log's processing state out of the delivery rows: pending
// deliveries stay pending, processed ones keep their outcome.
TEST_F(MigrationsTest, WebhookOutcomesMigrationKeepsPendingAndProcessedDeliveries) {
    auto migrations = app::migrations(db_->dialect());
    auto at = std::find_if(migrations.begin(), migrations.end(), [](const Migration& m) {
        return m.module == "smartcar" && m.version == 2;
    });
    ASSERT_NE(at, migrations.end());
    ASSERT_EQ(at->name, "webhook_outcomes");
    std::vector<Migration> before(migrations.begin(), at);
    db::migrate(*db_, before);
    db_->with_transaction([](Connection& c) {
        c.execute(
            "INSERT INTO webhook_deliveries (provider, event_id, event_type, received_at_ms, body, status, outcome, "
            "processed_at_ms) VALUES ('smartcar', 'e-done', 'VEHICLE_STATE', 10, '{}', 'processed', 'ingested 5 "
            "values', 20), ('smartcar', 'e-wait', 'VEHICLE_STATE', 30, '{}', 'pending', NULL, NULL), ('smartcar', "
            "'e-bad', 'VEHICLE_ERROR', 40, '{}', 'failed', 'no vehicle', NULL)");
    });
    EXPECT_EQ(db::migrate(*db_, migrations), static_cast<int>(migrations.size() - before.size()));
    db_->with_reader([](Connection& c) {
        auto pending =
            c.query("SELECT d.event_id FROM webhook_pending p JOIN webhook_deliveries d ON d.id = p.delivery_id");
        ASSERT_EQ(pending.size(), 1U);
        EXPECT_EQ(pending.front().text(0), "e-wait");
        auto outcomes = c.query(
            "SELECT d.event_id, o.status, o.outcome, o.processed_at_ms FROM webhook_outcomes o JOIN webhook_deliveries "
            "d ON d.id = o.delivery_id ORDER BY d.event_id");
        ASSERT_EQ(outcomes.size(), 2U);
        EXPECT_EQ(outcomes.row(0).text(0), "e-bad");
        EXPECT_EQ(outcomes.row(0).text(1), "failed");
        EXPECT_EQ(outcomes.row(0).int64(3), 40);  // never processed: the time it arrived
        EXPECT_EQ(outcomes.row(1).text(0), "e-done");
        EXPECT_EQ(outcomes.row(1).text(2), "ingested 5 values");
        EXPECT_EQ(outcomes.row(1).int64(3), 20);
    });
    EXPECT_ANY_THROW(db_->with_reader([](Connection& c) { c.query("SELECT status FROM webhook_deliveries"); }));
}

// A database the previous release made (eight migrations in one sequence, an admin, three
// vehicles): today's binary recognises every migration as applied, runs none again, records them
// by module with their original times, drops the old record, and the rows are intact.
TEST_F(MigrationsTest, ADatabaseOfTheSingleSequenceReleaseUpgradesInPlace) {
    if (database_->backend() == TestBackend::PgBouncer) {
        GTEST_SKIP() << "the fixture's script sets session state; loaded on the postgres run";
    }
    load_release_fixture();
    const std::int64_t accounts_applied_at = count("SELECT applied_at_ms FROM schema_migrations WHERE version = 2");
    auto migrations = app::migrations(db_->dialect());
    // Nothing of the old release runs again: only the migrations it did not have (the jobs
    // module's lease table, and whatever modules came since).
    const std::size_t known_to_the_release = 9;  // its eight files, the accounts one now two modules'
    EXPECT_EQ(db::migrate(*db_, migrations), static_cast<int>(migrations.size() - known_to_the_release));
    EXPECT_EQ(count("SELECT COUNT(*) FROM module_migrations WHERE module = 'jobs' AND version = 1"), 1);
    EXPECT_FALSE(has_table("schema_migrations"));
    EXPECT_EQ(count("SELECT COUNT(*) FROM module_migrations"), static_cast<std::int64_t>(migrations.size()));
    // The accounts file of the old sequence is two modules' now; both keep its time.
    EXPECT_EQ(count("SELECT applied_at_ms FROM module_migrations WHERE module = 'auth' AND version = 1"),
              accounts_applied_at);
    EXPECT_EQ(count("SELECT applied_at_ms FROM module_migrations WHERE module = 'mail' AND version = 1"),
              accounts_applied_at);
    for (const auto& status : db::migration_status(*db_, migrations)) {
        EXPECT_TRUE(status.applied) << status.module << "/" << status.version;
        EXPECT_TRUE(status.checksum_matches) << status.module << "/" << status.version;
    }
    EXPECT_EQ(count("SELECT COUNT(*) FROM users WHERE email = 'fixture@example.com' AND role = 'admin'"), 1);
    EXPECT_EQ(count("SELECT COUNT(*) FROM vehicles v JOIN users u ON u.id = v.owner_id WHERE u.email = "
                    "'fixture@example.com'"),
              3);
    // The referral code moved out of users into the membership module's table, unchanged.
    const std::string fixture_code = db_->dialect() == db::Dialect::Sqlite ? "REF-E4NNY4" : "REF-W9P3JF";
    EXPECT_EQ(count("SELECT COUNT(*) FROM referral_codes r JOIN users u ON u.id = r.user_id WHERE u.email = "
                    "'fixture@example.com' AND r.code = '" +
                    fixture_code + "'"),
              1);
    EXPECT_EQ(db::migrate(*db_, migrations), 0);  // and a second start finds nothing to do
}

// An old record whose file was changed after it was applied is refused, and nothing is translated.
TEST_F(MigrationsTest, AChangedMigrationOfTheSingleSequenceReleaseIsRefused) {
    if (database_->backend() == TestBackend::PgBouncer) {
        GTEST_SKIP() << "the fixture's script sets session state; loaded on the postgres run";
    }
    load_release_fixture();
    db_->with_transaction([](Connection& c) {
        c.execute("UPDATE schema_migrations SET checksum = $1 WHERE version = 3", {std::string(64, '0')});
    });
    try {
        db::migrate(*db_, app::migrations(db_->dialect()));
        FAIL() << "a changed migration must be refused";
    } catch (const db::MigrationError& e) {
        EXPECT_NE(std::string(e.what()).find("0003_vehicles was changed"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(has_table("schema_migrations"));
    EXPECT_FALSE(has_table("module_migrations"));
}

}  // namespace
}  // namespace motorpool::testing
