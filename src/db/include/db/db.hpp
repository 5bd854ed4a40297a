#pragma once
// The database: one interface, SQLite and PostgreSQL backends, a pool, transactions,
// a group-commit writer, and migrations. SQL uses numbered placeholders ($1, $2, ...) in
// both dialects; the SQLite backend maps them to ?NNN.

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/metrics.hpp"
#include "core/worker_pool.hpp"

namespace motorpool::db {

enum class Dialect { Sqlite, Postgres };

/// A parameter or column value: NULL, integer, real, text, boolean.
using Value = std::variant<std::monostate, std::int64_t, double, std::string, bool>;

/// A parameter from an optional: NULL when empty. (A function, not `v ? Value(*v) : Value()` in
/// each caller: g++ 12 reports a bogus maybe-uninitialized on that as a named local.)
template <typename T>
Value nullable(const std::optional<T>& v) {
    return v ? Value(*v) : Value();
}

/// A classified database failure. The message never contains SQL text or parameter values.
class Error : public std::runtime_error {
public:
    enum class Kind {
        UniqueViolation,      // 23505 / SQLITE_CONSTRAINT_UNIQUE, _PRIMARYKEY
        ForeignKeyViolation,  // 23503 / SQLITE_CONSTRAINT_FOREIGNKEY
        ConstraintViolation,  // other integrity errors: NOT NULL, CHECK
        Serialization,        // 40001, 40P01 / SQLITE_BUSY after the busy timeout
        Unavailable,          // cannot connect, connection lost, pool exhausted
        Type,                 // a column read with the wrong type
        Other,
    };
    Error(Kind kind, const std::string& message, std::string constraint = {}, bool storage_full = false);
    Kind kind() const { return kind_; }
    /// Constraint or index name when the backend reports it (PG), else empty.
    const std::string& constraint() const { return constraint_; }
    /// An Unavailable failure because the database's disk is full (SQLITE_FULL, PostgreSQL 53100):
    /// clients are told so, and to come back later than for a lost connection.
    bool storage_full() const { return storage_full_; }

private:
    Kind kind_;
    std::string constraint_;
    bool storage_full_;
};

class ResultSet;

/// One row of a ResultSet. Getters throw Error(Kind::Type) on NULL or a mismatched type;
/// int64 accepts booleans, real accepts integers.
class Row {
public:
    Row(const ResultSet& set, std::size_t index) : set_(&set), index_(index) {}
    const Value& operator[](std::size_t column) const;
    bool is_null(std::size_t column) const;
    std::int64_t int64(std::size_t column) const;
    double real(std::size_t column) const;
    const std::string& text(std::size_t column) const;
    bool boolean(std::size_t column) const;
    std::optional<std::int64_t> opt_int64(std::size_t column) const;
    std::optional<double> opt_real(std::size_t column) const;
    std::optional<std::string> opt_text(std::size_t column) const;

private:
    const ResultSet* set_;
    std::size_t index_;
};

/// A fully materialised query result. PostgreSQL columns are typed by their OID
/// (int2/4/8 -> integer, float4/8 and numeric -> real, bool -> boolean, everything else text).
class ResultSet {
public:
    std::vector<std::string> columns;
    std::vector<std::vector<Value>> rows;
    std::int64_t affected = 0;  // rows changed by INSERT/UPDATE/DELETE

    std::size_t size() const { return rows.size(); }
    bool empty() const { return rows.empty(); }
    Row row(std::size_t i) const { return Row(*this, i); }
    Row front() const { return Row(*this, 0); }
};

/// One database session. Used by one thread at a time; obtained from Database.
class Connection {
public:
    virtual ~Connection() = default;
    virtual Dialect dialect() const = 0;
    /// Runs one statement with $N parameters (prepared and cached per connection where enabled).
    virtual ResultSet query(std::string_view sql, std::span<const Value> params) = 0;
    /// Runs a script of several statements without parameters (migrations).
    virtual void execute_script(std::string_view sql) = 0;

    /// Runs a query and hands each row to `on_row` as it is read, without materialising the result
    /// (SQLite streams; the default materialises and then iterates). The span is valid only
    /// during the call.
    using RowCallback = std::function<void(std::span<const Value>)>;
    virtual void query_each(std::string_view sql, std::span<const Value> params, const RowCallback& on_row) {
        ResultSet result = query(sql, params);
        for (const auto& row : result.rows) {
            on_row(row);
        }
    }

    ResultSet query(std::string_view sql) { return query(sql, std::span<const Value>{}); }
    ResultSet query(std::string_view sql, std::initializer_list<Value> params) {
        return query(sql, std::span<const Value>(params.begin(), params.size()));
    }
    std::int64_t execute(std::string_view sql, std::initializer_list<Value> params = {}) {
        return query(sql, params).affected;
    }

