#pragma once
// A small OCPP 1.6J charge point for tests, over a real socket: the upgrade with the ocpp1.6
// subprotocol and HTTP Basic credentials, CALLs with their answers, and handlers that answer the
// CALLs the central system sends. A background thread reads every frame.

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include "core/crypto.hpp"

namespace motorpool::testing {

class OcppClient {
public:
    struct Options {
        Options(std::string id, std::optional<std::string> pw, std::string sub = "ocpp1.6", std::string path = {})
            : identity(std::move(id)), password(std::move(pw)), subprotocol(std::move(sub)), target(std::move(path)) {}
        std::string identity;
        std::optional<std::string> password;  // Basic credentials (identity:password)
        std::string subprotocol = "ocpp1.6";
        std::string target;  // default: /ocpp/<identity>
    };

    OcppClient(std::uint16_t port, Options options) : ws_(io_) {
        namespace beast = boost::beast;
        ws_.next_layer().connect({boost::asio::ip::make_address("127.0.0.1"), port});
        ws_.set_option(beast::websocket::stream_base::decorator([options](beast::websocket::request_type& req) {
            if (!options.subprotocol.empty()) {
                req.set(beast::http::field::sec_websocket_protocol, options.subprotocol);
            }
            if (options.password) {
                req.set(beast::http::field::authorization,
                        "Basic " + core::base64_encode(options.identity + ":" + *options.password));
            }
        }));
        boost::system::error_code ec;
        const std::string target = options.target.empty() ? "/ocpp/" + options.identity : options.target;
        ws_.handshake(response_, "127.0.0.1", target, ec);
        status_ = response_.result_int();
        if (!ec) {
            read_one();
            thread_ = std::thread([this] { io_.run(); });
        }
    }
    ~OcppClient() {
        if (thread_.joinable()) {
            boost::asio::post(io_, [this] { boost::beast::get_lowest_layer(ws_).close(); });
            thread_.join();
        }
    }
    OcppClient(const OcppClient&) = delete;
    OcppClient& operator=(const OcppClient&) = delete;

    unsigned status() const { return status_; }
    bool connected() const { return thread_.joinable(); }
    std::string subprotocol() const {
        auto it = response_.find(boost::beast::http::field::sec_websocket_protocol);
        return it == response_.end() ? std::string() : std::string(it->value());
    }

    /// Never answers the central system's CALLs of `action` (a charger that hangs).
    void ignore(const std::string& action) {
        std::lock_guard lock(mutex_);
        ignored_.insert(action);
    }

    /// Answers the central system's CALLs of `action` with the payload `answer` returns.
    void on(const std::string& action, std::function<boost::json::object(const boost::json::object&)> answer) {
        std::lock_guard lock(mutex_);
        handlers_[action] = std::move(answer);
    }

    void send_raw(const std::string& text) {
        {
            std::lock_guard lock(mutex_);
            if (closed_ || !thread_.joinable()) {
                return;
            }
        }
        auto written = std::make_shared<std::promise<void>>();
        auto done = written->get_future();
        boost::asio::post(io_, [this, text, written] { write(text, written); });
        done.wait();
    }

    /// Sends a CALL and waits for the answer with the same id: [3,id,{...}] or [4,id,code,desc,{}].
    std::optional<boost::json::array> call(const std::string& action,
                                           const boost::json::object& payload,
                                           std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        const std::string id = "c" + std::to_string(++next_id_);
        send_raw(boost::json::serialize(boost::json::array{2, id, action, payload}));
        return answer_to(id, timeout);
    }

    std::optional<boost::json::array> answer_to(const std::string& id, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        std::optional<boost::json::array> found;
        arrived_.wait_for(lock, timeout, [&] {
            for (auto it = answers_.begin(); it != answers_.end(); ++it) {
                if ((*it).size() > 1 && (*it)[1].is_string() && (*it)[1].as_string() == id) {
                    found = std::move(*it);
                    answers_.erase(it);
                    return true;
                }
            }
            return closed_;
        });
        return found;
    }

    /// The CALLs the central system sent (and how they were answered), in order.
    std::vector<boost::json::array> calls_received() {
        std::lock_guard lock(mutex_);
        return calls_;
    }
    /// Waits until the connection closes; false when it is still open at `timeout`.
    bool wait_closed(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        return arrived_.wait_for(lock, timeout, [&] { return closed_; });
    }
    boost::beast::websocket::close_reason reason() {
        std::lock_guard lock(mutex_);
        return reason_;
    }

private:
    void read_one() {
        ws_.async_read(buffer_, [this](boost::system::error_code ec, std::size_t) {
            if (ec) {
                std::lock_guard lock(mutex_);
                closed_ = true;
                reason_ = ws_.reason();
                arrived_.notify_all();
                return;
            }
            std::string text = boost::beast::buffers_to_string(buffer_.data());
            buffer_.consume(buffer_.size());
            boost::system::error_code parse_error;
            boost::json::value frame = boost::json::parse(text, parse_error);
            if (!parse_error && frame.is_array() && !frame.as_array().empty()) {
                auto& a = frame.as_array();
                if (a[0] == 2 && a.size() == 4) {
                    handle_call(a);
                } else {
                    std::lock_guard lock(mutex_);
                    answers_.push_back(std::move(a));
                    arrived_.notify_all();
                }
            }
            read_one();
        });
    }

    void handle_call(const boost::json::array& call) {
        std::function<boost::json::object(const boost::json::object&)> handler;
        {
            std::lock_guard lock(mutex_);
            calls_.push_back(call);
            if (ignored_.count(std::string(call[2].as_string())) != 0) {
                return;
            }
            auto it = handlers_.find(std::string(call[2].as_string()));
            if (it != handlers_.end()) {
                handler = it->second;
            }
        }
        auto reply = std::make_shared<std::string>(
            handler ? boost::json::serialize(boost::json::array{3, call[1], handler(call[3].as_object())})
                    : boost::json::serialize(
                          boost::json::array{4, call[1], "NotImplemented", "no handler", boost::json::object{}}));
        write(*reply, nullptr);
    }

    // On the io thread: one write at a time, in order (Beast allows no more).
    void write(std::string text, std::shared_ptr<std::promise<void>> written) {
        out_.emplace_back(std::move(text), std::move(written));
        if (out_.size() == 1) {
            write_front();
        }
    }
    void write_front() {
        ws_.async_write(boost::asio::buffer(out_.front().first), [this](boost::system::error_code, std::size_t) {
            if (out_.front().second) {
                out_.front().second->set_value();
            }
            out_.pop_front();
            if (!out_.empty()) {
                write_front();
            }
        });
    }

    std::deque<std::pair<std::string, std::shared_ptr<std::promise<void>>>> out_;  // io thread only
    boost::asio::io_context io_;
    boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
    boost::beast::websocket::response_type response_;
    boost::beast::flat_buffer buffer_;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable arrived_;
    std::deque<boost::json::array> answers_;
    std::vector<boost::json::array> calls_;
    std::map<std::string, std::function<boost::json::object(const boost::json::object&)>> handlers_;
    std::set<std::string> ignored_;
    bool closed_ = false;
    boost::beast::websocket::close_reason reason_;
    unsigned status_ = 0;
    int next_id_ = 0;
};

}  // namespace motorpool::testing
