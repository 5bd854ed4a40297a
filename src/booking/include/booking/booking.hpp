#pragma once
// The booking module's public face: its migrations (src/booking/migrations). Routes: the service
// catalogue, locations with opening hours and closures, availability, appointments, and a
// vehicle's service history; installed by booking::Module.

#include <vector>

#include "db/db.hpp"

namespace motorpool::booking {

std::vector<db::Migration> migrations(db::Dialect dialect);

}  // namespace motorpool::booking
