#include "sniff.hpp"

#include <memory>
#include <stdexcept>

#include <magic.h>

namespace motorpool::files {

namespace {

struct MagicCloser {
    void operator()(magic_set* m) const { magic_close(m); }
};

magic_t handle() {
    thread_local std::unique_ptr<magic_set, MagicCloser> magic = [] {
        std::unique_ptr<magic_set, MagicCloser> m(magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR));
        if (!m || magic_load(m.get(), nullptr) != 0) {
            throw std::runtime_error("libmagic could not load its database");
        }
        return m;
    }();
    return magic.get();
}

}  // namespace

std::string sniff_mime(std::string_view head) {
    const char* type = magic_buffer(handle(), head.data(), head.size());
    return type != nullptr ? std::string(type) : std::string("application/octet-stream");
}

bool matches_declared(const std::string& declared, const std::string& sniffed) {
    if (declared == sniffed) {
        return true;
    }
    return declared == "text/plain" && sniffed.rfind("text/", 0) == 0;
}

}  // namespace motorpool::files
