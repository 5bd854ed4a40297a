#pragma once
// AWS Signature Version 4 for S3 presigned URLs (query-string authentication): the canonical
// request, the string to sign, the signing key and the URL, as botocore builds them (the tests
// compare byte for byte). ../shared/design/PLATFORM.md §6 has the algorithm and its vectors.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace motorpool::files::sigv4 {

struct Credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  // temporary credentials: sent as X-Amz-Security-Token
};

struct PresignRequest {
    std::string method = "GET";  // GET, PUT, HEAD, DELETE
    std::string scheme = "https";
    std::string host;  // "bucket.s3.eu-central-1.amazonaws.com" or "127.0.0.1:9000"
    std::string path;  // decoded: "/bucket/uploads/a b.png" or "/uploads/a b.png"
    std::string region = "us-east-1";
    std::string service = "s3";
    std::int64_t at_s = 0;  // signing time, Unix seconds
    std::int64_t expires_s = 900;
    /// Signed headers besides host (content-type, content-length): the uploader must send exactly these.
    std::vector<std::pair<std::string, std::string>> headers;
    /// The operation's own query parameters, decoded (response-content-disposition, ...): in the
    /// URL before the X-Amz-* ones, in this order, as botocore puts them.
    std::vector<std::pair<std::string, std::string>> query;
};

/// RFC 3986 percent-encoding of everything but A-Z a-z 0-9 - _ . ~ (and '/' when `keep_slash`).
std::string uri_encode(std::string_view text, bool keep_slash);
/// "20130524T000000Z" and "20130524".
std::string amz_date(std::int64_t at_s);
/// kSigning = HMAC chain over the date, region, service and "aws4_request" (raw bytes).
std::string signing_key(const std::string& secret,
                        const std::string& date,
                        const std::string& region,
                        const std::string& service);
/// The canonical request of a presigned request (query without the signature, UNSIGNED-PAYLOAD).
std::string canonical_request(const Credentials& credentials, const PresignRequest& request);
/// The whole presigned URL, the signature last.
std::string presign_url(const Credentials& credentials, const PresignRequest& request);

}  // namespace motorpool::files::sigv4
