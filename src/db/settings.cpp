#include "db/settings.hpp"

#include <cctype>

namespace motorpool::db {

Settings load_settings(core::Settings& s) {
    Settings out;
    Options& o = out.options;
    s.module("db");
    o.url = s.url("DATABASE_URL", o.url, "sqlite:///file.db (relative), sqlite:////abs.db or postgresql://...");
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
