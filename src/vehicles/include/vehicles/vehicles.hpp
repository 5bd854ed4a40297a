#pragma once
// The vehicle registry: vehicles with their VIN, owner and dongle, owner-scoped CRUD and
// listing (offset and keyset pages), VIN decoding, and the CSV importer behind
// `motorpool import vehicles`. Contract: the "Vehicles" section of shared/design/API.md.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/auth.hpp"
#include "core/time.hpp"
#include "db/db.hpp"
#include "http/router.hpp"

namespace motorpool::vehicles {

/// This module's migrations (src/vehicles/migrations), for db::migrate in the App's module order.
std::vector<db::Migration> migrations(db::Dialect dialect);

class VehicleService;

/// Wires the registry routes into the router. The service lives as long as the router uses it.
std::shared_ptr<VehicleService> install(http::Router& router,
                                        db::Database& database,
                                        std::shared_ptr<core::Clock> clock = nullptr);

/// What other modules need to know about a vehicle named in a path: its keys and owner.
struct VehicleRef {
    std::int64_t id = 0;
    std::string public_id;
    std::string vin;
    std::optional<std::int64_t> owner_id;
};

/// Finds a vehicle by public id (UUID) or VIN (any case); nullopt when none matches.
std::optional<VehicleRef> find_vehicle_ref(db::Connection& connection, std::string_view key);

/// The vehicle named by `key` that `actor` may read (or write), under auth's one access policy:
/// 404 when none matches or the actor may not read it, 403 when they may read but not write it.
/// Every module that serves data hanging off a vehicle finds it here.
VehicleRef vehicle_for(
    db::Connection& connection,
    const auth::Actor& actor,
    std::string_view key,
    auth::Access access,
    const char* forbidden_detail = "Only the owner, fleet managers and admins may change this vehicle");

/// What linking a vehicle by VIN did (for connections made through Smartcar).
enum class ClaimOutcome {
    Created,         // no vehicle had the VIN: registered to the user
    AlreadyOwned,    // the user's own vehicle
    Claimed,         // an unowned vehicle (a fleet import, say) now belongs to the user
    OwnedByAnother,  // another user's vehicle: left as it is (docs/decisions.md)
    InvalidVin,      // the VIN fails validation: nothing registered
};
struct ClaimResult {
    ClaimOutcome outcome;
    std::optional<VehicleRef> vehicle;  // empty for OwnedByAnother and InvalidVin
};

/// Registers (or claims) the vehicle with `vin` for `user_id`, inside the caller's transaction.
/// make/model/year fill a new row only; an existing row keeps its data.
ClaimResult claim_vehicle_by_vin(db::Connection& connection,
                                 std::string_view vin,
                                 std::int64_t user_id,
                                 const std::string& make,
                                 const std::string& model,
                                 std::optional<int> year,
                                 std::int64_t now_ms);

// ---- CSV import ----

struct ImportOptions {
    std::optional<std::int64_t> limit;       // data rows to read at most
    std::optional<std::string> owner_email;  // owner of the vehicles the import creates (and of known unowned ones)
    std::size_t batch_size = 10000;          // rows per transaction
    /// Called every batch with (rows read, bytes read, total bytes).
    std::function<void(std::int64_t, std::uint64_t, std::uint64_t)> progress;
    bool reassign_owner = false;         // with owner_email: also take known vehicles from the account owning them
    std::shared_ptr<core::Clock> clock;  // created and updated times; null: the system clock
    bool skip_existing = false;          // known VINs are left untouched (counted as skipped), not updated
};

struct ImportReject {
    std::int64_t line = 0;  // physical line where the record starts (the header is line 1)
    std::string vin;        // as read, possibly empty
    std::string reason;
};

struct ImportSummary {
    std::int64_t rows = 0;  // data records read
    std::int64_t inserted = 0;
    std::int64_t updated = 0;
    std::int64_t unchanged = 0;
    std::int64_t rejected = 0;
    std::int64_t owner_kept = 0;        // known rows another account owns, left with it (no reassign_owner)
    std::int64_t skipped = 0;           // known rows left untouched (skip_existing)
    std::vector<ImportReject> rejects;  // the first `kMaxRejectsKept`, in file order
    std::vector<std::string> warnings;  // ignored columns and the like
    double seconds = 0;
};

inline constexpr std::size_t kMaxRejectsKept = 10000;

/// Upserts vehicles by VIN from CSV text (RFC 4180; a header row naming the columns). Bad rows are
/// rejected with their line and reason and never stop the rest. Throws core::InputError for a
/// file that cannot be imported at all (no header, no vin/make/model column, unknown owner).
ImportSummary import_vehicles_csv(db::Database& database, std::string_view csv, const ImportOptions& options);

}  // namespace motorpool::vehicles
