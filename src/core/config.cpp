#include "core/config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "core/crypto.hpp"

namespace motorpool::core {
namespace {

std::string trim(std::string s) {
    auto not_space = [](unsigned char c) { return !std::isspace(c); };
    s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
    s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
    return s;
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        item = trim(item);
        if (!item.empty()) {
            out.push_back(item);
        }
    }
    return out;
}

template <typename Int>
std::optional<Int> parse_int(const std::string& text) {
    Int value{};
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size()) {
        return std::nullopt;
    }
    return value;
}

std::optional<bool> parse_bool(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
    if (text == "1" || text == "true" || text == "yes" || text == "on") {
        return true;
    }
    if (text == "0" || text == "false" || text == "no" || text == "off") {
        return false;
    }
    return std::nullopt;
}

// Reads each variable into its field and gathers every problem before failing once.
class Reader {
public:
    explicit Reader(const EnvSource& source) : source_(source) {}

    void string(const char* name, std::string& out) {
        if (auto v = source_.get(name)) {
            out = *v;
        }
    }
    void one_of(const char* name, std::string& out, std::initializer_list<const char*> allowed) {
        string(name, out);
        for (const char* a : allowed) {
            if (out == a) {
                return;
            }
        }
        std::string list;
        for (const char* a : allowed) {
            list += (list.empty() ? "" : ", ") + std::string(a);
        }
        fail(name, "must be one of " + list);
    }
    template <typename Int>
    void integer(const char* name, Int& out, long long min, long long max) {
        auto v = source_.get(name);
        if (!v) {
            return;
        }
        auto parsed = parse_int<long long>(trim(*v));
        if (!parsed || *parsed < min || *parsed > max) {
            fail(name, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
            return;
        }
        out = static_cast<Int>(*parsed);
    }
    void boolean(const char* name, bool& out) {
        auto v = source_.get(name);
        if (!v) {
            return;
        }
        if (auto parsed = parse_bool(trim(*v))) {
            out = *parsed;
        } else {
            fail(name, "must be true or false");
        }
    }
    void duration(const char* name, std::chrono::milliseconds& out) {
        auto v = source_.get(name);
        if (!v) {
            return;
        }
        auto parsed = parse_duration(trim(*v));
        if (!parsed || parsed->count() <= 0) {
            fail(name, "must be a positive duration such as 500ms, 30s or 5m");
            return;
        }
        out = *parsed;
    }
    void fail(const char* name, const std::string& message) { problems_ += std::string(name) + " " + message + "; "; }
    void finish() const {
        if (!problems_.empty()) {
            throw ConfigError("invalid configuration: " + problems_.substr(0, problems_.size() - 2));
        }
    }

private:
    const EnvSource& source_;
    std::string problems_;
};

bool is_secret(const std::string& name) {
    return name == "SECRET_KEY" || name == "MOTORPOOL_ENCRYPTION_KEY" || name == "MOTORPOOL_ENCRYPTION_KEYS_PREVIOUS" ||
           name == "SMARTCAR_CLIENT_SECRET" || name == "SMARTCAR_MANAGEMENT_TOKEN";
}

std::string mask(const std::string& value) {
    if (value.empty()) {
        return "";
    }
    return "**** (" + std::to_string(value.size()) + " chars)";
}

}  // namespace

std::map<std::string, std::string> parse_dotenv(const std::string& text) {
    std::map<std::string, std::string> out;
    std::stringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        line = trim(line);
        if (line.empty() || line[0] == '#') {
            continue;
        }
        if (line.rfind("export ", 0) == 0) {
            line = trim(line.substr(7));
        }
        auto eq = line.find('=');
        if (eq == std::string::npos || eq == 0) {
            continue;
        }
        std::string key = trim(line.substr(0, eq));
        std::string value = trim(line.substr(eq + 1));
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
            value = value.substr(1, value.size() - 2);
        } else if (auto hash = value.find(" #"); hash != std::string::npos) {
            value = trim(value.substr(0, hash));  // trailing comment on an unquoted value
        }
        out[key] = value;
    }
    return out;
}

