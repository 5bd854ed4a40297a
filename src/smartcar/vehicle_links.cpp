#include "vehicle_links.hpp"

namespace motorpool::smartcar {

std::optional<VehicleLink> VehicleLinks::find(db::Connection& c, const std::string& smartcar_vehicle_id) {
    auto rows = c.query(
        "SELECT sv.vehicle_id, v.public_id, sv.connection_id FROM smartcar_vehicles sv JOIN vehicles v ON v.id = "
        "sv.vehicle_id WHERE sv.smartcar_vehicle_id = $1",
        {smartcar_vehicle_id});
    if (rows.empty()) {
        return std::nullopt;
    }
    return VehicleLink{rows.front().int64(0), rows.front().text(1), rows.front().int64(2)};
}

void VehicleLinks::record_error(db::Connection& c,
                                const std::string& smartcar_vehicle_id,
                                std::int64_t connection_id,
                                const std::string& error_json,
                                std::int64_t at_ms) {
    // The connection's row first, then the vehicle's, as a poll writes them (no deadlock).
    c.execute("UPDATE smartcar_connections SET last_error = $2, updated_at_ms = $3 WHERE id = $1",
              {connection_id, error_json, at_ms});
    c.execute("UPDATE smartcar_vehicles SET last_error = $2 WHERE smartcar_vehicle_id = $1",
              {smartcar_vehicle_id, error_json});
}

}  // namespace motorpool::smartcar
