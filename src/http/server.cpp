#include "http/server.hpp"

#include <condition_variable>
#include <csignal>
#include <ctime>
#include <future>
#include <limits>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <spdlog/spdlog.h>

#include "core/errors.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/threads.hpp"
#include "core/worker_pool.hpp"
#include "http/spooled_body.hpp"
#include "stream.hpp"

namespace motorpool::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using core::ApiError;
using detail::TcpStream;
using Acceptor = detail::Token::as_default_on_t<tcp::acceptor>;

namespace {

// One live connection. Touched only on its io_context's single thread, except the registry.
struct Connection {
    explicit Connection(TcpStream s) : stream(std::move(s)), executor(stream->get_executor()) {}
    // Empty once a WebSocket took the socket, so that the stream's state does not outlive its use.
    std::optional<TcpStream> stream;
    net::any_io_executor executor;
    bool busy = false;        // between the first byte of a request and the end of its response
    bool upgraded = false;    // the stream now belongs to a WebSocket
    bool handed_off = false;  // ...whose own coroutine now owns the connection
    std::weak_ptr<WebSocket> websocket;
    std::string remote_address;
};

// Errors that a client can cause by just going away; not worth a warning.
bool is_expected_disconnect(const boost::system::error_code& ec) {
    return ec == net::error::eof || ec == bhttp::error::end_of_stream || ec == net::error::connection_reset ||
           ec == net::error::operation_aborted || ec == beast::error::timeout || ec == net::error::broken_pipe ||
           ec == bhttp::error::partial_message;
}

// RFC 9110 Date, recomputed at most once per second per thread.
const std::string& http_date() {
    thread_local std::time_t cached_second = 0;
    thread_local std::string cached;
    std::time_t now = std::time(nullptr);
    if (now != cached_second) {
        cached_second = now;
        std::tm tm{};
        gmtime_r(&now, &tm);
        char buf[64];
        std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        cached.assign(buf, n);
    }
    return cached;
}

}  // namespace

struct Server::State : std::enable_shared_from_this<Server::State> {
    State(ServerOptions o, Router& r, core::MetricsRegistry& m)
        : options(std::move(o)),
          router(r),
          accepted(m.counter("motorpool_http_connections_accepted_total", "TCP connections accepted")),
          rejected(m.counter("motorpool_http_connections_rejected_total",
                             "Connections refused because MOTORPOOL_MAX_CONNECTIONS was reached")),
          malformed(m.counter(
              "motorpool_http_malformed_requests_total", "Requests refused before routing", {{"reason", "malformed"}})),
          header_too_large(m.counter("motorpool_http_malformed_requests_total",
                                     "Requests refused before routing",
                                     {{"reason", "header_too_large"}})),
          body_too_large(m.counter("motorpool_http_malformed_requests_total",
                                   "Requests refused before routing",
                                   {{"reason", "body_too_large"}})),
          timeouts(m.counter("motorpool_http_read_timeouts_total", "Connections closed by the read timeout")) {
        m.gauge_callback("motorpool_http_connections_open", "TCP connections open now", [this] {
            return static_cast<double>(open.load(std::memory_order_relaxed));
        });
    }

    ServerOptions options;
    Router& router;
    std::vector<std::unique_ptr<net::io_context>> contexts;
    std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
    std::vector<std::thread> threads;
    std::unique_ptr<Acceptor> acceptor;
    std::uint16_t bound_port = 0;
    std::atomic<std::size_t> next_context{0};
    std::atomic<int> open{0};
    std::atomic<bool> draining{false};
    std::atomic<bool> stopped{false};
    core::Counter& accepted;
    core::Counter& rejected;
    core::Counter& malformed;
    core::Counter& header_too_large;
    core::Counter& body_too_large;
    core::Counter& timeouts;

    std::mutex registry_mutex;
    std::condition_variable all_closed;
    std::unordered_map<Connection*, std::weak_ptr<Connection>> registry;

    void add(const std::shared_ptr<Connection>& c) {
        std::lock_guard lock(registry_mutex);
        registry.emplace(c.get(), c);
    }
    void remove(Connection* c) {
        std::lock_guard lock(registry_mutex);
        registry.erase(c);
        open.fetch_sub(1, std::memory_order_relaxed);
        all_closed.notify_all();
    }

