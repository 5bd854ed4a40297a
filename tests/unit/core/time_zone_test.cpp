#include "core/time_zone.hpp"

#include <gtest/gtest.h>

#include "core/time.hpp"

namespace motorpool::core {
namespace {

std::int64_t at(const char* rfc3339) {
    return parse_rfc3339(rfc3339).value();
}

TEST(TimeZoneTest, UnknownNamesAreRefused) {
    EXPECT_FALSE(TimeZone::load("Mars/Olympus_Mons"));
    EXPECT_FALSE(TimeZone::load(""));
    EXPECT_TRUE(TimeZone::load("UTC"));
}

TEST(TimeZoneTest, LocalTimeFollowsSummerAndWinterOffsets) {
    auto berlin = TimeZone::load("Europe/Berlin").value();
    LocalTime winter = berlin.local(at("2026-01-15T12:00:00Z"));
    EXPECT_EQ(winter.hour, 13);
    EXPECT_EQ(winter.utc_offset_s, 3600);
    EXPECT_EQ(winter.weekday, 3);  // a Thursday
    LocalTime summer = berlin.local(at("2026-07-15T12:00:00Z"));
    EXPECT_EQ(summer.hour, 14);
    EXPECT_EQ(summer.utc_offset_s, 7200);
}

TEST(TimeZoneTest, InstantsAroundTheSpringGapAndTheAutumnRepeat) {
    auto berlin = TimeZone::load("Europe/Berlin").value();
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST.
    EXPECT_EQ(berlin.instant(2026, 3, 29, 1, 30), at("2026-03-29T00:30:00Z"));
    EXPECT_EQ(berlin.instant(2026, 3, 29, 2, 30), at("2026-03-29T01:30:00Z"));  // read as 03:30 CEST
    EXPECT_EQ(berlin.instant(2026, 3, 29, 3, 30), at("2026-03-29T01:30:00Z"));
    // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice, the first is taken.
    EXPECT_EQ(berlin.instant(2026, 10, 25, 2, 30), at("2026-10-25T00:30:00Z"));
    // Days of 23 and 25 hours.
    EXPECT_EQ(berlin.next_midnight(at("2026-03-29T10:00:00Z")) - berlin.instant(2026, 3, 29, 0, 0), 23LL * 3600 * 1000);
    EXPECT_EQ(berlin.next_midnight(at("2026-10-25T10:00:00Z")) - berlin.instant(2026, 10, 25, 0, 0),
              25LL * 3600 * 1000);
}

}  // namespace
}  // namespace motorpool::core
