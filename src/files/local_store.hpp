#pragma once
// Local disk storage: an upload is written to an unnamed file in the storage directory (nothing
// is left behind if it fails or the server dies) and linked to its name only once it is whole and
// checked; link() refusing an existing name makes each upload URL single use.

#include <cstdint>
#include <string>

#include <sodium.h>

#include "http/body_sink.hpp"

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
    std::string head_;
    bool type_checked_ = false;
    crypto_hash_sha256_state sha_{};
};

/// The path of a stored file: `directory`/`key`.
std::string stored_path(const std::string& directory, const std::string& key);
/// The whole stored file (downloads of files up to the purposes' limits).
std::string read_stored(const std::string& path);
/// Removes a stored file; false when it was not there.
bool remove_stored(const std::string& path);

}  // namespace motorpool::files
