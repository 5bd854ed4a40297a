#include "http/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace motorpool::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

std::optional<std::string> ClientResponse::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (iequals(key, name)) {
            return value;
        }
    }
    return std::nullopt;
}

boost::json::value ClientResponse::json() const {
    return boost::json::parse(body);
}

struct Client::Impl {
    std::string host;
    std::uint16_t port;
    std::chrono::milliseconds timeout;
    net::io_context context;
    std::optional<beast::tcp_stream> stream;
    beast::flat_buffer buffer;

    void connect() {
        stream.emplace(context);
        buffer.clear();
        stream->expires_after(timeout);
        net::ip::tcp::endpoint endpoint(net::ip::make_address(host), port);
        stream->connect(endpoint);
    }

    ClientResponse exchange(const bhttp::request<bhttp::string_body>& req) {
        stream->expires_after(timeout);
        bhttp::write(*stream, req);
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(std::uint64_t{64} * 1024 * 1024);
        if (req.method() == bhttp::verb::head) {
            parser.skip(true);
        }
        bhttp::read(*stream, buffer, parser);
        auto& res = parser.get();
        ClientResponse out;
        out.status = static_cast<int>(res.result_int());
        for (const auto& field : res) {
            out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
        }
        out.body = std::move(res.body());
        if (!res.keep_alive()) {
            beast::error_code ignored;
            stream->socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
            stream.reset();
        }
        return out;
    }
};

Client::Client(std::string host, std::uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
    impl_->host = std::move(host);
    impl_->port = port;
    impl_->timeout = timeout;
}

Client::~Client() = default;

ClientResponse Client::request(std::string_view method,
                               std::string_view target,
                               std::string body,
                               const Headers& headers) {
    bhttp::request<bhttp::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(bhttp::field::host, impl_->host + ":" + std::to_string(impl_->port));
    req.set(bhttp::field::user_agent, "motorpool-client");
    for (const auto& [name, value] : headers) {
        req.set(name, value);
    }
    const bool has_body = !body.empty();
    req.body() = std::move(body);
    if (has_body || method == "POST" || method == "PUT" || method == "PATCH") {
        req.prepare_payload();
    }
    // A kept-alive connection may have been closed by the server meanwhile: retry once fresh.
    for (int attempt = 0;; ++attempt) {
        bool fresh = !impl_->stream.has_value();
        if (fresh) {
            impl_->connect();
        }
        try {
            return impl_->exchange(req);
        } catch (const boost::system::system_error&) {
            impl_->stream.reset();
            if (fresh || attempt > 0) {
                throw;
            }
        }
    }
}

ClientResponse Client::get(std::string_view target, Headers headers) {
    return request("GET", target, {}, std::move(headers));
}

ClientResponse Client::post_json(std::string_view target, const boost::json::value& body, Headers headers) {
    headers.emplace_back("Content-Type", "application/json");
    return request("POST", target, boost::json::serialize(body), std::move(headers));
}

}  // namespace motorpool::http
