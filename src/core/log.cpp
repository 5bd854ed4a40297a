#include "core/log.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include "core/time.hpp"

namespace motorpool::core {
namespace {

// One JSON object per line: {"ts","level","msg","thread"}; the message is escaped.
class JsonFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
        std::string line = "{\"ts\":\"" + format_rfc3339(ms) + "\",\"level\":\"";
        auto level = spdlog::level::to_string_view(msg.level);
        line.append(level.data(), level.size());
        line += "\",\"msg\":\"";
        line += json_escape(std::string_view(msg.payload.data(), msg.payload.size()));
        line += "\",\"thread\":" + std::to_string(msg.thread_id) + "}\n";
        dest.append(line.data(), line.data() + line.size());
    }
    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

std::shared_ptr<spdlog::sinks::dist_sink_mt>& root_sink() {
    static auto sink = std::make_shared<spdlog::sinks::dist_sink_mt>();
    return sink;
}

}  // namespace

std::string json_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20) {
                    static constexpr char kHex[] = "0123456789abcdef";
                    out += "\\u00";
                    out += kHex[c >> 4];
                    out += kHex[c & 0xF];
                } else {
                    out += ch;
                }
        }
    }
    return out;
}

void init_logging(const std::string& level, const std::string& format) {
    static std::once_flag once;
    std::call_once(once, [] {
        root_sink()->add_sink(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
        auto logger = std::make_shared<spdlog::logger>("motorpool", root_sink());
        spdlog::set_default_logger(logger);
    });
    if (format == "json") {
        root_sink()->set_formatter(std::make_unique<JsonFormatter>());
    } else {
        root_sink()->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %v",
                                                                               spdlog::pattern_time_type::utc));
    }
    auto lvl = spdlog::level::from_str(level);
    spdlog::set_level(lvl);
    spdlog::flush_on(spdlog::level::warn);
}

void add_log_sink(std::shared_ptr<spdlog::sinks::sink> sink) {
    root_sink()->add_sink(std::move(sink));
}

void remove_log_sink(const std::shared_ptr<spdlog::sinks::sink>& sink) {
    root_sink()->remove_sink(sink);
}

}  // namespace motorpool::core
