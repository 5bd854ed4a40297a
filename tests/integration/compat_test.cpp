// The original services' APIs (MOTORPOOL_COMPAT): the vehicle catalog's documented requests
// replayed against motorpool, with FastAPI's shapes (list, {"detail"}, 422 locations), public
// reads, staff-only writes, a prefixed mount; and the router's one trailing-slash rule.

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/auth.hpp"
#include "harness.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

class CompatCatalogTest : public ::testing::Test {
protected:
    void start(Overrides overrides) {
        app_.reset();
        app_ = std::make_unique<TestApp>(std::move(overrides));
        admin_ = create_user_and_login(*app_, "admin@example.com", auth::Role::Admin).token;
        member_ = register_member(*app_, "member@example.com").token;
    }

    void add_vehicles(int n) {
        for (int i = 0; i < n; ++i) {
            auto r =
                call(*app_,
                     "POST",
                     "/api/v1/vehicles",
                     admin_,
                     json::object{{"vin", test_vin(i + 1)}, {"make", "Tesla"}, {"model", "Model 3"}, {"year", 2021}});
            ASSERT_EQ(r.status, 201) << r.body;
        }
    }

    std::unique_ptr<TestApp> app_;
    std::string admin_, member_;
};

TEST_F(CompatCatalogTest, TheCatalogIsListedAndReadWithoutAToken) {
    start({{"MOTORPOOL_COMPAT", "vehicle-catalog"}});
    add_vehicles(5);
    auto page = call(*app_, "GET", "/api/vehicles?page=2&page_size=2", "");
    ASSERT_EQ(page.status, 200) << page.body;
    const auto p = page.json().as_object();
    EXPECT_EQ(p.size(), 5U);  // exactly the original's fields
    EXPECT_EQ(p.at("total"), json::value(5));
    EXPECT_EQ(p.at("page"), json::value(2));
    EXPECT_EQ(p.at("page_size"), json::value(2));
    EXPECT_EQ(p.at("total_pages"), json::value(3));
    EXPECT_EQ(p.at("items").as_array().size(), 2U);
    // motorpool's keyset cursor is not the catalog's: ignored, the totals still come back.
    auto cursor = call(*app_, "GET", "/api/vehicles?cursor=djE6Mw&page_size=2", "");
    ASSERT_EQ(cursor.status, 200) << cursor.body;
    EXPECT_EQ(cursor.json().at("total"), json::value(5));
    // No page given: the first, with its totals.
    auto first = call(*app_, "GET", "/api/vehicles", "").json();
    EXPECT_EQ(first.at("page"), json::value(1));
    EXPECT_EQ(first.at("total"), json::value(5));

    auto one = call(*app_, "GET", "/api/vehicles/" + test_vin(3), "");
    ASSERT_EQ(one.status, 200) << one.body;
    EXPECT_EQ(one.json().at("vin"), json::value(test_vin(3)));
    EXPECT_EQ(one.json().at("make"), json::value("Tesla"));
    auto missing = call(*app_, "GET", "/api/vehicles/" + test_vin(99), "");
    EXPECT_EQ(missing.status, 404);
    EXPECT_EQ(missing.body, R"({"detail":"Vehicle not found"})");

    // FastAPI's validation shape for a bad query.
    auto bad = call(*app_, "GET", "/api/vehicles?page_size=0", "");
    EXPECT_EQ(bad.status, 422);
    const json::value problem = bad.json();
    const auto& detail = problem.at("detail").as_array().at(0);
    EXPECT_EQ(detail.at("loc"), (json::array{"query", "page_size"}));
    EXPECT_TRUE(detail.at("msg").is_string());
}

TEST_F(CompatCatalogTest, WritingNeedsStaffAndAnswersInFastApisShapes) {
    start({{"MOTORPOOL_COMPAT", "vehicle-catalog"}});
    const json::object car{{"vin", test_vin(7)}, {"make", "Ford"}, {"model", "Mustang Mach-E"}, {"year", 2022}};
    auto anonymous = call(*app_, "POST", "/api/vehicles", "", car);
    EXPECT_EQ(anonymous.status, 401);
    auto member = call(*app_, "POST", "/api/vehicles", member_, car);
    EXPECT_EQ(member.status, 403);
    EXPECT_TRUE(member.json().at("detail").is_string());
    auto created = call(*app_, "POST", "/api/vehicles", admin_, car);
    ASSERT_EQ(created.status, 201) << created.body;
    EXPECT_EQ(created.json().at("vin"), json::value(test_vin(7)));
    auto again = call(*app_, "POST", "/api/vehicles", admin_, car);
    EXPECT_EQ(again.status, 409);
    EXPECT_TRUE(again.json().at("detail").is_string());
    json::object wrong = car;
    wrong["vin"] = "NOT-A-VIN";
    auto invalid = call(*app_, "POST", "/api/vehicles", admin_, wrong);
    EXPECT_EQ(invalid.status, 422);
    EXPECT_EQ(invalid.json().at("detail").at(0).at("loc"), (json::array{"body", "vin"}));
    // Only the valid one exists, and motorpool's own API sees it.
    EXPECT_EQ(call(*app_, "GET", "/api/vehicles", "").json().at("total"), json::value(1));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/vehicles/" + test_vin(7), admin_).status, 200);
}

TEST_F(CompatCatalogTest, APrefixedMountAndAPrivateCatalog) {
    start({{"MOTORPOOL_COMPAT", "vehicle-catalog@/catalog"}, {"MOTORPOOL_COMPAT_CATALOG_PUBLIC", "false"}});
    add_vehicles(1);
    EXPECT_EQ(call(*app_, "GET", "/api/vehicles", admin_).status, 404);  // not at the root
    auto anonymous = call(*app_, "GET", "/catalog/api/vehicles", "");
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_TRUE(anonymous.json().at("detail").is_string());
    // Any signed-in user reads the whole catalog (a member owns none of these).
    auto listed = call(*app_, "GET", "/catalog/api/vehicles", member_);
    ASSERT_EQ(listed.status, 200) << listed.body;
    EXPECT_EQ(listed.json().at("total"), json::value(1));
    EXPECT_EQ(call(*app_, "GET", "/catalog/health", "").status, 200);
}

TEST_F(CompatCatalogTest, UnknownOrUnservedSurfacesStopTheStart) {
    EXPECT_THROW(start({{"MOTORPOOL_COMPAT", "catalogue"}}), std::exception);
    EXPECT_THROW(start({{"MOTORPOOL_COMPAT", "vehicle-catalog@catalog"}}), std::exception);
}

TEST(TrailingSlashTest, ATrailingSlashIsIgnoredOnEveryRoute) {
    TestApp app;
    const std::string token = register_member(app, "slash@example.com").token;
    EXPECT_EQ(call(app, "GET", "/api/v1/vehicles/", token).status, 200);
    EXPECT_EQ(call(app, "GET", "/api/v1/me/", token).status, 200);
    EXPECT_EQ(call(app, "GET", "/health/", "").status, 200);
    EXPECT_EQ(call(app, "GET", "/api/v1/vehicles//", token).status, 404);  // one slash, not any number
}

}  // namespace
}  // namespace motorpool::testing
