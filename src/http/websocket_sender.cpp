#include "http/websocket_sender.hpp"

#include <algorithm>
#include <chrono>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/time.hpp"

namespace motorpool::http {

namespace net = boost::asio;

WebSocketSender::WebSocketSender(std::shared_ptr<WebSocket> ws, Options options)
    : ws_(std::move(ws)), wake_(ws_->executor()), options_(options) {}

void WebSocketSender::send(std::string frame) {
    if (closing_) {
        return;
    }
    if (queued() >= options_.max_queued_frames) {
        // A consumer this far behind slows nobody else down: drop it.
        if (options_.dropped != nullptr) {
            options_.dropped->inc();
        }
        release_queue();
        if (writing_) {
            ws_->abort();  // its socket buffer is full too: a close frame could not get through
        }
        close(1013, "too slow: outbound queue overflowed");
        return;
    }
    queue_.push_back(std::move(frame));
    wake_.cancel();
}

void WebSocketSender::close(std::uint16_t code, std::string reason) {
    if (closing_) {
        return;
    }
    closing_ = true;
    close_code_ = code;
    close_reason_ = std::move(reason);
    wake_.cancel();
}

void WebSocketSender::set_deadline(std::int64_t deadline_ms, std::uint16_t code, const char* reason) {
    deadline_ms_ = deadline_ms;
    deadline_code_ = code;
    deadline_reason_ = reason;
    wake_.cancel();  // the writer re-arms its timer
}

void WebSocketSender::release_queue() {
    std::vector<std::string>().swap(queue_);
    head_ = 0;
}

// One loop writes the frames and watches the deadline, so that an idle socket costs one suspended
// coroutine and one timer.
net::awaitable<void> WebSocketSender::run(std::shared_ptr<void> owner) {
    while (true) {
        if (queued() == 0 && !closing_) {
            if (!queue_.empty()) {
                release_queue();  // a burst is over: give its memory back
            }
            // Real time: the deadline is a socket timer (a token's expiry), not a scheduled decision.
            const std::int64_t now = core::now_ms();
            if (deadline_ms_ <= now) {
                close(deadline_code_, deadline_reason_);
                continue;
            }
            wake_.expires_after(std::chrono::milliseconds(std::min<std::int64_t>(deadline_ms_ - now, INT32_MAX)));
            boost::system::error_code ec;
            co_await wake_.async_wait(net::redirect_error(net::use_awaitable, ec));
            continue;
        }
        if (closing_ && (queued() == 0 || !ws_->is_open())) {
            break;
        }
        std::string frame = std::move(queue_[head_++]);
        writing_ = true;
        const bool ok = co_await ws_->write(std::move(frame));
        writing_ = false;
        if (!ok) {
            closing_ = true;
            break;
        }
        if (options_.frames_out != nullptr) {
            options_.frames_out->inc();
        }
    }
    release_queue();
    if (ws_->is_open()) {
        co_await ws_->close(close_code_, close_reason_);
    }
    (void)owner;
}

}  // namespace motorpool::http
