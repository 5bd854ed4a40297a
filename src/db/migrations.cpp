// Migrations owned by modules, per dialect, embedded in the binary, applied in the App's module
// order, one transaction each, recorded by (module, version) with a checksum so that an edited
// migration is refused rather than silently skipped.

#include <algorithm>
#include <chrono>
#include <map>

#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
#include "core/time.hpp"
#include "db/db.hpp"

namespace motorpool::db {

namespace {

// Serialises migrations across nodes; transaction-scoped so it also works through PgBouncer.
constexpr std::int64_t kMigrationLockKey = 0x6D6F746F72706F6F;  // "motorpoo"

void lock_if_postgres(Connection& c) {
    if (c.dialect() == Dialect::Postgres) {
        c.query("SELECT pg_advisory_xact_lock($1)", {kMigrationLockKey});
    }
}

using Key = std::pair<std::string, int>;  // (module, version)

// A SQLite migration that rebuilds a table the documented way (create the new one, copy, drop the
// old, rename) says so on a line of its own: it must run with foreign keys off, or dropping the old
// table would delete every child row through ON DELETE CASCADE. The keys are checked before commit.
constexpr std::string_view kRebuildsTables = "-- motorpool: rebuilds tables";

bool rebuilds_tables(const Migration& m, Dialect dialect) {
    return dialect == Dialect::Sqlite && m.sql.find(kRebuildsTables) != std::string::npos;
}

// Runs f in a transaction of its own; for a rebuilding SQLite migration, with foreign keys off
// around it and checked inside it.
template <typename F>
bool in_migration_transaction(Database& database, bool foreign_keys_off, F&& f) {
    if (!foreign_keys_off) {
        return database.with_transaction(std::forward<F>(f));
    }
    Lease lease = database.acquire_writer();
    lease->execute_script("PRAGMA foreign_keys=OFF");  // a no-op inside a transaction: set before it
    struct Restore {
        Connection& c;
        ~Restore() {
            try {
                c.execute_script("PRAGMA foreign_keys=ON");
            } catch (...) {
                spdlog::error("migrations: foreign keys could not be turned back on");
            }
        }
    } restore{*lease};
    lease->begin();
    try {
        const bool applied = f(*lease);
        if (!lease->query("PRAGMA foreign_key_check").empty()) {
            throw Error(Error::Kind::ForeignKeyViolation, "the rebuilt tables break a foreign key");
        }
        lease->commit();
        database.sync_committed();
        return applied;
    } catch (...) {
        try {
            lease->execute_script("ROLLBACK");
        } catch (...) {
        }
        throw;
    }
}

struct Applied {
    std::string name;
    std::string checksum;
    std::int64_t applied_at_ms;
};

// The release before module migrations numbered every file in one sequence (schema_migrations).
// Each of its versions, with the checksums of its files, and what it is now.
struct LegacyVersion {
    int version;
    const char* name;
    const char* sqlite_checksum;
    const char* postgres_checksum;
    std::vector<Key> now;
};

const std::vector<LegacyVersion>& legacy_versions() {
    static const std::vector<LegacyVersion> versions = {
        {1,
         "baseline",
         "b549d6411c11fab886cac2355513d8979bcaf587881bab810a218f4478db1778",
         "d3c0e8b1870728d9555c14d88f1c806bd2155e302fd7e3ea240cce459f06acbc",
         {{"db", 1}}},
        {2,
         "accounts",
         "e266348b50a09b3326531dd2390fa30d81a0cf791129008090ff881f0792f084",
         "2792ba8aefd58a950021e49a0852defbde6c1e98cce9ef9e10fe9976b1ebe97b",
         {{"auth", 1}, {"mail", 1}}},
        {3,
         "vehicles",
         "ffa1c100808e451606ab2a2f8d818997f511108b0a93a2c79ea85af0c124a98e",
         "ee7f22f3afb1d95c850fa87665ff9a1f637ffd78d88108420973d8b829ee3e19",
         {{"vehicles", 1}}},
        {4,
         "telemetry",
         "7e731e43203eb16c1787cd35f68ff2b75a17c622009d20e812e6967878639881",
         "a4dbc3ad6d0fe08b064418fe7bd094a3ee7140ef6d0922ea62ea76e8a37db7ef",
         {{"telemetry", 1}}},
        {5,
         "events",
         "9a27184651041629c532e95b9e4a0ef05c8fdb0c86c96dca105a250267890bf8",
         "388641755858b72d283d3c08a1e618c9e562158849be91105f2ca624e69b64f2",
         {{"db", 2}}},
        {6,
         "smartcar",
         "8c79a3d8d4f36865147824f6c74c36862463f1d79df567f6e371a2b71e1c929e",
         "2fc0686c6754dc69d7091d3bc1d18bb6e7976b305e5ddec598493a8938a8fb8d",
         {{"smartcar", 1}}},
        {7,
         "webhook_outcomes",
         "adaa9c8adbd25416adfe0985db3470b2cea9e2f96abc646c0809dba6ced93449",
         "599973dbb0c0a4aa4e2fc73813ee42a0c48819a1b45a5394ccc23bb234d32a31",
         {{"smartcar", 2}}},
        {8,
         "smartcar_sim",
         "f50e6e3bfa11db69b8b20b4acbb6ab6d37c6701a172ca9a89a3d1a973b89fe25",
         "1c94e9089e15dcd2b9d079d86dc4d5687f33eb0385fc068b993cd56057dbf4fb",
         {{"smartcar_sim", 1}}},
    };
    return versions;
}

bool table_exists(Connection& c, const char* table) {
    if (c.dialect() == Dialect::Sqlite) {
        return !c.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = $1", {std::string(table)}).empty();
    }
    return c.query("SELECT to_regclass($1) IS NOT NULL", {std::string(table)}).front().boolean(0);
}

std::string label(const std::string& module, int version, const std::string& name) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d", version);
    return module + "/" + std::string(buf) + "_" + name;
}

const Migration* find(const std::vector<Migration>& migrations, const Key& key) {
    auto it = std::find_if(migrations.begin(), migrations.end(), [&](const Migration& m) {
        return m.module == key.first && m.version == key.second;
    });
    return it == migrations.end() ? nullptr : &*it;
}

// What the legacy record says is applied, as (module, version) rows with today's names and
// checksums. Throws when a legacy file was changed after it was applied, or is unknown here.
std::map<Key, Applied> translate_legacy(Connection& c, const std::vector<Migration>& migrations) {
    std::map<Key, Applied> out;
    auto rows = c.query("SELECT version, name, checksum, applied_at_ms FROM schema_migrations ORDER BY version");
    for (std::size_t i = 0; i < rows.size(); ++i) {
        auto row = rows.row(i);
        const int version = static_cast<int>(row.int64(0));
        const std::string name = row.text(1);
        const auto& known = legacy_versions();
        auto legacy = std::find_if(known.begin(), known.end(), [&](const auto& l) { return l.version == version; });
        if (legacy == known.end()) {
            throw MigrationError("the database has migration " + label("(global)", version, name) +
                                 ", which this binary does not know: it was migrated by a newer motorpool");
        }
        const char* expected = c.dialect() == Dialect::Sqlite ? legacy->sqlite_checksum : legacy->postgres_checksum;
        if (row.text(2) != expected) {
            throw MigrationError("migration " + label("(global)", version, name) +
                                 " was changed after it was applied; refusing to start. Add a new migration "
                                 "instead of editing an applied one.");
        }
        for (const Key& key : legacy->now) {
            const Migration* m = find(migrations, key);
            if (m == nullptr) {
                throw MigrationError("migration " + label(key.first, key.second, name) + " is not in this binary");
            }
            out[key] = {m->name, core::sha256_hex(m->sql), row.int64(3)};
        }
    }
    return out;
}

std::map<Key, Applied> read_applied(Connection& c, const std::vector<Migration>& migrations) {
    std::map<Key, Applied> applied;
    if (table_exists(c, "module_migrations")) {
        auto rows = c.query(
            "SELECT module, version, name, checksum, applied_at_ms FROM module_migrations ORDER BY module, version");
        for (std::size_t i = 0; i < rows.size(); ++i) {
            auto row = rows.row(i);
            applied[{row.text(0), static_cast<int>(row.int64(1))}] = {row.text(2), row.text(3), row.int64(4)};
        }
    }
    if (table_exists(c, "schema_migrations")) {
        for (auto& [key, row] : translate_legacy(c, migrations)) {
            applied.emplace(key, std::move(row));
        }
    }
    return applied;
}

void verify(const std::map<Key, Applied>& applied, const std::vector<Migration>& migrations) {
    for (const auto& [key, row] : applied) {
        const Migration* m = find(migrations, key);
        if (m == nullptr) {
            throw MigrationError("the database has migration " + label(key.first, key.second, row.name) +
                                 ", which this binary does not know: it was migrated by a newer motorpool");
        }
        std::string checksum = core::sha256_hex(m->sql);
        if (checksum != row.checksum) {
            throw MigrationError("migration " + label(key.first, key.second, row.name) +
                                 " was changed after it was applied (checksum " + row.checksum.substr(0, 12) +
                                 " recorded, " + checksum.substr(0, 12) +
                                 " now); refusing to start. Add a new migration instead of editing an applied one.");
        }
    }
}

}  // namespace

