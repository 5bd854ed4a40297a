#pragma once
// Private to vehicles: the vehicle row, field rules shared by the API and the CSV importer,
// and the JSON shape.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "db/db.hpp"

namespace motorpool::vehicles {

struct Vehicle {
    std::int64_t id = 0;
    std::string public_id;
    std::string vin;
    std::optional<std::int64_t> owner_id;
    std::optional<std::string> owner_public_id;
    std::string make;
    std::string model;
    std::optional<std::string> trim;
    std::optional<std::int64_t> year;
    std::optional<std::string> license_plate;
    std::optional<double> odometer_km;
    std::optional<std::string> fuel_type;
    std::optional<std::string> description;
    std::vector<std::string> image_urls;
    std::optional<std::string> dongle_id;
    std::optional<std::string> connection_type;
    std::int64_t created_at_ms = 0;
    std::int64_t updated_at_ms = 0;

    /// True when the client-editable fields equal (the importer's "unchanged").
    bool same_content(const Vehicle& other) const;
};

/// Columns in the order vehicle_from() reads them (v = vehicles, u = the owner).
extern const char* const kVehicleColumns;
extern const char* const kVehicleFrom;
Vehicle vehicle_from(const db::Row& row);

boost::json::object vehicle_json(const Vehicle& vehicle);

// Field rules. Each returns an empty string when the value is acceptable, else the message
// for the field's 422 entry. Text is checked after trimming surrounding white space.
inline constexpr std::size_t kMaxImageUrls = 20;
inline constexpr std::size_t kMaxImageUrlBytes = 2048;
inline constexpr std::int64_t kMinYear = 1886;

std::string trim_text(std::string_view text);
std::string check_name(std::string_view value, std::size_t max);  // make, model, trim
std::string check_year(std::int64_t year, std::int64_t now_ms);
std::string check_plate(std::string_view plate);
std::string check_odometer(double km);
std::string check_fuel_type(std::string_view fuel_type);
std::string check_description(std::string_view text);
std::string check_image_url(std::string_view url);
std::string check_dongle_id(std::string_view dongle_id);
std::string check_connection_type(std::string_view type);

/// NULL for an absent optional, else its value, as a statement parameter.
inline db::Value opt_value(const std::optional<std::string>& v) {
    return v ? db::Value(*v) : db::Value();
}
inline db::Value opt_value(const std::optional<std::int64_t>& v) {
    return v ? db::Value(*v) : db::Value();
}
inline db::Value opt_value(const std::optional<double>& v) {
    return v ? db::Value(*v) : db::Value();
}

/// Serialises image URLs for the image_urls column (a JSON array).
std::string image_urls_text(const std::vector<std::string>& urls);

}  // namespace motorpool::vehicles
