#include "abuse.hpp"

#include <cmath>
#include <vector>

#include "alerts.hpp"
#include "routes.hpp"

namespace motorpool::charging {

std::size_t detect_abuse(Services& s, const AbuseRules& rules) {
    const std::int64_t now = s.clock->now_ms();
    std::vector<std::pair<std::string, Alert>> raised;
    s.database.with_transaction([&](db::Connection& c) {
        // Idle occupancy: a connector Finishing or SuspendedEV for a long time with its session open.
        auto idle = c.query(
            "SELECT s.id, s.user_id, ch.id, ch.identity, s.connector_id, ch.cluster_id, cc.status_at_ms FROM "
            "charging_sessions s JOIN chargers ch ON ch.id = s.charger_id JOIN charger_connectors cc ON cc.charger_id "
            "= "
            "s.charger_id AND cc.connector_id = s.connector_id WHERE s.stopped_at_ms IS NULL AND cc.status IN "
            "('Finishing', 'SuspendedEV') AND cc.status_at_ms < $1",
            {now - rules.idle_ms});
        for (std::size_t i = 0; i < idle.size(); ++i) {
            auto r = idle.row(i);
            Alert a;
            a.kind = "idle_occupancy";
            a.severity = "info";
            a.user_id = r.opt_int64(1);
            a.charger_id = r.int64(2);
            a.cluster_id = r.opt_int64(5);
            a.session_id = r.int64(0);
            a.message = "Connector " + std::to_string(r.int64(4)) + " of " + r.text(3) + " is occupied " +
                        std::to_string((now - r.int64(6)) / 60'000) + " min after its car stopped charging";
            a.dedupe_key = "idle_occupancy:" + std::to_string(r.int64(0));
            if (auto id = raise_alert(c, a, now)) {
                raised.emplace_back(*id, std::move(a));
            }
        }
        // Over-requesting: completed requests that took far less than they asked for.
        auto over = c.query(
            "SELECT user_id, COUNT(*) FROM charging_requests WHERE status = 'completed' AND user_id IS NOT NULL AND "
            "kind = 'slot' AND updated_at_ms > $1 AND energy_kwh >= delivered_kwh * $2 AND energy_kwh - delivered_kwh "
            ">= $3 GROUP BY user_id HAVING COUNT(*) >= $4",
            {now - 30LL * 24 * 3600 * 1000,
             rules.over_request_ratio,
             rules.over_request_min_kwh,
             rules.over_request_count});
        for (std::size_t i = 0; i < over.size(); ++i) {
            auto r = over.row(i);
            Alert a;
            a.kind = "over_request";
            a.severity = "info";
            a.user_id = r.int64(0);
            a.message = std::to_string(r.int64(1)) +
                        " charging requests in 30 days asked for far more energy than the car took";
            a.dedupe_key = "over_request:" + std::to_string(r.int64(0)) + ":" + std::to_string(now / 86'400'000);
            if (auto id = raise_alert(c, a, now)) {
                raised.emplace_back(*id, std::move(a));
            }
        }
    });
    for (const auto& [id, alert] : raised) {
        publish_alert(s.events, id, alert, now);
    }
    return raised.size();
}

}  // namespace motorpool::charging
