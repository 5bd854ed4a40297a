#include "core/log.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include "core/time.hpp"

namespace motorpool::core {
namespace {

// The fields of the event being logged on this thread (log_event), for the JSON formatter: the
// logger is synchronous, so the formatter runs inside log_event's call, on its thread.
struct CurrentEvent {
    std::string_view event;
    std::initializer_list<LogField> fields;
};
thread_local const CurrentEvent* t_event = nullptr;

void append_value_text(std::string& out, const LogField& field) {
    if (const auto* text = std::get_if<std::string_view>(&field.value)) {
        out.append(*text);
    } else if (const auto* integer = std::get_if<std::int64_t>(&field.value)) {
        out += std::to_string(*integer);
    } else {
        char buf[32];
        const int n = std::snprintf(buf, sizeof buf, "%.3f", std::get<double>(field.value));
        out.append(buf, static_cast<std::size_t>(std::max(n, 0)));
    }
}

// One JSON object per line: {"ts","level","msg","thread"}; the message is escaped.
class JsonFormatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
        std::string line = "{\"ts\":\"" + format_rfc3339(ms, true) + "\",\"level\":\"";
        auto level = spdlog::level::to_string_view(msg.level);
        line.append(level.data(), level.size());
        line += "\",\"msg\":\"";
        const CurrentEvent* event = t_event;
        if (event != nullptr) {
            line += json_escape(event->event);
            line += '"';
            for (const auto& field : event->fields) {
                if (std::holds_alternative<std::monostate>(field.value)) {
                    continue;
                }
                line += ",\"";
                line += json_escape(field.key);
                line += "\":";
                if (const auto* text = std::get_if<std::string_view>(&field.value)) {
                    line += '"';
                    line += json_escape(*text);
                    line += '"';
                } else {
                    append_value_text(line, field);  // a number
                }
            }
        } else {
            line += json_escape(std::string_view(msg.payload.data(), msg.payload.size()));
            line += '"';
        }
        line += ",\"thread\":" + std::to_string(msg.thread_id) + "}\n";
        dest.append(line.data(), line.data() + line.size());
    }
    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

// stderr through a 64 KiB buffer, written when full, on flush (warnings and above flush at once,
// everything else at least every second). One write(2) per request line would cost the server a
// large share of its request rate; a crash loses at most a second of info-level lines.
class BufferedStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    ~BufferedStderrSink() override { flush_(); }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t formatted;
        formatter_->format(msg, formatted);
        buffer_.append(formatted.data(), formatted.size());
        if (buffer_.size() >= kCapacity) {
            flush_();
        }
    }
    void flush_() override {
        std::size_t written = 0;
        while (written < buffer_.size()) {
            ssize_t n = ::write(STDERR_FILENO, buffer_.data() + written, buffer_.size() - written);
            if (n <= 0) {
                break;  // nowhere to report a failing stderr; drop the rest
            }
            written += static_cast<std::size_t>(n);
        }
        buffer_.clear();
    }

private:
    static constexpr std::size_t kCapacity = std::size_t{64} * 1024;
    std::string buffer_;
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

void log_event(spdlog::level::level_enum level, std::string_view event, std::initializer_list<LogField> fields) {
    spdlog::logger* logger = spdlog::default_logger_raw();
    if (!logger->should_log(level)) {
        return;
    }
    std::string text(event);
    for (const auto& field : fields) {
        if (std::holds_alternative<std::monostate>(field.value)) {
            continue;
        }
        if (!text.empty()) {
            text += ' ';
        }
        text.append(field.key);
        text += '=';
        append_value_text(text, field);
    }
    const CurrentEvent current{event, fields};
    t_event = &current;
    try {
        logger->log(level, std::string_view(text));
    } catch (...) {
        t_event = nullptr;
        throw;
    }
    t_event = nullptr;
}

void init_logging(const std::string& level, const std::string& format) {
    static std::once_flag once;
    std::call_once(once, [] {
        // A terminal gets colours and immediate lines; pipes and files get the buffered sink.
        if (::isatty(STDERR_FILENO) != 0) {
            root_sink()->add_sink(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
        } else {
            root_sink()->add_sink(std::make_shared<BufferedStderrSink>());
            spdlog::flush_every(std::chrono::seconds(1));
        }
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
