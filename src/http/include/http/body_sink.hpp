#pragma once
// Where a streamed request body goes while it arrives. The server appends each piece as it reads
// it (on a worker when the sink says the append blocks), so a body never has to fit in memory and
// a sink can refuse it part way (a declared size or type it breaks) without reading the rest.

#include <cstddef>
#include <functional>
#include <memory>
#include <span>

#include <boost/asio/awaitable.hpp>

namespace motorpool::http {

struct Request;

class BodySink {
public:
    virtual ~BodySink() = default;
    /// True when appending `more` bytes blocks (file I/O): the server then appends on a worker.
    virtual bool blocks(std::size_t more) const = 0;
    /// Takes the next piece. Throws core::ApiError to refuse the body (answered at once, the rest
    /// left unread), any other exception when it cannot be stored (507).
    virtual void append(std::span<const char> bytes) = 0;
};

/// A route's sink for one request (RouteOptions::open_sink), and the most it may receive.
struct OpenedSink {
    std::shared_ptr<BodySink> sink;
    std::size_t limit = 0;
};

/// Opens the sink for a request after routing and before any body byte is read: the request has
/// its headers, query and path parameters, no body. Throws core::ApiError to refuse it unread.
using SinkOpener = std::function<boost::asio::awaitable<OpenedSink>(const Request& request)>;

}  // namespace motorpool::http
