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

    /// Runs the cleanup job once and waits for it.
    void run_cleanup() {
        const auto runs = app_->app().jobs().stats("files.cleanup").runs;
        app_->app().jobs().trigger("files.cleanup");
        for (int k = 0; k < 500 && app_->app().jobs().stats("files.cleanup").runs == runs; ++k) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }

    std::int64_t count(const char* sql) {
        return app_->app().database().with_reader([&](db::Connection& c) { return c.query(sql).row(0).int64(0); });
    }

    /// Logs in again (tokens last 15 minutes of the test clock).
    std::string relogin(const std::string& email) {
        auto r = app_->client().post_json("/api/v1/auth/login",
                                          json::object{{"email", email}, {"password", "correct horse battery"}});
        return std::string(r.json().at("access_token").as_string());
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
    // Signed for the port the server bound (the tests' PORT=0 is never in a URL).
    const std::string origin = "http://localhost:" + std::to_string(app_->port()) + "/api/v1/files/" + id;
    EXPECT_EQ(std::string(p.at("url").as_string()).rfind(origin + "/content?expires=", 0), 0U) << p;
    EXPECT_EQ(p.at("public_url"), json::value(origin));
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

    // A message may be a file alone; without a file it needs a body.
    auto thread = call(*app_, "POST", "/api/v1/chat/threads", alice_, json::object{{"subject", "Warning light"}});
    ASSERT_EQ(thread.status, 201) << thread.body;
    const std::string messages =
        "/api/v1/chat/threads/" + std::string(thread.json().at("id").as_string()) + "/messages";
    EXPECT_EQ(call(*app_, "POST", messages, alice_, json::object{{"attachments", json::array{}}}).status, 422);
    auto photo = call(*app_, "POST", messages, alice_, json::object{{"attachments", json::array{json::value(id)}}});
    ASSERT_EQ(photo.status, 201) << photo.body;
    EXPECT_EQ(photo.json().at("body"), json::value(""));
    EXPECT_EQ(photo.json().at("attachments").at(0).at("id"), json::value(id));
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
    run_cleanup();
    EXPECT_EQ(count("SELECT COUNT(*) FROM files"), 0);
    EXPECT_EQ(count("SELECT COUNT(*) FROM file_removals"), 0);
}

