#pragma once
// Private to db: backend factories and shared helpers.

#include <memory>

#include "db/db.hpp"

namespace motorpool::db::detail {

std::unique_ptr<Database> open_sqlite(const Options& options, const std::string& path, core::WorkerPool& workers);
std::unique_ptr<Database> open_postgres(const Options& options, const std::string& conninfo, core::WorkerPool& workers);

/// Installs the group-commit writer and registers pool/group-commit metrics (Database's protected state).
void finish_open(Database& database,
                 std::unique_ptr<GroupCommitWriter>& slot,
                 const Options& options,
                 core::MetricsRegistry* metrics);

}  // namespace motorpool::db::detail

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <vector>

namespace motorpool::db::detail {

/// A connection a Pool can hand out again: whatever a borrower left behind (an open transaction
/// after a failed rollback, a dead session) is cleaned up before the next borrower gets it.
class PooledConnection : public Connection {
public:
    /// Called when a lease ends, outside the pool's lock. Never throws.
    virtual void prepare_for_reuse() noexcept = 0;
};

/// A bounded pool of connections created on demand. acquire() waits up to the timeout for a free
/// connection and then throws Error(Unavailable).
class Pool {
public:
    using Factory = std::function<std::unique_ptr<PooledConnection>()>;
    Pool(Factory factory, int max_size, std::chrono::milliseconds timeout);
    Lease acquire() { return acquire(timeout_); }
    Lease acquire(std::chrono::milliseconds timeout);
    /// Closes idle connections now; leased ones close when returned. Later acquires fail.
    void close();
    PoolStats stats() const;

private:
    void release(Connection* connection);

    Factory factory_;
    int max_size_;
    std::chrono::milliseconds timeout_;
    mutable std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<PooledConnection>> idle_;
    std::vector<std::unique_ptr<PooledConnection>> leased_;
    int waiting_ = 0;
    std::uint64_t leases_ = 0;
    bool closed_ = false;
};

}  // namespace motorpool::db::detail
