#pragma once
// The abuse-detection job (charging.abuse, one node): members who occupy a connector long after
// their car stopped charging, and members who ask for far more energy than they take, time after
// time. Exceeding the emergency allowance is flagged when it happens (request_routes.cpp).

#include <cstdint>

namespace motorpool::charging {

struct Services;

struct AbuseRules {
    std::int64_t idle_ms = 30LL * 60 * 1000;  // plugged in, not charging, this long
    double over_request_ratio = 2;            // asked at least this many times what was taken ...
    double over_request_min_kwh = 5;          // ... and this much more
    std::int64_t over_request_count = 3;      // in this many requests within 30 days
};

/// One pass; returns the alerts raised. Blocking (a worker thread).
std::size_t detect_abuse(Services& services, const AbuseRules& rules);

}  // namespace motorpool::charging
