// Accounts end to end: registration, login, tokens (forged, none, expired, wrong claims), refresh
// rotation and reuse detection, logout, magic links, /me, admin user management, throttling, and
// that no secret ever reaches the log. Runs on every backend.

#include "auth/auth.hpp"

#include <future>
#include <regex>
#include <sstream>
#include <thread>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/ostream_sink.h>

#include "core/crypto.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "harness.hpp"
#include "mail/mail.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;
constexpr const char* kSecret = "integration-test-secret-key-0123456789abcdef";

class AuthTest : public ::testing::Test {
protected:
    void SetUp() override {
        log_ = std::make_shared<std::ostringstream>();
        sink_ = std::make_shared<spdlog::sinks::ostream_sink_mt>(*log_);
        core::add_log_sink(sink_);
        spdlog::set_level(spdlog::level::trace);  // every level must be clean of secrets
        app_ = std::make_unique<TestApp>(Overrides{}, nullptr, clock_);
    }
    void TearDown() override {
        app_.reset();
        core::remove_log_sink(sink_);
        spdlog::set_level(spdlog::level::warn);
        for (const auto& secret : secrets_) {
            EXPECT_EQ(log_->str().find(secret), std::string::npos) << "a secret reached the log";
        }
    }

    http::ClientResponse post(const std::string& path, const json::value& body, http::Headers headers = {}) {
        return app_->client().post_json(path, body, std::move(headers));
    }
    json::object register_user(const std::string& email,
                               const std::string& password = "correct horse battery",
                               const std::string& name = "Ada Lovelace") {
        secrets_.push_back(password);
        auto r = post("/api/v1/auth/register", json::object{{"name", name}, {"email", email}, {"password", password}});
        EXPECT_EQ(r.status, 201) << r.body;
        auto o = r.json().as_object();
        remember(o);
        return o;
    }
    void remember(const json::object& session) {
        secrets_.emplace_back(session.at("access_token").as_string());
        secrets_.emplace_back(session.at("refresh_token").as_string());
    }
    static http::Headers bearer(const json::object& session) {
        return {{"Authorization", "Bearer " + std::string(session.at("access_token").as_string())}};
    }
    static std::string b64(const std::string& s) { return core::base64url_encode(s); }
    static std::string sign(const std::string& header, const std::string& payload, const std::string& key = kSecret) {
        std::string input = b64(header) + "." + b64(payload);
        return input + "." + b64(core::hmac_sha256(key, input));
    }
    std::string claims(std::int64_t exp,
                       const std::string& sub,
                       const std::string& iss = "motorpool",
                       const std::string& aud = "motorpool-api") {
        return json::serialize(json::object{{"sub", sub},
                                            {"role", "admin"},
                                            {"iss", iss},
                                            {"aud", aud},
                                            {"jti", "x"},
                                            {"iat", clock_->now_ms() / 1000 - 10},
                                            {"exp", exp}});
    }
    static std::string problem_detail(const http::ClientResponse& r) {
        return std::string(r.json().at("detail").as_string());
    }

    std::shared_ptr<std::ostringstream> log_;
    std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
    std::vector<std::string> secrets_;
    // Every module's time: expiries and lockouts are crossed by moving it, to the millisecond.
    std::shared_ptr<core::ManualClock> clock_ = std::make_shared<core::ManualClock>(core::now_ms());
    std::unique_ptr<TestApp> app_;
};

TEST_F(AuthTest, RegisterReturnsTokensAndTheUser) {
    auto s = register_user("  Ada@Example.COM ");
    EXPECT_EQ(s.at("token_type").as_string(), "Bearer");
    EXPECT_EQ(s.at("expires_in").as_int64(), 900);
    const auto& user = s.at("user").as_object();
    EXPECT_EQ(user.at("email").as_string(), "ada@example.com");
    EXPECT_EQ(user.at("role").as_string(), "member");
    EXPECT_EQ(user.at("name").as_string(), "Ada Lovelace");
    EXPECT_TRUE(
        std::regex_match(std::string(user.at("referral_code").as_string()), std::regex("REF-[2-9A-HJ-NP-Z]{6}")));
    EXPECT_TRUE(user.at("membership").is_null());
    EXPECT_EQ(user.at("rewards_balance").as_double(), 0.0);
    EXPECT_FALSE(user.contains("password_hash"));
    auto me = app_->client().get("/api/v1/me", bearer(s));
    EXPECT_EQ(me.status, 200);
    EXPECT_EQ(me.json().at("id").as_string(), user.at("id").as_string());
}

