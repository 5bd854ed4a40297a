// What an upload's headers and name become: the Content-Disposition of a stored file (any name,
// any bytes: one header line, quoted safely, the exact name recoverable from filename*), the
// content sniffing that decides whether the declared Content-Type may stand, and S3's URI
// encoding of keys (only unreserved characters and %XX, decoded back to the key).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/text.hpp"
#include "files/sigv4.hpp"
#include "files/storage.hpp"
#include "server_fixture.hpp"
#include "sniff.hpp"
#include "target.hpp"

using namespace motorpool;

int motorpool::fuzz::upload_headers(const std::uint8_t* data, std::size_t size) {
    if (size > 16 * 1024) {
        return -1;
    }
    const std::string input(reinterpret_cast<const char*>(data), size);
    const std::string header = files::content_disposition(input);
    for (unsigned char c : header) {
        if (c < 0x20 || c >= 0x7f) {
            fuzz::fail("Content-Disposition carries a byte a header line cannot", input);
        }
    }
    if (header.rfind("attachment", 0) != 0) {
        fuzz::fail("Content-Disposition is not an attachment", header);
    }
    // File names are valid UTF-8 without control characters (the presign route refuses others), and
    // for those filename* must carry the exact name; a decoded NUL is refused by percent_decode.
    const bool a_file_name = core::text_problem(input, 255).empty();
    if (auto star = header.rfind("filename*=UTF-8''"); a_file_name && star != std::string::npos) {
        auto decoded = core::percent_decode(header.substr(star + 17));
        if (decoded != input) {
            fuzz::fail("filename* does not decode to the name", header);
        }
    }
    const std::string sniffed = files::sniff_mime(input);
    if (sniffed.empty() || sniffed.find('/') == std::string::npos) {
        fuzz::fail("sniffing named no MIME type", input);
    }
    if (!files::matches_declared(sniffed, sniffed)) {
        fuzz::fail("a sniffed type does not match itself declared", sniffed);
    }
    for (bool keep_slash : {false, true}) {
        const std::string encoded = files::sigv4::uri_encode(input, keep_slash);
        for (char c : encoded) {
            const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                                    c == '-' || c == '_' || c == '.' || c == '~' || c == '%' ||
                                    (keep_slash && c == '/');
            if (!unreserved) {
                fuzz::fail("S3 URI encoding left a reserved character", encoded);
            }
        }
        if (input.find('\0') == std::string::npos && core::percent_decode(encoded) != input) {
            fuzz::fail("S3 URI encoding does not decode back", input);
        }
    }
    return 0;
}
