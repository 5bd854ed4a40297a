#include <algorithm>

#include <spdlog/spdlog.h>

#include "backends.hpp"
#include "db/db.hpp"

namespace motorpool::db {

Error::Error(Kind kind, const std::string& message, std::string constraint, bool storage_full)
    : std::runtime_error(message), kind_(kind), constraint_(std::move(constraint)), storage_full_(storage_full) {}

namespace {
[[noreturn]] void type_error(std::size_t column, const char* wanted) {
    throw Error(Error::Kind::Type, "column " + std::to_string(column) + " is not " + wanted);
}
}  // namespace

const Value& Row::operator[](std::size_t column) const {
    const auto& row = set_->rows.at(index_);
    if (column >= row.size()) {
        throw Error(Error::Kind::Type, "column " + std::to_string(column) + " out of range");
    }
    return row[column];
}

bool Row::is_null(std::size_t column) const {
    return std::holds_alternative<std::monostate>((*this)[column]);
}

std::int64_t Row::int64(std::size_t column) const {
    const Value& v = (*this)[column];
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        return *i;
    }
    if (const auto* b = std::get_if<bool>(&v)) {
        return *b ? 1 : 0;
    }
    type_error(column, "an integer");
}

double Row::real(std::size_t column) const {
    const Value& v = (*this)[column];
    if (const auto* d = std::get_if<double>(&v)) {
        return *d;
    }
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        return static_cast<double>(*i);
    }
    type_error(column, "a number");
}

const std::string& Row::text(std::size_t column) const {
    const Value& v = (*this)[column];
    if (const auto* s = std::get_if<std::string>(&v)) {
        return *s;
    }
    type_error(column, "text");
}

bool Row::boolean(std::size_t column) const {
    const Value& v = (*this)[column];
    if (const auto* b = std::get_if<bool>(&v)) {
        return *b;
    }
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        return *i != 0;
    }
    type_error(column, "a boolean");
}

std::optional<std::int64_t> Row::opt_int64(std::size_t column) const {
    return is_null(column) ? std::nullopt : std::optional<std::int64_t>(int64(column));
}
std::optional<double> Row::opt_real(std::size_t column) const {
    return is_null(column) ? std::nullopt : std::optional<double>(real(column));
}
std::optional<std::string> Row::opt_text(std::size_t column) const {
    return is_null(column) ? std::nullopt : std::optional<std::string>(text(column));
}

Lease& Lease::operator=(Lease&& other) noexcept {
    if (this != &other) {
        if (connection_ != nullptr && release_) {
            release_(connection_);
        }
        connection_ = std::exchange(other.connection_, nullptr);
        release_ = std::move(other.release_);
    }
    return *this;
}

Lease::~Lease() {
    if (connection_ != nullptr && release_) {
        release_(connection_);
    }
}

namespace {

/// The URL without a SQLAlchemy driver suffix ("postgresql+asyncpg://" -> "postgresql://"), which
/// the original services told users to set.
std::string without_driver(const std::string& url) {
    const auto scheme_end = url.find("://");
    const auto plus = url.find('+');
    if (scheme_end == std::string::npos || plus == std::string::npos || plus > scheme_end) {
        return url;
    }
    return url.substr(0, plus) + url.substr(scheme_end);
}

}  // namespace

Location parse_database_url(const std::string& given) {
    const std::string url = without_driver(given);
    constexpr std::string_view kSqlite = "sqlite:///";
    if (url.rfind(kSqlite, 0) == 0) {
        std::string path = url.substr(kSqlite.size());
        if (path.find('?') != std::string::npos) {
            throw Error(Error::Kind::Other, "DATABASE_URL: sqlite URLs take no parameters");
        }
        if (path.empty() || path == "/") {
            throw Error(Error::Kind::Other, "DATABASE_URL: sqlite URL has no file path (sqlite:///file.db)");
        }
        // sqlite:///rel.db -> "rel.db"; sqlite:////abs.db -> "/abs.db"
        return {Dialect::Sqlite, path, {}};
    }
    if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
        return {Dialect::Postgres, {}, url};
    }
    throw Error(Error::Kind::Other,
                "DATABASE_URL must be sqlite:///relative.db, sqlite:////absolute/path.db or postgresql://...");
}

Database::Database(core::WorkerPool& workers) : workers_(workers) {}
Database::~Database() = default;

void Database::rollback_quietly(Connection& connection) noexcept {
    try {
        connection.rollback();
    } catch (const std::exception& e) {
        spdlog::warn("rollback failed: {}", e.what());
    }
}

