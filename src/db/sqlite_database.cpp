// SQLite backend: WAL, foreign keys, busy timeout, a statement cache per connection,
// one writer connection (exclusive) plus a pool of read-only connections.

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "backends.hpp"
#include "core/threads.hpp"
#include "sqlite_wal_vfs.hpp"

namespace motorpool::db::detail {
namespace {

Error::Kind classify(int extended) {
    switch (extended) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
            return Error::Kind::UniqueViolation;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
            return Error::Kind::ForeignKeyViolation;
        default:
            break;
    }
    switch (extended & 0xFF) {
        case SQLITE_CONSTRAINT:
            return Error::Kind::ConstraintViolation;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return Error::Kind::Serialization;
        case SQLITE_CANTOPEN:
        case SQLITE_IOERR:
        case SQLITE_FULL:
        case SQLITE_NOTADB:
        case SQLITE_CORRUPT:
        case SQLITE_READONLY:
            return Error::Kind::Unavailable;
        default:
            return Error::Kind::Other;
    }
}

// "$1" -> "?1" outside quoted strings, quoted identifiers and comments, so SQL is written once
// for both dialects. ("?NNN" binds the same parameter wherever it appears, like PostgreSQL's "$N".)
std::string rewrite_placeholders(std::string_view sql) {
    std::string out;
    out.reserve(sql.size());
    std::size_t i = 0;
    auto copy_until = [&](std::string_view end) {
        std::size_t stop = sql.find(end, i);
        stop = stop == std::string_view::npos ? sql.size() : stop + end.size();
        out.append(sql.substr(i, stop - i));
        i = stop;
    };
    while (i < sql.size()) {
        const char c = sql[i];
        const char next = i + 1 < sql.size() ? sql[i + 1] : '\0';
        if (c == '\'' || c == '"' || c == '`') {
            out.push_back(c);
            ++i;
            copy_until(std::string_view(&c, 1));  // a doubled quote just reopens: same result
        } else if (c == '-' && next == '-') {
            copy_until("\n");
        } else if (c == '/' && next == '*') {
            copy_until("*/");
        } else {
            out.push_back(c == '$' && next >= '0' && next <= '9' ? '?' : c);
            ++i;
        }
    }
    return out;
}

class SqliteConnection;

// Checkpoints off the commit path. SQLite's default runs a checkpoint inside the commit that takes
// the WAL past 1,000 pages: that commit, and with group commit every submission in it, waits while
// pages are copied into the database file and it is synced. Here the writer's commits only signal
// a thread of its own, which copies with PASSIVE checkpoints (they neither take nor wait for the
// write lock). A PASSIVE checkpoint running next to a busy writer may never find the WAL fully
// copied, and only then can the next write start the WAL over; so once the WAL passes
// kWriterCheckpointPages the writer checkpoints itself between two commits, as SQLite would.
class Checkpointer {
public:
    using Open = std::function<std::unique_ptr<SqliteConnection>()>;
    static constexpr int kBackgroundPages = 10000;        // 40 MiB of WAL (4 KiB pages)
    static constexpr int kWriterCheckpointPages = 65536;  // 256 MiB

    explicit Checkpointer(Open open) : open_(std::move(open)) {}
    ~Checkpointer() { stop(); }
    Checkpointer(const Checkpointer&) = delete;
    Checkpointer& operator=(const Checkpointer&) = delete;

    void start() {
        thread_ = std::thread([this] {
            core::name_this_thread("mp-db-checkpt");
            run();
        });
    }
    void stop();
    /// The writer's WAL hook: called after every commit with the WAL's length in pages (inside
    /// the commit, before it returns).
    void committed(sqlite3* writer, int pages);
    /// Commits that wrote to the WAL so far.
    std::uint64_t commits() const { return commits_.load(std::memory_order_acquire); }

private:
    void run();

