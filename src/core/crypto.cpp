#include "core/crypto.hpp"

#include <stdexcept>

#include <sodium.h>

namespace motorpool::core {

void crypto_init() {
    static const int result = sodium_init();
    if (result < 0) {
        throw std::runtime_error("libsodium failed to initialise");
    }
}

std::string random_bytes(std::size_t n) {
    crypto_init();
    std::string out(n, '\0');
    randombytes_buf(out.data(), n);
    return out;
}

std::uint64_t random_u64() {
    crypto_init();
    std::uint64_t value = 0;
    randombytes_buf(&value, sizeof value);
    return value;
}

namespace {
std::string encode(std::string_view raw, int variant) {
    crypto_init();
    std::string out(sodium_base64_encoded_len(raw.size(), variant), '\0');
    sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size(), variant);
    out.resize(out.size() - 1);  // trailing NUL
    return out;
}
}  // namespace

std::string base64_encode(std::string_view raw) {
    return encode(raw, sodium_base64_VARIANT_ORIGINAL);
}
std::string base64url_encode(std::string_view raw) {
    return encode(raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

namespace {

std::optional<std::string> decode(std::string_view text, int variant) {
    crypto_init();
    std::string out(text.size(), '\0');
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()),
                          out.size(),
                          text.data(),
                          text.size(),
                          nullptr,
                          &len,
                          &end,
                          variant) != 0 ||
        end != text.data() + text.size()) {
        return std::nullopt;
    }
    out.resize(len);
    return out;
}

}  // namespace

std::optional<std::string> base64_decode(std::string_view text) {
    return decode(text, sodium_base64_VARIANT_ORIGINAL);
}

std::optional<std::string> base64url_decode(std::string_view text) {
    return decode(text, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::string hex_encode(std::string_view raw) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(raw.size() * 2);
    for (unsigned char c : raw) {
        out.push_back(kDigits[c >> 4]);
        out.push_back(kDigits[c & 0xF]);
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    crypto_init();
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    return hex_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string hmac_sha256(std::string_view key, std::string_view message) {
    crypto_init();
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()), key.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()), message.size());
    std::string out(crypto_auth_hmacsha256_BYTES, '\0');
    crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(out.data()));
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    crypto_init();
    if (a.size() != b.size()) {
        return false;
    }
    return a.empty() || sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace motorpool::core
