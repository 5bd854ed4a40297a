#include "http/websocket.hpp"

#include <algorithm>
#include <array>

#include "stream.hpp"

namespace motorpool::http {

WebSocket::WebSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebSocket::~WebSocket() = default;

boost::asio::awaitable<std::optional<WebSocket::Message>> WebSocket::read() {
    // While waiting, only a small buffer is held (an idle socket mostly waits here): a message that
    // does not fit grows a string in larger steps. Beast still enforces the message size limit.
    std::array<char, 256> first{};
    auto [ec, n] = co_await impl_->ws.async_read_some(boost::asio::buffer(first));
    Message message;
    if (!ec) {
        message.data.assign(first.data(), n);
        while (!impl_->ws.is_message_done()) {
            const std::size_t used = message.data.size();
            message.data.resize(used + std::max<std::size_t>(4096, used));
            auto [more_ec, more] = co_await impl_->ws.async_read_some(
                boost::asio::buffer(message.data.data() + used, message.data.size() - used));
            message.data.resize(used + more);
            if (more_ec) {
                ec = more_ec;
                break;
            }
        }
    }
    if (ec) {
        impl_->last_error = ec;
        impl_->closed = true;
        co_return std::nullopt;
    }
    message.text = impl_->ws.got_text();
    co_return message;
}

boost::asio::awaitable<bool> WebSocket::write(std::string text) {
    if (impl_->closed) {
        co_return false;
    }
    impl_->ws.text(true);
    auto [ec, n] = co_await impl_->ws.async_write(boost::asio::buffer(text));
    if (ec) {
        impl_->last_error = ec;
        impl_->closed = true;
        co_return false;
    }
    co_return true;
}

boost::asio::awaitable<void> WebSocket::close(std::uint16_t code, std::string reason) {
    if (impl_->closed || !impl_->ws.is_open()) {
        co_return;
    }
    impl_->closed = true;
    boost::beast::websocket::close_reason why;
    why.code = code;
    why.reason = reason;
    auto [ec] = co_await impl_->ws.async_close(why);
    if (ec) {
        impl_->last_error = ec;
    }
}

void WebSocket::set_read_limit(std::size_t bytes) {
    impl_->ws.read_message_max(bytes);
}
void WebSocket::set_idle_timeout(std::chrono::seconds timeout) {
    auto options = boost::beast::websocket::stream_base::timeout::suggested(boost::beast::role_type::server);
    options.idle_timeout = timeout;
    options.keep_alive_pings = true;
    impl_->ws.set_option(options);
}

void WebSocket::abort() {
    boost::system::error_code ignored;
    impl_->ws.next_layer().close(ignored);
    impl_->closed = true;
}

boost::system::error_code WebSocket::error() const {
    return impl_->last_error;
}
bool WebSocket::is_open() const {
    return !impl_->closed && impl_->ws.is_open();
}
boost::asio::any_io_executor WebSocket::executor() const {
    return impl_->ws.get_executor();
}
const std::string& WebSocket::remote_address() const {
    return impl_->remote_address;
}

const std::string& WebSocket::subprotocol() const {
    return impl_->subprotocol;
}

}  // namespace motorpool::http
