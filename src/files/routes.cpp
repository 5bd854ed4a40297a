// The files routes: presign an upload, the upload itself (a signed PUT streamed into storage),
// metadata with a signed download URL, the download, deletion.

#include "routes.hpp"

#include <algorithm>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "auth/auth.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "local_store.hpp"
#include "sniff.hpp"

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
    "upload_expires_at_ms, created_at_ms, completed_at_ms, storage";

struct FileRow {
    FileRef ref;
    std::optional<std::string> sha256;
    std::string storage_key;
    std::int64_t upload_expires_at_ms = 0;
    std::int64_t created_at_ms = 0;
    std::optional<std::int64_t> completed_at_ms;
    std::string storage;  // local, s3
};

FileRow file_from(const db::Row& r) {
    FileRow f;
    f.ref = {r.int64(0), r.text(1), r.int64(2), r.text(3), r.text(4), r.text(5), r.int64(6), r.text(7)};
    f.sha256 = r.opt_text(8);
    f.storage_key = r.text(9);
    f.upload_expires_at_ms = r.int64(10);
    f.created_at_ms = r.int64(11);
    f.completed_at_ms = r.opt_int64(12);
    f.storage = r.text(13);
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
    if (!core::constant_time_equal(*given, s.local->signature(method, id, expires))) {
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
        Storage& storage = s.storage(f.storage);
        const std::int64_t expires = s.clock->now_ms() / 1000 + storage.download_ttl_s();
        o["download_url"] = storage.download_url(f.ref, f.storage_key, expires);
        o["download_expires_at"] = core::format_rfc3339(expires * 1000);
    }
    o["storage"] = f.storage;
    return o;
}

/// The presign rate limit: at most presigns_per_minute per user per minute on this node.
void count_presign(Services& s, std::int64_t user, std::int64_t now) {
    if (const int wait_s = s.presigns.acquire(user, now)) {
        throw ApiError::too_many_requests(wait_s);
    }
}

http::RouteOptions signed_route() {
    http::RouteOptions o;
    o.auth = http::Auth::None;  // the signature in the URL is the authority
    return o;
}

/// Forgets a file in `c`'s transaction and queues its stored bytes for removal after the commit.
void forget_file(db::Connection& c, const FileRow& f, std::int64_t now) {
    c.execute("INSERT INTO file_removals (storage, storage_key, queued_at_ms) VALUES ($1, $2, $3)",
              {f.storage, f.storage_key, now});
    c.execute("DELETE FROM files WHERE id = $1", {f.ref.id});
}

}  // namespace

