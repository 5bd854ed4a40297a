// Registry operations: owner-scoped reads and writes, pages, dongles.

#include "service.hpp"

#include <cctype>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"
#include "core/text.hpp"
#include "http/paging.hpp"
#include "vehicles/vin.hpp"

namespace motorpool::vehicles {

using core::ApiError;
using db::Connection;
using db::Value;

namespace {

using auth::may_write_all;

std::string escape_like(std::string_view text) {
    std::string out;
    for (char c : text) {
        if (c == '%' || c == '_' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    return out;
}

// A path key is a public id (UUID) or a VIN; anything else cannot name a vehicle. Returns the
// WHERE clause and its parameter.
std::optional<std::pair<const char*, Value>> key_condition(std::string_view key) {
    if (core::is_uuid(key)) {
        return std::make_pair(" WHERE v.public_id = $1", Value(core::to_lower_ascii(key)));
    }
    if (key.size() == 17) {
        return std::make_pair(" WHERE v.vin = $1", Value(core::to_upper_ascii(key)));
    }
    return std::nullopt;
}

std::optional<Vehicle> find_vehicle(Connection& c, const std::string& key) {
    auto condition = key_condition(key);
    if (!condition) {
        return std::nullopt;
    }
    auto rows =
        c.query(std::string("SELECT ") + kVehicleColumns + kVehicleFrom + condition->first, {condition->second});
    if (rows.empty()) {
        return std::nullopt;
    }
    return vehicle_from(rows.front());
}

// 404 for rows the actor may not see (never 403, which would confirm the row exists);
// 403 for staff who may read but not change another member's vehicle.
// The registry reads the whole row in the same query; the decision is auth's one policy.
Vehicle load_visible(Connection& c, const Actor& actor, const std::string& key) {
    auto vehicle = find_vehicle(c, key);
    if (!vehicle) {
        throw ApiError::not_found("Vehicle");
    }
    auth::require_access(actor, vehicle->owner_id, auth::Access::Read, "Vehicle", "");
    return *vehicle;
}

Vehicle load_writable(Connection& c, const Actor& actor, const std::string& key) {
    auto vehicle = find_vehicle(c, key);
    if (!vehicle) {
        throw ApiError::not_found("Vehicle");
    }
    auth::require_access(actor,
                         vehicle->owner_id,
                         auth::Access::Write,
                         "Vehicle",
                         "Only the owner, fleet managers and admins may change this vehicle");
    return *vehicle;
}

std::optional<std::int64_t> resolve_owner(Connection& c,
                                          const Actor& actor,
                                          const std::optional<std::string>& public_id) {
    if (!public_id) {
        return std::nullopt;
    }
    if (!may_write_all(actor.role)) {
        throw ApiError::forbidden("Only fleet managers and admins may assign a vehicle's owner");
    }
    auto rows = c.query("SELECT id FROM users WHERE public_id = $1", {core::to_lower_ascii(*public_id)});
    if (rows.empty()) {
        throw ApiError::validation({{"owner_id", "is not a known user"}});
    }
    return rows.front().int64(0);
}

void require_free_vin(Connection& c, const std::string& vin, std::int64_t except_id) {
    auto rows = c.query("SELECT id FROM vehicles WHERE vin = $1", {vin});
    if (!rows.empty() && rows.front().int64(0) != except_id) {
        throw ApiError::conflict("A vehicle with VIN " + vin + " already exists", "vin_taken");
    }
}

void validate_vin(const std::string& vin) {
    VinCheck check = check_vin(vin);
    if (!check.valid) {
        throw ApiError::validation({{"vin", check.error}});
    }
}

Vehicle reload(Connection& c, std::int64_t id) {
    auto rows = c.query(std::string("SELECT ") + kVehicleColumns + kVehicleFrom + " WHERE v.id = $1", {id});
    MP_CHECK(!rows.empty());
    return vehicle_from(rows.front());
}

}  // namespace

std::optional<VehicleRef> find_vehicle_ref(Connection& c, std::string_view key) {
    auto condition = key_condition(key);
    if (!condition) {
        return std::nullopt;
    }
    auto rows = c.query(std::string("SELECT v.id, v.public_id, v.vin, v.owner_id FROM vehicles v") + condition->first,
                        {condition->second});
    if (rows.empty()) {
        return std::nullopt;
    }
    auto r = rows.front();
    return VehicleRef{r.int64(0), r.text(1), r.text(2), r.opt_int64(3)};
}

VehicleRef vehicle_for(
    Connection& c, const auth::Actor& actor, std::string_view key, auth::Access access, const char* forbidden_detail) {
    auto ref = find_vehicle_ref(c, key);
    if (!ref) {
        throw ApiError::not_found("Vehicle");
    }
    auth::require_access(actor, ref->owner_id, access, "Vehicle", forbidden_detail);
    return std::move(*ref);
}

ClaimResult claim_vehicle_by_vin(Connection& c,
                                 std::string_view vin,
                                 std::int64_t user_id,
                                 const std::string& make,
                                 const std::string& model,
                                 std::optional<int> year,
                                 std::int64_t now_ms) {
    auto check = check_vin(vin);
    if (!check.valid) {
        return {ClaimOutcome::InvalidVin, std::nullopt};
    }
    const std::string normal = core::to_upper_ascii(vin);
    if (auto existing = find_vehicle_ref(c, normal)) {
        if (existing->owner_id == user_id) {
            return {ClaimOutcome::AlreadyOwned, existing};
        }
        if (existing->owner_id) {
            return {ClaimOutcome::OwnedByAnother, std::nullopt};
        }
        // Unowned: the first to prove access through the manufacturer takes it (only if still unowned).
        if (c.execute("UPDATE vehicles SET owner_id = $1, updated_at_ms = $2 WHERE id = $3 AND owner_id IS NULL",
                      {user_id, now_ms, existing->id}) == 1) {
            existing->owner_id = user_id;
            return {ClaimOutcome::Claimed, existing};
        }
        return {ClaimOutcome::OwnedByAnother, std::nullopt};
    }
    const std::string public_id = core::new_uuid_v7(now_ms);
    auto rows = c.query(
        "INSERT INTO vehicles (public_id, vin, owner_id, make, model, model_year, created_at_ms, updated_at_ms) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        {public_id,
         normal,
         user_id,
         make.empty() ? std::string("Unknown") : make,
         model.empty() ? std::string("Unknown") : model,
         year ? db::Value(std::int64_t{*year}) : db::Value(),
         now_ms});
    return {ClaimOutcome::Created, VehicleRef{rows.front().int64(0), public_id, normal, user_id}};
}

VehicleService::VehicleService(db::Database& database, std::shared_ptr<core::Clock> clock)
    : database_(database), clock_(std::move(clock)) {}

Vehicle VehicleService::create(const Actor& actor, const VehicleInput& in) {
    validate_vin(in.vin);
    const std::int64_t now = now_ms();
    try {
        return database_.with_transaction([&](Connection& c) {
            std::optional<std::int64_t> owner = actor.user_id;
            if (in.owner_public_id) {
                owner = resolve_owner(c, actor, in.owner_public_id);
            }
            require_free_vin(c, in.vin, 0);
            auto rows = c.query(
                "INSERT INTO vehicles (public_id, vin, owner_id, make, model, vehicle_trim, model_year, license_plate, "
                "odometer_km, fuel_type, description, image_urls, created_at_ms, updated_at_ms) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id",
                {core::new_uuid_v7(now),
                 in.vin,
                 opt_value(owner),
                 in.make,
                 in.model,
                 opt_value(in.trim),
                 opt_value(in.year),
                 opt_value(in.license_plate),
                 opt_value(in.odometer_km),
                 opt_value(in.fuel_type),
                 opt_value(in.description),
                 image_urls_text(in.image_urls),
                 now});
            return reload(c, rows.front().int64(0));
        });
    } catch (const db::Error& e) {
        if (e.kind() == db::Error::Kind::UniqueViolation) {
            throw ApiError::conflict("A vehicle with VIN " + in.vin + " already exists", "vin_taken");  // lost a race
        }
        throw;
    }
}

Vehicle VehicleService::get(const Actor& actor, const std::string& key) {
    return database_.with_reader([&](Connection& c) { return load_visible(c, actor, key); });
}

Vehicle VehicleService::update(const Actor& actor, const std::string& key, const VehiclePatch& p) {
    if (p.vin) {
        validate_vin(*p.vin);
    }
    const std::int64_t now = now_ms();
    try {
        return database_.with_transaction([&](Connection& c) {
            Vehicle v = load_writable(c, actor, key);
            if (p.vin && *p.vin != v.vin) {
                require_free_vin(c, *p.vin, v.id);
                v.vin = *p.vin;
            }
            if (p.make) {
                v.make = *p.make;
            }
            if (p.model) {
                v.model = *p.model;
            }
            auto apply = [](auto& field, const auto& patch) {
                if (patch) {
                    field = *patch;
                }
            };
            apply(v.trim, p.trim);
            apply(v.year, p.year);
            apply(v.license_plate, p.license_plate);
            apply(v.odometer_km, p.odometer_km);
            apply(v.fuel_type, p.fuel_type);
            apply(v.description, p.description);
            if (p.image_urls) {
                v.image_urls = *p.image_urls;
            }
            if (p.owner_public_id) {
                if (!may_write_all(actor.role)) {
                    throw ApiError::forbidden("Only fleet managers and admins may assign a vehicle's owner");
                }
                v.owner_id = *p.owner_public_id ? resolve_owner(c, actor, *p.owner_public_id) : std::nullopt;
            }
            c.execute(
                "UPDATE vehicles SET vin = $1, owner_id = $2, make = $3, model = $4, vehicle_trim = $5, model_year = "
                "$6, "
                "license_plate = $7, odometer_km = $8, fuel_type = $9, description = $10, image_urls = $11, "
                "updated_at_ms = $12 WHERE id = $13",
                {v.vin,
                 opt_value(v.owner_id),
                 v.make,
                 v.model,
                 opt_value(v.trim),
                 opt_value(v.year),
                 opt_value(v.license_plate),
                 opt_value(v.odometer_km),
                 opt_value(v.fuel_type),
                 opt_value(v.description),
                 image_urls_text(v.image_urls),
                 now,
                 v.id});
            return reload(c, v.id);
        });
    } catch (const db::Error& e) {
        if (e.kind() == db::Error::Kind::UniqueViolation) {
            throw ApiError::conflict("A vehicle with that VIN already exists", "vin_taken");
        }
        throw;
    }
}

void VehicleService::remove(const Actor& actor, const std::string& key) {
    database_.with_transaction([&](Connection& c) {
        Vehicle v = load_writable(c, actor, key);
        c.execute("DELETE FROM vehicles WHERE id = $1", {v.id});
    });
}

VehiclePage VehicleService::list(const Actor& actor, const ListQuery& query) {
    return database_.with_reader([&](Connection& c) {
        std::string where = " WHERE 1 = 1";
        std::vector<Value> params;
        auto next = [&params](Value value) {
            params.push_back(std::move(value));
            std::string placeholder = "$";
            placeholder += std::to_string(params.size());
            return placeholder;
        };
        if (query.mine || !auth::sees_all_rows(actor.role)) {
            where += " AND v.owner_id = " + next(actor.user_id);
        }
        if (query.make) {
            where += " AND lower(v.make) = lower(" + next(*query.make) + ")";
        }
        if (query.model) {
            where += " AND lower(v.model) = lower(" + next(*query.model) + ")";
        }
        if (query.year) {
            where += " AND v.model_year = " + next(*query.year);
        }
        if (query.q && !query.q->empty()) {
            // VIN prefix, or plate / "make model" text anywhere (case-insensitive).
            // Built by appending: g++ 12 at -O3 misreads `"%" + string` here as an overlapping
            // copy (-Wrestrict, GCC PR 105329).
            std::string prefix_pattern = escape_like(core::to_upper_ascii(*query.q));
            prefix_pattern += '%';
            std::string anywhere_pattern = "%";
            anywhere_pattern += escape_like(core::to_lower_ascii(*query.q));
            anywhere_pattern += '%';
            std::string vin_prefix = next(std::move(prefix_pattern));
            std::string anywhere = next(std::move(anywhere_pattern));
            where += " AND (v.vin LIKE " + vin_prefix + " ESCAPE '\\' OR lower(v.license_plate) LIKE " + anywhere +
                     " ESCAPE '\\' OR lower(v.make || ' ' || v.model) LIKE " + anywhere + " ESCAPE '\\')";
        }
        VehiclePage page;
        std::string sql = std::string("SELECT ") + kVehicleColumns + kVehicleFrom + where;
        if (query.keyset) {
            sql += " AND v.id > " + next(query.after_id);
            sql += " ORDER BY v.id LIMIT " + next(query.page_size + 1);
        } else {
            page.total = c.query("SELECT COUNT(*) FROM vehicles v" + where, params).front().int64(0);
            std::string limit = next(query.page_size + 1);
            sql += " ORDER BY v.id LIMIT " + limit + " OFFSET " + next((query.page - 1) * query.page_size);
        }
        auto rows = c.query(sql, params);
        for (std::size_t i = 0; i < rows.size() && static_cast<std::int64_t>(i) < query.page_size; ++i) {
            page.items.push_back(vehicle_from(rows.row(i)));
        }
        if (static_cast<std::int64_t>(rows.size()) > query.page_size) {
            page.next_cursor = http::encode_cursor(page.items.back().id);
        }
        return page;
    });
}

Vehicle VehicleService::link_dongle(const Actor& actor,
                                    const std::string& key,
                                    const std::string& dongle_id,
                                    const std::string& connection_type) {
    const std::int64_t now = now_ms();
    try {
        return database_.with_transaction([&](Connection& c) {
            Vehicle v = load_writable(c, actor, key);
            auto holder = c.query("SELECT id FROM vehicles WHERE dongle_id = $1", {dongle_id});
            if (!holder.empty() && holder.front().int64(0) != v.id) {
                throw ApiError::conflict("Dongle " + dongle_id + " is linked to another vehicle", "dongle_taken");
            }
            c.execute("UPDATE vehicles SET dongle_id = $1, connection_type = $2, updated_at_ms = $3 WHERE id = $4",
                      {dongle_id, connection_type, now, v.id});
            return reload(c, v.id);
        });
    } catch (const db::Error& e) {
        if (e.kind() == db::Error::Kind::UniqueViolation) {
            throw ApiError::conflict("Dongle " + dongle_id + " is linked to another vehicle", "dongle_taken");
        }
        throw;
    }
}

void VehicleService::unlink_dongle(const Actor& actor, const std::string& key) {
    const std::int64_t now = now_ms();
    database_.with_transaction([&](Connection& c) {
        Vehicle v = load_writable(c, actor, key);
        if (v.dongle_id) {
            c.execute("UPDATE vehicles SET dongle_id = NULL, connection_type = NULL, updated_at_ms = $1 WHERE id = $2",
                      {now, v.id});
        }
    });
}

}  // namespace motorpool::vehicles
