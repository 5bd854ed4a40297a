#include "store.hpp"

#include <boost/json.hpp>

#include "core/errors.hpp"
#include "core/ids.hpp"

namespace motorpool::booking::store {

using db::nullable;
namespace json = boost::json;

namespace {

Service service_from(const db::Row& r) {
    Service s;
    s.id = r.int64(0);
    s.code = r.text(1);
    s.name = r.text(2);
    s.description = r.opt_text(3);
    s.duration_min = static_cast<int>(r.int64(4));
    s.price_cents = r.int64(5);
    s.active = r.boolean(6);
    s.created_at_ms = r.int64(7);
    s.updated_at_ms = r.int64(8);
    return s;
}
constexpr const char* kServiceColumns =
    "id, code, name, description, duration_min, price_cents, active, created_at_ms, updated_at_ms";

WeeklyHours hours_from(const std::string& text) {
    std::vector<core::FieldError> errors;
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    auto hours = ec ? std::nullopt : read_weekly_hours(v, "opening_hours", errors);
    return hours.value_or(WeeklyHours{});
}

constexpr const char* kLocationColumns =
    "id, public_id, name, address, latitude, longitude, time_zone, bays, opening_hours, slot_interval_min, "
    "min_notice_min, buffer_min, horizon_days, cancel_cutoff_min, created_at_ms, updated_at_ms";

Location location_from(db::Connection& c, const db::Row& r) {
    Location l;
    l.id = r.int64(0);
    l.public_id = r.text(1);
    l.name = r.text(2);
    l.address = r.opt_text(3);
    l.latitude = r.real(4);
    l.longitude = r.real(5);
    l.time_zone = r.text(6);
    l.bays = static_cast<int>(r.int64(7));
    l.hours = hours_from(r.text(8));
    l.slot_interval_min = static_cast<int>(r.int64(9));
    l.min_notice_min = static_cast<int>(r.int64(10));
    l.buffer_min = static_cast<int>(r.int64(11));
    l.horizon_days = static_cast<int>(r.int64(12));
    l.cancel_cutoff_min = static_cast<int>(r.int64(13));
    l.created_at_ms = r.int64(14);
    l.updated_at_ms = r.int64(15);
    auto codes = c.query(
        "SELECT s.code FROM booking_location_services ls JOIN booking_services s ON s.id = ls.service_id "
        "WHERE ls.location_id = $1 ORDER BY s.code",
        {l.id});
    for (std::size_t i = 0; i < codes.size(); ++i) {
        l.services.push_back(codes.row(i).text(0));
    }
    return l;
}

constexpr const char* kAppointmentColumns =
    "a.id, a.public_id, a.user_id, u.public_id, a.vehicle_id, v.public_id, a.location_id, l.public_id, l.time_zone, "
    "a.start_ms, a.end_ms, a.block_end_ms, a.status, a.services, a.price_cents, a.notes, a.odometer_km, a.work_done, "
    "a.cancelled_at_ms, a.created_at_ms, a.updated_at_ms, a.rewards_cents";
constexpr const char* kAppointmentFrom =
    " FROM appointments a JOIN booking_locations l ON l.id = a.location_id LEFT JOIN users u ON u.id = a.user_id "
    "LEFT JOIN vehicles v ON v.id = a.vehicle_id";

Appointment appointment_from(const db::Row& r) {
    Appointment a;
    a.id = r.int64(0);
    a.public_id = r.text(1);
    a.user_id = r.opt_int64(2);
    a.user_public_id = r.opt_text(3);
    a.vehicle_id = r.opt_int64(4);
    a.vehicle_public_id = r.opt_text(5);
    a.location_id = r.int64(6);
    a.location_public_id = r.text(7);
    a.time_zone = r.text(8);
    a.start_ms = r.int64(9);
    a.end_ms = r.int64(10);
    a.block_end_ms = r.int64(11);
    a.status = r.text(12);
    a.services = r.text(13);
    a.price_cents = r.int64(14);
    a.notes = r.opt_text(15);
    a.odometer_km = r.opt_real(16);
    a.work_done = r.opt_text(17);
    a.cancelled_at_ms = r.opt_int64(18);
    a.created_at_ms = r.int64(19);
    a.updated_at_ms = r.int64(20);
    a.rewards_cents = r.int64(21);
    return a;
}

std::string where_of(const AppointmentFilter& f, std::vector<db::Value>& params) {
    std::string where = " WHERE 1 = 1";
    auto add = [&](const char* clause, db::Value v) {
        params.push_back(std::move(v));
        where += std::string(" AND ") + clause + std::to_string(params.size());
    };
    if (f.user_id) {
        add("a.user_id = $", *f.user_id);
    }
    if (f.vehicle_id) {
        add("a.vehicle_id = $", *f.vehicle_id);
    }
    if (f.location_id) {
        add("a.location_id = $", *f.location_id);
    }
    if (f.status) {
        add("a.status = $", *f.status);
    }
    if (f.from_ms) {
        add("a.start_ms >= $", *f.from_ms);
    }
    if (f.to_ms) {
        add("a.start_ms < $", *f.to_ms);
    }
    return where;
}

}  // namespace

void insert_service(db::Connection& c, const Service& s) {
    c.execute(
        "INSERT INTO booking_services (code, name, description, duration_min, price_cents, active, created_at_ms, "
        "updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        {s.code,
         s.name,
         nullable(s.description),
         static_cast<std::int64_t>(s.duration_min),
         s.price_cents,
         s.active,
         s.created_at_ms});
}