    net::awaitable<void> accept_loop();
    net::awaitable<void> session(std::shared_ptr<Connection> connection);
    net::awaitable<bool> write(Connection& c, const Request& request, Response response, bool keep_alive);
    net::awaitable<bool> answer_continue(Connection& c, const bhttp::request<bhttp::string_body>& message);
    enum class StreamOutcome { Complete, TooLarge, Malformed, NoSpace, Refused, Gone };
    net::awaitable<StreamOutcome> read_streamed_body(Connection& c,
                                                     beast::flat_buffer& buffer,
                                                     bhttp::request_parser<bhttp::string_body>& header,
                                                     std::size_t limit,
                                                     BodySink& body,
                                                     std::optional<ApiError>& refusal);
    std::string spool_directory() const {
        if (!options.spool_directory.empty()) {
            return options.spool_directory;
        }
        const char* tmp = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): read, never set
        return tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
    }
    net::awaitable<void> upgrade(std::shared_ptr<Connection> connection,
                                 bhttp::request<bhttp::string_body> message,
                                 Request request,
                                 Match match);
    net::awaitable<void> refuse(TcpStream stream);
};

net::awaitable<bool> Server::State::write(Connection& c, const Request& request, Response response, bool keep_alive) {
    bhttp::response<bhttp::string_body> message{static_cast<bhttp::status>(response.status), 11};
    message.set(bhttp::field::server, "motorpool");
    message.set(bhttp::field::date, http_date());
    if (!response.content_type.empty()) {
        message.set(bhttp::field::content_type, response.content_type);
    }
    for (auto& [name, value] : response.headers) {
        message.insert(name, value);
    }
    message.set("X-Request-Id", request.request_id);
    // On every answer (OWASP API8): no content sniffing, so a JSON body is never run as a script
    // or rendered as HTML. (Cache-Control for signed-in callers: Router::dispatch.)
    message.set("X-Content-Type-Options", "nosniff");
    message.keep_alive(keep_alive);
    const bool head = request.method == Method::Head;
    const std::shared_ptr<BodySource> source = std::move(response.source);
    const std::uint64_t body_size = source ? source->size() : response.body.size();
    message.body() = source ? std::string() : std::move(response.body);
    message.prepare_payload();
    c.stream->expires_after(options.write_timeout);
    boost::system::error_code ec;
    if (head || source) {
        message.content_length(body_size);
        message.body().clear();
        bhttp::response_serializer<bhttp::string_body> serializer(message);
        std::tie(ec, std::ignore) = co_await bhttp::async_write_header(*c.stream, serializer);
    } else {
        std::tie(ec, std::ignore) = co_await bhttp::async_write(*c.stream, message);
    }
    if (ec || head || !source) {
        co_return !ec;
    }
    // A streamed body: 256 KiB at a time, read on a worker (a disk read may block), each piece
    // with its own write deadline.
    std::vector<char> piece(256 * 1024);
    for (std::uint64_t offset = 0; offset < body_size;) {
        const std::span<char> out(piece.data(), std::min<std::uint64_t>(piece.size(), body_size - offset));
        std::size_t n = 0;
        try {
            auto read = [&source, offset, out] { return source->read(offset, out); };
            n = options.blocking != nullptr ? co_await options.blocking->run(read) : read();
        } catch (const std::exception& e) {
            spdlog::warn("a streamed response body could not be read: {}", e.what());
        }
        if (n == 0) {
            co_return false;  // shorter than announced: only closing the connection tells the client
        }
        c.stream->expires_after(options.write_timeout);
        std::tie(ec, std::ignore) = co_await net::async_write(*c.stream, net::buffer(piece.data(), n));
        if (ec) {
            co_return false;
        }
        offset += n;
    }
    co_return true;
}

