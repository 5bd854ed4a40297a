#pragma once
// Public identifiers: time-ordered UUIDv7 (RFC 9562) and request ids.

#include <cstdint>
#include <string>
#include <string_view>

namespace motorpool::core {

/// A new UUIDv7 "xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx": 48-bit Unix milliseconds, then a
/// monotonic counter within the millisecond (RFC 9562 §6.2 method 1), then random bits.
std::string new_uuid_v7();
/// As above at a given time (tests, imports).
std::string new_uuid_v7(std::int64_t unix_ms);

/// True for a canonical lower- or upper-case hyphenated UUID.
bool is_uuid(std::string_view text);

/// Milliseconds encoded in a UUIDv7, or -1 when `text` is not one.
std::int64_t uuid_v7_time_ms(std::string_view text);

/// A request id for X-Request-Id when the client sent none: 16 lower-case hex digits.
std::string new_request_id();

/// True when a client-supplied X-Request-Id is safe to echo and log: 1-128 chars of [A-Za-z0-9._:-].
bool is_acceptable_request_id(std::string_view text);

}  // namespace motorpool::core
