#include "core/text.hpp"

#include <gtest/gtest.h>

#include "core/time.hpp"

namespace motorpool::core {
namespace {

TEST(PercentEncodeTest, KeepsOnlyUnreservedCharactersAndRoundTrips) {
    EXPECT_EQ(percent_encode("read_vin read:odometer/é~-."), "read_vin%20read%3Aodometer%2F%C3%A9~-.");
    EXPECT_EQ(percent_encode(""), "");
    const std::string all = "http://127.0.0.1:8000/cb?x=1&y=a b+c";
    EXPECT_EQ(percent_decode(percent_encode(all)), all);
}

TEST(Rfc3339Test, MillisecondsCanBeFixedWidth) {
    EXPECT_EQ(format_rfc3339(1'700'000'000'000), "2023-11-14T22:13:20Z");
    EXPECT_EQ(format_rfc3339(1'700'000'000'000, true), "2023-11-14T22:13:20.000Z");
    EXPECT_EQ(format_rfc3339(1'700'000'000'007, true), "2023-11-14T22:13:20.007Z");
}

TEST(Utf8Test, WellFormedSequencesOnly) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("Honda é € \xF0\x9F\x9A\x97"));  // 1-, 2-, 3- and 4-byte sequences
    EXPECT_FALSE(
        is_valid_utf8("Hon\xff\xfe"
                      "da"));                             // bytes that start nothing
    EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));          // an encoded surrogate (CESU-8)
    EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));              // overlong '/'
    EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));          // overlong, three bytes
    EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));      // past U+10FFFF
    EXPECT_FALSE(is_valid_utf8("\xe2\x82"));              // truncated
    EXPECT_FALSE(is_valid_utf8("\x80"));                  // a lone continuation byte
    EXPECT_EQ(utf8_sequence_length("\xed\x9f\xbf"), 3U);  // U+D7FF, just below the surrogates
    EXPECT_EQ(utf8_sequence_length("\xee\x80\x80"), 3U);  // U+E000, just above
}

TEST(TextRuleTest, ControlCharactersEncodingAndLength) {
    EXPECT_EQ(text_problem("Zoë", 3), "");
    EXPECT_EQ(text_problem("Zoë", 2), "must be at most 2 characters");  // counted in characters, not bytes
    EXPECT_EQ(text_problem(std::string("a\0b", 3), 100), "must not contain control characters");
    EXPECT_EQ(text_problem("a\x7f", 100), "must not contain control characters");
    EXPECT_EQ(text_problem("a\xc2\x85", 100), "must not contain control characters");  // C1: NEL
    EXPECT_EQ(text_problem("line\nbreak", 100), "must not contain control characters");
    EXPECT_EQ(text_problem("line\r\nbreak\tand tab", 100, TextKind::MultiLine), "");
    EXPECT_EQ(text_problem("bell\a", 100, TextKind::MultiLine),
              "must not contain control characters other than line breaks and tabs");
    EXPECT_EQ(text_problem("Hon\xff\xfe"
                           "da",
                           100),
              "must be valid UTF-8");
    EXPECT_EQ(text_problem("\xed\xa0\x80", 100), "must be valid UTF-8");
}

}  // namespace
}  // namespace motorpool::core