TEST_F(AuthTest, DuplicateEmailInAnyCaseIs409) {
    register_user("grace@example.com");
    auto r = post("/api/v1/auth/register",
                  json::object{{"name", "G"}, {"email", "GRACE@example.com"}, {"password", "another password"}});
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(r.json().at("type"), json::value("urn:motorpool:problem:email_taken"));
}

TEST_F(AuthTest, InvalidFieldsAre422NamingEachField) {
    auto r = post(
        "/api/v1/auth/register",
        json::object{
            {"name", ""}, {"email", "not-an-email"}, {"password", "short"}, {"phone", "call me"}, {"unexpected", 1}});
    EXPECT_EQ(r.status, 422);
    std::vector<std::string> fields;
    auto problem = r.json();
    for (const auto& e : problem.at("errors").as_array()) {
        fields.emplace_back(e.at("field").as_string());
    }
    EXPECT_EQ(fields, (std::vector<std::string>{"name", "password", "phone", "email", "unexpected"}));
    auto same = post("/api/v1/auth/register",
                     json::object{{"name", "X"}, {"email", "x@example.com"}, {"password", "X@Example.com"}});
    EXPECT_EQ(same.status, 422);
    auto long_password =
        post("/api/v1/auth/register",
             json::object{{"name", "X"}, {"email", "x@example.com"}, {"password", std::string(257, 'p')}});
    EXPECT_EQ(long_password.status, 422);
    auto unknown_referral = post(
        "/api/v1/auth/register",
        json::object{
            {"name", "X"}, {"email", "x@example.com"}, {"password", "long enough"}, {"referral_code", "REF-NOPE22"}});
    EXPECT_EQ(unknown_referral.status, 422);
    EXPECT_EQ(unknown_referral.json().at("errors").at(0).at("field").as_string(), "referral_code");
}

TEST_F(AuthTest, MalformedJsonAndWrongContentType) {
    auto malformed =
        app_->client().request("POST", "/api/v1/auth/login", "{\"email\":", {{"Content-Type", "application/json"}});
    EXPECT_EQ(malformed.status, 400);
    auto wrong = app_->client().request("POST",
                                        "/api/v1/auth/login",
                                        R"({"email":"a@b.c","password":"x"})",
                                        {{"Content-Type", "application/x-www-form-urlencoded"}});
    EXPECT_EQ(wrong.status, 415);
}

TEST_F(AuthTest, ReferralCodeLinksTheNewUser) {
    auto referrer = register_user("referrer@example.com");
    std::string code(referrer.at("user").at("referral_code").as_string());
    auto r = post("/api/v1/auth/register",
                  json::object{{"name", "Friend"},
                               {"email", "friend@example.com"},
                               {"password", "friend password"},
                               {"referral_code", code}});
    ASSERT_EQ(r.status, 201) << r.body;
    // The link is stored (by the membership module, which owns referrals and codes): a pending
    // referral naming both; and the friend got a code of their own, not the referrer's.
    const std::string referrer_id(referrer.at("user").at("id").as_string());
    const std::string friend_id(r.json().at("user").at("id").as_string());
    auto linked = app_->app().database().with_reader([&](db::Connection& c) {
        return c.query(
            "SELECT r.public_id, x.status FROM referrals x JOIN users f ON f.id = x.referred_id JOIN users r ON r.id "
            "= x.referrer_id WHERE f.public_id = $1",
            {friend_id});
    });
    ASSERT_EQ(linked.size(), 1U);
    EXPECT_EQ(linked.front().text(0), referrer_id);
    EXPECT_EQ(linked.front().text(1), "pending");
    const std::string friends_code(r.json().at("user").at("referral_code").as_string());
    EXPECT_TRUE(std::regex_match(friends_code, std::regex("REF-[2-9A-HJ-NP-Z]{6}")));
    EXPECT_NE(friends_code, code);
    // An unknown code refuses the registration and leaves no account behind.
    auto typo = post("/api/v1/auth/register",
                     json::object{{"name", "Typo"},
                                  {"email", "typo@example.com"},
                                  {"password", "friend password"},
                                  {"referral_code", "REF-2222ZZ"}});
    EXPECT_EQ(typo.status, 422);
    auto typo_rows = app_->app().database().with_reader(
        [&](db::Connection& c) { return c.query("SELECT COUNT(*) FROM users WHERE email = 'typo@example.com'"); });
    EXPECT_EQ(typo_rows.front().int64(0), 0);
}

