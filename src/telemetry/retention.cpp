// History retention: batched deletes through the primary key, on a thread of its own.

#include <atomic>

#include <spdlog/spdlog.h>

#include "core/time.hpp"
#include "telemetry/telemetry.hpp"

namespace motorpool::telemetry {

using db::Connection;

std::int64_t prune_history(db::Database& database,
                           std::int64_t retention_days,
                           std::int64_t now_ms,
                           std::int64_t batch) {
    if (retention_days <= 0) {
        return 0;
    }
    const std::int64_t cutoff = now_ms - retention_days * 86'400'000;
    // The (vehicle, signal) pairs are exactly the latest-value rows; each pair's old history is a
    // key range of the history table, deleted a batch per transaction.
    auto pairs = database.with_reader(
        [](Connection& c) { return c.query("SELECT vehicle_id, signal_id FROM signal_latest ORDER BY 1, 2"); });
    std::int64_t deleted = 0;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        const std::int64_t vehicle = pairs.row(i).int64(0);
        const std::int64_t signal = pairs.row(i).int64(1);
        while (true) {
            std::int64_t n = database.with_transaction([&](Connection& c) {
                return c.execute(
                    "DELETE FROM signal_history WHERE vehicle_id = $1 AND signal_id = $2 AND t_ms IN "
                    "(SELECT t_ms FROM signal_history WHERE vehicle_id = $1 AND signal_id = $2 AND t_ms < $3 "
                    "ORDER BY t_ms LIMIT $4)",
                    {vehicle, signal, cutoff, batch});
            });
            deleted += n;
            if (n < batch) {
                break;
            }
        }
    }
    return deleted;
}

jobs::JobSpec retention_job(db::Database& database, std::int64_t retention_days, std::shared_ptr<core::Clock> clock) {
    if (!clock) {
        clock = std::make_shared<core::SystemClock>();
    }
    return {"telemetry.retention",
            std::chrono::hours(1),
            std::chrono::seconds(30),
            true,
            [&database, retention_days, clock](const std::atomic<bool>&) {
                const std::int64_t n = prune_history(database, retention_days, clock->now_ms());
                if (n > 0) {
                    spdlog::info("retention: deleted {} history rows older than {} days", n, retention_days);
                }
            }};
}

}  // namespace motorpool::telemetry
