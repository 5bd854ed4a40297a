#include "store.hpp"

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"

namespace motorpool::charging::store {
namespace {

constexpr const char* kClusterColumns =
    "g.id, g.public_id, s.public_id, g.name, g.capacity_kw, g.peak_shaving_target_kw, g.base_load_kw, "
    "g.capacity_schedule, g.created_at_ms, g.updated_at_ms, g.plan, g.tariff, s.time_zone, "
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
    g.plan = r.opt_text(10);
    g.tariff = r.opt_text(11);
    g.time_zone = r.opt_text(12).value_or("UTC");
    g.chargers = r.int64(13);
    g.active_sessions = r.int64(14);
    g.charging_kw = r.real(15) / 1000.0;
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

void update_cluster(db::Connection& c, std::int64_t id, const ClusterPatch& p, std::int64_t now) {
    if (p.name) {
        c.execute("UPDATE grid_clusters SET name = $2 WHERE id = $1", {id, *p.name});
    }
    if (p.capacity_kw) {
        c.execute("UPDATE grid_clusters SET capacity_kw = $2 WHERE id = $1", {id, *p.capacity_kw});
    }
    if (p.peak_shaving_target_kw) {
        c.execute("UPDATE grid_clusters SET peak_shaving_target_kw = $2 WHERE id = $1",
                  {id, opt(*p.peak_shaving_target_kw)});
    }
    if (p.base_load_kw) {
        c.execute("UPDATE grid_clusters SET base_load_kw = $2 WHERE id = $1", {id, *p.base_load_kw});
    }
    if (p.capacity_schedule) {
        c.execute("UPDATE grid_clusters SET capacity_schedule = $2 WHERE id = $1", {id, *p.capacity_schedule});
    }
    if (p.tariff) {
        c.execute("UPDATE grid_clusters SET tariff = $2 WHERE id = $1", {id, opt(*p.tariff)});
    }
    c.execute("UPDATE grid_clusters SET updated_at_ms = $2 WHERE id = $1", {id, now});
}

double peak_load(db::Connection& c, std::int64_t cluster_id, std::int64_t from_ms, std::int64_t to_ms) {
    auto rows = c.query(
        "SELECT COALESCE(MAX(CASE WHEN l.measured_kw > l.allocated_kw THEN l.measured_kw ELSE l.allocated_kw END), 0) "
        "+ MAX(g.base_load_kw) FROM grid_clusters g LEFT JOIN grid_cluster_load l ON l.cluster_id = g.id AND "
        "l.at_ms >= $2 AND l.at_ms < $3 WHERE g.id = $1",
        {cluster_id, from_ms, to_ms});
    return rows.empty() || rows.front().is_null(0) ? 0.0 : rows.front().real(0);
}

std::int64_t queued_requests(db::Connection& c, std::int64_t cluster_id) {
    return c.query("SELECT COUNT(*) FROM charging_requests WHERE cluster_id = $1 AND status = 'waiting'", {cluster_id})
        .front()
        .int64(0);
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
        throw core::ApiError::conflict("A charger with this id exists", "charger_taken");
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

bool update_charger(db::Connection& c, const std::string& identity, const ChargerPatch& p, std::int64_t now_ms) {
    if (c.execute("UPDATE chargers SET updated_at_ms = $2 WHERE identity = $1", {identity, now_ms}) == 0) {
        return false;
    }
    if (p.cluster_id) {
        c.execute("UPDATE chargers SET cluster_id = $2 WHERE identity = $1",
                  {identity, *p.cluster_id ? db::Value(**p.cluster_id) : db::Value()});
    }
    if (p.max_power_kw) {
        c.execute("UPDATE chargers SET max_power_kw = $2 WHERE identity = $1", {identity, *p.max_power_kw});
    }
    if (p.registration_status) {
        c.execute("UPDATE chargers SET registration_status = $2 WHERE identity = $1",
                  {identity, *p.registration_status});
    }
    if (p.heartbeat_interval_s) {
        c.execute("UPDATE chargers SET heartbeat_interval_s = $2 WHERE identity = $1",
                  {identity, std::int64_t{*p.heartbeat_interval_s}});
    }
    return true;
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

namespace {

constexpr const char* kIdTagColumns =
    "SELECT t.id, t.public_id, t.id_tag, t.user_id, u.public_id, v.public_id, t.parent_id_tag, t.expires_at_ms, "
    "t.blocked, t.created_at_ms, t.updated_at_ms FROM charging_id_tags t LEFT JOIN users u ON u.id = t.user_id "
    "LEFT JOIN vehicles v ON v.id = t.vehicle_id";

IdTag id_tag_from(const db::Row& r) {
    IdTag t;
    t.id = r.int64(0);
    t.public_id = r.text(1);
    t.id_tag = r.text(2);
    t.user_id = r.opt_int64(3);
    t.user_public_id = r.opt_text(4);
    t.vehicle_public_id = r.opt_text(5);
    t.parent_id_tag = r.opt_text(6);
    t.expires_at_ms = r.opt_int64(7);
    t.blocked = r.boolean(8);
    t.created_at_ms = r.int64(9);
    t.updated_at_ms = r.int64(10);
    return t;
}

db::Value user_key(db::Connection& c, const std::optional<std::string>& public_id) {
    if (!public_id) {
        return {};
    }
    auto rows = c.query("SELECT id FROM users WHERE public_id = $1", {*public_id});
    if (rows.empty()) {
        throw core::ApiError::validation({{"user_id", "is not a user"}});
    }
    return rows.front().int64(0);
}

db::Value vehicle_key(db::Connection& c, const std::optional<std::string>& public_id) {
    if (!public_id) {
        return {};
    }
    auto rows = c.query("SELECT id FROM vehicles WHERE public_id = $1", {*public_id});
    if (rows.empty()) {
        throw core::ApiError::validation({{"vehicle_id", "is not a vehicle"}});
    }
    return rows.front().int64(0);
}

}  // namespace

IdTag insert_id_tag(db::Connection& c, const IdTagInput& in, std::int64_t now_ms) {
    if (!c.query("SELECT 1 FROM charging_id_tags WHERE id_tag = $1", {*in.id_tag}).empty()) {
        throw core::ApiError::conflict("This id tag is registered already", "id_tag_taken");
    }
    const std::string public_id = core::new_uuid_v7(now_ms);
    c.execute(
        "INSERT INTO charging_id_tags (public_id, id_tag, user_id, vehicle_id, parent_id_tag, expires_at_ms, blocked, "
        "created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        {public_id,
         *in.id_tag,
         user_key(c, in.user_public_id.value_or(std::nullopt)),
         vehicle_key(c, in.vehicle_public_id.value_or(std::nullopt)),
         opt(in.parent_id_tag.value_or(std::nullopt)),
         in.expires_at_ms && *in.expires_at_ms ? db::Value(**in.expires_at_ms) : db::Value(),
         in.blocked.value_or(false),
         now_ms});
    return *find_id_tag(c, public_id);
}

std::optional<IdTag> update_id_tag(db::Connection& c,
                                   const std::string& public_id,
                                   const IdTagInput& in,
                                   std::int64_t now_ms) {
    auto current = find_id_tag(c, public_id);
    if (!current) {
        return std::nullopt;
    }
    if (in.user_public_id) {
        c.execute("UPDATE charging_id_tags SET user_id = $2 WHERE public_id = $1",
                  {public_id, user_key(c, *in.user_public_id)});
    }
    if (in.vehicle_public_id) {
        c.execute("UPDATE charging_id_tags SET vehicle_id = $2 WHERE public_id = $1",
                  {public_id, vehicle_key(c, *in.vehicle_public_id)});
    }
    if (in.parent_id_tag) {
        c.execute("UPDATE charging_id_tags SET parent_id_tag = $2 WHERE public_id = $1",
                  {public_id, opt(*in.parent_id_tag)});
    }
    if (in.expires_at_ms) {
        c.execute("UPDATE charging_id_tags SET expires_at_ms = $2 WHERE public_id = $1",
                  {public_id, *in.expires_at_ms ? db::Value(**in.expires_at_ms) : db::Value()});
    }
    if (in.blocked) {
        c.execute("UPDATE charging_id_tags SET blocked = $2 WHERE public_id = $1", {public_id, *in.blocked});
    }
    c.execute("UPDATE charging_id_tags SET updated_at_ms = $2 WHERE public_id = $1", {public_id, now_ms});
    return find_id_tag(c, public_id);
}

bool delete_id_tag(db::Connection& c, const std::string& public_id) {
    return c.execute("DELETE FROM charging_id_tags WHERE public_id = $1", {public_id}) > 0;
}

std::optional<IdTag> find_id_tag(db::Connection& c, const std::string& public_id) {
    auto rows = c.query(std::string(kIdTagColumns) + " WHERE t.public_id = $1", {public_id});
    if (rows.empty()) {
        return std::nullopt;
    }
    return id_tag_from(rows.front());
}

std::vector<IdTag> list_id_tags(db::Connection& c,
                                std::optional<std::int64_t> user_id,
                                std::int64_t offset,
                                std::int64_t limit) {
    auto rows = user_id ? c.query(std::string(kIdTagColumns) + " WHERE t.user_id = $1 ORDER BY t.id LIMIT $2 OFFSET $3",
                                  {*user_id, limit, offset})
                        : c.query(std::string(kIdTagColumns) + " ORDER BY t.id LIMIT $1 OFFSET $2", {limit, offset});
    std::vector<IdTag> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out.push_back(id_tag_from(rows.row(i)));
    }
    return out;
}

std::int64_t count_id_tags(db::Connection& c, std::optional<std::int64_t> user_id) {
    return user_id ? c.query("SELECT COUNT(*) FROM charging_id_tags WHERE user_id = $1", {*user_id}).front().int64(0)
                   : c.query("SELECT COUNT(*) FROM charging_id_tags").front().int64(0);
}

BootAnswer record_boot(db::Connection& c, std::int64_t charger_id, const BootInfo& info, std::int64_t now_ms) {
    c.execute(
        "UPDATE chargers SET vendor = $2, model = $3, serial_number = $4, charge_box_serial_number = $5, "
        "firmware_version = $6, iccid = $7, imsi = $8, meter_type = $9, meter_serial_number = $10, "
        "last_boot_at_ms = $11, last_seen_at_ms = $11, online = $12, updated_at_ms = $11 WHERE id = $1",
        {charger_id,
         info.vendor,
         info.model,
         opt(info.serial_number),
         opt(info.charge_box_serial_number),
         opt(info.firmware_version),
         opt(info.iccid),
         opt(info.imsi),
         opt(info.meter_type),
         opt(info.meter_serial_number),
         now_ms,
         true});
    BootAnswer answer;
    auto rows = c.query("SELECT registration_status, heartbeat_interval_s FROM chargers WHERE id = $1", {charger_id});
    answer.status = rows.front().text(0);
    answer.interval_s = static_cast<int>(rows.front().int64(1));
    auto open = c.query(
        "UPDATE charging_sessions SET stopped_at_ms = $2, stop_reason = 'Reboot', meter_stop_wh = meter_start_wh, "
        "energy_wh = 0 WHERE charger_id = $1 AND stopped_at_ms IS NULL RETURNING public_id",
        {charger_id, now_ms});
    for (std::size_t i = 0; i < open.size(); ++i) {
        answer.closed_sessions.push_back(open.row(i).text(0));
    }
    return answer;
}

void mark_online(db::Connection& c, std::int64_t charger_id, bool online, std::int64_t now_ms) {
    c.execute("UPDATE chargers SET online = $2, last_seen_at_ms = $3 WHERE id = $1", {charger_id, online, now_ms});
}

void mark_seen(db::Connection& c, std::int64_t charger_id, std::int64_t now_ms) {
    c.execute("UPDATE chargers SET last_seen_at_ms = $2, online = $3 WHERE id = $1", {charger_id, now_ms, true});
}

std::vector<std::string> record_status(db::Connection& c, std::int64_t charger_id, const StatusReport& r) {
    const std::int64_t connector = r.connector_id;
    auto updated = c.execute(
        "UPDATE charger_connectors SET status = $3, error_code = $4, info = $5, vendor_error_code = $6, "
        "status_at_ms = $7 WHERE charger_id = $1 AND connector_id = $2",
        {charger_id, connector, r.status, r.error_code, opt(r.info), opt(r.vendor_error_code), r.at_ms});
    if (updated == 0) {
        c.execute(
            "INSERT INTO charger_connectors (charger_id, connector_id, max_power_kw, status, error_code, info, "
            "vendor_error_code, status_at_ms) SELECT id, $2, max_power_kw, $3, $4, $5, $6, $7 FROM chargers WHERE id = "
            "$1",
            {charger_id, connector, r.status, r.error_code, opt(r.info), opt(r.vendor_error_code), r.at_ms});
    }
    std::vector<std::string> closed;
    if (r.status == "Available" && r.connector_id > 0) {
        auto rows = c.query(
            "UPDATE charging_sessions SET stopped_at_ms = $3, stop_reason = 'Other', meter_stop_wh = meter_start_wh, "
            "energy_wh = 0 WHERE charger_id = $1 AND connector_id = $2 AND stopped_at_ms IS NULL RETURNING public_id",
            {charger_id, connector, r.at_ms});
        for (std::size_t i = 0; i < rows.size(); ++i) {
            closed.push_back(rows.row(i).text(0));
        }
    }
    return closed;
}

TagInfo authorize(db::Connection& c, const std::string& id_tag, std::int64_t now_ms) {
    TagInfo info;
    auto rows = c.query(
        "SELECT blocked, expires_at_ms, parent_id_tag, user_id, vehicle_id FROM charging_id_tags WHERE id_tag = $1",
        {id_tag});
    if (rows.empty()) {
        return info;  // Invalid
    }
    auto r = rows.front();
    info.expires_at_ms = r.opt_int64(1);
    info.parent_id_tag = r.opt_text(2);
    info.user_id = r.opt_int64(3);
    info.vehicle_id = r.opt_int64(4);
    if (r.boolean(0)) {
        info.status = "Blocked";
    } else if (info.expires_at_ms && *info.expires_at_ms <= now_ms) {
        info.status = "Expired";
    } else {
        info.status = "Accepted";
    }
    return info;
}

StartedSession start_transaction(db::Connection& c,
                                 std::int64_t charger_id,
                                 int connector_id,
                                 const std::string& id_tag,
                                 std::int64_t meter_start_wh,
                                 std::int64_t started_at_ms,
                                 std::optional<std::int64_t> reservation_id,
                                 std::int64_t now_ms) {
    const std::string key = std::to_string(charger_id) + "|" + std::to_string(connector_id) + "|" +
                            std::to_string(started_at_ms) + "|" + std::to_string(meter_start_wh) + "|" + id_tag;
    StartedSession out;
    out.tag = authorize(c, id_tag, now_ms);
    auto existing = c.query("SELECT id, public_id FROM charging_sessions WHERE start_key = $1", {key});
    if (!existing.empty()) {
        out.transaction_id = existing.front().int64(0);
        out.public_id = existing.front().text(1);
        return out;  // a re-sent StartTransaction: the same answer
    }
    if (out.tag.status == "Accepted" &&
        !c.query("SELECT 1 FROM charging_sessions WHERE id_tag = $1 AND stopped_at_ms IS NULL", {id_tag}).empty()) {
        out.tag.status = "ConcurrentTx";
    }
    // The charger's earlier session on this connector, if its StopTransaction never came, ends here.
    c.execute(
        "UPDATE charging_sessions SET stopped_at_ms = $3, stop_reason = 'Other', meter_stop_wh = meter_start_wh, "
        "energy_wh = 0 WHERE charger_id = $1 AND connector_id = $2 AND stopped_at_ms IS NULL",
        {charger_id, std::int64_t{connector_id}, started_at_ms});
    out.public_id = core::new_uuid_v7(started_at_ms);
    auto rows = c.query(
        "INSERT INTO charging_sessions (public_id, charger_id, connector_id, id_tag, user_id, vehicle_id, "
        "reservation_id, meter_start_wh, started_at_ms, start_key, created_at_ms) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        {out.public_id,
         charger_id,
         std::int64_t{connector_id},
         id_tag,
         out.tag.user_id ? db::Value(*out.tag.user_id) : db::Value(),
         out.tag.vehicle_id ? db::Value(*out.tag.vehicle_id) : db::Value(),
         reservation_id ? db::Value(*reservation_id) : db::Value(),
         meter_start_wh,
         started_at_ms,
         key,
         now_ms});
    out.transaction_id = rows.front().int64(0);
    return out;
}

bool stop_transaction(db::Connection& c,
                      std::int64_t charger_id,
                      std::int64_t transaction_id,
                      std::int64_t meter_stop_wh,
                      std::int64_t stopped_at_ms,
                      const std::string& reason) {
    if (c.query("SELECT 1 FROM charging_sessions WHERE id = $1 AND charger_id = $2", {transaction_id, charger_id})
            .empty()) {
        return false;
    }
    c.execute(
        "UPDATE charging_sessions SET meter_stop_wh = $3, stopped_at_ms = $4, stop_reason = $5, "
        "energy_wh = $3 - meter_start_wh WHERE id = $1 AND charger_id = $2 AND (stopped_at_ms IS NULL OR "
        "stop_reason IN ('Reboot', 'Other') AND meter_stop_wh = meter_start_wh)",
        {transaction_id, charger_id, meter_stop_wh, stopped_at_ms, reason});
    return true;
}

void insert_meter_values(db::Connection& c,
                         std::int64_t charger_id,
                         int connector_id,
                         std::optional<std::int64_t> transaction_id,
                         const std::vector<MeterValue>& values) {
    db::Value session;
    if (transaction_id &&
        !c.query("SELECT 1 FROM charging_sessions WHERE id = $1 AND charger_id = $2", {*transaction_id, charger_id})
             .empty()) {
        session = *transaction_id;
    }
    for (const auto& v : values) {
        c.execute(
            "INSERT INTO charging_meter_values (session_id, charger_id, connector_id, at_ms, measurand, phase, "
            "location, context, unit, value) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
            {session,
             charger_id,
             std::int64_t{connector_id},
             v.at_ms,
             v.measurand,
             v.phase,
             v.location,
             v.context,
             v.unit,
             v.value});
    }
}

namespace {
constexpr const char* kSessionColumns =
    "SELECT s.id, s.public_id, ch.identity, s.connector_id, s.id_tag, u.public_id, v.public_id, s.meter_start_wh, "
    "s.meter_stop_wh, s.started_at_ms, s.stopped_at_ms, s.stop_reason, s.energy_wh, s.user_id "
    "FROM charging_sessions s JOIN chargers ch ON ch.id = s.charger_id LEFT JOIN users u ON u.id = s.user_id "
    "LEFT JOIN vehicles v ON v.id = s.vehicle_id";

Session session_from(const db::Row& r) {
    Session s;
    s.transaction_id = r.int64(0);
    s.public_id = r.text(1);
    s.charger_identity = r.text(2);
    s.connector_id = static_cast<int>(r.int64(3));
    s.id_tag = r.text(4);
    s.user_public_id = r.opt_text(5);
    s.vehicle_public_id = r.opt_text(6);
    s.meter_start_wh = r.int64(7);
    s.meter_stop_wh = r.opt_int64(8);
    s.started_at_ms = r.int64(9);
    s.stopped_at_ms = r.opt_int64(10);
    s.stop_reason = r.opt_text(11);
    s.energy_wh = r.opt_int64(12);
    s.user_id = r.opt_int64(13);
    return s;
}
}  // namespace

std::vector<Session> list_sessions(db::Connection& c,
                                   std::optional<std::int64_t> user_id,
                                   std::int64_t offset,
                                   std::int64_t limit) {
    auto rows =
        user_id ? c.query(std::string(kSessionColumns) + " WHERE s.user_id = $1 ORDER BY s.id DESC LIMIT $2 OFFSET $3",
                          {*user_id, limit, offset})
                : c.query(std::string(kSessionColumns) + " ORDER BY s.id DESC LIMIT $1 OFFSET $2", {limit, offset});
    std::vector<Session> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out.push_back(session_from(rows.row(i)));
    }
    return out;
}

std::int64_t count_sessions(db::Connection& c, std::optional<std::int64_t> user_id) {
    return user_id ? c.query("SELECT COUNT(*) FROM charging_sessions WHERE user_id = $1", {*user_id}).front().int64(0)
                   : c.query("SELECT COUNT(*) FROM charging_sessions").front().int64(0);
}

std::optional<Session> find_session(db::Connection& c, const std::string& public_id) {
    auto rows = c.query(std::string(kSessionColumns) + " WHERE s.public_id = $1", {public_id});
    if (rows.empty()) {
        return std::nullopt;
    }
    return session_from(rows.front());
}

std::vector<MeterValue> session_meter_values(db::Connection& c, std::int64_t transaction_id, std::int64_t limit) {
    auto rows = c.query(
        "SELECT at_ms, measurand, phase, location, context, unit, value FROM charging_meter_values "
        "WHERE session_id = $1 ORDER BY at_ms, measurand, phase LIMIT $2",
        {transaction_id, limit});
    std::vector<MeterValue> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        auto r = rows.row(i);
        out.push_back({r.int64(0), r.text(1), r.text(2), r.text(3), r.text(4), r.text(5), r.real(6)});
    }
    return out;
}

}  // namespace motorpool::charging::store
