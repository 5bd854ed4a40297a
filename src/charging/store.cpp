#include "store.hpp"

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"

namespace motorpool::charging::store {
namespace {

constexpr const char* kClusterColumns =
    "g.id, g.public_id, s.public_id, g.name, g.capacity_kw, g.peak_shaving_target_kw, g.base_load_kw, "
    "g.capacity_schedule, g.created_at_ms, g.updated_at_ms, "
    "(SELECT COUNT(*) FROM chargers ch WHERE ch.cluster_id = g.id), "
    "(SELECT COUNT(*) FROM charging_sessions cs JOIN chargers ch ON ch.id = cs.charger_id "
    " WHERE ch.cluster_id = g.id AND cs.stopped_at_ms IS NULL), "
    // The newest active-power reading of each open session of the cluster, summed (W).
    "(SELECT COALESCE(SUM(CASE WHEN mv.unit = 'kW' THEN mv.value * 1000 ELSE mv.value END), 0) "
    " FROM charging_sessions cs JOIN chargers ch ON ch.id = cs.charger_id "
    " JOIN charging_meter_values mv ON mv.session_id = cs.id AND mv.measurand = 'Power.Active.Import' "
    "  AND mv.phase = '' AND mv.at_ms = (SELECT MAX(m2.at_ms) FROM charging_meter_values m2 "
    "   WHERE m2.session_id = cs.id AND m2.measurand = 'Power.Active.Import' AND m2.phase = '') "
    " WHERE ch.cluster_id = g.id AND cs.stopped_at_ms IS NULL) "
    "FROM grid_clusters g LEFT JOIN charging_sites s ON s.id = g.site_id";

Cluster cluster_from(const db::Row& r) {
    Cluster g;
    g.id = r.int64(0);
    g.public_id = r.text(1);
    g.site_public_id = r.opt_text(2);
    g.name = r.text(3);
    g.capacity_kw = r.real(4);
    g.peak_shaving_target_kw = r.opt_real(5);
    g.base_load_kw = r.real(6);
    g.capacity_schedule = r.text(7);
    g.created_at_ms = r.int64(8);
    g.updated_at_ms = r.int64(9);
    g.chargers = r.int64(10);
    g.active_sessions = r.int64(11);
    g.charging_kw = r.real(12) / 1000.0;
    return g;
}

constexpr const char* kChargerColumns =
    "ch.id, ch.identity, g.public_id, ch.max_power_kw, ch.security_profile, ch.registration_status, "
    "ch.heartbeat_interval_s, ch.vendor, ch.model, ch.serial_number, ch.charge_box_serial_number, "
    "ch.firmware_version, ch.iccid, ch.imsi, ch.meter_type, ch.meter_serial_number, ch.online, "
    "ch.last_seen_at_ms, ch.last_boot_at_ms, ch.created_at_ms "
    "FROM chargers ch LEFT JOIN grid_clusters g ON g.id = ch.cluster_id";

Charger charger_from(const db::Row& r) {
    Charger ch;
    ch.id = r.int64(0);
    ch.identity = r.text(1);
    ch.cluster_public_id = r.opt_text(2);
    ch.max_power_kw = r.real(3);
    ch.security_profile = static_cast<int>(r.int64(4));
    ch.registration_status = r.text(5);
    ch.heartbeat_interval_s = static_cast<int>(r.int64(6));
    ch.vendor = r.opt_text(7);
    ch.model = r.opt_text(8);
    ch.serial_number = r.opt_text(9);
    ch.charge_box_serial_number = r.opt_text(10);
    ch.firmware_version = r.opt_text(11);
    ch.iccid = r.opt_text(12);
    ch.imsi = r.opt_text(13);
    ch.meter_type = r.opt_text(14);
    ch.meter_serial_number = r.opt_text(15);
    ch.online = r.boolean(16);
    ch.last_seen_at_ms = r.opt_int64(17);
    ch.last_boot_at_ms = r.opt_int64(18);
    ch.created_at_ms = r.int64(19);
    return ch;
}

void load_connectors(db::Connection& c, std::vector<Charger>& chargers) {
    for (auto& ch : chargers) {
        auto rows = c.query(
            "SELECT connector_id, max_power_kw, phases, voltage_v, status, error_code, info, vendor_error_code, "
            "status_at_ms FROM charger_connectors WHERE charger_id = $1 ORDER BY connector_id",
            {ch.id});
        for (std::size_t i = 0; i < rows.size(); ++i) {
            auto r = rows.row(i);
            Connector k;
            k.connector_id = static_cast<int>(r.int64(0));
            k.max_power_kw = r.real(1);
            k.phases = static_cast<int>(r.int64(2));
            k.voltage_v = r.real(3);
            k.status = r.text(4);
            k.error_code = r.text(5);
            k.info = r.opt_text(6);
            k.vendor_error_code = r.opt_text(7);
            k.status_at_ms = r.opt_int64(8);
            ch.connectors.push_back(std::move(k));
        }
    }
}

db::Value opt(const std::optional<double>& v) {
    return v ? db::Value(*v) : db::Value();
}
db::Value opt(const std::optional<std::string>& v) {
    return v ? db::Value(*v) : db::Value();
}

}  // namespace

std::string password_hash(const std::string& salt, const std::string& password) {
    return core::sha256_hex(salt + ":" + password);
}

Site insert_site(db::Connection& c, Site site) {
    site.public_id = core::new_uuid_v7(site.created_at_ms);
    auto rows = c.query(
        "INSERT INTO charging_sites (public_id, name, address, latitude, longitude, time_zone, created_at_ms) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        {site.public_id,
         site.name,
         opt(site.address),
         opt(site.latitude),
         opt(site.longitude),
         site.time_zone,
         site.created_at_ms});
    site.id = rows.front().int64(0);
    return site;
}