TEST_F(FilesTest, ALargeDownloadIsStreamedWhole) {
    const std::string bytes = png(700'001);  // three pieces of the server's 256 KiB, the last short
    auto p = presign(alice_, "image/png", static_cast<std::int64_t>(bytes.size())).json();
    ASSERT_EQ(put(p, bytes).status, 200);
    auto meta = call(*app_, "GET", "/api/v1/files/" + std::string(p.at("file_id").as_string()), alice_).json();
    auto download = app_->client().get(target_of(meta.at("download_url")));
    ASSERT_EQ(download.status, 200);
    EXPECT_EQ(download.header("Content-Length").value_or(""), "700001");
    EXPECT_TRUE(download.body == bytes);
    // The connection stays usable after a streamed body.
    EXPECT_EQ(app_->client().get("/health").status, 200);
}

TEST_F(FilesTest, ABadTypeIsRefusedAtOnceWhileTheClientStillSends) {
    // 300 KiB of a declared 1 MiB PNG that is not one, then the client waits: the refusal of the
    // first piece arrives without the rest (the read of the next piece is cancelled).
    auto p = presign(alice_, "image/png", 1 << 20).json();
    RawConnection client(app_->port());
    client.send("PUT " + target_of(p.at("url")) +
                " HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1048576\r\n\r\n");
    client.send(std::string(300 * 1024, 'x'));
    const auto started = std::chrono::steady_clock::now();
    auto refused = client.read_response(std::chrono::seconds(5));
    ASSERT_TRUE(refused.has_value());
    EXPECT_EQ(refused->result_int(), 422U);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
    EXPECT_EQ(stored_files(), 0U);
}

TEST_F(FilesTest, CompleteSaysWhetherALocalUploadWasMade) {
    const std::string bytes = png(3'000);
    auto p = presign(alice_, "image/png", 3'000).json();
    EXPECT_EQ(p.at("storage"), json::value("local"));
    const std::string id(p.at("file_id").as_string());
    EXPECT_EQ(p.at("complete_url"), json::value("/api/v1/files/" + id + "/complete"));
    auto early = call(*app_, "POST", "/api/v1/files/" + id + "/complete", alice_);
    EXPECT_EQ(early.status, 409);
    EXPECT_EQ(early.json().at("type"), json::value("urn:motorpool:problem:file_not_uploaded"));
    ASSERT_EQ(put(p, bytes).status, 200);
    auto done = call(*app_, "POST", "/api/v1/files/" + id + "/complete", alice_);
    ASSERT_EQ(done.status, 200) << done.body;
    EXPECT_EQ(done.json().at("status"), json::value("ready"));
    EXPECT_TRUE(done.json().at("download_url").is_string());
    EXPECT_EQ(call(*app_, "POST", "/api/v1/files/" + id + "/complete", bob_).status, 404);
    EXPECT_EQ(call(*app_, "POST", "/api/v1/files/" + id + "/complete", support_).status, 404);
}

TEST_F(FilesTest, ChatAttachmentsNeverSentAreCleanedUpAfterADay) {
    auto upload = [&](const std::string& name) {
        auto p = presign(alice_, "image/png", 1'000, "chat_attachment", name).json();
        EXPECT_EQ(put(p, png(1'000)).status, 200);
        return std::string(p.at("file_id").as_string());
    };
    const std::string sent = upload("sent.png");
    const std::string unsent = upload("unsent.png");
    const std::string photo = upload("photo.png");  // a chat attachment too, deleted by its owner
    auto thread = call(*app_, "POST", "/api/v1/chat/threads", alice_, json::object{{"subject", "Brakes"}});
    ASSERT_EQ(thread.status, 201) << thread.body;
    auto message = call(*app_,
                        "POST",
                        "/api/v1/chat/threads/" + std::string(thread.json().at("id").as_string()) + "/messages",
                        alice_,
                        json::object{{"body", "see the photo"}, {"attachments", json::array{sent.c_str()}}});
    ASSERT_EQ(message.status, 201) << message.body;
    EXPECT_EQ(stored_files(), 3U);
    ASSERT_EQ(call(*app_, "DELETE", "/api/v1/files/" + photo, alice_).status, 204);
    EXPECT_EQ(stored_files(), 2U);
    EXPECT_EQ(count("SELECT COUNT(*) FROM file_removals"), 0);

    // Within the day an unsent attachment may still be sent: kept.
    clock_->advance_ms(23 * 3'600'000LL);
    run_cleanup();
    EXPECT_EQ(stored_files(), 2U);
    clock_->advance_ms(2 * 3'600'000LL);
    run_cleanup();
    EXPECT_EQ(stored_files(), 1U);
    alice_ = relogin("alice@example.com");
    EXPECT_EQ(call(*app_, "GET", "/api/v1/files/" + unsent, alice_).status, 404);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/files/" + sent, alice_).status, 200);
    EXPECT_EQ(count("SELECT COUNT(*) FROM file_removals"), 0);
}

TEST_F(FilesTest, S3UnreachableAnswers503AndRemovalsWaitForIt) {
    // Port 1 on loopback: nothing listens, so every S3 call fails at once.
    start({{"USE_S3", "True"},
           {"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
           {"AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
           {"AWS_STORAGE_BUCKET_NAME", "motorpool-test"},
           {"AWS_S3_ENDPOINT_URL", "http://127.0.0.1:1"},
           {"AWS_S3_CUSTOM_DOMAIN", "files.example.com"}});
    auto presigned = presign(alice_, "image/png", 1'000, "vehicle_photo", "my car.png");
    ASSERT_EQ(presigned.status, 201) << presigned.body;
    const json::value p = presigned.json();
    const std::string id(p.at("file_id").as_string());
    EXPECT_EQ(p.at("storage"), json::value("s3"));
    const std::string url(p.at("url").as_string());
    EXPECT_EQ(url.rfind("http://127.0.0.1:1/motorpool-test/uploads/" + id + "/my%20car.png?", 0), 0U) << url;
    EXPECT_NE(url.find("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"), std::string::npos) << url;
    EXPECT_NE(url.find("X-Amz-Expires=3600"), std::string::npos) << url;
    EXPECT_EQ(p.at("headers").at("Content-Length"), json::value("1000"));
    EXPECT_EQ(p.at("public_url"), json::value("https://files.example.com/uploads/" + id + "/my%20car.png"));

    auto complete = call(*app_, "POST", "/api/v1/files/" + id + "/complete", alice_);
    EXPECT_EQ(complete.status, 503) << complete.body;
    EXPECT_TRUE(complete.header("Retry-After").has_value());
    EXPECT_EQ(complete.body.find("127.0.0.1"), std::string::npos) << "no URL leaks";
    // Deleting forgets the file at once; its object waits in the queue for S3.
    EXPECT_EQ(call(*app_, "DELETE", "/api/v1/files/" + id, alice_).status, 204);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/files/" + id, alice_).status, 404);
    EXPECT_EQ(count("SELECT COUNT(*) FROM file_removals WHERE storage = 's3' AND attempts = 1"), 1);
    run_cleanup();
    EXPECT_EQ(count("SELECT COUNT(*) FROM file_removals WHERE attempts = 2"), 1);
}

TEST_F(FilesTest, S3SettingsAreCheckedAtStart) {
    EXPECT_THROW(start({{"USE_S3", "true"}, {"AWS_ACCESS_KEY_ID", "AKID"}, {"AWS_SECRET_ACCESS_KEY", "x"}}),
                 std::exception);  // no bucket
    EXPECT_THROW(start({{"USE_S3", "true"},
                        {"AWS_STORAGE_BUCKET_NAME", "b"},
                        {"AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"}}),
                 std::exception);  // no credentials anywhere
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
