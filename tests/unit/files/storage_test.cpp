// The S3 backend's pieces that need no server: the shared credentials file, the public URLs with
// and without a custom domain, and the Content-Disposition both backends send.

#include "files/storage.hpp"

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>

namespace motorpool::files {
namespace {

std::string write_temp(const std::string& text) {
    char path[] = "/tmp/motorpool-credentials-XXXXXX";
    const int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    ::close(fd);
    std::ofstream(path) << text;
    return path;
}

TEST(SharedCredentialsTest, TheProfilesKeysAreRead) {
    const std::string path = write_temp(
        "# comment\n[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = secret/with+chars\n\n"
        "[ci]\naws_access_key_id=AKIDCI\naws_secret_access_key=ci-secret\naws_session_token=TOKEN\n"
        "; another comment\n[partial]\naws_access_key_id=ONLYID\n");
    auto d = read_shared_credentials(path, "default");
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->access_key_id, "AKIDDEFAULT");
    EXPECT_EQ(d->secret_access_key, "secret/with+chars");
    EXPECT_EQ(d->session_token, "");
    auto ci = read_shared_credentials(path, "ci");
    ASSERT_TRUE(ci.has_value());
    EXPECT_EQ(ci->session_token, "TOKEN");
    EXPECT_FALSE(read_shared_credentials(path, "partial").has_value());
    EXPECT_FALSE(read_shared_credentials(path, "missing").has_value());
    EXPECT_FALSE(read_shared_credentials("/nonexistent/credentials", "default").has_value());
    std::remove(path.c_str());

    const std::string broken = write_temp("[default]\nthis line has no equals sign\n");
    EXPECT_THROW(read_shared_credentials(broken, "default"), std::runtime_error);
    std::remove(broken.c_str());
}

TEST(S3StorageTest, PublicUrlsUseTheCustomDomainOrTheBucket) {
    S3Options o;
    o.credentials = {"AKID", "secret", ""};
    o.bucket = "fleet-files";
    o.region = "eu-central-1";
    const FileRef f{1, "id", 1, "receipt", "a b.pdf", "application/pdf", 10, "ready"};
    EXPECT_EQ(S3Storage(o, [] { return 1796300000; }).public_url(f, "uploads/id/a b.pdf"),
              "https://fleet-files.s3.eu-central-1.amazonaws.com/uploads/id/a%20b.pdf");
    o.custom_domain = "cdn.example.com";
    EXPECT_EQ(S3Storage(o, [] { return 1796300000; }).public_url(f, "uploads/id/a b.pdf"),
              "https://cdn.example.com/uploads/id/a%20b.pdf");
    o.custom_domain.clear();
    o.endpoint = "http://127.0.0.1:9000";
    o.path_style = true;
    S3Storage local(o, [] { return 1796300000; });
    EXPECT_EQ(local.public_url(f, "uploads/id/a b.pdf"), "http://127.0.0.1:9000/fleet-files/uploads/id/a%20b.pdf");
    // An upload URL signs the type and the length, valid until the expiry given.
    const auto target = local.upload_target(f, "uploads/id/a b.pdf", 1796300000 + 600);
    EXPECT_EQ(target.url.rfind("http://127.0.0.1:9000/fleet-files/uploads/id/a%20b.pdf?X-Amz-Algorithm=", 0), 0U);
    EXPECT_NE(target.url.find("X-Amz-Expires=600&X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"),
              std::string::npos)
        << target.url;
    o.endpoint = "http://127.0.0.1:9000/path";
    EXPECT_THROW(S3Storage(o, [] { return 0; }), std::invalid_argument);
}

TEST(ContentDispositionTest, AnyNameIsSafe) {
    EXPECT_EQ(content_disposition("reçu \"1\";.pdf"),
              "attachment; filename=\"re_u__1__.pdf\"; filename*=UTF-8''re%C3%A7u%20%221%22%3B.pdf");
    EXPECT_EQ(content_disposition("\r\nSet-Cookie: x"),
              "attachment; filename=\"__Set-Cookie__x\"; filename*=UTF-8''%0D%0ASet-Cookie%3A%20x");
}

}  // namespace
}  // namespace motorpool::files
