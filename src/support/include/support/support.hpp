#pragma once
// The support module's public face: its migrations (src/support/migrations).

#include <vector>

#include "db/db.hpp"

namespace motorpool::support {

std::vector<db::Migration> migrations(db::Dialect dialect);

}  // namespace motorpool::support
