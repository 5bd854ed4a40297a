#pragma once
// Vehicle data: the signal catalog, the durable ingest pipeline every source shares (dongle
// uploads, Smartcar webhooks and polling, the simulator), and latest/history queries.
// Contract: the "Vehicle data" section of shared/design/API.md.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "core/event_bus.hpp"
#include "core/metrics.hpp"
#include "core/time.hpp"
#include "core/worker_pool.hpp"
#include "db/db.hpp"
#include "http/router.hpp"
#include "jobs/jobs.hpp"

namespace motorpool::telemetry {

/// This module's migrations (src/telemetry/migrations), for db::migrate in the App's module order.
std::vector<db::Migration> migrations(db::Dialect dialect);

enum class ValueType { Number, Boolean, Text, Location };

/// One catalog entry. `id` is what the database stores: it never changes once shipped.
struct SignalInfo {
    int id;
    std::string_view code;  // Smartcar's signal name, "TractionBattery.StateOfCharge"
    std::string_view group;
    std::string_view name;
    std::string_view unit;  // "" when unitless
    ValueType type;
    std::string_view description;
    // The valid range of a number (booleans are 0 or 1; unused for text and locations). Every
    // source is held to it: a value outside is never stored.
    double min = 0;
    double max = 0;
};

std::span<const SignalInfo> catalog();
const SignalInfo* find_signal(std::string_view code);
const SignalInfo* find_signal(int id);
const char* value_type_name(ValueType type);

enum class Source { Dongle = 1, Webhook = 2, Poll = 3, Simulator = 4, Charger = 5 };  // Charger: OCPP meter values
const char* source_name(Source source);
std::optional<Source> source_from_id(std::int64_t id);

/// A validated sample. Numbers and booleans (0/1) live in `number`; text and structured values
/// (a location as {"latitude","longitude","heading"}) as JSON text in `text`.
struct Sample {
    std::int64_t vehicle_id = 0;  // internal id
    int signal = 0;               // SignalInfo::id
    std::int64_t t_ms = 0;
    std::optional<double> number;
    std::optional<std::string> text;
    Source source = Source::Dongle;
};

/// Sample times every source is held to: from 2000-01-01 to 5 minutes past the receiver's clock.
/// A dongle batch outside them is refused (422); a webhook's or a poll's sample is dropped and
/// counted, so one bad reading can never freeze a vehicle's latest value or poison its history.
inline constexpr std::int64_t kOldestSampleMs = 946'684'800'000;  // 2000-01-01T00:00:00Z
inline constexpr std::int64_t kSampleFutureSlackMs = 5 * 60 * 1000;

/// Why `sample` may not be stored when the receiver's clock reads `now_ms`
/// ("TractionBattery.StateOfCharge: 1e+308 is outside 0 to 100 percent"), or empty when it may: the
/// one check of signal values and times that every source's samples pass through.
std::string sample_problem(const Sample& sample, std::int64_t now_ms);
/// The time half of sample_problem(): "" or "is before 2000-01-01" / "is more than 5 minutes in the future".
std::string sample_time_problem(std::int64_t t_ms, std::int64_t now_ms);
/// The value half: "" or "is outside 0 to 100" (numbers, booleans), or why a text or location is invalid.
std::string sample_value_problem(const SignalInfo& signal,
                                 const std::optional<double>& number,
                                 const std::optional<std::string>& text);

/// Removes the samples sample_problem() refuses, keeping the order of the others; returns how
/// many it removed, and the first one's problem in `first_problem` when given.
std::size_t drop_invalid_samples(std::vector<Sample>& samples,
                                 std::int64_t now_ms,
                                 std::string* first_problem = nullptr);

struct IngestResult {
    std::int64_t accepted = 0;    // new rows
    std::int64_t duplicates = 0;  // already stored (re-delivery)
    std::int64_t rejected = 0;    // refused by sample_problem(): never stored
};

/// Writes samples durably through the group-commit writer: history rows keyed by (vehicle,
/// signal, time), so re-delivery is idempotent, and the latest-value row of each signal, moved
/// only by a newer sample. After the commit, publishes the batch's newest values on the bus as
/// topic "vehicle.<public id>", type "SIGNALS".
class Ingestor {
public:
    /// `metrics` may be null; else the ingest counters appear in /metrics. `clock` (the system
    /// clock when null) is what sample times are checked against.
    Ingestor(db::Database& database,
             core::EventBus* bus,
             core::MetricsRegistry* metrics = nullptr,
             std::shared_ptr<core::Clock> clock = nullptr);

