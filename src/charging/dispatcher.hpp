#pragma once
// Sends the planner's limits to the chargers connected to this node: a TxProfile on each running
// transaction whose limit the charger has not confirmed, and a TxDefaultProfile (the safe limit a
// new transaction starts with, and what the charger keeps when it loses its connection) to each
// accepted charger that lacks it. The database holds what is wanted and what was confirmed, so any
// node can send to the chargers connected to it; the job charging.dispatch runs this on every node.

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>

namespace motorpool::charging {

struct Services;
namespace ocpp {
class CentralSystem;
}

struct DispatchOptions {
    double default_limit_a = 0;       // the TxDefaultProfile's limit per phase (0: no charging without a plan)
    std::int64_t retry_ms = 300'000;  // a refused or unanswered profile is sent again after this
    std::int64_t stack_level = 1;     // TxProfile stack level (TxDefault uses 0)
};

class Dispatcher : public std::enable_shared_from_this<Dispatcher> {
public:
    Dispatcher(Services& services, ocpp::CentralSystem& central_system, DispatchOptions options);

    /// Compares what is wanted with what is confirmed for every charger connected here and sends
    /// what differs (at most one profile in flight per connector). Blocking reads; the CALLs go out
    /// asynchronously and their answers are recorded on a worker. Returns the CALLs sent.
    std::size_t reconcile();

    const DispatchOptions& options() const { return options_; }

private:
    void record_profile(std::string identity,
                        std::int64_t charger_id,
                        int connector,
                        std::int64_t tx,
                        double kw,
                        double previous_kw,
                        std::string status);
    void record_default(std::string identity, std::int64_t charger_id, double amps, std::string status);
    void done(const std::string& identity, int connector);

    Services& services_;
    ocpp::CentralSystem& central_system_;
    DispatchOptions options_;
    std::mutex mutex_;
    std::set<std::pair<std::string, int>> in_flight_;  // connector 0: the default profile
};

}  // namespace motorpool::charging
