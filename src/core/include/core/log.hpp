#pragma once
// Logging setup: spdlog, text or JSON lines, level from configuration.

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include <spdlog/spdlog.h>

namespace motorpool::core {

/// Installs the process logger: "text" (human) or "json" (one object per line) on stderr,
/// at `level` (trace..off). Safe to call again (tests, `motorpool config`).
void init_logging(const std::string& level, const std::string& format);

/// Adds a sink receiving every record (tests capture the log through this).
void add_log_sink(std::shared_ptr<spdlog::sinks::sink> sink);
void remove_log_sink(const std::shared_ptr<spdlog::sinks::sink>& sink);

/// A log field's value; std::monostate leaves the field out (a user id not known). A double is
/// written with three decimals (durations in ms).
using LogValue = std::variant<std::monostate, std::string_view, std::int64_t, double>;
/// One field of a log event.
struct LogField {
    std::string_view key;  // snake_case: request_id, method, path, route, status, duration_ms, user_id
    LogValue value;
};
/// The value of a field that may be unknown: left out when `text` is empty.
inline LogValue optional_field(std::string_view text) {
    return text.empty() ? LogValue{} : LogValue{text};
}

/// Logs an event with fields. Text lines read "event key=value ..."; JSON lines carry each field as
/// its own key ({"ts","level","msg":"event","request_id":"...","status":200,...,"thread"}), so a
/// log shipper can filter on them. Values are written as given: never pass a secret.
void log_event(spdlog::level::level_enum level, std::string_view event, std::initializer_list<LogField> fields);

/// Escapes `text` for a JSON string body (no quotes added).
std::string json_escape(std::string_view text);

}  // namespace motorpool::core
