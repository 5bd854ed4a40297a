#pragma once
// The membership module's public face: its migrations, and a member's price for a service under
// their plan (the booking module's pricing hook).

#include <cstdint>
#include <string>
#include <vector>

#include "db/db.hpp"

namespace motorpool::membership {

std::vector<db::Migration> migrations(db::Dialect dialect);

struct MemberPrice {
    std::int64_t price_cents = 0;
    bool included = false;
};
/// Included (free) while the member's current plan covers the service and its yearly allowance
/// (membership years from the day they joined) is not used up at `at_ms`; the list price otherwise.
MemberPrice price_for(db::Connection& c,
                      std::int64_t user_id,
                      const std::string& service_code,
                      std::int64_t list_price_cents,
                      std::int64_t at_ms);

/// Development: the basic, plus and premium plans and two offers, on an empty plan list. True when
/// it created them.
bool ensure_demo_plans(db::Database& database, std::int64_t now_ms);

}  // namespace motorpool::membership
