// WebSocket hub load: `ws_bench idle PORT TOKEN N` opens N authenticated idle sockets and holds them
// until stdin closes (the script reads the server's RSS meanwhile); `ws_bench latency PORT TOKEN N
// VEHICLE_ID UPLOADS` subscribes N sockets to vehicle.<id>, uploads UPLOADS telemetry batches one at
// a time, and reports the delay from the server's publish (published_at_ms, right after commit) to
// each socket's receipt: p50, p99, max over N x UPLOADS frames.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

struct Client : std::enable_shared_from_this<Client> {
    explicit Client(net::io_context& io) : ws(io) {}
    beast::websocket::stream<tcp::socket> ws;
    beast::flat_buffer buffer;
};

std::mutex delays_mutex;
std::vector<std::int64_t> delays;
std::atomic<int> ready{0};
std::atomic<int> failed{0};

void read_loop(std::shared_ptr<Client> c) {
    c->ws.async_read(c->buffer, [c](beast::error_code ec, std::size_t) {
        if (ec) {
            return;
        }
        const std::int64_t received = now_ms();
        auto text = beast::buffers_to_string(c->buffer.data());
        c->buffer.consume(c->buffer.size());
        boost::system::error_code pec;
        auto v = json::parse(text, pec);
        if (!pec && v.is_object()) {
            const auto& o = v.as_object();
            if (o.contains("type") && o.at("type") == "SUBSCRIBED") {
                ++ready;
            } else if (o.contains("published_at_ms")) {
                std::lock_guard lock(delays_mutex);
                delays.push_back(received - o.at("published_at_ms").to_number<std::int64_t>());
            }
        }
        read_loop(c);
    });
}

std::vector<std::shared_ptr<Client>> open_sockets(
    net::io_context& io, unsigned short port, const std::string& token, int n, const std::string& topic) {
    std::vector<std::shared_ptr<Client>> clients;
    const std::string target = "/api/v1/ws?token=" + token;
    for (int i = 0; i < n; ++i) {
        auto c = std::make_shared<Client>(io);
        beast::error_code ec;
        c->ws.next_layer().connect({net::ip::make_address("127.0.0.1"), port}, ec);
        if (!ec) {
            c->ws.handshake("127.0.0.1", target, ec);
        }
        if (ec) {
            ++failed;
            continue;
        }
        if (!topic.empty()) {
            c->ws.write(net::buffer(json::serialize(json::object{{"type", "SUBSCRIBE"}, {"topic", topic}})));
        }
        read_loop(c);
        clients.push_back(std::move(c));
    }
    return clients;
}

int upload(unsigned short port, const std::string& token, const std::string& vehicle, std::int64_t t_ms) {
    net::io_context io;
    beast::tcp_stream stream(io);
    stream.connect({net::ip::make_address("127.0.0.1"), port});
    beast::http::request<beast::http::string_body> req{
        beast::http::verb::post, "/api/v1/vehicles/" + vehicle + "/telemetry", 11};
    req.set(beast::http::field::host, "127.0.0.1");
    req.set(beast::http::field::authorization, "Bearer " + token);
    req.set(beast::http::field::content_type, "application/json");
    req.body() =
        json::serialize(json::object{{"samples", json::array{json::object{{"t_ms", t_ms}, {"speed_kmh", 50}}}}});
    req.prepare_payload();
    beast::http::write(stream, req);
    beast::flat_buffer buffer;
    beast::http::response<beast::http::string_body> res;
    beast::http::read(stream, buffer, res);
    return res.result_int();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: ws_bench idle|latency PORT TOKEN N [VEHICLE_ID UPLOADS]\n");
        return 2;
    }
    const std::string mode = argv[1];
    const auto port = static_cast<unsigned short>(std::stoi(argv[2]));
    const std::string token = argv[3];
    const int n = std::stoi(argv[4]);
    net::io_context io;
    auto guard = net::make_work_guard(io);
    if (mode == "idle") {
        auto clients = open_sockets(io, port, token, n, "");
        std::thread runner([&] { io.run(); });
        std::printf("open %zu failed %d\n", clients.size(), failed.load());
        std::fflush(stdout);
        std::string line;
        std::getline(std::cin, line);  // hold the sockets until told
        guard.reset();
        io.stop();
        runner.join();
        return 0;
    }
    const std::string vehicle = argv[5];
    const int uploads = std::stoi(argv[6]);
    auto clients = open_sockets(io, port, token, n, "vehicle." + vehicle);
    std::thread runner([&] { io.run(); });
    for (int i = 0; i < 100 && ready.load() < static_cast<int>(clients.size()); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::printf("subscribed %d of %d (failed %d)\n", ready.load(), n, failed.load());
    const std::int64_t base = now_ms() - 60'000;
    for (int i = 0; i < uploads; ++i) {
        if (int status = upload(port, token, vehicle, base + i); status != 202) {
            std::fprintf(stderr, "upload answered %d\n", status);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    guard.reset();
    io.stop();
    runner.join();
    std::lock_guard lock(delays_mutex);
    std::sort(delays.begin(), delays.end());
    if (delays.empty()) {
        std::printf("no frames received\n");
        return 1;
    }
    auto pct = [&](double p) {
        return delays[std::min(delays.size() - 1, static_cast<std::size_t>(p * delays.size()))];
    };
    std::printf("frames %zu of %d expected; publish-to-receipt delay p50 %lld ms, p99 %lld ms, max %lld ms\n",
                delays.size(),
                n * uploads,
                static_cast<long long>(pct(0.5)),
                static_cast<long long>(pct(0.99)),
                static_cast<long long>(delays.back()));
    return 0;
}
