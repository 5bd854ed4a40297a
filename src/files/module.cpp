#include "files/module.hpp"

#include <cstdlib>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
#include "local_store.hpp"
#include "routes.hpp"

namespace motorpool::files {

Module::Module(auth::Module& auth) : auth_(auth) {}
Module::~Module() = default;

void Module::configure(core::Settings& s) {
    s.module("files");
    options_.directory =
        s.string("MOTORPOOL_FILES_DIR", options_.directory, "Where uploaded files are stored (local storage)");
    options_.quota_bytes = s.integer("MOTORPOOL_FILES_QUOTA_BYTES",
                                     options_.quota_bytes,
                                     1,
                                     1LL << 50,
                                     "Bytes of files each user may hold (pending uploads count)");
    options_.presigns_per_minute = s.integer("MOTORPOOL_FILES_PRESIGNS_PER_MINUTE",
                                             options_.presigns_per_minute,
                                             1,
                                             100'000,
                                             "Upload URLs a user may ask for per minute (429 past it)");
    options_.photo_max_bytes = s.integer("MOTORPOOL_FILES_PHOTO_MAX_BYTES",
                                         options_.photo_max_bytes,
                                         1,
                                         1LL << 40,
                                         "Largest vehicle photo (receipts and chat attachments: 10 MiB)");

    // S3, under the names the original membership service used (django-storages) and under
    // motorpool's own; motorpool's name wins when both are set.
    auto either = [&s](const char* theirs, const char* ours, const std::string& fallback, const char* meaning) {
        const std::string original = s.string(theirs, fallback, meaning);
        return s.string(ours, original, meaning);
    };
    const bool use_s3 = s.boolean("USE_S3", false, "Store new files in S3 (MOTORPOOL_FILES_STORAGE=s3)");
    options_.use_s3 = s.one_of("MOTORPOOL_FILES_STORAGE",
                               use_s3 ? "s3" : "local",
                               {"local", "s3"},
                               "Where new files are stored: local disk or S3") == "s3";
    auto& s3 = options_.s3;
    s3.bucket = either("AWS_STORAGE_BUCKET_NAME", "MOTORPOOL_S3_BUCKET", "", "The S3 bucket files are stored in");
    s3.region = either("AWS_S3_REGION_NAME", "MOTORPOOL_S3_REGION", "us-east-1", "The bucket's AWS region");
    s3.endpoint = either("AWS_S3_ENDPOINT_URL",
                         "MOTORPOOL_S3_ENDPOINT_URL",
                         "",
                         "An S3-compatible server (http://127.0.0.1:9000); empty: AWS");
    s3.custom_domain = either("AWS_S3_CUSTOM_DOMAIN",
                              "MOTORPOOL_S3_CUSTOM_DOMAIN",
                              "",
                              "The domain public file URLs use (a CDN in front of the bucket)");
    const std::string style = s.one_of("MOTORPOOL_S3_ADDRESSING_STYLE",
                                       s3.endpoint.empty() ? "virtual" : "path",
                                       {"virtual", "path"},
                                       "virtual: bucket.host/key; path: host/bucket/key");
    s3.path_style = style == "path";
    const auto expiration =
        s.integer("AWS_S3_PRESIGNED_URL_EXPIRATION", 3600, 1, 604'800, "Seconds an S3 upload or download URL is valid");
    s3.expires_s = s.integer("MOTORPOOL_S3_PRESIGNED_URL_EXPIRATION",
                             expiration,
                             1,
                             604'800,
                             "Seconds an S3 upload or download URL is valid");
    s3.credentials.access_key_id = either("AWS_ACCESS_KEY_ID", "MOTORPOOL_S3_ACCESS_KEY_ID", "", "S3 access key id");
    const std::string secret = s.secret("AWS_SECRET_ACCESS_KEY", "S3 secret access key", {}, true);
    s3.credentials.secret_access_key = s.secret("MOTORPOOL_S3_SECRET_ACCESS_KEY", "S3 secret access key", {}, true);
    if (s3.credentials.secret_access_key.empty()) {
        s3.credentials.secret_access_key = secret;
    }
    s3.credentials.session_token = s.secret("AWS_SESSION_TOKEN", "Temporary S3 credentials' session token", {}, true);
    const char* home = std::getenv("HOME");
    const std::string credentials_file = s.string("AWS_SHARED_CREDENTIALS_FILE",
                                                  std::string(home != nullptr ? home : "") + "/.aws/credentials",
                                                  "The AWS shared credentials file, read when the keys are not set");
    const std::string profile = s.string("AWS_PROFILE", "default", "The profile read from the credentials file");
    if (!options_.use_s3) {
        return;
    }
    if (s3.bucket.empty()) {
        s.fail("AWS_STORAGE_BUCKET_NAME", "must be set when files are stored in S3");
    }
    if (s3.credentials.access_key_id.empty() || s3.credentials.secret_access_key.empty()) {
        try {
            if (auto from_file = read_shared_credentials(credentials_file, profile)) {
                s3.credentials = *from_file;
            } else {
                s.fail("AWS_ACCESS_KEY_ID",
                       "and AWS_SECRET_ACCESS_KEY must be set, or profile " + profile + " be in " + credentials_file +
                           ", when files are stored in S3");
            }
        } catch (const std::exception& e) {
            s.fail("AWS_SHARED_CREDENTIALS_FILE", e.what());
        }
    }
    if (!s3.endpoint.empty() && s3.endpoint.rfind("http://", 0) != 0 && s3.endpoint.rfind("https://", 0) != 0) {
        s.fail("MOTORPOOL_S3_ENDPOINT_URL", "must be an http:// or https:// URL");
    }
}

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return files::migrations(dialect);
}

void Module::start(const platform::Started& started) {
    services_->local->set_public_url(platform::with_bound_port(services_->local->base_url(), started));
}

void Module::install(platform::Context& context) {
    std::error_code ec;
    std::filesystem::create_directories(options_.directory, ec);
    if (ec) {
        throw std::runtime_error("MOTORPOOL_FILES_DIR (" + options_.directory + ") cannot be created: " + ec.message());
    }
    constexpr std::int64_t kTenMiB = 10LL << 20;
    std::vector<Purpose> purposes{
        {"chat_attachment",
         {"image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf", "text/plain"},
         kTenMiB},
        {"receipt", {"application/pdf", "image/jpeg", "image/png"}, kTenMiB},
        {"vehicle_photo", {"image/jpeg", "image/png", "image/webp", "image/heic"}, options_.photo_max_bytes},
    };
    const auto& auth = auth_.options();
    auto local = std::make_shared<LocalStorage>(options_.directory,
                                                core::hmac_sha256(auth.secret_key, "motorpool file URLs v1"),
                                                auth.public_url,
                                                options_.upload_ttl_s,
                                                options_.download_ttl_s);
    std::shared_ptr<S3Storage> s3;
    if (options_.use_s3) {
        auto clock = context.clock;
        s3 = std::make_shared<S3Storage>(options_.s3, [clock] { return clock->now_ms() / 1000; });
    }
    services_ = std::make_shared<Services>(
        context.database, context.clock, options_, std::move(purposes), local, s3, referrers_);
    install_routes(context.router, services_);
    auto services = services_;
    context.jobs.add({"files.cleanup",
                      std::chrono::minutes(10),
                      std::chrono::minutes(1),
                      true,
                      [services](const std::atomic<bool>&) {
                          const auto done = clean_up(*services);
                          if (done.expired + done.unreferenced + done.removed > 0) {
                              spdlog::info(
                                  "files: forgot {} upload(s) never made and {} file(s) no longer "
                                  "referenced; removed {} stored object(s)",
                                  done.expired,
                                  done.unreferenced,
                                  done.removed);
                          }
                      }});
}

}  // namespace motorpool::files
