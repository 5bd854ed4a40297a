#pragma once
// Runtime configuration: environment variables, with a `.env` file as fallback.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace motorpool::core {

/// A configuration problem found at startup; the message names the variable.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Where a variable's value is looked up: the process environment first, then `.env`.
class EnvSource {
public:
    using Lookup = std::function<std::optional<std::string>(const std::string&)>;

    /// Process environment plus the `.env` file at `dotenv_path` (missing file: ignored).
    static EnvSource from_process(const std::string& dotenv_path = ".env");
    /// Fixed values only (tests).
    static EnvSource from_map(std::map<std::string, std::string> values);

    std::optional<std::string> get(const std::string& name) const;
    /// "env", ".env" or "default" for the report of `motorpool config`.
    std::string origin(const std::string& name) const;

private:
    Lookup process_;
    std::map<std::string, std::string> file_;
};

/// Parses `.env` text: KEY=VALUE lines, `#` comments, optional `export `, single or double quotes.
std::map<std::string, std::string> parse_dotenv(const std::string& text);

/// Parses "250ms", "30s", "5m", "1h" or a bare number of seconds.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

struct Config {
    std::string env = "development";  // MOTORPOOL_ENV: development | production | test
    std::string host = "0.0.0.0";     // MOTORPOOL_HOST
    std::uint16_t port = 8000;        // PORT
    std::string database_url = "sqlite:///motorpool.db";
    std::string secret_key;                             // SECRET_KEY: signs access tokens
    std::string encryption_key;                         // MOTORPOOL_ENCRYPTION_KEY: base64 of 32 bytes
    std::vector<std::string> encryption_keys_previous;  // MOTORPOOL_ENCRYPTION_KEYS_PREVIOUS: comma separated
    std::string secrets_file;                           // MOTORPOOL_SECRETS_FILE: where development secrets are kept
    std::string smartcar_client_id;
    std::string smartcar_client_secret;
    std::string smartcar_redirect_uri;
    std::string smartcar_management_token;
    std::string smartcar_mode = "simulated";     // simulated | test | live
    std::string smartcar_api_version = "2";      // SMARTCAR_API_VERSION: 2 | 3
    std::string smartcar_api_origin;             // SMARTCAR_API_ORIGIN (default by mode)
    std::string smartcar_auth_origin;            // SMARTCAR_AUTH_ORIGIN
    std::string smartcar_connect_origin;         // SMARTCAR_CONNECT_ORIGIN
    std::string smartcar_api_v3_origin;          // SMARTCAR_API_V3_ORIGIN
    std::string smartcar_management_api_origin;  // SMARTCAR_MANAGEMENT_API_ORIGIN
    std::string smartcar_scopes =                // SMARTCAR_SCOPES, space separated
        "read_vehicle_info read_vin read_location read_odometer read_battery read_charge control_charge";
    std::chrono::milliseconds smartcar_poll_interval{30 * 60'000};  // MOTORPOOL_SMARTCAR_POLL_INTERVAL
    std::string smartcar_webhook_id;       // SMARTCAR_WEBHOOK_ID: vehicles are subscribed at connect
    bool webhook_processing = true;        // MOTORPOOL_WEBHOOK_PROCESSING: false logs deliveries only
    std::string smartcar_sim_faults;       // SMARTCAR_SIM_FAULTS: the simulator's initial faults (JSON)
    std::string smartcar_sim_webhook_url;  // SMARTCAR_SIM_WEBHOOK_URL (default: our /webhooks/smartcar; off)
    std::chrono::milliseconds smartcar_sim_webhook_interval{5 * 60'000};  // SMARTCAR_SIM_WEBHOOK_INTERVAL
    std::chrono::milliseconds smartcar_sim_webhook_retry{25'000};  // SMARTCAR_SIM_WEBHOOK_RETRY: first retry delay
    std::vector<std::string> cors_origins;                         // CORS_ORIGINS, comma separated; "*" allows any
    std::string frontend_url;                                      // FRONTEND_URL
    std::string smtp_url;                           // MOTORPOOL_SMTP_URL: smtp(s)://[user:pass@]host:port
    std::string mail_from = "motorpool@localhost";  // MOTORPOOL_MAIL_FROM
    std::string pg_listen_url;         // MOTORPOOL_PG_LISTEN_URL: direct PostgreSQL for LISTEN (default DATABASE_URL)
    int ws_max_sockets_per_user = 20;  // MOTORPOOL_WS_MAX_SOCKETS_PER_USER
    std::chrono::milliseconds ws_idle_timeout{60'000};      // MOTORPOOL_WS_IDLE_TIMEOUT: silent peers are dropped
    int telemetry_retention_days = 0;                       // MOTORPOOL_TELEMETRY_RETENTION_DAYS: 0 keeps all
    std::string log_level = "info";                         // MOTORPOOL_LOG_LEVEL
    std::string log_format = "text";                        // MOTORPOOL_LOG_FORMAT: text | json
    int io_threads = 0;                                     // MOTORPOOL_IO_THREADS, 0: one per core
    int worker_threads = 0;                                 // MOTORPOOL_WORKER_THREADS, 0: 4 per core, at least 8
    int worker_queue_limit = 4096;                          // MOTORPOOL_WORKER_QUEUE_LIMIT: pending jobs before 503
    int db_pool_size = 0;                                   // MOTORPOOL_DB_POOL_SIZE, 0: as many as worker threads
    std::string sqlite_synchronous = "FULL";                // MOTORPOOL_SQLITE_SYNCHRONOUS: FULL | NORMAL
    bool sqlite_gather_wal = true;                          // MOTORPOOL_SQLITE_GATHER_WAL
    bool pg_prepared_statements = true;                     // MOTORPOOL_PG_PREPARED_STATEMENTS (false behind PgBouncer)
    int group_commit_max_batch = 256;                       // MOTORPOOL_GROUP_COMMIT_MAX_BATCH
    int max_connections = 10000;                            // MOTORPOOL_MAX_CONNECTIONS
    std::size_t max_header_bytes = std::size_t{16} * 1024;  // MOTORPOOL_MAX_HEADER_BYTES
    std::size_t max_body_bytes = std::size_t{1024} * 1024;  // MOTORPOOL_MAX_BODY_BYTES: default per route
    std::chrono::milliseconds read_timeout{30'000};         // MOTORPOOL_READ_TIMEOUT: whole request
    std::chrono::milliseconds idle_timeout{75'000};         // MOTORPOOL_IDLE_TIMEOUT: between requests
    std::chrono::milliseconds shutdown_grace{10'000};       // MOTORPOOL_SHUTDOWN_GRACE
    bool auto_migrate = true;                               // MOTORPOOL_AUTO_MIGRATE
    std::chrono::milliseconds access_token_ttl{15 * 60'000};  // MOTORPOOL_ACCESS_TOKEN_TTL

    bool production() const { return env == "production"; }

    /// Reads every variable; throws ConfigError naming each bad value.
    static Config load(const EnvSource& source);

    /// Fills missing SECRET_KEY / MOTORPOOL_ENCRYPTION_KEY. Development: read from, or generated
    /// once into, the secrets file beside the database (with a warning). Production: throws
    /// ConfigError naming what is missing.
    void ensure_secrets();
    /// The variables ensure_secrets() read from (or generated into) the secrets file.
    std::vector<std::string> from_secrets_file;

    /// Default secrets file for the configured database (beside a SQLite file).
    std::string default_secrets_file() const;

    struct Entry {
        std::string name;
        std::string value;  // masked for secrets
        std::string origin;
    };
    /// Effective configuration for `motorpool config`, secrets masked; a value left empty and
    /// derived at run time (the redirect URI, Smartcar's origins) is shown as derived.
    std::vector<Entry> describe(const EnvSource& source) const;
};

/// "postgresql://u:secret@h/db" -> "postgresql://u:****@h/db"; also masks password=... parameters.
std::string mask_url_password(const std::string& url);

}  // namespace motorpool::core
