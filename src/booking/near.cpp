// A point to search around, read from a query string, and geodesic distances (GeographicLib), for
// locations near a member and offers at such locations.

#include <cmath>
#include <cstdlib>
#include <vector>

#include <GeographicLib/Geodesic.hpp>

#include "booking/booking.hpp"
#include "core/errors.hpp"
#include "http/request.hpp"

namespace motorpool::booking {

NearQuery near_query(const http::Request& request) {
    std::vector<core::FieldError> errors;
    auto number = [&](const char* name, double lo, double hi) -> std::optional<double> {
        auto v = request.query_param(name);
        if (!v) {
            return std::nullopt;
        }
        char* end = nullptr;
        const double d = std::strtod(v->c_str(), &end);
        if (v->empty() || end != v->c_str() + v->size() || !std::isfinite(d) || d < lo || d > hi) {
            errors.push_back({name,
                              "must be a number from " + std::to_string(static_cast<int>(lo)) + " to " +
                                  std::to_string(static_cast<int>(hi))});
            return std::nullopt;
        }
        return d;
    };
    NearQuery q;
    q.lat = number("lat", -90, 90);
    q.lng = number("lng", -180, 180);
    q.radius_km = number("radius_km", 0, 20'000);
    if (errors.empty() && q.lat.has_value() != q.lng.has_value()) {
        errors.push_back({q.lat ? "lng" : "lat", "lat and lng go together"});
    }
    if (errors.empty() && q.radius_km && !q.lat) {
        errors.push_back({"radius_km", "needs lat and lng"});
    }
    if (!errors.empty()) {
        throw core::ApiError::validation(std::move(errors));
    }
    return q;
}

double NearQuery::distance_km(double latitude, double longitude) const {
    double meters = 0;
    GeographicLib::Geodesic::WGS84().Inverse(*lat, *lng, latitude, longitude, meters);
    return meters / 1000.0;
}

}  // namespace motorpool::booking
