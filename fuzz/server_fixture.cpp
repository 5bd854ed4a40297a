#include "server_fixture.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>

#include <boost/json.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app/app.hpp"
#include "app/config.hpp"
#include "auth/auth.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "http/client.hpp"
#include "http/router.hpp"
#include "smartcar/service.hpp"
#include "smartcar/webhooks.hpp"

namespace motorpool::fuzz {

namespace {

constexpr const char* kPassword = "fuzzing horse battery";
// Tokens last 24 hours here (MOTORPOOL_ACCESS_TOKEN_TTL); sign in again well before.
constexpr std::int64_t kResignMs = std::int64_t{12} * 3600 * 1000;

app::App* running = nullptr;

app::App* start_app() {
    std::string dir = (std::filesystem::temp_directory_path() / "motorpool-fuzz-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) {
        throw std::runtime_error("cannot create a temporary directory");
    }
    std::map<std::string, std::string> values{
        {"DATABASE_URL", "sqlite:///" + dir + "/fuzz.db"},
        {"MOTORPOOL_FILES_DIR", dir + "/files"},
        {"MOTORPOOL_HOST", "127.0.0.1"},
        {"PORT", "0"},
        {"MOTORPOOL_ENV", "test"},
        {"MOTORPOOL_IO_THREADS", "1"},
        {"MOTORPOOL_WORKER_THREADS", "2"},
        {"MOTORPOOL_DB_POOL_SIZE", "2"},
        {"MOTORPOOL_SHUTDOWN_GRACE", "1s"},
        {"SECRET_KEY", "fuzzing-secret-key-0123456789abcdef0123456789"},
        {"MOTORPOOL_ENCRYPTION_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
        {"SMARTCAR_CLIENT_ID", "sim-client-id"},
        {"SMARTCAR_CLIENT_SECRET", "sim-client-secret"},
        {"SMARTCAR_MANAGEMENT_TOKEN", kManagementToken},
        {"SMARTCAR_SIM_WEBHOOK_URL", "off"},
        {"MOTORPOOL_LOG_LEVEL", "warn"},
        {"MOTORPOOL_ACCESS_TOKEN_TTL", "24h"},
    };
    core::init_logging("warn", "text");  // what goes wrong inside the server shows in the fuzzer's log
    app::Config config = app::Config::load(core::EnvSource::from_map(values), false);
    running = new app::App(std::move(config));  // lives as long as the process
    running->start();
    // libFuzzer ends with exit(): the server's threads are stopped before static objects go away.
    std::atexit([] { running->shutdown(); });
    return running;
}

app::App& the_app() {
    static app::App* app = start_app();
    return *app;
}

std::string login(http::Client& client, const std::string& email) {
    auto r = client.post_json("/api/v1/auth/login", boost::json::object{{"email", email}, {"password", kPassword}});
    if (r.status != 200) {
        throw std::runtime_error("fuzz fixture: login " + email + " answered " + std::to_string(r.status));
    }
    return std::string(r.json().at("access_token").as_string());
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
    for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
        text.replace(pos, from.size(), to);
    }
}

// The path and query of an absolute URL (the simulator's Connect and callback links).
std::string path_of(const std::string& url) {
    const auto scheme = url.find("://");
    const auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    return slash == std::string::npos ? "/" : url.substr(slash);
}

}  // namespace

void fail(std::string_view what, std::string_view detail) {
    // fwrite, not printf: the detail may hold NUL bytes.
    std::fprintf(stderr, "fuzz: %.*s\n", static_cast<int>(what.size()), what.data());
    std::fwrite(detail.data(), 1, std::min<std::size_t>(detail.size(), 8000), stderr);
    std::fputc('\n', stderr);
    std::abort();
}

ServerFixture& ServerFixture::instance() {
    static ServerFixture* fixture = new ServerFixture;  // never destroyed: the server outlives every input
    return *fixture;
}

ServerFixture::ServerFixture() {
    app::App& app = the_app();
    port_ = app.port();
    auth::create_user(app.auth(), {"Fuzz Member", "member@fuzz.test", kPassword, std::nullopt, auth::Role::Member});
    auth::create_user(app.auth(), {"Fuzz Fleet", "fleet@fuzz.test", kPassword, std::nullopt, auth::Role::FleetManager});
    auth::create_user(app.auth(), {"Fuzz Admin", "admin@fuzz.test", kPassword, std::nullopt, auth::Role::Admin});
    sign_in();
    http::Client client("127.0.0.1", port_);
    auto r = client.request("POST",
                            "/api/v1/vehicles",
                            R"({"vin":"1HGCM82633A004352","make":"Honda","model":"Accord"})",
                            {{"Authorization", "Bearer " + member_}, {"Content-Type", "application/json"}});
    if (r.status != 201) {
        throw std::runtime_error("fuzz fixture: creating a vehicle answered " + std::to_string(r.status) + " " +
                                 r.body);
    }
    vehicle_ = std::string(r.json().at("id").as_string());
    // A simulated car connected through Connect as a browser would, for the webhook processor.
    const http::Headers bearer{{"Authorization", "Bearer " + member_}};
    auto connect = client.request("GET", "/api/v1/connect/smartcar", {}, bearer);
    const std::string url(connect.json().at("url").as_string());
    auto approved = client.get(path_of(url) + "&approve=true");
    auto callback = client.get(path_of(approved.header("Location").value_or("/")));
    const boost::json::value connections = client.request("GET", "/api/v1/connections", {}, bearer).json();
    const auto& items = connections.at("items").as_array();
    if (callback.status >= 400 || items.empty()) {
        throw std::runtime_error("fuzz fixture: connecting a simulated car failed: " + callback.body);
    }
    smartcar_vehicle_ = std::string(items.at(0).at("vehicles").at(0).at("smartcar_vehicle_id").as_string());
}

void ServerFixture::drain_webhooks() {
    the_app().smartcar().webhooks().drain();
}

http::Router& ServerFixture::router() {
    return the_app().router();
}

void ServerFixture::sign_in() {
    http::Client client("127.0.0.1", port_);
    member_ = login(client, "member@fuzz.test");
    fleet_ = login(client, "fleet@fuzz.test");
    admin_ = login(client, "admin@fuzz.test");
    signed_in_at_ms_ = core::now_ms();
}

std::string ServerFixture::expand(std::string_view text) {
    if (core::now_ms() - signed_in_at_ms_ > kResignMs) {
        sign_in();
    }
    std::string out(text);
    if (out.find('@') == std::string::npos) {
        return out;
    }
    replace_all(out, "@MEMBER@", member_);
    replace_all(out, "@FLEET@", fleet_);
    replace_all(out, "@ADMIN@", admin_);
    replace_all(out, "@SCVEHICLE@", smartcar_vehicle_);
    replace_all(out, "@VEHICLE@", vehicle_);
    return out;
}

static std::string run_command(const std::string& command) {
    std::string out;
    if (FILE* pipe = ::popen((command + " 2>&1").c_str(), "r")) {
        char chunk[4096];
        for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0;) {
            out.append(chunk, n);
        }
        ::pclose(pipe);
    }
    return out;
}