    /// Resumes after COMMIT. All samples must belong to `vehicle_public_id`'s vehicle. Samples
    /// sample_problem() refuses are dropped and counted as `rejected`, never stored.
    boost::asio::awaitable<IngestResult> ingest(std::string vehicle_public_id, std::vector<Sample> samples);
    /// Blocking form (workers, tests, CLI).
    IngestResult ingest_blocking(const std::string& vehicle_public_id, std::vector<Sample> samples);

    /// For a module that stores samples in a transaction of its own (a webhook processing pass
    /// commits its vehicles' samples with its deliveries' outcomes): writes inside `connection`'s
    /// open transaction. Once that has committed, the caller hands the same samples and result to
    /// committed(). Drops the samples sample_problem() refuses from `samples` first.
    IngestResult write_in_transaction(db::Connection& connection, std::vector<Sample>& samples);
    /// Counts and publishes samples that write_in_transaction() wrote and their caller committed.
    void committed(const std::string& vehicle_public_id,
                   const std::vector<Sample>& samples,
                   const IngestResult& result);

private:
    void publish(const std::string& vehicle_public_id, const std::vector<Sample>& samples);

    void count(const IngestResult& result);

    db::Database& database_;
    core::EventBus* bus_;
    std::shared_ptr<core::Clock> clock_;
    core::Counter* batches_ = nullptr;
    core::Counter* accepted_ = nullptr;
    core::Counter* duplicates_ = nullptr;
    core::Counter* rejected_ = nullptr;
};

/// Deletes history older than `retention_days` before `now_ms`, through the primary key of each
/// (vehicle, signal), `batch` rows per transaction so ingest never waits long. Latest values are
/// never pruned. Returns the rows deleted.
std::int64_t prune_history(db::Database& database,
                           std::int64_t retention_days,
                           std::int64_t now_ms,
                           std::int64_t batch = 5000);

/// History retention as a job for the App's scheduler: prune_history for `retention_days` (0: none)
/// 30 s after start, then hourly, on one node.
jobs::JobSpec retention_job(db::Database& database, std::int64_t retention_days, std::shared_ptr<core::Clock> clock);

class TelemetryService;

/// `?refresh=true` on the convenience views asks a live source (Smartcar) for the vehicle's data
/// first. Filled at startup once that module exists. `fetch` runs on a thread of `threads` (the
/// live source's own, not the shared worker pool: it may wait for a slow upstream) with the
/// vehicle's internal id, returns false when no live source reaches the vehicle (stored data is
/// shown), and throws core::ApiError (429 with Retry-After, 502) to refuse.
struct LiveRefresh {
    std::function<bool(std::int64_t vehicle_id)> fetch;
    core::WorkerPool* threads = nullptr;
};

/// Fields other modules add to each vehicle of the fleet view (charging adds "charging": the plan).
/// `read` runs on the view's worker with its connection, once per page, with the page's internal
/// vehicle ids; it returns the field's value per vehicle id (absent: null). Filled at install.
struct FleetField {
    std::string name;
    std::function<std::map<std::int64_t, boost::json::value>(db::Connection&, const std::vector<std::int64_t>&)> read;
};
using FleetFields = std::vector<FleetField>;

/// Wires the vehicle-data routes; returns the ingestor other modules (Smartcar) feed.
std::shared_ptr<Ingestor> install(http::Router& router,
                                  db::Database& database,
                                  core::EventBus& bus,
                                  core::MetricsRegistry* metrics,
                                  std::shared_ptr<core::Clock> clock = nullptr,
                                  std::shared_ptr<LiveRefresh> refresh = nullptr,
                                  std::shared_ptr<FleetFields> fleet_fields = nullptr);

}  // namespace motorpool::telemetry
