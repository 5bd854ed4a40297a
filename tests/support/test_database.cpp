#include "test_database.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include "core/crypto.hpp"

namespace motorpool::testing {
namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read before tests start threads
    return v != nullptr ? v : "";
}

// Runs one statement on the admin connection (CREATE/DROP DATABASE cannot run in a transaction).
void admin_exec(const std::string& sql) {
    PGconn* conn = PQconnectdb(env("MOTORPOOL_TEST_PG_URL").c_str());
    if (PQstatus(conn) != CONNECTION_OK) {
        std::string message = PQerrorMessage(conn);
        PQfinish(conn);
        throw std::runtime_error("test PostgreSQL unreachable: " + message);
    }
    PGresult* result = PQexec(conn, sql.c_str());
    bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
    std::string message = ok ? "" : PQresultErrorMessage(result);
    PQclear(result);
    PQfinish(conn);
    if (!ok) {
        throw std::runtime_error("test PostgreSQL: " + message);
    }
}

// postgresql://user@host:port/postgres -> postgresql://user@host:port/<name> (keeps any ?params).
std::string with_database(const std::string& url, const std::string& name) {
    auto scheme = url.find("://");
    auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    auto query = url.find('?');
    std::string base = slash == std::string::npos ? url.substr(0, query) : url.substr(0, slash);
    std::string params = query == std::string::npos ? "" : url.substr(query);
    return base + "/" + name + params;
}

std::filesystem::path new_sqlite_dir() {
    auto dir = std::filesystem::temp_directory_path() / ("motorpool-test-" + core::hex_encode(core::random_bytes(8)));
    std::filesystem::create_directories(dir);
    return dir;
}

// Removes a test database: its SQLite directory or its PostgreSQL database. Never throws.
void remove_database(const std::string& sqlite_dir, const std::string& pg_name) noexcept {
    try {
        if (!sqlite_dir.empty()) {
            std::filesystem::remove_all(sqlite_dir);
        }
        if (!pg_name.empty()) {
            admin_exec("DROP DATABASE IF EXISTS " + pg_name + " WITH (FORCE)");
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "test database cleanup failed: %s\n", e.what());
    }
}

// The process's template database (TestDatabase(prepare)): made once, removed at exit.
struct Template {
    std::mutex mutex;
    bool made = false;
    std::filesystem::path sqlite_dir;  // SQLite: template.db in it
    std::string pg_name;               // PostgreSQL: a database copied with CREATE DATABASE ... TEMPLATE

    ~Template() { remove_database(sqlite_dir.string(), pg_name); }

    // Made directly on PostgreSQL, never through PgBouncer: PostgreSQL copies a database only
    // while nobody is connected to it, and PgBouncer would keep a connection open.
    void make(TestBackend backend, const TestDatabase::Prepare& prepare) {
        db::Options options;
        options.pool_size = 1;
        if (backend == TestBackend::Sqlite) {
            sqlite_dir = new_sqlite_dir();
            options.url = "sqlite:///" + (sqlite_dir / "template.db").string();
        } else {
            pg_name = "mp_template_" + core::hex_encode(core::random_bytes(6));
            admin_exec("CREATE DATABASE " + pg_name);
            options.url = with_database(env("MOTORPOOL_TEST_PG_URL"), pg_name);
        }
        prepare(options);  // closes its connections before it returns
        if (!pg_name.empty()) {
            admin_exec("ALTER DATABASE " + pg_name + " WITH ALLOW_CONNECTIONS false");
        }
        made = true;
    }
};

Template& the_template() {
    static Template t;
    return t;
}

}  // namespace

std::optional<TestBackend> test_backend_from_env() {
    std::string name = env("MOTORPOOL_TEST_BACKEND");
    if (name.empty() || name == "sqlite") {
        return TestBackend::Sqlite;
    }
    if (name == "postgres") {
        return TestBackend::Postgres;
    }
    if (name == "pgbouncer") {
        return TestBackend::PgBouncer;
    }
    return std::nullopt;
}

const char* backend_name(TestBackend backend) {
    switch (backend) {
        case TestBackend::Sqlite:
            return "sqlite";
        case TestBackend::Postgres:
            return "postgres";
        case TestBackend::PgBouncer:
            return "pgbouncer";
    }
    return "unknown";
}

