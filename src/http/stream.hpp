#pragma once
// Private to http: the stream types shared by the session and the WebSocket wrapper.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "http/websocket.hpp"

namespace motorpool::http::detail {

// Network errors arrive as values (CONVENTIONS §3.4): auto [ec, n] = co_await ...
using Token = boost::asio::as_tuple_t<boost::asio::use_awaitable_t<>>;
using TcpStream = Token::as_default_on_t<boost::beast::tcp_stream>;
using Socket = Token::as_default_on_t<boost::asio::ip::tcp::socket>;
using WsStream = boost::beast::websocket::stream<Socket>;

}  // namespace motorpool::http::detail

namespace motorpool::http {

struct WebSocket::Impl {
    explicit Impl(detail::Socket socket) : ws(std::move(socket)) {}
    detail::WsStream ws;
    boost::system::error_code last_error;
    std::string remote_address;
    std::string subprotocol;  // negotiated at the upgrade; empty when none
    bool closed = false;
};

}  // namespace motorpool::http