    void begin() { execute_script(dialect() == Dialect::Sqlite ? "BEGIN IMMEDIATE" : "BEGIN"); }
    void commit() { execute_script("COMMIT"); }
    void rollback() { execute_script("ROLLBACK"); }
};

/// A connection borrowed from the pool; returned on destruction.
class Lease {
public:
    using Release = std::function<void(Connection*)>;
    Lease() = default;
    Lease(Connection* connection, Release release) : connection_(connection), release_(std::move(release)) {}
    Lease(Lease&& other) noexcept
        : connection_(std::exchange(other.connection_, nullptr)), release_(std::move(other.release_)) {}
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    Connection& operator*() const { return *connection_; }
    Connection* operator->() const { return connection_; }

private:
    Connection* connection_ = nullptr;
    Release release_;
};

struct Options {
    std::string url = "sqlite:///motorpool.db";       // sqlite:///rel.db, sqlite:////abs.db, postgresql://...
    int pool_size = 8;                                // PG connections; SQLite readers
    bool pg_prepared_statements = true;               // off behind a transaction-pooling PgBouncer
    int group_commit_max_batch = 256;                 // submissions committed in one transaction at most
    std::chrono::milliseconds acquire_timeout{5000};  // waiting for a pooled connection -> Error::Unavailable
    std::chrono::milliseconds busy_timeout{5000};     // SQLite busy_timeout
    bool sqlite_synchronous_full = true;              // false: synchronous=NORMAL (docs/decisions.md)
    bool sqlite_gather_wal = true;                    // false: SQLite writes each WAL frame with two calls
    // A registered SQLite VFS every file of the database goes through, under the gathering one, and
    // that sync_committed syncs the WAL through: tests record and fail I/O there and model power
    // loss. Empty: SQLite's default VFS.
    std::string sqlite_vfs;
};

/// Process-wide counts of SQLite WAL writes gathered in memory, and of the system calls that wrote
/// them (Options::sqlite_gather_wal, docs/decisions.md). For tests and diagnostics.
struct SqliteWalWrites {
    std::uint64_t gathered = 0;
    std::uint64_t flushes = 0;
};
SqliteWalWrites sqlite_wal_writes();

/// Parsed DATABASE_URL.
struct Location {
    Dialect dialect;
    std::string sqlite_path;  // file path (":memory:" allowed for tests) when Sqlite
    std::string pg_conninfo;  // the URL as libpq takes it when Postgres
};
/// Throws Error(Kind::Other) with a message naming what is wrong with the URL.
Location parse_database_url(const std::string& url);

struct PoolStats {
    int size = 0;              // open connections
    int in_use = 0;            // leased now
    int waiting = 0;           // threads waiting for a connection
    std::uint64_t leases = 0;  // connections handed out since the pool opened
};

class GroupCommitWriter;

/// The database. Blocking calls (`with_*`) are for worker threads, the CLI and tests; coroutines
/// use the awaitable forms, which run on the worker pool.
class Database {
public:
    virtual ~Database();

    /// Opens the backend named by options.url. `metrics` may be null.
    static std::unique_ptr<Database> open(const Options& options,
                                          core::WorkerPool& workers,
                                          core::MetricsRegistry* metrics);

    virtual Dialect dialect() const = 0;
    /// A connection for reading (SQLite: a pooled read-only connection).
    virtual Lease acquire_reader() = 0;
    /// A connection for writing (SQLite: the single writer, exclusively; PG: any pooled one).
    virtual Lease acquire_writer() = 0;
    /// True when the database answers a trivial query (for /ready). Never throws.
    virtual bool ping() noexcept = 0;
    virtual PoolStats stats() const = 0;
    /// Stops the group-commit writer (after committing what is queued) and closes every connection.
    virtual void close() = 0;

    /// True when commits return before they reach the disk and sync_committed() makes them durable
    /// (SQLite with synchronous FULL: see docs/decisions.md). The group-commit writer then starts
    /// its next transaction while a thread of its own syncs the last one, and acknowledges it after.
    virtual bool defers_sync() const { return false; }
    /// Makes every commit returned so far durable (one fdatasync of the WAL). Throws Error(Unavailable).
    virtual void sync_committed() {}

    GroupCommitWriter& group_commit() { return *group_commit_; }
    core::WorkerPool& workers() { return workers_; }

    template <typename F>
    auto with_reader(F&& f) {
        Lease lease = acquire_reader();
        return f(*lease);
    }

    /// Runs f(Connection&) in BEGIN ... COMMIT; rolls back and rethrows if f throws.
    template <typename F>
    auto with_transaction(F&& f) {
        Lease lease = acquire_writer();
        lease->begin();
        try {
            if constexpr (std::is_void_v<std::invoke_result_t<F&, Connection&>>) {
                f(*lease);
                lease->commit();
                sync_committed();
            } else {
                auto result = f(*lease);
                lease->commit();
                sync_committed();
                return result;
            }
        } catch (...) {
            rollback_quietly(*lease);
            throw;
        }
    }

    // Not coroutines, closures by reference: see core::WorkerPool::run.
    template <typename F, typename G = std::decay_t<F>>
    boost::asio::awaitable<std::invoke_result_t<G&, Connection&>> read(F&& f) {
        return workers_.run([this, g = G(std::forward<F>(f))]() mutable { return with_reader(g); });
    }

