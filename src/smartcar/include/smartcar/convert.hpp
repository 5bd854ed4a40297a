#pragma once
// Smartcar's data in our catalog's terms. v2 answers (batch items) carry fractions (0..1) that
// become percent; signals (v3 API and v4 webhooks) already carry percent. Units are converted to
// the catalog's (km, kWh, kW, minutes). Parsing is lenient where Smartcar's documentation and its
// real traffic disagree (shared/design/SMARTCAR.md §4.5): unknown signals and failed ones are
// skipped, never an error.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "telemetry/telemetry.hpp"

namespace motorpool::smartcar {

/// The v2 paths one poll asks for in a single batch request.
const std::vector<std::string>& poll_paths();

/// Samples from one v2 batch answer (or a legacy webhook's per-vehicle data list): items of
/// {path, code, body, headers}. Each item's sc-data-age times its values, else `fallback_ms`.
std::vector<telemetry::Sample> samples_from_v2(const boost::json::array& items,
                                               std::int64_t vehicle_id,
                                               telemetry::Source source,
                                               std::int64_t fallback_ms);

/// Samples from signals in v4 webhook form ({code, body, meta, status}) or v3 resource form
/// ({id, attributes: {code, body, status}, meta}). Timed by meta.oemUpdatedAt, then
/// retrievedAt / fetchedAt, then `fallback_ms`.
std::vector<telemetry::Sample> samples_from_signals(const boost::json::array& signals,
                                                    std::int64_t vehicle_id,
                                                    telemetry::Source source,
                                                    std::int64_t fallback_ms);

/// A timestamp as Smartcar writes one: epoch milliseconds (number or digits) or RFC 3339.
std::optional<std::int64_t> parse_time(const boost::json::value* value);

}  // namespace motorpool::smartcar
