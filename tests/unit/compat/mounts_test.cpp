// MOTORPOOL_COMPAT: parsing, `all`, prefixes, and the collision check (a trailing slash does not
// make two paths different).

#include <gtest/gtest.h>

#include "compat/module.hpp"

namespace motorpool::compat {
namespace {

TEST(CompatMountsTest, NamesPrefixesAndAllAreParsed) {
    auto m = parse_mounts(" vehicle-catalog@/catalog , membership-auto ");
    ASSERT_EQ(m.size(), 2U);
    EXPECT_EQ(m[0].surface, "vehicle-catalog");
    EXPECT_EQ(m[0].prefix, "/catalog");
    EXPECT_EQ(m[1].prefix, "");
    EXPECT_TRUE(parse_mounts("").empty());

    auto all = parse_mounts("vehicle-catalog@/catalog,all");
    ASSERT_EQ(all.size(), 5U);  // the named one, then the other four from `all`
    EXPECT_FALSE(all[0].from_all);
    EXPECT_TRUE(all[1].from_all);
    EXPECT_EQ(all[1].surface, "smartcar-webhooks");

    EXPECT_THROW(parse_mounts("catalog"), std::invalid_argument);
    EXPECT_THROW(parse_mounts("vehicle-catalog@catalog"), std::invalid_argument);
    EXPECT_THROW(parse_mounts("vehicle-catalog@/catalog/"), std::invalid_argument);
    EXPECT_THROW(parse_mounts("vehicle-catalog@/a b"), std::invalid_argument);
    EXPECT_THROW(parse_mounts("vehicle-catalog,vehicle-catalog@/x"), std::invalid_argument);
}

TEST(CompatMountsTest, TwoNamedSurfacesOnOnePathStopTheServerNamingBoth) {
    std::vector<std::string> skipped;
    try {
        resolve_collisions(parse_mounts("smartcar-webhooks,vehicle-catalog"), skipped);
        FAIL() << "a collision was accepted";
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("smartcar-webhooks and vehicle-catalog both serve GET /api/vehicles"), std::string::npos)
            << what;
    }
    // The membership service's /api/vehicles/ is the same path.
    EXPECT_THROW(resolve_collisions(parse_mounts("membership-auto,vehicle-catalog"), skipped), std::invalid_argument);
    // A prefix settles it.
    auto kept = resolve_collisions(parse_mounts("smartcar-webhooks,vehicle-catalog@/catalog"), skipped);
    EXPECT_EQ(kept.size(), 2U);
    EXPECT_TRUE(skipped.empty());
}

TEST(CompatMountsTest, AllSkipsWhatCollidesAndSaysSo) {
    std::vector<std::string> skipped;
    auto kept = resolve_collisions(parse_mounts("all"), skipped);
    std::vector<std::string> names;
    for (const auto& m : kept) {
        names.push_back(m.surface);
    }
    EXPECT_EQ(names, (std::vector<std::string>{"smartcar-webhooks", "smartcar-integration", "charging-balancer"}));
    ASSERT_EQ(skipped.size(), 2U);
    EXPECT_NE(skipped[0].find("membership-auto is not mounted by `all`"), std::string::npos) << skipped[0];
    // Named with a prefix, the catalog is kept and `all` still adds the rest around it.
    skipped.clear();
    kept = resolve_collisions(parse_mounts("vehicle-catalog@/catalog,all"), skipped);
    EXPECT_EQ(kept.front().surface, "vehicle-catalog");
    EXPECT_EQ(skipped.size(), 1U);  // membership-auto still collides with the webhook server
}

}  // namespace
}  // namespace motorpool::compat