// Devices: the device_id given at login registers the device, the app fills in its platform and
// push token, a token refresh keeps the device, and removing it signs it out; others see none.
TEST_F(AuthTest, DevicesAreRegisteredAtLoginUpdatedListedAndSignedOutWhenRemoved) {
    register_user("dev@example.com");
    auto login = post(
        "/api/v1/auth/login",
        json::object{{"email", "dev@example.com"}, {"password", "correct horse battery"}, {"device_id", "phone-1"}});
    ASSERT_EQ(login.status, 200);
    const std::string token(login.json().at("access_token").as_string());
    auto list = [&](const std::string& t) { return call(*app_, "GET", "/api/v1/me/devices", t).json().at("items"); };
    auto listed = list(token);
    ASSERT_EQ(listed.as_array().size(), 1U);
    EXPECT_EQ(listed.at(0).at("device_id"), json::value("phone-1"));
    EXPECT_EQ(listed.at(0).at("platform"), json::value("unknown"));

    auto updated =
        call(*app_,
             "POST",
             "/api/v1/me/devices",
             token,
             json::object{
                 {"device_id", "phone-1"}, {"platform", "ios"}, {"push_token", "apns-abc"}, {"app_version", "2.4.1"}});
    EXPECT_EQ(updated.status, 200) << updated.body;
    EXPECT_EQ(updated.json().at("push_token"), json::value("apns-abc"));
    EXPECT_EQ(
        call(*app_, "POST", "/api/v1/devices", token, json::object{{"device_id", "web-1"}, {"platform", "web"}}).status,
        201);
    EXPECT_EQ(
        call(*app_, "POST", "/api/v1/me/devices", token, json::object{{"device_id", "x"}, {"platform", "palm"}}).status,
        422);
    EXPECT_EQ(list(token).as_array().size(), 2U);

    // A refresh keeps the device: removing it then revokes the rotated token too.
    auto refreshed = post("/api/v1/auth/refresh", json::object{{"refresh_token", login.json().at("refresh_token")}});
    ASSERT_EQ(refreshed.status, 200);
    auto bob = register_user("bob-dev@example.com");
    const std::string bob_token(bob.at("access_token").as_string());
    EXPECT_EQ(list(bob_token).as_array().size(), 0U);
    EXPECT_EQ(call(*app_, "DELETE", "/api/v1/me/devices/phone-1", bob_token).status, 404);
    EXPECT_EQ(call(*app_, "DELETE", "/api/v1/me/devices/phone-1", token).status, 204);
    EXPECT_EQ(
        post("/api/v1/auth/refresh", json::object{{"refresh_token", refreshed.json().at("refresh_token")}}).status,
        401);
    EXPECT_EQ(list(token).as_array().size(), 1U);
    EXPECT_EQ(call(*app_, "DELETE", "/api/v1/me/devices/phone-1", token).status, 404);
}

TEST_F(AuthTest, WrongPasswordAndUnknownEmailAnswerTheSame) {
    register_user("alan@example.com", "the right password");
    auto wrong = post("/api/v1/auth/login", json::object{{"email", "alan@example.com"}, {"password", "wrong one!"}});
    auto unknown =
        post("/api/v1/auth/login", json::object{{"email", "nobody@example.com"}, {"password", "wrong one!"}});
    EXPECT_EQ(wrong.status, 401);
    EXPECT_EQ(unknown.status, 401);
    EXPECT_EQ(problem_detail(wrong), "Invalid credentials");
    EXPECT_EQ(problem_detail(unknown), "Invalid credentials");
    auto ok =
        post("/api/v1/auth/login", json::object{{"email", "ALAN@example.com"}, {"password", "the right password"}});
    EXPECT_EQ(ok.status, 200);
    remember(ok.json().as_object());
}

