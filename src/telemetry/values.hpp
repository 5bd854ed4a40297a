#pragma once
// Private to telemetry: a stored value as JSON, and its unit-aware rendering.

#include <optional>
#include <string>

#include <boost/json/value.hpp>

#include "telemetry/telemetry.hpp"

namespace motorpool::telemetry {

/// The API form of a stored value: a number, a boolean, a string, or an object (location).
boost::json::value value_json(const SignalInfo& signal,
                              const std::optional<double>& number,
                              const std::optional<std::string>& text);

}  // namespace motorpool::telemetry