Services::Services(db::Database& database_,
                   std::shared_ptr<core::Clock> clock_,
                   FileOptions options_,
                   std::vector<Purpose> purposes_,
                   std::shared_ptr<LocalStorage> local_,
                   std::shared_ptr<S3Storage> s3_,
                   std::vector<Referrer> referrers_)
    : database(database_),
      clock(std::move(clock_)),
      options(std::move(options_)),
      purposes(std::move(purposes_)),
      local(std::move(local_)),
      s3(std::move(s3_)),
      primary(s3 ? static_cast<Storage*>(s3.get()) : local.get()),
      referrers(std::move(referrers_)),
      presigns(options.presigns_per_minute, 60'000) {}

Storage& Services::storage(const std::string& name) const {
    if (name == "s3") {
        if (!s3) {
            throw ApiError::unavailable("This file is in S3, which this server is not configured for", 60);
        }
        return *s3;
    }
    return *local;
}

std::optional<FileRef> readable_file(db::Connection& c, const auth::Actor& actor, const std::string& public_id) {
    auto f = find_file(c, public_id);
    if (!f || !may_read(actor, f->ref)) {
        return std::nullopt;
    }
    return f->ref;
}

std::size_t process_removals(Services& s, std::size_t limit) {
    auto queued = s.database.with_reader([&](db::Connection& c) {
        return c.query("SELECT id, storage, storage_key FROM file_removals ORDER BY id LIMIT $1",
                       {static_cast<std::int64_t>(limit)});
    });
    std::size_t removed = 0;
    for (std::size_t i = 0; i < queued.size(); ++i) {
        const auto row = queued.row(i);
        const std::int64_t id = row.int64(0);
        try {
            s.storage(row.text(1)).remove(row.text(2));
            s.database.with_transaction(
                [&](db::Connection& c) { c.execute("DELETE FROM file_removals WHERE id = $1", {id}); });
            ++removed;
        } catch (const std::exception& e) {
            // Kept for the next pass (S3 unreachable, or not configured any more).
            spdlog::warn("files: a stored object could not be removed yet: {}", e.what());
            s.database.with_transaction([&](db::Connection& c) {
                c.execute("UPDATE file_removals SET attempts = attempts + 1 WHERE id = $1", {id});
            });
        }
    }
    return removed;
}

namespace {

/// Deletes the files `where` selects and queues their stored bytes for removal. PostgreSQL: in id
/// order, skipping rows another transaction holds (a chat message attaching one at this moment
/// holds it through its foreign key): no deadlock, and no file removed under a new reference. One
/// transaction; how many files.
std::size_t forget_where(Services& s,
                         const std::string& where,
                         const std::vector<db::Value>& params,
                         std::int64_t now) {
    const std::string sql = s.database.dialect() == db::Dialect::Postgres
                                ? "DELETE FROM files WHERE id IN (SELECT id FROM files WHERE " + where +
                                      " ORDER BY id FOR UPDATE SKIP LOCKED) RETURNING storage, storage_key"
                                : "DELETE FROM files WHERE " + where + " RETURNING storage, storage_key";
    return s.database.with_transaction([&](db::Connection& c) {
        auto gone = c.query(sql, params);
        for (std::size_t i = 0; i < gone.size(); ++i) {
            c.execute("INSERT INTO file_removals (storage, storage_key, queued_at_ms) VALUES ($1, $2, $3)",
                      {gone.row(i).text(0), gone.row(i).text(1), now});
        }
        return gone.size();
    });
}

}  // namespace

Cleanup clean_up(Services& s) {
    const std::int64_t now = s.clock->now_ms();
    Cleanup done;
    // Uploads never made: a local one's bytes were in an unnamed file that is gone; an S3 one may
    // have been made without /complete, so its key is removed too.
    done.expired = forget_where(s, "status = 'pending' AND upload_expires_at_ms < $1", {now - 3'600'000}, now);
    for (const auto& r : s.referrers) {
        // Identifiers come from the modules' code, never from input.
        done.unreferenced +=
            forget_where(s,
                         "purpose = $1 AND status = 'ready' AND completed_at_ms < $2 AND NOT EXISTS (SELECT 1 FROM " +
                             r.table + " r WHERE r." + r.column + " = files.id)",
                         {r.purpose, now - 86'400'000},
                         now);
    }
    done.removed = process_removals(s, 1000);
    return done;
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
            Storage& storage = *svc->primary;
            const std::int64_t expires_s = now / 1000 + storage.upload_ttl_s();
            const std::string key = storage.key_for(id, *filename);
            auto job = [svc,
                        actor,
                        id,
                        filename = *filename,
                        type = *content_type,
                        size = *size,
                        purpose = purpose->name,
                        now,
                        expires_s,
                        key,
                        storage = std::string(storage.name())] {
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
                    c.execute(
                        "INSERT INTO files (public_id, owner_id, purpose, filename, content_type, size_bytes, status, "
                        "storage, storage_key, upload_expires_at_ms, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, "
                        "'pending', $7, $8, $9, $10)",
                        {id, actor.user_id, purpose, filename, type, size, storage, key, expires_s * 1000, now});
                });
            };
            co_await svc->database.workers().run(std::move(job));
            FileRef ref{0, id, actor.user_id, purpose->name, *filename, *content_type, *size, "pending"};
            const UploadTarget target = storage.upload_target(ref, key, expires_s);
            json::object headers;
            for (const auto& [name, value] : target.headers) {
                headers[name] = value;
            }
            Response response = Response::json(json::object{{"file_id", id},
                                                            {"url", target.url},
                                                            {"method", "PUT"},
                                                            {"headers", std::move(headers)},
                                                            {"public_url", storage.public_url(ref, key)},
                                                            {"expires_at", core::format_rfc3339(expires_s * 1000)},
                                                            {"complete_url", "/api/v1/files/" + id + "/complete"},
                                                            {"storage", storage.name()}},
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
            if (!f || f->storage != "local") {
                throw ApiError::not_found("File");
            }
            if (f->ref.status != "pending") {
                throw ApiError::conflict("This file was uploaded already; ask for a new upload URL", "file_uploaded");
            }
            if (sent_type != f->ref.content_type) {
                throw ApiError::unsupported_media_type(f->ref.content_type);
            }
            return {std::make_shared<LocalUpload>(svc->local->directory(), f->ref.content_type, f->ref.size_bytes),
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
                const std::string path = svc->local->path_of(f->storage_key);
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

    // After an upload straight to S3: the object is checked (HEAD and its first bytes through
    // SigV4) against the declared size and type, then the file is ready. Local uploads are ready
    // when their PUT answers; completing one again says so.
    router.add(
        Method::Post,
        "/api/v1/files/{id}/complete",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto job = [svc, actor, id = std::string(req.param("id"))] {
                auto f = svc->database.with_reader([&](db::Connection& c) { return find_file(c, id); });
                if (!f || f->ref.owner_id != actor.user_id) {
                    throw ApiError::not_found("File");
                }
                if (f->ref.status == "ready") {
                    return *f;
                }
                if (f->storage == "local") {
                    throw ApiError::conflict("Nothing was uploaded yet: PUT the bytes to the upload URL first",
                                             "file_not_uploaded");
                }
                Storage& storage = svc->storage(f->storage);
                std::optional<StoredObject> object;
                try {
                    object = storage.inspect(f->storage_key);
                } catch (const std::exception& e) {
                    spdlog::warn("files: an S3 upload could not be checked: {}", e.what());
                    throw ApiError::unavailable("The file store cannot be reached; try again shortly", 5);
                }
                if (!object) {
                    throw ApiError::conflict("Nothing was uploaded yet: PUT the bytes to the upload URL first",
                                             "file_not_uploaded");
                }
                std::string problem;
                if (object->size != f->ref.size_bytes) {
                    problem = "has " + std::to_string(object->size) + " bytes, not the declared " +
                              std::to_string(f->ref.size_bytes);
                } else if (const std::string sniffed = sniff_mime(object->head);
                           !matches_declared(f->ref.content_type, sniffed)) {
                    problem = "is " + sniffed + ", not the declared " + f->ref.content_type;
                }
                if (!problem.empty()) {
                    // Refused: the object goes, the upload URL stays usable until it expires.
                    try {
                        storage.remove(f->storage_key);
                    } catch (const std::exception& e) {
                        svc->database.with_transaction([&](db::Connection& c) {
                            c.execute(
                                "INSERT INTO file_removals (storage, storage_key, queued_at_ms) VALUES ($1, $2, $3)",
                                {f->storage, f->storage_key, svc->clock->now_ms()});
                        });
                    }
                    throw ApiError::validation({{"content", problem + ": it was removed"}});
                }
                const std::int64_t now = svc->clock->now_ms();
                svc->database.with_transaction([&](db::Connection& c) {
                    c.execute(
                        "UPDATE files SET status = 'ready', completed_at_ms = $2 WHERE id = $1 AND status = 'pending'",
                        {f->ref.id, now});
                });
                auto done = svc->database.with_reader([&](db::Connection& c) { return find_file(c, id); });
                if (!done) {
                    throw ApiError::not_found("File");  // deleted meanwhile
                }
                return *done;
            };
            FileRow f = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(file_json(*svc, f, true));
        },
        http::authenticated(1024));

    router.add(
        Method::Get,
        "/api/v1/files/{id}/content",
        [svc](Request req) -> net::awaitable<Response> {
            verify_signed(*svc, req, "GET");
            auto job = [svc, id = std::string(req.param("id"))] {
                auto f = svc->database.with_reader([&](db::Connection& c) { return find_file(c, id); });
                if (!f || f->ref.status != "ready" || f->storage != "local") {
                    throw ApiError::not_found("File");
                }
                return std::make_pair(*f, std::make_shared<StoredFile>(svc->local->path_of(f->storage_key)));
            };
            auto [f, stored] = co_await svc->database.workers().run(std::move(job));
            // Streamed from disk in pieces: never held whole, whatever its size.
            Response response;
            response.content_type = f.ref.content_type;
            response.source = std::move(stored);
            response.header("Content-Disposition", content_disposition(f.ref.filename));
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
                svc->database.with_transaction([&](db::Connection& c) {
                    auto f = find_file(c, id);
                    if (!f || !may_read(actor, f->ref)) {
                        throw ApiError::not_found("File");
                    }
                    if (f->ref.owner_id != actor.user_id && actor.role != auth::Role::Admin) {
                        throw ApiError::forbidden("Only the file's owner or an admin deletes it");
                    }
                    forget_file(c, *f, svc->clock->now_ms());
                });
                process_removals(*svc, 100);  // after the commit; the cleanup job retries a failure
            };
            co_await svc->database.workers().run(std::move(job));
            co_return Response::no_content();
        },
        http::authenticated(1024));
}

}  // namespace motorpool::files