TEST_F(AuthTest, ForgedNoneExpiredAndForeignTokensAre401) {
    auto s = register_user("linus@example.com");
    std::string sub(s.at("user").at("id").as_string());
    std::string good(s.at("access_token").as_string());
    // The server's clock (frozen at the fixture's start), not the wall clock: a slow setup must not
    // make "expired" lie in the server's future.
    const std::int64_t future = clock_->now_ms() / 1000 + 600;
    std::string hs256 = R"({"alg":"HS256","typ":"JWT"})";
    std::vector<std::pair<std::string, std::string>> bad{
        {"tampered signature", good.substr(0, good.size() - 2) + (good.back() == 'A' ? "BB" : "AA")},
        {"alg none", b64(R"({"alg":"none","typ":"JWT"})") + "." + b64(claims(future, sub)) + "."},
        {"other key", sign(hs256, claims(future, sub), "some-other-secret-key-0123456789")},
        {"expired", sign(hs256, claims(clock_->now_ms() / 1000 - 1, sub))},
        {"wrong issuer", sign(hs256, claims(future, sub, "someone-else"))},
        {"wrong audience", sign(hs256, claims(future, sub, "motorpool", "other-api"))},
        {"HS512", b64(R"({"alg":"HS512","typ":"JWT"})") + "." + b64(claims(future, sub)) + ".c2ln"},
        // Our key and a valid signature, but algorithm names are case-sensitive (RFC 7518).
        {"alg hs256", sign(R"({"alg":"hs256","typ":"JWT"})", claims(future, sub))},
        {"alg Hs256", sign(R"({"alg":"Hs256","typ":"JWT"})", claims(future, sub))},
        {"garbage", "not.a.jwt"},
    };
    for (const auto& [what, token] : bad) {
        auto r = app_->client().get("/api/v1/me", {{"Authorization", "Bearer " + token}});
        EXPECT_EQ(r.status, 401) << what;
    }
    // Our own key, every claim right: accepted (the check above is not vacuous).
    auto crafted = sign(hs256, claims(future, sub));
    EXPECT_EQ(app_->client().get("/api/v1/me", {{"Authorization", "Bearer " + crafted}}).status, 200);
    EXPECT_EQ(app_->client().get("/api/v1/me").status, 401);
}

// Formats each line as it is logged, as the server's own sinks do (spdlog's ring buffer formats
// only when read, on the reader's thread), and hands the lines over under its lock.
class LineSink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    std::vector<std::string> last_formatted() {
        std::lock_guard lock(mutex_);
        return lines_;
    }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t formatted;
        formatter_->format(msg, formatted);
        lines_.emplace_back(formatted.data(), formatted.size());
    }
    void flush_() override {}

private:
    std::vector<std::string> lines_;
};

// MOTORPOOL_LOG_FORMAT=json: an access line a log shipper can filter on, field by field.
TEST_F(AuthTest, JsonAccessLinesCarryEachFieldAsItsOwnKey) {
    auto s = register_user("fields@example.com");
    const std::string user_id(s.at("user").at("id").as_string());
    auto ring = std::make_shared<LineSink>();
    core::add_log_sink(ring);
    core::init_logging("trace", "json");
    http::Headers headers = bearer(s);
    headers.emplace_back("X-Request-Id", "rid-json-access");
    EXPECT_EQ(app_->client().get("/api/v1/vehicles/5YJ3E1EA7KF000001", headers).status, 404);
    std::optional<json::object> line;
    for (int i = 0; i < 100 && !line; ++i) {
        for (const auto& text : ring->last_formatted()) {
            boost::system::error_code ec;
            json::value v = json::parse(text, ec);
            if (!ec && v.is_object() && v.as_object().contains("request_id") &&
                v.at("request_id") == json::value("rid-json-access") && v.at("msg") == json::value("request")) {
                line = v.as_object();
            }
        }
        if (!line) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));  // written after the answer
        }
    }
    const auto seen = ring->last_formatted();
    core::init_logging("trace", "text");
    core::remove_log_sink(ring);
    ASSERT_TRUE(line) << (seen.empty() ? std::string("(nothing logged)") : seen.back());
    EXPECT_EQ(line->at("status"), json::value(404));
    EXPECT_EQ(line->at("method"), json::value("GET"));
    EXPECT_EQ(line->at("path"), json::value("/api/v1/vehicles/5YJ3E1EA7KF000001"));
    EXPECT_EQ(line->at("route"), json::value("/api/v1/vehicles/{id}"));
    EXPECT_EQ(line->at("user_id"), json::value(user_id));
    EXPECT_EQ(line->at("remote"), json::value("127.0.0.1"));
    EXPECT_TRUE(line->at("duration_ms").is_double());
    EXPECT_TRUE(line->at("bytes").is_int64());
}

TEST_F(AuthTest, AnAcceptedTokenIsRefusedOnceItExpires) {
    // Verified tokens are cached by their text; the cache must still honour expiry.
    auto s = register_user("ephemeral@example.com");
    std::string sub(s.at("user").at("id").as_string());
    const std::int64_t exp = clock_->now_ms() / 1000 + 2;
    auto token = sign(R"({"alg":"HS256","typ":"JWT"})", claims(exp, sub));
    EXPECT_EQ(app_->client().get("/api/v1/me", {{"Authorization", "Bearer " + token}}).status, 200);
    clock_->set_ms(exp * 1000 - 1);
    EXPECT_EQ(app_->client().get("/api/v1/me", {{"Authorization", "Bearer " + token}}).status, 200);  // cached
    clock_->set_ms(exp * 1000);
    EXPECT_EQ(app_->client().get("/api/v1/me", {{"Authorization", "Bearer " + token}}).status, 401);
    // A tampered copy of a cached token is not the cached token.
    std::string good(s.at("access_token").as_string());
    EXPECT_EQ(app_->client().get("/api/v1/me", {{"Authorization", "Bearer " + good}}).status, 200);
    std::string tampered = good.substr(0, good.size() - 1) + (good.back() == 'A' ? "B" : "A");
    EXPECT_EQ(app_->client().get("/api/v1/me", {{"Authorization", "Bearer " + tampered}}).status, 401);
}

