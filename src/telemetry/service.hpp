#pragma once
// Private to telemetry: owner-scoped reads (latest values, history) and batch validation.
// Every method blocks (database) and runs on a worker.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/auth.hpp"
#include "telemetry/telemetry.hpp"
#include "vehicles/vehicles.hpp"

namespace motorpool::telemetry {

struct Actor {
    std::int64_t user_id = 0;
    auth::Role role = auth::Role::Member;
};

struct LatestValue {
    const SignalInfo* signal = nullptr;
    std::int64_t t_ms = 0;
    std::optional<double> number;
    std::optional<std::string> text;
    Source source = Source::Dongle;
};

struct HistoryQuery {
    const SignalInfo* signal = nullptr;
    std::int64_t from_ms = 0;
    std::int64_t to_ms = 0;      // exclusive
    std::int64_t bucket_ms = 0;  // 0: raw points
    std::string agg;             // avg | min | max | last | count (with a bucket)
    std::int64_t limit = 1000;
};

struct Point {
    std::int64_t t_ms = 0;
    std::optional<double> number;
    std::optional<std::string> text;
};

class TelemetryService {
public:
    TelemetryService(db::Database& database, std::shared_ptr<Ingestor> ingestor, std::shared_ptr<core::Clock> clock);

    db::Database& database() { return database_; }
    Ingestor& ingestor() { return *ingestor_; }
    std::int64_t now_ms() const { return clock_->now_ms(); }

    /// The vehicle named by `key` if the actor may read it (404 otherwise); with `write`, 403 for
    /// staff who may read but not write (support).
    vehicles::VehicleRef authorize(const Actor& actor, const std::string& key, bool write);

    std::map<int, LatestValue> latest(std::int64_t vehicle_id);
    std::vector<Point> history(std::int64_t vehicle_id, const HistoryQuery& query);
    /// The actor's first vehicle (lowest id) with any latest value, and those values.
    std::optional<std::pair<vehicles::VehicleRef, std::map<int, LatestValue>>> first_with_data(const Actor& actor);

private:
    db::Database& database_;
    std::shared_ptr<Ingestor> ingestor_;
    std::shared_ptr<core::Clock> clock_;
};

/// Parses and validates a dongle batch; throws ApiError 422 naming the sample index and field,
/// 413 over 10,000 samples. `vehicle_id` is the internal id the samples get.
std::vector<Sample> parse_dongle_batch(std::string_view body, std::int64_t vehicle_id, std::int64_t now_ms);

}  // namespace motorpool::telemetry
