// Vehicle row mapping, field rules and JSON shape.

#include "model.hpp"

#include <cmath>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "core/text.hpp"
#include "core/time.hpp"

namespace motorpool::vehicles {

namespace json = boost::json;

const char* const kVehicleColumns =
    "v.id, v.public_id, v.vin, v.owner_id, u.public_id, v.make, v.model, v.vehicle_trim, v.model_year, "
    "v.license_plate, v.odometer_km, v.fuel_type, v.description, v.image_urls, v.dongle_id, v.connection_type, "
    "v.created_at_ms, v.updated_at_ms";
const char* const kVehicleFrom = " FROM vehicles v LEFT JOIN users u ON u.id = v.owner_id";

bool Vehicle::same_content(const Vehicle& o) const {
    return vin == o.vin && make == o.make && model == o.model && trim == o.trim && year == o.year &&
           license_plate == o.license_plate && odometer_km == o.odometer_km && fuel_type == o.fuel_type &&
           description == o.description && image_urls == o.image_urls && dongle_id == o.dongle_id &&
           connection_type == o.connection_type;
}

namespace {

std::vector<std::string> parse_image_urls(const std::string& text) {
    std::vector<std::string> out;
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_array()) {
        return out;  // written only by us; an unreadable value shows as no images
    }
    for (const auto& item : v.as_array()) {
        if (item.is_string()) {
            out.emplace_back(item.as_string());
        }
    }
    return out;
}

json::value opt(const std::optional<std::string>& v) {
    return v ? json::value(*v) : json::value(nullptr);
}

}  // namespace

Vehicle vehicle_from(const db::Row& r) {
    Vehicle v;
    v.id = r.int64(0);
    v.public_id = r.text(1);
    v.vin = r.text(2);
    v.owner_id = r.opt_int64(3);
    v.owner_public_id = r.opt_text(4);
    v.make = r.text(5);
    v.model = r.text(6);
    v.trim = r.opt_text(7);
    v.year = r.opt_int64(8);
    v.license_plate = r.opt_text(9);
    v.odometer_km = r.opt_real(10);
    v.fuel_type = r.opt_text(11);
    v.description = r.opt_text(12);
    v.image_urls = parse_image_urls(r.text(13));
    v.dongle_id = r.opt_text(14);
    v.connection_type = r.opt_text(15);
    v.created_at_ms = r.int64(16);
    v.updated_at_ms = r.int64(17);
    return v;
}

json::object vehicle_json(const Vehicle& v) {
    json::object o;
    o["id"] = v.public_id;
    o["vin"] = v.vin;
    o["make"] = v.make;
    o["model"] = v.model;
    o["trim"] = opt(v.trim);
    o["year"] = v.year ? json::value(*v.year) : json::value(nullptr);
    o["license_plate"] = opt(v.license_plate);
    o["odometer_km"] = v.odometer_km ? json::value(*v.odometer_km) : json::value(nullptr);
    o["fuel_type"] = opt(v.fuel_type);
    o["description"] = opt(v.description);
    json::array urls;
    for (const auto& url : v.image_urls) {
        urls.emplace_back(url);
    }
    o["image_urls"] = std::move(urls);
    o["owner_id"] = opt(v.owner_public_id);
    o["dongle_id"] = opt(v.dongle_id);
    o["connection_type"] = opt(v.connection_type);
    o["created_at"] = core::format_rfc3339(v.created_at_ms);
    o["updated_at"] = core::format_rfc3339(v.updated_at_ms);
    return o;
}

std::string trim_text(std::string_view text) {
    constexpr std::string_view kSpace = " \t\r\n";
    auto first = text.find_first_not_of(kSpace);
    if (first == std::string_view::npos) {
        return {};
    }
    auto last = text.find_last_not_of(kSpace);
    return std::string(text.substr(first, last - first + 1));
}

std::string check_name(std::string_view value, std::size_t max) {
    if (value.empty()) {
        return "must not be empty";
    }
    return core::text_problem(value, max);
}

std::string check_year(std::int64_t year, std::int64_t now_ms) {
    // Model years run up to two calendar years ahead of the sale.
    std::int64_t max = 1970 + now_ms / (std::int64_t{31'556'952} * 1000) + 2;
    if (year < kMinYear || year > max) {
        return "must be a model year from " + std::to_string(kMinYear) + " to " + std::to_string(max);
    }
    return {};
}

std::string check_plate(std::string_view plate) {
    if (plate.empty() || plate.size() > 16) {
        return "must be 1 to 16 characters";
    }
    for (char c : plate) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == ' ' || c == '-' ||
                  c == '.';
        if (!ok) {
            return "may contain only letters A-Z, digits, spaces, '-' and '.'";
        }
    }
    return {};
}

std::string check_odometer(double km) {
    if (!std::isfinite(km) || km < 0 || km > 10'000'000) {
        return "must be a number of kilometres from 0 to 10000000";
    }
    return {};
}

std::string check_fuel_type(std::string_view fuel_type) {
    for (std::string_view known : {"gasoline", "diesel", "electric", "hybrid", "plugin_hybrid", "hydrogen", "other"}) {
        if (fuel_type == known) {
            return {};
        }
    }
    return "must be one of gasoline, diesel, electric, hybrid, plugin_hybrid, hydrogen, other";
}

std::string check_description(std::string_view text) {
    return core::text_problem(text, 4000, core::TextKind::MultiLine);
}

std::string check_image_url(std::string_view url) {
    if (url.size() > kMaxImageUrlBytes) {
        return "must be at most 2048 bytes";
    }
    auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed) {
        return "must be an absolute http or https URL";
    }
    auto scheme = parsed->scheme_id();
    if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) {
        return "must use http or https";
    }
    if (!parsed->has_authority() || parsed->encoded_host().empty()) {
        return "must name a host";
    }
    return {};
}

std::string check_dongle_id(std::string_view dongle_id) {
    if (dongle_id.empty() || dongle_id.size() > 64) {
        return "must be 1 to 64 characters";
    }
    for (char c : dongle_id) {
        bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '_' ||
                  c == ':' || c == '.';
        if (!ok) {
            return "may contain only letters, digits, '-', '_', ':' and '.'";
        }
    }
    return {};
}

std::string check_connection_type(std::string_view type) {
    if (type == "BLE" || type == "WIFI" || type == "CLOUD") {
        return {};
    }
    return "must be one of BLE, WIFI, CLOUD";
}

std::string image_urls_text(const std::vector<std::string>& urls) {
    json::array array;
    for (const auto& url : urls) {
        array.emplace_back(url);
    }
    return json::serialize(array);
}

}  // namespace motorpool::vehicles