TEST_F(AuthTest, RefreshRotatesAndReuseRevokesTheFamily) {
    auto s = register_user("rotate@example.com");
    std::string first(s.at("refresh_token").as_string());
    auto r1 = post("/api/v1/auth/refresh", json::object{{"refresh_token", first}});
    ASSERT_EQ(r1.status, 200);
    remember(r1.json().as_object());
    std::string second(r1.json().at("refresh_token").as_string());
    EXPECT_NE(second, first);
    EXPECT_EQ(app_->client().get("/api/v1/me", bearer(r1.json().as_object())).status, 200);
    // Replaying the rotated token: refused, and the whole family with it (the thief's and the owner's).
    EXPECT_EQ(post("/api/v1/auth/refresh", json::object{{"refresh_token", first}}).status, 401);
    EXPECT_EQ(post("/api/v1/auth/refresh", json::object{{"refresh_token", second}}).status, 401);
    EXPECT_EQ(post("/api/v1/auth/refresh", json::object{{"refresh_token", "made-up"}}).status, 401);
}

TEST_F(AuthTest, LogoutRevokesTheFamily) {
    auto s = register_user("bye@example.com");
    std::string token(s.at("refresh_token").as_string());
    EXPECT_EQ(post("/api/v1/auth/logout", json::object{{"refresh_token", token}}).status, 204);
    EXPECT_EQ(post("/api/v1/auth/refresh", json::object{{"refresh_token", token}}).status, 401);
    EXPECT_EQ(post("/api/v1/auth/logout", json::object{{"refresh_token", token}}).status, 204);  // idempotent
}

TEST_F(AuthTest, PatchMeChangesNameAndPhoneButNeverRoleOrEmail) {
    auto s = register_user("patch@example.com");
    auto r = app_->client().request(
        "PATCH",
        "/api/v1/me",
        json::serialize(json::object{
            {"name", "New Name"}, {"phone", "+44 20 7946 0000"}, {"role", "admin"}, {"email", "other@example.com"}}),
        {{"Content-Type", "application/json"}, bearer(s)[0]});
    ASSERT_EQ(r.status, 200) << r.body;
    auto user = r.json().as_object();
    EXPECT_EQ(user.at("name").as_string(), "New Name");
    EXPECT_EQ(user.at("phone").as_string(), "+44 20 7946 0000");
    EXPECT_EQ(user.at("role").as_string(), "member");
    EXPECT_EQ(user.at("email").as_string(), "patch@example.com");
    auto cleared = app_->client().request(
        "PATCH", "/api/v1/me", R"({"phone":null})", {{"Content-Type", "application/json"}, bearer(s)[0]});
    EXPECT_TRUE(cleared.json().at("phone").is_null());
    auto bad = app_->client().request(
        "PATCH", "/api/v1/me", R"({"name":""})", {{"Content-Type", "application/json"}, bearer(s)[0]});
    EXPECT_EQ(bad.status, 422);
    // One text rule for every free-text field: no control characters (a NUL above all).
    for (const char* body : {R"({"name":"a\u0000b"})",
                             R"({"name":"line\nbreak"})",
                             R"({"name":"bell\u0007"})",
                             R"({"name":"nel\u0085"})"}) {
        auto control =
            app_->client().request("PATCH", "/api/v1/me", body, {{"Content-Type", "application/json"}, bearer(s)[0]});
        EXPECT_EQ(control.status, 422) << body;
        EXPECT_EQ(control.json().at("errors").at(0).at("message"), json::value("must not contain control characters"));
    }
    EXPECT_EQ(app_->client().get("/api/v1/me", bearer(s)).json().at("name"), json::value("New Name"));
    // Registering with a role is ignored too.
    auto sneaky =
        post("/api/v1/auth/register",
             json::object{
                 {"name", "S"}, {"email", "sneaky@example.com"}, {"password", "sneaky password"}, {"role", "admin"}});
    EXPECT_EQ(sneaky.status, 201);
    EXPECT_EQ(sneaky.json().at("user").at("role").as_string(), "member");
    remember(sneaky.json().as_object());
}