    Open open_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool requested_ = false;
    bool stopping_ = false;
    std::thread thread_;
    std::atomic<std::uint64_t> commits_{0};
};

class SqliteConnection final : public PooledConnection {
public:
    SqliteConnection(const std::string& path,
                     const char* vfs,  // null: SQLite's default
                     bool read_only,
                     std::chrono::milliseconds busy_timeout,
                     bool synchronous_full = true,
                     class Checkpointer* checkpointer = nullptr) {
        int flags =
            SQLITE_OPEN_NOMUTEX | (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
        if (sqlite3_open_v2(path.c_str(), &db_, flags, vfs) != SQLITE_OK) {
            std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
            sqlite3_close(db_);
            db_ = nullptr;
            throw Error(Error::Kind::Unavailable, "cannot open SQLite database " + path + ": " + message);
        }
        sqlite3_extended_result_codes(db_, 1);
        sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
        if (!read_only) {
            // WAL lets readers work while the writer commits (readers open after the writer switched the
            // file to WAL). synchronous=FULL, not the usual WAL pairing NORMAL: NORMAL survives an
            // application crash but may lose the last commits on power loss or an OS crash, and
            // "durable before acknowledged" (ARCHITECTURE.md) is a promise about 2xx responses. FULL costs
            // one fsync per commit, which group commit shares among every write of a batch.
            execute_script("PRAGMA journal_mode=WAL");
            // With a checkpointer (the file database's writer) FULL is kept by syncing the WAL after
            // each commit ourselves (SqliteDatabase::sync_committed), so the writer need not wait.
            execute_script(synchronous_full && checkpointer == nullptr ? "PRAGMA synchronous=FULL"
                                                                       : "PRAGMA synchronous=NORMAL");
            // The writer's page cache holds the upper levels of every index: bulk writes with random
            // keys (VINs) otherwise re-read pages from the OS on every insert. Grows only when used.
            execute_script("PRAGMA cache_size=-65536");
            if (checkpointer != nullptr) {
                watch_wal(*checkpointer);
            }
        }
        // Reads through a memory map: a lookup then costs no system call per page (with a 1 GiB
        // window, a million-vehicle database is read entirely in place). The pages are the OS
        // page cache's, shared by every connection, not private memory.
        execute_script("PRAGMA mmap_size=1073741824");
        execute_script("PRAGMA foreign_keys=ON");
        execute_script("PRAGMA temp_store=MEMORY");
    }

    ~SqliteConnection() override {
        for (auto& [sql, stmt] : cache_) {
            sqlite3_finalize(stmt);
        }
        sqlite3_close_v2(db_);
    }

    Dialect dialect() const override { return Dialect::Sqlite; }

    std::string wal_path() const { return sqlite3_filename_wal(sqlite3_db_filename(db_, "main")); }

    /// Copies what it can of the WAL into the database file without blocking the writer or readers.
    void checkpoint_passive() {
        int rc = sqlite3_wal_checkpoint_v2(db_, "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
            fail(rc);
        }
    }

    void prepare_for_reuse() noexcept override {
        // A transaction left open (its rollback failed, or a caller dropped the lease mid-way) must not
        // leak into the next borrower's work, nor keep the write lock.
        if (sqlite3_get_autocommit(db_) == 0) {
            spdlog::warn("SQLite connection returned inside a transaction; rolling back");
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        }
    }

    ResultSet query(std::string_view sql, std::span<const Value> params) override {
        ResultSet result;
        sqlite3_stmt* prepared = prepare(sql);  // cached: run() below finds the same statement
        for (int c = 0; c < sqlite3_column_count(prepared); ++c) {
            result.columns.emplace_back(sqlite3_column_name(prepared, c));
        }
        run(sql, params, [&](sqlite3_stmt* stmt, int columns) {
            std::vector<Value> row;
            row.reserve(static_cast<std::size_t>(columns));
            for (int c = 0; c < columns; ++c) {
                row.push_back(column_value(stmt, c));
            }
            result.rows.push_back(std::move(row));
        });
        result.affected = last_affected_;
        return result;
    }

    void query_each(std::string_view sql, std::span<const Value> params, const RowCallback& on_row) override {
        std::vector<Value> row;
        run(sql, params, [&](sqlite3_stmt* stmt, int columns) {
            row.resize(static_cast<std::size_t>(columns));
            for (int c = 0; c < columns; ++c) {
                row[static_cast<std::size_t>(c)] = column_value(stmt, c);
            }
            on_row(row);
        });
    }

