#pragma once
// The surfaces the compat module mounts: their routes (for the collision check) and installation.

#include <string>
#include <vector>

#include "compat/module.hpp"
#include "http/router.hpp"

namespace motorpool::compat {

std::vector<RouteKey> catalog_routes();
/// vehicle-catalog at `prefix`; `public_read`: reading needs no token.
void install_catalog(http::Router& router, const std::string& prefix, bool public_read);

}  // namespace motorpool::compat
