#pragma once
// Integration harness: the whole app in-process on 127.0.0.1:<ephemeral> against a fresh database
// of the backend chosen by MOTORPOOL_TEST_BACKEND, plus raw-socket helpers for hostile clients.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "app/app.hpp"
#include "http/client.hpp"
#include "test_database.hpp"

namespace motorpool::testing {

using Overrides = std::map<std::string, std::string>;

/// The SECRET_KEY every TestApp signs its access tokens with.
inline constexpr const char* kTestSecretKey = "integration-test-secret-key-0123456789abcdef";

class TestApp {
public:
    /// `overrides` are extra configuration variables (e.g. MOTORPOOL_READ_TIMEOUT=300ms).
    /// `before_start` may add test-only routes. `clock` (a core::ManualClock) is every module's time.
    explicit TestApp(std::map<std::string, std::string> overrides = {},
                     std::function<void(app::App&)> before_start = {},
                     std::shared_ptr<core::Clock> clock = nullptr);
    ~TestApp();

    app::App& app() { return *app_; }
    std::uint16_t port() const { return app_->port(); }
    http::Client& client() { return *client_; }
    std::unique_ptr<http::Client> new_client() const;
    TestDatabase& database() { return *database_; }

    /// Where this app stores uploaded files (MOTORPOOL_FILES_DIR).
    const std::string& files_dir() const { return files_dir_; }

private:
    std::string files_dir_;
    std::unique_ptr<TestDatabase> database_;
    std::unique_ptr<app::App> app_;
    std::unique_ptr<http::Client> client_;
};

/// A user signed in through the API: their access token and public id.
struct ApiUser {
    std::string token;
    std::string id;
};
/// Registers a member through POST /api/v1/auth/register.
ApiUser register_member(TestApp& app, const std::string& email);
/// Creates a user with `role` directly, then signs in through POST /api/v1/auth/login.
ApiUser create_user_and_login(TestApp& app, const std::string& email, auth::Role role);
/// A valid VIN (check digit computed; model year 2021, position 7 alphabetic) for a WMI and serial.
std::string test_vin(int serial, const std::string& wmi = "5YJ");

/// One request with a bearer token and, when given, a JSON body.
http::ClientResponse call(TestApp& app,
                          const std::string& method,
                          const std::string& path,
                          const std::string& token,
                          const std::optional<boost::json::value>& body = std::nullopt);

/// "http://127.0.0.1:1234/a?b" -> "/a?b"
std::string target_of(const std::string& url);
/// A query parameter of a URL, as written (not decoded); "" when absent.
std::string query_value(const std::string& url, const std::string& name);
/// Connects the user's (new) simulated Smartcar account: the Connect URL (with `query` such as
/// "?vin=..."), the simulator's approval, and our callback's answer.
http::ClientResponse connect_smartcar(TestApp& app, const std::string& token, const std::string& query = "");

/// A plain TCP connection for sending arbitrary bytes and reading raw answers.
class RawConnection {
public:
    explicit RawConnection(std::uint16_t port);
    void send(std::string_view bytes);
    /// Reads one HTTP response (nullopt if the connection closed or timed out first).
    std::optional<boost::beast::http::response<boost::beast::http::string_body>> read_response(
        std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// True when the server closes the connection within `timeout` (data sent before is discarded).
    bool closed_by_server(std::chrono::milliseconds timeout);
    void close();

private:
    boost::asio::io_context io_;
    boost::asio::ip::tcp::socket socket_;
    boost::beast::flat_buffer buffer_;
};

}  // namespace motorpool::testing
