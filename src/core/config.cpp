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

std::string mask(const std::string& value) {
    if (value.empty()) {
        return "";
    }
    return "**** (" + std::to_string(value.size()) + " chars)";
}

std::string show(std::chrono::milliseconds value) {
    return std::to_string(value.count()) + "ms";
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
    if (auto it = overrides_.find(name); it != overrides_.end()) {
        return it->second;
    }
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
    if (overrides_.count(name) != 0) {
        return "command line";
    }
    if (process_ && process_(name)) {
        return "env";
    }
    if (file_.count(name) != 0) {
        return ".env";
    }
    return "default";
}

Settings::Settings(EnvSource source) : source_(std::move(source)) {}

void Settings::module(std::string name) {
    module_ = std::move(name);
}

std::optional<std::string> Settings::lookup(const char* name) {
    for (const auto& entry : entries_) {
        if (entry.name == name) {
            // Two modules reading one variable would silently disagree about its meaning.
            fail(name, "is declared by both " + entry.module + " and " + module_);
        }
    }
    return source_.get(name);
}

void Settings::record(const char* name, std::string shown, const char* meaning, std::string origin) {
    // Kept grouped by module, in the order modules first declared something.
    auto last_of_module = std::find_if(
        entries_.rbegin(), entries_.rend(), [this](const Entry& entry) { return entry.module == module_; });
    entries_.insert(
        last_of_module == entries_.rend() ? entries_.end() : last_of_module.base(),
        {module_, name, std::move(shown), origin.empty() ? source_.origin(name) : std::move(origin), meaning});
}

std::string Settings::string(const char* name, const std::string& fallback, const char* meaning) {
    std::string value = lookup(name).value_or(fallback);
    record(name, value, meaning);
    return value;
}

std::string Settings::one_of(const char* name,
                             const std::string& fallback,
                             std::initializer_list<const char*> allowed,
                             const char* meaning) {
    std::string value = string(name, fallback, meaning);
    std::string names;
    for (const char* a : allowed) {
        if (value == a) {
            return value;
        }
        names += (names.empty() ? "" : ", ") + std::string(a);
    }
    fail(name, "must be one of " + names);
    return fallback;
}

long long Settings::integer(const char* name, long long fallback, long long min, long long max, const char* meaning) {
    long long value = fallback;
    if (auto text = lookup(name)) {
        auto parsed = parse_int<long long>(trim(*text));
        if (!parsed || *parsed < min || *parsed > max) {
            fail(name, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
        } else {
            value = *parsed;
        }
    }
    record(name, std::to_string(value), meaning);
    return value;
}

bool Settings::boolean(const char* name, bool fallback, const char* meaning) {
    bool value = fallback;
    if (auto text = lookup(name)) {
        if (auto parsed = parse_bool(trim(*text))) {
            value = *parsed;
        } else {
            fail(name, "must be true or false");
        }
    }
    record(name, value ? "true" : "false", meaning);
    return value;
}

std::chrono::milliseconds Settings::duration(const char* name,
                                             std::chrono::milliseconds fallback,
                                             const char* meaning,
                                             std::chrono::milliseconds min,
                                             std::chrono::milliseconds max) {
    auto value = fallback;
    if (auto text = lookup(name)) {
        auto parsed = parse_duration(trim(*text));
        if (!parsed || *parsed < min || *parsed > max) {
            fail(name, "must be a duration such as 500ms, 30s or 5m from " + show(min) + " to " + show(max));
        } else {
            value = *parsed;
        }
    }
    record(name, show(value), meaning);
    return value;
}

std::vector<std::string> Settings::list(const char* name, const char* meaning, bool secret) {
    auto items = split_list(lookup(name).value_or(""));
    std::string shown;
    for (const auto& item : items) {
        shown += (shown.empty() ? "" : ",") + (secret ? mask(item) : item);
    }
    record(name, shown, meaning);
    return items;
}

std::string Settings::url(const char* name, const std::string& fallback, const char* meaning) {
    std::string value = lookup(name).value_or(fallback);
    record(name, mask_url_password(value), meaning);
    return value;
}

void Settings::keep_secrets_in(std::string path) {
    secrets_file_ = std::move(path);
    stored_secrets_.clear();
    if (std::ifstream in(secrets_file_); in) {
        std::stringstream buffer;
        buffer << in.rdbuf();
        stored_secrets_ = parse_dotenv(buffer.str());
    }
}

std::string Settings::secret(const char* name,
                             const char* meaning,
                             const std::function<std::string()>& generate,
                             bool optional_in_production) {
    std::optional<std::string> value = lookup(name);
    if (value && !value->empty()) {
        record(name, mask(*value), meaning);
        return *value;
    }
    if (generate && production_ && !optional_in_production) {
        fail(name, "must be set in production");
    } else if (generate && !secrets_file_.empty()) {
        auto it = stored_secrets_.find(name);
        if (it == stored_secrets_.end() || it->second.empty()) {
            stored_secrets_[name] = generate();
            secrets_changed_ = true;
        }
        std::string kept = stored_secrets_[name];
        record(name, mask(kept), meaning, "secrets file " + secrets_file_);
        return kept;
    }
    record(name, "", meaning);
    return {};
}

std::string Settings::value_of(const char* name) const {
    for (const auto& entry : entries_) {
        if (entry.name == name) {
            return entry.value;
        }
    }
    throw std::logic_error(std::string(name) + " is read before the module declaring it");
}

void Settings::fail(const char* name, const std::string& message) {
    problems_ += std::string(name) + " " + message + "; ";
}

void Settings::derived(const char* name, const std::string& shown, const std::string& why) {
    for (auto& entry : entries_) {
        if (entry.name == name && (entry.value.empty() || entry.origin == "default")) {
            entry.value = shown;
            entry.origin = why;
        }
    }
}

void Settings::finish() {
    if (!problems_.empty()) {
        throw ConfigError("invalid configuration: " + problems_.substr(0, problems_.size() - 2));
    }
    if (!secrets_changed_) {
        return;
    }
    std::filesystem::path path(secrets_file_);
    if (path.has_parent_path()) {
        std::filesystem::create_directories(path.parent_path());
    }
    std::string tmp = secrets_file_ + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        if (!out) {
            throw ConfigError("cannot write the development secrets file " + secrets_file_);
        }
        out << "# Development secrets generated by motorpool. Keep private; set them in production.\n";
        for (const auto& [key, value] : stored_secrets_) {
            out << key << "=" << value << "\n";
        }
    }
    ::chmod(tmp.c_str(), 0600);
    std::filesystem::rename(tmp, secrets_file_);
    secrets_changed_ = false;
    spdlog::warn("generated development secrets in {} (set them in the environment in production)", secrets_file_);
}