std::optional<std::chrono::milliseconds> parse_duration(const std::string& text) {
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) {
        ++digits;
    }
    if (digits == 0 || digits > 12) {
        return std::nullopt;
    }
    auto number = parse_int<long long>(text.substr(0, digits));
    std::string unit = text.substr(digits);
    if (!number) {
        return std::nullopt;
    }
    if (unit == "ms") {
        return std::chrono::milliseconds(*number);
    }
    if (unit.empty() || unit == "s") {
        return std::chrono::milliseconds(*number * 1000);
    }
    if (unit == "m") {
        return std::chrono::milliseconds(*number * 60'000);
    }
    if (unit == "h") {
        return std::chrono::milliseconds(*number * 3'600'000);
    }
    return std::nullopt;
}

EnvSource EnvSource::from_process(const std::string& dotenv_path) {
    EnvSource source;
    source.process_ = [](const std::string& name) -> std::optional<std::string> {
        // getenv is safe here: configuration is read once at startup, before any thread exists.
        if (const char* v = std::getenv(name.c_str())) {  // NOLINT(concurrency-mt-unsafe)
            return std::string(v);
        }
        return std::nullopt;
    };
    std::ifstream file(dotenv_path);
    if (file) {
        std::stringstream buffer;
        buffer << file.rdbuf();
        source.file_ = parse_dotenv(buffer.str());
    }
    return source;
}

EnvSource EnvSource::from_map(std::map<std::string, std::string> values) {
    EnvSource source;
    source.process_ = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
    source.file_ = std::move(values);
    return source;
}

std::optional<std::string> EnvSource::get(const std::string& name) const {
    if (process_) {
        if (auto v = process_(name)) {
            return v;
        }
    }
    if (auto it = file_.find(name); it != file_.end()) {
        return it->second;
    }
    return std::nullopt;
}

std::string EnvSource::origin(const std::string& name) const {
    if (process_ && process_(name)) {
        return "env";
    }
    if (file_.count(name) != 0) {
        return ".env";
    }
    return "default";
}

