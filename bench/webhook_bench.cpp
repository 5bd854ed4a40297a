// Smartcar webhook load: `webhook_bench PORT AMT CONNECTIONS SECONDS VEHICLE_ID...` keeps
// CONNECTIONS keep-alive connections each sending one signed v4 VEHICLE_STATE delivery at a time
// (a fresh eventId each, five signals, compact JSON, HMAC-SHA256 under AMT) to /webhooks/smartcar
// for SECONDS, and reports acknowledged deliveries per second and the latency percentiles. A 200
// means the delivery is committed to the log (the server answers only after the commit).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/crypto.hpp"

namespace core = motorpool::core;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Compact JSON in the order Smartcar writes it, built by hand: preparing hundreds of thousands of
// deliveries through a JSON DOM took longer than the run itself.
void signal(std::string& out, const char* group, const char* name, const std::string& body, std::int64_t t) {
    std::string code = std::string(group) + "-" + name;
    std::transform(code.begin(), code.end(), code.begin(), [](unsigned char c) { return std::tolower(c); });
    if (out.back() != '[') {
        out += ',';
    }
    out += R"({"code":")" + code + R"(","name":")" + name + R"(","group":")" + group + R"(","body":)" + body +
           R"(,"meta":{"oemUpdatedAt":)" + std::to_string(t) + R"(,"retrievedAt":)" + std::to_string(t + 200) +
           R"(},"status":{"value":"SUCCESS"}})";
}

