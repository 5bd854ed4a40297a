#!/usr/bin/env bash
# The allocator on the shared Caltech sessions (954 of March 2019, 6.6 kW EVSEs) at several
# capacities: `motorpool charging replay` per capacity, then the share of the offline optimum's
# energy the issue quotes (59.1 / 75.0 / 88.6 / 99.3 % of the requested energy at 10 / 15 / 20 /
# 30 kW). The optimum computed here with GLPK is the next step (docs/performance.md).
#   bench/charging_replay.sh                 CAPACITIES="10 15 20 30" by default
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
bench_build motorpool
data=${DATA:-../shared/data/caltech_acn_2019-03_sessions.csv}
declare -A optimum=([10]=59.1 [15]=75.0 [20]=88.6 [30]=99.3)
printf '%-8s %-12s %-12s %-8s %-10s %s\n' capacity delivered% of-optimum% jain min-sat "re-plan p50/p99/max µs"
for c in ${CAPACITIES:-10 15 20 30}; do
  json=$(build/motorpool charging replay "$data" --capacity-kw "$c")
  python3 - "$c" "${optimum[$c]:-0}" "$json" <<'PY'
import json, sys
c, opt, r = sys.argv[1], float(sys.argv[2]), json.loads(sys.argv[3])
share = f"{100 * r['delivered_pct'] / opt:.2f}" if opt else "-"
t = r["replan_us"]
print(f"{c + ' kW':<8} {r['delivered_pct']:<12.2f} {share:<12} {r['jain']:<8.3f} {r['min_satisfaction']:<10.3f} {t['p50']}/{t['p99']}/{t['max']}")
PY
done