net::awaitable<void> Server::State::refuse(TcpStream stream) {
    // Over the connection limit: a short 503 and close, without reading the request.
    static constexpr std::string_view kBusy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nRetry-After: 1\r\n"
        "Connection: close\r\nContent-Length: 95\r\n\r\n"
        R"({"type":"urn:motorpool:problem:unavailable","title":"Service Unavailable","status":503,"detail":"Too many connections"})";
    stream.expires_after(std::chrono::seconds(2));
    co_await net::async_write(stream, net::buffer(kBusy.data(), kBusy.size()));
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

net::awaitable<void> Server::State::accept_loop() {
    while (true) {
        auto& context = *contexts[next_context.fetch_add(1, std::memory_order_relaxed) % contexts.size()];
        auto [ec, socket] = co_await acceptor->async_accept(context.get_executor());
        if (ec) {
            if (ec == net::error::operation_aborted || !acceptor->is_open() || draining.load()) {
                co_return;
            }
            // EMFILE and friends: back off briefly instead of spinning.
            spdlog::warn("accept failed: {}", ec.message());
            net::steady_timer pause(acceptor->get_executor(), std::chrono::milliseconds(50));
            co_await pause.async_wait(net::use_awaitable);
            continue;
        }
        accepted.inc();
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        if (open.load(std::memory_order_relaxed) >= options.max_connections) {
            rejected.inc();
            auto executor = socket.get_executor();
            net::co_spawn(executor, refuse(TcpStream(std::move(socket))), [](std::exception_ptr) {});
            continue;
        }
        open.fetch_add(1, std::memory_order_relaxed);
        auto connection = std::make_shared<Connection>(TcpStream(std::move(socket)));
        auto endpoint = connection->stream->socket().remote_endpoint(ignored);
        connection->remote_address = endpoint.address().to_string();
        add(connection);
        auto executor = connection->executor;
        net::co_spawn(executor, session(connection), [self = shared_from_this(), connection](std::exception_ptr error) {
            if (error) {
                try {
                    std::rethrow_exception(error);
                } catch (const std::exception& e) {
                    spdlog::error("session ended by an unexpected error: {}", e.what());
                }
            }
            if (!connection->handed_off) {
                self->remove(connection.get());
            }
        });
    }
}

// Expect: 100-continue: the interim answer before the body is read. False when the peer is gone.
net::awaitable<bool> Server::State::answer_continue(Connection& c, const bhttp::request<bhttp::string_body>& message) {
    if (!iequals(message[bhttp::field::expect], "100-continue")) {
        co_return true;
    }
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    auto [ec, n] = co_await net::async_write(*c.stream, net::buffer(kContinue.data(), kContinue.size()));
    co_return !ec;
}

// Reads the body of a streamed route in chunks into `body`; the header was read by `header`.
net::awaitable<Server::State::StreamOutcome> Server::State::read_streamed_body(
    Connection& c,
    beast::flat_buffer& buffer,
    bhttp::request_parser<bhttp::string_body>& header,
    std::size_t limit,
    BodySink& body,
    std::optional<ApiError>& refusal) {
    bhttp::request_parser<bhttp::buffer_body> parser(std::move(header));
    parser.body_limit(limit);
    // 256 KiB per read (a quarter of the worker hops of 64 KiB pieces), two of them: the next piece
    // is read from the socket while the worker stores the last (bench/files_upload.sh: 100 MiB
    // uploads 192 -> 222 MiB/s for the larger pieces). Held only while a streamed body is read.
    constexpr std::size_t kPiece = 256 * 1024;
    std::vector<char> chunks[2]{std::vector<char>(kPiece), std::vector<char>(kPiece)};
    int current = 0;
    std::size_t pending = 0;  // bytes of chunks[1 - current] read but not stored yet
    auto store = [&](std::span<const char> piece) -> net::awaitable<void> {
        if (options.blocking != nullptr && body.blocks(piece.size())) {
            // File I/O blocks: on a worker, never on this I/O thread.
            co_await options.blocking->run([&body, piece] { body.append(piece); });
        } else {
            body.append(piece);
        }
    };
    auto read_into = [&](std::vector<char>& chunk) -> net::awaitable<std::pair<beast::error_code, std::size_t>> {
        parser.get().body().data = chunk.data();
        parser.get().body().size = chunk.size();
        auto [ec, n] = co_await bhttp::async_read(*c.stream, buffer, parser);
        if (ec == bhttp::error::need_buffer) {
            ec = {};  // the chunk is full: not an error
        }
        co_return std::pair{ec, chunk.size() - parser.get().body().size};
    };
    try {
        while (!parser.is_done()) {
            std::pair<beast::error_code, std::size_t> read;
            if (pending > 0) {
                using namespace net::experimental::awaitable_operators;
                const std::span<const char> piece(chunks[1 - current].data(), pending);
                read = co_await (read_into(chunks[current]) && store(piece));
                pending = 0;
            } else {
                read = co_await read_into(chunks[current]);
            }
            const auto [ec, got] = read;
            if (got > 0) {
                pending = got;
                current = 1 - current;
            }
            if (ec == bhttp::error::body_limit) {
                co_return StreamOutcome::TooLarge;
            }
            if (ec) {
                if (ec == beast::error::timeout) {
                    timeouts.inc();
                    co_return StreamOutcome::Gone;
                }
                co_return is_expected_disconnect(ec) ? StreamOutcome::Gone : StreamOutcome::Malformed;
            }
        }
        if (pending > 0) {
            co_await store(std::span<const char>(chunks[1 - current].data(), pending));
        }
    } catch (const ApiError& e) {
        refusal = e;  // the sink's refusal, or the worker queue full (503)
        co_return StreamOutcome::Refused;
    } catch (const std::exception& e) {
        spdlog::warn("a streamed request body could not be stored: {}", e.what());
        co_return StreamOutcome::NoSpace;
    }
    co_return StreamOutcome::Complete;
}

net::awaitable<void> Server::State::session(std::shared_ptr<Connection> connection) {
    Connection& c = *connection;
    // Room for a maximal header block plus read-ahead; bodies go to the parser's own string.
    beast::flat_buffer buffer(options.max_header_bytes + 64 * 1024);
    while (!draining.load(std::memory_order_relaxed)) {
        c.busy = false;
        if (buffer.size() == 0) {
            c.stream->expires_after(options.idle_timeout);
            auto [ec, n] = co_await c.stream->async_read_some(buffer.prepare(16 * 1024));
            if (ec) {
                break;
            }
            buffer.commit(n);
        }
        c.busy = true;
        const auto started = std::chrono::steady_clock::now();
        c.stream->expires_after(options.read_timeout);
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
        // The route's limit is applied once the header names the route; until then Beast must not
        // reject the Content-Length itself (it checks it against the limit while parsing the header).
        parser.body_limit(std::numeric_limits<std::uint64_t>::max());

        Request request;
        request.remote_address = c.remote_address;
        auto [ec, n] = co_await bhttp::async_read_header(*c.stream, buffer, parser);
        if (ec) {
            if (ec == beast::error::timeout) {
                timeouts.inc();
            }
            if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
                header_too_large.inc();
                request.request_id = core::new_request_id();
                co_await write(
                    c,
                    request,
                    Router::problem(ApiError(431, core::status_title(431), "The request header block is too large"),
                                    request),
                    false);
            } else if (!is_expected_disconnect(ec)) {
                malformed.inc();
                request.request_id = core::new_request_id();
                co_await write(
                    c, request, Router::problem(ApiError::bad_request("Malformed HTTP request"), request), false);
            }
            break;
        }

        auto& message = parser.get();
        request.method = method_from_name(std::string_view(message.method_string()));
        request.target = std::string(message.target());
        auto incoming_id = message["X-Request-Id"];
        request.request_id =
            core::is_acceptable_request_id(incoming_id) ? std::string(incoming_id) : core::new_request_id();
        std::string_view target = request.target;
        auto question = target.find('?');
        request.path = std::string(target.substr(0, question));
        if (question != std::string_view::npos) {
            request.query = std::string(target.substr(question + 1));
        }
        if (request.path.empty() || request.path.front() != '/') {
            malformed.inc();
            co_await write(c,
                           request,
                           Router::problem(ApiError::bad_request("The request target must be a path"), request),
                           false);
            break;
        }
        // RFC 9112 §3.2: an HTTP/1.1 request without Host is refused; §6.1: a transfer coding other
        // than chunked cannot be decoded here.
        if (message.version() >= 11 && message.find(bhttp::field::host) == message.end()) {
            malformed.inc();
            Response refusal = Router::problem(ApiError::bad_request("HTTP/1.1 requests need a Host header"), request);
            co_await write(c, request, std::move(refusal), false);
            break;
        }
        if (auto te = message[bhttp::field::transfer_encoding]; !te.empty() && !iequals(te, "chunked")) {
            malformed.inc();
            Response refusal = Router::problem(
                ApiError(501, core::status_title(501), "Only the chunked transfer coding is supported"), request);
            co_await write(c, request, std::move(refusal), false);
            break;
        }
        request.headers.reserve(16);
        for (const auto& field : message) {
            request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        }

        Match match = router.match(request.method, request.path);
        const std::size_t limit = router.body_limit(match);
        if (message.has_content_length() && parser.content_length().value_or(0) > limit) {
            body_too_large.inc();
            co_await write(c, request, Router::problem(ApiError::payload_too_large(limit), request), false);
            break;
        }
        parser.body_limit(limit);

        if (beast::websocket::is_upgrade(message) && match.kind == Match::Kind::Found && match.route->websocket) {
            // This session's read buffer (16 KiB or more) would sit idle for the socket's whole
            // life: give it back. Bytes pipelined behind an upgrade request are not supported.
            buffer.consume(buffer.size());
            buffer.shrink_to_fit();
            co_await upgrade(connection, parser.release(), std::move(request), std::move(match));
            co_return;
        }

        const bool wants_keep_alive = message.keep_alive();
        const bool sink_route = match.kind == Match::Kind::Found && match.route->options.open_sink;
        if (sink_route || (match.kind == Match::Kind::Found && match.route->options.spool_threshold > 0)) {
            // A streamed body: into the route's own sink, or read as it arrives into memory, then
            // a temporary file.
            std::shared_ptr<BodySink> body;
            std::size_t body_limit = limit;
            if (sink_route) {
                request.path_params = match.params;
                std::optional<ApiError> refused;  // co_await is not allowed in a catch block
                try {
                    OpenedSink opened = co_await match.route->options.open_sink(request);
                    body = std::move(opened.sink);
                    body_limit = std::min(limit, opened.limit);
                } catch (const ApiError& e) {
                    refused = e;
                } catch (const std::exception& e) {
                    spdlog::error("opening the body of {} failed: {}", request.path, e.what());
                    refused = ApiError(500, core::status_title(500), "An unexpected error occurred");
                }
                if (refused) {
                    co_await write(c, request, Router::problem(*refused, request), false);  // the body stays unread
                    break;
                }
                if (message.has_content_length() && parser.content_length().value_or(0) > body_limit) {
                    body_too_large.inc();
                    co_await write(
                        c, request, Router::problem(ApiError::payload_too_large(body_limit), request), false);
                    break;
                }
            } else {
                body = std::make_shared<SpooledBody>(match.route->options.spool_threshold, spool_directory());
            }
            if (!parser.is_done()) {
                if (!co_await answer_continue(c, message)) {
                    break;
                }
                std::optional<ApiError> refusal;
                const StreamOutcome outcome =
                    co_await read_streamed_body(c, buffer, parser, body_limit, *body, refusal);
                if (outcome != StreamOutcome::Complete) {
                    if (outcome == StreamOutcome::TooLarge) {
                        body_too_large.inc();
                        co_await write(
                            c, request, Router::problem(ApiError::payload_too_large(body_limit), request), false);
                    } else if (outcome == StreamOutcome::Malformed) {
                        malformed.inc();
                        co_await write(c,
                                       request,
                                       Router::problem(ApiError::bad_request("Malformed request body"), request),
                                       false);
                    } else if (outcome == StreamOutcome::Refused) {
                        co_await write(c, request, Router::problem(*refusal, request), false);
                    } else if (outcome == StreamOutcome::NoSpace) {
                        co_await write(
                            c,
                            request,
                            Router::problem(
                                ApiError(507, core::status_title(507), "The request body could not be stored for now"),
                                request),
                            false);
                    }
                    break;
                }
            }
            if (sink_route) {
                request.sink = std::move(body);
            } else {
                request.streamed = std::static_pointer_cast<const SpooledBody>(body);
            }
        } else if (!parser.is_done()) {
            if (!co_await answer_continue(c, message)) {
                break;
            }
            auto [bec, bn] = co_await bhttp::async_read(*c.stream, buffer, parser);
            if (bec == bhttp::error::body_limit) {
                body_too_large.inc();
                co_await write(c, request, Router::problem(ApiError::payload_too_large(limit), request), false);
                break;
            }
            if (bec) {
                if (bec == beast::error::timeout) {
                    timeouts.inc();
                } else if (!is_expected_disconnect(bec)) {
                    malformed.inc();
                    co_await write(
                        c, request, Router::problem(ApiError::bad_request("Malformed request body"), request), false);
                }
                break;
            }
        }
        if (!request.streamed) {
            request.body = std::move(message.body());
        }

        Request log_view;
        log_view.method = request.method;
        log_view.request_id = request.request_id;
        log_view.path = request.path;
        DispatchSeen seen;
        Response response = co_await router.dispatch(std::move(request), std::move(match), &seen);
        // Decided after the handler: a shutdown that began meanwhile closes this connection.
        const bool keep_alive = wants_keep_alive && !draining.load(std::memory_order_relaxed);
        const int status = response.status;
        const std::size_t bytes =
            response.source ? static_cast<std::size_t>(response.source->size()) : response.body.size();
        if (options.response_observer) {
            options.response_observer(
                ResponseSeen{log_view.method, seen.route, status, response.content_type, response.body});
        }
        const bool written = co_await write(c, log_view, std::move(response), keep_alive);
        if (options.access_log) {
            const double ms =
                std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
            core::log_event(spdlog::level::info,
                            "request",
                            {{"request_id", log_view.request_id},
                             {"remote", c.remote_address},
                             {"method", method_name(log_view.method)},
                             {"path", log_view.path},
                             {"route", core::optional_field(seen.route)},
                             {"status", std::int64_t{status}},
                             {"bytes", static_cast<std::int64_t>(bytes)},
                             {"duration_ms", ms},
                             {"user_id", core::optional_field(seen.user_id)}});
        }
        if (!written || !keep_alive) {
            break;
        }
    }
    if (!c.upgraded) {
        boost::system::error_code ignored;
        c.stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
        c.stream->close();
    }
}

