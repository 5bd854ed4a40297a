// The booking module's public functions beyond its routes: the allowance count the membership
// module asks for, and the development demo data.

#include <boost/json.hpp>

#include "booking/booking.hpp"
#include "store.hpp"

namespace motorpool::booking {
namespace json = boost::json;

std::int64_t included_uses(db::Connection& c,
                           std::int64_t user_id,
                           const std::string& service_code,
                           std::int64_t from_ms,
                           std::int64_t to_ms) {
    return store::included_uses(c, user_id, service_code, from_ms, to_ms);
}

std::vector<LocationPoint> location_points(db::Connection& c) {
    auto rows = c.query("SELECT public_id, latitude, longitude FROM booking_locations ORDER BY id");
    std::vector<LocationPoint> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        out.push_back({rows.row(i).text(0), rows.row(i).real(1), rows.row(i).real(2)});
    }
    return out;
}

std::optional<AppointmentRef> appointment_ref(db::Connection& c, const std::string& public_id) {
    auto a = store::find_appointment(c, public_id);
    if (!a) {
        return std::nullopt;
    }
    return AppointmentRef{a->user_id, a->vehicle_id, a->location_public_id, a->status};
}

bool ensure_demo_data(db::Database& database, std::int64_t now_ms) {
    return database.with_transaction([&](db::Connection& c) {
        if (!store::list_services(c, false).empty()) {
            return false;
        }
        struct Demo {
            const char* code;
            const char* name;
            int minutes;
            std::int64_t cents;
        };
        for (const Demo& d : {Demo{"oil_change", "Oil and filter change", 45, 8900},
                              Demo{"tire_rotation", "Tire rotation", 30, 3900},
                              Demo{"brake_inspection", "Brake inspection", 45, 4900},
                              Demo{"battery_check", "Battery health check", 30, 2900},
                              Demo{"ev_inspection", "EV high-voltage inspection", 60, 12900}}) {
            store::Service s;
            s.code = d.code;
            s.name = d.name;
            s.duration_min = d.minutes;
            s.price_cents = d.cents;
            s.created_at_ms = now_ms;
            store::insert_service(c, s);
        }
        std::vector<core::FieldError> errors;
        const auto weekdays = read_weekly_hours(
            json::parse(R"({"mon":[["08:00","12:00"],["13:00","18:00"]],"tue":[["08:00","12:00"],["13:00","18:00"]],
                "wed":[["08:00","12:00"],["13:00","18:00"]],"thu":[["08:00","12:00"],["13:00","18:00"]],
                "fri":[["08:00","12:00"],["13:00","17:00"]],"sat":[["09:00","13:00"]],"sun":[]})"),
            "opening_hours",
            errors);
        store::Location berlin;
        berlin.name = "motorpool Berlin Mitte";
        berlin.address = "Invalidenstrasse 1, 10115 Berlin";
        berlin.latitude = 52.5311;
        berlin.longitude = 13.3849;
        berlin.time_zone = "Europe/Berlin";
        berlin.bays = 4;
        berlin.hours = *weekdays;
        berlin.services = {"battery_check", "brake_inspection", "ev_inspection", "oil_change", "tire_rotation"};
        berlin.created_at_ms = now_ms;
        store::insert_location(c, berlin);
        store::Location ny = berlin;
        ny.name = "motorpool Brooklyn";
        ny.address = "200 Kent Ave, Brooklyn, NY 11249";
        ny.latitude = 40.7176;
        ny.longitude = -73.9650;
        ny.time_zone = "America/New_York";
        ny.bays = 2;
        ny.services = {"battery_check", "oil_change", "tire_rotation"};
        store::insert_location(c, ny);
        return true;
    });
}

}  // namespace motorpool::booking