std::string delivery(const std::string& event_id, const std::string& vehicle, std::int64_t t, int n) {
    std::string out = R"({"eventId":")" + event_id +
                      R"(","eventType":"VEHICLE_STATE","data":{"user":{"id":"bench-user"},)" + R"("vehicle":{"id":")" +
                      vehicle + R"(","make":"TESLA","model":"Model 3","year":2023},"signals":[)";
    signal(out,
           "TractionBattery",
           "StateOfCharge",
           R"({"unit":"percent","value":)" + std::to_string(20 + n % 80) + "}",
           t);
    signal(out, "TractionBattery", "Range", R"({"unit":"km","value":)" + std::to_string(100 + n % 300) + "}", t);
    signal(out, "Odometer", "TraveledDistance", R"({"unit":"km","value":)" + std::to_string(10000 + n) + "}", t);
    char location[128];
    std::snprintf(location,
                  sizeof location,
                  R"({"latitude":%.3f,"longitude":-122.4,"heading":%d})",
                  37.7 + (n % 100) * 0.001,
                  n % 360);
    signal(out, "Location", "PreciseLocation", location, t);
    signal(out, "Charge", "IsCharging", std::string(R"({"value":)") + (n % 2 == 0 ? "true" : "false") + "}", t);
    out += R"(]},"triggers":[],"meta":{"version":"4.0","webhookId":"bench","deliveryId":")" + event_id +
           R"(-1","deliveredAt":)" + std::to_string(t + 500) + R"(,"signalCount":5,"mode":"TEST"}})";
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 6) {
        std::fprintf(stderr, "usage: webhook_bench PORT AMT CONNECTIONS SECONDS VEHICLE_ID...\n");
        return 2;
    }
    const auto port = static_cast<unsigned short>(std::atoi(argv[1]));
    const std::string amt = argv[2];
    const int connections = std::atoi(argv[3]);
    const int seconds = std::atoi(argv[4]);
    std::vector<std::string> vehicles(argv + 5, argv + argc);
    const std::int64_t run_id = now_ms();
    // One thread, every connection a coroutine: the client costs little next to the server (a
    // thread per connection would spend both cores switching between them).
    std::atomic<bool> stop{false};
    std::atomic<std::int64_t> ok{0};
    std::atomic<std::int64_t> failed{0};
    std::vector<std::vector<double>> latencies(static_cast<std::size_t>(connections));
    // Bodies and signatures are made before the clock starts (enough for 40,000 deliveries/s), so
    // that the measurement is the server's work, not the client's JSON and HMAC.
    const std::size_t per_connection =
        std::max<std::size_t>(64, static_cast<std::size_t>(seconds) * 40'000 / static_cast<std::size_t>(connections));
    // Each prepared delivery is the whole HTTP request, serialised once.
    std::vector<std::vector<std::string>> prepared(static_cast<std::size_t>(connections));
    for (int c = 0; c < connections; ++c) {
        auto& list = prepared[static_cast<std::size_t>(c)];
        list.reserve(per_connection);
        for (std::size_t n = 0; n < per_connection; ++n) {
            const std::string event =
                "bench-" + std::to_string(run_id) + "-" + std::to_string(c) + "-" + std::to_string(n);
            // A fleet: connection c speaks for vehicle c (modulo the fleet's size), whose readings
            // move forward in time as a car's do, each the car's newest (so each moves its latest
            // values, as live webhooks do), a millisecond apart and ending 4 minutes after the run
            // starts: the server drops readings more than 5 minutes ahead of its clock. Connections
            // sharing a vehicle get time ranges of their own, so that no reading repeats another.
            const auto v = static_cast<std::size_t>(c) % vehicles.size();
            const auto lane = static_cast<std::int64_t>(static_cast<std::size_t>(c) / vehicles.size());
            std::string body = delivery(event,
                                        vehicles[v],
                                        run_id + 240'000 - lane * static_cast<std::int64_t>(per_connection) -
                                            static_cast<std::int64_t>(per_connection - n),
                                        static_cast<int>(n));
            const std::string signature = core::hex_encode(core::hmac_sha256(amt, body));
            std::string request =
                "POST /webhooks/smartcar HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/json\r\nSC-Signature: " +
                signature + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
            list.push_back(std::move(request));
        }
    }
    std::atomic<std::int64_t> exhausted{0};
    net::io_context io(2);
    for (int c = 0; c < connections; ++c) {
        net::co_spawn(
            io,
            [&, c]() -> net::awaitable<void> {
                beast::tcp_stream stream(co_await net::this_coro::executor);
                co_await stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                                              net::use_awaitable);
                stream.socket().set_option(tcp::no_delay(true));
                beast::flat_buffer buffer;
                auto& mine = latencies[static_cast<std::size_t>(c)];
                const auto& list = prepared[static_cast<std::size_t>(c)];
                for (std::size_t n = 0; !stop.load(std::memory_order_relaxed); ++n) {
                    if (n == list.size()) {
                        ++exhausted;
                        co_return;
                    }
                    auto start = std::chrono::steady_clock::now();
                    auto [wec, wn] =
                        co_await net::async_write(stream, net::buffer(list[n]), net::as_tuple(net::use_awaitable));
                    bhttp::response<bhttp::string_body> res;
                    beast::error_code rec;
                    if (!wec) {
                        std::tie(rec, std::ignore) =
                            co_await bhttp::async_read(stream, buffer, res, net::as_tuple(net::use_awaitable));
                    }
                    if (wec || rec) {
                        ++failed;
                        co_return;
                    }
                    mine.push_back(
                        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
                    (res.result_int() == 200 ? ok : failed)++;
                }
            },
            net::detached);
    }
    std::fprintf(stderr, "prepared %zu deliveries; sending\n", prepared.size() * per_connection);
    net::steady_timer timer(io, std::chrono::seconds(seconds));
    timer.async_wait([&](beast::error_code) { stop = true; });
    const auto begin = std::chrono::steady_clock::now();
    std::thread second([&] { io.run(); });
    io.run();
    second.join();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
    std::vector<double> all;
    for (auto& l : latencies) {
        all.insert(all.end(), l.begin(), l.end());
    }
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) {
        return all.empty()
                   ? 0.0
                   : all[std::min(all.size() - 1, static_cast<std::size_t>(p * static_cast<double>(all.size())))];
    };
    std::printf(
        "deliveries %lld acknowledged, %lld failed in %.1f s: %.0f deliveries/s; latency p50 %.2f ms, "
        "p99 %.2f ms, max %.2f ms\n",
        static_cast<long long>(ok.load()),
        static_cast<long long>(failed.load()),
        elapsed,
        static_cast<double>(ok.load()) / elapsed,
        pct(0.50),
        pct(0.99),
        all.empty() ? 0.0 : all.back());
    if (exhausted.load() > 0) {
        std::printf("(%lld connections ran out of prepared deliveries before the end)\n",
                    static_cast<long long>(exhausted.load()));
    }
    return failed.load() == 0 ? 0 : 1;
}