namespace {

// The first subprotocol the client offers (comma-separated, in its order of preference) that the
// route speaks; empty when none. Names compare exactly (they are case-sensitive tokens).
std::string pick_subprotocol(std::string_view offered, const std::vector<std::string>& spoken) {
    while (!offered.empty()) {
        const auto comma = offered.find(',');
        std::string_view name = offered.substr(0, comma);
        offered = comma == std::string_view::npos ? std::string_view() : offered.substr(comma + 1);
        while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) {
            name.remove_prefix(1);
        }
        while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) {
            name.remove_suffix(1);
        }
        if (std::find(spoken.begin(), spoken.end(), name) != spoken.end()) {
            return std::string(name);
        }
    }
    return {};
}

// The handler's awaitable is created before this coroutine starts, so that the upgrade request is
// not kept in a frame for the socket's whole life (a handler that needs it keeps what it needs).
net::awaitable<void> run_websocket(net::awaitable<void> handler,
                                   std::shared_ptr<WebSocket> socket,
                                   std::string request_id) {
    try {
        co_await std::move(handler);
    } catch (const std::exception& e) {
        core::log_event(spdlog::level::err,
                        "websocket handler failed",
                        {{"request_id", request_id}, {"error", std::string_view(e.what())}});
    }
    co_await socket->close(1000);
}

}  // namespace

