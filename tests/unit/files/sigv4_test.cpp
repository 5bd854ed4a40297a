// SigV4 presigned URLs: AWS's published vectors (PLATFORM.md §6.2), and URLs byte-identical to
// botocore's for the same credentials, time and inputs, keys with spaces, '+', '$' and non-ASCII
// included (botocore runs at test time: python3-boto3 from Debian).

#include "files/sigv4.hpp"

#include <cstdio>
#include <memory>
#include <sstream>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/crypto.hpp"

namespace motorpool::files::sigv4 {
namespace {

constexpr std::int64_t k20130524 = 1369353600;  // 2013-05-24T00:00:00Z

TEST(SigV4Test, TheAwsPresignExampleSignsAsPublished) {
    Credentials c{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
    PresignRequest r;
    r.method = "GET";
    r.host = "examplebucket.s3.amazonaws.com";
    r.path = "/test.txt";
    r.at_s = k20130524;
    r.expires_s = 86400;
    EXPECT_EQ(core::sha256_hex(canonical_request(c, r)),
              "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04");
    EXPECT_EQ(core::hex_encode(signing_key(c.secret_access_key, "20130524", "us-east-1", "s3")),
              "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378");
    const std::string url = presign_url(c, r);
    EXPECT_EQ(url.substr(url.rfind('=') + 1), "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    EXPECT_EQ(url.rfind("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&", 0), 0U);
}

TEST(SigV4Test, TheIamSigningKeyExampleDerivesAsPublished) {
    EXPECT_EQ(core::hex_encode(signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215", "us-east-1", "iam")),
              "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST(SigV4Test, KeysAreEncodedOnceWithSlashesKept) {
    EXPECT_EQ(uri_encode("/uploads/a b+c$d/é.png", true), "/uploads/a%20b%2Bc%24d/%C3%A9.png");
    EXPECT_EQ(uri_encode("AKID/20130524/us-east-1/s3/aws4_request", false),
              "AKID%2F20130524%2Fus-east-1%2Fs3%2Faws4_request");
    EXPECT_EQ(amz_date(k20130524), "20130524T000000Z");
}

std::string run_botocore(const boost::json::array& cases) {
    const std::string script = std::string(MOTORPOOL_SOURCE_DIR) + "/tests/unit/files/botocore_presign.py";
    const std::string input = "/tmp/motorpool-sigv4-" + std::to_string(::getpid()) + ".json";
    {
        std::FILE* f = std::fopen(input.c_str(), "w");
        const std::string text = boost::json::serialize(cases);
        std::fwrite(text.data(), 1, text.size(), f);
        std::fclose(f);
    }
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(("python3 " + script + " < " + input).c_str(), "r"), ::pclose);
    std::string out;
    char buffer[4096];
    while (pipe && std::fgets(buffer, sizeof buffer, pipe.get()) != nullptr) {
        out += buffer;
    }
    std::remove(input.c_str());
    return out;
}

TEST(SigV4Test, PresignedUrlsAreByteIdenticalToBotocores) {
    const Credentials c{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
    struct Case {
        std::string method, key, region;
        std::int64_t at, expires;
        std::string content_type;
        std::int64_t content_length;
        std::string endpoint_host;  // path style against a custom endpoint ("" : AWS, virtual host)
        std::string session_token;
        std::string disposition;  // GET: response-content-disposition (and response-content-type)
    };
    const std::vector<Case> cases{
        {"PUT", "uploads/a b+c$d/é.png", "eu-central-1", 1796300000, 900, "image/png", 123, "", "", ""},
        {"GET", "x.png", "eu-central-1", 1796300000, 300, "", -1, "", "", ""},
        {"GET", "reçu (1).pdf", "us-west-2", 1700000000, 604800, "", -1, "", "FQoGZXIvYXdzEXAMPLETOKEN/+=", ""},
        {"HEAD", "dir/sub dir/~file_-.txt", "eu-west-1", 1796300000, 60, "", -1, "", "", ""},
        {"PUT", "uploads/photo 1.jpg", "us-east-1", 1796300000, 900, "image/jpeg", 5000000, "127.0.0.1:9000", "", ""},
        {"DELETE", "uploads/0190/a+b $.pdf", "eu-central-1", 1796300000, 60, "", -1, "", "", ""},
        {"GET",
         "uploads/0190/reçu 1.pdf",
         "eu-central-1",
         1796300000,
         300,
         "",
         -1,
         "",
         "",
         "attachment; filename=\"re_u_1.pdf\"; filename*=UTF-8''re%C3%A7u%201.pdf"},
    };
    boost::json::array input;
    std::vector<std::string> ours;
    for (const auto& k : cases) {
        boost::json::object o{{"method", k.method},
                              {"bucket", "motorpool-test"},
                              {"key", k.key},
                              {"region", k.region},
                              {"at", k.at},
                              {"expires", k.expires},
                              {"access_key_id", c.access_key_id},
                              {"secret_access_key", c.secret_access_key},
                              {"session_token", k.session_token}};
        PresignRequest r;
        r.method = k.method;
        r.region = k.region;
        r.at_s = k.at;
        r.expires_s = k.expires;
        if (k.endpoint_host.empty()) {
            o["endpoint"] = "https://s3." + k.region + ".amazonaws.com";
            r.host = "motorpool-test.s3." + k.region + ".amazonaws.com";
            r.path = "/" + k.key;
        } else {
            o["endpoint"] = "http://" + k.endpoint_host;
            o["style"] = "path";
            r.scheme = "http";
            r.host = k.endpoint_host;
            r.path = "/motorpool-test/" + k.key;
        }
        if (!k.content_type.empty()) {
            o["content_type"] = k.content_type;
            r.headers.emplace_back("Content-Type", k.content_type);
        }
        if (k.content_length >= 0) {
            o["content_length"] = k.content_length;
            r.headers.emplace_back("Content-Length", std::to_string(k.content_length));
        }
        if (!k.disposition.empty()) {
            o["disposition"] = k.disposition;
            o["response_type"] = "application/pdf";
            r.query = {{"response-content-disposition", k.disposition}, {"response-content-type", "application/pdf"}};
        }
        input.push_back(o);
        Credentials with_token = c;
        with_token.session_token = k.session_token;
        ours.push_back(presign_url(with_token, r));
    }
    std::istringstream lines(run_botocore(input));
    std::vector<std::string> theirs;
    for (std::string line; std::getline(lines, line);) {
        theirs.push_back(line);
    }
    ASSERT_EQ(theirs.size(), ours.size()) << "botocore (python3-boto3) did not answer every case";
    for (std::size_t i = 0; i < ours.size(); ++i) {
        EXPECT_EQ(ours[i], theirs[i]) << "case " << i;
    }
}

}  // namespace
}  // namespace motorpool::files::sigv4