    void execute_script(std::string_view sql) override {
        std::string text(sql);
        char* message = nullptr;
        int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
        if (rc != SQLITE_OK) {
            std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
            sqlite3_free(message);
            const int extended = sqlite3_extended_errcode(db_);
            throw Error(classify(extended), "SQLite: " + detail, {}, (extended & 0xFF) == SQLITE_FULL);
        }
    }

private:
    // Binds, steps and hands each row to on_row(stmt, columns); records the rows a write changed.
    template <typename OnRow>
    void run(std::string_view sql, std::span<const Value> params, OnRow&& on_row) {
        sqlite3_stmt* stmt = prepare(sql);
        // Reset on every exit so the cached statement is reusable and releases its read lock.
        struct Reset {
            sqlite3_stmt* s;
            ~Reset() {
                sqlite3_reset(s);
                sqlite3_clear_bindings(s);
            }
        } reset{stmt};
        for (std::size_t i = 0; i < params.size(); ++i) {
            bind(stmt, static_cast<int>(i + 1), params[i]);
        }
        const int columns = sqlite3_column_count(stmt);
        while (true) {
            int rc = sqlite3_step(stmt);
            if (rc == SQLITE_DONE) {
                break;
            }
            if (rc != SQLITE_ROW) {
                fail(rc);
            }
            on_row(stmt, columns);
        }
        last_affected_ = sqlite3_stmt_readonly(stmt) == 0 ? sqlite3_changes64(db_) : 0;
    }

    static Value column_value(sqlite3_stmt* stmt, int c) {
        switch (sqlite3_column_type(stmt, c)) {
            case SQLITE_INTEGER:
                return static_cast<std::int64_t>(sqlite3_column_int64(stmt, c));
            case SQLITE_FLOAT:
                return sqlite3_column_double(stmt, c);
            case SQLITE_NULL:
                return std::monostate{};
            default: {
                const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
                return std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, c)));
            }
        }
    }

    sqlite3_stmt* prepare(std::string_view sql) {
        auto it = cache_.find(std::string(sql));
        if (it != cache_.end()) {
            return it->second;
        }
        if (cache_.size() >= kCacheLimit) {
            for (auto& [text, stmt] : cache_) {
                sqlite3_finalize(stmt);
            }
            cache_.clear();
        }
        std::string rewritten = rewrite_placeholders(sql);
        sqlite3_stmt* stmt = nullptr;
        int rc = sqlite3_prepare_v3(
            db_, rewritten.c_str(), static_cast<int>(rewritten.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
        if (rc != SQLITE_OK) {
            fail(rc);
        }
        cache_.emplace(std::string(sql), stmt);
        return stmt;
    }

    void bind(sqlite3_stmt* stmt, int index, const Value& value) {
        int rc = std::visit(
            [&](const auto& v) -> int {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::monostate>) {
                    return sqlite3_bind_null(stmt, index);
                } else if constexpr (std::is_same_v<T, std::int64_t>) {
                    return sqlite3_bind_int64(stmt, index, v);
                } else if constexpr (std::is_same_v<T, double>) {
                    return sqlite3_bind_double(stmt, index, v);
                } else if constexpr (std::is_same_v<T, bool>) {
                    return sqlite3_bind_int64(stmt, index, v ? 1 : 0);
                } else {
                    // SQLITE_STATIC: the parameters outlive the statement's use (query() resets and
                    // clears the bindings before it returns), so SQLite need not copy them.
                    return sqlite3_bind_text64(stmt, index, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
                }
            },
            value);
        if (rc != SQLITE_OK) {
            fail(rc);
        }
    }

    void watch_wal(Checkpointer& checkpointer) {
        execute_script("PRAGMA wal_autocheckpoint=0");
        // A WAL file grown by a burst is cut back to this size when it starts over.
        execute_script("PRAGMA journal_size_limit=134217728");
        sqlite3_wal_hook(
            db_,
            [](void* context, sqlite3* db, const char*, int pages) {
                static_cast<Checkpointer*>(context)->committed(db, pages);
                return SQLITE_OK;
            },
            &checkpointer);
    }

    // sqlite3_errmsg names the failing constraint or column, never the statement text.
    [[noreturn]] void fail(int rc) {
        int extended = sqlite3_extended_errcode(db_);
        (void)rc;
        throw Error(
            classify(extended), std::string("SQLite: ") + sqlite3_errmsg(db_), {}, (extended & 0xFF) == SQLITE_FULL);
    }

    static constexpr std::size_t kCacheLimit = 256;
    sqlite3* db_ = nullptr;
    std::unordered_map<std::string, sqlite3_stmt*> cache_;
    std::int64_t last_affected_ = 0;
};

void Checkpointer::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void Checkpointer::committed(sqlite3* writer, int pages) {
    commits_.fetch_add(1, std::memory_order_release);
    if (pages >= kWriterCheckpointPages) {
        // Between two commits nothing is appended, so this one can copy the whole WAL (unless a
        // reader still needs old frames, or the background checkpoint holds the lock: BUSY, retried
        // after the next commit).
        sqlite3_wal_checkpoint_v2(writer, "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        return;
    }
    if (pages >= kBackgroundPages) {
        {
            std::lock_guard lock(mutex_);
            if (requested_) {
                return;
            }
            requested_ = true;
        }
        wake_.notify_one();
    }
}

void Checkpointer::run() {
    std::unique_ptr<SqliteConnection> connection;
    while (true) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return requested_ || stopping_; });
            if (stopping_) {
                return;
            }
        }
        try {
            if (!connection) {
                connection = open_();
            }
            connection->checkpoint_passive();
        } catch (const std::exception& e) {
            // The writer's own checkpoints at kWriterCheckpointPages still bound the WAL.
            spdlog::warn("SQLite background checkpoint failed: {}", e.what());
            connection.reset();
        }
        std::lock_guard lock(mutex_);
        requested_ = false;
    }
}

