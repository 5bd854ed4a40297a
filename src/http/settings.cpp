#include "http/settings.hpp"

namespace motorpool::http {

Settings load_settings(core::Settings& s) {
    Settings out;
    ServerOptions& o = out.server;
    s.module("http");
    o.host = s.string("MOTORPOOL_HOST", "0.0.0.0", "Address to listen on (serve --host wins)");
    o.port = static_cast<std::uint16_t>(
        s.integer("PORT", 8000, 0, 65535, "Port to listen on, 0 for any free one (serve --port wins)"));
    o.io_threads = static_cast<int>(s.integer("MOTORPOOL_IO_THREADS", 0, 0, 256, "I/O threads; 0: one per core"));
    o.max_connections = static_cast<int>(
        s.integer("MOTORPOOL_MAX_CONNECTIONS", o.max_connections, 1, 1'000'000, "Open connections at most"));
    o.max_header_bytes = static_cast<std::size_t>(s.integer("MOTORPOOL_MAX_HEADER_BYTES",
                                                            static_cast<long long>(o.max_header_bytes),
                                                            1024,
                                                            1024LL * 1024,
                                                            "Request line and headers at most (431 beyond)"));
    out.router.default_max_body_bytes =
        static_cast<std::size_t>(s.integer("MOTORPOOL_MAX_BODY_BYTES",
                                           static_cast<long long>(out.router.default_max_body_bytes),
                                           1024,
                                           1024LL * 1024 * 1024,
                                           "Request body at most, for routes without their own limit (413)"));
    o.read_timeout = s.duration("MOTORPOOL_READ_TIMEOUT", o.read_timeout, "A whole request, first byte to last");
    o.idle_timeout = s.duration("MOTORPOOL_IDLE_TIMEOUT", o.idle_timeout, "Keep-alive wait for the next request");
    o.shutdown_grace =
        s.duration("MOTORPOOL_SHUTDOWN_GRACE", o.shutdown_grace, "In-flight requests finish within this at stop");
    out.router.cors_origins = s.list("CORS_ORIGINS", "Comma separated origins browsers may call from; * allows any");
    return out;
}

}  // namespace motorpool::http