// What a hang report needs: whether the server still answers at all, and its queues and
// in-flight requests (GET /metrics, on a fresh connection, with a short deadline of its own).
std::string ServerFixture::state_report() {
    try {
        http::Client client("127.0.0.1", port_, std::chrono::seconds(3));
        auto r = client.get("/metrics");
        std::string lines;
        std::size_t start = 0;
        while (start < r.body.size()) {
            auto end = r.body.find('\n', start);
            end = end == std::string::npos ? r.body.size() : end;
            const std::string_view line(r.body.data() + start, end - start);
            if (line.rfind('#', 0) != 0 && line.find("_bucket") == std::string::npos &&
                (line.find("in_flight") != std::string::npos || line.find("worker") != std::string::npos ||
                 line.find("group_commit") != std::string::npos || line.find("connections") != std::string::npos ||
                 line.find("db_pool") != std::string::npos)) {
                lines.append(line).push_back('\n');
            }
            start = end + 1;
        }
        // The sockets to the server as the kernel sees them: unread bytes (Recv-Q) on the server's
        // side of the stuck connection mean it never read them.
        const std::string sockets = run_command("ss -tan '( sport = :" + std::to_string(port_) + " )'");
        return "GET /metrics answered " + std::to_string(r.status) + "\n" + lines + sockets;
    } catch (const std::exception& e) {
        return std::string("GET /metrics failed too: ") + e.what();
    }
}

// One connection: connect, send, half-close, read until the server closes. nullopt when the
// deadline passed first; `why` then says what the client socket was.
std::optional<std::string> ServerFixture::attempt(std::string_view bytes, int limit_ms, std::string& why) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::runtime_error("socket() failed");
    }
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port_);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    // libFuzzer's timeout timer (SIGALRM, -timeout) interrupts whatever this thread is blocked in:
    // every call below retries on EINTR. An interrupted connect goes on in the kernel: wait for it.
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        int error = errno;
        if (error == EINTR) {
            pollfd p{fd, POLLOUT, 0};
            while (::poll(&p, 1, limit_ms) < 0 && errno == EINTR) {
            }
            socklen_t size = sizeof error;
            if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) {
                error = errno;
            }
        }
        if (error != 0) {
            why = std::string("connect: ") + std::strerror(error);
            ::close(fd);
            return std::nullopt;
        }
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    // The server may answer and close before everything was sent (a bad request line): a failed
    // send is then expected, not an error.
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        sent += static_cast<std::size_t>(n);
    }
    ::shutdown(fd, SHUT_WR);
    std::string answer;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
    char buffer[16384];
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
        if (ready < 0 && errno == EINTR) {
            continue;  // the deadline is recomputed
        }
        if (ready <= 0) {
            sockaddr_in local{};
            socklen_t local_size = sizeof local;
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size);
            const int client_port = ntohs(local.sin_port);
            why = "after " + std::to_string(limit_ms) + " ms, client port " + std::to_string(client_port) + ", " +
                  std::to_string(sent) + " of " + std::to_string(bytes.size()) +
                  " bytes sent; both ends as the kernel sees them:\n" +
                  run_command("ss -tanoi '( sport = :" + std::to_string(client_port) +
                              " or dport = :" + std::to_string(client_port) + " )'") +
                  "answered so far:\n" + answer;
            ::close(fd);
            return std::nullopt;
        }
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;  // closed (or reset after a refused request)
        }
        answer.append(buffer, static_cast<std::size_t>(n));
    }
    // The server closed first and everything is read: reset rather than linger in TIME_WAIT, so
    // millions of short connections do not exhaust loopback's ports.
    const linger reset{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    ::close(fd);
    return answer;
}

std::string ServerFixture::exchange(std::string_view bytes, int limit_ms) {
    std::string why;
    std::optional<std::string> answer = attempt(bytes, limit_ms, why);
    if (!answer) {
        fail("the server neither answered nor closed in time",
             std::string(bytes.substr(0, 1000)) + "\n--- the connection: " + why + "\n--- the server's state now:\n" +
                 state_report());
    }
    if (answer->find("HTTP/1.1 500 ") != std::string::npos) {
        fail("a request got 500 Internal Server Error", *answer);
    }
    return std::move(*answer);
}

}  // namespace motorpool::fuzz
