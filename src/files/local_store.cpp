#include "local_store.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "sniff.hpp"

namespace motorpool::files {

namespace {

constexpr std::size_t kSniffBytes = 4096;

std::runtime_error io_error(const char* what) {
    return std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

LocalUpload::LocalUpload(const std::string& directory, std::string declared_type, std::int64_t declared_size)
    : directory_(directory), declared_type_(std::move(declared_type)), declared_size_(declared_size) {
    std::filesystem::create_directories(directory_);
    fd_ = ::open(directory_.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0640);
    if (fd_ < 0) {
        throw io_error("cannot create an upload file");
    }
    sha_ = EVP_MD_CTX_new();
    if (sha_ == nullptr || EVP_DigestInit_ex(sha_, EVP_sha256(), nullptr) != 1) {
        EVP_MD_CTX_free(sha_);
        ::close(fd_);
        throw std::runtime_error("cannot start a SHA-256");
    }
}

LocalUpload::~LocalUpload() {
    if (fd_ >= 0) {
        ::close(fd_);  // never linked: the file is gone with it
    }
    EVP_MD_CTX_free(sha_);
}

void LocalUpload::check_type() {
    type_checked_ = true;
    const std::string sniffed = sniff_mime(head_);
    if (!matches_declared(declared_type_, sniffed)) {
        throw core::ApiError::validation(
            {{"content", "is " + sniffed + ", not the declared " + declared_type_ + ": nothing was stored"}});
    }
}

void LocalUpload::append(std::span<const char> bytes) {
    if (!type_checked_) {
        head_.append(bytes.data(), std::min(bytes.size(), kSniffBytes - head_.size()));
        if (head_.size() >= kSniffBytes) {
            check_type();
        }
    }
    EVP_DigestUpdate(sha_, bytes.data(), bytes.size());
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(size_ + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw io_error("cannot write an upload");
        }
        done += static_cast<std::size_t>(n);
    }
    size_ += static_cast<std::int64_t>(bytes.size());
    // Start the disk's writeback of every full 8 MiB now, without waiting: the fdatasync at the
    // end then has little left to flush (bench/files_upload.sh).
    constexpr std::int64_t kWriteback = 8LL << 20;
    if (size_ - flushed_ >= kWriteback) {
        const std::int64_t end = size_ - size_ % kWriteback;
        ::sync_file_range(fd_, flushed_, end - flushed_, SYNC_FILE_RANGE_WRITE);
        flushed_ = end;
    }
}

bool LocalUpload::commit(const std::string& path, std::string& sha256_hex) {
    if (size_ != declared_size_) {
        throw core::ApiError::validation({{"content",
                                           "has " + std::to_string(size_) + " bytes, not the declared " +
                                               std::to_string(declared_size_) + ": nothing was stored"}});
    }
    if (!type_checked_) {
        check_type();
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(sha_, digest, &length) != 1) {
        throw std::runtime_error("cannot finish a SHA-256");
    }
    sha256_hex = core::hex_encode(std::string_view(reinterpret_cast<const char*>(digest), length));
    if (::fdatasync(fd_) != 0) {
        throw io_error("cannot make an upload durable");
    }
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    const std::string self = "/proc/self/fd/" + std::to_string(fd_);
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) != 0) {
        if (errno == EEXIST) {
            return false;
        }
        throw io_error("cannot name an upload");
    }
    // The new name is durable once its directory is.
    const int dir = ::open(std::filesystem::path(path).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
    return true;
}

std::string stored_path(const std::string& directory, const std::string& key) {
    return (std::filesystem::path(directory) / key).string();
}

StoredFile::StoredFile(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
        throw io_error("a stored file cannot be opened");
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        ::close(fd_);
        throw io_error("a stored file cannot be read");
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
}

StoredFile::~StoredFile() {
    ::close(fd_);
}

std::size_t StoredFile::read(std::uint64_t offset, std::span<char> out) {
    for (;;) {
        const ssize_t n = ::pread(fd_, out.data(), out.size(), static_cast<off_t>(offset));
        if (n >= 0) {
            return static_cast<std::size_t>(n);
        }
        if (errno != EINTR) {
            throw io_error("a stored file cannot be read");
        }
    }
}

bool remove_stored(const std::string& path) {
    std::error_code ec;
    return std::filesystem::remove(path, ec);
}

LocalStorage::LocalStorage(std::string directory,
                           std::string signing_key,
                           std::string public_url,
                           std::int64_t upload_ttl_s,
                           std::int64_t download_ttl_s)
    : directory_(std::move(directory)),
      signing_key_(std::move(signing_key)),
      public_url_(std::move(public_url)),
      upload_ttl_s_(upload_ttl_s),
      download_ttl_s_(download_ttl_s) {}

std::string LocalStorage::key_for(const std::string& public_id, const std::string& /*filename*/) const {
    return public_id.substr(public_id.size() - 2) + "/" + public_id;  // 256 directories by the random tail
}

std::string LocalStorage::signature(std::string_view method,
                                    const std::string& public_id,
                                    std::int64_t expires_s) const {
    std::string message;
    message += method;
    message += '\n';
    message += public_id;
    message += '\n';
    message += std::to_string(expires_s);
    return core::base64url_encode(core::hmac_sha256(signing_key_, message));
}

std::string LocalStorage::signed_url(std::string_view method,
                                     const std::string& public_id,
                                     std::int64_t expires_s) const {
    return public_url_ + "/api/v1/files/" + public_id + "/content?expires=" + std::to_string(expires_s) +
           "&signature=" + signature(method, public_id, expires_s);
}

UploadTarget LocalStorage::upload_target(const FileRef& file,
                                         const std::string& /*key*/,
                                         std::int64_t expires_s) const {
    return {signed_url("PUT", file.public_id, expires_s), {{"Content-Type", file.content_type}}};
}

std::string LocalStorage::download_url(const FileRef& file, const std::string& /*key*/, std::int64_t expires_s) const {
    return signed_url("GET", file.public_id, expires_s);
}

std::string LocalStorage::public_url(const FileRef& file, const std::string& /*key*/) const {
    return public_url_ + "/api/v1/files/" + file.public_id;
}

std::string LocalStorage::path_of(const std::string& key) const {
    return stored_path(directory_, key);
}

std::optional<StoredObject> LocalStorage::inspect(const std::string& key) {
    std::ifstream in(path_of(key), std::ios::binary);
    if (!in) {
        return std::nullopt;
    }
    StoredObject object;
    object.head.resize(kSniffBytes);
    in.read(object.head.data(), static_cast<std::streamsize>(kSniffBytes));
    object.head.resize(static_cast<std::size_t>(in.gcount()));
    object.size = static_cast<std::int64_t>(std::filesystem::file_size(path_of(key)));
    return object;
}

void LocalStorage::remove(const std::string& key) {
    remove_stored(path_of(key));
}

}  // namespace motorpool::files
