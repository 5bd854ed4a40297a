#pragma once
// Local disk storage: an upload is written to an unnamed file in the storage directory (nothing
// is left behind if it fails or the server dies) and linked to its name only once it is whole and
// checked; link() refusing an existing name makes each upload URL single use.

#include <cstdint>
#include <string>

#include <openssl/evp.h>

#include "files/storage.hpp"
#include "http/body_sink.hpp"
#include "http/request.hpp"

namespace motorpool::files {

class LocalUpload final : public http::BodySink {
public:
    /// Opens the unnamed file in `directory` (created if missing).
    LocalUpload(const std::string& directory, std::string declared_type, std::int64_t declared_size);
    ~LocalUpload() override;
    LocalUpload(const LocalUpload&) = delete;
    LocalUpload& operator=(const LocalUpload&) = delete;

    bool blocks(std::size_t /*more*/) const override { return true; }
    /// Writes and hashes the piece; the first 4 KiB are sniffed as soon as they are in, and a type
    /// other than the declared one is refused (422) at once.
    void append(std::span<const char> bytes) override;

    /// After the whole body: checks its size against the declared one, sniffs a short file, makes
    /// it durable and links it at `path`. False when `path` exists (the URL was used already).
    /// Returns through `sha256_hex` the digest. Throws ApiError (422) for a size or type mismatch.
    bool commit(const std::string& path, std::string& sha256_hex);
    std::int64_t size() const { return size_; }

private:
    void check_type();

    std::string directory_;
    std::string declared_type_;
    std::int64_t declared_size_;
    int fd_ = -1;
    std::int64_t size_ = 0;
    std::int64_t flushed_ = 0;  // writeback started up to here
    std::string head_;
    bool type_checked_ = false;
    EVP_MD_CTX* sha_ = nullptr;  // OpenSSL's SHA-256: SHA-NI where the CPU has it (libsodium's is portable C)
};

/// Local disk: uploads and downloads through motorpool's own URLs, signed with HMAC
/// (`/api/v1/files/{id}/content?expires=…&signature=…`), the bytes under `directory`/`key`.
class LocalStorage final : public Storage {
public:
    LocalStorage(std::string directory,
                 std::string signing_key,
                 std::string public_url,
                 std::int64_t upload_ttl_s,
                 std::int64_t download_ttl_s);

    const char* name() const override { return "local"; }
    std::string key_for(const std::string& public_id, const std::string& filename) const override;
    UploadTarget upload_target(const FileRef& file, const std::string& key, std::int64_t expires_s) const override;
    std::string download_url(const FileRef& file, const std::string& key, std::int64_t expires_s) const override;
    std::string public_url(const FileRef& file, const std::string& key) const override;
    std::int64_t upload_ttl_s() const override { return upload_ttl_s_; }
    std::int64_t download_ttl_s() const override { return download_ttl_s_; }
    std::optional<StoredObject> inspect(const std::string& key) override;
    void remove(const std::string& key) override;

    /// The URL signature: the method, the file and the expiry under the derived key.
    std::string signature(std::string_view method, const std::string& public_id, std::int64_t expires_s) const;
    std::string path_of(const std::string& key) const;
    const std::string& directory() const { return directory_; }
    /// Before the server starts (PORT=0: the bound port is known only then).
    void set_public_url(std::string url) { public_url_ = std::move(url); }
    const std::string& base_url() const { return public_url_; }

private:
    std::string signed_url(std::string_view method, const std::string& public_id, std::int64_t expires_s) const;

    std::string directory_;
    std::string signing_key_;
    std::string public_url_;
    std::int64_t upload_ttl_s_;
    std::int64_t download_ttl_s_;
};

/// The path of a stored file: `directory`/`key`.
std::string stored_path(const std::string& directory, const std::string& key);
/// A stored file sent as a response body, read in pieces (opened once: a file removed meanwhile
/// is still read whole).
class StoredFile final : public http::BodySource {
public:
    explicit StoredFile(const std::string& path);  // throws when the file is missing
    ~StoredFile() override;
    StoredFile(const StoredFile&) = delete;
    StoredFile& operator=(const StoredFile&) = delete;

    std::uint64_t size() const override { return size_; }
    std::size_t read(std::uint64_t offset, std::span<char> out) override;

private:
    int fd_ = -1;
    std::uint64_t size_ = 0;
};
/// Removes a stored file; false when it was not there.
bool remove_stored(const std::string& path);

}  // namespace motorpool::files
