// Support chat load (bench/chat.sh): `chat_bench PORT SUPPORT_TOKEN MEMBERS MESSAGES SENDERS`
// registers MEMBERS members, each opens a thread and a WebSocket subscribed to it (one support
// socket watches support.inbox), then SENDERS support connections post MESSAGES replies over REST,
// spread over the threads. Reports replies per second (each a committed row and two frames) and
// the delay from the message's created_at (taken before its transaction, so it includes the
// commit) to its receipt on the member's socket and on the inbox: p50, p99, max.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
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
namespace bhttp = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// "2026-12-03T14:55:01.123Z" (or without the fraction) as Unix milliseconds.
std::int64_t parse_time_ms(const std::string& text) {
    std::tm tm{};
    int ms = 0;
    if (std::sscanf(text.c_str(),
                    "%d-%d-%dT%d:%d:%d.%dZ",
                    &tm.tm_year,
                    &tm.tm_mon,
                    &tm.tm_mday,
                    &tm.tm_hour,
                    &tm.tm_min,
                    &tm.tm_sec,
                    &ms) < 6) {
        return 0;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

/// One keep-alive HTTP/1.1 connection, blocking.
class Http {
public:
    explicit Http(unsigned short port) : stream_(io_) { stream_.connect({net::ip::make_address("127.0.0.1"), port}); }

    std::pair<int, json::value> call(bhttp::verb method,
                                     const std::string& target,
                                     const std::string& token,
                                     const json::value& body) {
        bhttp::request<bhttp::string_body> req{method, target, 11};
        req.set(bhttp::field::host, "127.0.0.1");
        if (!token.empty()) {
            req.set(bhttp::field::authorization, "Bearer " + token);
        }
        req.set(bhttp::field::content_type, "application/json");
        req.body() = json::serialize(body);
        req.prepare_payload();
        bhttp::write(stream_, req);
        bhttp::response<bhttp::string_body> res;
        bhttp::read(stream_, buffer_, res);
        boost::system::error_code ec;
        auto parsed = json::parse(res.body(), ec);
        return {res.result_int(), ec ? json::value() : parsed};
    }

private:
    net::io_context io_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
};

struct Socket : std::enable_shared_from_this<Socket> {
    explicit Socket(net::io_context& io) : ws(io) {}
    beast::websocket::stream<tcp::socket> ws;
    beast::flat_buffer buffer;
    bool inbox = false;
};

std::mutex delays_mutex;
std::vector<std::int64_t> member_delays;
std::vector<std::int64_t> inbox_delays;
std::atomic<int> subscribed{0};

void read_loop(const std::shared_ptr<Socket>& s) {
    s->ws.async_read(s->buffer, [s](beast::error_code ec, std::size_t) {
        if (ec) {
            return;
        }
        const std::int64_t received = now_ms();
        boost::system::error_code pec;
        auto v = json::parse(beast::buffers_to_string(s->buffer.data()), pec);
        s->buffer.consume(s->buffer.size());
        if (!pec && v.is_object()) {
            const auto& o = v.as_object();
            if (o.contains("type") && o.at("type") == "SUBSCRIBED") {
                ++subscribed;
            } else if (o.contains("type") && o.at("type") == "MESSAGE" && o.contains("created_at")) {
                const std::int64_t delay = received - parse_time_ms(std::string(o.at("created_at").as_string()));
                std::lock_guard lock(delays_mutex);
                (s->inbox ? inbox_delays : member_delays).push_back(delay);
            }
        }
        read_loop(s);
    });
}

std::shared_ptr<Socket> open_socket(net::io_context& io,
                                    unsigned short port,
                                    const std::string& token,
                                    const std::string& topic) {
    auto s = std::make_shared<Socket>(io);
    s->ws.next_layer().connect({net::ip::make_address("127.0.0.1"), port});
    s->ws.handshake("127.0.0.1", "/api/v1/ws?token=" + token);
    s->ws.write(net::buffer(json::serialize(json::object{{"type", "SUBSCRIBE"}, {"topic", topic}})));
    return s;
}

void report(const char* what, std::vector<std::int64_t>& d, std::size_t expected) {
    std::sort(d.begin(), d.end());
    if (d.empty()) {
        std::printf("   %s: no frames\n", what);
        return;
    }
    auto pct = [&](double p) { return d[std::min(d.size() - 1, static_cast<std::size_t>(p * d.size()))]; };
    std::printf("   %s: %zu of %zu frames; created-to-receipt p50 %lld ms, p99 %lld ms, max %lld ms\n",
                what,
                d.size(),
                expected,
                static_cast<long long>(pct(0.5)),
                static_cast<long long>(pct(0.99)),
                static_cast<long long>(d.back()));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 6) {
        std::fprintf(stderr, "usage: chat_bench PORT SUPPORT_TOKEN MEMBERS MESSAGES SENDERS\n");
        return 2;
    }
    const auto port = static_cast<unsigned short>(std::stoi(argv[1]));
    const std::string support = argv[2];
    const int members = std::stoi(argv[3]);
    const int messages = std::stoi(argv[4]);
    const int senders = std::stoi(argv[5]);

    // Members and their threads (registration hashes a password: a few threads at once).
    std::vector<std::string> tokens(static_cast<std::size_t>(members));
    std::vector<std::string> threads(static_cast<std::size_t>(members));
    std::atomic<int> next{0};
    std::atomic<int> failures{0};
    const auto t0 = std::chrono::steady_clock::now();
    {
        std::vector<std::thread> workers;
        for (int w = 0; w < 8; ++w) {
            workers.emplace_back([&] {
                Http http(port);
                for (int i = next++; i < members; i = next++) {
                    const auto email = "member" + std::to_string(i) + "@chat.bench";
                    auto [status, body] = http.call(bhttp::verb::post,
                                                    "/api/v1/auth/register",
                                                    "",
                                                    json::object{{"name", "Member " + std::to_string(i)},
                                                                 {"email", email},
                                                                 {"password", "bench-password-1"}});
                    if (status != 201) {
                        ++failures;
                        continue;
                    }
                    const auto u = static_cast<std::size_t>(i);
                    tokens[u] = std::string(body.at("access_token").as_string());
                    auto [opened, thread] = http.call(
                        bhttp::verb::post, "/api/v1/chat/threads", tokens[u], json::object{{"subject", "My car"}});
                    if (opened != 201) {
                        ++failures;
                        continue;
                    }
                    threads[u] = std::string(thread.at("id").as_string());
                }
            });
        }
        for (auto& w : workers) {
            w.join();
        }
    }
    std::printf("   %d members registered with a thread each in %.1f s (%d failed)\n",
                members,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                failures.load());
    if (failures.load() > 0) {
        return 1;
    }

    // Sockets: one per member on its thread, one support socket on the inbox.
    net::io_context io;
    auto guard = net::make_work_guard(io);
    std::vector<std::shared_ptr<Socket>> sockets;
    for (int i = 0; i < members; ++i) {
        const auto u = static_cast<std::size_t>(i);
        sockets.push_back(open_socket(io, port, tokens[u], "chat.thread." + threads[u]));
    }
    auto inbox = open_socket(io, port, support, "support.inbox");
    inbox->inbox = true;
    sockets.push_back(inbox);
    for (const auto& s : sockets) {
        read_loop(s);
    }
    std::thread receiver([&] { io.run(); });
    for (int k = 0; k < 300 && subscribed.load() < members + 1; ++k) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::printf("   %d of %d sockets subscribed\n", subscribed.load(), members + 1);

    // Support replies over REST, spread over the threads.
    next = 0;
    std::atomic<int> refused{0};
    const auto start = std::chrono::steady_clock::now();
    {
        std::vector<std::thread> workers;
        for (int w = 0; w < senders; ++w) {
            workers.emplace_back([&] {
                Http http(port);
                for (int i = next++; i < messages; i = next++) {
                    const auto& thread = threads[static_cast<std::size_t>(i % members)];
                    auto [status, body] = http.call(bhttp::verb::post,
                                                    "/api/v1/chat/threads/" + thread + "/messages",
                                                    support,
                                                    json::object{{"body", "Reply " + std::to_string(i)}});
                    if (status != 201) {
                        ++refused;
                    }
                }
            });
        }
        for (auto& w : workers) {
            w.join();
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::this_thread::sleep_for(std::chrono::seconds(1));  // the last frames
    guard.reset();
    io.stop();
    receiver.join();
    std::printf("   %d replies over REST by %d support connections in %.2f s: %.0f replies/s (%d refused)\n",
                messages,
                senders,
                seconds,
                messages / seconds,
                refused.load());
    std::lock_guard lock(delays_mutex);
    report("members' sockets", member_delays, static_cast<std::size_t>(messages));
    report("support inbox", inbox_delays, static_cast<std::size_t>(messages));
    return refused.load() == 0 ? 0 : 1;
}
