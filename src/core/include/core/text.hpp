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

/// The length in bytes of the well-formed UTF-8 sequence at the start of `text` (1-4), or 0 when
/// it starts with an invalid one: a stray continuation byte, a truncated sequence, an overlong
/// form, an encoded UTF-16 surrogate (U+D800-DFFF) or a code point past U+10FFFF.
std::size_t utf8_sequence_length(std::string_view text);
bool is_valid_utf8(std::string_view text);

/// Free text a person typed (names, descriptions, messages, CSV cells).
enum class TextKind {
    SingleLine,  // no control character at all
    MultiLine,   // line feeds, carriage returns and tabs allowed
};
/// The one rule for every free-text field, wherever it comes from: valid UTF-8, no control
/// characters (C0, DEL and C1; MultiLine allows \n, \r and \t), at most `max_chars` characters
/// (code points). Returns the problem ("must not contain control characters"), or "" when none.
std::string text_problem(std::string_view text, std::size_t max_chars, TextKind kind = TextKind::SingleLine);

/// 0-15 for a hexadecimal digit (either case), -1 otherwise.
int hex_digit_value(char c);

/// RFC 3986 percent-decoding ('+' as space in query strings); nullopt for a malformed escape or %00.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);
/// Percent-encodes everything but RFC 3986's unreserved characters (A-Z a-z 0-9 - _ . ~): safe in
/// a query value, a path segment or a form field.
std::string percent_encode(std::string_view text);

}  // namespace motorpool::core
