// The allocator alone: capacity, caps and the 6 A minimum always honoured (random fleets), needs met
// whenever they fit, the energy most at risk first under overload and then the same share of
// need, priority classes.

#include "charging/allocator.hpp"

#include <numeric>
#include <random>

#include <gtest/gtest.h>

namespace motorpool::charging::allocator {
namespace {

constexpr double kTolerance = 1e-6;
constexpr double kSixAmpsThreePhase = 6 * 230.0 * 3 / 1000.0;  // 4.14 kW

double sum(const std::vector<Allocation>& a) {
    return std::accumulate(a.begin(), a.end(), 0.0, [](double s, const Allocation& x) { return s + x.kw; });
}

TEST(AllocatorTest, RandomFleetsNeverBreakCapacityCapsOrMinimums) {
    std::mt19937_64 rng(20261203);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (int round = 0; round < 2000; ++round) {
        const int n = 1 + static_cast<int>(rng() % 60);
        std::vector<Car> cars;
        for (int i = 0; i < n; ++i) {
            Car c;
            c.id = std::to_string(i);
            c.max_kw = 3.7 + unit(rng) * 18.3;
            c.min_kw = unit(rng) < 0.8 ? kSixAmpsThreePhase : 0.0;
            c.remaining_kwh = unit(rng) < 0.1 ? 0.0 : unit(rng) * 60;
            c.hours_left = unit(rng) * 12;
            c.weight = unit(rng) < 0.1 ? 4.0 : 1.0;
            cars.push_back(c);
        }
        const double capacity = unit(rng) * 200;
        const double dt = 5.0 / 60;
        auto plan = allocate(cars, capacity, dt);
        ASSERT_EQ(plan.size(), cars.size());
        EXPECT_LE(sum(plan), capacity + kTolerance) << "round " << round;
        for (std::size_t i = 0; i < plan.size(); ++i) {
            const auto& c = cars[i];
            const double kw = plan[i].kw;
            EXPECT_EQ(plan[i].id, c.id);
            EXPECT_GE(kw, 0.0);
            EXPECT_LE(kw, c.max_kw + kTolerance) << "round " << round << " car " << i;
            if (c.remaining_kwh <= 0) {
                EXPECT_EQ(kw, 0.0);
            }
            const double floor = std::min(c.min_kw, std::min(c.max_kw, std::max(c.remaining_kwh / dt, c.min_kw)));
            if (kw > kTolerance) {
                EXPECT_GE(kw + kTolerance, floor) << "round " << round << " car " << i << ": below the minimum";
            }
        }
    }
}

TEST(AllocatorTest, NeedsThatFitAreMetAndTheRestIsSharedUpToEachMaximum) {
    // Two cars needing 3 and 5 kW (to finish on time) on 20 kW: both get their need, and the
    // remaining 12 kW is shared up to their 7 and 11 kW maxima.
    std::vector<Car> cars{{"a", 7, 0, 6, 2, 1}, {"b", 11, 0, 10, 2, 1}};
    auto plan = allocate(cars, 20, 0.25);
    EXPECT_NEAR(plan[0].need_kw, 3, kTolerance);
    EXPECT_NEAR(plan[1].need_kw, 5, kTolerance);
    EXPECT_NEAR(plan[0].kw, 7, kTolerance);
    EXPECT_NEAR(plan[1].kw, 11, kTolerance);
    EXPECT_NEAR(sum(plan), 18, kTolerance);
}

TEST(AllocatorTest, OverloadWithNothingAtRiskGivesEveryCarTheSameShareOfItsNeed) {
    // Needs 2.5, 1.25 and 0.625 kW (8 hours each) on 3.2 kW: at the rate each can expect later
    // (2.5 x an even share) every car still finishes, so nothing is at risk and each gets 3.2/4.375
    // of its need.
    std::vector<Car> cars{{"a", 22, 0, 20, 8, 1}, {"b", 22, 0, 10, 8, 1}, {"c", 22, 0, 5, 8, 1}};
    auto plan = allocate(cars, 3.2, 0.25);
    EXPECT_NEAR(sum(plan), 3.2, kTolerance);
    std::vector<double> shares;
    for (const auto& a : plan) {
        EXPECT_NEAR(a.kw / a.need_kw, 3.2 / 4.375, 1e-6) << a.id;
        shares.push_back(a.kw / a.need_kw);
    }
    EXPECT_NEAR(jain_index(shares), 1.0, 1e-9);
}

TEST(AllocatorTest, OverloadServesFirstTheRequestMostAtRisk) {
    // 20, 10 and 5 kWh in 2 hours on 10 kW: at the rate they can expect later (8.3 kW) b and c still
    // finish, a cannot: a gets everything now (its projected satisfaction 0.73 is the lowest and
    // stays below theirs), b and c catch up later.
    std::vector<Car> cars{{"a", 22, 0, 20, 2, 1}, {"b", 22, 0, 10, 2, 1}, {"c", 22, 0, 5, 2, 1}};
    auto plan = allocate(cars, 10, 0.25);
    EXPECT_NEAR(plan[0].kw, 10, kTolerance);
    EXPECT_NEAR(plan[1].kw, 0, kTolerance);
    EXPECT_NEAR(plan[2].kw, 0, kTolerance);
    // Behind on its request (requested 40, 20 still to go) the same car ranks by the whole request.
    cars[1].requested_kwh = 40;
    cars[1].remaining_kwh = 30;
    auto behind = allocate(cars, 10, 0.25);
    EXPECT_GT(behind[1].kw, 0.0);
    EXPECT_NEAR(sum(behind), 10, kTolerance);
}

TEST(AllocatorTest, AHigherPriorityClassGetsAHigherShare) {
    std::vector<Car> cars{{"normal", 22, 0, 20, 2, 1}, {"emergency", 22, 0, 20, 2, 4}};
    auto plan = allocate(cars, 10, 0.25);
    EXPECT_NEAR(sum(plan), 10, kTolerance);
    EXPECT_NEAR(plan[1].kw, 4 * plan[0].kw, 1e-6);
    // Enough for the emergency's whole need: it is saturated first, the rest goes to the other.
    auto roomy = allocate(cars, 15, 0.25);
    EXPECT_NEAR(roomy[1].kw, 10, 1e-6);
    EXPECT_NEAR(roomy[0].kw, 5, 1e-6);
}

TEST(AllocatorTest, BelowTheSixAmpMinimumACarIsPausedAndItsShareGoesToTheOthers) {
    // Three cars of 4.14 kW minimum on 10 kW: two can charge at their minimum or more, not three.
    // (Windows long enough that no energy is lost by waiting: the shares of need decide.)
    Car car{"", 11, kSixAmpsThreePhase, 30, 5, 1};
    std::vector<Car> cars{car, car, car};
    cars[0].id = "urgent";
    cars[0].hours_left = 4;
    cars[1].id = "b";
    cars[2].id = "lax";
    cars[2].hours_left = 8;
    auto plan = allocate(cars, 10, 0.25);
    EXPECT_LE(sum(plan), 10 + kTolerance);
    int charging = 0;
    for (const auto& a : plan) {
        EXPECT_TRUE(a.kw == 0.0 || a.kw + kTolerance >= kSixAmpsThreePhase) << a.id << " " << a.kw;
        charging += a.kw > 0 ? 1 : 0;
    }
    EXPECT_EQ(charging, 2);
    EXPECT_EQ(plan[2].kw, 0.0);  // the one with the most slack waits
    EXPECT_GT(plan[0].kw, 0.0);
    // Under the minimum for everyone: nobody charges rather than every charger at an illegal rate.
    auto none = allocate(cars, 4, 0.25);
    EXPECT_EQ(sum(none), 0.0);
}

TEST(AllocatorTest, EnergyThatWouldBeLostUnlessItFlowsNowComesFirst) {
    // "leaving" needs 11 kW for its last 30 minutes and can only take 11: anything less now is lost
    // for good; "staying" can catch up later. On 11 kW, "leaving" gets it all.
    std::vector<Car> cars{{"staying", 11, 0, 20, 6, 1}, {"leaving", 11, 0, 5.5, 0.5, 1}};
    auto plan = allocate(cars, 11, 0.25);
    EXPECT_NEAR(plan[1].kw, 11, kTolerance);
    EXPECT_NEAR(plan[0].kw, 0, kTolerance);
}

TEST(AllocatorTest, NoCarGetsMoreThanItStillWants) {
    std::vector<Car> cars{{"almost-full", 22, 0, 0.5, 4, 1}};
    auto plan = allocate(cars, 50, 0.25);
    EXPECT_NEAR(plan[0].kw, 2.0, kTolerance);  // 0.5 kWh in a quarter hour
}

TEST(AllocatorTest, JainIndex) {
    EXPECT_DOUBLE_EQ(jain_index({1, 1, 1, 1}), 1.0);
    EXPECT_DOUBLE_EQ(jain_index({1, 0, 0, 0}), 0.25);
    EXPECT_DOUBLE_EQ(jain_index({}), 1.0);
}

}  // namespace
}  // namespace motorpool::charging::allocator
