#include "web/module.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <spdlog/spdlog.h>

#include "core/errors.hpp"

namespace motorpool::web {

namespace fs = std::filesystem;
namespace net = boost::asio;
using http::Request;
using http::Response;

namespace {

// The pages' policy: everything from this origin only, no inline script, no framing. Styles may
// be inline (uPlot and Swagger UI set style attributes); the WebSocket is this origin's.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'";

std::string content_type_of(const fs::path& path) {
    static const std::map<std::string, std::string> kTypes{
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".webp", "image/webp"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".webmanifest", "application/manifest+json"},
    };
    auto it = kTypes.find(path.extension().string());
    return it != kTypes.end() ? it->second : "application/octet-stream";
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

bool accepts(const Request& req, std::string_view coding) {
    auto header = req.header("Accept-Encoding");
    if (!header) {
        return false;
    }
    // "br;q=0" refuses it; anything else naming it accepts (q-values above 0 are not ranked).
    std::string_view h = *header;
    for (std::size_t start = 0; start < h.size();) {
        auto comma = h.find(',', start);
        std::string_view item = h.substr(start, comma == std::string_view::npos ? h.size() - start : comma - start);
        while (!item.empty() && item.front() == ' ') {
            item.remove_prefix(1);
        }
        const auto semi = item.find(';');
        std::string_view name = item.substr(0, semi);
        while (!name.empty() && name.back() == ' ') {
            name.remove_suffix(1);
        }
        if (name == coding) {
            return semi == std::string_view::npos || item.find("q=0", semi) == std::string_view::npos ||
                   item.find("q=0.", semi) != std::string_view::npos;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        start = comma + 1;
    }
    return false;
}

}  // namespace

/// One built file and its precompressed forms, held in memory (a dashboard build is small).
struct Asset {
    std::string content_type;
    std::string body;
    std::string gzip;        // empty: no .gz beside it
    std::string brotli;      // empty: no .br beside it
    bool immutable = false;  // under assets/: its name carries its content hash
};

class Assets {
public:
    /// Loads every file under `root` (symbolic links not followed out of it).
    explicit Assets(const fs::path& root) {
        std::error_code ec;
        if (!fs::is_regular_file(root / "index.html", ec)) {
            return;
        }
        for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
             it.increment(ec)) {
            if (!it->is_regular_file(ec) || it->is_symlink(ec)) {
                continue;
            }
            const fs::path& path = it->path();
            const std::string ext = path.extension().string();
            if (ext == ".gz" || ext == ".br") {
                continue;  // read with the file they compress
            }
            Asset asset;
            asset.content_type = content_type_of(path);
            asset.body = read_file(path);
            fs::path gz = path;
            gz += ".gz";
            fs::path br = path;
            br += ".br";
            if (fs::is_regular_file(gz, ec)) {
                asset.gzip = read_file(gz);
            }
            if (fs::is_regular_file(br, ec)) {
                asset.brotli = read_file(br);
            }
            const std::string relative = fs::relative(path, root, ec).generic_string();
            asset.immutable = relative.rfind("assets/", 0) == 0;
            bytes_ += asset.body.size();
            files_.emplace("/" + relative, std::move(asset));
        }
    }

    bool built() const { return files_.contains("/index.html"); }
    std::size_t count() const { return files_.size(); }
    std::size_t bytes() const { return bytes_; }

    /// The answer for `path`: the file, or index.html for a browser's page path; nullopt: 404.
    std::optional<Response> answer(const Request& req) const {
        std::string path = req.path;
        if (path.size() > 1 && path.back() == '/') {
            path.pop_back();
        }
        if (path == "/api/docs" || path == "/docs") {
            path = "/docs.html";  // Swagger UI over /api/openapi.json
        }
        auto it = files_.find(path == "/" ? "/index.html" : path);
        if (it == files_.end()) {
            // The app's own paths (/vehicles/123): a browser asking for a page, not an API call
            // or a missing asset.
            const bool page = req.header("Accept").value_or("").find("text/html") != std::string_view::npos;
            const bool api = req.path.rfind("/api/", 0) == 0;
            const bool file = req.path.substr(req.path.rfind('/') + 1).find('.') != std::string::npos;
            if (!page || api || file) {
                return std::nullopt;
            }
            it = files_.find("/index.html");
        }
        const Asset& a = it->second;
        Response r;
        r.content_type = a.content_type;
        if (!a.brotli.empty() && accepts(req, "br")) {
            r.body = a.brotli;
            r.header("Content-Encoding", "br");
        } else if (!a.gzip.empty() && accepts(req, "gzip")) {
            r.body = a.gzip;
            r.header("Content-Encoding", "gzip");
        } else {
            r.body = a.body;
        }
        if (!a.brotli.empty() || !a.gzip.empty()) {
            r.header("Vary", "Accept-Encoding");
        }
        r.header("Cache-Control", a.immutable ? "public, max-age=31536000, immutable" : "no-cache");
        r.header("X-Content-Type-Options", "nosniff");
        if (a.content_type.rfind("text/html", 0) == 0) {
            r.header("Content-Security-Policy", kContentSecurityPolicy);
            r.header("Referrer-Policy", "no-referrer");
        }
        return r;
    }

private:
    std::map<std::string, Asset> files_;
    std::size_t bytes_ = 0;
};

void Module::configure(core::Settings& s) {
    s.module("web");
    directory_ = s.string("MOTORPOOL_WEB_DIR",
                          MOTORPOOL_DEFAULT_WEB_DIR,
                          "The built dashboard (web/dist, made by `make web`): served at /");
}

void Module::install(platform::Context& context) {
    assets_ = std::make_shared<const Assets>(fs::path(directory_));
    if (assets_->built()) {
        spdlog::info(
            "web: the dashboard from {} ({} files, {} KiB)", directory_, assets_->count(), assets_->bytes() / 1024);
    } else {
        spdlog::warn("web: no dashboard build in {}: run `make web` to build it (the API works without it)",
                     directory_);
    }
    auto assets = assets_;
    context.router.set_fallback([assets](Request req) -> net::awaitable<Response> {
        if (!assets->built()) {
            if (req.path == "/" || req.path == "/index.html") {
                Response r = Response::text(
                    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>motorpool</title></head>"
                    "<body><h1>motorpool is running</h1><p>The web dashboard is not built. Run <code>make web</code> "
                    "(or <code>make build</code>) and restart. The API is at <a href=\"/api/openapi.json\">"
                    "/api/openapi.json</a>.</p></body></html>",
                    "text/html; charset=utf-8");
                r.header("Cache-Control", "no-cache");
                r.header("Content-Security-Policy", kContentSecurityPolicy);
                co_return r;
            }
            throw core::ApiError(404, "Not Found", "No resource at " + req.path);
        }
        auto answer = assets->answer(req);
        if (!answer) {
            throw core::ApiError(404, "Not Found", "No resource at " + req.path);
        }
        co_return std::move(*answer);
    });
}

}  // namespace motorpool::web
