#pragma once
// What the files module's routes share, and their installation.

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/rate_limit.hpp"
#include "core/time.hpp"
#include "db/db.hpp"
#include "files/module.hpp"
#include "http/router.hpp"
#include "local_store.hpp"

namespace motorpool::files {

struct Services {
    Services(db::Database& database,
             std::shared_ptr<core::Clock> clock,
             FileOptions options,
             std::vector<Purpose> purposes,
             std::shared_ptr<LocalStorage> local,
             std::shared_ptr<S3Storage> s3,
             std::vector<Referrer> referrers);

    db::Database& database;
    std::shared_ptr<core::Clock> clock;
    FileOptions options;
    std::vector<Purpose> purposes;
    std::shared_ptr<LocalStorage> local;  // always: files stored locally stay readable after a switch
    std::shared_ptr<S3Storage> s3;        // when configured
    Storage* primary;                     // where new files go
    std::vector<Referrer> referrers;

    /// The backend a file's row names (503 when it is S3 and S3 is not configured any more).
    Storage& storage(const std::string& name) const;

    // Presigns per user per minute (this node's count).
    core::RateLimiter presigns;
};

void install_routes(http::Router& router, const std::shared_ptr<Services>& services);

struct Cleanup {
    std::size_t expired = 0;       // uploads never made, forgotten an hour after their URL expired
    std::size_t unreferenced = 0;  // files of a referred purpose nothing refers to, a day after upload
    std::size_t removed = 0;       // stored objects removed (queued removals done)
};
/// The cleanup job's pass; also removes the stored bytes still queued for removal.
Cleanup clean_up(Services& services);
/// Removes the stored objects queued in file_removals (at most `limit`); how many were removed.
std::size_t process_removals(Services& services, std::size_t limit);

}  // namespace motorpool::files
