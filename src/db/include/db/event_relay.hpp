#pragma once
// Events across nodes on PostgreSQL: every event published on this node is sent with NOTIFY, and a
// listener thread delivers other nodes' events to this node's bus. Payloads too large for NOTIFY
// (8000 bytes) travel as a reference to a row of event_payloads.

#include <memory>
#include <string>

#include "core/event_bus.hpp"
#include "core/metrics.hpp"

namespace motorpool::db {

class PgEventRelay {
public:
    /// `conninfo` must reach PostgreSQL directly: LISTEN does not work through a transaction-pooling
    /// PgBouncer. Connects lazily on its own threads; never throws from here.
    PgEventRelay(std::string conninfo, core::EventBus& bus, core::MetricsRegistry* metrics);
    ~PgEventRelay();
    PgEventRelay(const PgEventRelay&) = delete;
    PgEventRelay& operator=(const PgEventRelay&) = delete;

    /// Starts listening and installs itself as the bus's relay. Returns once LISTEN is in effect
    /// (or after a few seconds if PostgreSQL cannot be reached; it keeps retrying).
    void start();
    void stop();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace motorpool::db
