#include "alerts.hpp"

#include <boost/json.hpp>

#include "core/event_bus.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/time.hpp"

namespace motorpool::charging {

using db::nullable;

namespace {}  // namespace

std::optional<std::string> raise_alert(db::Connection& c, const Alert& a, std::int64_t now) {
    const std::string id = core::new_uuid_v7(now);
    auto rows = c.query(
        "INSERT INTO charging_alerts (public_id, kind, severity, user_id, cluster_id, charger_id, session_id, message, "
        "dedupe_key, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (dedupe_key) DO "
        "NOTHING "
        "RETURNING public_id",
        {id,
         a.kind,
         a.severity,
         nullable(a.user_id),
         nullable(a.cluster_id),
         nullable(a.charger_id),
         nullable(a.session_id),
         a.message,
         a.dedupe_key,
         now});
    if (rows.empty()) {
        return std::nullopt;
    }
    return id;
}

void publish_alert(core::EventBus& events, const std::string& public_id, const Alert& a, std::int64_t now) {
    events.publish({"charging.alerts",
                    "ALERT",
                    core::to_json_text(boost::json::object{{"id", public_id},
                                                           {"kind", a.kind},
                                                           {"severity", a.severity},
                                                           {"message", a.message},
                                                           {"created_at", core::format_rfc3339(now)}})});
}

}  // namespace motorpool::charging
