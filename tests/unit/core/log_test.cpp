#include "core/log.hpp"

#include <sstream>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

namespace motorpool::core {
namespace {

TEST(JsonEscapeTest, EscapesControlAndQuotes) {
    EXPECT_EQ(json_escape("a\"b\\c\nd\te\x01"), "a\\\"b\\\\c\\nd\\te\\u0001");
}

// Captures what the root logger emits through the configured formatter.
std::string capture(const std::string& format, const std::string& message) {
    init_logging("info", format);
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    add_log_sink(sink);
    init_logging("info", format);  // re-applies the formatter to every sink, the capture included
    spdlog::info("{}", message);
    spdlog::debug("hidden at info");
    remove_log_sink(sink);
    return out.str();
}

TEST(LoggingTest, JsonLinesAreValidJson) {
    std::string line = capture("json", "request_id=abc said \"hi\"\nsecond line");
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line, the newline in the message escaped
    auto record = boost::json::parse(line).as_object();
    EXPECT_EQ(record.at("level").as_string(), "info");
    EXPECT_EQ(record.at("msg").as_string(), "request_id=abc said \"hi\"\nsecond line");
    EXPECT_EQ(record.at("ts").as_string().size(), 24U);  // 2026-01-01T00:00:00.000Z
}

TEST(LoggingTest, TextFormatAndLevelFilter) {
    std::string text = capture("text", "plain message");
    EXPECT_NE(text.find("info"), std::string::npos);
    EXPECT_NE(text.find("plain message"), std::string::npos);
    EXPECT_EQ(text.find("hidden at info"), std::string::npos);
}

// Events with fields: each field its own key in JSON (numbers as numbers, an unknown one left
// out), "event key=value" in text.
TEST(LoggingTest, EventFieldsAreKeysInJsonAndPairsInText) {
    auto emit = [](const std::string& format) {
        init_logging("info", format);
        std::ostringstream out;
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
        add_log_sink(sink);
        init_logging("info", format);
        log_event(spdlog::level::info,
                  "request",
                  {{"request_id", std::string_view("rid-1")},
                   {"path", std::string_view("/a \"b\"")},
                   {"status", std::int64_t{404}},
                   {"duration_ms", 1.5},
                   {"user_id", optional_field("")}});
        log_event(spdlog::level::debug, "hidden", {{"k", std::string_view("v")}});
        remove_log_sink(sink);
        return out.str();
    };
    const std::string json_line = emit("json");
    ASSERT_EQ(json_line.find('\n'), json_line.size() - 1) << json_line;
    auto record = boost::json::parse(json_line).as_object();
    EXPECT_EQ(record.at("msg").as_string(), "request");
    EXPECT_EQ(record.at("request_id").as_string(), "rid-1");
    EXPECT_EQ(record.at("path").as_string(), "/a \"b\"");
    EXPECT_EQ(record.at("status").as_int64(), 404);
    EXPECT_EQ(record.at("duration_ms").as_double(), 1.5);
    EXPECT_FALSE(record.contains("user_id"));
    EXPECT_EQ(record.at("level").as_string(), "info");
    const std::string text = emit("text");
    EXPECT_NE(text.find("request request_id=rid-1 path=/a \"b\" status=404 duration_ms=1.500\n"), std::string::npos)
        << text;
    EXPECT_EQ(text.find("hidden"), std::string::npos);
    EXPECT_EQ(text.find("user_id"), std::string::npos);
    // A plain line after an event carries no stale fields.
    const std::string plain = [] {
        init_logging("info", "json");
        std::ostringstream out;
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
        add_log_sink(sink);
        init_logging("info", "json");
        spdlog::info("plain");
        remove_log_sink(sink);
        init_logging("info", "text");
        return out.str();
    }();
    EXPECT_EQ(boost::json::parse(plain).as_object().size(), 4U) << plain;  // ts, level, msg, thread
}

}  // namespace
}  // namespace motorpool::core
