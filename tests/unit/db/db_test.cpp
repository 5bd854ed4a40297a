// The database layer on whichever backend MOTORPOOL_TEST_BACKEND selects (sqlite, postgres,
// pgbouncer): values, placeholders, error classes, transactions, pool, group commit, migrations.

#include "db/db.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <latch>
#include <limits>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include "test_database.hpp"

namespace motorpool::db {
namespace {

namespace net = boost::asio;
using testing::TestBackend;
using testing::TestDatabase;

class DbTest : public ::testing::Test {
protected:
    DbTest() : workers_(4, 1024) {}
    void SetUp() override {
        database_ = std::make_unique<TestDatabase>();
        db_ = Database::open(database_->options(), workers_, &metrics_);
        db_->with_transaction([this](Connection& c) {
            c.execute_script(std::string("CREATE TABLE items (id ") + (pg() ? "BIGSERIAL" : "INTEGER") +
                             " PRIMARY KEY, name TEXT NOT NULL UNIQUE, qty BIGINT, price DOUBLE PRECISION, "
                             "flag BOOLEAN)");
        });
    }
    void TearDown() override {
        db_->close();
        db_.reset();
        database_.reset();
    }
    bool pg() const { return database_->backend() != TestBackend::Sqlite; }
    std::int64_t count(const std::string& where = "1=1") {
        return db_->with_reader(
            [&](Connection& c) { return c.query("SELECT COUNT(*) FROM items WHERE " + where).front().int64(0); });
    }

    core::WorkerPool workers_;
    core::MetricsRegistry metrics_;
    std::unique_ptr<TestDatabase> database_;
    std::unique_ptr<Database> db_;
};

TEST(DatabaseUrlTest, ParsesTheDocumentedForms) {
    auto rel = parse_database_url("sqlite:///motorpool.db");
    EXPECT_EQ(rel.dialect, Dialect::Sqlite);
    EXPECT_EQ(rel.sqlite_path, "motorpool.db");
    EXPECT_EQ(parse_database_url("sqlite:////var/lib/mp/data.db").sqlite_path, "/var/lib/mp/data.db");
    EXPECT_EQ(parse_database_url("sqlite:///:memory:").sqlite_path, ":memory:");
    // A SQLAlchemy driver suffix, as the original catalog told users to set, is accepted.
    auto asyncpg = parse_database_url("postgresql+asyncpg://u:p@db.example:5432/cat?sslmode=require");
    EXPECT_EQ(asyncpg.dialect, Dialect::Postgres);
    EXPECT_EQ(asyncpg.pg_conninfo, "postgresql://u:p@db.example:5432/cat?sslmode=require");
    EXPECT_EQ(parse_database_url("sqlite+pysqlite:///m.db").sqlite_path, "m.db");
    EXPECT_THROW(parse_database_url("mysql+pymysql://x"), Error);
    auto pg = parse_database_url("postgresql://u:p@db:5432/mp?sslmode=require&connect_timeout=5");
    EXPECT_EQ(pg.dialect, Dialect::Postgres);
    EXPECT_EQ(pg.pg_conninfo, "postgresql://u:p@db:5432/mp?sslmode=require&connect_timeout=5");
    EXPECT_EQ(parse_database_url("postgres://h/db").dialect, Dialect::Postgres);
    for (const char* bad :
         {"", "mysql://h/db", "sqlite://rel.db", "sqlite:///", "sqlite:///x.db?mode=ro", "/tmp/x.db"}) {
        EXPECT_THROW(parse_database_url(bad), Error) << bad;
    }
}

TEST(DatabaseUrlTest, ConnectErrorsDoNotShowThePassword) {
    core::WorkerPool workers(1, 16);
    for (const char* url : {"postgresql://mp:hunter2-pw@127.0.0.1:1/db?connect_timeout=2",
                            "postgresql://mp:hunter2%zz@127.0.0.1:1/db",
                            "postgres://127.0.0.1:1/db?user=mp&password=hunter2-pw&connect_timeout=2"}) {
        Options options;
        options.url = url;
        try {
            Database::open(options, workers, nullptr);
            FAIL() << "nothing listens on port 1";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), Error::Kind::Unavailable);
            EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos) << e.what();
        }
    }
}

