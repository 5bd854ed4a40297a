#pragma once
// The http module's settings: where the server listens and the limits every request meets.

#include "core/config.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

namespace motorpool::http {

struct Settings {
    ServerOptions server;  // io_threads 0: one per core (resolved by the App)
    RouterOptions router;
};

/// Declares and reads MOTORPOOL_HOST, PORT, CORS_ORIGINS, the I/O threads and the request limits.
Settings load_settings(core::Settings& settings);

}  // namespace motorpool::http
