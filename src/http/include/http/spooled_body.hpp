#pragma once
// A request body read as a stream (RouteOptions::spool_threshold): kept in memory up to the
// threshold, then in an anonymous temporary file (unlinked at creation, gone with the last
// reference). Handlers read it incrementally, on a worker (the file reads block).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "http/body_sink.hpp"

namespace motorpool::http {

class SpooledBody final : public BodySink {
public:
    /// Bodies past `threshold` bytes move to a file in `directory`.
    SpooledBody(std::size_t threshold, std::string directory);
    ~SpooledBody() override;
    SpooledBody(const SpooledBody&) = delete;
    SpooledBody& operator=(const SpooledBody&) = delete;

    /// Appends received bytes (the server, while reading). Throws std::runtime_error when the
    /// temporary file cannot be written.
    void append(std::span<const char> bytes) override;

    /// True when appending `more` bytes writes to the file (a blocking call: on a worker).
    bool blocks(std::size_t more) const override { return fd_ >= 0 || memory_.size() + more > threshold_; }

    std::uint64_t size() const { return size_; }
    /// True once the body went to a file.
    bool spooled() const { return fd_ >= 0; }
    /// Copies up to `out.size()` bytes from `offset`; returns how many (0 at the end).
    std::size_t read(std::uint64_t offset, std::span<char> out) const;

private:
    std::size_t threshold_;
    std::string directory_;
    std::string memory_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

}  // namespace motorpool::http
