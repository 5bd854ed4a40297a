#pragma once
// Membership periods in UTC calendar months (a period that starts on the 31st ends on the last day
// of a shorter month), and membership years from the day a member joined.

#include <cstdint>

#include "core/time_zone.hpp"

namespace motorpool::membership {

std::int64_t add_months(std::int64_t utc_ms, int months);
/// The start of the membership year (anniversaries of `started_ms`) that holds `at_ms`.
std::int64_t membership_year_start(std::int64_t started_ms, std::int64_t at_ms);

}  // namespace motorpool::membership