Config Config::load(const EnvSource& source) {
    Config c;
    Reader r(source);
    r.one_of("MOTORPOOL_ENV", c.env, {"development", "production", "test"});
    r.string("MOTORPOOL_HOST", c.host);
    r.integer("PORT", c.port, 0, 65535);
    r.string("DATABASE_URL", c.database_url);
    r.string("SECRET_KEY", c.secret_key);
    r.string("MOTORPOOL_ENCRYPTION_KEY", c.encryption_key);
    if (auto v = source.get("MOTORPOOL_ENCRYPTION_KEYS_PREVIOUS")) {
        c.encryption_keys_previous = split_list(*v);
    }
    r.string("MOTORPOOL_SECRETS_FILE", c.secrets_file);
    r.string("SMARTCAR_CLIENT_ID", c.smartcar_client_id);
    r.string("SMARTCAR_CLIENT_SECRET", c.smartcar_client_secret);
    r.string("SMARTCAR_REDIRECT_URI", c.smartcar_redirect_uri);
    r.string("SMARTCAR_MANAGEMENT_TOKEN", c.smartcar_management_token);
    r.one_of("SMARTCAR_MODE", c.smartcar_mode, {"simulated", "test", "live"});
    r.one_of("SMARTCAR_API_VERSION", c.smartcar_api_version, {"2", "3"});
    r.string("SMARTCAR_API_ORIGIN", c.smartcar_api_origin);
    r.string("SMARTCAR_AUTH_ORIGIN", c.smartcar_auth_origin);
    r.string("SMARTCAR_CONNECT_ORIGIN", c.smartcar_connect_origin);
    r.string("SMARTCAR_API_V3_ORIGIN", c.smartcar_api_v3_origin);
    r.string("SMARTCAR_MANAGEMENT_API_ORIGIN", c.smartcar_management_api_origin);
    r.string("SMARTCAR_SCOPES", c.smartcar_scopes);
    r.duration("MOTORPOOL_SMARTCAR_POLL_INTERVAL", c.smartcar_poll_interval);
    if (c.smartcar_poll_interval < std::chrono::seconds(1)) {
        r.fail("MOTORPOOL_SMARTCAR_POLL_INTERVAL", "must be at least 1s");
    }
    r.string("SMARTCAR_SIM_FAULTS", c.smartcar_sim_faults);
    r.string("SMARTCAR_WEBHOOK_ID", c.smartcar_webhook_id);
    r.string("SMARTCAR_SIM_WEBHOOK_URL", c.smartcar_sim_webhook_url);
    r.duration("SMARTCAR_SIM_WEBHOOK_INTERVAL", c.smartcar_sim_webhook_interval);
    r.duration("SMARTCAR_SIM_WEBHOOK_RETRY", c.smartcar_sim_webhook_retry);
    r.boolean("MOTORPOOL_WEBHOOK_PROCESSING", c.webhook_processing);
    if (auto v = source.get("CORS_ORIGINS")) {
        c.cors_origins = split_list(*v);
    }
    r.string("FRONTEND_URL", c.frontend_url);
    r.string("MOTORPOOL_SMTP_URL", c.smtp_url);
    r.string("MOTORPOOL_MAIL_FROM", c.mail_from);
    r.integer("MOTORPOOL_TELEMETRY_RETENTION_DAYS", c.telemetry_retention_days, 0, 36500);
    r.integer("MOTORPOOL_WS_MAX_SOCKETS_PER_USER", c.ws_max_sockets_per_user, 1, 1'000'000);
    r.duration("MOTORPOOL_WS_IDLE_TIMEOUT", c.ws_idle_timeout);
    if (c.ws_idle_timeout < std::chrono::seconds(1) || c.ws_idle_timeout > std::chrono::hours(1) ||
        c.ws_idle_timeout.count() % 1000 != 0) {
        r.fail("MOTORPOOL_WS_IDLE_TIMEOUT", "must be whole seconds between 1s and 1h");
    }
    r.string("MOTORPOOL_PG_LISTEN_URL", c.pg_listen_url);
    r.one_of("MOTORPOOL_LOG_LEVEL", c.log_level, {"trace", "debug", "info", "warn", "error", "critical", "off"});
    r.one_of("MOTORPOOL_LOG_FORMAT", c.log_format, {"text", "json"});
    r.integer("MOTORPOOL_IO_THREADS", c.io_threads, 0, 256);
    r.integer("MOTORPOOL_WORKER_THREADS", c.worker_threads, 0, 1024);
    r.integer("MOTORPOOL_WORKER_QUEUE_LIMIT", c.worker_queue_limit, 1, 1'000'000);
    r.integer("MOTORPOOL_DB_POOL_SIZE", c.db_pool_size, 0, 1024);
    r.boolean("MOTORPOOL_PG_PREPARED_STATEMENTS", c.pg_prepared_statements);
    r.string("MOTORPOOL_SQLITE_SYNCHRONOUS", c.sqlite_synchronous);
    for (char& ch : c.sqlite_synchronous) {
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    }
    if (c.sqlite_synchronous != "FULL" && c.sqlite_synchronous != "NORMAL") {
        r.fail("MOTORPOOL_SQLITE_SYNCHRONOUS", "must be FULL or NORMAL");
    }
    r.boolean("MOTORPOOL_SQLITE_GATHER_WAL", c.sqlite_gather_wal);
    r.integer("MOTORPOOL_GROUP_COMMIT_MAX_BATCH", c.group_commit_max_batch, 1, 100'000);
    r.integer("MOTORPOOL_MAX_CONNECTIONS", c.max_connections, 1, 1'000'000);
    r.integer("MOTORPOOL_MAX_HEADER_BYTES", c.max_header_bytes, 1024, 1024LL * 1024);
    r.integer("MOTORPOOL_MAX_BODY_BYTES", c.max_body_bytes, 1024, 1024LL * 1024 * 1024);
    r.duration("MOTORPOOL_READ_TIMEOUT", c.read_timeout);
    r.duration("MOTORPOOL_IDLE_TIMEOUT", c.idle_timeout);
    r.duration("MOTORPOOL_SHUTDOWN_GRACE", c.shutdown_grace);
    r.boolean("MOTORPOOL_AUTO_MIGRATE", c.auto_migrate);
    r.duration("MOTORPOOL_ACCESS_TOKEN_TTL", c.access_token_ttl);
    if (c.access_token_ttl < std::chrono::seconds(1) || c.access_token_ttl > std::chrono::hours(24)) {
        r.fail("MOTORPOOL_ACCESS_TOKEN_TTL", "must be between 1s and 24h");
    }
    if (c.database_url.empty()) {
        r.fail("DATABASE_URL", "must not be empty");
    }
    r.finish();

    const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    if (c.io_threads == 0) {
        c.io_threads = cores;
    }
    if (c.worker_threads == 0) {
        // SQLite work is CPU- and page-cache-bound: more threads than cores only add context
        // switches (measured: point reads 29k/s with 2 workers, 15k/s with 8, on 2 cores).
        // PostgreSQL calls wait on the network, so more threads hide that latency.
        const bool sqlite = c.database_url.rfind("sqlite:", 0) == 0;
        c.worker_threads = sqlite ? std::max(2, cores) : std::max(8, 4 * cores);
    }
    if (c.db_pool_size == 0) {
        c.db_pool_size = c.worker_threads;
    }
    if (c.secrets_file.empty()) {
        c.secrets_file = c.default_secrets_file();
    }
    return c;
}

std::string Config::default_secrets_file() const {
    constexpr std::string_view kSqlitePrefix = "sqlite:///";
    if (database_url.rfind(kSqlitePrefix, 0) == 0) {
        std::string path = database_url.substr(kSqlitePrefix.size());
        if (auto q = path.find('?'); q != std::string::npos) {
            path.resize(q);
        }
        if (!path.empty() && path != ":memory:") {
            return path + ".secrets";
        }
    }
    return "motorpool.secrets";
}

void Config::ensure_secrets() {
    if (production()) {
        std::string missing;
        if (secret_key.empty()) {
            missing += "SECRET_KEY ";
        }
        if (encryption_key.empty()) {
            missing += "MOTORPOOL_ENCRYPTION_KEY ";
        }
        if (!missing.empty()) {
            throw ConfigError("production mode needs these secrets set: " + missing.substr(0, missing.size() - 1));
        }
        if (secret_key.size() < 32) {
            throw ConfigError("SECRET_KEY must be at least 32 characters in production");
        }
    }
    if (!encryption_key.empty()) {
        auto raw = base64_decode(encryption_key);
        if (!raw || raw->size() != 32) {
            throw ConfigError("MOTORPOOL_ENCRYPTION_KEY must be base64 of exactly 32 bytes");
        }
    }
    // The simulator plays Smartcar with credentials of its own, kept like the other secrets.
    const bool simulated = smartcar_mode == "simulated";
    if (!secret_key.empty() && !encryption_key.empty() &&
        (!simulated ||
         (!smartcar_client_id.empty() && !smartcar_client_secret.empty() && !smartcar_management_token.empty()))) {
        return;
    }

    std::map<std::string, std::string> stored;
    if (std::ifstream in(secrets_file); in) {
        std::stringstream buffer;
        buffer << in.rdbuf();
        stored = parse_dotenv(buffer.str());
    }
    bool changed = false;
    auto fill = [&](const char* name, std::string& field, auto generate) {
        if (!field.empty()) {
            return;
        }
        from_secrets_file.emplace_back(name);
        if (auto it = stored.find(name); it != stored.end() && !it->second.empty()) {
            field = it->second;
            return;
        }
        field = generate();
        stored[name] = field;
        changed = true;
    };
    fill("SECRET_KEY", secret_key, [] { return base64_encode(random_bytes(48)); });
    fill("MOTORPOOL_ENCRYPTION_KEY", encryption_key, [] { return base64_encode(random_bytes(32)); });
    if (simulated) {
        fill("SMARTCAR_CLIENT_ID", smartcar_client_id, [] { return "sim-" + hex_encode(random_bytes(12)); });
        fill("SMARTCAR_CLIENT_SECRET", smartcar_client_secret, [] { return hex_encode(random_bytes(24)); });
        fill("SMARTCAR_MANAGEMENT_TOKEN", smartcar_management_token, [] { return hex_encode(random_bytes(16)); });
    }
    if (changed) {
        std::filesystem::path path(secrets_file);
        if (path.has_parent_path()) {
            std::filesystem::create_directories(path.parent_path());
        }
        std::string tmp = secrets_file + ".tmp";
        {
            std::ofstream out(tmp, std::ios::trunc);
            if (!out) {
                throw ConfigError("cannot write the development secrets file " + secrets_file);
            }
            out << "# Development secrets generated by motorpool. Keep private; set them in production.\n";
            for (const auto& [key, value] : stored) {
                out << key << "=" << value << "\n";
            }
        }
        ::chmod(tmp.c_str(), 0600);
        std::filesystem::rename(tmp, secrets_file);
        spdlog::warn("generated development secrets in {} (set SECRET_KEY and MOTORPOOL_ENCRYPTION_KEY in production)",
                     secrets_file);
    }
}

std::string mask_url_password(const std::string& url) {
    std::string out = url;
    auto scheme = out.find("://");
    if (scheme != std::string::npos) {
        auto at = out.find('@', scheme + 3);
        auto slash = out.find('/', scheme + 3);
        if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
            auto colon = out.find(':', scheme + 3);
            if (colon != std::string::npos && colon < at) {
                out.replace(colon + 1, at - colon - 1, "****");
            }
        }
    }
    for (std::size_t pos = out.find("password="); pos != std::string::npos; pos = out.find("password=", pos + 1)) {
        auto end = out.find_first_of("& ", pos);
        auto start = pos + 9;
        out.replace(start, (end == std::string::npos ? out.size() : end) - start, "****");
    }
    return out;
}

