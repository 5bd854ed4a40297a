// Files over REST on every backend: presign, the signed upload streamed into storage (size, type
// and content checked while it arrives), metadata with a signed download URL, the download, and
// deletion; another member gets 404 for each; refused uploads leave nothing behind; quota, rate
// limit and the cleanup of uploads never made.

#include <filesystem>
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/auth.hpp"
#include "core/crypto.hpp"
#include "core/time.hpp"
#include "harness.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

/// A PNG: the signature and an IHDR chunk (what libmagic reads), padded to `size` bytes.
std::string png(std::size_t size) {
    std::string bytes("\x89PNG\r\n\x1a\n", 8);
    bytes += std::string("\x00\x00\x00\x0dIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00", 21);
    bytes += std::string("\x1f\xf3\xff\x61", 4);  // the chunk's CRC
    for (std::size_t i = 0; bytes.size() < size; ++i) {
        bytes.push_back(static_cast<char>(i * 7 % 251));
    }
    bytes.resize(size);
    return bytes;
}

/// The path and query of an absolute URL (the test talks to the server's own port).
std::string target_of(const json::value& url) {
    const std::string text(url.as_string());
    const auto scheme = text.find("://");
    return text.substr(text.find('/', scheme + 3));
}

class FilesTest : public ::testing::Test {
protected:
    void SetUp() override { start({}); }

    void start(Overrides overrides) {
        clock_ = std::make_shared<core::ManualClock>(core::parse_rfc3339("2026-06-01T10:00:00Z").value());
        app_.reset();
        app_ = std::make_unique<TestApp>(std::move(overrides), nullptr, clock_);
        alice_ = register_member(*app_, "alice@example.com").token;
        bob_ = register_member(*app_, "bob@example.com").token;
        support_ = create_user_and_login(*app_, "support@example.com", auth::Role::Support).token;
    }

    http::ClientResponse presign(const std::string& token,
                                 const std::string& type,
                                 std::int64_t size,
                                 const std::string& purpose = "vehicle_photo",
                                 const std::string& filename = "front left.png") {
        return call(
            *app_,
            "POST",
            "/api/v1/files/presign",
            token,
            json::object{{"filename", filename}, {"content_type", type}, {"size_bytes", size}, {"purpose", purpose}});
    }

    http::ClientResponse put(const json::value& presigned, const std::string& bytes, std::string type = "") {
        if (type.empty()) {
            type = std::string(presigned.at("headers").at("Content-Type").as_string());
        }
        return app_->client().request("PUT", target_of(presigned.at("url")), bytes, {{"Content-Type", type}});
    }

    /// Regular files under the storage directory (named uploads).
    std::size_t stored_files() const {
        std::size_t n = 0;
        for (const auto& e : std::filesystem::recursive_directory_iterator(app_->files_dir())) {
            n += e.is_regular_file() ? 1 : 0;
        }
        return n;
    }

    std::shared_ptr<core::ManualClock> clock_;
    std::unique_ptr<TestApp> app_;
    std::string alice_, bob_, support_;
};

