#include "core/time.hpp"

#include <gtest/gtest.h>

namespace motorpool::core {
namespace {

TEST(Rfc3339Test, Formats) {
    EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
    EXPECT_EQ(format_rfc3339(1'767'225'600'000), "2026-01-01T00:00:00Z");
    EXPECT_EQ(format_rfc3339(1'767'225'600'123), "2026-01-01T00:00:00.123Z");
    EXPECT_EQ(format_rfc3339(951'782'400'000), "2000-02-29T00:00:00Z");
    EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Rfc3339Test, ParsesZuluOffsetsAndFractions) {
    EXPECT_EQ(parse_rfc3339("2026-01-01T00:00:00Z"), 1'767'225'600'000);
    EXPECT_EQ(parse_rfc3339("2026-01-01T00:00:00.5Z"), 1'767'225'600'500);
    EXPECT_EQ(parse_rfc3339("2026-01-01T00:00:00.123456789Z"), 1'767'225'600'123);
    EXPECT_EQ(parse_rfc3339("2026-01-01T01:00:00+01:00"), 1'767'225'600'000);
    EXPECT_EQ(parse_rfc3339("2025-12-31T19:00:00-05:00"), 1'767'225'600'000);
    EXPECT_EQ(parse_rfc3339("2026-01-01t00:00:00z"), 1'767'225'600'000);
    EXPECT_EQ(parse_rfc3339("2024-02-29T12:00:00Z"), 1'709'208'000'000);
}

TEST(Rfc3339Test, RejectsInvalid) {
    for (const char* bad : {"",
                            "2026-01-01",
                            "2026-01-01T00:00:00",
                            "2026-13-01T00:00:00Z",
                            "2026-02-30T00:00:00Z",
                            "2025-02-29T00:00:00Z",
                            "2026-01-01T24:00:00Z",
                            "2026-01-01T00:60:00Z",
                            "2026-01-01T00:00:00.Z",
                            "2026-01-01T00:00:00+0100",
                            "2026-01-01T00:00:00Zjunk",
                            "abcd-01-01T00:00:00Z"}) {
        EXPECT_FALSE(parse_rfc3339(bad)) << bad;
    }
}

TEST(Rfc3339Test, RoundTrips) {
    for (std::int64_t ms : {0LL, 1LL, 999LL, 1'767'225'600'123LL, 4'102'444'800'000LL, 946'684'799'999LL}) {
        EXPECT_EQ(parse_rfc3339(format_rfc3339(ms)), ms);
    }
}

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
    ManualClock clock(1000);
    EXPECT_EQ(clock.now_ms(), 1000);
    clock.advance_ms(500);
    EXPECT_EQ(clock.now_ms(), 1500);
    SystemClock system;
    EXPECT_GT(system.now_ms(), 1'700'000'000'000);
}

}  // namespace
}  // namespace motorpool::core