class SqliteDatabase final : public Database {
public:
    SqliteDatabase(const Options& options, const std::string& path, core::WorkerPool& workers)
        : Database(workers),
          path_(path),
          in_memory_(path == ":memory:"),
          base_vfs_(sqlite3_vfs_find(options.sqlite_vfs.empty() ? nullptr : options.sqlite_vfs.c_str())),
          vfs_(connection_vfs(options, in_memory_)),
          checkpointer_([this, timeout = options.busy_timeout, full = options.sqlite_synchronous_full] {
              return std::make_unique<SqliteConnection>(path_, vfs_, false, timeout, full);
          }),
          writer_(
              [this, timeout = options.busy_timeout, full = options.sqlite_synchronous_full] {
                  return std::make_unique<SqliteConnection>(
                      path_, vfs_, false, timeout, full, in_memory_ ? nullptr : &checkpointer_);
              },
              1,
              options.acquire_timeout),
          readers_(
              [this, timeout = options.busy_timeout] {
                  return std::make_unique<SqliteConnection>(path_, vfs_, true, timeout);
              },
              options.pool_size,
              options.acquire_timeout) {
        // Open the writer once now: creates the file, switches it to WAL, fails fast on a bad path.
        Lease first = writer_.acquire();
        if (!in_memory_) {
            checkpointer_.start();
            if (options.sqlite_synchronous_full) {
                wal_path_ = static_cast<SqliteConnection&>(*first).wal_path();
                defer_sync_ = true;
            }
        }
    }

    ~SqliteDatabase() override {
        close();
        if (wal_file_ != nullptr && wal_file_->pMethods != nullptr) {
            wal_file_->pMethods->xClose(wal_file_);
        }
    }

    Dialect dialect() const override { return Dialect::Sqlite; }
    // An in-memory database exists only in its one connection (":memory:" is private to the connection
    // that opened it), so readers share the writer; good enough for tests and demos.
    Lease acquire_reader() override { return in_memory_ ? writer_.acquire() : readers_.acquire(); }
    Lease acquire_writer() override { return writer_.acquire(); }

    // synchronous=FULL on a file: the writer commits with NORMAL (the WAL written, not synced) and
    // this fdatasync of the WAL, after the commit and before anyone is told, makes it durable.
    bool defers_sync() const override { return defer_sync_; }
    void sync_committed() override {
        if (!defer_sync_) {
            return;
        }
        // A transaction that wrote nothing (a read through with_transaction, a batch whose work
        // changed nothing) has nothing to make durable.
        const std::uint64_t target = checkpointer_.commits();
        if (target <= synced_commits_.load(std::memory_order_acquire)) {
            return;
        }
        // One sync at a time (the group-commit syncer and with_transaction callers): a caller that
        // waited here finds its commit covered by the sync that ran meanwhile when that one started
        // after the commit was counted.
        std::lock_guard lock(sync_mutex_);
        if (target <= synced_commits_.load(std::memory_order_acquire)) {
            return;
        }
        if (wal_file_ == nullptr) {
            open_wal_for_sync();
        }
        // Through the VFS, not a bare fdatasync: tests see the sync where they see the writes.
        if (wal_file_->pMethods->xSync(wal_file_, SQLITE_SYNC_NORMAL) != SQLITE_OK) {
            throw Error(Error::Kind::Unavailable, "cannot sync the SQLite write-ahead log");
        }
        // Every commit counted before the sync started is durable now.
        synced_commits_.store(target, std::memory_order_release);
    }

