#pragma once
// Where files' bytes live, behind one interface: local disk (motorpool's own signed URLs, the
// default) or S3 (SigV4 presigned URLs; the client talks to S3 directly). Every row in `files`
// names its backend, so files stored before a switch stay readable.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "files/files.hpp"
#include "files/sigv4.hpp"

namespace motorpool::files {

/// Where and how a client sends a file's bytes.
struct UploadTarget {
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;  // to send exactly as given
};

/// What a backend holds under a key (the S3 upload's check before it is marked ready).
struct StoredObject {
    std::int64_t size = 0;
    std::string content_type;
    std::string head;  // the first bytes (up to 4 KiB), for the content check
};

class Storage {
public:
    virtual ~Storage() = default;
    /// The `storage` column: "local" or "s3".
    virtual const char* name() const = 0;
    /// The key a new file is stored under.
    virtual std::string key_for(const std::string& public_id, const std::string& filename) const = 0;
    /// The presigned upload of `file` under `key`, valid until `expires_s` (Unix seconds).
    virtual UploadTarget upload_target(const FileRef& file, const std::string& key, std::int64_t expires_s) const = 0;
    /// A short-lived download URL (with a safe Content-Disposition).
    virtual std::string download_url(const FileRef& file, const std::string& key, std::int64_t expires_s) const = 0;
    /// The file's lasting address: the API's metadata URL, or the bucket's (custom domain) URL.
    virtual std::string public_url(const FileRef& file, const std::string& key) const = 0;
    /// How long this backend's upload URLs are valid, in seconds.
    virtual std::int64_t upload_ttl_s() const = 0;
    virtual std::int64_t download_ttl_s() const = 0;
    /// Blocking (a worker thread): what is stored under `key`; nullopt when nothing is.
    virtual std::optional<StoredObject> inspect(const std::string& key) = 0;
    /// Blocking: removes what is under `key` (nothing there is success); throws when the backend
    /// cannot be reached, so the removal is retried.
    virtual void remove(const std::string& key) = 0;
};

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded`: safe for any file name.
std::string content_disposition(const std::string& filename);

/// S3 settings (USE_S3, AWS_*, MOTORPOOL_S3_*).
struct S3Options {
    sigv4::Credentials credentials;
    std::string bucket;
    std::string region = "us-east-1";
    std::string endpoint;       // "http://127.0.0.1:9000" for an S3-compatible server; "" for AWS
    bool path_style = false;    // bucket in the path rather than the host
    std::string custom_domain;  // public URLs: https://<custom_domain>/<key>
    std::int64_t expires_s = 3600;
};

/// The profile's keys in an AWS shared credentials file (INI: [profile] with aws_access_key_id,
/// aws_secret_access_key, aws_session_token); nullopt when the file or profile is missing.
std::optional<sigv4::Credentials> read_shared_credentials(const std::string& path, const std::string& profile);

class S3Storage final : public Storage {
public:
    /// `now_s`: the signing clock (Unix seconds).
    S3Storage(S3Options options, std::function<std::int64_t()> now_s);

    const char* name() const override { return "s3"; }
    std::string key_for(const std::string& public_id, const std::string& filename) const override;
    UploadTarget upload_target(const FileRef& file, const std::string& key, std::int64_t expires_s) const override;
    std::string download_url(const FileRef& file, const std::string& key, std::int64_t expires_s) const override;
    std::string public_url(const FileRef& file, const std::string& key) const override;
    std::int64_t upload_ttl_s() const override { return options_.expires_s; }
    std::int64_t download_ttl_s() const override { return options_.expires_s; }
    std::optional<StoredObject> inspect(const std::string& key) override;
    void remove(const std::string& key) override;

    /// A presigned URL for `method` on `key` (signed now, valid `expires_s` seconds).
    std::string presign(const std::string& method,
                        const std::string& key,
                        std::int64_t expires_s,
                        std::vector<std::pair<std::string, std::string>> headers = {},
                        std::vector<std::pair<std::string, std::string>> query = {}) const;

private:
    sigv4::PresignRequest request_for(const std::string& method, const std::string& key) const;

    S3Options options_;
    std::function<std::int64_t()> now_s_;
    std::string scheme_;
    std::string host_;         // virtual host or endpoint host
    std::string path_prefix_;  // "/bucket" in path style
};

}  // namespace motorpool::files
