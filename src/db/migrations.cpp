// Numbered SQL migrations per dialect, embedded in the binary, applied in order, one transaction each,
// with a checksum per applied file so that an edited migration is refused rather than silently skipped.

#include <algorithm>
#include <chrono>
#include <map>

#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
#include "core/time.hpp"
#include "db/db.hpp"

namespace motorpool::db {

namespace generated {
// Names chosen by cmake/embed_files_script.cmake.
const std::pair<std::string_view, std::string_view>* kMigrationFiles_data();  // NOLINT(readability-identifier-naming)
std::size_t kMigrationFiles_count();                                          // NOLINT(readability-identifier-naming)
}  // namespace generated

namespace {

// Serialises migrations across nodes; transaction-scoped so it also works through PgBouncer.
constexpr std::int64_t kMigrationLockKey = 0x6D6F746F72706F6F;  // "motorpoo"

void lock_if_postgres(Connection& c) {
    if (c.dialect() == Dialect::Postgres) {
        c.query("SELECT pg_advisory_xact_lock($1)", {kMigrationLockKey});
    }
}

struct Applied {
    std::string name;
    std::string checksum;
    std::int64_t applied_at_ms;
};

bool table_exists(Connection& c) {
    if (c.dialect() == Dialect::Sqlite) {
        return !c.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").empty();
    }
    return c.query("SELECT to_regclass('schema_migrations') IS NOT NULL").front().boolean(0);
}

std::map<int, Applied> read_applied(Connection& c) {
    std::map<int, Applied> applied;
    if (!table_exists(c)) {
        return applied;
    }
    auto rows = c.query("SELECT version, name, checksum, applied_at_ms FROM schema_migrations ORDER BY version");
    for (std::size_t i = 0; i < rows.size(); ++i) {
        auto row = rows.row(i);
        applied[static_cast<int>(row.int64(0))] = {row.text(1), row.text(2), row.int64(3)};
    }
    return applied;
}

std::string label(int version, const std::string& name) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d", version);
    return std::string(buf) + "_" + name;
}

void verify(const std::map<int, Applied>& applied, const std::vector<Migration>& migrations) {
    for (const auto& [version, row] : applied) {
        auto it =
            std::find_if(migrations.begin(), migrations.end(), [v = version](const auto& m) { return m.version == v; });
        if (it == migrations.end()) {
            throw MigrationError("the database has migration " + label(version, row.name) +
                                 ", which this binary does not know: it was migrated by a newer motorpool");
        }
        std::string checksum = core::sha256_hex(it->sql);
        if (checksum != row.checksum) {
            throw MigrationError("migration " + label(version, row.name) +
                                 " was changed after it was applied (checksum " + row.checksum.substr(0, 12) +
                                 " recorded, " + checksum.substr(0, 12) +
                                 " now); refusing to start. Add a new migration instead of editing an applied one.");
        }
    }
}

}  // namespace

std::vector<Migration> embedded_migrations(Dialect dialect) {
    const std::string prefix = dialect == Dialect::Sqlite ? "sqlite/" : "postgres/";
    std::vector<Migration> out;
    const auto* files = generated::kMigrationFiles_data();
    for (std::size_t i = 0; i < generated::kMigrationFiles_count(); ++i) {
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
        out.push_back({std::stoi(file.substr(0, underscore)),
                       file.substr(underscore + 1, dot - underscore - 1),
                       std::string(files[i].second)});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.version < b.version; });
    return out;
}

int migrate(Database& database, const std::vector<Migration>& migrations) {
    database.with_transaction([](Connection& c) {
        lock_if_postgres(c);
        c.execute_script(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "checksum TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)");
    });
    verify(database.with_reader([](Connection& c) { return read_applied(c); }), migrations);

    int count = 0;
    for (const auto& migration : migrations) {
        const auto started = std::chrono::steady_clock::now();
        bool applied_now = false;
        try {
            applied_now = database.with_transaction([&](Connection& c) {
                lock_if_postgres(c);
                // Another node may have applied it while we waited for the lock.
                if (!c.query("SELECT 1 FROM schema_migrations WHERE version = $1",
                             {static_cast<std::int64_t>(migration.version)})
                         .empty()) {
                    return false;
                }
                c.execute_script(migration.sql);
                c.execute(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at_ms) VALUES ($1, $2, $3, $4)",
                    {static_cast<std::int64_t>(migration.version),
                     migration.name,
                     core::sha256_hex(migration.sql),
                     core::now_ms()});
                return true;
            });
        } catch (const Error& e) {
            if (e.kind() == Error::Kind::Unavailable) {
                throw;  // the database, not the migration, is the problem
            }
            // Its transaction was rolled back: nothing of it is applied or recorded.
            throw MigrationError("migration " + label(migration.version, migration.name) +
                                 " failed and was rolled back: " + e.what());
        }
        if (applied_now) {
            ++count;
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
            spdlog::info("applied migration {} in {} ms", label(migration.version, migration.name), ms.count());
        }
    }
    return count;
}

std::vector<MigrationStatus> migration_status(Database& database, const std::vector<Migration>& migrations) {
    auto applied = database.with_reader([](Connection& c) { return read_applied(c); });
    std::vector<MigrationStatus> out;
    for (const auto& m : migrations) {
        MigrationStatus s{m.version, m.name, false, std::nullopt, true};
        if (auto it = applied.find(m.version); it != applied.end()) {
            s.applied = true;
            s.applied_at_ms = it->second.applied_at_ms;
            s.checksum_matches = it->second.checksum == core::sha256_hex(m.sql);
        }
        out.push_back(s);
    }
    return out;
}

}  // namespace motorpool::db
