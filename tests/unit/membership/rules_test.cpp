// Membership rules without a database: monthly periods across month ends and leap years, the
// membership year an appointment falls in, and the referrer's monthly reward cap.

#include <gtest/gtest.h>

#include "core/time.hpp"
#include "periods.hpp"
#include "referrals.hpp"

namespace motorpool::membership {
namespace {

std::int64_t at(const char* rfc3339) {
    return core::parse_rfc3339(rfc3339).value();
}
std::string text(std::int64_t ms) {
    return core::format_rfc3339(ms);
}

TEST(MembershipRulesTest, APeriodIsACalendarMonthEndingEarlierInShorterMonths) {
    EXPECT_EQ(text(add_months(at("2026-03-02T06:00:00Z"), 1)), "2026-04-02T06:00:00Z");
    EXPECT_EQ(text(add_months(at("2026-01-31T10:00:00Z"), 1)), "2026-02-28T10:00:00Z");
    EXPECT_EQ(text(add_months(at("2028-01-31T10:00:00Z"), 1)), "2028-02-29T10:00:00Z");  // a leap year
    EXPECT_EQ(text(add_months(at("2026-12-15T00:00:00Z"), 1)), "2027-01-15T00:00:00Z");
    EXPECT_EQ(text(add_months(at("2026-05-31T23:59:59Z"), 12)), "2027-05-31T23:59:59Z");
    EXPECT_EQ(text(add_months(at("2028-02-29T12:00:00Z"), 12)), "2029-02-28T12:00:00Z");
}

TEST(MembershipRulesTest, TheMembershipYearCountsFromTheDayTheMemberJoined) {
    const std::int64_t joined = at("2025-06-10T08:00:00Z");
    EXPECT_EQ(membership_year_start(joined, at("2025-06-10T08:00:00Z")), joined);
    EXPECT_EQ(membership_year_start(joined, at("2026-06-10T07:59:59Z")), joined);
    EXPECT_EQ(text(membership_year_start(joined, at("2026-06-10T08:00:00Z"))), "2026-06-10T08:00:00Z");
    EXPECT_EQ(text(membership_year_start(joined, at("2028-01-01T00:00:00Z"))), "2027-06-10T08:00:00Z");
}

TEST(MembershipRulesTest, TheReferrerIsRewardedUpToTheMonthlyCap) {
    ReferralRules rules{1000, 500, 3};
    EXPECT_EQ(referrer_reward(rules, 0), 1000);
    EXPECT_EQ(referrer_reward(rules, 2), 1000);
    EXPECT_EQ(referrer_reward(rules, 3), 0);
    EXPECT_EQ(referrer_reward(rules, 50), 0);
    EXPECT_EQ(referrer_reward(ReferralRules{1000, 500, 0}, 0), 0);  // a cap of 0 rewards no referrer
}

}  // namespace
}  // namespace motorpool::membership