TEST_F(AuthTest, AdminManagesUsersMembersMayNot) {
    auto member = register_user("member@example.com");
    auth::create_user(app_->app().auth(),
                      {"Root", "root@example.com", "admin password", std::nullopt, auth::Role::Admin});
    secrets_.emplace_back("admin password");
    auto admin_login =
        post("/api/v1/auth/login", json::object{{"email", "root@example.com"}, {"password", "admin password"}});
    ASSERT_EQ(admin_login.status, 200);
    auto admin = admin_login.json().as_object();
    remember(admin);

    EXPECT_EQ(app_->client().get("/api/v1/users", bearer(member)).status, 403);
    auto list = app_->client().get("/api/v1/users?page=1&page_size=1", bearer(admin));
    ASSERT_EQ(list.status, 200);
    EXPECT_EQ(list.json().at("total").as_int64(), 2);
    EXPECT_EQ(list.json().at("total_pages").as_int64(), 2);
    EXPECT_EQ(list.json().at("items").as_array().size(), 1U);
    auto search = app_->client().get("/api/v1/users?q=MEMBER%40", bearer(admin));
    EXPECT_EQ(search.json().at("total").as_int64(), 1);
    EXPECT_EQ(app_->client().get("/api/v1/users?page=0", bearer(admin)).status, 422);
    EXPECT_EQ(app_->client().get("/api/v1/users?page_size=101", bearer(admin)).status, 422);

    std::string member_id(member.at("user").at("id").as_string());
    auto promote = app_->client().request("PATCH",
                                          "/api/v1/users/" + member_id,
                                          R"({"role":"fleet_manager"})",
                                          {{"Content-Type", "application/json"}, bearer(admin)[0]});
    EXPECT_EQ(promote.status, 200);
    EXPECT_EQ(promote.json().at("role").as_string(), "fleet_manager");
    auto bad_role = app_->client().request("PATCH",
                                           "/api/v1/users/" + member_id,
                                           R"({"role":"emperor"})",
                                           {{"Content-Type", "application/json"}, bearer(admin)[0]});
    EXPECT_EQ(bad_role.status, 422);
    EXPECT_EQ(app_->client()
                  .request("PATCH",
                           "/api/v1/users/00000000-0000-7000-8000-000000000000",
                           R"({"active":false})",
                           {{"Content-Type", "application/json"}, bearer(admin)[0]})
                  .status,
              404);

    // Deactivation: the user's access token stops working at once, and so does the refresh token.
    auto deactivate = app_->client().request("PATCH",
                                             "/api/v1/users/" + member_id,
                                             R"({"active":false})",
                                             {{"Content-Type", "application/json"}, bearer(admin)[0]});
    EXPECT_EQ(deactivate.status, 200);
    EXPECT_EQ(app_->client().get("/api/v1/me", bearer(member)).status, 401);
    EXPECT_EQ(post("/api/v1/auth/refresh", json::object{{"refresh_token", member.at("refresh_token")}}).status, 401);
    EXPECT_EQ(
        post("/api/v1/auth/login", json::object{{"email", "member@example.com"}, {"password", "correct horse battery"}})
            .status,
        401);
}

TEST_F(AuthTest, RepeatedFailuresAreThrottledWith429) {
    register_user("target@example.com", "real password 1");
    int status = 0;
    for (int i = 0; i < 8 && status != 429; ++i) {
        status =
            post("/api/v1/auth/login", json::object{{"email", "target@example.com"}, {"password", "guess"}}).status;
    }
    EXPECT_EQ(status, 429);
    auto r = post("/api/v1/auth/login", json::object{{"email", "target@example.com"}, {"password", "real password 1"}});
    EXPECT_EQ(r.status, 429);  // locked even for the right password until Retry-After passes
    ASSERT_TRUE(r.header("Retry-After"));
    const int retry_after = std::stoi(*r.header("Retry-After"));
    EXPECT_GE(retry_after, 1);
    clock_->advance_ms(retry_after * 1000LL - 1);
    auto still =
        post("/api/v1/auth/login", json::object{{"email", "target@example.com"}, {"password", "real password 1"}});
    EXPECT_EQ(still.status, 429);
    EXPECT_EQ(still.header("Retry-After"), "1");  // a millisecond left, rounded up
    clock_->advance_ms(1);  // Retry-After has passed: the right password signs in, and clears the count
    auto in =
        post("/api/v1/auth/login", json::object{{"email", "target@example.com"}, {"password", "real password 1"}});
    EXPECT_EQ(in.status, 200) << in.body;
    remember(in.json().as_object());
    EXPECT_EQ(post("/api/v1/auth/login", json::object{{"email", "target@example.com"}, {"password", "guess"}}).status,
              401);
}

