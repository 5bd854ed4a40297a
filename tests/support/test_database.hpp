#pragma once
// A fresh, empty database per test on the backend MOTORPOOL_TEST_BACKEND names:
// sqlite (default), postgres (MOTORPOOL_TEST_PG_URL) or pgbouncer (MOTORPOOL_TEST_PGBOUNCER_URL).

#include <functional>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "db/db.hpp"

namespace motorpool::testing {

enum class TestBackend { Sqlite, Postgres, PgBouncer };

/// The backend this test process runs against; nullopt for an unknown name.
std::optional<TestBackend> test_backend_from_env();
const char* backend_name(TestBackend backend);

/// Why the selected backend cannot run here (its URL variable is unset), or nullopt when it can.
std::optional<std::string> backend_unavailable_reason();

/// For suites linked with gtest_main: skips the current test when the backend cannot run here.
#define MOTORPOOL_SKIP_UNLESS_BACKEND_AVAILABLE()                                   \
    do {                                                                            \
        if (auto mp_reason_ = ::motorpool::testing::backend_unavailable_reason()) { \
            GTEST_SKIP() << *mp_reason_;                                            \
        }                                                                           \
    } while (false)

class TestDatabase {
public:
    /// An empty database.
    TestDatabase();
    /// A copy of this process's template database, which `prepare` fills the first time it is
    /// needed (given the template's options: it applies the migrations, say). Copying a migrated
    /// database costs a fraction of migrating each test's own.
    using Prepare = std::function<void(const db::Options&)>;
    explicit TestDatabase(const Prepare& prepare);
    ~TestDatabase();
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;

    TestBackend backend() const { return backend_; }
    /// DATABASE_URL of the new database (through PgBouncer on that backend).
    const std::string& url() const { return url_; }
    /// False behind PgBouncer's transaction pooling.
    bool prepared_statements() const { return backend_ != TestBackend::PgBouncer; }
    db::Options options() const;

private:
    TestBackend backend_;
    std::string url_;
    std::string sqlite_dir_;
    std::string pg_name_;
};

/// gtest main for backend-parameterised suites: exit code 77 (CTest: skipped) when the backend
/// is unavailable, otherwise RUN_ALL_TESTS().
/// `backend_free_suites`: suites that do not use the backend under test (a gtest filter such as
/// "DatabaseUrlTest.*:SqliteDurabilityTest.*"): they run in the SQLite run only, not three times
/// at once beside themselves.
int run_all_tests_or_skip(int argc, char** argv, const std::string& backend_free_suites = {});

}  // namespace motorpool::testing