net::awaitable<void> Server::State::upgrade(std::shared_ptr<Connection> connection,
                                            bhttp::request<bhttp::string_body> message,
                                            Request request,
                                            Match match) {
    Connection& c = *connection;
    std::optional<Response> refusal;
    // Before authorisation: a Basic verifier checks them (a charger's id in the path).
    request.route = match.route->pattern;
    request.path_params = std::move(match.params);
    try {
        co_await router.authorize_upgrade(request, match);
    } catch (const ApiError& error) {
        refusal = Router::problem(error, request);
        router.add_cors_headers(request, *refusal);
    }
    if (refusal) {
        co_await write(c, request, std::move(*refusal), false);
        boost::system::error_code ignored;
        c.stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
    }
    c.stream->expires_never();
    c.upgraded = true;
    // The WebSocket keeps the bare socket (its own timers do the timeouts) and the HTTP stream goes.
    auto impl = std::make_unique<WebSocket::Impl>(c.stream->release_socket());
    c.stream.reset();
    impl->remote_address = c.remote_address;
    const RouteOptions& route_options = match.route->options;
    auto ws_timeouts = beast::websocket::stream_base::timeout::suggested(beast::role_type::server);
    if (route_options.ws_idle_timeout.count() > 0) {
        ws_timeouts.idle_timeout = route_options.ws_idle_timeout;
        ws_timeouts.keep_alive_pings = true;
    }
    impl->ws.set_option(ws_timeouts);
    impl->ws.read_message_max(route_options.ws_max_message_bytes);
    const bool negotiates = !route_options.subprotocols.empty();
    if (negotiates) {
        impl->subprotocol =
            pick_subprotocol(request.header("Sec-WebSocket-Protocol").value_or(""), route_options.subprotocols);
    }
    std::string request_id = request.request_id;
    impl->ws.set_option(beast::websocket::stream_base::decorator(
        [request_id, chosen = impl->subprotocol](beast::websocket::response_type& res) {
            res.set(bhttp::field::server, "motorpool");
            res.set("X-Request-Id", request_id);
            if (!chosen.empty()) {
                res.set(bhttp::field::sec_websocket_protocol, chosen);
            }
        }));
    auto [ec] = co_await impl->ws.async_accept(message);
    if (ec) {
        co_return;
    }
    if (negotiates && impl->subprotocol.empty()) {
        // None of the client's subprotocols: the handshake is complete without the header (done),
        // and the connection is closed at once, before any handler runs (OCPP-J 1.6 §3).
        core::log_event(spdlog::level::info,
                        "websocket refused: no common subprotocol",
                        {{"request_id", request_id},
                         {"remote", c.remote_address},
                         {"offered", std::string(request.header("Sec-WebSocket-Protocol").value_or(""))}});
        auto [closed] = co_await impl->ws.async_close(
            beast::websocket::close_reason(beast::websocket::close_code::protocol_error, "no supported subprotocol"));
        (void)closed;  // the peer may be gone already: nothing more to do either way
        co_return;
    }
    auto socket = std::make_shared<WebSocket>(std::move(impl));
    c.websocket = socket;
    core::log_event(
        spdlog::level::info,
        "websocket opened",
        {{"request_id", request.request_id},
         {"remote", c.remote_address},
         {"path", request.path},
         {"route", match.route->pattern},
         {"user_id", core::optional_field(request.principal ? request.principal->subject : std::string())}});
    // The WebSocket gets a coroutine of its own, so that this one and the HTTP session end here:
    // their frames, the parser and the upgrade request would otherwise live as long as the socket
    // (about 8 KB each). The connection leaves the registry when the WebSocket's coroutine ends.
    c.handed_off = true;
    net::awaitable<void> handler;
    try {
        handler = match.route->websocket(std::move(request), socket);
    } catch (const std::exception& e) {
        core::log_event(spdlog::level::err,
                        "websocket handler failed",
                        {{"request_id", request_id}, {"error", std::string_view(e.what())}});
        handler = socket->close(1011, "internal error");
    }
    net::co_spawn(socket->executor(),
                  run_websocket(std::move(handler), socket, std::move(request_id)),
                  [self = shared_from_this(), connection](std::exception_ptr) { self->remove(connection.get()); });
}

