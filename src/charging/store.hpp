#pragma once
// The charging module's SQL, one function per question or change (the repository): routes and the
// OCPP handlers call these inside a transaction or a reader they chose, never SQL of their own.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "charging/charging.hpp"
#include "db/db.hpp"

namespace motorpool::charging::store {

// ---- sites and clusters ----

struct Site {
    std::int64_t id = 0;
    std::string public_id;
    std::string name;
    std::optional<std::string> address;
    std::optional<double> latitude, longitude;
    std::string time_zone;
    std::int64_t created_at_ms = 0;
};
Site insert_site(db::Connection& c, Site site);
std::vector<Site> list_sites(db::Connection& c);
std::optional<Site> find_site(db::Connection& c, const std::string& public_id);

struct Cluster {
    std::int64_t id = 0;
    std::string public_id;
    std::optional<std::string> site_public_id;
    std::string name;
    double capacity_kw = 0;
    std::optional<double> peak_shaving_target_kw;
    double base_load_kw = 0;
    std::string capacity_schedule = "[]";  // JSON text
    std::int64_t created_at_ms = 0;
    std::int64_t updated_at_ms = 0;
    std::optional<std::string> plan;    // the rebalancer's last plan (JSON)
    std::optional<std::string> tariff;  // JSON (pricing.hpp)
    std::string time_zone = "UTC";      // its site's
    // Read with the cluster:
    double charging_kw = 0;  // the latest active power of its open sessions
    std::int64_t chargers = 0;
    std::int64_t active_sessions = 0;
};
Cluster insert_cluster(db::Connection& c, Cluster cluster, std::optional<std::int64_t> site_id);
std::optional<Cluster> find_cluster(db::Connection& c, const std::string& public_id);
std::vector<Cluster> list_clusters(db::Connection& c, std::int64_t offset, std::int64_t limit);
std::int64_t count_clusters(db::Connection& c);
std::optional<std::int64_t> cluster_id(db::Connection& c, const std::string& public_id);

/// A PATCH of a cluster: absent fields stay; an inner nullopt clears a nullable one.
struct ClusterPatch {
    std::optional<std::string> name;
    std::optional<double> capacity_kw;
    std::optional<std::optional<double>> peak_shaving_target_kw;
    std::optional<double> base_load_kw;
    std::optional<std::string> capacity_schedule;
    std::optional<std::optional<std::string>> tariff;
};
void update_cluster(db::Connection& c, std::int64_t id, const ClusterPatch& patch, std::int64_t now_ms);
/// The highest load the rebalancer recorded from `from_ms` to `to_ms` (measured or allocated, with base load).
double peak_load(db::Connection& c, std::int64_t cluster_id, std::int64_t from_ms, std::int64_t to_ms);
/// Requests waiting for their car.
std::int64_t queued_requests(db::Connection& c, std::int64_t cluster_id);

// ---- chargers ----

struct NewCharger {
    std::string identity;
    std::optional<std::int64_t> cluster_id;
    double max_power_kw = 0;
    int security_profile = 1;
    std::optional<std::string> password_salt, password_hash;
    std::vector<Connector> connectors;
};
/// Throws ApiError 409 when the identity is taken.
void insert_charger(db::Connection& c, const NewCharger& charger, std::int64_t now_ms);
std::optional<Charger> find_charger(db::Connection& c, const std::string& identity);
std::vector<Charger> list_chargers(db::Connection& c,
                                   std::optional<std::int64_t> cluster_id,
                                   std::int64_t offset,
                                   std::int64_t limit);
std::int64_t count_chargers(db::Connection& c, std::optional<std::int64_t> cluster_id);

struct ChargerPatch {
    std::optional<std::optional<std::int64_t>> cluster_id;  // set or clear
    std::optional<double> max_power_kw;
    std::optional<std::string> registration_status;
    std::optional<int> heartbeat_interval_s;
};
/// False when there is no such charger.
bool update_charger(db::Connection& c, const std::string& identity, const ChargerPatch& patch, std::int64_t now_ms);

/// What the upgrade checks: the charger's internal id, profile and credentials.
struct Credentials {
    std::int64_t charger_id = 0;
    int security_profile = 1;
    std::optional<std::string> salt, hash;
    std::optional<std::string> pending_salt, pending_hash;
};
std::optional<Credentials> credentials(db::Connection& c, const std::string& identity);
/// A rotation: the new key waits as pending until the charger accepted it.
void set_pending_password(db::Connection& c, std::int64_t charger_id, const std::string& salt, const std::string& hash);
/// The charger answered Accepted: the pending key replaces the old one.
void promote_pending_password(db::Connection& c, std::int64_t charger_id);
void drop_pending_password(db::Connection& c, std::int64_t charger_id);

/// SHA-256 of salt and password, hex (the password is 120 random bits: a slow hash would only cost
/// every reconnect of a fleet; docs/decisions.md).
std::string password_hash(const std::string& salt, const std::string& password);

// ---- id tags ----

struct IdTag {
    std::int64_t id = 0;
    std::string public_id;
    std::string id_tag;
    std::optional<std::int64_t> user_id;  // internal (the access policy)
    std::optional<std::string> user_public_id, vehicle_public_id, parent_id_tag;
    std::optional<std::int64_t> expires_at_ms;
    bool blocked = false;
    std::int64_t created_at_ms = 0, updated_at_ms = 0;
};
struct IdTagInput {
    std::optional<std::string> id_tag;
    std::optional<std::optional<std::string>> user_public_id, vehicle_public_id, parent_id_tag;  // set / clear
    std::optional<std::optional<std::int64_t>> expires_at_ms;
    std::optional<bool> blocked;
};
/// Throws ApiError 409 (id_tag_taken) for a tag that exists, 422 for an unknown user or vehicle.
IdTag insert_id_tag(db::Connection& c, const IdTagInput& input, std::int64_t now_ms);
std::optional<IdTag> update_id_tag(db::Connection& c,
                                   const std::string& public_id,
                                   const IdTagInput& input,
                                   std::int64_t now_ms);
bool delete_id_tag(db::Connection& c, const std::string& public_id);
std::optional<IdTag> find_id_tag(db::Connection& c, const std::string& public_id);
std::vector<IdTag> list_id_tags(db::Connection& c,
                                std::optional<std::int64_t> user_id,
                                std::int64_t offset,
                                std::int64_t limit);
std::int64_t count_id_tags(db::Connection& c, std::optional<std::int64_t> user_id);

// ---- what the OCPP central system records ----

struct BootInfo {
    std::string vendor, model;
    std::optional<std::string> serial_number, charge_box_serial_number, firmware_version, iccid, imsi, meter_type,
        meter_serial_number;
};
struct BootAnswer {
    std::string status;  // Accepted | Pending | Rejected
    int interval_s = 300;
    std::vector<std::string> closed_sessions;  // public ids of the open sessions a reboot ended
};
/// Records a BootNotification; sessions the charger left open end with reason "Reboot" (their
/// StopTransaction never came).
BootAnswer record_boot(db::Connection& c, std::int64_t charger_id, const BootInfo& info, std::int64_t now_ms);
/// The charger's WebSocket opened (online) or closed (offline), or it sent a heartbeat.
void mark_online(db::Connection& c, std::int64_t charger_id, bool online, std::int64_t now_ms);
void mark_seen(db::Connection& c, std::int64_t charger_id, std::int64_t now_ms);

struct StatusReport {
    int connector_id = 0;
    std::string status, error_code;
    std::optional<std::string> info, vendor_error_code;
    std::int64_t at_ms = 0;
};
/// Stores a connector's status (a connector not configured is added with the charger's power).
/// An Available connector with an open session closes it ("the StopTransaction never came");
/// returns the public ids of the sessions closed.
std::vector<std::string> record_status(db::Connection& c, std::int64_t charger_id, const StatusReport& report);

struct TagInfo {
    std::string status = "Invalid";  // Accepted | Blocked | Expired | Invalid | ConcurrentTx
    std::optional<std::int64_t> expires_at_ms;
    std::optional<std::string> parent_id_tag;
    std::optional<std::int64_t> user_id, vehicle_id;
};
TagInfo authorize(db::Connection& c, const std::string& id_tag, std::int64_t now_ms);

struct StartedSession {
    std::int64_t transaction_id = 0;
    std::string public_id;
    TagInfo tag;
};
/// Idempotent: a re-sent StartTransaction (same charger, connector, time and meter) gets the same
/// transaction back. A tag with an open session elsewhere answers ConcurrentTx.
StartedSession start_transaction(db::Connection& c,
                                 std::int64_t charger_id,
                                 int connector_id,
                                 const std::string& id_tag,
                                 std::int64_t meter_start_wh,
                                 std::int64_t started_at_ms,
                                 std::optional<std::int64_t> reservation_id,
                                 std::int64_t now_ms);
/// Idempotent: a session already stopped is left as it is. False when the transaction is not one
/// of this charger's.
bool stop_transaction(db::Connection& c,
                      std::int64_t charger_id,
                      std::int64_t transaction_id,
                      std::int64_t meter_stop_wh,
                      std::int64_t stopped_at_ms,
                      const std::string& reason);
/// Stores sampled values once each (a re-sent MeterValues adds nothing). `transaction_id` is kept
/// only when it is this charger's.
void insert_meter_values(db::Connection& c,
                         std::int64_t charger_id,
                         int connector_id,
                         std::optional<std::int64_t> transaction_id,
                         const std::vector<MeterValue>& values);

std::vector<Session> list_sessions(db::Connection& c,
                                   std::optional<std::int64_t> user_id,
                                   std::int64_t offset,
                                   std::int64_t limit);
std::int64_t count_sessions(db::Connection& c, std::optional<std::int64_t> user_id);
std::optional<Session> find_session(db::Connection& c, const std::string& public_id);
std::vector<MeterValue> session_meter_values(db::Connection& c, std::int64_t transaction_id, std::int64_t limit);

}  // namespace motorpool::charging::store
