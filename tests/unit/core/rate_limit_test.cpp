// The sliding-window limiter behind the upload-URL and chat rate limits.

#include "core/rate_limit.hpp"

#include <gtest/gtest.h>

namespace motorpool::core {
namespace {

TEST(RateLimiterTest, AllowsTheLimitPerWindowPerKeyThenNamesTheWait) {
    RateLimiter limiter(3, 60'000);
    EXPECT_EQ(limiter.acquire(1, 1'000), 0);
    EXPECT_EQ(limiter.acquire(1, 2'000), 0);
    EXPECT_EQ(limiter.acquire(1, 30'000), 0);
    // The fourth within the minute: allowed again when the first leaves the window (at 61 s).
    EXPECT_EQ(limiter.acquire(1, 31'000), 30);
    EXPECT_EQ(limiter.acquire(1, 60'999), 1);
    EXPECT_EQ(limiter.acquire(2, 31'000), 0);  // another key, its own allowance
    EXPECT_EQ(limiter.acquire(1, 61'000), 0);  // the first event left the window
    EXPECT_EQ(limiter.acquire(1, 61'500), 1);  // refused events were not counted: 2 s and 30 s remain
    EXPECT_EQ(limiter.acquire(1, 62'000), 0);
}

TEST(RateLimiterTest, ManyKeysStayBounded) {
    RateLimiter limiter(1, 1'000);
    for (std::int64_t key = 0; key < 250'000; ++key) {
        ASSERT_EQ(limiter.acquire(key, key), 0);
    }
    EXPECT_EQ(limiter.acquire(249'999, 249'999), 1);  // the newest key still counted
    EXPECT_LE(limiter.tracked_keys(), 101'000U);
}

TEST(RateLimiterTest, ManyActiveKeysAreAllKeptAndStillCounted) {
    RateLimiter limiter(1, 3'600'000);  // nothing goes idle within the test
    for (std::int64_t key = 0; key < 250'000; ++key) {
        ASSERT_EQ(limiter.acquire(key, key), 0);
    }
    EXPECT_EQ(limiter.tracked_keys(), 250'000U);
    EXPECT_EQ(limiter.acquire(0, 250'000), 3'350);  // the first event leaves the window at 3,600,000 ms
    EXPECT_EQ(limiter.acquire(249'999, 250'000), 3'600);
}

}  // namespace
}  // namespace motorpool::core