std::unique_ptr<Database> Database::open(const Options& options,
                                         core::WorkerPool& workers,
                                         core::MetricsRegistry* metrics) {
    Location location = parse_database_url(options.url);
    std::unique_ptr<Database> database = location.dialect == Dialect::Sqlite
                                             ? detail::open_sqlite(options, location.sqlite_path, workers)
                                             : detail::open_postgres(options, location.pg_conninfo, workers);
    detail::finish_open(*database, database->group_commit_, options, metrics);
    return database;
}

namespace detail {

void finish_open(Database& database,
                 std::unique_ptr<GroupCommitWriter>& slot,
                 const Options& options,
                 core::MetricsRegistry* metrics) {
    slot = std::make_unique<GroupCommitWriter>(database, options.group_commit_max_batch, metrics);
    if (metrics == nullptr) {
        return;
    }
    metrics->gauge_callback("motorpool_db_pool_connections", "Open database connections", [&database] {
        return static_cast<double>(database.stats().size);
    });
    metrics->gauge_callback("motorpool_db_pool_in_use", "Database connections leased now", [&database] {
        return static_cast<double>(database.stats().in_use);
    });
    metrics->gauge_callback("motorpool_db_pool_waiting", "Threads waiting for a database connection", [&database] {
        return static_cast<double>(database.stats().waiting);
    });
    if (database.dialect() == Dialect::Sqlite && options.sqlite_gather_wal) {
        // Process-wide counts; their ratio is how many WAL writes one system call carries.
        metrics->add_collector([](std::string& out) {
            const SqliteWalWrites w = sqlite_wal_writes();
            out +=
                "# HELP motorpool_db_sqlite_wal_writes_gathered_total SQLite WAL writes gathered in memory\n"
                "# TYPE motorpool_db_sqlite_wal_writes_gathered_total counter\n"
                "motorpool_db_sqlite_wal_writes_gathered_total " +
                std::to_string(w.gathered) +
                "\n# HELP motorpool_db_sqlite_wal_write_calls_total System calls that wrote the gathered WAL writes\n"
                "# TYPE motorpool_db_sqlite_wal_write_calls_total counter\n"
                "motorpool_db_sqlite_wal_write_calls_total " +
                std::to_string(w.flushes) + "\n";
        });
    }
}

}  // namespace detail
}  // namespace motorpool::db

namespace motorpool::db::detail {

Pool::Pool(Factory factory, int max_size, std::chrono::milliseconds timeout)
    : factory_(std::move(factory)), max_size_(std::max(1, max_size)), timeout_(timeout) {}

Lease Pool::acquire(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (closed_) {
            throw Error(Error::Kind::Unavailable, "the database is closed");
        }
        if (!idle_.empty()) {
            leased_.push_back(std::move(idle_.back()));
            idle_.pop_back();
            break;
        }
        if (static_cast<int>(leased_.size()) < max_size_) {
            // Connect outside the lock: a slow connect must not stall other threads' releases.
            leased_.push_back(nullptr);
            lock.unlock();
            std::unique_ptr<PooledConnection> fresh;
            try {
                fresh = factory_();
            } catch (...) {
                lock.lock();
                leased_.erase(std::find(leased_.begin(), leased_.end(), nullptr));
                available_.notify_one();
                throw;
            }
            lock.lock();
            Connection* raw = fresh.get();
            *std::find(leased_.begin(), leased_.end(), nullptr) = std::move(fresh);
            ++leases_;
            return Lease(raw, [this](Connection* c) { release(c); });
        }
        ++waiting_;
        bool woke = available_.wait_until(lock, deadline) == std::cv_status::no_timeout;
        --waiting_;
        if (!woke && idle_.empty() && static_cast<int>(leased_.size()) >= max_size_) {
            throw Error(Error::Kind::Unavailable, "no database connection became free in time");
        }
    }
    ++leases_;
    return Lease(leased_.back().get(), [this](Connection* c) { release(c); });
}

void Pool::release(Connection* connection) {
    // The connection is still leased here, so no one else touches it while it is cleaned up.
    static_cast<PooledConnection*>(connection)->prepare_for_reuse();
    std::unique_ptr<PooledConnection> closing;
    {
        std::lock_guard lock(mutex_);
        auto it = std::find_if(leased_.begin(), leased_.end(), [&](const auto& p) { return p.get() == connection; });
        if (it == leased_.end()) {
            return;
        }
        if (closed_) {
            closing = std::move(*it);  // closed after the lock is released
        } else {
            idle_.push_back(std::move(*it));
        }
        leased_.erase(it);
    }
    available_.notify_one();
}

void Pool::close() {
    std::vector<std::unique_ptr<PooledConnection>> closing;
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        closing.swap(idle_);
    }
    available_.notify_all();
}

PoolStats Pool::stats() const {
    std::lock_guard lock(mutex_);
    return {static_cast<int>(idle_.size() + leased_.size()), static_cast<int>(leased_.size()), waiting_, leases_};
}

}  // namespace motorpool::db::detail
