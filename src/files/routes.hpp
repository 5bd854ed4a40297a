#pragma once
// What the files module's routes share, and their installation.

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/time.hpp"
#include "db/db.hpp"
#include "files/module.hpp"
#include "http/router.hpp"

namespace motorpool::files {

struct Services {
    db::Database& database;
    std::shared_ptr<core::Clock> clock;
    FileOptions options;
    std::string signing_key;  // derived from the server's secret key
    std::string public_url;   // absolute URLs: "https://motorpool.example"
    std::vector<Purpose> purposes;

    // Presigns per user in the last minute (this node's count).
    std::mutex rate_mutex;
    std::map<std::int64_t, std::vector<std::int64_t>> recent_presigns;
};

void install_routes(http::Router& router, const std::shared_ptr<Services>& services);
/// Pending uploads whose URL expired more than an hour ago are forgotten; how many.
std::size_t forget_expired_uploads(Services& services);

}  // namespace motorpool::files