namespace {
Site site_from(const db::Row& r) {
    return {r.int64(0), r.text(1), r.text(2), r.opt_text(3), r.opt_real(4), r.opt_real(5), r.text(6), r.int64(7)};
}
constexpr const char* kSiteColumns =
    "SELECT id, public_id, name, address, latitude, longitude, time_zone, created_at_ms FROM charging_sites";
}  // namespace

std::vector<Site> list_sites(db::Connection& c) {
    auto rows = c.query(std::string(kSiteColumns) + " ORDER BY id");
    std::vector<Site> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out.push_back(site_from(rows.row(i)));
    }
    return out;
}

std::optional<Site> find_site(db::Connection& c, const std::string& public_id) {
    auto rows = c.query(std::string(kSiteColumns) + " WHERE public_id = $1", {public_id});
    if (rows.empty()) {
        return std::nullopt;
    }
    return site_from(rows.front());
}

Cluster insert_cluster(db::Connection& c, Cluster g, std::optional<std::int64_t> site_id) {
    g.public_id = core::new_uuid_v7(g.created_at_ms);
    c.execute(
        "INSERT INTO grid_clusters (public_id, site_id, name, capacity_kw, peak_shaving_target_kw, base_load_kw, "
        "capacity_schedule, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        {g.public_id,
         site_id ? db::Value(*site_id) : db::Value(),
         g.name,
         g.capacity_kw,
         opt(g.peak_shaving_target_kw),
         g.base_load_kw,
         g.capacity_schedule,
         g.created_at_ms});
    return *find_cluster(c, g.public_id);
}

std::optional<Cluster> find_cluster(db::Connection& c, const std::string& public_id) {
    auto rows = c.query(std::string("SELECT ") + kClusterColumns + " WHERE g.public_id = $1", {public_id});
    if (rows.empty()) {
        return std::nullopt;
    }
    return cluster_from(rows.front());
}

std::vector<Cluster> list_clusters(db::Connection& c, std::int64_t offset, std::int64_t limit) {
    auto rows =
        c.query(std::string("SELECT ") + kClusterColumns + " ORDER BY g.id LIMIT $1 OFFSET $2", {limit, offset});
    std::vector<Cluster> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out.push_back(cluster_from(rows.row(i)));
    }
    return out;
}

std::int64_t count_clusters(db::Connection& c) {
    return c.query("SELECT COUNT(*) FROM grid_clusters").front().int64(0);
}

