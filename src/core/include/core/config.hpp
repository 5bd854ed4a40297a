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

    /// A value given on the command line (serve --port): wins over the environment and `.env`.
    void set(const std::string& name, std::string value) { overrides_[name] = std::move(value); }

    std::optional<std::string> get(const std::string& name) const;
    /// "command line", "env", ".env" or "default" for the report of `motorpool config`.
    std::string origin(const std::string& name) const;

private:
    std::map<std::string, std::string> overrides_;
    Lookup process_;
    std::map<std::string, std::string> file_;
};

/// Parses `.env` text: KEY=VALUE lines, `#` comments, optional `export `, single or double quotes.
std::map<std::string, std::string> parse_dotenv(const std::string& text);

/// Parses "250ms", "30s", "5m", "1h" or a bare number of seconds.
std::optional<std::chrono::milliseconds> parse_duration(const std::string& text);

/// The configuration source handed to every module: each declares its variables (name, default,
/// meaning, secret or not) and reads them here. Problems are gathered and reported together by
/// finish(); entries() is what `motorpool config` prints, grouped by module, secrets masked.
class Settings {
public:
    explicit Settings(EnvSource source);

    /// The module the following declarations belong to ("http", "smartcar", ...).
    void module(std::string name);

    std::string string(const char* name, const std::string& fallback, const char* meaning);
    std::string one_of(const char* name,
                       const std::string& fallback,
                       std::initializer_list<const char*> allowed,
                       const char* meaning);
    long long integer(const char* name, long long fallback, long long min, long long max, const char* meaning);
    bool boolean(const char* name, bool fallback, const char* meaning);
    /// "250ms", "30s", "5m", "1h" or seconds; must lie within [min, max].
    std::chrono::milliseconds duration(const char* name,
                                       std::chrono::milliseconds fallback,
                                       const char* meaning,
                                       std::chrono::milliseconds min = std::chrono::milliseconds(1),
                                       std::chrono::milliseconds max = std::chrono::hours(24 * 365));
    /// Comma separated, items trimmed, empty items dropped; `secret`: each item masked in entries().
    std::vector<std::string> list(const char* name, const char* meaning, bool secret = false);
    /// A URL whose password is masked in entries().
    std::string url(const char* name, const std::string& fallback, const char* meaning);
    /// A secret: masked in entries(). With `generate`, a development server reads an unset one from
    /// the secrets file (keep_secrets_in), generating it there once; in production an unset one is
    /// an error unless `optional_in_production`.
    std::string secret(const char* name,
                       const char* meaning,
                       const std::function<std::string()>& generate = {},
                       bool optional_in_production = false);

    /// MOTORPOOL_ENV as the core module read it: production refuses generated secrets.
    void set_production(bool production) { production_ = production; }
    bool production() const { return production_; }
    /// Development secrets left unset are read from, or generated once into, this file (mode 0600).
    /// Without it (commands that need no secret), they stay empty.
    void keep_secrets_in(std::string path);

    /// The value another module declared earlier, as entries() shows it (for a default derived from
    /// it, such as a URL on PORT). Throws std::logic_error when it was not declared yet.
    std::string value_of(const char* name) const;

    /// Records a problem with a variable (for checks across values).
    void fail(const char* name, const std::string& message);
    /// Shows, for a variable left empty or unset, the value the server derives at run time and why.
    void derived(const char* name, const std::string& shown, const std::string& why);
    /// Throws ConfigError naming every problem; then writes the secrets generated, if any.
    void finish();

    struct Entry {
        std::string module;
        std::string name;
        std::string value;   // masked for secrets and URL passwords
        std::string origin;  // env, .env, default, secrets file PATH, derived: ...
        std::string meaning;
    };
    const std::vector<Entry>& entries() const { return entries_; }

private:
    std::optional<std::string> lookup(const char* name);
    void record(const char* name, std::string shown, const char* meaning, std::string origin = {});

    EnvSource source_;
    std::string module_ = "core";
    std::vector<Entry> entries_;
    std::string problems_;
    bool production_ = false;
    std::string secrets_file_;
    std::map<std::string, std::string> stored_secrets_;
    bool secrets_changed_ = false;
};

/// The core module's settings: the process as a whole (not a feature).
struct CoreSettings {
    std::string env = "development";  // development | production | test
    std::string log_level = "info";
    std::string log_format = "text";
    int worker_threads = 0;  // 0: chosen by the App for the database (see app::Config)
    int worker_queue_limit = 4096;
    std::string frontend_url;  // the web front end users are sent back to; empty: this server
    std::string secrets_file;
    std::string encryption_key;  // base64 of 32 bytes: seals values at rest
    std::vector<std::string> encryption_keys_previous;

    bool production() const { return env == "production"; }
};

/// Declares and reads the process settings (MOTORPOOL_ENV, logging, workers).
CoreSettings load_core_settings(Settings& settings);
/// Declares and reads the secrets file and the encryption keys; `default_secrets_file` is where the
/// database keeps it (beside a SQLite file). `keep_secrets`: from here on, development secrets left
/// unset are read from, or generated into, that file. Call after load_core_settings.
void load_key_settings(Settings& settings,
                       CoreSettings& core,
                       const std::string& default_secrets_file,
                       bool keep_secrets);

/// "postgresql://u:secret@h/db" -> "postgresql://u:****@h/db"; also masks password=... parameters.
std::string mask_url_password(const std::string& url);

}  // namespace motorpool::core
