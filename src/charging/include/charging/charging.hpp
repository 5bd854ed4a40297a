#pragma once
// The charging module's public face: its migrations and the records other modules and tests read.
// The REST routes (/api/v1/grid, /api/v1/chargers, /api/v1/charging) and the OCPP 1.6J central
// system (/ocpp/{chargePointId}) are installed by charging::Module.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/db.hpp"

namespace motorpool::charging {

/// This module's migrations (src/charging/migrations).
std::vector<db::Migration> migrations(db::Dialect dialect);

struct Connector {
    int connector_id = 0;
    double max_power_kw = 0;
    int phases = 3;
    double voltage_v = 230;
    std::string status = "Unavailable";  // OCPP ChargePointStatus
    std::string error_code = "NoError";
    std::optional<std::string> info;
    std::optional<std::string> vendor_error_code;
    std::optional<std::int64_t> status_at_ms;
};

struct Charger {
    std::int64_t id = 0;
    std::string identity;  // the OCPP chargePointId: the id in the API
    std::optional<std::string> cluster_public_id;
    double max_power_kw = 0;
    int security_profile = 1;
    std::string registration_status = "Accepted";
    int heartbeat_interval_s = 300;
    std::optional<std::string> vendor, model, serial_number, charge_box_serial_number, firmware_version, iccid, imsi,
        meter_type, meter_serial_number;
    bool online = false;
    std::optional<std::int64_t> last_seen_at_ms;
    std::optional<std::int64_t> last_boot_at_ms;
    std::int64_t created_at_ms = 0;
    std::vector<Connector> connectors;  // connector 0 (the charge point) first when it reported
};

struct MeterValue {
    std::int64_t at_ms = 0;
    std::string measurand;
    std::string phase;  // "" when none
    std::string location;
    std::string context;
    std::string unit;
    double value = 0;
};

struct Session {
    std::int64_t transaction_id = 0;
    std::string public_id;
    std::string charger_identity;
    int connector_id = 0;
    std::string id_tag;
    std::optional<std::string> user_public_id;
    std::optional<std::string> vehicle_public_id;
    std::int64_t meter_start_wh = 0;
    std::optional<std::int64_t> meter_stop_wh;
    std::int64_t started_at_ms = 0;
    std::optional<std::int64_t> stopped_at_ms;
    std::optional<std::string> stop_reason;
    std::optional<std::int64_t> energy_wh;
    std::optional<std::int64_t> user_id;  // internal, for the access policy
};

}  // namespace motorpool::charging
