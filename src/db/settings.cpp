#include "db/settings.hpp"

#include <cctype>

#include "core/text.hpp"

namespace motorpool::db {

Settings load_settings(core::Settings& s) {
    Settings out;
    Options& o = out.options;
    s.module("db");
    // The membership service's alternative: USE_POSTGRES with DB_NAME, DB_USER, DB_PASSWORD,
    // DB_HOST, DB_PORT, used when DATABASE_URL is not set.
    const bool use_postgres = s.boolean("USE_POSTGRES", false, "Build the database URL from DB_* (no DATABASE_URL)");
    const std::string db_name = s.string("DB_NAME", "", "USE_POSTGRES: the database");
    const std::string db_user = s.string("DB_USER", "", "USE_POSTGRES: the user");
    const std::string db_password = s.secret("DB_PASSWORD", "USE_POSTGRES: the password", {}, true);
    const std::string db_host = s.string("DB_HOST", "localhost", "USE_POSTGRES: the host");
    const auto db_port = s.integer("DB_PORT", 5432, 1, 65535, "USE_POSTGRES: the port");
    std::string fallback = o.url;
    if (use_postgres) {
        if (db_name.empty()) {
            s.fail("DB_NAME", "must be set with USE_POSTGRES");
        }
        // Appended piece by piece (g++ 12 -O3 warns, falsely, on "x" + std::string chains here).
        fallback = "postgresql://";
        fallback += core::percent_encode(db_user);
        if (!db_password.empty()) {
            fallback += ':';
            fallback += core::percent_encode(db_password);
        }
        if (!db_user.empty() || !db_password.empty()) {
            fallback += '@';
        }
        fallback += db_host;
        fallback += ':';
        fallback += std::to_string(db_port);
        fallback += '/';
        fallback += core::percent_encode(db_name);
    }
    o.url = s.url("DATABASE_URL",
                  fallback,
                  "sqlite:///file.db (relative), sqlite:////abs.db or postgresql://... (a +driver suffix such as "
                  "postgresql+asyncpg:// is accepted)");
    if (o.url.empty()) {
        s.fail("DATABASE_URL", "must not be empty");
    }
    o.pool_size = static_cast<int>(
        s.integer("MOTORPOOL_DB_POOL_SIZE", 0, 0, 1024, "Pooled connections; 0: as many as worker threads"));
    o.pg_prepared_statements = s.boolean(
        "MOTORPOOL_PG_PREPARED_STATEMENTS", true, "Prepared statements on PostgreSQL (false behind PgBouncer)");
    std::string synchronous = s.string(
        "MOTORPOOL_SQLITE_SYNCHRONOUS", "FULL", "FULL (a commit survives power loss) or NORMAL (docs/decisions.md)");
    for (char& ch : synchronous) {
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    if (synchronous != "FULL" && synchronous != "NORMAL") {
        s.fail("MOTORPOOL_SQLITE_SYNCHRONOUS", "must be FULL or NORMAL");
    }
    o.sqlite_synchronous_full = synchronous != "NORMAL";
    o.sqlite_gather_wal =
        s.boolean("MOTORPOOL_SQLITE_GATHER_WAL", true, "Write each SQLite WAL commit with one system call");
    o.group_commit_max_batch = static_cast<int>(s.integer("MOTORPOOL_GROUP_COMMIT_MAX_BATCH",
                                                          o.group_commit_max_batch,
                                                          1,
                                                          100'000,
                                                          "Writes committed together in one transaction at most"));
    out.auto_migrate =
        s.boolean("MOTORPOOL_AUTO_MIGRATE", true, "Apply pending migrations at start (false: motorpool migrate)");
    out.listen_url =
        s.url("MOTORPOOL_PG_LISTEN_URL", "", "Direct PostgreSQL for LISTEN when DATABASE_URL goes through PgBouncer");
    return out;
}

std::string default_secrets_file(const std::string& url) {
    constexpr std::string_view kSqlitePrefix = "sqlite:///";
    if (url.rfind(kSqlitePrefix, 0) == 0) {
        std::string path = url.substr(kSqlitePrefix.size());
        if (auto q = path.find('?'); q != std::string::npos) {
            path.resize(q);
        }
        if (!path.empty() && path != ":memory:") {
            return path + ".secrets";
        }
    }
    return "motorpool.secrets";
}

}  // namespace motorpool::db
