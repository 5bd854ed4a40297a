#include "files/sigv4.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "core/crypto.hpp"

namespace motorpool::files::sigv4 {

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string trim(const std::string& s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string::npos) {
        return {};
    }
    return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

std::string credential_scope(const PresignRequest& r) {
    return amz_date(r.at_s).substr(0, 8) + "/" + r.region + "/" + r.service + "/aws4_request";
}

/// Signed headers: host first, then the request's, lower-cased and sorted.
std::vector<std::pair<std::string, std::string>> signed_headers(const PresignRequest& r) {
    std::vector<std::pair<std::string, std::string>> out{{"host", r.host}};
    for (const auto& [name, value] : r.headers) {
        out.emplace_back(lower(name), trim(value));
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string signed_header_names(const std::vector<std::pair<std::string, std::string>>& headers) {
    std::string names;
    for (const auto& h : headers) {
        names += (names.empty() ? "" : ";") + h.first;
    }
    return names;
}

/// The query parameters of the presigned URL, names and values encoded: sorted by name for the
/// canonical request; for the URL in botocore's order, the operation's first, then the X-Amz-*
/// ones (the token after the signed headers).
std::string query(const Credentials& c, const PresignRequest& r, bool sorted) {
    std::vector<std::pair<std::string, std::string>> params = r.query;
    params.insert(params.end(),
                  {
                      {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
                      {"X-Amz-Credential", c.access_key_id + "/" + credential_scope(r)},
                      {"X-Amz-Date", amz_date(r.at_s)},
                      {"X-Amz-Expires", std::to_string(r.expires_s)},
                      {"X-Amz-SignedHeaders", signed_header_names(signed_headers(r))},
                  });
    if (!c.session_token.empty()) {
        params.emplace_back("X-Amz-Security-Token", c.session_token);
    }
    for (auto& [k, v] : params) {
        k = uri_encode(k, false);
        v = uri_encode(v, false);
    }
    if (sorted) {
        std::sort(params.begin(), params.end());
    }
    std::string out;
    for (const auto& [k, v] : params) {
        out += (out.empty() ? "" : "&") + k + "=" + v;
    }
    return out;
}

}  // namespace

std::string uri_encode(std::string_view text, bool keep_slash) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3);
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    return out;
}

std::string amz_date(std::int64_t at_s) {
    const std::time_t t = static_cast<std::time_t>(at_s);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[20];
    return std::string(buf, std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm));
}

std::string signing_key(const std::string& secret,
                        const std::string& date,
                        const std::string& region,
                        const std::string& service) {
    const std::string k_date = core::hmac_sha256("AWS4" + secret, date);
    const std::string k_region = core::hmac_sha256(k_date, region);
    const std::string k_service = core::hmac_sha256(k_region, service);
    return core::hmac_sha256(k_service, "aws4_request");
}

std::string canonical_request(const Credentials& c, const PresignRequest& r) {
    const auto headers = signed_headers(r);
    std::string canonical_headers;
    for (const auto& [name, value] : headers) {
        canonical_headers += name + ":" + value + "\n";
    }
    return r.method + "\n" + uri_encode(r.path, true) + "\n" + query(c, r, true) + "\n" + canonical_headers + "\n" +
           signed_header_names(headers) + "\nUNSIGNED-PAYLOAD";
}

std::string presign_url(const Credentials& c, const PresignRequest& r) {
    const std::string string_to_sign = "AWS4-HMAC-SHA256\n" + amz_date(r.at_s) + "\n" + credential_scope(r) + "\n" +
                                       core::sha256_hex(canonical_request(c, r));
    const std::string key = signing_key(c.secret_access_key, amz_date(r.at_s).substr(0, 8), r.region, r.service);
    const std::string signature = core::hex_encode(core::hmac_sha256(key, string_to_sign));
    return r.scheme + "://" + r.host + uri_encode(r.path, true) + "?" + query(c, r, false) +
           "&X-Amz-Signature=" + signature;
}

}  // namespace motorpool::files::sigv4
