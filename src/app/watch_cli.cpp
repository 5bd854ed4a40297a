// `motorpool watch TOPIC`: connects to /api/v1/ws like a browser would (token in the query),
// subscribes, and prints each frame on its own line until --count event frames, --timeout or the
// server closing.

#include "watch_cli.hpp"

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "core/text.hpp"

namespace motorpool::app {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;

namespace {

struct Watch {
    explicit Watch(const WatchCommand& c) : command(c), ws(io), timer(io) {}

    const WatchCommand& command;
    net::io_context io;
    websocket::stream<beast::tcp_stream> ws;
    net::steady_timer timer;
    beast::flat_buffer buffer;
    std::int64_t events = 0;
    int status = 0;

    void stop(int exit_status) {
        status = exit_status;
        timer.cancel();
        beast::get_lowest_layer(ws).close();
    }

    void read() {
        ws.async_read(buffer, [this](beast::error_code ec, std::size_t) {
            if (ec) {
                if (ec != net::error::operation_aborted && ec != websocket::error::closed && status == 0) {
                    std::fprintf(stderr, "motorpool watch: the connection ended: %s\n", ec.message().c_str());
                }
                timer.cancel();
                return;
            }
            const std::string text = beast::buffers_to_string(buffer.data());
            buffer.consume(buffer.size());
            std::printf("%s\n", text.c_str());
            std::fflush(stdout);
            boost::system::error_code parse_error;
            json::value frame = json::parse(text, parse_error);
            const json::object* o = parse_error ? nullptr : frame.if_object();
            const json::value* type = o != nullptr ? o->if_contains("type") : nullptr;
            const std::string kind = type != nullptr && type->is_string() ? std::string(type->as_string()) : "";
            if (kind == "ERROR") {
                std::fprintf(stderr, "motorpool watch: the server refused: %s\n", text.c_str());
                stop(5);
                return;
            }
            if (kind != "SUBSCRIBED" && kind != "UNSUBSCRIBED" && kind != "PONG" && kind != "AUTHENTICATED") {
                ++events;
                if (command.count > 0 && events >= command.count) {
                    stop(0);
                    return;
                }
            }
            read();
        });
    }
};

}  // namespace

int run_watch(const WatchCommand& command) {
    auto url = boost::urls::parse_absolute_uri(command.url);
    if (!url || url->scheme_id() != boost::urls::scheme::http || url->encoded_host().empty()) {
        std::fprintf(stderr, "motorpool watch: --url must be an http:// URL of the server\n");
        return 2;
    }
    const std::string host(url->encoded_host());
    const std::string port = url->has_port() ? std::string(url->port()) : "80";
    if (command.token.empty()) {
        std::fprintf(stderr, "motorpool watch: an access token is needed (--token or MOTORPOOL_TOKEN)\n");
        return 2;
    }
    Watch watch(command);
    try {
        net::ip::tcp::resolver resolver(watch.io);
        auto endpoints = resolver.resolve(host, port);
        beast::get_lowest_layer(watch.ws).expires_after(std::chrono::seconds(10));
        beast::get_lowest_layer(watch.ws).connect(endpoints);
        beast::get_lowest_layer(watch.ws).expires_never();
        websocket::response_type answer;
        beast::error_code ec;
        watch.ws.handshake(answer, host + ":" + port, "/api/v1/ws?token=" + core::percent_encode(command.token), ec);
        if (ec) {
            if (answer.result_int() == 401 || answer.result_int() == 403 || answer.result_int() == 429) {
                std::fprintf(stderr, "motorpool watch: the server refused the token (%u)\n", answer.result_int());
                return 5;
            }
            std::fprintf(stderr, "motorpool watch: the WebSocket handshake failed: %s\n", ec.message().c_str());
            return 1;
        }
        watch.ws.text(true);
        watch.ws.write(net::buffer(json::serialize(json::object{{"type", "SUBSCRIBE"}, {"topic", command.topic}})));
    } catch (const boost::system::system_error& e) {
        std::fprintf(stderr, "motorpool watch: cannot reach %s: %s\n", command.url.c_str(), e.code().message().c_str());
        return 1;
    }
    if (command.timeout.count() > 0) {
        watch.timer.expires_after(command.timeout);
        watch.timer.async_wait([&watch](beast::error_code ec) {
            if (!ec) {
                watch.stop(0);
            }
        });
    }
    watch.read();
    watch.io.run();
    return watch.status;
}

}  // namespace motorpool::app