TEST_F(AuthTest, MagicLinkIsSingleUse) {
    register_user("magic@example.com");
    auto accepted = post("/api/v1/auth/magic-link", json::object{{"email", "Magic@Example.com"}});
    EXPECT_EQ(accepted.status, 202);
    EXPECT_EQ(post("/api/v1/auth/magic-link", json::object{{"email", "ghost@example.com"}}).status, 202);
    // The mail sits in the outbox; take the link from there as the mailer would send it.
    auto body = app_->app().database().with_reader([](db::Connection& c) {
        return c.query("SELECT body FROM mail_outbox WHERE recipient = 'magic@example.com'").front().text(0);
    });
    EXPECT_EQ(app_->app().database().with_reader(
                  [](db::Connection& c) { return c.query("SELECT COUNT(*) FROM mail_outbox").front().int64(0); }),
              1);  // nothing for the unknown address
    std::smatch m;
    ASSERT_TRUE(std::regex_search(body, m, std::regex("token=([A-Za-z0-9_-]+)")));
    std::string token = m[1];
    secrets_.push_back(token);
    auto verified = post("/api/v1/auth/magic-link/verify", json::object{{"token", token}});
    ASSERT_EQ(verified.status, 200);
    remember(verified.json().as_object());
    EXPECT_EQ(verified.json().at("user").at("email").as_string(), "magic@example.com");
    EXPECT_EQ(post("/api/v1/auth/magic-link/verify", json::object{{"token", token}}).status, 401);
}

// Links live 15 minutes: one used a millisecond before works, one used at the 15th minute does not.
TEST_F(AuthTest, MagicLinksExpireAfterFifteenMinutes) {
    register_user("late@example.com");
    auto link = [&] {
        EXPECT_EQ(post("/api/v1/auth/magic-link", json::object{{"email", "late@example.com"}}).status, 202);
        auto body = app_->app().database().with_reader([](db::Connection& c) {
            return c.query("SELECT body FROM mail_outbox ORDER BY id DESC LIMIT 1").front().text(0);
        });
        std::smatch m;
        EXPECT_TRUE(std::regex_search(body, m, std::regex("token=([A-Za-z0-9_-]+)")));
        secrets_.push_back(m[1]);
        return std::string(m[1]);
    };
    const std::string in_time = link();
    clock_->advance_ms(15 * 60'000 - 1);
    auto used = post("/api/v1/auth/magic-link/verify", json::object{{"token", in_time}});
    ASSERT_EQ(used.status, 200) << used.body;
    remember(used.json().as_object());
    const std::string too_late = link();
    clock_->advance_ms(15 * 60'000);
    auto refused = post("/api/v1/auth/magic-link/verify", json::object{{"token", too_late}});
    EXPECT_EQ(refused.status, 401);
    EXPECT_EQ(refused.header("Content-Type"), "application/problem+json");
}

TEST_F(AuthTest, MagicLinkRequestsAreThrottled) {
    int status = 0;
    for (int i = 0; i < 6 && status != 429; ++i) {
        status = post("/api/v1/auth/magic-link", json::object{{"email", "flood@example.com"}}).status;
    }
    EXPECT_EQ(status, 429);
    EXPECT_EQ(post("/api/v1/auth/magic-link", json::object{{"email", "not an email"}}).status, 202);
    EXPECT_EQ(post("/api/v1/auth/magic-link", json::object{{"mail", "typo@example.com"}}).status, 422);
}

}  // namespace
}  // namespace motorpool::testing

