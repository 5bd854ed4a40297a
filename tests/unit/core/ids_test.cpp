#include "core/ids.hpp"

#include <set>

#include <gtest/gtest.h>

namespace motorpool::core {
namespace {

TEST(UuidV7Test, HasVersionVariantAndTime) {
    std::string id = new_uuid_v7(1'700'000'000'123);
    ASSERT_TRUE(is_uuid(id)) << id;
    EXPECT_EQ(id[14], '7');
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
    EXPECT_EQ(uuid_v7_time_ms(id), 1'700'000'000'123);
}

TEST(UuidV7Test, OrderedWithinAndAcrossMilliseconds) {
    std::string previous = new_uuid_v7(1'000);
    for (int i = 0; i < 10'000; ++i) {
        std::string next = new_uuid_v7(1'000 + i / 100);
        ASSERT_LT(previous, next) << "at " << i;
        previous = next;
    }
}

TEST(UuidV7Test, Unique) {
    std::set<std::string> seen;
    for (int i = 0; i < 20'000; ++i) {
        ASSERT_TRUE(seen.insert(new_uuid_v7()).second);
    }
}

TEST(UuidTest, Recognises) {
    EXPECT_TRUE(is_uuid("0190a6d4-8a1b-7c3d-9e4f-0123456789ab"));
    EXPECT_TRUE(is_uuid("0190A6D4-8A1B-7C3D-9E4F-0123456789AB"));
    EXPECT_FALSE(is_uuid("0190a6d4-8a1b-7c3d-9e4f-0123456789a"));
    EXPECT_FALSE(is_uuid("0190a6d48a1b-7c3d-9e4f-0123456789abc"));
    EXPECT_FALSE(is_uuid("0190a6d4-8a1b-7c3d-9e4f-0123456789ag"));
    EXPECT_EQ(uuid_v7_time_ms("0190a6d4-8a1b-4c3d-9e4f-0123456789ab"), -1);
}

TEST(RequestIdTest, GeneratedAndValidated) {
    std::string id = new_request_id();
    EXPECT_EQ(id.size(), 16U);
    EXPECT_TRUE(is_acceptable_request_id(id));
    EXPECT_NE(id, new_request_id());
    EXPECT_TRUE(is_acceptable_request_id("client-abc_1.2:3"));
    EXPECT_FALSE(is_acceptable_request_id(""));
    EXPECT_FALSE(is_acceptable_request_id(std::string(129, 'a')));
    EXPECT_FALSE(is_acceptable_request_id("has space"));
    EXPECT_FALSE(is_acceptable_request_id("newline\ninjected"));
}

}  // namespace
}  // namespace motorpool::core
