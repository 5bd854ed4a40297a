#pragma once
// The booking module's SQL (the repository): routes call these inside a transaction or reader they
// chose.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "booking/slots.hpp"
#include "db/db.hpp"

namespace motorpool::booking::store {

struct Service {
    std::int64_t id = 0;
    std::string code;
    std::string name;
    std::optional<std::string> description;
    int duration_min = 0;
    std::int64_t price_cents = 0;
    bool active = true;
    std::int64_t created_at_ms = 0, updated_at_ms = 0;
};
void insert_service(db::Connection& c, const Service& s);
std::vector<Service> list_services(db::Connection& c, bool active_only);
std::optional<Service> find_service(db::Connection& c, const std::string& code);
void update_service(db::Connection& c, const Service& s);

struct Location {
    std::int64_t id = 0;
    std::string public_id;
    std::string name;
    std::optional<std::string> address;
    double latitude = 0, longitude = 0;
    std::string time_zone = "UTC";
    int bays = 1;
    WeeklyHours hours;
    int slot_interval_min = 15;
    int min_notice_min = 120;
    int buffer_min = 0;
    int horizon_days = 180;
    int cancel_cutoff_min = 120;
    std::vector<std::string> services;  // codes
    std::int64_t created_at_ms = 0, updated_at_ms = 0;
};
/// Inserts with its services; 422 naming `services` when a code is unknown.
Location insert_location(db::Connection& c, Location l);
void update_location(db::Connection& c, const Location& l);
/// Replaces the services a location offers; 422 when a code is unknown.
void set_location_services(db::Connection& c, std::int64_t location_id, const std::vector<std::string>& codes);
/// With `lock`, the row is locked for the transaction (PostgreSQL FOR UPDATE; SQLite's writer lock
/// already serialises): the booking transaction's per-location serialisation.
std::optional<Location> find_location(db::Connection& c, const std::string& public_id, bool lock = false);
std::optional<Location> find_location_by_id(db::Connection& c, std::int64_t id);
std::vector<Location> list_locations(db::Connection& c);

struct Closure {
    std::string day;                  // YYYY-MM-DD
    std::optional<DayWindows> hours;  // special hours; none: closed
    std::optional<std::string> note;
};
void upsert_closure(db::Connection& c, std::int64_t location_id, const Closure& closure);
bool delete_closure(db::Connection& c, std::int64_t location_id, const std::string& day);
std::vector<Closure> list_closures(db::Connection& c, std::int64_t location_id);
/// The location's windows on a local date: its closure or special hours, else its weekly hours.
DayWindows day_windows(db::Connection& c, const Location& l, const Date& date);

/// The holds of the location's active appointments overlapping [from, to), but `except`.
std::vector<Busy> busy_between(db::Connection& c,
                               std::int64_t location_id,
                               std::int64_t from_ms,
                               std::int64_t to_ms,
                               std::optional<std::int64_t> except = std::nullopt);

struct Appointment {
    std::int64_t id = 0;
    std::string public_id;
    std::optional<std::int64_t> user_id;
    std::optional<std::string> user_public_id;
    std::optional<std::int64_t> vehicle_id;
    std::optional<std::string> vehicle_public_id;
    std::int64_t location_id = 0;
    std::string location_public_id;
    std::string time_zone;
    std::int64_t start_ms = 0, end_ms = 0, block_end_ms = 0;
    std::string status = "booked";
    std::string services = "[]";  // JSON
    std::int64_t price_cents = 0;
    std::int64_t rewards_cents = 0;  // the part of the price rewards paid
    std::optional<std::string> notes;
    std::optional<double> odometer_km;
    std::optional<std::string> work_done;
    std::optional<std::int64_t> cancelled_at_ms;
    std::int64_t created_at_ms = 0, updated_at_ms = 0;
};
/// Inserts the appointment and its service lines (from `services`).
std::int64_t insert_appointment(db::Connection& c, const Appointment& a);
std::optional<Appointment> find_appointment(db::Connection& c, const std::string& public_id);
std::int64_t included_uses(
    db::Connection& c, std::int64_t user_id, const std::string& code, std::int64_t from_ms, std::int64_t to_ms);

struct AppointmentFilter {
    std::optional<std::int64_t> user_id;  // a member's own
    std::optional<std::int64_t> vehicle_id;
    std::optional<std::int64_t> location_id;
    std::optional<std::string> status;
    std::optional<std::int64_t> from_ms, to_ms;  // start within
    bool newest_first = false;
};
std::vector<Appointment> list_appointments(db::Connection& c,
                                           const AppointmentFilter& f,
                                           std::int64_t offset,
                                           std::int64_t limit);
std::int64_t count_appointments(db::Connection& c, const AppointmentFilter& f);

}  // namespace motorpool::booking::store