std::vector<Migration> migrations_from_files(std::string_view module,
                                             const std::pair<std::string_view, std::string_view>* files,
                                             std::size_t count,
                                             Dialect dialect) {
    const std::string prefix = dialect == Dialect::Sqlite ? "sqlite/" : "postgres/";
    std::vector<Migration> out;
    for (std::size_t i = 0; i < count; ++i) {
        std::string_view path = files[i].first;
        if (path.substr(0, prefix.size()) != prefix) {
            continue;
        }
        std::string file(path.substr(prefix.size()));  // 0001_baseline.sql
        auto underscore = file.find('_');
        auto dot = file.rfind(".sql");
        if (underscore == std::string::npos || dot == std::string::npos) {
            continue;
        }
        out.push_back({std::string(module),
                       std::stoi(file.substr(0, underscore)),
                       file.substr(underscore + 1, dot - underscore - 1),
                       std::string(files[i].second)});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    return out;
}

int migrate(Database& database, const std::vector<Migration>& migrations) {
    // The record, created once; a legacy record is translated into it (and dropped) in the same
    // transaction, under the lock, so two nodes starting at once translate it once.
    database.with_transaction([&](Connection& c) {
        lock_if_postgres(c);
        c.execute_script(
            "CREATE TABLE IF NOT EXISTS module_migrations (module TEXT NOT NULL, version INTEGER NOT NULL, "
            "name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at_ms BIGINT NOT NULL, "
            "PRIMARY KEY (module, version))");
        if (table_exists(c, "schema_migrations")) {
            const auto legacy = translate_legacy(c, migrations);
            for (const auto& [key, row] : legacy) {
                c.execute(
                    "INSERT INTO module_migrations (module, version, name, checksum, applied_at_ms) VALUES ($1, $2, "
                    "$3, $4, $5) ON CONFLICT (module, version) DO NOTHING",
                    {key.first, static_cast<std::int64_t>(key.second), row.name, row.checksum, row.applied_at_ms});
            }
            c.execute_script("DROP TABLE schema_migrations");
            spdlog::info("migrations: the single-sequence record of {} migration(s) now names their modules",
                         legacy.size());
        }
    });
    verify(database.with_reader([&](Connection& c) { return read_applied(c, migrations); }), migrations);

    int count = 0;
    for (const auto& migration : migrations) {
        const auto started = std::chrono::steady_clock::now();
        bool applied_now = false;
        try {
            applied_now =
                in_migration_transaction(database, rebuilds_tables(migration, database.dialect()), [&](Connection& c) {
                    lock_if_postgres(c);
                    // Another node may have applied it while we waited for the lock.
                    if (!c.query("SELECT 1 FROM module_migrations WHERE module = $1 AND version = $2",
                                 {migration.module, static_cast<std::int64_t>(migration.version)})
                             .empty()) {
                        return false;
                    }
                    c.execute_script(migration.sql);
                    c.execute(
                        "INSERT INTO module_migrations (module, version, name, checksum, applied_at_ms) VALUES ($1, "
                        "$2, "
                        "$3, $4, $5)",
                        {migration.module,
                         static_cast<std::int64_t>(migration.version),
                         migration.name,
                         core::sha256_hex(migration.sql),
                         core::now_ms()});  // an operator's record: real time
                    return true;
                });
        } catch (const Error& e) {
            if (e.kind() == Error::Kind::Unavailable) {
                throw;  // the database, not the migration, is the problem
            }
            // Its transaction was rolled back: nothing of it is applied or recorded.
            throw MigrationError("migration " + label(migration.module, migration.version, migration.name) +
                                 " failed and was rolled back: " + e.what());
        }
        if (applied_now) {
            ++count;
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
            spdlog::info("applied migration {} in {} ms",
                         label(migration.module, migration.version, migration.name),
                         ms.count());
        }
    }
    return count;
}

std::vector<MigrationStatus> migration_status(Database& database, const std::vector<Migration>& migrations) {
    auto applied = database.with_reader([&](Connection& c) { return read_applied(c, migrations); });
    std::vector<MigrationStatus> out;
    for (const auto& m : migrations) {
        MigrationStatus s{m.module, m.version, m.name, false, std::nullopt, true};
        if (auto it = applied.find({m.module, m.version}); it != applied.end()) {
            s.applied = true;
            s.applied_at_ms = it->second.applied_at_ms;
            s.checksum_matches = it->second.checksum == core::sha256_hex(m.sql);
        }
        out.push_back(s);
    }
    return out;
}

}  // namespace motorpool::db
