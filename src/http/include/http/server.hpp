#pragma once
// The HTTP/1.1 + WebSocket server: one io_context per I/O thread, one acceptor spreading
// connections round-robin, coroutine sessions, graceful shutdown.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/metrics.hpp"
#include "http/router.hpp"

namespace motorpool::core {
class WorkerPool;
}  // namespace motorpool::core

namespace motorpool::http {

/// One answer as the server sent it, for a test observer (the OpenAPI response check).
struct ResponseSeen {
    Method method = Method::Get;
    std::string_view route;  // the matched pattern; "" when no route matched
    int status = 0;
    std::string_view content_type;
    std::string_view body;
};

struct ServerOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;  // 0: ephemeral (tests), read back with Server::port()
    int io_threads = 1;
    int max_connections = 10000;
    std::size_t max_header_bytes = std::size_t{16} * 1024;
    std::chrono::milliseconds read_timeout{30'000};  // from the first byte of a request to its last
    std::chrono::milliseconds idle_timeout{75'000};  // keep-alive wait for the next request
    std::chrono::milliseconds write_timeout{30'000};
    std::chrono::milliseconds shutdown_grace{10'000};
    bool access_log = true;
    std::string spool_directory;           // streamed request bodies past their route's threshold; "": TMPDIR or /tmp
    core::WorkerPool* blocking = nullptr;  // runs the file writes of streamed bodies off the I/O threads
    /// Called with every answer a route produced (tests only: empty in production).
    std::function<void(const ResponseSeen&)> response_observer;
};

class Server {
public:
    Server(ServerOptions options, Router& router, core::MetricsRegistry& metrics);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds and listens (the port is known after it) without running anything yet: what must be
    /// set up with the port (the Smartcar redirect origin) is set before any I/O thread reads it.
    /// Throws std::runtime_error when the address is taken.
    void listen();
    /// Listens if listen() was not called, then starts the I/O threads.
    void start();
    std::uint16_t port() const;

    /// Graceful stop: stop accepting, close idle keep-alive connections, let in-flight requests
    /// finish within shutdown_grace, then close what remains and join the I/O threads.
    /// Idempotent; callable from any thread except an I/O thread. The io_contexts live on until
    /// the Server is destroyed, so threads that hold their executors (workers) must be joined first.
    void shutdown();

    /// True once shutdown() began: new requests on open connections get Connection: close.
    bool draining() const;

    /// Blocks until SIGINT or SIGTERM, then calls shutdown().
    void run_until_signal();

    /// Runs `fn` on an I/O thread's executor (tests, background coroutines of modules).
    boost::asio::any_io_executor executor();

private:
    struct State;
    std::shared_ptr<State> state_;
};

}  // namespace motorpool::http
