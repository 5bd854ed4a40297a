#pragma once
// The files module: presigned uploads (`POST /api/v1/files/presign`), the bytes streamed straight
// into storage with their declared size and type enforced while they arrive, a SHA-256 and a
// content check (libmagic), short-lived signed downloads, deletion, and a cleanup job for uploads
// never made or no longer referenced. Storage is local disk (motorpool's own signed URLs) or S3
// (SigV4 presigned URLs, `POST /api/v1/files/{id}/complete` after the client's upload).

#include <memory>
#include <string>

#include "auth/module.hpp"
#include "files/files.hpp"
#include "files/storage.hpp"
#include "platform/module.hpp"

namespace motorpool::files {

struct FileOptions {
    std::string directory = "motorpool-files";  // MOTORPOOL_FILES_DIR
    std::int64_t quota_bytes = 1LL << 30;       // per user, pending and ready files together
    std::int64_t presigns_per_minute = 30;      // per user
    std::int64_t photo_max_bytes = 25LL << 20;  // vehicle photos (receipts, attachments: 10 MiB)
    std::int64_t upload_ttl_s = 900;            // how long a presigned upload URL is valid
    std::int64_t download_ttl_s = 300;          // how long a signed download URL is valid
    bool use_s3 = false;                        // USE_S3: new files go to S3
    S3Options s3;
};

struct Services;

class Module final : public platform::Module {
public:
    /// Auth: the server's secret key signs upload and download URLs; its public URL makes them absolute.
    explicit Module(auth::Module& auth);
    ~Module() override;

    std::string_view name() const override { return "files"; }
    void configure(core::Settings& settings) override;
    std::vector<db::Migration> migrations(db::Dialect dialect) const override;
    void install(platform::Context& context) override;
    void start(const platform::Started& started) override;

    /// Declares a table referring to files (before the server runs).
    void add_referrer(Referrer referrer) { referrers_.push_back(std::move(referrer)); }

private:
    auth::Module& auth_;
    FileOptions options_;
    std::shared_ptr<Services> services_;
    std::vector<Referrer> referrers_;
};

}  // namespace motorpool::files
