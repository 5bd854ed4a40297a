#pragma once
// The server's outbound HTTP client (Smartcar and its simulator, S3): a blocking exchange over
// libcurl (call it on a worker or a thread of one's own, never on an I/O thread), with a handle
// per thread so connections to the same origin stay open between calls.

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace motorpool::http {

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::string body;                  // sent for POST and PUT, and whenever not empty (HEAD: no body read)
    std::chrono::milliseconds connect_timeout{5'000};
    std::chrono::milliseconds timeout{30'000};
    std::size_t max_response_bytes = std::size_t{8} * 1024 * 1024;  // larger: an error, no answer
};

struct HttpResponse {
    long status = 0;                             // 0: no answer (see error)
    std::map<std::string, std::string> headers;  // names lower-cased; the last of a repeated one
    std::string body;
    std::string error;  // why there is no answer (connection refused, timeout, too large)
};

/// Performs one exchange; network failures come back as status 0 with `error`, never as a throw.
HttpResponse perform(const HttpRequest& request);

}  // namespace motorpool::http
