#include "files/module.hpp"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
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
}

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return files::migrations(dialect);
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
    services_ = std::make_shared<Services>(context.database,
                                           context.clock,
                                           options_,
                                           core::hmac_sha256(auth.secret_key, "motorpool file URLs v1"),
                                           auth.public_url,
                                           std::move(purposes));
    install_routes(context.router, services_);
    auto services = services_;
    context.jobs.add({"files.cleanup",
                      std::chrono::minutes(10),
                      std::chrono::minutes(1),
                      true,
                      [services](const std::atomic<bool>&) {
                          if (auto n = forget_expired_uploads(*services); n > 0) {
                              spdlog::info("files: forgot {} upload(s) never made", n);
                          }
                      }});
}

}  // namespace motorpool::files
