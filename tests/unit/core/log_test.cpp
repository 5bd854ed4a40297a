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

}  // namespace
}  // namespace motorpool::core