    template <typename F, typename G = std::decay_t<F>>
    boost::asio::awaitable<std::invoke_result_t<G&, Connection&>> transaction(F&& f) {
        return workers_.run([this, g = G(std::forward<F>(f))]() mutable { return with_transaction(g); });
    }

protected:
    explicit Database(core::WorkerPool& workers);
    static void rollback_quietly(Connection& connection) noexcept;

    core::WorkerPool& workers_;
    std::unique_ptr<GroupCommitWriter> group_commit_;
};

/// Commits write batches submitted concurrently by many requests together, in one transaction.
/// Each submission runs inside its own SAVEPOINT: if it throws, only its changes are rolled back and
/// only its submitter sees the exception. Every submitter is resumed only after its commit is
/// durable (or with the commit's error). This makes "2xx means committed" cheap under load. A
/// submission PostgreSQL picks as a deadlock victim (or a serialization failure) runs again in the
/// next transaction, up to three times: a submission must change nothing but the database. Where
/// the database defers the sync (Database::defers_sync), the writer starts the next transaction
/// while a second thread syncs and resumes the submitters of the last.
class GroupCommitWriter {
public:
    using Work = std::function<void(Connection&)>;
    using Done = boost::asio::any_completion_handler<void(std::exception_ptr)>;

    GroupCommitWriter(Database& database, int max_batch, core::MetricsRegistry* metrics);
    ~GroupCommitWriter();
    GroupCommitWriter(const GroupCommitWriter&) = delete;
    GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

    /// Runs f(Connection&) in the next group transaction; resumes the caller after the commit.
    /// Not a coroutine, closure by reference: see core::WorkerPool::run.
    template <typename F, typename G = std::decay_t<F>>
    boost::asio::awaitable<std::invoke_result_t<G&, Connection&>> submit(F&& f) {
        using R = std::invoke_result_t<G&, Connection&>;
        if constexpr (std::is_void_v<R>) {
            return submit_work(new Work(std::forward<F>(f)));
        } else {
            auto* slot = new std::optional<R>();
            return submit_result<R>(
                new Work([slot, g = G(std::forward<F>(f))](Connection& c) mutable { slot->emplace(g(c)); }), slot);
        }
    }

    /// Blocking form for threads that are not coroutines (CLI, tests).
    void submit_blocking(Work work);

    /// Commits what is queued, then stops the writer thread. Later submissions fail with Unavailable.
    void stop();

    struct Stats {
        std::uint64_t batches = 0;
        std::uint64_t submissions = 0;
        std::uint64_t failed_submissions = 0;
        std::uint64_t failed_commits = 0;
        int queued = 0;
    };
    Stats stats() const;

private:
    boost::asio::awaitable<void> submit_work(Work* work) {
        co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::exception_ptr)>(
            [this, work](auto handler) { enqueue(std::unique_ptr<Work>(work), Done(std::move(handler))); },
            boost::asio::use_awaitable);
    }
    template <typename R>
    boost::asio::awaitable<R> submit_result(Work* work, std::optional<R>* slot) {
        std::unique_ptr<std::optional<R>> owned(slot);
        co_await submit_work(work);
        co_return std::move(**owned);
    }
    void enqueue(std::unique_ptr<Work> work, Done done);
    void run();

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// ---- migrations ----
//
// Each module owns its migrations (src/<module>/migrations/{sqlite,postgres}/NNNN_name.sql, embedded
// by motorpool_add_migrations and returned by <module>::migrations(dialect)); the App applies every
// module's, module by module in its wiring order, and they are recorded by (module, version) in
// module_migrations. See docs/modules.md.

struct Migration {
    std::string module;  // the module that owns it: "auth", "vehicles", ...
    int version;         // within its module, from the file name: 0001_accounts.sql -> 1
    std::string name;    // from the file name: 0001_accounts.sql -> "accounts"
    std::string sql;
};

struct MigrationStatus {
    std::string module;
    int version;
    std::string name;
    bool applied;
    std::optional<std::int64_t> applied_at_ms;
    bool checksum_matches;  // false when an applied migration's file changed since
};

/// A module's embedded files ("sqlite/0001_name.sql", text) for one dialect, ordered by version.
std::vector<Migration> migrations_from_files(std::string_view module,
                                             const std::pair<std::string_view, std::string_view>* files,
                                             std::size_t count,
                                             Dialect dialect);

/// The db module's own migrations (installation facts, the event relay's payloads).
std::vector<Migration> migrations(Dialect dialect);

/// Thrown when an applied migration's checksum no longer matches its file, or the database has
/// migrations this binary does not know.
class MigrationError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Applies pending migrations in the order given, each in its own transaction, recording module,
/// version, name, SHA-256 checksum and time in module_migrations. A database migrated by a release
/// with one global sequence (schema_migrations) is recognised and its record translated first,
/// its checksums checked against that release's files. Safe when several nodes start at once
/// (PostgreSQL: transaction-scoped advisory lock). Returns how many were applied.
int migrate(Database& database, const std::vector<Migration>& migrations);
std::vector<MigrationStatus> migration_status(Database& database, const std::vector<Migration>& migrations);

}  // namespace motorpool::db