std::vector<Service> list_services(db::Connection& c, bool active_only) {
    auto rows = c.query(std::string("SELECT ") + kServiceColumns + " FROM booking_services" +
                        (active_only ? " WHERE active" : "") + " ORDER BY code");
    std::vector<Service> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out.push_back(service_from(rows.row(i)));
    }
    return out;
}

std::optional<Service> find_service(db::Connection& c, const std::string& code) {
    auto rows = c.query(std::string("SELECT ") + kServiceColumns + " FROM booking_services WHERE code = $1", {code});
    if (rows.empty()) {
        return std::nullopt;
    }
    return service_from(rows.row(0));
}

void update_service(db::Connection& c, const Service& s) {
    c.execute(
        "UPDATE booking_services SET name = $2, description = $3, duration_min = $4, price_cents = $5, active = $6, "
        "updated_at_ms = $7 WHERE id = $1",
        {s.id,
         s.name,
         nullable(s.description),
         static_cast<std::int64_t>(s.duration_min),
         s.price_cents,
         s.active,
         s.updated_at_ms});
}

Location insert_location(db::Connection& c, Location l) {
    l.public_id = core::new_uuid_v7(l.created_at_ms);
    auto rows = c.query(
        "INSERT INTO booking_locations (public_id, name, address, latitude, longitude, time_zone, bays, opening_hours, "
        "slot_interval_min, min_notice_min, buffer_min, horizon_days, cancel_cutoff_min, created_at_ms, updated_at_ms) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
        {l.public_id,
         l.name,
         nullable(l.address),
         l.latitude,
         l.longitude,
         l.time_zone,
         static_cast<std::int64_t>(l.bays),
         json::serialize(weekly_hours_json(l.hours)),
         static_cast<std::int64_t>(l.slot_interval_min),
         static_cast<std::int64_t>(l.min_notice_min),
         static_cast<std::int64_t>(l.buffer_min),
         static_cast<std::int64_t>(l.horizon_days),
         static_cast<std::int64_t>(l.cancel_cutoff_min),
         l.created_at_ms});
    l.id = rows.row(0).int64(0);
    set_location_services(c, l.id, l.services);
    return *find_location_by_id(c, l.id);
}

void update_location(db::Connection& c, const Location& l) {
    c.execute(
        "UPDATE booking_locations SET name = $2, address = $3, latitude = $4, longitude = $5, time_zone = $6, bays = "
        "$7, "
        "opening_hours = $8, slot_interval_min = $9, min_notice_min = $10, buffer_min = $11, horizon_days = $12, "
        "cancel_cutoff_min = $13, updated_at_ms = $14 WHERE id = $1",
        {l.id,
         l.name,
         nullable(l.address),
         l.latitude,
         l.longitude,
         l.time_zone,
         static_cast<std::int64_t>(l.bays),
         json::serialize(weekly_hours_json(l.hours)),
         static_cast<std::int64_t>(l.slot_interval_min),
         static_cast<std::int64_t>(l.min_notice_min),
         static_cast<std::int64_t>(l.buffer_min),
         static_cast<std::int64_t>(l.horizon_days),
         static_cast<std::int64_t>(l.cancel_cutoff_min),
         l.updated_at_ms});
}