TEST(SqliteMemoryTest, InMemoryDatabaseSharesTheWriterForReads) {
    core::WorkerPool workers(1, 16);
    Options options;
    options.url = "sqlite:///:memory:";
    auto db = Database::open(options, workers, nullptr);
    db->with_transaction([](Connection& c) { c.execute_script("CREATE TABLE t (x INTEGER)"); });
    db->group_commit().submit_blocking([](Connection& c) { c.execute("INSERT INTO t (x) VALUES ($1)", {Value{7}}); });
    EXPECT_EQ(db->with_reader([](Connection& c) { return c.query("SELECT x FROM t").front().int64(0); }), 7);
    EXPECT_TRUE(db->ping());
    db->close();
}

TEST_F(DbTest, ValuesRoundTrip) {
    db_->with_transaction([](Connection& c) {
        c.execute("INSERT INTO items (name, qty, price, flag) VALUES ($1, $2, $3, $4)",
                  {std::string("grüße ✓"), std::int64_t{9'007'199'254'740'993}, 0.1, true});
        c.execute("INSERT INTO items (name, qty, price, flag) VALUES ($1, $2, $3, $4)",
                  {std::string("nulls"), Value{}, Value{}, Value{}});
    });
    auto rows =
        db_->with_reader([](Connection& c) { return c.query("SELECT name, qty, price, flag FROM items ORDER BY id"); });
    ASSERT_EQ(rows.size(), 2U);
    EXPECT_EQ(rows.columns, (std::vector<std::string>{"name", "qty", "price", "flag"}));
    EXPECT_EQ(rows.row(0).text(0), "grüße ✓");
    EXPECT_EQ(rows.row(0).int64(1), 9'007'199'254'740'993);
    EXPECT_DOUBLE_EQ(rows.row(0).real(2), 0.1);
    EXPECT_TRUE(rows.row(0).boolean(3));
    EXPECT_TRUE(rows.row(1).is_null(1));
    EXPECT_FALSE(rows.row(1).opt_real(2));
    EXPECT_FALSE(rows.row(1).opt_text(0) == std::nullopt);
    EXPECT_THROW(rows.row(1).int64(1), Error);
    EXPECT_THROW(rows.row(0).int64(0), Error);
}

TEST_F(DbTest, ExtremeNumbersRoundTripExactly) {
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
    const std::vector<std::pair<std::int64_t, double>> values{
        {kMax, 1.7976931348623157e308}, {kMin, -2.2250738585072014e-308}, {0, 0.1 + 0.2}, {-1, -123456.789012345}};
    db_->with_transaction([&](Connection& c) {
        for (std::size_t i = 0; i < values.size(); ++i) {
            c.execute("INSERT INTO items (name, qty, price) VALUES ($1, $2, $3)",
                      {"v" + std::to_string(i), values[i].first, values[i].second});
        }
    });
    auto rows = db_->with_reader([](Connection& c) { return c.query("SELECT qty, price FROM items ORDER BY id"); });
    ASSERT_EQ(rows.size(), values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
        EXPECT_EQ(rows.row(i).int64(0), values[i].first);
        EXPECT_EQ(rows.row(i).real(1), values[i].second);  // exact: 17 significant digits both ways
    }
}

TEST_F(DbTest, NumberedPlaceholdersInAnyOrder) {
    auto rows = db_->with_reader([](Connection& c) {
        return c.query("SELECT $2 || '-' || $1 || '-' || $2, '$1 stays literal'", {std::string("a"), std::string("b")});
    });
    EXPECT_EQ(rows.front().text(0), "b-a-b");
    EXPECT_EQ(rows.front().text(1), "$1 stays literal");
}

TEST_F(DbTest, AffectedRowCounts) {
    db_->with_transaction([](Connection& c) {
        for (int i = 0; i < 5; ++i) {
            c.execute("INSERT INTO items (name, qty) VALUES ($1, $2)", {"n" + std::to_string(i), std::int64_t{i}});
        }
        EXPECT_EQ(c.execute("UPDATE items SET qty = qty + 1 WHERE qty >= $1", {std::int64_t{2}}), 3);
        EXPECT_EQ(c.execute("DELETE FROM items WHERE qty > $1", {std::int64_t{100}}), 0);
    });
}

TEST_F(DbTest, ErrorsAreClassifiedWithoutSql) {
    db_->with_transaction(
        [](Connection& c) { c.execute("INSERT INTO items (name) VALUES ($1)", {std::string("dup")}); });
    try {
        db_->with_transaction(
            [](Connection& c) { c.execute("INSERT INTO items (name) VALUES ($1)", {std::string("dup")}); });
        FAIL() << "expected a unique violation";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::UniqueViolation);
        EXPECT_EQ(std::string(e.what()).find("INSERT"), std::string::npos) << e.what();
        if (pg()) {
            EXPECT_EQ(e.constraint(), "items_name_key");
        }
    }
    try {
        db_->with_transaction([](Connection& c) { c.execute("INSERT INTO items (qty) VALUES (1)"); });
        FAIL() << "expected a not-null violation";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::ConstraintViolation);
    }
    db_->with_transaction([](Connection& c) {
        c.execute_script("CREATE TABLE parents (id INTEGER PRIMARY KEY)");
        c.execute_script("CREATE TABLE children (parent_id INTEGER NOT NULL REFERENCES parents (id))");
    });
    try {
        db_->with_transaction([](Connection& c) { c.execute("INSERT INTO children (parent_id) VALUES (42)"); });
        FAIL() << "expected a foreign key violation";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::ForeignKeyViolation);
    }
    try {
        db_->with_reader([](Connection& c) { c.query("SELECT secret_column FROM no_such_table WHERE x = 'secret'"); });
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).find("SELECT"), std::string::npos) << e.what();
        EXPECT_EQ(std::string(e.what()).find("'secret'"), std::string::npos) << e.what();
    }
}

