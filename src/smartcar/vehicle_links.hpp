#pragma once
// Private to smartcar: the SQL of the links between Smartcar's vehicles and ours, as the webhook
// processor reads and marks them. Methods run on the caller's connection (and transaction).

#include <cstdint>
#include <optional>
#include <string>

#include "db/db.hpp"

namespace motorpool::smartcar {

struct VehicleLink {
    std::int64_t vehicle_id = 0;
    std::string vehicle_public_id;
    std::int64_t connection_id = 0;
};

class VehicleLinks {
public:
    /// Our vehicle and its connection for a Smartcar vehicle id; nullopt when none is linked.
    static std::optional<VehicleLink> find(db::Connection& c, const std::string& smartcar_vehicle_id);
    /// Records a VEHICLE_ERROR (JSON) on the Smartcar vehicle and on its connection.
    static void record_error(db::Connection& c,
                             const std::string& smartcar_vehicle_id,
                             std::int64_t connection_id,
                             const std::string& error_json,
                             std::int64_t at_ms);
};

}  // namespace motorpool::smartcar
