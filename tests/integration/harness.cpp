#include "harness.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>

#include <boost/json.hpp>
#include <sys/socket.h>
#include <sys/time.h>

#include "core/config.hpp"
#include "core/worker_pool.hpp"
#include "db/db.hpp"
#include "vehicles/vin.hpp"

namespace motorpool::testing {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

// One JSON line per answer a route produced, for tests/e2e/openapi_responses.mjs, which checks
// each against the OpenAPI document (every suite that runs with MOTORPOOL_RESPONSE_LOG set).
void record_response(const std::string& path, const http::ResponseSeen& r) {
    if (r.route.empty() || r.method == http::Method::Head || r.method == http::Method::Options) {
        return;
    }
    static std::mutex mutex;
    const std::string line = boost::json::serialize(boost::json::object{{"method", http::method_name(r.method)},
                                                                        {"route", r.route},
                                                                        {"status", r.status},
                                                                        {"content_type", r.content_type},
                                                                        {"body", r.body}});
    std::lock_guard lock(mutex);
    std::ofstream out(path, std::ios::app);
    out << line << '\n';
}

// Every migration of the server, applied once per test process to the template each test's
// database is copied from (the server then finds nothing to apply).
void migrate_template(const db::Options& options) {
    core::WorkerPool workers(1, 16);
    auto database = db::Database::open(options, workers, nullptr);
    db::migrate(*database, app::migrations(database->dialect()));
    database->close();
}

}  // namespace

