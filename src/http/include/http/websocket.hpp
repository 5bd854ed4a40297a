#pragma once
// A server-side WebSocket handed to a route's handler after the upgrade (RFC 6455).
// Reads and writes may run concurrently (one of each at a time) on the connection's executor.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

namespace motorpool::http {

class WebSocket {
public:
    struct Impl;
    explicit WebSocket(std::unique_ptr<Impl> impl);
    ~WebSocket();
    WebSocket(const WebSocket&) = delete;
    WebSocket& operator=(const WebSocket&) = delete;

    struct Message {
        std::string data;
        bool text = true;
    };

    /// The next message, or nullopt when the peer closed, the read failed or timed out;
    /// then error() says why (websocket::error::closed, buffer_overflow for > max size, ...).
    boost::asio::awaitable<std::optional<Message>> read();
    /// Sends one text message; false when the connection is gone.
    boost::asio::awaitable<bool> write(std::string text);
    /// Sends a close frame with a status code (1000 normal, 1008 policy, 1009 too big, 1013 try later).
    boost::asio::awaitable<void> close(std::uint16_t code, std::string reason = {});

    /// Maximum size of one incoming message; larger ones close the connection with 1009.
    void set_read_limit(std::size_t bytes);
    /// The server pings an idle peer and drops it when nothing arrives within `timeout`.
    void set_idle_timeout(std::chrono::seconds timeout);
    /// Closes the TCP connection at once (no close frame): pending reads and writes fail. For a
    /// peer that does not read, to which no close frame could be delivered.
    void abort();
    boost::system::error_code error() const;
    bool is_open() const;
    boost::asio::any_io_executor executor() const;
    const std::string& remote_address() const;
    /// The subprotocol agreed at the upgrade (RouteOptions::subprotocols); empty when none.
    const std::string& subprotocol() const;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace motorpool::http
