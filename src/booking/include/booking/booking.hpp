#pragma once
// The booking module's public face: its migrations (src/booking/migrations). Routes: the service
// catalogue, locations with opening hours and closures, availability, appointments, and a
// vehicle's service history; installed by booking::Module.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/db.hpp"
#include "http/paging.hpp"

namespace motorpool::booking {

std::vector<db::Migration> migrations(db::Dialect dialect);

/// How many of a member's appointments starting in [from, to), not cancelled, had `service_code`
/// included in their plan (the membership module's yearly allowance).
std::int64_t included_uses(
    db::Connection& c, std::int64_t user_id, const std::string& service_code, std::int64_t from_ms, std::int64_t to_ms);

/// A point to search around (`?lat=&lng=&radius_km=`): none, or lat and lng with an optional
/// radius. Locations and offers near a member read it the same way.
struct NearQuery {
    std::optional<double> lat, lng, radius_km;
    bool given() const { return lat.has_value(); }
    /// Geodesic distance (WGS84, GeographicLib) from the point to another; only when given().
    double distance_km(double latitude, double longitude) const;
    /// Within the radius (or no radius).
    bool within(double km) const { return !radius_km || km <= *radius_km; }
};
/// Reads and validates the query (422 naming the parameter).
NearQuery near_query(const http::Request& request);
/// page and page_size (50 by default, at most 100) of a list ordered by distance, which a cursor
/// cannot page (422 naming `cursor`): locations and offers near a member.
http::PageQuery distance_page_query(const http::Request& request);

/// Every location's public id and coordinates (offers near a member).
struct LocationPoint {
    std::string id;
    double latitude = 0;
    double longitude = 0;
};
std::vector<LocationPoint> location_points(db::Connection& c);

/// What another module may know of an appointment (an offer redeemed on it).
struct AppointmentRef {
    std::optional<std::int64_t> user_id;
    std::optional<std::int64_t> vehicle_id;
    std::string location_id;  // public
    std::string status;
};
std::optional<AppointmentRef> appointment_ref(db::Connection& c, const std::string& public_id);

/// Development: the service catalogue and two locations in different time zones (Berlin and New
/// York), on an empty catalogue. True when it created them.
bool ensure_demo_data(db::Database& database, std::int64_t now_ms);

}  // namespace motorpool::booking
