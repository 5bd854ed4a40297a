// The offline optimum of a sessions CSV (the format of shared/data/caltech_acn_2019-03_sessions.csv)
// under a capacity, solved by GLPK with every session known in advance: the most energy that could
// be delivered by the departures, and the max-min fair plan's minimum satisfaction (delivered /
// requested), each a linear program over every session's 5-minute periods. What
// bench/charging_replay.sh compares the online allocator with.
//   build/bench/charging_optimum FILE.csv CAPACITY_KW [MAX_POWER_KW=6.6]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <glpk.h>

#include "charging/replay.hpp"

namespace {

using motorpool::charging::allocator::ReplaySession;

struct Model {
    std::vector<int> ia{0}, ja{0};
    std::vector<double> ar{0};
    void add(int row, int col, double value) {
        ia.push_back(row);
        ja.push_back(col);
        ar.push_back(value);
    }
};

constexpr double kHours = 5.0 / 60.0;  // one period

/// Builds the shared part: a column per (session, period) bounded by the session's maximum, a
/// capacity row per period, an energy row per session (<= requested). Returns the first column of
/// each session. `fair` adds a column t and rows energy_i - t * requested_i >= 0.
double solve(
    const std::vector<ReplaySession>& sessions, double capacity, double max_power, bool fair, double& seconds) {
    const auto started = std::chrono::steady_clock::now();
    glp_prob* lp = glp_create_prob();
    glp_set_obj_dir(lp, GLP_MAX);
    std::int64_t first = sessions.front().arrival_period, last = sessions.front().departure_period;
    for (const auto& s : sessions) {
        first = std::min(first, s.arrival_period);
        last = std::max(last, s.departure_period);
    }
    const int periods = static_cast<int>(last - first);
    int columns = 0;
    for (const auto& s : sessions) {
        columns += static_cast<int>(s.departure_period - s.arrival_period);
    }
    const int t_col = columns + 1;
    glp_add_cols(lp, columns + (fair ? 1 : 0));
    const int n = static_cast<int>(sessions.size());
    // Rows: periods capacity rows, then n energy rows (<= requested), then n fairness rows.
    glp_add_rows(lp, periods + n + (fair ? n : 0));
    for (int t = 1; t <= periods; ++t) {
        glp_set_row_bnds(lp, t, GLP_UP, 0.0, capacity);
    }
    Model m;
    int col = 0;
    for (int i = 0; i < n; ++i) {
        const auto& s = sessions[static_cast<std::size_t>(i)];
        const double cap = std::min(max_power, s.max_kw);
        const int energy_row = periods + 1 + i;
        glp_set_row_bnds(lp, energy_row, GLP_UP, 0.0, s.requested_kwh);
        if (fair) {
            glp_set_row_bnds(lp, periods + n + 1 + i, GLP_LO, 0.0, 0.0);
            m.add(periods + n + 1 + i, t_col, -s.requested_kwh);
        }
        for (std::int64_t p = s.arrival_period; p < s.departure_period; ++p) {
            ++col;
            glp_set_col_bnds(lp, col, GLP_DB, 0.0, cap);
            glp_set_obj_coef(lp, col, fair ? 1e-6 : kHours);  // fair: among the fairest, the most energy
            m.add(static_cast<int>(p - first) + 1, col, 1.0);
            m.add(energy_row, col, kHours);
            if (fair) {
                m.add(periods + n + 1 + i, col, kHours);
            }
        }
    }
    if (fair) {
        glp_set_col_bnds(lp, t_col, GLP_DB, 0.0, 1.0);
        glp_set_obj_coef(lp, t_col, 1.0);
    }
    glp_load_matrix(lp, static_cast<int>(m.ia.size()) - 1, m.ia.data(), m.ja.data(), m.ar.data());
    glp_smcp params;
    glp_init_smcp(&params);
    params.msg_lev = GLP_MSG_ERR;
    params.presolve = GLP_ON;
    const int status = glp_simplex(lp, &params);
    double result = -1;
    if (status == 0 && glp_get_status(lp) == GLP_OPT) {
        result = fair ? glp_get_col_prim(lp, t_col) : glp_get_obj_val(lp);
    }
    glp_delete_prob(lp);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s FILE.csv CAPACITY_KW [MAX_POWER_KW]\n", argv[0]);
        return 2;
    }
    std::ifstream in(argv[1]);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    auto sessions = motorpool::charging::allocator::read_sessions_csv(in);
    const double capacity = std::stod(argv[2]);
    const double max_power = argc > 3 ? std::stod(argv[3]) : 6.6;
    double requested = 0;
    for (const auto& s : sessions) {
        requested += s.requested_kwh;
    }
    double energy_seconds = 0, fair_seconds = 0;
    const double energy = solve(sessions, capacity, max_power, false, energy_seconds);
    const double fair = solve(sessions, capacity, max_power, true, fair_seconds);
    std::printf(
        "{\"capacity_kw\":%g,\"sessions\":%zu,\"requested_kwh\":%.3f,\"optimum_kwh\":%.3f,\"optimum_pct\":%.3f,"
        "\"maxmin_min_satisfaction\":%.4f,\"solve_seconds\":{\"energy\":%.2f,\"maxmin\":%.2f}}\n",
        capacity,
        sessions.size(),
        requested,
        energy,
        100.0 * energy / requested,
        fair,
        energy_seconds,
        fair_seconds);
    return energy < 0 || fair < 0 ? 1 : 0;
}
