// The S3 backend (SigV4 presigned URLs for the client's upload and download, and for the server's
// own HEAD, ranged GET and DELETE through libcurl), the shared credentials file, and the
// Content-Disposition both backends send.

#include "files/storage.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include "http/outbound.hpp"

namespace motorpool::files {

namespace {

constexpr std::size_t kSniffBytes = 4096;

/// A file name safe in a quoted header value: ASCII letters, digits and ._- kept, any other
/// character '_'.
std::string ascii_name(const std::string& name) {
    std::string out;
    for (unsigned char ch : name) {
        if ((ch & 0xC0) == 0x80) {
            continue;  // a UTF-8 continuation byte: one '_' stands for the whole character
        }
        out.push_back(ch < 0x80 && (std::isalnum(ch) || ch == '.' || ch == '-' || ch == '_') ? static_cast<char>(ch)
                                                                                             : '_');
    }
    return out.empty() ? "file" : out;
}

[[noreturn]] void unreachable(const char* what, const http::HttpResponse& r) {
    // The status or libcurl's reason, never the URL (it carries a signature).
    throw std::runtime_error(std::string("S3 ") + what +
                             " failed: " + (r.status == 0 ? r.error : "status " + std::to_string(r.status)));
}

}  // namespace

std::string content_disposition(const std::string& filename) {
    return "attachment; filename=\"" + ascii_name(filename) + "\"; filename*=UTF-8''" +
           sigv4::uri_encode(filename, false);
}

std::optional<sigv4::Credentials> read_shared_credentials(const std::string& path, const std::string& profile) {
    boost::property_tree::ptree ini;
    try {
        boost::property_tree::read_ini(path, ini);
    } catch (const boost::property_tree::ini_parser_error& e) {
        if (e.line() == 0) {
            return std::nullopt;  // no such file
        }
        throw std::runtime_error("the AWS credentials file " + path + " is not valid INI at line " +
                                 std::to_string(e.line()));
    }
    const auto section = ini.get_child_optional(boost::property_tree::ptree::path_type(profile, '\0'));
    if (!section) {
        return std::nullopt;
    }
    sigv4::Credentials c;
    c.access_key_id = section->get<std::string>("aws_access_key_id", "");
    c.secret_access_key = section->get<std::string>("aws_secret_access_key", "");
    c.session_token = section->get<std::string>("aws_session_token", "");
    if (c.access_key_id.empty() || c.secret_access_key.empty()) {
        return std::nullopt;
    }
    return c;
}

S3Storage::S3Storage(S3Options options, std::function<std::int64_t()> now_s)
    : options_(std::move(options)), now_s_(std::move(now_s)) {
    if (options_.endpoint.empty()) {
        scheme_ = "https";
        const std::string regional = "s3." + options_.region + ".amazonaws.com";
        host_ = options_.path_style ? regional : options_.bucket + "." + regional;
    } else {
        const auto sep = options_.endpoint.find("://");
        if (sep == std::string::npos) {
            throw std::invalid_argument("the S3 endpoint must be a URL such as http://127.0.0.1:9000");
        }
        scheme_ = options_.endpoint.substr(0, sep);
        std::string host = options_.endpoint.substr(sep + 3);
        while (!host.empty() && host.back() == '/') {
            host.pop_back();
        }
        if (host.empty() || host.find('/') != std::string::npos) {
            throw std::invalid_argument("the S3 endpoint must be a scheme and a host, with no path");
        }
        host_ = options_.path_style ? host : options_.bucket + "." + host;
    }
    if (options_.path_style) {
        path_prefix_ = "/" + options_.bucket;
    }
}

std::string S3Storage::key_for(const std::string& public_id, const std::string& filename) const {
    // The file's name kept at the end: readable in the bucket and in public URLs.
    return "uploads/" + public_id + "/" + filename;
}

sigv4::PresignRequest S3Storage::request_for(const std::string& method, const std::string& key) const {
    sigv4::PresignRequest r;
    r.method = method;
    r.scheme = scheme_;
    r.host = host_;
    r.path = path_prefix_ + "/" + key;
    r.region = options_.region;
    r.at_s = now_s_();
    return r;
}

std::string S3Storage::presign(const std::string& method,
                               const std::string& key,
                               std::int64_t expires_s,
                               std::vector<std::pair<std::string, std::string>> headers,
                               std::vector<std::pair<std::string, std::string>> query) const {
    auto r = request_for(method, key);
    r.expires_s = expires_s;
    r.headers = std::move(headers);
    r.query = std::move(query);
    return sigv4::presign_url(options_.credentials, r);
}

UploadTarget S3Storage::upload_target(const FileRef& file, const std::string& key, std::int64_t expires_s) const {
    // The type and the length are signed: S3 refuses an upload that differs from the declaration.
    std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", file.content_type},
                                                             {"Content-Length", std::to_string(file.size_bytes)}};
    const std::int64_t ttl = std::max<std::int64_t>(1, expires_s - now_s_());
    return {presign("PUT", key, ttl, headers), headers};
}

std::string S3Storage::download_url(const FileRef& file, const std::string& key, std::int64_t expires_s) const {
    const std::int64_t ttl = std::max<std::int64_t>(1, expires_s - now_s_());
    return presign("GET",
                   key,
                   ttl,
                   {},
                   {{"response-content-disposition", content_disposition(file.filename)},
                    {"response-content-type", file.content_type}});
}

std::string S3Storage::public_url(const FileRef& /*file*/, const std::string& key) const {
    if (!options_.custom_domain.empty()) {
        return "https://" + options_.custom_domain + "/" + sigv4::uri_encode(key, true);
    }
    return scheme_ + "://" + host_ + path_prefix_ + "/" + sigv4::uri_encode(key, true);
}

std::optional<StoredObject> S3Storage::inspect(const std::string& key) {
    http::HttpRequest head;
    head.method = "HEAD";
    head.url = presign("HEAD", key, 60);
    head.timeout = std::chrono::seconds(15);
    const auto h = http::perform(head);
    if (h.status == 404 || h.status == 403) {
        return std::nullopt;  // S3 answers 403 for a missing key without s3:ListBucket
    }
    if (h.status != 200) {
        unreachable("HEAD", h);
    }
    StoredObject object;
    if (auto it = h.headers.find("content-length"); it != h.headers.end()) {
        object.size = -1;
        const auto& text = it->second;
        std::from_chars(text.data(), text.data() + text.size(), object.size);
    }
    if (auto it = h.headers.find("content-type"); it != h.headers.end()) {
        object.content_type = it->second;
    }
    // The first bytes, for the content check.
    http::HttpRequest get;
    get.url = presign("GET", key, 60);
    get.headers = {"Range: bytes=0-" + std::to_string(kSniffBytes - 1)};
    get.timeout = std::chrono::seconds(30);
    get.max_response_bytes = kSniffBytes * 2;
    const auto g = http::perform(get);
    if (g.status != 200 && g.status != 206) {
        unreachable("GET", g);
    }
    object.head = g.body.substr(0, kSniffBytes);
    return object;
}

void S3Storage::remove(const std::string& key) {
    http::HttpRequest del;
    del.method = "DELETE";
    del.url = presign("DELETE", key, 60);
    del.timeout = std::chrono::seconds(15);
    const auto r = http::perform(del);
    if (r.status != 204 && r.status != 200 && r.status != 404) {
        unreachable("DELETE", r);
    }
}

}  // namespace motorpool::files
