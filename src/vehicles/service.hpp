#pragma once
// Private to vehicles: the registry operations. Every method blocks (database) and runs on a worker.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/auth.hpp"
#include "model.hpp"
#include "vehicles/vehicles.hpp"

namespace motorpool::vehicles {

using auth::Actor;

/// A field a PATCH may set, clear (explicit null) or leave alone.
template <typename T>
using Patch = std::optional<std::optional<T>>;

struct VehicleInput {
    std::string vin;
    std::string make;
    std::string model;
    std::optional<std::string> trim;
    std::optional<std::int64_t> year;
    std::optional<std::string> license_plate;
    std::optional<double> odometer_km;
    std::optional<std::string> fuel_type;
    std::optional<std::string> description;
    std::vector<std::string> image_urls;
    std::optional<std::string> owner_public_id;  // staff only
};

struct VehiclePatch {
    std::optional<std::string> vin;
    std::optional<std::string> make;
    std::optional<std::string> model;
    Patch<std::string> trim;
    Patch<std::int64_t> year;
    Patch<std::string> license_plate;
    Patch<double> odometer_km;
    Patch<std::string> fuel_type;
    Patch<std::string> description;
    std::optional<std::vector<std::string>> image_urls;
    Patch<std::string> owner_public_id;  // staff only; null leaves the vehicle without owner
};

struct ListQuery {
    std::int64_t page = 1;
    std::int64_t page_size = 10;
    bool keyset = false;        // a cursor parameter was given
    std::int64_t after_id = 0;  // keyset: rows after this internal id
    std::optional<std::string> make;
    std::optional<std::string> model;
    std::optional<std::int64_t> year;
    std::optional<std::string> q;
    bool mine = false;  // only the caller's own vehicles, whatever the role
};

struct VehiclePage {
    std::vector<Vehicle> items;
    std::optional<std::int64_t> total;  // offset pages only
    std::optional<std::string> next_cursor;
};

class VehicleService {
public:
    VehicleService(db::Database& database, std::shared_ptr<core::Clock> clock);

    db::Database& database() { return database_; }
    std::int64_t now_ms() const { return clock_->now_ms(); }

    Vehicle create(const Actor& actor, const VehicleInput& input);
    Vehicle get(const Actor& actor, const std::string& key);
    Vehicle update(const Actor& actor, const std::string& key, const VehiclePatch& patch);
    void remove(const Actor& actor, const std::string& key);
    VehiclePage list(const Actor& actor, const ListQuery& query);
    Vehicle link_dongle(const Actor& actor,
                        const std::string& key,
                        const std::string& dongle_id,
                        const std::string& connection_type);
    void unlink_dongle(const Actor& actor, const std::string& key);

private:
    db::Database& database_;
    std::shared_ptr<core::Clock> clock_;
};

}  // namespace motorpool::vehicles
