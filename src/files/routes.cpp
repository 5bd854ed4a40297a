// The files routes: presign an upload, the upload itself (a signed PUT streamed into storage),
// metadata with a signed download URL, the download, deletion.

#include "routes.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "auth/auth.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "local_store.hpp"

namespace motorpool::files {

namespace net = boost::asio;
namespace json = boost::json;
using core::ApiError;
using core::FieldReader;
using core::Presence;
using http::Method;
using http::Request;
using http::Response;

namespace {

constexpr const char* kFileColumns =
    "id, public_id, owner_id, purpose, filename, content_type, size_bytes, status, sha256, storage_key, "
    "upload_expires_at_ms, created_at_ms, completed_at_ms";

struct FileRow {
    FileRef ref;
    std::optional<std::string> sha256;
    std::string storage_key;
    std::int64_t upload_expires_at_ms = 0;
    std::int64_t created_at_ms = 0;
    std::optional<std::int64_t> completed_at_ms;
};

FileRow file_from(const db::Row& r) {
    FileRow f;
    f.ref = {r.int64(0), r.text(1), r.int64(2), r.text(3), r.text(4), r.text(5), r.int64(6), r.text(7)};
    f.sha256 = r.opt_text(8);
    f.storage_key = r.text(9);
    f.upload_expires_at_ms = r.int64(10);
    f.created_at_ms = r.int64(11);
    f.completed_at_ms = r.opt_int64(12);
    return f;
}

std::optional<FileRow> find_file(db::Connection& c, const std::string& public_id) {
    auto rows = c.query(std::string("SELECT ") + kFileColumns + " FROM files WHERE public_id = $1", {public_id});
    return rows.empty() ? std::nullopt : std::optional<FileRow>(file_from(rows.row(0)));
}

bool may_read(const auth::Actor& actor, const FileRef& f) {
    if (f.owner_id == actor.user_id) {
        return true;
    }
    // Support and admins see every chat thread, so every attachment in one.
    return f.purpose == "chat_attachment" && (actor.role == auth::Role::Support || actor.role == auth::Role::Admin);
}

/// The URL signature: the method, the file and the expiry under the derived key.
std::string signature(const Services& s, std::string_view method, const std::string& id, std::int64_t expires_s) {
    std::string message;
    message += method;
    message += '\n';
    message += id;
    message += '\n';
    message += std::to_string(expires_s);
    return core::base64url_encode(core::hmac_sha256(s.signing_key, message));
}

std::string signed_url(const Services& s, std::string_view method, const std::string& id, std::int64_t expires_s) {
    return s.public_url + "/api/v1/files/" + id + "/content?expires=" + std::to_string(expires_s) +
           "&signature=" + signature(s, method, id, expires_s);
}

/// Checks a signed URL's expiry and signature (403 either way, without saying which part failed
/// beyond expiry).
void verify_signed(const Services& s, const Request& req, std::string_view method) {
    const std::string id(req.param("id"));
    const auto expires_text = req.query_param("expires");
    const auto given = req.query_param("signature");
    std::int64_t expires = 0;
    if (!expires_text || !given || expires_text->empty() || expires_text->size() > 12 ||
        expires_text->find_first_not_of("0123456789") != std::string::npos) {
        throw ApiError::forbidden("This file URL is not signed");
    }
    expires = std::stoll(*expires_text);
    if (!core::constant_time_equal(*given, signature(s, method, id, expires))) {
        throw ApiError::forbidden("This file URL's signature is not valid");
    }
    if (expires * 1000 < s.clock->now_ms()) {
        throw ApiError::forbidden("This file URL has expired");
    }
}

const Purpose* find_purpose(const Services& s, const std::string& name) {
    auto it = std::find_if(s.purposes.begin(), s.purposes.end(), [&](const Purpose& p) { return p.name == name; });
    return it == s.purposes.end() ? nullptr : &*it;
}

/// A file name safe in a Content-Disposition header: ASCII letters, digits and ._- kept, the rest
/// '_' (the UTF-8 name goes in filename*, percent-encoded).
std::string ascii_name(const std::string& name) {
    std::string out;
    for (unsigned char ch : name) {
        out.push_back(std::isalnum(ch) || ch == '.' || ch == '-' || ch == '_' ? static_cast<char>(ch) : '_');
    }
    return out.empty() ? "file" : out;
}

json::object file_json(const Services& s, const FileRow& f, bool with_download) {
    json::object o{{"id", f.ref.public_id},
                   {"filename", f.ref.filename},
                   {"content_type", f.ref.content_type},
                   {"size_bytes", f.ref.size_bytes},
                   {"purpose", f.ref.purpose},
                   {"status", f.ref.status},
                   {"sha256", f.sha256 ? json::value(*f.sha256) : json::value(nullptr)},
                   {"created_at", core::format_rfc3339(f.created_at_ms)},
                   {"completed_at",
                    f.completed_at_ms ? json::value(core::format_rfc3339(*f.completed_at_ms)) : json::value(nullptr)},
                   {"download_url", nullptr},
                   {"download_expires_at", nullptr}};
    if (with_download && f.ref.status == "ready") {
        const std::int64_t expires = s.clock->now_ms() / 1000 + s.options.download_ttl_s;
        o["download_url"] = signed_url(s, "GET", f.ref.public_id, expires);
        o["download_expires_at"] = core::format_rfc3339(expires * 1000);
    }
    return o;
}

/// The presign rate limit: at most presigns_per_minute per user per minute on this node.
void count_presign(Services& s, std::int64_t user, std::int64_t now) {
    std::lock_guard lock(s.rate_mutex);
    auto& times = s.recent_presigns[user];
    std::erase_if(times, [&](std::int64_t t) { return t <= now - 60'000; });
    if (static_cast<std::int64_t>(times.size()) >= s.options.presigns_per_minute) {
        const std::int64_t wait_ms = times.front() + 60'000 - now;
        throw ApiError::too_many_requests(static_cast<int>(std::max<std::int64_t>(1, (wait_ms + 999) / 1000)));
    }
    times.push_back(now);
    if (s.recent_presigns.size() > 100'000) {  // bounded: drop users with nothing recent
        std::erase_if(s.recent_presigns, [&](const auto& entry) { return entry.second.empty(); });
    }
}

http::RouteOptions signed_route() {
    http::RouteOptions o;
    o.auth = http::Auth::None;  // the signature in the URL is the authority
    return o;
}

}  // namespace

std::optional<FileRef> readable_file(db::Connection& c, const auth::Actor& actor, const std::string& public_id) {
    auto f = find_file(c, public_id);
    if (!f || !may_read(actor, f->ref)) {
        return std::nullopt;
    }
    return f->ref;
}

std::size_t forget_expired_uploads(Services& s) {
    const std::int64_t now = s.clock->now_ms();
    return static_cast<std::size_t>(s.database.with_transaction([&](db::Connection& c) {
        // An upload's bytes are in an unnamed file until it completes: a pending row has none.
        return c.execute("DELETE FROM files WHERE status = 'pending' AND upload_expires_at_ms < $1", {now - 3'600'000});
    }));
}

void install_routes(http::Router& router, const std::shared_ptr<Services>& services) {
    auto svc = services;

    router.add(
        Method::Post,
        "/api/v1/files/presign",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto body = req.json_object();
            FieldReader r(body);
            auto filename = r.string("filename", Presence::Required, 1, 255);
            if (filename && (filename->find('/') != std::string::npos || filename->find('\\') != std::string::npos ||
                             *filename == "." || *filename == "..")) {
                r.fail("filename", "must be a file name, not a path");
            }
            auto content_type = r.string("content_type", Presence::Required, 3, 100);
            auto size = r.integer("size_bytes", Presence::Required, 1, 1LL << 40);
            auto purpose_name = r.string("purpose", Presence::Required, 1, 40);
            const Purpose* purpose = nullptr;
            if (purpose_name) {
                purpose = find_purpose(*svc, *purpose_name);
                if (purpose == nullptr) {
                    r.fail("purpose", "must be chat_attachment, receipt or vehicle_photo");
                }
            }
            if (purpose != nullptr && content_type &&
                std::find(purpose->content_types.begin(), purpose->content_types.end(), *content_type) ==
                    purpose->content_types.end()) {
                std::string allowed;
                for (const auto& t : purpose->content_types) {
                    allowed += (allowed.empty() ? "" : ", ") + t;
                }
                r.fail("content_type", "must be one of " + allowed + " for " + purpose->name);
            }
            if (purpose != nullptr && size && *size > purpose->max_bytes) {
                r.fail("size_bytes", "must be at most " + std::to_string(purpose->max_bytes) + " for " + purpose->name);
            }
            r.finish();
            const std::int64_t now = svc->clock->now_ms();
            count_presign(*svc, actor.user_id, now);
            const std::string id = core::new_uuid_v7(now);
            const std::int64_t expires_s = now / 1000 + svc->options.upload_ttl_s;
            auto job = [svc,
                        actor,
                        id,
                        filename = *filename,
                        type = *content_type,
                        size = *size,
                        purpose = purpose->name,
                        now,
                        expires_s] {
                svc->database.with_transaction([&](db::Connection& c) {
                    const std::int64_t used = c.query(
                                                   "SELECT CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) FROM files "
                                                   "WHERE owner_id = $1 AND (status = "
                                                   "'ready' OR upload_expires_at_ms > $2)",
                                                   {actor.user_id, now})
                                                  .row(0)
                                                  .int64(0);
                    if (used + size > svc->options.quota_bytes) {
                        throw ApiError::validation({{"size_bytes",
                                                     "exceeds your storage quota: " + std::to_string(used) + " of " +
                                                         std::to_string(svc->options.quota_bytes) + " bytes in use"}});
                    }
                    // Spread over 256 directories by the id's random tail.
                    const std::string key = id.substr(id.size() - 2) + "/" + id;
                    c.execute(
                        "INSERT INTO files (public_id, owner_id, purpose, filename, content_type, size_bytes, status, "
                        "storage, storage_key, upload_expires_at_ms, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, "
                        "'pending', 'local', $7, $8, $9)",
                        {id, actor.user_id, purpose, filename, type, size, key, expires_s * 1000, now});
                });
            };
            co_await svc->database.workers().run(std::move(job));
            Response response = Response::json(json::object{{"file_id", id},
                                                            {"url", signed_url(*svc, "PUT", id, expires_s)},
                                                            {"method", "PUT"},
                                                            {"headers", json::object{{"Content-Type", *content_type}}},
                                                            {"public_url", svc->public_url + "/api/v1/files/" + id},
                                                            {"expires_at", core::format_rfc3339(expires_s * 1000)}},
                                               201);
            response.header("Location", "/api/v1/files/" + id);
            co_return response;
        },
        http::authenticated(4 * 1024));

    // The upload: the signature and the file are checked before a byte is read, the bytes go
    // straight into storage (size and type enforced while they arrive), and the file is named only
    // once whole.
    http::RouteOptions upload = signed_route();
    upload.max_body_bytes = static_cast<std::size_t>(
        std::max_element(svc->purposes.begin(), svc->purposes.end(), [](const Purpose& a, const Purpose& b) {
            return a.max_bytes < b.max_bytes;
        })->max_bytes);
    upload.open_sink = [svc](const Request& req) -> net::awaitable<http::OpenedSink> {
        verify_signed(*svc, req, "PUT");
        const std::string id(req.param("id"));
        const std::string sent_type(req.header("Content-Type").value_or(""));
        auto open = [svc, id, sent_type]() -> http::OpenedSink {
            auto f = svc->database.with_reader([&](db::Connection& c) { return find_file(c, id); });
            if (!f) {
                throw ApiError::not_found("File");
            }
            if (f->ref.status != "pending") {
                throw ApiError::conflict("This file was uploaded already; ask for a new upload URL", "file_uploaded");
            }
            if (sent_type != f->ref.content_type) {
                throw ApiError::unsupported_media_type(f->ref.content_type);
            }
            return {std::make_shared<LocalUpload>(svc->options.directory, f->ref.content_type, f->ref.size_bytes),
                    static_cast<std::size_t>(f->ref.size_bytes)};
        };
        co_return co_await svc->database.workers().run(std::move(open));
    };
    router.add(
        Method::Put,
        "/api/v1/files/{id}/content",
        [svc](Request req) -> net::awaitable<Response> {
            auto upload_sink = std::static_pointer_cast<LocalUpload>(req.sink);
            const std::string id(req.param("id"));
            auto finish = [svc, upload_sink, id] {
                auto f = svc->database.with_reader([&](db::Connection& c) { return find_file(c, id); });
                if (!f) {
                    throw ApiError::not_found("File");
                }
                const std::string path = stored_path(svc->options.directory, f->storage_key);
                std::string sha;
                if (!upload_sink->commit(path, sha)) {
                    throw ApiError::conflict("This file was uploaded already; ask for a new upload URL",
                                             "file_uploaded");
                }
                const std::int64_t now = svc->clock->now_ms();
                const auto updated = svc->database.with_transaction([&](db::Connection& c) {
                    return c.execute(
                        "UPDATE files SET status = 'ready', sha256 = $2, completed_at_ms = $3 WHERE public_id = $1 "
                        "AND status = 'pending'",
                        {id, sha, now});
                });
                if (updated != 1) {
                    remove_stored(path);  // deleted while it was uploading
                    throw ApiError::not_found("File");
                }
                return *svc->database.with_reader([&](db::Connection& c) { return find_file(c, id); });
            };
            FileRow done = co_await svc->database.workers().run(std::move(finish));
            co_return Response::json(file_json(*svc, done, false));
        },
        upload);

    router.add(
        Method::Get,
        "/api/v1/files/{id}/content",
        [svc](Request req) -> net::awaitable<Response> {
            verify_signed(*svc, req, "GET");
            auto job = [svc, id = std::string(req.param("id"))] {
                auto f = svc->database.with_reader([&](db::Connection& c) { return find_file(c, id); });
                if (!f || f->ref.status != "ready") {
                    throw ApiError::not_found("File");
                }
                return std::make_pair(*f, read_stored(stored_path(svc->options.directory, f->storage_key)));
            };
            auto [f, bytes] = co_await svc->database.workers().run(std::move(job));
            Response response = Response::text(std::move(bytes), f.ref.content_type);
            response.header("Content-Disposition",
                            "attachment; filename=\"" + ascii_name(f.ref.filename) + "\"; filename*=UTF-8''" +
                                core::percent_encode(f.ref.filename));
            response.header("X-Content-Type-Options", "nosniff");
            response.header("Content-Security-Policy", "default-src 'none'; sandbox");
            response.header("Cache-Control", "private, max-age=300");
            if (f.sha256) {
                response.header("ETag", "\"" + *f.sha256 + "\"");
            }
            co_return response;
        },
        signed_route());

    router.add(
        Method::Get,
        "/api/v1/files/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto job = [svc, actor, id = std::string(req.param("id"))] {
                auto f = svc->database.with_reader([&](db::Connection& c) { return find_file(c, id); });
                if (!f || !may_read(actor, f->ref)) {
                    throw ApiError::not_found("File");
                }
                return *f;
            };
            FileRow f = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(file_json(*svc, f, true));
        },
        http::authenticated(1024));

    router.add(
        Method::Delete,
        "/api/v1/files/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto job = [svc, actor, id = std::string(req.param("id"))] {
                auto key = svc->database.with_transaction([&](db::Connection& c) -> std::string {
                    auto f = find_file(c, id);
                    if (!f || !may_read(actor, f->ref)) {
                        throw ApiError::not_found("File");
                    }
                    if (f->ref.owner_id != actor.user_id && actor.role != auth::Role::Admin) {
                        throw ApiError::forbidden("Only the file's owner or an admin deletes it");
                    }
                    c.execute("DELETE FROM files WHERE id = $1", {f->ref.id});
                    return f->storage_key;
                });
                remove_stored(stored_path(svc->options.directory, key));  // after the commit
            };
            co_await svc->database.workers().run(std::move(job));
            co_return Response::no_content();
        },
        http::authenticated(1024));
}

}  // namespace motorpool::files