CoreSettings load_core_settings(Settings& s) {
    CoreSettings c;
    s.module("core");
    c.env = s.one_of("MOTORPOOL_ENV",
                     c.env,
                     {"development", "production", "test"},
                     "development, production (secrets required, none generated) or test");
    s.set_production(c.production());
    c.log_level = s.one_of("MOTORPOOL_LOG_LEVEL",
                           c.log_level,
                           {"trace", "debug", "info", "warn", "error", "critical", "off"},
                           "Least severe log level written");
    c.log_format = s.one_of("MOTORPOOL_LOG_FORMAT", c.log_format, {"text", "json"}, "Log lines as text or JSON");
    c.worker_threads = static_cast<int>(s.integer("MOTORPOOL_WORKER_THREADS",
                                                  0,
                                                  0,
                                                  1024,
                                                  "Threads for blocking work (database, HTTP clients, Argon2); "
                                                  "0: one per core on SQLite, 4 per core (at least 8) otherwise"));
    c.frontend_url = s.string("FRONTEND_URL", "", "The web front end links and redirects lead to; unset: this server");
    c.worker_queue_limit = static_cast<int>(s.integer("MOTORPOOL_WORKER_QUEUE_LIMIT",
                                                      c.worker_queue_limit,
                                                      1,
                                                      1'000'000,
                                                      "Blocking jobs queued before requests get 503"));
    return c;
}

void load_key_settings(Settings& s, CoreSettings& c, const std::string& default_secrets_file, bool keep_secrets) {
    s.module("core");
    c.secrets_file =
        s.string("MOTORPOOL_SECRETS_FILE", default_secrets_file, "Where development secrets are generated and kept");
    if (keep_secrets) {
        s.keep_secrets_in(c.secrets_file);
    }
    c.encryption_key = s.secret("MOTORPOOL_ENCRYPTION_KEY",
                                "Base64 of 32 bytes: seals tokens at rest (motorpool keys generate)",
                                [] { return base64_encode(random_bytes(32)); });
    if (!c.encryption_key.empty()) {
        auto raw = base64_decode(c.encryption_key);
        if (!raw || raw->size() != 32) {
            s.fail("MOTORPOOL_ENCRYPTION_KEY", "must be base64 of exactly 32 bytes");
        }
    }
    c.encryption_keys_previous = s.list(
        "MOTORPOOL_ENCRYPTION_KEYS_PREVIOUS", "Comma separated older keys that still open values (rotation)", true);
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

}  // namespace motorpool::core
