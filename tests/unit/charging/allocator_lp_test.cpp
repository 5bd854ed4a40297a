// The allocator's overloaded share checked against a linear program solved by GLPK (tests only):
// on random small single-period cases (one priority class), the max-min fair allocation maximises t subject to
// p_i >= t * w_i * need_i, p_i <= need_i, sum p_i <= C. The allocator must reach the same t, and
// so the same powers.

#include <numeric>
#include <random>

#include <glpk.h>
#include <gtest/gtest.h>

#include "charging/allocator.hpp"

namespace motorpool::charging::allocator {
namespace {

// max t  s.t.  p_i - t*w_i*need_i >= 0,  p_i <= need_i,  sum p_i <= C,  p, t >= 0
std::vector<double> lp_max_min(const std::vector<double>& need, const std::vector<double>& weight, double capacity) {
    const int n = static_cast<int>(need.size());
    glp_prob* lp = glp_create_prob();
    glp_set_obj_dir(lp, GLP_MAX);
    glp_add_cols(lp, n + 1);  // p_1..p_n, t
    for (int i = 1; i <= n; ++i) {
        glp_set_col_bnds(lp, i, GLP_DB, 0.0, need[static_cast<std::size_t>(i - 1)]);
        glp_set_obj_coef(lp, i, 1e-6);  // among the fairest, the most energy
    }
    glp_set_col_bnds(lp, n + 1, GLP_LO, 0.0, 0.0);
    glp_set_obj_coef(lp, n + 1, 1.0);
    glp_add_rows(lp, n + 1);
    std::vector<int> ia{0}, ja{0};
    std::vector<double> ar{0};
    for (int i = 1; i <= n; ++i) {
        glp_set_row_bnds(lp, i, GLP_LO, 0.0, 0.0);
        ia.push_back(i), ja.push_back(i), ar.push_back(1.0);
        ia.push_back(i), ja.push_back(n + 1),
            ar.push_back(-weight[static_cast<std::size_t>(i - 1)] * need[static_cast<std::size_t>(i - 1)]);
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
    std::vector<double> p;
    for (int i = 1; i <= n; ++i) {
        p.push_back(glp_get_col_prim(lp, i));
    }
    glp_delete_prob(lp);
    return p;
}

TEST(AllocatorLpTest, OverloadedSharesMatchTheMaxMinLinearProgram) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (int round = 0; round < 300; ++round) {
        const int n = 2 + static_cast<int>(rng() % 8);
        std::vector<Car> cars;
        std::vector<double> need, weight;
        for (int i = 0; i < n; ++i) {
            // Long windows: nothing is lost by waiting, so the shares of need alone decide.
            Car c{std::to_string(i), 22, 0, 1 + unit(rng) * 40, 0, 1.0};
            c.hours_left = c.remaining_kwh / c.max_kw + 1 + unit(rng) * 8;
            cars.push_back(c);
            need.push_back(c.remaining_kwh / c.hours_left);
            weight.push_back(c.weight);
        }
        const double total = std::accumulate(need.begin(), need.end(), 0.0);
        const double capacity = total * (0.2 + 0.7 * unit(rng));  // overloaded
        auto plan = allocate(cars, capacity, 5.0 / 60);
        auto lp = lp_max_min(need, weight, capacity);
        // The LP's level: min over cars of p_i / (w_i need_i).
        double lp_level = 1e9, our_level = 1e9;
        for (int i = 0; i < n; ++i) {
            const auto k = static_cast<std::size_t>(i);
            lp_level = std::min(lp_level, lp[k] / (weight[k] * need[k]));
            our_level = std::min(our_level, plan[k].kw / (weight[k] * need[k]));
        }
        EXPECT_NEAR(our_level, lp_level, 1e-6) << "round " << round;
        for (int i = 0; i < n; ++i) {
            EXPECT_NEAR(plan[static_cast<std::size_t>(i)].kw, lp[static_cast<std::size_t>(i)], 1e-5)
                << "round " << round;
        }
    }
}

}  // namespace
}  // namespace motorpool::charging::allocator
