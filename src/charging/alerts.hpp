#pragma once
// Charging alerts (abuse and grid): one row per fact, named by a dedupe key, published on the
// charging.alerts stream for support and admins when first raised.

#include <cstdint>
#include <optional>
#include <string>

#include "db/db.hpp"

namespace motorpool::core {
class EventBus;
}

namespace motorpool::charging {

struct Alert {
    std::string kind;      // emergency_limit, idle_occupancy, over_request, over_limit, profile_rejected, overload
    std::string severity;  // info, warning, critical
    std::optional<std::int64_t> user_id, cluster_id, charger_id, session_id;
    std::string message;
    std::string dedupe_key;  // the same fact raised twice is one alert
};

/// Inserts the alert unless its key exists; the new alert's public id, or nullopt when it existed.
std::optional<std::string> raise_alert(db::Connection& c, const Alert& alert, std::int64_t now_ms);
/// After the commit: tells the charging.alerts stream about a raised alert.
void publish_alert(core::EventBus& events, const std::string& public_id, const Alert& alert, std::int64_t now_ms);

}  // namespace motorpool::charging
