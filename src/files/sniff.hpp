#pragma once
// What bytes are, by their content (libmagic's database), not by what the client said.

#include <string>
#include <string_view>

namespace motorpool::files {

/// The MIME type libmagic finds in the first bytes of a file ("image/jpeg"); one libmagic handle
/// per thread (handles are not thread-safe).
std::string sniff_mime(std::string_view head);

/// True when content sniffed as `sniffed` may be stored as `declared`: the same type, or plain
/// text for any text type libmagic names more precisely (a CSV or a log is text/plain declared).
bool matches_declared(const std::string& declared, const std::string& sniffed);

}  // namespace motorpool::files
