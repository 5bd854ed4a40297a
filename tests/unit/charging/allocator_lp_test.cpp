// The allocator's overloaded step checked against a linear program solved by GLPK (tests only):
// on random small single-period cases, the energy at risk goes first by max-min on projected
// satisfaction, so the lowest weighted projected satisfaction the allocator reaches must equal the
// LP's optimum: max t subject to base_i + q_i * dt / requested_i >= w_i * t, 0 <= q_i <= at_risk_i,
// sum q_i <= C (base, at_risk: the allocator's definitions, restated here as the specification).
#include <numeric>
#include <random>

#include <glpk.h>
#include <gtest/gtest.h>

#include "charging/allocator.hpp"

namespace motorpool::charging::allocator {
namespace {

struct Spec {
    std::vector<double> base, at_risk, requested, weight;
};

// What the allocator computes per car (allocator.cpp), from the header's definitions.
Spec spec_of(const std::vector<Car>& cars, double capacity, double dt) {
    Spec s;
    const double even = capacity / static_cast<double>(cars.size());
    for (const Car& c : cars) {
        const double most = std::min(c.max_kw, c.remaining_kwh / dt);
        const double requested = std::max(c.requested_kwh, c.remaining_kwh);
        const double later =
            std::min(c.remaining_kwh, std::min(c.max_kw, kContendedShare * even) * std::max(0.0, c.hours_left - dt));
        s.base.push_back((requested - c.remaining_kwh + later) / requested);
        s.at_risk.push_back(std::min(most, (c.remaining_kwh - later) / dt));
        s.requested.push_back(requested);
        s.weight.push_back(c.weight);
    }
    return s;
}

// max t  s.t.  base_i + q_i * dt / r_i - w_i * t >= 0,  0 <= q_i <= at_risk_i,  sum q_i <= C
double lp_max_min(const Spec& s, double capacity, double dt) {
    const int n = static_cast<int>(s.base.size());
    glp_prob* lp = glp_create_prob();
    glp_set_obj_dir(lp, GLP_MAX);
    glp_add_cols(lp, n + 1);  // q_1..q_n, t
    for (int i = 1; i <= n; ++i) {
        const double cap = s.at_risk[static_cast<std::size_t>(i - 1)];
        glp_set_col_bnds(lp, i, cap > 0 ? GLP_DB : GLP_FX, 0.0, std::max(cap, 0.0));
    }
    glp_set_col_bnds(lp, n + 1, GLP_LO, 0.0, 0.0);
    glp_set_obj_coef(lp, n + 1, 1.0);
    glp_add_rows(lp, n + 1);
    std::vector<int> ia{0}, ja{0};
    std::vector<double> ar{0};
    for (int i = 1; i <= n; ++i) {
        const auto k = static_cast<std::size_t>(i - 1);
        glp_set_row_bnds(lp, i, GLP_LO, -s.base[k], 0.0);
        ia.push_back(i), ja.push_back(i), ar.push_back(dt / s.requested[k]);
        ia.push_back(i), ja.push_back(n + 1), ar.push_back(-s.weight[k]);
    }
    glp_set_row_bnds(lp, n + 1, GLP_UP, 0.0, capacity);
    for (int i = 1; i <= n; ++i) {
        ia.push_back(n + 1), ja.push_back(i), ar.push_back(1.0);
    }
    glp_load_matrix(lp, static_cast<int>(ia.size()) - 1, ia.data(), ja.data(), ar.data());
    glp_smcp params;
    glp_init_smcp(&params);
    params.msg_lev = GLP_MSG_OFF;
    EXPECT_EQ(glp_simplex(lp, &params), 0);
    const double t = glp_get_obj_val(lp);
    glp_delete_prob(lp);
    return t;
}

TEST(AllocatorLpTest, TheEnergyAtRiskGoesByMaxMinProjectedSatisfaction) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    const double dt = 5.0 / 60;
    int checked = 0;
    for (int round = 0; round < 400; ++round) {
        const int n = 2 + static_cast<int>(rng() % 8);
        std::vector<Car> cars;
        for (int i = 0; i < n; ++i) {
            Car c{std::to_string(i),
                  7 + unit(rng) * 15,
                  0,
                  1 + unit(rng) * 40,
                  0.2 + unit(rng) * 6,
                  rng() % 4 == 0 ? 4.0 : 1.0};
            c.requested_kwh = c.remaining_kwh + unit(rng) * 20;  // some already charged
            cars.push_back(c);
        }
        const double capacity = 1 + unit(rng) * 20;
        const Spec s = spec_of(cars, capacity, dt);
        if (std::accumulate(s.at_risk.begin(), s.at_risk.end(), 0.0) <= capacity) {
            continue;  // the step is not binding: every car gets its energy at risk
        }
        auto plan = allocate(cars, capacity, dt);
        double ours = 1e9;
        for (int i = 0; i < n; ++i) {
            const auto k = static_cast<std::size_t>(i);
            const double q = std::min(plan[k].kw, std::max(0.0, s.at_risk[k]));
            ours = std::min(ours, (s.base[k] + q * dt / s.requested[k]) / s.weight[k]);
        }
        EXPECT_NEAR(ours, lp_max_min(s, capacity, dt), 1e-6) << "round " << round;
        EXPECT_LE(
            std::accumulate(plan.begin(), plan.end(), 0.0, [](double a, const Allocation& x) { return a + x.kw; }),
            capacity + 1e-9);
        ++checked;
    }
    EXPECT_GT(checked, 100);
}

}  // namespace
}  // namespace motorpool::charging::allocator