TEST_F(FilesTest, AnUploadIsStoredCheckedDownloadedAndDeletedByItsOwnerOnly) {
    const std::string bytes = png(50'000);
    auto presigned = presign(alice_, "image/png", static_cast<std::int64_t>(bytes.size()));
    ASSERT_EQ(presigned.status, 201) << presigned.body;
    const json::value p = presigned.json();
    EXPECT_EQ(p.at("method"), json::value("PUT"));
    EXPECT_EQ(p.at("headers").at("Content-Type"), json::value("image/png"));
    const std::string id(p.at("file_id").as_string());
    EXPECT_EQ(call(*app_, "GET", "/api/v1/files/" + id, alice_).json().at("status"), json::value("pending"));

    auto uploaded = put(p, bytes);
    ASSERT_EQ(uploaded.status, 200) << uploaded.body;
    EXPECT_EQ(uploaded.json().at("status"), json::value("ready"));
    EXPECT_EQ(uploaded.json().at("sha256"), json::value(core::sha256_hex(bytes)));
    EXPECT_EQ(stored_files(), 1U);
    // The URL is single use.
    EXPECT_EQ(put(p, bytes).status, 409);

    auto meta = call(*app_, "GET", "/api/v1/files/" + id, alice_);
    ASSERT_EQ(meta.status, 200);
    EXPECT_EQ(meta.json().at("size_bytes"), json::value(50'000));
    EXPECT_EQ(meta.json().at("filename"), json::value("front left.png"));
    auto download = app_->client().get(target_of(meta.json().at("download_url")));
    ASSERT_EQ(download.status, 200);
    EXPECT_EQ(download.body, bytes);
    EXPECT_EQ(download.header("Content-Type").value_or(""), "image/png");
    EXPECT_EQ(download.header("Content-Disposition").value_or(""),
              "attachment; filename=\"front_left.png\"; filename*=UTF-8''front%20left.png");
    EXPECT_EQ(download.header("X-Content-Type-Options").value_or(""), "nosniff");
    // A tampered or expired download URL is refused.
    std::string tampered = target_of(meta.json().at("download_url"));
    tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
    EXPECT_EQ(app_->client().get(tampered).status, 403);

    // Others: 404 for the metadata and the deletion (support reads chat attachments only).
    EXPECT_EQ(call(*app_, "GET", "/api/v1/files/" + id, bob_).status, 404);
    EXPECT_EQ(call(*app_, "DELETE", "/api/v1/files/" + id, bob_).status, 404);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/files/" + id, support_).status, 404);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/files/" + id, "").status, 401);

    clock_->advance_ms(6 * 60'000);  // past the download URL's five minutes
    EXPECT_EQ(app_->client().get(target_of(meta.json().at("download_url"))).status, 403);

    auto relogin = app_->client().post_json(
        "/api/v1/auth/login", json::object{{"email", "alice@example.com"}, {"password", "correct horse battery"}});
    alice_ = std::string(relogin.json().at("access_token").as_string());
    EXPECT_EQ(call(*app_, "DELETE", "/api/v1/files/" + id, alice_).status, 204);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/files/" + id, alice_).status, 404);
    EXPECT_EQ(stored_files(), 0U);
}

TEST_F(FilesTest, SupportReadsChatAttachments) {
    const std::string bytes = png(2'000);
    auto p = presign(alice_, "image/png", 2'000, "chat_attachment").json();
    ASSERT_EQ(put(p, bytes).status, 200);
    const std::string id(p.at("file_id").as_string());
    auto seen = call(*app_, "GET", "/api/v1/files/" + id, support_);
    ASSERT_EQ(seen.status, 200);
    EXPECT_EQ(app_->client().get(target_of(seen.json().at("download_url"))).body, bytes);
    EXPECT_EQ(call(*app_, "DELETE", "/api/v1/files/" + id, support_).status, 403);  // reads, never deletes
}

TEST_F(FilesTest, RefusedUploadsLeaveNothingBehind) {
    const std::string bytes = png(20'000);
    auto p = presign(alice_, "image/png", 20'000).json();
    // Larger than declared: 413 from the Content-Length, before a byte is stored.
    EXPECT_EQ(put(p, bytes + "more").status, 413);
    // Smaller than declared.
    auto short_body = put(p, bytes.substr(0, 10'000));
    EXPECT_EQ(short_body.status, 422) << short_body.body;
    // Another type than declared, by content: a PNG declared as JPEG.
    auto jpeg = presign(alice_, "image/jpeg", 20'000).json();
    auto mismatch = put(jpeg, bytes);
    EXPECT_EQ(mismatch.status, 422) << mismatch.body;
    EXPECT_EQ(mismatch.json().at("errors").at(0).at("field"), json::value("content"));
    // Another Content-Type than the one signed for.
    EXPECT_EQ(put(p, bytes, "image/jpeg").status, 415);
    // A forged signature.
    std::string forged = target_of(p.at("url"));
    forged.replace(forged.find("signature=") + 10, 4, "AAAA");
    EXPECT_EQ(app_->client().request("PUT", forged, bytes, {{"Content-Type", "image/png"}}).status, 403);
    EXPECT_EQ(stored_files(), 0U);
    EXPECT_EQ(
        call(*app_, "GET", "/api/v1/files/" + std::string(p.at("file_id").as_string()), alice_).json().at("status"),
        json::value("pending"));
    // After expiry (15 minutes): refused.
    clock_->advance_ms(16 * 60'000);
    EXPECT_EQ(put(p, bytes).status, 403);
    EXPECT_EQ(stored_files(), 0U);

    // The cleanup job forgets uploads never made, an hour after their URL expired.
    clock_->advance_ms(61 * 60'000);
    const auto runs = app_->app().jobs().stats("files.cleanup").runs;
    app_->app().jobs().trigger("files.cleanup");
    for (int k = 0; k < 500 && app_->app().jobs().stats("files.cleanup").runs == runs; ++k) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(app_->app().database().with_reader(
                  [](db::Connection& c) { return c.query("SELECT COUNT(*) FROM files").row(0).int64(0); }),
              0);
}

TEST_F(FilesTest, PresignValidatesPurposeTypeSizeNameQuotaAndRate) {
    auto field = [](const http::ClientResponse& r) {
        return std::string(r.json().at("errors").at(0).at("field").as_string());
    };
    auto unknown = presign(alice_, "image/png", 100, "selfie");
    EXPECT_EQ(unknown.status, 422);
    EXPECT_EQ(field(unknown), "purpose");
    auto type = presign(alice_, "application/zip", 100, "receipt");
    EXPECT_EQ(type.status, 422);
    EXPECT_EQ(field(type), "content_type");
    auto size = presign(alice_, "application/pdf", (10LL << 20) + 1, "receipt");
    EXPECT_EQ(size.status, 422);
    EXPECT_EQ(field(size), "size_bytes");
    auto path = presign(alice_, "image/png", 100, "vehicle_photo", "../etc/passwd");
    EXPECT_EQ(path.status, 422);
    EXPECT_EQ(field(path), "filename");
    EXPECT_EQ(presign(alice_, "image/png", 0).status, 422);

    start({{"MOTORPOOL_FILES_QUOTA_BYTES", "100000"}, {"MOTORPOOL_FILES_PRESIGNS_PER_MINUTE", "3"}});
    EXPECT_EQ(presign(alice_, "image/png", 60'000).status, 201);
    auto over = presign(alice_, "image/png", 50'000);
    EXPECT_EQ(over.status, 422);
    EXPECT_EQ(field(over), "size_bytes");
    EXPECT_EQ(presign(alice_, "image/png", 30'000).status, 201);  // within the quota
    auto limited = presign(alice_, "image/png", 10);
    EXPECT_EQ(limited.status, 429);
    EXPECT_TRUE(limited.header("Retry-After").has_value());
    EXPECT_EQ(presign(bob_, "image/png", 10).status, 201);  // per user
    clock_->advance_ms(61'000);
    EXPECT_EQ(presign(alice_, "image/png", 10).status, 201);
}

}  // namespace
}  // namespace motorpool::testing