Server::Server(ServerOptions options, Router& router, core::MetricsRegistry& metrics)
    : state_(std::make_shared<State>(std::move(options), router, metrics)) {}

Server::~Server() {
    shutdown();
    // Destroying the contexts destroys suspended session frames, closing their sockets.
    state_->acceptor.reset();
    state_->contexts.clear();
}

void Server::listen() {
    auto& s = *state_;
    if (s.acceptor) {
        return;
    }
    const int threads = std::max(1, s.options.io_threads);
    for (int i = 0; i < threads; ++i) {
        s.contexts.push_back(std::make_unique<net::io_context>(1));
        s.guards.push_back(net::make_work_guard(*s.contexts.back()));
    }
    boost::system::error_code ec;
    auto address = net::ip::make_address(s.options.host, ec);
    if (ec) {
        throw std::runtime_error("MOTORPOOL_HOST is not an IP address: " + s.options.host);
    }
    tcp::endpoint endpoint(address, s.options.port);
    s.acceptor = std::make_unique<Acceptor>(*s.contexts.front());
    s.acceptor->open(endpoint.protocol());
    s.acceptor->set_option(net::socket_base::reuse_address(true));
    s.acceptor->bind(endpoint, ec);
    if (ec) {
        throw std::runtime_error("cannot listen on " + s.options.host + ":" + std::to_string(s.options.port) + ": " +
                                 ec.message());
    }
    s.acceptor->listen(net::socket_base::max_listen_connections);
    s.bound_port = s.acceptor->local_endpoint().port();
    net::co_spawn(*s.contexts.front(), s.accept_loop(), [](std::exception_ptr error) {
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                spdlog::critical("accept loop failed: {}", e.what());
            }
        }
    });
}

