#include "core/ids.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>

#include "core/crypto.hpp"
#include "core/text.hpp"

namespace motorpool::core {
namespace {

// Per-thread generator state: the last millisecond and a 12-bit sequence seeded randomly,
// so ids made by one thread within one millisecond stay ordered.
struct V7State {
    std::int64_t last_ms = -1;
    std::uint16_t sequence = 0;
};

std::string format_uuid(const std::array<unsigned char, 16>& b) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out.push_back('-');
        }
        out.push_back(kDigits[b[i] >> 4]);
        out.push_back(kDigits[b[i] & 0xF]);
    }
    return out;
}

// Random bits for ids come from a per-thread pool refilled 4 KiB at a time: one system call per
// ~400 ids instead of one each (bulk imports make millions). Ids need uniqueness, not secrecy.
void random_id_bits(unsigned char* out, std::size_t n) {
    thread_local std::string pool;
    thread_local std::size_t used = 0;
    if (used + n > pool.size()) {
        pool = random_bytes(4096);
        used = 0;
    }
    std::memcpy(out, pool.data() + used, n);
    used += n;
}

}  // namespace

std::string new_uuid_v7() {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    return new_uuid_v7(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

std::string new_uuid_v7(std::int64_t unix_ms) {
    thread_local V7State state;
    std::array<unsigned char, 16> b{};
    random_id_bits(b.data() + 6, 10);
    if (unix_ms > state.last_ms) {
        state.last_ms = unix_ms;
        state.sequence = static_cast<std::uint16_t>((b[6] << 4) & 0x7FF);
    } else {
        ++state.sequence;
        if (state.sequence > 0xFFF) {  // counter exhausted: borrow the next millisecond
            ++state.last_ms;
            state.sequence = 0;
        }
        unix_ms = state.last_ms;
    }
    auto ms = static_cast<std::uint64_t>(unix_ms);
    for (int i = 0; i < 6; ++i) {
        b[static_cast<std::size_t>(i)] = static_cast<unsigned char>(ms >> (40 - 8 * i));
    }
    b[6] = static_cast<unsigned char>(0x70 | ((state.sequence >> 8) & 0x0F));
    b[7] = static_cast<unsigned char>(state.sequence & 0xFF);
    b[8] = static_cast<unsigned char>(0x80 | (b[8] & 0x3F));
    return format_uuid(b);
}

bool is_uuid(std::string_view text) {
    if (text.size() != 36) {
        return false;
    }
    for (std::size_t i = 0; i < 36; ++i) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (text[i] != '-') {
                return false;
            }
        } else if (hex_digit_value(text[i]) < 0) {
            return false;
        }
    }
    return true;
}

std::int64_t uuid_v7_time_ms(std::string_view text) {
    if (!is_uuid(text) || text[14] != '7') {
        return -1;
    }
    std::int64_t ms = 0;
    for (std::size_t i = 0; i < 13; ++i) {
        if (i == 8) {
            continue;
        }
        ms = (ms << 4) | hex_digit_value(text[i]);
    }
    return ms;
}

std::string new_request_id() {
    // Not a secret: a per-thread splitmix64 stream seeded from the OS avoids a syscall per request.
    thread_local std::uint64_t state = random_u64();
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    std::string raw(8, '\0');
    std::memcpy(raw.data(), &z, 8);
    return hex_encode(raw);
}

bool is_acceptable_request_id(std::string_view text) {
    if (text.empty() || text.size() > 128) {
        return false;
    }
    for (char c : text) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == ':' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

}  // namespace motorpool::core
