#pragma once
// A WebSocket client for the integration tests (live updates, chat).

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <poll.h>
#include <sys/socket.h>

namespace motorpool::testing {

// A WebSocket client for tests. Setup steps use blocking calls; after start_reading() a
// background thread reads every frame into a queue, and next() waits for one with a timeout (a
// cancelled Beast read would leave the stream unusable, so reads are never cancelled).
class WsClient {
    using json_object = boost::json::object;

public:
    WsClient(std::uint16_t port, const std::string& target) : ws_(io_) {
        ws_.next_layer().connect({boost::asio::ip::make_address("127.0.0.1"), port});
        boost::beast::websocket::response_type response;
        boost::system::error_code ec;
        ws_.handshake(response, "127.0.0.1", target, ec);
        status_ = response.result_int();
        if (!ec) {
            start_reading();
        }
    }
    explicit WsClient(std::uint16_t port, const std::string& target, bool deferred_reading) : ws_(io_) {
        ws_.next_layer().connect({boost::asio::ip::make_address("127.0.0.1"), port});
        boost::beast::websocket::response_type response;
        ws_.handshake(response, "127.0.0.1", target);
        status_ = response.result_int();
        (void)deferred_reading;
    }
    ~WsClient() {
        if (thread_.joinable()) {
            boost::asio::post(io_, [this] { boost::beast::get_lowest_layer(ws_).close(); });
            thread_.join();
        }
    }
    unsigned status() const { return status_; }

    void send(const std::string& text) {
        if (!thread_.joinable()) {
            ws_.write(boost::asio::buffer(text));
            return;
        }
        std::promise<void> written;
        boost::asio::post(io_, [&] {
            ws_.async_write(boost::asio::buffer(text),
                            [&](boost::system::error_code, std::size_t) { written.set_value(); });
        });
        written.get_future().wait();
    }
    void send(const boost::json::object& frame) { send(boost::json::serialize(frame)); }
    // Blocking read before start_reading().
    boost::json::object read_now() {
        boost::beast::flat_buffer buffer;
        ws_.read(buffer);
        return boost::json::parse(boost::beast::buffers_to_string(buffer.data())).as_object();
    }

    void start_reading() {
        read_one();
        thread_ = std::thread([this] { io_.run(); });
    }

    // The next frame, or nullopt when the socket closed or nothing came within `timeout`.
    std::optional<boost::json::object> next(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
        std::unique_lock lock(mutex_);
        arrived_.wait_for(lock, timeout, [&] { return !frames_.empty() || closed_; });
        if (frames_.empty()) {
            return std::nullopt;
        }
        auto frame = std::move(frames_.front());
        frames_.pop_front();
        return frame;
    }
    boost::system::error_code error() {
        std::lock_guard lock(mutex_);
        return ec_;
    }
    boost::beast::websocket::close_reason reason() {
        std::lock_guard lock(mutex_);
        return reason_;
    }

    // For a client that never started reading (so it never answers a ping): the raw bytes the
    // server sends until it closes the connection, or nullopt when it is still open at `timeout`.
    std::optional<std::string> raw_until_closed(std::chrono::milliseconds timeout) {
        const int fd = boost::beast::get_lowest_layer(ws_).native_handle();
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        std::string bytes;
        while (true) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            pollfd p{fd, POLLIN, 0};
            if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
                return std::nullopt;
            }
            char chunk[512];
            const ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0) {
                return bytes;  // end of stream or reset: closed
            }
            bytes.append(chunk, static_cast<std::size_t>(n));
        }
    }

private:
    void read_one() {
        ws_.async_read(buffer_, [this](boost::system::error_code ec, std::size_t) {
            std::lock_guard lock(mutex_);
            if (ec) {
                ec_ = ec;
                reason_ = ws_.reason();
                closed_ = true;
                arrived_.notify_all();
                return;
            }
            frames_.push_back(boost::json::parse(boost::beast::buffers_to_string(buffer_.data())).as_object());
            buffer_.consume(buffer_.size());
            arrived_.notify_all();
            read_one();
        });
    }

    boost::asio::io_context io_;
    boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
    boost::beast::flat_buffer buffer_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::deque<boost::json::object> frames_;
    bool closed_ = false;
    boost::system::error_code ec_;
    boost::beast::websocket::close_reason reason_;
    unsigned status_ = 0;
};

}  // namespace motorpool::testing
