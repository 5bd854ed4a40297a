#pragma once
// Private to telemetry: owner-scoped reads (latest values, history) and batch validation.
// Every method blocks (database) and runs on a worker.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/auth.hpp"
#include "http/paging.hpp"
#include "telemetry/telemetry.hpp"
#include "vehicles/vehicles.hpp"

namespace motorpool::telemetry {

using auth::Actor;

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

/// One vehicle of the fleet view and its latest values.
struct FleetVehicle {
    std::int64_t id = 0;
    std::string public_id;
    std::string vin;
    std::string make;
    std::string model;
    std::optional<std::string> owner_public_id;
    std::map<int, LatestValue> latest;
    std::map<std::string, boost::json::value> fields;  // other modules' (FleetField)
};

struct FleetPage {
    std::vector<FleetVehicle> items;
    std::optional<std::int64_t> total;       // page mode
    std::optional<std::int64_t> next_after;  // keyset mode, when more may follow
};

class TelemetryService {
public:
    TelemetryService(db::Database& database,
                     std::shared_ptr<Ingestor> ingestor,
                     std::shared_ptr<core::Clock> clock,
                     std::shared_ptr<FleetFields> fleet_fields);

    db::Database& database() { return database_; }
    Ingestor& ingestor() { return *ingestor_; }
    std::int64_t now_ms() const { return clock_->now_ms(); }

    /// The vehicle named by `key` if the actor may read it (404 otherwise); with `write`, 403 for
    /// staff who may read but not write (support).
    vehicles::VehicleRef authorize(const Actor& actor, const std::string& key, bool write);

    std::map<int, LatestValue> latest(std::int64_t vehicle_id);
    /// authorize() and latest() through one pooled connection.
    std::pair<vehicles::VehicleRef, std::map<int, LatestValue>> authorized_latest(const Actor& actor,
                                                                                  const std::string& key);
    std::vector<Point> history(std::int64_t vehicle_id, const HistoryQuery& query);
    /// The actor's first vehicle (lowest id) with any latest value, and those values.
    std::optional<std::pair<vehicles::VehicleRef, std::map<int, LatestValue>>> first_with_data(const Actor& actor);
    /// Every vehicle with its latest values, by id: staff only (fleet managers, support, admins;
    /// 403 for members). Two queries a page, whatever its size.
    FleetPage fleet(const Actor& actor, const http::PageQuery& query);
    /// One vehicle of the fleet view (staff; 404 when there is none).
    FleetVehicle fleet_vehicle(const Actor& actor, const std::string& key);

private:
    db::Database& database_;
    std::shared_ptr<Ingestor> ingestor_;
    std::shared_ptr<core::Clock> clock_;
    std::shared_ptr<FleetFields> fleet_fields_;
};

/// Parses and validates a dongle batch; throws ApiError 422 naming the sample index and field,
/// 413 over 10,000 samples. `vehicle_id` is the internal id the samples get.
std::vector<Sample> parse_dongle_batch(std::string_view body, std::int64_t vehicle_id, std::int64_t now_ms);

}  // namespace motorpool::telemetry
