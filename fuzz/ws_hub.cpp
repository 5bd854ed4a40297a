// WebSocket client frames to the live hub: one connection per input, signed in as a member, the
// input's lines sent as frames (SUBSCRIBE, UNSUBSCRIBE, PING, AUTH, TYPING and anything else),
// then a close. The hub must answer or ignore every frame, never crash, and close when asked.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <sys/socket.h>
#include <sys/time.h>

#include "server_fixture.hpp"
#include "target.hpp"

namespace net = boost::asio;
namespace websocket = boost::beast::websocket;

int motorpool::fuzz::ws_hub(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) {
        return -1;
    }
    auto& server = motorpool::fuzz::ServerFixture::instance();
    const std::string input = server.expand({reinterpret_cast<const char*>(data), size});

    net::io_context io;
    websocket::stream<net::ip::tcp::socket> ws(io);
    boost::system::error_code ec;
    ws.next_layer().connect({net::ip::make_address("127.0.0.1"), server.port()}, ec);
    if (ec) {
        motorpool::fuzz::fail("cannot connect to the server", ec.message());
    }
    // A read that waits longer than this means the hub neither answered a close nor dropped us.
    timeval tv{10, 0};
    ::setsockopt(ws.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ws.handshake("127.0.0.1", "/api/v1/ws?token=" + server.expand("@MEMBER@"), ec);
    if (ec) {
        motorpool::fuzz::fail("the WebSocket upgrade failed", ec.message());
    }
    // One frame per line; a line starting with 0x01 goes as a binary frame.
    std::size_t start = 0;
    int frames = 0;
    while (start <= input.size() && frames < 64) {
        std::size_t end = input.find('\n', start);
        if (end == std::string::npos) {
            end = input.size();
        }
        std::string_view frame(input.data() + start, end - start);
        const bool binary = !frame.empty() && frame.front() == '\x01';
        ws.binary(binary);
        ws.write(net::buffer(frame.data(), frame.size()), ec);
        if (ec) {
            break;  // the hub closed the socket (a frame it refuses): fine
        }
        ++frames;
        start = end + 1;
    }
    if (!ec) {
        ws.close(websocket::close_code::normal, ec);
    }
    // Read until the close completes (or the hub had closed already).
    boost::beast::flat_buffer buffer;
    while (!ec) {
        ws.read(buffer, ec);
        buffer.clear();
    }
    if (ec == net::error::would_block || ec == net::error::try_again || ec == net::error::timed_out) {
        motorpool::fuzz::fail("the hub did not close the socket", input);
    }
    return 0;
}