std::vector<Config::Entry> Config::describe(const EnvSource& source) const {
    std::vector<Entry> entries;
    auto add = [&](const std::string& name, const std::string& value) {
        std::string origin = source.origin(name);
        if (origin == "default" && !value.empty() &&
            std::find(from_secrets_file.begin(), from_secrets_file.end(), name) != from_secrets_file.end()) {
            origin = "secrets file " + secrets_file;  // filled by ensure_secrets() in development
        }
        entries.push_back({name, is_secret(name) ? mask(value) : value, origin});
    };
    // What the server uses when a value is left empty (SmartcarService::set_local_origin).
    const bool simulated = smartcar_mode == "simulated";
    const std::string local = "http://127.0.0.1:" + std::to_string(port);
    auto add_derived =
        [&](const std::string& name, const std::string& value, const std::string& derived, const std::string& why) {
            if (!value.empty() || derived.empty()) {
                add(name, value);
            } else {
                entries.push_back({name, derived, why});
            }
        };
    auto smartcar_origin = [&](const std::string& name, const std::string& value, const std::string& live) {
        add_derived(name,
                    value,
                    simulated ? local + "/sim/smartcar" : live,
                    simulated ? "derived: the simulator on PORT" : "default: Smartcar");
    };
    auto join = [](const std::vector<std::string>& items) {
        std::string out;
        for (const auto& item : items) {
            out += (out.empty() ? "" : ",") + item;
        }
        return out;
    };
    add("MOTORPOOL_ENV", env);
    add("MOTORPOOL_HOST", host);
    add("PORT", std::to_string(port));
    add("DATABASE_URL", mask_url_password(database_url));
    add("SECRET_KEY", secret_key);
    add("MOTORPOOL_ENCRYPTION_KEY", encryption_key);
    add("MOTORPOOL_ENCRYPTION_KEYS_PREVIOUS", join(encryption_keys_previous));
    add("MOTORPOOL_SECRETS_FILE", secrets_file);
    add("SMARTCAR_MODE", smartcar_mode);
    add("SMARTCAR_CLIENT_ID", smartcar_client_id);
    add("SMARTCAR_CLIENT_SECRET", smartcar_client_secret);
    add_derived("SMARTCAR_REDIRECT_URI",
                smartcar_redirect_uri,
                local + "/oauth/smartcar/callback",
                "derived from PORT (the port bound, when PORT=0)");
    add("SMARTCAR_MANAGEMENT_TOKEN", smartcar_management_token);
    add("SMARTCAR_API_VERSION", smartcar_api_version);
    smartcar_origin("SMARTCAR_API_ORIGIN", smartcar_api_origin, "https://api.smartcar.com");
    smartcar_origin("SMARTCAR_AUTH_ORIGIN", smartcar_auth_origin, "https://auth.smartcar.com");
    smartcar_origin("SMARTCAR_CONNECT_ORIGIN", smartcar_connect_origin, "https://connect.smartcar.com");
    smartcar_origin("SMARTCAR_API_V3_ORIGIN", smartcar_api_v3_origin, "https://vehicle.api.smartcar.com");
    smartcar_origin(
        "SMARTCAR_MANAGEMENT_API_ORIGIN", smartcar_management_api_origin, "https://management.smartcar.com");
    add("SMARTCAR_SCOPES", smartcar_scopes);
    add("MOTORPOOL_SMARTCAR_POLL_INTERVAL", std::to_string(smartcar_poll_interval.count()) + "ms");
    add("SMARTCAR_SIM_FAULTS", smartcar_sim_faults);
    add("SMARTCAR_WEBHOOK_ID", smartcar_webhook_id);
    add("SMARTCAR_SIM_WEBHOOK_URL", smartcar_sim_webhook_url);
    add("SMARTCAR_SIM_WEBHOOK_INTERVAL", std::to_string(smartcar_sim_webhook_interval.count()) + "ms");
    add("SMARTCAR_SIM_WEBHOOK_RETRY", std::to_string(smartcar_sim_webhook_retry.count()) + "ms");
    add("MOTORPOOL_WEBHOOK_PROCESSING", webhook_processing ? "true" : "false");
    add("CORS_ORIGINS", join(cors_origins));
    add("FRONTEND_URL", frontend_url);
    add("MOTORPOOL_SMTP_URL", mask_url_password(smtp_url));
    add("MOTORPOOL_MAIL_FROM", mail_from);
    add("MOTORPOOL_TELEMETRY_RETENTION_DAYS", std::to_string(telemetry_retention_days));
    add("MOTORPOOL_WS_MAX_SOCKETS_PER_USER", std::to_string(ws_max_sockets_per_user));
    add("MOTORPOOL_WS_IDLE_TIMEOUT", std::to_string(ws_idle_timeout.count()) + "ms");
    add("MOTORPOOL_PG_LISTEN_URL", mask_url_password(pg_listen_url));
    add("MOTORPOOL_LOG_LEVEL", log_level);
    add("MOTORPOOL_LOG_FORMAT", log_format);
    add("MOTORPOOL_IO_THREADS", std::to_string(io_threads));
    add("MOTORPOOL_WORKER_THREADS", std::to_string(worker_threads));
    add("MOTORPOOL_WORKER_QUEUE_LIMIT", std::to_string(worker_queue_limit));
    add("MOTORPOOL_DB_POOL_SIZE", std::to_string(db_pool_size));
    add("MOTORPOOL_PG_PREPARED_STATEMENTS", pg_prepared_statements ? "true" : "false");
    add("MOTORPOOL_SQLITE_SYNCHRONOUS", sqlite_synchronous);
    add("MOTORPOOL_SQLITE_GATHER_WAL", sqlite_gather_wal ? "true" : "false");
    add("MOTORPOOL_GROUP_COMMIT_MAX_BATCH", std::to_string(group_commit_max_batch));
    add("MOTORPOOL_MAX_CONNECTIONS", std::to_string(max_connections));
    add("MOTORPOOL_MAX_HEADER_BYTES", std::to_string(max_header_bytes));
    add("MOTORPOOL_MAX_BODY_BYTES", std::to_string(max_body_bytes));
    add("MOTORPOOL_READ_TIMEOUT", std::to_string(read_timeout.count()) + "ms");
    add("MOTORPOOL_IDLE_TIMEOUT", std::to_string(idle_timeout.count()) + "ms");
    add("MOTORPOOL_SHUTDOWN_GRACE", std::to_string(shutdown_grace.count()) + "ms");
    add("MOTORPOOL_AUTO_MIGRATE", auto_migrate ? "true" : "false");
    add("MOTORPOOL_ACCESS_TOKEN_TTL", std::to_string(access_token_ttl.count()) + "ms");
    return entries;
}

}  // namespace motorpool::core