namespace motorpool::testing {
namespace {

// A one-connection SMTP server speaking just enough RFC 5321 for a client to deliver one message.
class FakeSmtpServer {
public:
    FakeSmtpServer() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
        thread_ = std::thread([this] { serve(); });
    }
    ~FakeSmtpServer() {
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        thread_.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    std::future<std::string> message() { return received_.get_future(); }

private:
    void serve() {
        std::string data;
        try {
            boost::asio::ip::tcp::socket socket(io_);
            acceptor_.accept(socket);
            boost::asio::streambuf buffer;
            auto say = [&](const std::string& line) { boost::asio::write(socket, boost::asio::buffer(line + "\r\n")); };
            say("220 fake.smtp ESMTP");
            bool in_data = false;
            while (true) {
                boost::asio::read_until(socket, buffer, "\r\n");
                std::istream in(&buffer);
                std::string line;
                std::getline(in, line);
                if (!line.empty() && line.back() == '\r') {
                    line.pop_back();
                }
                if (in_data) {
                    if (line == ".") {
                        in_data = false;
                        say("250 queued");
                    } else {
                        data += line + "\n";
                    }
                } else if (line.rfind("EHLO", 0) == 0 || line.rfind("HELO", 0) == 0) {
                    say("250 fake.smtp");
                } else if (line == "DATA") {
                    in_data = true;
                    say("354 go ahead");
                } else if (line == "QUIT") {
                    say("221 bye");
                    break;
                } else {
                    say("250 ok");  // MAIL FROM, RCPT TO
                }
            }
        } catch (const std::exception&) {
        }
        received_.set_value(data);
    }

    boost::asio::io_context io_;
    boost::asio::ip::tcp::acceptor acceptor_;
    std::promise<std::string> received_;
    std::thread thread_;
};

TEST(MailerTest, MagicLinkIsDeliveredBySmtp) {
    FakeSmtpServer smtp;
    auto delivered = smtp.message();
    TestApp app(Overrides{{"MOTORPOOL_SMTP_URL", "smtp://127.0.0.1:" + std::to_string(smtp.port())},
                          {"MOTORPOOL_MAIL_FROM", "noreply@motorpool.test"},
                          {"FRONTEND_URL", "https://app.motorpool.test"}});
    auth::create_user(app.app().auth(),
                      {"Mail", "mail@example.com", "mail password", std::nullopt, auth::Role::Member});
    auto r = app.client().post_json("/api/v1/auth/magic-link", json::object{{"email", "mail@example.com"}});
    EXPECT_EQ(r.status, 202);
    ASSERT_EQ(delivered.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    std::string message = delivered.get();
    EXPECT_NE(message.find("To: <mail@example.com>"), std::string::npos) << message;
    EXPECT_NE(message.find("From: <noreply@motorpool.test>"), std::string::npos);
    EXPECT_NE(message.find("Subject: Your motorpool sign-in link"), std::string::npos);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(
        message, m, std::regex("https://app\\.motorpool\\.test/auth/magic-link\\?token=([A-Za-z0-9_-]+)")));
    auto verified =
        app.client().post_json("/api/v1/auth/magic-link/verify", json::object{{"token", std::string(m[1])}});
    EXPECT_EQ(verified.status, 200);
    // The outbox row is marked sent, so no other round or node sends it again. The fake server had
    // the message before the mailer heard back, so wait for the mark, not for time.
    auto marked = [&] {
        return app.app().database().with_reader([](db::Connection& c) {
            return c.query("SELECT COUNT(*) FROM mail_outbox WHERE sent_at_ms IS NOT NULL").front().int64(0);
        });
    };
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (marked() == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(marked(), 1);
}

// A message with an attachment goes out as multipart/mixed: the text, then the file base64-encoded
// with its name and type.
TEST(MailerTest, AttachmentsAreSentAsMultipartMixed) {
    FakeSmtpServer smtp;
    auto delivered = smtp.message();
    TestApp app(Overrides{{"MOTORPOOL_SMTP_URL", "smtp://127.0.0.1:" + std::to_string(smtp.port())},
                          {"MOTORPOOL_MAIL_FROM", "noreply@motorpool.test"}});
    const std::string calendar = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n";
    app.app().database().with_transaction([&](db::Connection& c) {
        mail::enqueue(c,
                      "member@example.com",
                      "Reminder",
                      "See you tomorrow.\n",
                      core::now_ms(),
                      {{"appointment.ics", "text/calendar; charset=utf-8; method=PUBLISH", calendar}});
    });
    app.app().mailer().notify();
    ASSERT_EQ(delivered.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    const std::string message = delivered.get();
    EXPECT_NE(message.find("Subject: Reminder"), std::string::npos) << message;
    EXPECT_NE(message.find("Content-Type: multipart/mixed"), std::string::npos) << message;
    EXPECT_NE(message.find("See you tomorrow."), std::string::npos) << message;
    EXPECT_NE(message.find("Content-Type: text/calendar; charset=utf-8; method=PUBLISH"), std::string::npos);
    EXPECT_NE(message.find("filename=\"appointment.ics\""), std::string::npos) << message;
    EXPECT_NE(message.find("Content-Transfer-Encoding: base64"), std::string::npos);
    EXPECT_NE(message.find(core::base64_encode(calendar).substr(0, 40)), std::string::npos) << message;
}

}  // namespace
}  // namespace motorpool::testing
