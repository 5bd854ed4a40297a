#pragma once
// The outbound half of a server WebSocket that many producers feed: a bounded queue written by one
// coroutine on the socket's executor, a drop policy for a peer that falls behind, a close that
// first writes what is queued, and a deadline (a token's expiry) at which it closes by itself.
// Every method runs on the socket's executor (its I/O thread); producers elsewhere post to it.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/metrics.hpp"
#include "http/websocket.hpp"

namespace motorpool::http {

class WebSocketSender {
public:
    struct Options {
        std::size_t max_queued_frames = 1024;  // a peer this far behind is dropped (1013)
        core::Counter* frames_out = nullptr;   // counts frames written
        core::Counter* dropped = nullptr;      // counts peers dropped for falling behind
    };

    WebSocketSender(std::shared_ptr<WebSocket> ws, Options options);

    /// Queues a frame. When the queue is full the peer is dropped: the queue is released, the
    /// connection aborted if a write is stuck (its buffer is full too: no close frame would get
    /// through), and the socket closed with 1013.
    void send(std::string frame);
    /// Closes after the queued frames (once; later calls are ignored).
    void close(std::uint16_t code, std::string reason);
    bool closing() const { return closing_; }
    std::size_t queued() const { return queue_.size() - head_; }
    /// Closes with (code, reason) once the wall clock passes `deadline_ms`; a later call moves it.
    /// `reason` is a string literal (kept as a pointer: nothing allocated per socket).
    void set_deadline(std::int64_t deadline_ms, std::uint16_t code, const char* reason);

    /// The writer: runs until the socket is closed. `owner` is kept alive as long as it runs.
    boost::asio::awaitable<void> run(std::shared_ptr<void> owner);

    WebSocket& socket() { return *ws_; }

private:
    void release_queue();

    // Kept small: one per open socket, mostly idle.
    std::shared_ptr<WebSocket> ws_;
    boost::asio::steady_timer wake_;  // the writer sleeps on it until a frame, a close or the deadline
    std::vector<std::string> queue_;  // frames from head_ on; no allocation while empty
    std::size_t head_ = 0;
    Options options_;
    std::int64_t deadline_ms_ = INT64_MAX;
    const char* deadline_reason_ = "";
    std::string close_reason_;
    std::uint16_t deadline_code_ = 1000;
    std::uint16_t close_code_ = 1000;
    bool writing_ = false;
    bool closing_ = false;
};

}  // namespace motorpool::http
