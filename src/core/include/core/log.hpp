#pragma once
// Logging setup: spdlog, text or JSON lines, level from configuration.

#include <memory>
#include <string>

#include <spdlog/spdlog.h>

namespace motorpool::core {

/// Installs the process logger: "text" (human) or "json" (one object per line) on stderr,
/// at `level` (trace..off). Safe to call again (tests, `motorpool config`).
void init_logging(const std::string& level, const std::string& format);

/// Adds a sink receiving every record (tests capture the log through this).
void add_log_sink(std::shared_ptr<spdlog::sinks::sink> sink);
void remove_log_sink(const std::shared_ptr<spdlog::sinks::sink>& sink);

/// Escapes `text` for a JSON string body (no quotes added).
std::string json_escape(std::string_view text);

}  // namespace motorpool::core