void set_location_services(db::Connection& c, std::int64_t location_id, const std::vector<std::string>& codes) {
    c.execute("DELETE FROM booking_location_services WHERE location_id = $1", {location_id});
    for (const auto& code : codes) {
        auto found = c.query("SELECT id FROM booking_services WHERE code = $1", {code});
        if (found.empty()) {
            throw core::ApiError::validation({{"services", "'" + code + "' is not a service of the catalogue"}});
        }
        c.execute("INSERT INTO booking_location_services (location_id, service_id) VALUES ($1, $2)",
                  {location_id, found.row(0).int64(0)});
    }
}

std::optional<Location> find_location(db::Connection& c, const std::string& public_id, bool lock) {
    const bool pg = c.dialect() == db::Dialect::Postgres;
    auto rows = c.query(std::string("SELECT ") + kLocationColumns + " FROM booking_locations WHERE public_id = $1" +
                            (lock && pg ? " FOR UPDATE" : ""),
                        {public_id});
    if (rows.empty()) {
        return std::nullopt;
    }
    return location_from(c, rows.row(0));
}

std::optional<Location> find_location_by_id(db::Connection& c, std::int64_t id) {
    auto rows = c.query(std::string("SELECT ") + kLocationColumns + " FROM booking_locations WHERE id = $1", {id});
    if (rows.empty()) {
        return std::nullopt;
    }
    return location_from(c, rows.row(0));
}

std::vector<Location> list_locations(db::Connection& c) {
    auto rows = c.query(std::string("SELECT ") + kLocationColumns + " FROM booking_locations ORDER BY id");
    std::vector<Location> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out.push_back(location_from(c, rows.row(i)));
    }
    return out;
}

void upsert_closure(db::Connection& c, std::int64_t location_id, const Closure& closure) {
    db::Value hours = closure.hours ? db::Value(json::serialize(windows_json(*closure.hours))) : db::Value();
    c.execute(
        "INSERT INTO booking_closures (location_id, day, hours, note) VALUES ($1, $2, $3, $4) ON CONFLICT "
        "(location_id, "
        "day) DO UPDATE SET hours = excluded.hours, note = excluded.note",
        {location_id, closure.day, hours, nullable(closure.note)});
}

bool delete_closure(db::Connection& c, std::int64_t location_id, const std::string& day) {
    return c.execute("DELETE FROM booking_closures WHERE location_id = $1 AND day = $2", {location_id, day}) > 0;
}

std::vector<Closure> list_closures(db::Connection& c, std::int64_t location_id) {
    auto rows =
        c.query("SELECT day, hours, note FROM booking_closures WHERE location_id = $1 ORDER BY day", {location_id});
    std::vector<Closure> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        Closure cl;
        cl.day = rows.row(i).text(0);
        if (auto text = rows.row(i).opt_text(1)) {
            std::vector<core::FieldError> errors;
            cl.hours = read_windows(json::parse(*text), "hours", errors);
        }
        cl.note = rows.row(i).opt_text(2);
        out.push_back(std::move(cl));
    }
    return out;
}

DayWindows day_windows(db::Connection& c, const Location& l, const Date& date) {
    auto rows = c.query("SELECT hours FROM booking_closures WHERE location_id = $1 AND day = $2", {l.id, date.text()});
    if (!rows.empty()) {
        auto text = rows.row(0).opt_text(0);
        if (!text) {
            return {};  // closed
        }
        std::vector<core::FieldError> errors;
        return read_windows(json::parse(*text), "hours", errors).value_or(DayWindows{});
    }
    return l.hours[static_cast<std::size_t>(date.weekday())];
}