    bool ping() noexcept override {
        try {
            Lease lease = in_memory_ ? writer_.acquire(kPingTimeout) : readers_.acquire(kPingTimeout);
            return !lease->query("SELECT 1").empty();
        } catch (...) {
            return false;
        }
    }

    PoolStats stats() const override {
        PoolStats w = writer_.stats();
        PoolStats r = readers_.stats();
        return {w.size + r.size, w.in_use + r.in_use, w.waiting + r.waiting, w.leases + r.leases};
    }

    void close() override {
        if (closed_.exchange(true)) {
            return;
        }
        if (group_commit_) {
            group_commit_->stop();
        }
        checkpointer_.stop();
        readers_.close();
        writer_.close();  // the last connection to close checkpoints the whole WAL
    }

private:
    static constexpr std::chrono::milliseconds kPingTimeout{1000};

    static const char* connection_vfs(const Options& options, bool in_memory) {
        if (!options.sqlite_vfs.empty() && sqlite3_vfs_find(options.sqlite_vfs.c_str()) == nullptr) {
            throw Error(Error::Kind::Other, "no SQLite VFS is registered as " + options.sqlite_vfs);
        }
        if (!options.sqlite_gather_wal || in_memory) {
            return options.sqlite_vfs.empty() ? nullptr : options.sqlite_vfs.c_str();
        }
        return options.sqlite_vfs.empty() ? buffered_wal_vfs() : buffered_wal_vfs_over(options.sqlite_vfs);
    }

    // Opened at the first sync: SQLite creates the WAL file at the first write, and the writer keeps
    // it open (and so the same file) until close. SQLITE_OPEN_CREATE (the file exists by now) makes
    // SQLite's unix VFS sync the directory at the first sync too: a new WAL's directory entry must
    // be durable before a commit in it is acknowledged.
    void open_wal_for_sync() {
        const auto bytes = static_cast<std::size_t>(base_vfs_->szOsFile);
        wal_file_storage_ = std::make_unique<std::max_align_t[]>(bytes / sizeof(std::max_align_t) + 1);
        auto* file = reinterpret_cast<sqlite3_file*>(wal_file_storage_.get());
        file->pMethods = nullptr;
        int opened_flags = 0;
        const int rc = base_vfs_->xOpen(base_vfs_,
                                        wal_path_.c_str(),
                                        file,
                                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_WAL,
                                        &opened_flags);
        if (rc != SQLITE_OK) {
            if (file->pMethods != nullptr) {
                file->pMethods->xClose(file);
            }
            wal_file_storage_.reset();
            throw Error(Error::Kind::Unavailable, "cannot open the SQLite write-ahead log to sync it");
        }
        wal_file_ = file;
    }

    std::string path_;
    bool in_memory_;
    sqlite3_vfs* base_vfs_;      // Options::sqlite_vfs or SQLite's default
    const char* vfs_;            // every connection's: WAL writes gathered per commit over base_vfs_, or base_vfs_
    Checkpointer checkpointer_;  // declared before the writer, whose WAL hook points at it
    bool defer_sync_ = false;
    std::string wal_path_;  // outlives wal_file_, which points at it
    std::mutex sync_mutex_;
    std::unique_ptr<std::max_align_t[]> wal_file_storage_;
    sqlite3_file* wal_file_ = nullptr;  // the WAL, opened through base_vfs_ for sync_committed alone
    std::atomic<std::uint64_t> synced_commits_{0};
    Pool writer_;
    Pool readers_;
    std::atomic<bool> closed_{false};
};

}  // namespace

std::unique_ptr<Database> open_sqlite(const Options& options, const std::string& path, core::WorkerPool& workers) {
    return std::make_unique<SqliteDatabase>(options, path, workers);
}

}  // namespace motorpool::db::detail