TestApp::TestApp(std::map<std::string, std::string> overrides,
                 std::function<void(app::App&)> before_start,
                 std::shared_ptr<core::Clock> clock)
    : database_(std::make_unique<TestDatabase>(migrate_template)) {
    // Uploaded files go to a directory of this app's own, removed with it.
    std::string dir_template = (std::filesystem::temp_directory_path() / "motorpool-files-XXXXXX").string();
    if (::mkdtemp(dir_template.data()) == nullptr) {
        throw std::runtime_error("cannot create a directory for uploaded files");
    }
    files_dir_ = dir_template;
    std::map<std::string, std::string> values{
        {"MOTORPOOL_FILES_DIR", files_dir_},
        {"DATABASE_URL", database_->url()},
        {"MOTORPOOL_HOST", "127.0.0.1"},
        {"PORT", "0"},
        {"MOTORPOOL_ENV", "test"},
        {"MOTORPOOL_IO_THREADS", "2"},
        {"MOTORPOOL_WORKER_THREADS", "4"},
        {"MOTORPOOL_DB_POOL_SIZE", "4"},
        {"MOTORPOOL_SHUTDOWN_GRACE", "5s"},
        {"MOTORPOOL_PG_PREPARED_STATEMENTS", database_->prepared_statements() ? "true" : "false"},
        {"SECRET_KEY", kTestSecretKey},
        {"MOTORPOOL_ENCRYPTION_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
        {"SMARTCAR_CLIENT_ID", "sim-client-id"},
        {"SMARTCAR_CLIENT_SECRET", "sim-client-secret"},
        {"SMARTCAR_MANAGEMENT_TOKEN", "sim-management-token"},
        {"SMARTCAR_SIM_WEBHOOK_URL", "off"},  // the emitter's tests turn it on
    };
    for (auto& [key, value] : overrides) {
        values[key] = value;
    }
    // Every secret is given above: no secrets file is written.
    app::Config config = app::Config::load(core::EnvSource::from_map(values), false);
    app_ = std::make_unique<app::App>(std::move(config), std::move(clock));
    if (const char* log = std::getenv("MOTORPOOL_RESPONSE_LOG"); log != nullptr && *log != '\0') {
        app_->set_response_observer(
            [path = std::string(log)](const http::ResponseSeen& r) { record_response(path, r); });
    }
    if (before_start) {
        before_start(*app_);
    }
    app_->start();
    client_ = new_client();
}

namespace {
constexpr const char* kTestPassword = "correct horse battery";
}

std::string test_vin(int serial, const std::string& wmi) {
    char tail[8];
    std::snprintf(tail, sizeof tail, "%06d", serial % 1'000'000);
    std::string vin = wmi + "ABCDE" + "0" + "M" + "A" + tail;
    vin[8] = vehicles::vin_check_digit(vin);
    return vin;
}

ApiUser register_member(TestApp& app, const std::string& email) {
    auto r = app.client().post_json(
        "/api/v1/auth/register",
        boost::json::object{{"name", "Test User"}, {"email", email}, {"password", kTestPassword}});
    if (r.status != 201) {
        throw std::runtime_error("register " + email + ": " + std::to_string(r.status) + " " + r.body);
    }
    auto body = r.json();
    return {std::string(body.at("access_token").as_string()), std::string(body.at("user").at("id").as_string())};
}

ApiUser create_user_and_login(TestApp& app, const std::string& email, auth::Role role) {
    auth::create_user(app.app().auth(), {"Staff", email, kTestPassword, std::nullopt, role});
    auto r = app.client().post_json("/api/v1/auth/login",
                                    boost::json::object{{"email", email}, {"password", kTestPassword}});
    if (r.status != 200) {
        throw std::runtime_error("login " + email + ": " + std::to_string(r.status) + " " + r.body);
    }
    auto body = r.json();
    return {std::string(body.at("access_token").as_string()), std::string(body.at("user").at("id").as_string())};
}

std::string target_of(const std::string& url) {
    auto scheme = url.find("://");
    auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
    return slash == std::string::npos ? "/" : url.substr(slash);
}

std::string query_value(const std::string& url, const std::string& name) {
    auto pos = url.find("?" + name + "=");
    if (pos == std::string::npos) {
        pos = url.find("&" + name + "=");
    }
    if (pos == std::string::npos) {
        return {};
    }
    pos += name.size() + 2;
    auto end = url.find('&', pos);
    return url.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

http::ClientResponse connect_smartcar(TestApp& app, const std::string& token, const std::string& query) {
    auto r = call(app, "GET", "/api/v1/connect/smartcar" + query, token);
    if (r.status != 200) {
        throw std::runtime_error("connect url: " + std::to_string(r.status) + " " + r.body);
    }
    std::string url(r.json().at("url").as_string());
    auto approved = app.client().get(target_of(url) + "&approve=true");
    if (approved.status != 302) {
        throw std::runtime_error("simulator approval: " + std::to_string(approved.status) + " " + approved.body);
    }
    return app.client().get(target_of(approved.header("Location").value_or("")));
}

http::ClientResponse call(TestApp& app,
                          const std::string& method,
                          const std::string& path,
                          const std::string& token,
                          const std::optional<boost::json::value>& body) {
    http::Headers headers{{"Authorization", "Bearer " + token}};
    std::string text;
    if (body) {
        headers.emplace_back("Content-Type", "application/json");
        text = boost::json::serialize(*body);
    }
    return app.client().request(method, path, text, headers);
}

TestApp::~TestApp() {
    client_.reset();
    app_->shutdown();
    app_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(files_dir_, ignored);
}

std::unique_ptr<http::Client> TestApp::new_client() const {
    return std::make_unique<http::Client>("127.0.0.1", app_->port(), std::chrono::seconds(20));
}

RawConnection::RawConnection(std::uint16_t port) : socket_(io_) {
    socket_.connect(net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
}

void RawConnection::send(std::string_view bytes) {
    net::write(socket_, net::buffer(bytes.data(), bytes.size()));
}

namespace {
void set_receive_timeout(net::ip::tcp::socket& socket, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}
}  // namespace

std::optional<bhttp::response<bhttp::string_body>> RawConnection::read_response(std::chrono::milliseconds timeout) {
    set_receive_timeout(socket_, timeout);
    bhttp::response_parser<bhttp::string_body> parser;
    boost::system::error_code ec;
    bhttp::read(socket_, buffer_, parser, ec);
    if (ec) {
        return std::nullopt;
    }
    return parser.release();
}

bool RawConnection::closed_by_server(std::chrono::milliseconds timeout) {
    set_receive_timeout(socket_, timeout);
    char scratch[4096];
    while (true) {
        boost::system::error_code ec;
        socket_.read_some(net::buffer(scratch), ec);
        if (ec == net::error::eof || ec == net::error::connection_reset) {
            return true;
        }
        if (ec) {
            return false;  // timed out (EAGAIN) with the connection still open
        }
    }
}

void RawConnection::close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
}

}  // namespace motorpool::testing