std::optional<std::int64_t> cluster_id(db::Connection& c, const std::string& public_id) {
    auto rows = c.query("SELECT id FROM grid_clusters WHERE public_id = $1", {public_id});
    if (rows.empty()) {
        return std::nullopt;
    }
    return rows.front().int64(0);
}

void insert_charger(db::Connection& c, const NewCharger& ch, std::int64_t now_ms) {
    if (!c.query("SELECT 1 FROM chargers WHERE identity = $1", {ch.identity}).empty()) {
        throw core::ApiError::conflict("A charger with this id exists");
    }
    auto rows = c.query(
        "INSERT INTO chargers (identity, cluster_id, max_power_kw, security_profile, password_salt, password_hash, "
        "created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        {ch.identity,
         ch.cluster_id ? db::Value(*ch.cluster_id) : db::Value(),
         ch.max_power_kw,
         std::int64_t{ch.security_profile},
         opt(ch.password_salt),
         opt(ch.password_hash),
         now_ms});
    const std::int64_t id = rows.front().int64(0);
    for (const auto& k : ch.connectors) {
        c.execute(
            "INSERT INTO charger_connectors (charger_id, connector_id, max_power_kw, phases, voltage_v) "
            "VALUES ($1, $2, $3, $4, $5)",
            {id, std::int64_t{k.connector_id}, k.max_power_kw, std::int64_t{k.phases}, k.voltage_v});
    }
}

std::optional<Charger> find_charger(db::Connection& c, const std::string& identity) {
    auto rows = c.query(std::string("SELECT ") + kChargerColumns + " WHERE ch.identity = $1", {identity});
    if (rows.empty()) {
        return std::nullopt;
    }
    std::vector<Charger> one{charger_from(rows.front())};
    load_connectors(c, one);
    return std::move(one.front());
}

std::vector<Charger> list_chargers(db::Connection& c,
                                   std::optional<std::int64_t> cluster,
                                   std::int64_t offset,
                                   std::int64_t limit) {
    auto rows = cluster ? c.query(std::string("SELECT ") + kChargerColumns +
                                      " WHERE ch.cluster_id = $1 ORDER BY ch.id LIMIT $2 OFFSET $3",
                                  {*cluster, limit, offset})
                        : c.query(std::string("SELECT ") + kChargerColumns + " ORDER BY ch.id LIMIT $1 OFFSET $2",
                                  {limit, offset});
    std::vector<Charger> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out.push_back(charger_from(rows.row(i)));
    }
    load_connectors(c, out);
    return out;
}

std::int64_t count_chargers(db::Connection& c, std::optional<std::int64_t> cluster) {
    return cluster ? c.query("SELECT COUNT(*) FROM chargers WHERE cluster_id = $1", {*cluster}).front().int64(0)
                   : c.query("SELECT COUNT(*) FROM chargers").front().int64(0);
}

std::optional<Credentials> credentials(db::Connection& c, const std::string& identity) {
    auto rows = c.query(
        "SELECT id, security_profile, password_salt, password_hash, pending_password_salt, pending_password_hash "
        "FROM chargers WHERE identity = $1",
        {identity});
    if (rows.empty()) {
        return std::nullopt;
    }
    auto r = rows.front();
    return Credentials{
        r.int64(0), static_cast<int>(r.int64(1)), r.opt_text(2), r.opt_text(3), r.opt_text(4), r.opt_text(5)};
}

void set_pending_password(db::Connection& c,
                          std::int64_t charger_id,
                          const std::string& salt,
                          const std::string& hash) {
    c.execute("UPDATE chargers SET pending_password_salt = $2, pending_password_hash = $3 WHERE id = $1",
              {charger_id, salt, hash});
}

void promote_pending_password(db::Connection& c, std::int64_t charger_id) {
    c.execute(
        "UPDATE chargers SET password_salt = pending_password_salt, password_hash = pending_password_hash, "
        "pending_password_salt = NULL, pending_password_hash = NULL WHERE id = $1 AND pending_password_hash IS NOT "
        "NULL",
        {charger_id});
}

void drop_pending_password(db::Connection& c, std::int64_t charger_id) {
    c.execute("UPDATE chargers SET pending_password_salt = NULL, pending_password_hash = NULL WHERE id = $1",
              {charger_id});
}

}  // namespace motorpool::charging::store
