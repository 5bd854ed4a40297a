#pragma once
// The db module's settings: the database URL, its pool, durability and the migrations policy.

#include <string>

#include "core/config.hpp"
#include "db/db.hpp"

namespace motorpool::db {

struct Settings {
    Options options;
    bool auto_migrate = true;
    std::string listen_url;  // PostgreSQL for LISTEN (the relay); empty: the database URL
};

/// Declares and reads DATABASE_URL and the MOTORPOOL_DB_*, _SQLITE_*, _PG_* variables. A pool size
/// of 0 is left for the App to match to the worker threads.
Settings load_settings(core::Settings& settings);

/// Where development secrets are kept for a database: beside a SQLite file, else in the working
/// directory.
std::string default_secrets_file(const std::string& url);

}  // namespace motorpool::db