std::vector<Busy> busy_between(db::Connection& c,
                               std::int64_t location_id,
                               std::int64_t from_ms,
                               std::int64_t to_ms,
                               std::optional<std::int64_t> except) {
    // An appointment is a slot inside one local day's opening window (at most 25 hours, on a DST
    // day) plus the location's buffer (at most 4 hours), so one that overlaps [from, to) started
    // less than 30 hours before `from`. That lower bound turns the scan of the (location, start)
    // index into a range of a day or two instead of every earlier appointment of the location.
    constexpr std::int64_t kLongestBlockMs = 30LL * 3600 * 1000;
    auto rows = c.query(
        "SELECT start_ms, block_end_ms FROM appointments WHERE location_id = $1 AND start_ms > $5 AND start_ms < $3 "
        "AND block_end_ms > $2 AND status IN ('booked', 'checked_in', 'in_progress') AND id <> $4 ORDER BY start_ms",
        {location_id, from_ms, to_ms, except.value_or(-1), from_ms - kLongestBlockMs});
    std::vector<Busy> out;
    out.reserve(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out.push_back({rows.row(i).int64(0), rows.row(i).int64(1)});
    }
    return out;
}

std::int64_t insert_appointment(db::Connection& c, const Appointment& a) {
    auto rows = c.query(
        "INSERT INTO appointments (public_id, user_id, vehicle_id, location_id, start_ms, end_ms, block_end_ms, "
        "status, "
        "services, price_cents, notes, created_at_ms, updated_at_ms, rewards_cents) VALUES ($1, $2, $3, $4, $5, $6, "
        "$7, 'booked', $8, $9, $10, $11, $11, $12) RETURNING id",
        {a.public_id,
         nullable(a.user_id),
         nullable(a.vehicle_id),
         a.location_id,
         a.start_ms,
         a.end_ms,
         a.block_end_ms,
         a.services,
         a.price_cents,
         nullable(a.notes),
         a.created_at_ms,
         a.rewards_cents});
    const std::int64_t id = rows.row(0).int64(0);
    boost::system::error_code ec;
    json::value lines = json::parse(a.services, ec);
    if (!ec && lines.is_array()) {
        for (const auto& l : lines.as_array()) {
            c.execute(
                "INSERT INTO appointment_services (appointment_id, code, price_cents, included) VALUES ($1, $2, $3, "
                "$4)",
                {id,
                 std::string(l.at("code").as_string()),
                 l.at("price_cents").to_number<std::int64_t>(),
                 l.at("included").as_bool()});
        }
    }
    return id;
}

std::int64_t included_uses(
    db::Connection& c, std::int64_t user_id, const std::string& code, std::int64_t from_ms, std::int64_t to_ms) {
    return c
        .query(
            "SELECT COUNT(*) FROM appointment_services s JOIN appointments a ON a.id = s.appointment_id WHERE "
            "a.user_id = $1 AND s.code = $2 AND s.included AND a.status <> 'cancelled' AND a.start_ms >= $3 AND "
            "a.start_ms < $4",
            {user_id, code, from_ms, to_ms})
        .row(0)
        .int64(0);
}

std::optional<Appointment> find_appointment(db::Connection& c, const std::string& public_id) {
    auto rows = c.query(std::string("SELECT ") + kAppointmentColumns + kAppointmentFrom + " WHERE a.public_id = $1",
                        {public_id});
    if (rows.empty()) {
        return std::nullopt;
    }
    return appointment_from(rows.row(0));
}

std::vector<Appointment> list_appointments(db::Connection& c,
                                           const AppointmentFilter& f,
                                           std::int64_t offset,
                                           std::int64_t limit) {
    std::vector<db::Value> params;
    std::string sql = std::string("SELECT ") + kAppointmentColumns + kAppointmentFrom + where_of(f, params) +
                      (f.newest_first ? " ORDER BY a.start_ms DESC, a.id DESC" : " ORDER BY a.start_ms, a.id");
    params.emplace_back(limit);
    sql += " LIMIT $" + std::to_string(params.size());
    params.emplace_back(offset);
    sql += " OFFSET $" + std::to_string(params.size());
    auto rows = c.query(sql, params);
    std::vector<Appointment> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out.push_back(appointment_from(rows.row(i)));
    }
    return out;
}

std::int64_t count_appointments(db::Connection& c, const AppointmentFilter& f) {
    std::vector<db::Value> params;
    const std::string sql =
        std::string("SELECT COUNT(*)") + kAppointmentFrom + where_of(f, params);  // fills params first
    return c.query(sql, params).row(0).int64(0);
}

}  // namespace motorpool::booking::store
