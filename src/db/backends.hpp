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

#include <condition_variable>
#include <mutex>

namespace motorpool::db::detail {

/// A bounded pool of connections created on demand. acquire() waits up to the timeout for a free
/// connection and then throws Error(Unavailable).
class Pool {
public:
    using Factory = std::function<std::unique_ptr<Connection>()>;
    Pool(Factory factory, int max_size, std::chrono::milliseconds timeout);
    Lease acquire();
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
    std::vector<std::unique_ptr<Connection>> idle_;
    std::vector<std::unique_ptr<Connection>> leased_;
    int waiting_ = 0;
    bool closed_ = false;
};

}  // namespace motorpool::db::detail
