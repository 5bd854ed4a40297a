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

}  // namespace
}  // namespace motorpool::core
