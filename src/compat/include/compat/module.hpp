#pragma once
// The original services' APIs, mounted on demand (MOTORPOOL_COMPAT=NAME[@/prefix],…) as thin
// translation layers: each surface rewrites a request into motorpool's own route, dispatches it
// through the router (so authentication, validation, access policy and the data path are
// motorpool's), and rewrites the answer into the original's shapes. No SQL, no business rule.

#include <string>
#include <string_view>
#include <vector>

#include "http/request.hpp"
#include "live/module.hpp"
#include "platform/module.hpp"

namespace motorpool::compat {

/// The surfaces, in the order `all` mounts them.
inline constexpr std::string_view kSurfaces[] = {
    "smartcar-webhooks", "smartcar-integration", "membership-auto", "charging-balancer", "vehicle-catalog"};

/// One surface mounted at a prefix ("" or "/catalog").
struct Mount {
    std::string surface;
    std::string prefix;
    bool from_all = false;  // turned on by `all` (skipped, not fatal, when it collides)
};

/// Parses MOTORPOOL_COMPAT: comma-separated NAME or NAME@/prefix, or `all` (every surface not
/// named otherwise). Throws std::invalid_argument naming the bad item.
std::vector<Mount> parse_mounts(std::string_view text);

/// A route a surface serves, for the collision check.
struct RouteKey {
    http::Method method;
    std::string path;  // pattern, {param} segments
};

/// The routes `surface` serves at its root (what mounting adds a prefix to). Surfaces whose routes
/// are not served yet list none.
std::vector<RouteKey> surface_routes(std::string_view surface);

/// Drops mounts from `all` that collide with another, and throws std::invalid_argument naming
/// both surfaces and the path when two explicitly named mounts claim the same method and path (a
/// trailing slash does not make a path different). The mounts kept, in order; `skipped` receives
/// a line per mount dropped.
std::vector<Mount> resolve_collisions(std::vector<Mount> mounts, std::vector<std::string>& skipped);

struct CompatOptions {
    std::vector<Mount> mounts;
    bool catalog_public = true;   // MOTORPOOL_COMPAT_CATALOG_PUBLIC: reading the catalog needs no token
    std::string default_cluster;  // GRID_CLUSTER_ID: charging-balancer's cluster when a request names none
};

class Module final : public platform::Module {
public:
    /// `live`: the WebSocket hub the membership app's chat socket speaks through.
    explicit Module(live::Module& live) : live_(live) {}
    std::string_view name() const override { return "compat"; }
    void configure(core::Settings& settings) override;
    void install(platform::Context& context) override;

private:
    live::Module& live_;
    CompatOptions options_;
};

}  // namespace motorpool::compat
