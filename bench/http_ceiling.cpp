// The request-rate ceiling of this machine for HTTP/1.1 keep-alive: a server with nothing but
// Boost.Beast answering every request with a fixed JSON body, on THREADS threads sharing one
// io_context. bench/http_health.sh runs the same wrk command against it and against motorpool's
// /health.
//   build/bench/http_ceiling PORT [THREADS] [ADDRESS] [bare|stream]
// bare (the default): each connection a plain socket, the least a Beast server can do.
// stream: each connection a beast::tcp_stream on a strand, as Beast's examples and the shared
// reference (../shared/tools/ceiling/beast_hello) are written; its timer machinery costs ~30 %,
// and motorpool's /health answers as fast as it does (docs/performance.md).

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

namespace net = boost::asio;
namespace http = boost::beast::http;
using net::ip::tcp;

namespace {

constexpr std::string_view kBody = R"({"status":"ok"})";

// Stream: tcp::socket or beast::tcp_stream.
template <typename Stream>
net::awaitable<void> serve(Stream stream) {
    boost::beast::flat_buffer buffer;
    for (;;) {
        http::request<http::string_body> request;
        auto [read_error, read] = co_await http::async_read(stream, buffer, request, net::as_tuple(net::use_awaitable));
        if (read_error) {
            co_return;
        }
        http::response<http::string_body> response(http::status::ok, request.version());
        response.set(http::field::server, "motorpool-ceiling");
        response.set(http::field::content_type, "application/json");
        response.keep_alive(request.keep_alive());
        response.body() = kBody;
        response.prepare_payload();
        auto [write_error, written] = co_await http::async_write(stream, response, net::as_tuple(net::use_awaitable));
        if (write_error || !response.keep_alive()) {
            co_return;
        }
    }
}

net::awaitable<void> accept(net::io_context& io, tcp::acceptor& acceptor, bool streams) {
    for (;;) {
        auto strand = net::make_strand(io);
        // Two statements, not co_await in both arms of ?: (g++ 12 miscompiles that).
        std::tuple<boost::system::error_code, tcp::socket> accepted{boost::system::error_code(), tcp::socket(io)};
        if (streams) {
            accepted = co_await acceptor.async_accept(strand, net::as_tuple(net::use_awaitable));
        } else {
            accepted = co_await acceptor.async_accept(net::as_tuple(net::use_awaitable));
        }
        auto& [error, socket] = accepted;
        if (error) {
            continue;
        }
        socket.set_option(tcp::no_delay(true));
        if (streams) {
            net::co_spawn(strand, serve(boost::beast::tcp_stream(std::move(socket))), net::detached);
        } else {
            net::co_spawn(acceptor.get_executor(), serve(std::move(socket)), net::detached);
        }
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: http_ceiling PORT [THREADS] [ADDRESS] [bare|stream]\n");
        return 2;
    }
    const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
    const int threads = argc > 2 ? std::max(1, std::atoi(argv[2])) : 2;
    const std::string address = argc > 3 ? argv[3] : "127.0.0.1";
    const bool streams = argc > 4 && std::string(argv[4]) == "stream";
    net::io_context io(threads);
    tcp::acceptor acceptor(io, {net::ip::make_address(address), port});
    net::co_spawn(io, accept(io, acceptor, streams), net::detached);
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) {
        pool.emplace_back([&io] { io.run(); });
    }
    io.run();
    for (auto& t : pool) {
        t.join();
    }
}
