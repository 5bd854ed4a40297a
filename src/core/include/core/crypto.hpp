#pragma once
// Thin wrappers over libsodium: randomness, encodings, hashing, constant-time compare.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace motorpool::core {

/// Initialises libsodium once (idempotent, thread-safe); every helper below calls it.
void crypto_init();

/// Cryptographically secure random bytes.
std::string random_bytes(std::size_t n);
std::uint64_t random_u64();

std::string base64_encode(std::string_view raw);
std::optional<std::string> base64_decode(std::string_view text);
/// URL-safe base64 without padding (tokens in URLs).
std::string base64url_encode(std::string_view raw);
std::optional<std::string> base64url_decode(std::string_view text);
std::string hex_encode(std::string_view raw);

/// SHA-256 of `data`, lower-case hex.
std::string sha256_hex(std::string_view data);
/// HMAC-SHA256 of `message` under `key`, raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view message);
/// Constant-time equality (tokens, signatures).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace motorpool::core
