#pragma once
// A small blocking HTTP/1.1 client over one keep-alive connection, for tests and tools.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "http/request.hpp"

namespace motorpool::http {

struct ClientResponse {
    int status = 0;
    Headers headers;
    std::string body;

    std::optional<std::string> header(std::string_view name) const;
    /// The body parsed as JSON (throws on malformed JSON).
    boost::json::value json() const;
};

class Client {
public:
    Client(std::string host, std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(30));
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Sends one request and reads its response; reconnects if the server closed the connection.
    ClientResponse request(std::string_view method,
                           std::string_view target,
                           std::string body = {},
                           const Headers& headers = {});
    ClientResponse get(std::string_view target, Headers headers = {});
    ClientResponse post_json(std::string_view target, const boost::json::value& body, Headers headers = {});

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace motorpool::http
