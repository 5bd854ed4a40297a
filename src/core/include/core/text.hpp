#pragma once
// Small text helpers shared by the HTTP layer and the database URL handling.

#include <optional>
#include <string>
#include <string_view>

namespace motorpool::core {

/// ASCII case-insensitive equality (header names, schemes).
bool iequals(std::string_view a, std::string_view b);

/// ASCII-only case mapping (VINs, e-mail addresses, SQL parameters); other bytes are kept.
std::string to_lower_ascii(std::string_view text);
std::string to_upper_ascii(std::string_view text);

/// 0-15 for a hexadecimal digit (either case), -1 otherwise.
int hex_digit_value(char c);

/// RFC 3986 percent-decoding ('+' as space in query strings); nullopt for a malformed escape or %00.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);
/// Percent-encodes everything but RFC 3986's unreserved characters (A-Z a-z 0-9 - _ . ~): safe in
/// a query value, a path segment or a form field.
std::string percent_encode(std::string_view text);

}  // namespace motorpool::core
