#include "http/spooled_body.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace motorpool::http {

SpooledBody::SpooledBody(std::size_t threshold, std::string directory)
    : threshold_(threshold), directory_(std::move(directory)) {}

SpooledBody::~SpooledBody() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void SpooledBody::append(std::span<const char> bytes) {
    if (fd_ < 0 && memory_.size() + bytes.size() <= threshold_) {
        memory_.append(bytes.data(), bytes.size());
        size_ += bytes.size();
        return;
    }
    if (fd_ < 0) {
        // An unnamed file: nothing to clean up after a crash, invisible to other processes.
        fd_ = ::open(directory_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd_ < 0) {
            throw std::runtime_error(std::string("cannot create a temporary file for a request body: ") +
                                     std::strerror(errno));
        }
        std::string held;
        held.swap(memory_);
        size_ = 0;
        append(std::span<const char>(held.data(), held.size()));
    }
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(size_ + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw std::runtime_error(std::string("cannot write a request body to its temporary file: ") +
                                     std::strerror(errno));
        }
        done += static_cast<std::size_t>(n);
    }
    size_ += bytes.size();
}

std::size_t SpooledBody::read(std::uint64_t offset, std::span<char> out) const {
    if (offset >= size_) {
        return 0;
    }
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size_ - offset));
    if (fd_ < 0) {
        std::memcpy(out.data(), memory_.data() + offset, want);
        return want;
    }
    std::size_t done = 0;
    while (done < want) {
        const ssize_t n = ::pread(fd_, out.data() + done, want - done, static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            throw std::runtime_error("cannot read a request body back from its temporary file");
        }
        done += static_cast<std::size_t>(n);
    }
    return done;
}

}  // namespace motorpool::http
