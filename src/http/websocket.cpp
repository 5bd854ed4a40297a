#include "http/websocket.hpp"

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "stream.hpp"

namespace motorpool::http {

WebSocket::WebSocket(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WebSocket::~WebSocket() = default;

boost::asio::awaitable<std::optional<WebSocket::Message>> WebSocket::read() {
    boost::beast::flat_buffer buffer;
    auto [ec, n] = co_await impl_->ws.async_read(buffer);
    if (ec) {
        impl_->last_error = ec;
        impl_->closed = true;
        co_return std::nullopt;
    }
    co_return Message{boost::beast::buffers_to_string(buffer.data()), impl_->ws.got_text()};
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
    boost::beast::get_lowest_layer(impl_->ws).socket().close(ignored);
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

}  // namespace motorpool::http
