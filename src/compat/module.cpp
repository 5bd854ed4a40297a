#include "compat/module.hpp"

#include <stdexcept>

#include <spdlog/spdlog.h>

#include "surfaces.hpp"

namespace motorpool::compat {

std::vector<RouteKey> surface_routes(std::string_view surface) {
    using http::Method;
    if (surface == "vehicle-catalog") {
        return catalog_routes();
    }
    // The surfaces not served yet: the routes that decide collisions, from the originals'
    // documentation (each list becomes its surface's own as it lands).
    if (surface == "smartcar-webhooks") {
        return webhooks_routes();
    }
    if (surface == "membership-auto") {
        return membership_routes();
    }
    if (surface == "smartcar-integration") {
        return integration_routes();
    }
    if (surface == "charging-balancer") {
        return balancer_routes();
    }
    return {};
}

namespace {

/// Surfaces served so far (issue 20 lands them one by one).
bool served(std::string_view surface) {
    return surface == "vehicle-catalog" || surface == "smartcar-webhooks" || surface == "smartcar-integration" ||
           surface == "membership-auto" || surface == "charging-balancer";
}

}  // namespace

void Module::configure(core::Settings& s) {
    s.module("compat");
    const std::string text = s.string("MOTORPOOL_COMPAT",
                                      "",
                                      "The original services' APIs to serve: NAME[@/prefix],… or all (off by default; "
                                      "docs/compatibility.md)");
    options_.catalog_public = s.boolean("MOTORPOOL_COMPAT_CATALOG_PUBLIC",
                                        true,
                                        "vehicle-catalog: reading the catalog needs no token (as the original)");
    options_.default_cluster =
        s.string("GRID_CLUSTER_ID",
                 "",
                 "charging-balancer: the grid cluster a request naming none is for (the original's setting)");
    try {
        std::vector<Mount> wanted;
        for (auto& m : parse_mounts(text)) {
            if (served(m.surface)) {
                wanted.push_back(std::move(m));
            } else if (!m.from_all) {
                throw std::invalid_argument(m.surface + " is not served yet");
            }
        }
        std::vector<std::string> skipped;
        options_.mounts = resolve_collisions(std::move(wanted), skipped);
        for (const auto& line : skipped) {
            spdlog::warn("MOTORPOOL_COMPAT: {}", line);
        }
    } catch (const std::invalid_argument& e) {
        s.fail("MOTORPOOL_COMPAT", e.what());
    }
}

void Module::install(platform::Context& context) {
    for (const auto& m : options_.mounts) {
        if (m.surface == "vehicle-catalog") {
            install_catalog(context.router, m.prefix, options_.catalog_public);
        } else if (m.surface == "smartcar-webhooks") {
            install_webhooks(context.router, m.prefix);
        } else if (m.surface == "smartcar-integration") {
            install_integration(context.router, m.prefix, context.clock);
        } else if (m.surface == "membership-auto") {
            install_membership(context.router, m.prefix);
            install_membership_chat(context.router, live_.hub(), m.prefix);
        } else if (m.surface == "charging-balancer") {
            install_balancer(context.router, m.prefix, options_.default_cluster);
        }
        spdlog::info("compat: {} served at {}", m.surface, m.prefix.empty() ? "/" : m.prefix);
    }
}

}  // namespace motorpool::compat