std::optional<std::string> backend_unavailable_reason() {
    auto backend = test_backend_from_env();
    if (!backend) {
        return "MOTORPOOL_TEST_BACKEND must be sqlite, postgres or pgbouncer";
    }
    if (*backend != TestBackend::Sqlite && env("MOTORPOOL_TEST_PG_URL").empty()) {
        return "MOTORPOOL_TEST_PG_URL is not set (run under scripts/with-postgres, as make test does)";
    }
    if (*backend == TestBackend::PgBouncer && env("MOTORPOOL_TEST_PGBOUNCER_URL").empty()) {
        return "MOTORPOOL_TEST_PGBOUNCER_URL is not set (run under scripts/with-postgres, as make test does)";
    }
    return std::nullopt;
}

TestDatabase::TestDatabase() : backend_(test_backend_from_env().value_or(TestBackend::Sqlite)) {
    if (auto reason = backend_unavailable_reason()) {
        throw std::runtime_error("no test database: " + *reason);
    }
    if (backend_ == TestBackend::Sqlite) {
        const auto dir = new_sqlite_dir();
        sqlite_dir_ = dir.string();
        url_ = "sqlite:///" + (dir / "test.db").string();  // absolute: sqlite:////tmp/...
        return;
    }
    pg_name_ = "mp_test_" + core::hex_encode(core::random_bytes(6));
    admin_exec("CREATE DATABASE " + pg_name_);
    url_ = with_database(
        env(backend_ == TestBackend::PgBouncer ? "MOTORPOOL_TEST_PGBOUNCER_URL" : "MOTORPOOL_TEST_PG_URL"), pg_name_);
}

TestDatabase::TestDatabase(const Prepare& prepare) : backend_(test_backend_from_env().value_or(TestBackend::Sqlite)) {
    if (auto reason = backend_unavailable_reason()) {
        throw std::runtime_error("no test database: " + *reason);
    }
    Template& t = the_template();
    std::lock_guard lock(t.mutex);
    if (!t.made) {
        t.make(backend_, prepare);
    }
    if (backend_ == TestBackend::Sqlite) {
        const auto dir = new_sqlite_dir();
        sqlite_dir_ = dir.string();
        // The database file and whatever the closed template left beside it (a WAL, if any).
        for (const auto& entry : std::filesystem::directory_iterator(t.sqlite_dir)) {
            const std::string name = entry.path().filename().string();
            std::filesystem::copy_file(entry.path(),
                                       dir / ("test.db" + name.substr(std::string("template.db").size())));
        }
        url_ = "sqlite:///" + (dir / "test.db").string();
        return;
    }
    pg_name_ = "mp_test_" + core::hex_encode(core::random_bytes(6));
    admin_exec("CREATE DATABASE " + pg_name_ + " TEMPLATE " + t.pg_name);
    url_ = with_database(
        env(backend_ == TestBackend::PgBouncer ? "MOTORPOOL_TEST_PGBOUNCER_URL" : "MOTORPOOL_TEST_PG_URL"), pg_name_);
}

TestDatabase::~TestDatabase() {
    remove_database(sqlite_dir_, pg_name_);
}

db::Options TestDatabase::options() const {
    db::Options options;
    options.url = url_;
    options.pool_size = 4;
    options.pg_prepared_statements = prepared_statements();
    return options;
}

int run_all_tests_or_skip(int argc, char** argv, const std::string& backend_free_suites) {
    ::testing::InitGoogleTest(&argc, argv);
    if (auto reason = backend_unavailable_reason()) {
        std::fprintf(stderr, "SKIPPED: %s\n", reason->c_str());
        return 77;
    }
    const TestBackend backend = *test_backend_from_env();
    std::fprintf(stderr, "database backend: %s\n", backend_name(backend));
    if (!backend_free_suites.empty() && backend != TestBackend::Sqlite) {
        std::string filter = ::testing::GTEST_FLAG(filter);
        filter += filter.find('-') == std::string::npos ? "-" : ":";
        ::testing::GTEST_FLAG(filter) = filter + backend_free_suites;
    }
    return RUN_ALL_TESTS();
}

}  // namespace motorpool::testing