TEST_F(DbTest, AFullDiskIsUnavailableAndSaysSoThenWritesResume) {
    // SQLite: a page limit on the writer is a full disk (SQLITE_FULL); PostgreSQL: 53100 disk_full.
    try {
        db_->with_transaction([this](Connection& c) {
            if (pg()) {
                c.execute_script("DO $$ BEGIN RAISE EXCEPTION 'no space left' USING ERRCODE = 'disk_full'; END $$");
            } else {
                c.execute_script("PRAGMA max_page_count = 1");  // raised to the pages in use
                c.execute("INSERT INTO items (name) VALUES ($1)", {std::string(200'000, 'x')});
            }
        });
        FAIL() << "expected a full disk";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Unavailable);
        EXPECT_TRUE(e.storage_full());
    }
    if (!pg()) {
        db_->with_transaction([](Connection& c) { c.execute_script("PRAGMA max_page_count = 1073741823"); });
    }
    EXPECT_EQ(count(), 0);
    db_->with_transaction(
        [](Connection& c) { c.execute("INSERT INTO items (name) VALUES ($1)", {std::string("after")}); });
    EXPECT_EQ(count(), 1);
    // Other failures are not a full disk.
    try {
        db_->with_transaction([](Connection& c) { c.execute("INSERT INTO items (qty) VALUES (1)"); });
        FAIL();
    } catch (const Error& e) {
        EXPECT_FALSE(e.storage_full());
    }
}

TEST_F(DbTest, TransactionsCommitOrRollBack) {
    db_->with_transaction([](Connection& c) { c.execute("INSERT INTO items (name) VALUES ('kept')"); });
    EXPECT_THROW(db_->with_transaction([](Connection& c) {
        c.execute("INSERT INTO items (name) VALUES ('discarded')");
        throw std::runtime_error("abort");
    }),
                 std::runtime_error);
    EXPECT_EQ(count(), 1);
    EXPECT_EQ(count("name = 'kept'"), 1);
    // The connection is usable after the rollback.
    db_->with_transaction([](Connection& c) { c.execute("INSERT INTO items (name) VALUES ('again')"); });
    EXPECT_EQ(count(), 2);
}

TEST_F(DbTest, ConnectionReturnedInsideATransactionIsRolledBack) {
    {
        Lease lease = db_->acquire_writer();
        lease->begin();
        lease->execute("INSERT INTO items (name) VALUES ('abandoned')");
    }  // neither committed nor rolled back
    EXPECT_EQ(count(), 0);
    // The next transaction starts cleanly (SQLite: on the same writer connection).
    db_->with_transaction([](Connection& c) { c.execute("INSERT INTO items (name) VALUES ('next')"); });
    EXPECT_EQ(count(), 1);
}

TEST_F(DbTest, PoolExhaustionIsUnavailable) {
    auto options = database_->options();
    options.pool_size = 1;
    options.acquire_timeout = std::chrono::milliseconds(100);
    auto small = Database::open(options, workers_, nullptr);
    Lease held = small->acquire_writer();
    try {
        Lease second = small->acquire_writer();
        FAIL() << "expected Unavailable";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Unavailable);
    }
    EXPECT_EQ(small->stats().in_use, 1);
}

// Runs `count` coroutines on a 2-thread io_context, each calling `body(i)`; rethrows the first failure.
template <typename Body>
void run_concurrently(int count, Body body) {
    net::io_context io;
    std::atomic<int> failures{0};
    std::mutex first_mutex;
    std::exception_ptr first;
    for (int i = 0; i < count; ++i) {
        net::co_spawn(io, body(i), [&](std::exception_ptr e) {
            if (e) {
                ++failures;
                std::lock_guard lock(first_mutex);
                first = first ? first : e;
            }
        });
    }
    std::thread second([&] { io.run(); });
    io.run();
    second.join();
    if (first) {
        std::rethrow_exception(first);
    }
}

// Occupies the group-commit writer with one submission until `queued` others wait behind it, so
// those are committed together in the next transaction. Joins in the destructor.
class WriterBlocker {
public:
    WriterBlocker(GroupCommitWriter& writer, int queued, std::function<void(Connection&)> work = {}) : writer_(writer) {
        thread_ = std::thread([this, work] {
            writer_.submit_blocking([&](Connection& c) {
                if (work) {
                    work(c);
                }
                running_.count_down();
                release_.wait();
            });
        });
        running_.wait();
        releaser_ = std::thread([this, queued] {
            while (writer_.stats().queued < queued) {
                std::this_thread::yield();
            }
            release_.count_down();
        });
    }
    ~WriterBlocker() {
        releaser_.join();
        thread_.join();
    }

private:
    GroupCommitWriter& writer_;
    std::latch running_{1};
    std::latch release_{1};
    std::thread thread_;
    std::thread releaser_;
};

// synchronous=FULL on a file: the writer commits with NORMAL and a thread of the group-commit
// writer syncs the WAL before anyone is told; NORMAL and memory databases need no sync.
TEST(SqliteDurabilityTest, FullSyncsTheWalBeforeAcknowledgingOffTheWritersPath) {
    const auto dir = std::filesystem::temp_directory_path() / ("motorpool-sync-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    core::WorkerPool workers(2, 64);
    for (const bool full : {true, false}) {
        core::MetricsRegistry metrics;
        Options options;
        options.url = "sqlite:///" + (dir / (full ? "full.db" : "normal.db")).string();
        options.sqlite_synchronous_full = full;
        auto db = Database::open(options, workers, &metrics);
        EXPECT_EQ(db->defers_sync(), full);
        db->with_transaction([](Connection& c) { c.execute_script("CREATE TABLE t (x INTEGER)"); });
        // The writer itself commits without waiting for the disk either way.
        EXPECT_EQ(db->with_transaction([](Connection& c) { return c.query("PRAGMA synchronous").front().int64(0); }),
                  1);
        for (int i = 0; i < 20; ++i) {
            db->group_commit().submit_blocking([i](Connection& c) { c.execute("INSERT INTO t (x) VALUES ($1)", {i}); });
        }
        EXPECT_EQ(db->with_reader([](Connection& c) { return c.query("SELECT COUNT(*) FROM t").front().int64(0); }),
                  20);
        const std::string scrape = metrics.render();
        if (full) {
            // One sync per acknowledged batch at least (each blocking submission waited for its own).
            const std::string sample = "\nmotorpool_db_group_commit_syncs_total ";
            auto at = scrape.find(sample);
            ASSERT_NE(at, std::string::npos) << scrape;
            EXPECT_GE(std::stoi(scrape.substr(at + sample.size())), 20);
        } else {
            EXPECT_NE(scrape.find("\nmotorpool_db_group_commit_syncs_total 0\n"), std::string::npos) << scrape;
        }
        db->close();
    }
    Options memory;
    memory.url = "sqlite:///:memory:";
    EXPECT_FALSE(Database::open(memory, workers, nullptr)->defers_sync());
    std::filesystem::remove_all(dir);
}

namespace {

// Opens the copy of a database file and its WAL taken while the writer still had them open, as a
// crash would leave them: SQLite rebuilds its WAL index from the frames it finds valid.
std::int64_t rows_after_crash(const std::filesystem::path& file, const std::filesystem::path& copy) {
    std::filesystem::copy_file(file, copy, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(
        file.string() + "-wal", copy.string() + "-wal", std::filesystem::copy_options::overwrite_existing);
    sqlite3* raw = nullptr;
    EXPECT_EQ(sqlite3_open_v2(copy.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    std::int64_t rows = -1;
    std::string integrity;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(raw, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
        integrity = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    EXPECT_EQ(integrity, "ok");
    if (sqlite3_prepare_v2(raw, "SELECT COUNT(*) + COALESCE(SUM(length(x)), 0) FROM t", -1, &stmt, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
        rows = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(raw);
    std::filesystem::remove(copy);
    std::filesystem::remove(copy.string() + "-wal");
    return rows;
}

}  // namespace

// The WAL frames of a transaction are gathered and written with a few system calls instead of two
// per page, and written before the commit returns: another connection reads them at once, and a
// crash right after the commit (a copy of the files taken then) loses nothing of it. Also for a
// transaction larger than the writer's page cache (frames spilled before the commit and rewritten
// in place) and larger than what is gathered at most (1 MiB).
TEST(SqliteDurabilityTest, WalFramesAreGatheredAndWrittenBeforeTheCommitReturns) {
    const auto dir = std::filesystem::temp_directory_path() / ("motorpool-gather-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    core::WorkerPool workers(2, 64);
    for (const bool gather : {true, false}) {
        const auto file = dir / (gather ? "gather.db" : "plain.db");
        Options options;
        options.url = "sqlite:///" + file.string();
        options.sqlite_gather_wal = gather;
        core::MetricsRegistry metrics;
        auto db = Database::open(options, workers, &metrics);
        EXPECT_EQ(metrics.render().find("\nmotorpool_db_sqlite_wal_write_calls_total ") != std::string::npos, gather);
        db->with_transaction(
            [](Connection& c) { c.execute_script("CREATE TABLE t (id INTEGER PRIMARY KEY, x BLOB)"); });
        const std::string blob(3000, 'x');  // one row per page
        const SqliteWalWrites before = sqlite_wal_writes();
        db->group_commit().submit_blocking([&](Connection& c) {
            for (int i = 0; i < 200; ++i) {
                c.execute("INSERT INTO t (x) VALUES ($1)", {blob});
            }
        });
        const SqliteWalWrites after = sqlite_wal_writes();
        if (gather) {
            // 200 frames, each a header and a page: 400 writes, made with about 13 calls of 64 KiB.
            EXPECT_GE(after.gathered - before.gathered, 400U);
            EXPECT_LE(after.flushes - before.flushes, 20U);
        } else {
            EXPECT_EQ(after.gathered - before.gathered, 0U);
            EXPECT_EQ(after.flushes - before.flushes, 0U);
        }
        // Another connection sees the whole transaction, and so does recovery after a crash.
        EXPECT_EQ(db->with_reader([](Connection& c) { return c.query("SELECT COUNT(*) FROM t").front().int64(0); }),
                  200);
        EXPECT_EQ(rows_after_crash(file, dir / "copy.db"), 200 + 200 * 3000);
        // 2,000 pages (8 MB) through a page cache of 50: SQLite spills frames before the commit
        // and writes some pages again; then a transaction that rolls back leaves frames behind.
        db->with_transaction([&](Connection& c) {
            c.execute_script("PRAGMA cache_size=50");
            for (int i = 0; i < 2000; ++i) {
                c.execute("INSERT INTO t (x) VALUES ($1)", {blob});
            }
            c.execute("UPDATE t SET x = substr(x, 1, 1000) WHERE id % 7 = 0");
        });
        EXPECT_THROW(db->with_transaction([&](Connection& c) {
            for (int i = 0; i < 500; ++i) {
                c.execute("INSERT INTO t (x) VALUES ($1)", {blob});
            }
            throw std::runtime_error("rolled back");
        }),
                     std::runtime_error);
        db->with_transaction([&](Connection& c) {
            c.execute_script("PRAGMA cache_size=-65536");
            c.execute("INSERT INTO t (x) VALUES ($1)", {std::string("last")});
        });
        const std::int64_t expected = db->with_reader([](Connection& c) {
            return c.query("SELECT COUNT(*) + COALESCE(SUM(length(x)), 0) FROM t").front().int64(0);
        });
        EXPECT_EQ(expected, 2201 + 200 * 3000 + 2000 * 3000 - 314 * 2000 + 4);
        EXPECT_EQ(rows_after_crash(file, dir / "copy.db"), expected);
        db->close();
    }
    std::filesystem::remove_all(dir);
}

// The writer's automatic checkpoints are off (they made one commit in every thousand pages wait):
// a thread of its own must copy the WAL into the database file while the writer goes on, or the
// WAL would grow to the writer's own limit of 256 MiB.
TEST(SqliteDurabilityTest, TheWalIsCheckpointedInTheBackground) {
    const auto dir = std::filesystem::temp_directory_path() / ("motorpool-ckpt-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto file = dir / "ckpt.db";
    core::WorkerPool workers(2, 64);
    Options options;
    options.url = "sqlite:///" + file.string();
    auto db = Database::open(options, workers, nullptr);
    db->with_transaction([](Connection& c) { c.execute_script("CREATE TABLE t (x BLOB)"); });
    const std::string blob(3000, 'x');          // one row per page
    for (int batch = 0; batch < 12; ++batch) {  // 12,000 pages: past the 10,000-page mark
        db->with_transaction([&](Connection& c) {
            for (int i = 0; i < 1000; ++i) {
                c.execute("INSERT INTO t (x) VALUES ($1)", {blob});
            }
        });
    }
    bool grew = false;
    for (int i = 0; i < 100 && !grew; ++i) {
        grew = std::filesystem::file_size(file) > 30'000'000;
        if (!grew) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
    }
    EXPECT_TRUE(grew) << std::filesystem::file_size(file);
    db->close();
    std::filesystem::remove_all(dir);
}

TEST_F(DbTest, GroupCommitAcknowledgesOnlyAfterCommitAndLosesNothing) {
    constexpr int kSubmitters = 200;
    auto& writer = db_->group_commit();
    std::atomic<int> visible_on_ack{0};
    std::atomic<int> resumed_on_writer{0};
    std::atomic<std::thread::id> writer_thread{};
    {
        WriterBlocker blocker(
            writer, kSubmitters, [](Connection& c) { c.execute("INSERT INTO items (name) VALUES ('blocker')"); });
        run_concurrently(kSubmitters, [&](int i) -> net::awaitable<void> {
            std::string name = "row-" + std::to_string(i);
            auto insert = [name, &writer_thread](Connection& c) {
                writer_thread = std::this_thread::get_id();
                c.execute("INSERT INTO items (name, qty) VALUES ($1, 1)", {name});
            };
            co_await writer.submit(std::move(insert));
            // Resumed on the io_context, never on the writer thread.
            if (std::this_thread::get_id() == writer_thread.load()) {
                ++resumed_on_writer;
            }
            // Acknowledged means committed: another connection sees the row now.
            auto select = [name](Connection& c) {
                return c.query("SELECT COUNT(*) FROM items WHERE name = $1", {name}).front().int64(0);
            };
            if (co_await db_->read(std::move(select)) == 1) {
                ++visible_on_ack;
            }
        });
    }
    EXPECT_EQ(visible_on_ack, kSubmitters);
    EXPECT_EQ(resumed_on_writer, 0);
    EXPECT_EQ(count("qty = 1"), kSubmitters);
    auto stats = writer.stats();
    EXPECT_EQ(stats.submissions, static_cast<std::uint64_t>(kSubmitters + 1));
    // 200 queued behind the blocker commit in batches of at most 256: two transactions in all.
    EXPECT_EQ(stats.batches, 2U);
    EXPECT_EQ(stats.failed_submissions, 0U);
    const std::string scrape = metrics_.render();
    EXPECT_NE(scrape.find("motorpool_db_group_commit_batch_size_bucket{le=\"256\"} 2"), std::string::npos);
    EXPECT_NE(scrape.find("motorpool_db_group_commit_batches_total 2"), std::string::npos) << scrape;
    EXPECT_NE(scrape.find("motorpool_db_group_commit_failed_total 0"), std::string::npos) << scrape;
    EXPECT_NE(scrape.find("motorpool_db_pool_connections"), std::string::npos);
}

TEST_F(DbTest, AGroupCommitSubmissionThatLosesADeadlockRunsAgainInTheNextTransaction) {
    if (!pg()) {
        GTEST_SKIP() << "SQLite has one writer: no deadlock";
    }
    db_->with_transaction([](Connection& c) {
        c.execute("INSERT INTO items (name, qty) VALUES ('a', 0)");
        c.execute("INSERT INTO items (name, qty) VALUES ('b', 0)");
    });
    std::promise<void> other_has_a;
    std::promise<void> submission_has_b;
    std::thread other([&] {
        db_->with_transaction([&](Connection& c) {
            // This side looks for a deadlock only after 30 s: the submission finds it and loses.
            c.execute_script("SET LOCAL deadlock_timeout = '30s'");
            c.execute("UPDATE items SET qty = qty + 1 WHERE name = 'a'");
            other_has_a.set_value();
            submission_has_b.get_future().wait();
            c.execute("UPDATE items SET qty = qty + 1 WHERE name = 'b'");  // waits for the submission
        });
    });
    other_has_a.get_future().wait();
    int runs = 0;
    auto submission = [&](Connection& c) {
        ++runs;
        c.execute("UPDATE items SET qty = qty + 10 WHERE name = 'b'");
        if (runs == 1) {
            submission_has_b.set_value();
            std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the other waits for 'b' now
        }
        c.execute("UPDATE items SET qty = qty + 10 WHERE name = 'a'");  // the first time: a deadlock
    };
    EXPECT_NO_THROW(db_->group_commit().submit_blocking(submission));
    other.join();
    EXPECT_EQ(runs, 2);
    EXPECT_EQ(count("name = 'a' AND qty = 11"), 1);
    EXPECT_EQ(count("name = 'b' AND qty = 11"), 1);
    EXPECT_EQ(db_->group_commit().stats().failed_submissions, 0U);
    EXPECT_NE(metrics_.render().find("\nmotorpool_db_group_commit_retried_total 1\n"), std::string::npos);
}

TEST_F(DbTest, GroupCommitFailureIsReportedToItsSubmitterOnly) {
    auto& writer = db_->group_commit();
    db_->with_transaction([](Connection& c) { c.execute("INSERT INTO items (name) VALUES ('taken')"); });
    std::vector<int> outcome(3, -1);  // 0 ok, 1 unique violation, 2 other
    {
        WriterBlocker blocker(writer, 3);
        run_concurrently(3, [&](int i) -> net::awaitable<void> {
            auto work = [i](Connection& c) {
                c.execute("INSERT INTO items (name) VALUES ($1)", {"partial-" + std::to_string(i)});
                c.execute("INSERT INTO items (name) VALUES ($1)",
                          {i == 1 ? std::string("taken") : "ok-" + std::to_string(i)});
            };
            try {
                co_await writer.submit(std::move(work));
                outcome[static_cast<std::size_t>(i)] = 0;
            } catch (const Error& e) {
                outcome[static_cast<std::size_t>(i)] = e.kind() == Error::Kind::UniqueViolation ? 1 : 2;
            }
        });
    }
    EXPECT_EQ(outcome, (std::vector<int>{0, 1, 0}));
    // The failed submission's first insert was rolled back with it; the others are committed.
    EXPECT_EQ(count("name = 'partial-1'"), 0);
    EXPECT_EQ(count("name IN ('partial-0', 'ok-0', 'partial-2', 'ok-2')"), 4);
    EXPECT_EQ(writer.stats().batches, 2U);
}

TEST_F(DbTest, GroupCommitLoneFailureIsNotACommitFailure) {
    auto& writer = db_->group_commit();
    EXPECT_THROW(writer.submit_blocking([](Connection& c) {
        c.execute("INSERT INTO items (name) VALUES ('lone')");
        throw std::logic_error("rejected");
    }),
                 std::logic_error);
    writer.submit_blocking([](Connection& c) { c.execute("INSERT INTO items (name) VALUES ('after')"); });
    EXPECT_EQ(count("name = 'lone'"), 0);
    EXPECT_EQ(count("name = 'after'"), 1);
    auto stats = writer.stats();
    EXPECT_EQ(stats.failed_submissions, 1U);
    EXPECT_EQ(stats.failed_commits, 0U);
}

TEST_F(DbTest, GroupCommitFailingCommitFailsTheWholeBatch) {
    db_->with_transaction([](Connection& c) {
        c.execute_script("CREATE TABLE owners (id INTEGER PRIMARY KEY)");
        c.execute_script(
            "CREATE TABLE pets (owner_id INTEGER REFERENCES owners (id) DEFERRABLE INITIALLY DEFERRED, name TEXT)");
    });
    auto& writer = db_->group_commit();
    std::atomic<int> failed{0};
    {
        WriterBlocker blocker(writer, 2);
        run_concurrently(2, [&](int i) -> net::awaitable<void> {
            // The dangling reference is only checked at COMMIT, which then fails for both.
            auto work = [i](Connection& c) {
                c.execute("INSERT INTO pets (owner_id, name) VALUES ($1, 'rex')", {std::int64_t{i == 0 ? 1 : 999}});
            };
            try {
                co_await writer.submit(std::move(work));
            } catch (const Error&) {
                ++failed;
            }
        });
    }
    EXPECT_EQ(failed, 2);
    EXPECT_EQ(db_->with_reader([](Connection& c) { return c.query("SELECT COUNT(*) FROM pets").front().int64(0); }), 0);
    EXPECT_EQ(writer.stats().failed_commits, 1U);
}

TEST_F(DbTest, GroupCommitStopDrainsThenRefuses) {
    auto& writer = db_->group_commit();
    for (int i = 0; i < 5; ++i) {
        writer.submit_blocking(
            [i](Connection& c) { c.execute("INSERT INTO items (name) VALUES ($1)", {"s" + std::to_string(i)}); });
    }
    writer.stop();
    EXPECT_EQ(count(), 5);
    try {
        writer.submit_blocking([](Connection&) {});
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::Unavailable);
    }
    std::atomic<bool> refused{false};
    run_concurrently(1, [&](int) -> net::awaitable<void> {
        try {
            co_await writer.submit([](Connection&) {});
        } catch (const Error& e) {
            refused = e.kind() == Error::Kind::Unavailable;
        }
    });
    EXPECT_TRUE(refused);
}

TEST_F(DbTest, ChangedOrUnknownMigrationsAreRefused) {
    std::vector<Migration> v1{{"test", 1, "first", "CREATE TABLE m1 (x INTEGER)"},
                              {"test", 2, "second", "CREATE TABLE m2 (x INTEGER)"}};
    EXPECT_EQ(migrate(*db_, v1), 2);
    auto status_before = migration_status(*db_, v1);
    EXPECT_TRUE(status_before[1].applied);

    auto edited = v1;
    edited[1].sql = "CREATE TABLE m2 (x INTEGER, y INTEGER)";
    try {
        migrate(*db_, edited);
        FAIL() << "an edited applied migration must be refused";
    } catch (const MigrationError& e) {
        EXPECT_NE(std::string(e.what()).find("0002_second"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("changed"), std::string::npos);
    }
    EXPECT_FALSE(migration_status(*db_, edited)[1].checksum_matches);

    std::vector<Migration> older{v1[0]};
    EXPECT_THROW(migrate(*db_, older), MigrationError);
}

TEST_F(DbTest, FailingMigrationLeavesNoTrace) {
    std::vector<Migration> migrations{{"test", 1, "ok", "CREATE TABLE good (x INTEGER)"},
                                      {"test", 2, "broken", "CREATE TABLE half (x INTEGER); THIS IS NOT SQL"}};
    try {
        migrate(*db_, migrations);
        FAIL() << "expected a MigrationError";
    } catch (const MigrationError& e) {
        EXPECT_NE(std::string(e.what()).find("0002_broken"), std::string::npos) << e.what();
    }
    auto status = migration_status(*db_, migrations);
    EXPECT_TRUE(status[0].applied);
    EXPECT_FALSE(status[1].applied);
    // The broken migration's first statement was rolled back with it.
    EXPECT_THROW(db_->with_reader([](Connection& c) { c.query("SELECT x FROM half"); }), Error);
}

TEST_F(DbTest, PostgresReconnectsAfterTheConnectionDies) {
    if (!pg()) {
        GTEST_SKIP() << "PostgreSQL only";
    }
    std::string name =
        db_->with_reader([](Connection& c) { return c.query("SELECT current_database()").front().text(0); });
    // Terminate every backend of this database from the admin connection: a server restart, as the pool sees it.
    PGconn* admin = PQconnectdb(std::getenv("MOTORPOOL_TEST_PG_URL"));  // NOLINT(concurrency-mt-unsafe)
    ASSERT_EQ(PQstatus(admin), CONNECTION_OK);
    std::string sql = "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" + name + "'";
    PGresult* r = PQexec(admin, sql.c_str());
    ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
    EXPECT_GE(std::atoi(PQgetvalue(r, 0, 0)), 1);
    PQclear(r);
    PQfinish(admin);
    // The pooled connections are dead now; the next queries reconnect transparently.
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(db_->with_reader([](Connection& c) { return c.query("SELECT 41 + 1").front().int64(0); }), 42);
    }
    db_->with_transaction([](Connection& c) { c.execute("INSERT INTO items (name) VALUES ('after-restart')"); });
    EXPECT_EQ(count(), 1);
    EXPECT_TRUE(db_->ping());
}

TEST_F(DbTest, PingFailsOnceClosed) {
    EXPECT_TRUE(db_->ping());
    db_->close();
    EXPECT_FALSE(db_->ping());
    EXPECT_THROW(db_->acquire_reader(), Error);
}

}  // namespace
}  // namespace motorpool::db

int main(int argc, char** argv) {
    // These use no backend under test (URL parsing, files, SQLite itself): once, in the SQLite run.
    return motorpool::testing::run_all_tests_or_skip(
        argc, argv, "DatabaseUrlTest.*:SqliteMemoryTest.*:SqliteDurabilityTest.*");
}
