// The dashboard's files served at /: index.html for the app's own paths (a browser asking for a
// page), hashed assets cached for a year, precompressed forms by Accept-Encoding, the pages'
// Content-Security-Policy, API paths and missing files still 404; and without a build, a page
// saying how to make one.

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace motorpool::testing {
namespace {

namespace fs = std::filesystem;

class WebTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("motorpool-web-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(dir_ / "assets");
    }
    void TearDown() override {
        app_.reset();
        fs::remove_all(dir_);
    }
    void write(const std::string& name, const std::string& text) {
        std::ofstream(dir_ / name, std::ios::binary) << text;
    }
    void build_site() {
        write("index.html",
              "<!doctype html><title>motorpool</title><script type=module src=/assets/app-1a2b3c.js></script>");
        write("assets/app-1a2b3c.js", "console.log('plain')");
        write("assets/app-1a2b3c.js.gz", "GZIP-BYTES");
        write("assets/app-1a2b3c.js.br", "BROTLI-BYTES");
        write("favicon.svg", "<svg/>");
        write("docs.html", "<!doctype html><title>motorpool API</title>");
    }
    void start(bool built) {
        if (built) {
            build_site();
        }
        app_ = std::make_unique<TestApp>(Overrides{{"MOTORPOOL_WEB_DIR", (dir_ / (built ? "" : "missing")).string()}});
    }
    http::ClientResponse get(const std::string& path, http::Headers headers = {}) {
        return app_->client().request("GET", path, "", headers);
    }

    fs::path dir_;
    std::unique_ptr<TestApp> app_;
};

TEST_F(WebTest, ServesTheBuildWithCachingCompressionAndTheAppsPaths) {
    start(true);
    auto index = get("/", {{"Accept", "text/html"}});
    ASSERT_EQ(index.status, 200) << index.body;
    EXPECT_EQ(index.header("Content-Type").value_or(""), "text/html; charset=utf-8");
    EXPECT_EQ(index.header("Cache-Control").value_or(""), "no-cache");
    const std::string csp(index.header("Content-Security-Policy").value_or(""));
    EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;  // no inline script
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
    EXPECT_NE(index.body.find("app-1a2b3c.js"), std::string::npos);

    // A hashed asset: a year, immutable; the precompressed form the client takes.
    auto plain = get("/assets/app-1a2b3c.js");
    ASSERT_EQ(plain.status, 200);
    EXPECT_EQ(plain.body, "console.log('plain')");
    EXPECT_EQ(plain.header("Content-Type").value_or(""), "text/javascript; charset=utf-8");
    EXPECT_EQ(plain.header("Cache-Control").value_or(""), "public, max-age=31536000, immutable");
    EXPECT_EQ(plain.header("Vary").value_or(""), "Accept-Encoding");
    EXPECT_FALSE(plain.header("Content-Encoding").has_value());
    auto br = get("/assets/app-1a2b3c.js", {{"Accept-Encoding", "gzip, deflate, br"}});
    EXPECT_EQ(br.header("Content-Encoding").value_or(""), "br");
    EXPECT_EQ(br.body, "BROTLI-BYTES");
    auto gz = get("/assets/app-1a2b3c.js", {{"Accept-Encoding", "br;q=0, gzip"}});
    EXPECT_EQ(gz.header("Content-Encoding").value_or(""), "gzip");
    EXPECT_EQ(gz.body, "GZIP-BYTES");
    EXPECT_EQ(get("/favicon.svg").header("Cache-Control").value_or(""), "no-cache");  // not hashed

    // The app's own paths are index.html for a browser; API paths, files and other clients 404.
    auto page = get("/vehicles/019cad21-cf00", {{"Accept", "text/html,application/xhtml+xml"}});
    EXPECT_EQ(page.status, 200);
    EXPECT_EQ(page.body, index.body);
    EXPECT_EQ(get("/vehicles/019cad21-cf00").status, 404);
    auto api = get("/api/v1/nothing", {{"Accept", "text/html"}});
    EXPECT_EQ(api.status, 404);
    EXPECT_EQ(api.header("Content-Type").value_or(""), "application/problem+json");
    EXPECT_EQ(get("/assets/missing-000.js", {{"Accept", "text/html"}}).status, 404);
    EXPECT_EQ(get("/%2e%2e/%2e%2e/etc/passwd", {{"Accept", "text/html"}}).body.find("root:"), std::string::npos);
    EXPECT_EQ(app_->client().request("POST", "/vehicles", "{}", {{"Content-Type", "application/json"}}).status, 404);
    // Swagger UI's page at /api/docs and /docs (a trailing slash too), for any client.
    for (const char* path : {"/api/docs", "/docs", "/api/docs/"}) {
        auto docs = get(path);
        EXPECT_EQ(docs.status, 200) << path;
        EXPECT_NE(docs.body.find("motorpool API"), std::string::npos) << path;
        EXPECT_TRUE(docs.header("Content-Security-Policy").has_value()) << path;
    }
    // motorpool's own routes are untouched.
    EXPECT_EQ(get("/health").body, R"({"status":"ok"})");
}

TEST_F(WebTest, WithoutABuildTheServerSaysHowToMakeOne) {
    start(false);
    auto index = get("/", {{"Accept", "text/html"}});
    ASSERT_EQ(index.status, 200);
    EXPECT_NE(index.body.find("make web"), std::string::npos) << index.body;
    EXPECT_EQ(get("/vehicles", {{"Accept", "text/html"}}).status, 404);
    EXPECT_EQ(get("/health").status, 200);
}

}  // namespace
}  // namespace motorpool::testing
