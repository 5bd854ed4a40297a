#!/usr/bin/env bash
# The allocator on the shared Caltech sessions (954 of March 2019, 6.6 kW EVSEs) at several
# capacities: `motorpool charging replay` per capacity, against the offline optimum GLPK computes
# with every session known in advance (build/bench/charging_optimum: the most energy, and the
# max-min fair plan's minimum satisfaction). The issue's goal, from 15 kW up: >= 99.5 % of the
# optimum's energy, minimum satisfaction >= 0.9 x the max-min plan's, Jain >= 0.95.
#   bench/charging_replay.sh                 CAPACITIES="10 15 20 30" by default
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_build motorpool charging_optimum
data=${DATA:-../shared/data/caltech_acn_2019-03_sessions.csv}
printf '%-8s %-11s %-11s %-12s %-7s %-9s %-12s %-9s %s\n' capacity delivered% optimum% of-optimum% jain min-sat maxmin-sat of-maxmin "re-plan p50/p99/max µs"
for c in ${CAPACITIES:-10 15 20 30}; do
  json=$(build/motorpool charging replay "$data" --capacity-kw "$c")
  optimum=$(build/bench/charging_optimum "$data" "$c")
  python3 - "$c" "$json" "$optimum" <<'PY'
import json, sys
c, r, o = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
share = 100 * r["delivered_kwh"] / o["optimum_kwh"]
fair = r["min_satisfaction"] / o["maxmin_min_satisfaction"] if o["maxmin_min_satisfaction"] > 0 else 0
t = r["replan_us"]
print(f"{c + ' kW':<8} {r['delivered_pct']:<11.2f} {o['optimum_pct']:<11.2f} {share:<12.2f} {r['jain']:<7.3f} "
      f"{r['min_satisfaction']:<9.3f} {o['maxmin_min_satisfaction']:<12.3f} {fair:<9.2f} {t['p50']}/{t['p99']}/{t['max']}")
PY
done