void Server::start() {
    listen();
    auto& s = *state_;
    for (auto& context : s.contexts) {
        s.threads.emplace_back([ctx = context.get()] {
            core::name_this_thread("mp-io");
            ctx->run();
        });
    }
}

std::uint16_t Server::port() const {
    return state_->bound_port;
}

bool Server::draining() const {
    return state_->draining.load();
}

boost::asio::any_io_executor Server::executor() {
    auto& s = *state_;
    return s.contexts[s.next_context.fetch_add(1, std::memory_order_relaxed) % s.contexts.size()]->get_executor();
}

void Server::shutdown() {
    auto& s = *state_;
    if (s.contexts.empty() || s.stopped.exchange(true)) {
        return;
    }
    s.draining.store(true);
    net::post(*s.contexts.front(), [state = state_] {
        boost::system::error_code ignored;
        state->acceptor->close(ignored);
    });
    {
        std::lock_guard lock(s.registry_mutex);
        for (auto& [raw, weak] : s.registry) {
            auto connection = weak.lock();
            if (!connection) {
                continue;
            }
            // Idle keep-alive connections close now; busy ones finish their response first.
            net::post(connection->executor, [connection] {
                if (connection->upgraded) {
                    if (auto ws = connection->websocket.lock()) {
                        net::co_spawn(
                            ws->executor(), ws->close(1001, "server shutting down"), [](std::exception_ptr) {});
                    }
                } else if (!connection->busy) {
                    connection->stream->cancel();
                }
            });
        }
    }
    {
        std::unique_lock lock(s.registry_mutex);
        if (!s.all_closed.wait_for(lock, s.options.shutdown_grace, [&] { return s.registry.empty(); })) {
            spdlog::warn("shutdown grace period over with {} connection(s) open; closing them", s.registry.size());
        }
    }
    for (auto& guard : s.guards) {
        guard.reset();
    }
    for (auto& context : s.contexts) {
        context->stop();
    }
    for (auto& thread : s.threads) {
        thread.join();
    }
    s.threads.clear();
    // The contexts stay alive until the Server is destroyed: worker-pool jobs and the group-commit
    // writer may still hold executors of them and complete into them until they are joined.
}

void Server::run_until_signal() {
    net::io_context signals_context(1);
    net::signal_set signals(signals_context, SIGINT, SIGTERM);
    int received = 0;
    signals.async_wait([&](const boost::system::error_code& ec, int signal) {
        if (!ec) {
            received = signal;
        }
    });
    signals_context.run();
    spdlog::info("received {}, shutting down (grace {} ms)",
                 received == SIGINT ? "SIGINT" : "SIGTERM",
                 state_->options.shutdown_grace.count());
    shutdown();
}

}  // namespace motorpool::http
