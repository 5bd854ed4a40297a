// The chat routes: threads (members open theirs; support and admins see all, filter, assign),
// messages (idempotent by client message id, attachments the sender may read), read positions,
// close and reopen. Every change is published after its commit: MESSAGE, THREAD and READ frames on
// `chat.thread.<id>`, new threads and messages on `support.inbox`.

#include "routes.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "auth/auth.hpp"
#include "booking/booking.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "files/files.hpp"
#include "vehicles/vehicles.hpp"

namespace motorpool::support {

namespace net = boost::asio;
namespace json = boost::json;
using core::ApiError;
using core::FieldReader;
using core::Presence;
using http::Method;
using http::Request;
using http::Response;

namespace {

constexpr std::size_t kBodyLimit = 16 * 1024;
constexpr std::size_t kMessageMaxBytes = 4096;
constexpr std::size_t kMaxAttachments = 10;

bool is_staff(const auth::Actor& a) {
    return a.role == auth::Role::Support || a.role == auth::Role::Admin;
}

const char* kThreadColumns =
    "t.id, t.public_id, t.member_id, m.public_id, t.subject, t.status, a.public_id, v.public_id, ap.public_id, "
    "t.created_at_ms, t.updated_at_ms, t.last_message_at_ms";
const char* kThreadFrom =
    " FROM chat_threads t JOIN users m ON m.id = t.member_id LEFT JOIN users a ON a.id = t.assignee_id LEFT JOIN "
    "vehicles v ON v.id = t.vehicle_id LEFT JOIN appointments ap ON ap.id = t.appointment_id";

struct Thread {
    std::int64_t id = 0;
    std::string public_id;
    std::int64_t member_id = 0;
    json::object body;  // the API's view, without the caller's read state
};

json::value opt(const std::optional<std::string>& v) {
    return v ? json::value(*v) : json::value(nullptr);
}

Thread thread_from(const db::Row& r) {
    Thread t;
    t.id = r.int64(0);
    t.public_id = r.text(1);
    t.member_id = r.int64(2);
    t.body =
        json::object{{"id", t.public_id},
                     {"member_id", r.text(3)},
                     {"subject", r.text(4)},
                     {"status", r.text(5)},
                     {"assignee_id", opt(r.opt_text(6))},
                     {"vehicle_id", opt(r.opt_text(7))},
                     {"appointment_id", opt(r.opt_text(8))},
                     {"created_at", core::format_rfc3339(r.int64(9))},
                     {"updated_at", core::format_rfc3339(r.int64(10))},
                     {"last_message_at",
                      r.opt_int64(11) ? json::value(core::format_rfc3339(*r.opt_int64(11))) : json::value(nullptr)}};
    return t;
}

std::optional<Thread> find_thread(db::Connection& c, const std::string& public_id) {
    auto rows = c.query(std::string("SELECT ") + kThreadColumns + kThreadFrom + " WHERE t.public_id = $1", {public_id});
    return rows.empty() ? std::nullopt : std::optional<Thread>(thread_from(rows.row(0)));
}

/// The thread if the caller may see it (its member, support, admins); 404 otherwise.
Thread visible_thread(db::Connection& c, const auth::Actor& actor, const std::string& public_id) {
    auto t = find_thread(c, public_id);
    if (!t || (t->member_id != actor.user_id && !is_staff(actor))) {
        throw ApiError::not_found("Thread");
    }
    return *t;
}

/// The caller's read position and unread count, added to a thread's view.
json::object with_reads(db::Connection& c, const auth::Actor& actor, const Thread& t) {
    json::object o = t.body;
    auto read = c.query(
        "SELECT r.message_id, m.public_id FROM chat_reads r JOIN chat_messages m ON m.id = r.message_id WHERE "
        "r.thread_id = $1 AND r.user_id = $2",
        {t.id, actor.user_id});
    const std::int64_t position = read.empty() ? 0 : read.row(0).int64(0);
    o["read_message_id"] = read.empty() ? json::value(nullptr) : json::value(read.row(0).text(1));
    o["unread_count"] = c.query(
                             "SELECT COUNT(*) FROM chat_messages WHERE thread_id = $1 AND id > $2 AND (sender_id IS "
                             "NULL OR sender_id <> $3)",
                             {t.id, position, actor.user_id})
                            .row(0)
                            .int64(0);
    return o;
}

const char* kMessageColumns =
    "m.id, m.public_id, t.public_id, u.public_id, m.sender_role, m.body, m.attachments, m.client_msg_id, "
    "m.created_at_ms";
const char* kMessageFrom =
    " FROM chat_messages m JOIN chat_threads t ON t.id = m.thread_id LEFT JOIN users u ON u.id = m.sender_id";

json::object message_from(const db::Row& r) {
    boost::system::error_code ec;
    json::value attachments = json::parse(r.text(6), ec);
    return {{"id", r.text(1)},
            {"thread_id", r.text(2)},
            {"sender_id", opt(r.opt_text(3))},
            {"sender_role", r.text(4)},
            {"body", r.text(5)},
            {"attachments", ec ? json::value(json::array{}) : attachments},
            {"client_msg_id", opt(r.opt_text(7))},
            {"created_at", core::format_rfc3339(r.int64(8))}};
}

void publish(core::EventBus& events, const std::string& topic, const char* type, const json::object& payload) {
    events.publish({topic, type, json::serialize(payload)});
}

/// What a new message is: its body (UTF-8, up to 4 KiB, not blank), attachments and client id.
struct NewMessage {
    std::string body;
    std::vector<std::string> attachments;
    std::optional<std::string> client_msg_id;
};

void read_message(FieldReader& r, NewMessage& m, bool body_required) {
    if (const auto* v = r.value("attachments", Presence::Optional)) {
        if (!v->is_array() || v->as_array().size() > kMaxAttachments) {
            r.fail("attachments", "must be a list of at most 10 file ids");
        } else {
            for (const auto& id : v->as_array()) {
                if (!id.is_string() || id.as_string().empty() || id.as_string().size() > 64) {
                    r.fail("attachments", "must be a list of at most 10 file ids");
                    break;
                }
                m.attachments.emplace_back(id.as_string());
            }
        }
    }
    // A message with a file may say nothing more (a photo of the dashboard light is the message).
    const bool required = body_required && m.attachments.empty();
    if (auto body = r.string("body",
                             required ? Presence::Required : Presence::Optional,
                             1,
                             kMessageMaxBytes,
                             core::TextKind::MultiLine)) {
        if (body->size() > kMessageMaxBytes) {
            r.fail("body", "must be at most 4096 bytes of UTF-8");
        } else if (body->find_first_not_of(" \t\r\n") == std::string::npos) {
            r.fail("body", "must not be blank");
        }
        m.body = *body;
    }
    m.client_msg_id = r.string("client_msg_id", Presence::Optional, 1, 100);
}

/// Stores a message in the caller's transaction: the same client id again returns the stored one
/// (`created` false). The thread's status follows who spoke last.
std::pair<json::object, bool> store_message(
    db::Connection& c, const auth::Actor& actor, const Thread& thread, const NewMessage& m, std::int64_t now) {
    if (m.client_msg_id) {
        auto existing = c.query(std::string("SELECT ") + kMessageColumns + kMessageFrom +
                                    " WHERE m.thread_id = $1 AND m.sender_id = $2 AND m.client_msg_id = $3",
                                {thread.id, actor.user_id, *m.client_msg_id});
        if (!existing.empty()) {
            return {message_from(existing.row(0)), false};
        }
    }
    json::array attachments;
    std::vector<std::int64_t> file_ids;
    for (const auto& id : m.attachments) {
        auto f = files::readable_file(c, actor, id);
        if (!f || f->status != "ready") {
            throw ApiError::validation({{"attachments", "names a file that is not yours or not uploaded: " + id}});
        }
        if (std::find(file_ids.begin(), file_ids.end(), f->id) != file_ids.end()) {
            continue;
        }
        file_ids.push_back(f->id);
        attachments.push_back(json::object{{"id", f->public_id},
                                           {"filename", f->filename},
                                           {"content_type", f->content_type},
                                           {"size_bytes", f->size_bytes}});
    }
    const std::string public_id = core::new_uuid_v7(now);
    auto inserted = c.query(
        "INSERT INTO chat_messages (public_id, thread_id, sender_id, sender_role, body, attachments, client_msg_id, "
        "created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (thread_id, sender_id, client_msg_id) DO "
        "NOTHING RETURNING id",
        {public_id,
         thread.id,
         actor.user_id,
         std::string(auth::role_name(actor.role)),
         m.body,
         json::serialize(attachments),
         db::nullable(m.client_msg_id),
         now});
    if (inserted.empty()) {  // the same client id won a race a moment ago
        auto existing = c.query(std::string("SELECT ") + kMessageColumns + kMessageFrom +
                                    " WHERE m.thread_id = $1 AND m.sender_id = $2 AND m.client_msg_id = $3",
                                {thread.id, actor.user_id, *m.client_msg_id});
        return {message_from(existing.row(0)), false};
    }
    const std::int64_t message_id = inserted.row(0).int64(0);
    for (auto file : file_ids) {
        c.execute("INSERT INTO chat_message_files (message_id, file_id) VALUES ($1, $2)", {message_id, file});
    }
    // A member's message (re)opens the thread; support's waits on the member.
    const bool from_member = actor.user_id == thread.member_id;
    c.execute("UPDATE chat_threads SET last_message_at_ms = $2, updated_at_ms = $2, status = $3 WHERE id = $1",
              {thread.id, now, std::string(from_member ? "open" : "waiting_on_member")});
    // The sender has read their own message.
    c.execute(
        "INSERT INTO chat_reads (thread_id, user_id, message_id, read_at_ms) VALUES ($1, $2, $3, $4) ON CONFLICT "
        "(thread_id, user_id) DO UPDATE SET message_id = excluded.message_id, read_at_ms = excluded.read_at_ms",
        {thread.id, actor.user_id, message_id, now});
    auto row = c.query(std::string("SELECT ") + kMessageColumns + kMessageFrom + " WHERE m.id = $1", {message_id});
    return {message_from(row.row(0)), true};
}

std::int64_t message_key(db::Connection& c, std::int64_t thread_id, const std::string& public_id, const char* field) {
    auto rows = c.query("SELECT id FROM chat_messages WHERE public_id = $1 AND thread_id = $2", {public_id, thread_id});
    if (rows.empty()) {
        throw ApiError::validation({{field, "is not a message of this thread"}});
    }
    return rows.row(0).int64(0);
}

/// The chat's rate limit (OWASP API4): messages and new threads per user per minute, checked
/// before anything is read or stored; a retry of a message counts again.
void count_message(Services& svc, const auth::Actor& actor, std::int64_t now) {
    if (const int wait_s = svc.messages.acquire(actor.user_id, now)) {
        throw ApiError::too_many_requests(wait_s);
    }
}

/// Stores a message and publishes it once, after the commit: (the message, whether it is new).
std::pair<json::object, bool> post_message(
    Services& svc, const auth::Actor& actor, const std::string& id, const NewMessage& m, std::int64_t now) {
    count_message(svc, actor, now);
    auto [message, created] = svc.database.with_transaction([&](db::Connection& c) {
        auto t = visible_thread(c, actor, id);
        auto stored = store_message(c, actor, t, m, now);
        // Support replied and the member has no socket open here: a notification (e-mail today),
        // at most one per thread every 15 minutes (the conditional update is the guard), sent if
        // this commits.
        if (stored.second && actor.user_id != t.member_id && !live::is_connected(svc.hub, t.member_id) &&
            c.execute("UPDATE chat_threads SET member_mailed_at_ms = $2 WHERE id = $1 AND (member_mailed_at_ms IS "
                      "NULL OR member_mailed_at_ms <= $3)",
                      {t.id, now, now - 15LL * 60 * 1000}) == 1) {
            const std::string subject(t.body.at("subject").as_string());
            svc.notifier.notify(c,
                                {t.member_id,
                                 "New reply from support: " + subject,
                                 "Support answered in your conversation \"" + subject + "\":\n\n" + m.body +
                                     "\n\nOpen your support chat in motorpool to reply.\n",
                                 {}},
                                now);
        }
        return stored;
    });
    if (created) {
        publish(svc.events, "chat.thread." + id, "MESSAGE", message);
        publish(svc.events, "support.inbox", "MESSAGE", message);
    }
    return {message, created};
}

/// Moves the caller's read position (to `message`, or the latest) and publishes READ.
json::object mark_read(Services& svc,
                       const auth::Actor& actor,
                       const std::string& user_public_id,  // the token's subject: no lookup
                       const std::string& id,
                       const std::optional<std::string>& message,
                       std::int64_t now) {
    auto thread = svc.database.with_transaction([&](db::Connection& c) {
        auto t = visible_thread(c, actor, id);
        std::int64_t key = 0;
        if (message) {
            key = message_key(c, t.id, *message, "message_id");
        } else {
            auto last = c.query("SELECT MAX(id) FROM chat_messages WHERE thread_id = $1", {t.id});
            key = last.row(0).opt_int64(0).value_or(0);
        }
        if (key > 0) {  // a read position only moves forward
            c.execute(
                "INSERT INTO chat_reads (thread_id, user_id, message_id, read_at_ms) VALUES ($1, $2, $3, $4) ON "
                "CONFLICT (thread_id, user_id) DO UPDATE SET message_id = excluded.message_id, read_at_ms = "
                "excluded.read_at_ms WHERE chat_reads.message_id < excluded.message_id",
                {t.id, actor.user_id, key, now});
        }
        return with_reads(c, actor, t);
    });
    publish(svc.events,
            "chat.thread." + id,
            "READ",
            json::object{{"thread_id", id}, {"user_id", user_public_id}, {"message_id", thread.at("read_message_id")}});
    return thread;
}

auth::Actor actor_from(const http::Principal& who) {
    return {who.user_id, auth::role_from_name(who.role).value_or(auth::Role::Member)};
}

/// A chat frame's thread: a string id (422 otherwise).
std::string frame_thread(FieldReader& r) {
    auto id = r.string("thread_id", Presence::Required, 1, 64);
    r.value("type", Presence::Required);  // read, so finish() does not count it as unknown
    return id.value_or("");
}

}  // namespace

void install_frames(live::Hub& hub, const std::shared_ptr<Services>& services) {
    auto svc = services;
    // SEND {thread_id, body, attachments?, client_msg_id?}: as the REST post; the sender gets SENT
    // with the stored message's id (MESSAGE goes to the thread's subscribers, after the commit).
    live::add_frame(hub, "SEND", [svc](const http::Principal& who, const json::object& frame) {
        FieldReader r(frame);
        const std::string id = frame_thread(r);
        NewMessage m;
        read_message(r, m, true);
        r.finish();
        auto [message, created] = post_message(*svc, actor_from(who), id, m, svc->clock->now_ms());
        return json::serialize(json::object{{"type", "SENT"},
                                            {"thread_id", id},
                                            {"message_id", message.at("id")},
                                            {"client_msg_id", message.at("client_msg_id")},
                                            {"created", created}});
    });
    // TYPING {thread_id}: relayed to the thread, never stored, at most one per user and thread
    // every two seconds (more are dropped quietly).
    live::add_frame(hub, "TYPING", [svc](const http::Principal& who, const json::object& frame) {
        FieldReader r(frame);
        const std::string id = frame_thread(r);
        r.finish();
        const auth::Actor actor = actor_from(who);
        const std::int64_t now = svc->clock->now_ms();
        // The rate limit first: a dropped TYPING costs no database read.
        {
            std::lock_guard lock(svc->typing_mutex);
            auto& last = svc->last_typing[{who.user_id, id}];
            if (last != 0 && now - last < 2000) {
                return std::string();
            }
            last = now;
            if (svc->last_typing.size() > 100'000) {
                std::erase_if(svc->last_typing, [&](const auto& e) { return now - e.second > 2000; });
            }
        }
        svc->database.with_reader([&](db::Connection& c) { return visible_thread(c, actor, id); });
        publish(svc->events,
                "chat.thread." + id,
                "TYPING",
                json::object{{"thread_id", id}, {"user_id", who.subject}, {"role", who.role}});
        return std::string();
    });
    // READ {thread_id, message_id?}: as the REST read.
    live::add_frame(hub, "READ", [svc](const http::Principal& who, const json::object& frame) {
        FieldReader r(frame);
        const std::string id = frame_thread(r);
        auto message = r.string("message_id", Presence::Optional, 1, 64);
        r.finish();
        mark_read(*svc, actor_from(who), who.subject, id, message, svc->clock->now_ms());
        return std::string();
    });
}

void install_routes(http::Router& router, const std::shared_ptr<Services>& services) {
    auto svc = services;

    router.add(
        Method::Post,
        "/api/v1/chat/threads",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto body = req.json_object();
            FieldReader r(body);
            auto subject = r.string("subject", Presence::Required, 1, 200);
            NewMessage first;
            read_message(r, first, false);
            auto vehicle = r.string("vehicle_id", Presence::Optional, 1, 64);
            auto appointment = r.string("appointment_id", Presence::Optional, 1, 64);
            r.finish();
            const std::int64_t now = svc->clock->now_ms();
            count_message(*svc, actor, now);
            auto job = [svc, actor, subject = *subject, first, vehicle, appointment, now] {
                std::optional<json::object> message;
                auto thread = svc->database.with_transaction([&](db::Connection& c) {
                    std::optional<std::int64_t> vehicle_id, appointment_id;
                    if (vehicle) {
                        vehicle_id = vehicles::vehicle_for(c, actor, *vehicle, auth::Access::Read).id;
                    }
                    if (appointment) {
                        auto a = booking::appointment_ref(c, *appointment);
                        if (!a || a->user_id != actor.user_id) {
                            throw ApiError::validation({{"appointment_id", "is not one of your appointments"}});
                        }
                        appointment_id =
                            c.query("SELECT id FROM appointments WHERE public_id = $1", {*appointment}).row(0).int64(0);
                    }
                    const std::string id = core::new_uuid_v7(now);
                    c.execute(
                        "INSERT INTO chat_threads (public_id, member_id, subject, status, vehicle_id, appointment_id, "
                        "created_at_ms, updated_at_ms) VALUES ($1, $2, $3, 'open', $4, $5, $6, $6)",
                        {id, actor.user_id, subject, db::nullable(vehicle_id), db::nullable(appointment_id), now});
                    auto t = *find_thread(c, id);
                    if (!first.body.empty()) {
                        message = store_message(c, actor, t, first, now).first;
                        t = *find_thread(c, id);
                    }
                    return with_reads(c, actor, t);
                });
                publish(svc->events, "support.inbox", "THREAD", json::object{{"change", "opened"}, {"thread", thread}});
                if (message) {
                    publish(svc->events, "support.inbox", "MESSAGE", *message);
                }
                return thread;
            };
            json::object thread = co_await svc->database.workers().run(std::move(job));
            Response response = Response::json(thread, 201);
            response.header("Location", "/api/v1/chat/threads/" + std::string(thread.at("id").as_string()));
            co_return response;
        },
        http::authenticated(kBodyLimit));

    router.add(
        Method::Get,
        "/api/v1/chat/threads",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            std::vector<core::FieldError> errors;
            const std::int64_t page = req.query_integer("page", 1, 1, 100'000, errors);
            const std::int64_t page_size = req.query_integer("page_size", 50, 1, 100, errors);
            auto status = req.query_param("status");
            if (status && *status != "open" && *status != "waiting_on_member" && *status != "closed") {
                errors.push_back({"status", "must be open, waiting_on_member or closed"});
            }
            auto assignee = req.query_param("assignee");
            if (assignee && !is_staff(actor)) {
                errors.push_back({"assignee", "filters threads for support and admins only"});
            }
            if (!errors.empty()) {
                throw ApiError::validation(std::move(errors));
            }
            auto job = [svc, actor, page, page_size, status, assignee] {
                return svc->database.with_reader([&](db::Connection& c) {
                    std::string where = " WHERE 1 = 1";
                    std::vector<db::Value> params;
                    auto add = [&](const std::string& clause, db::Value v) {
                        params.push_back(std::move(v));
                        where += " AND " + clause + std::to_string(params.size());
                    };
                    if (!is_staff(actor)) {
                        add("t.member_id = $", actor.user_id);
                    }
                    if (status) {
                        add("t.status = $", *status);
                    }
                    if (assignee) {
                        if (*assignee == "none") {
                            where += " AND t.assignee_id IS NULL";
                        } else if (*assignee == "me") {
                            add("t.assignee_id = $", actor.user_id);
                        } else {
                            add("a.public_id = $", *assignee);
                        }
                    }
                    const std::int64_t total =
                        c.query(std::string("SELECT COUNT(*)") + kThreadFrom + where, params).row(0).int64(0);
                    auto paged = params;
                    paged.emplace_back(page_size);
                    paged.emplace_back((page - 1) * page_size);
                    paged.emplace_back(actor.user_id);
                    std::string me("$");  // (built in two steps: g++ 12 -O3 warns on "$" + string)
                    me += std::to_string(params.size() + 3);
                    // The page with the caller's read position and unread count in one query.
                    auto rows = c.query(
                        std::string("SELECT ") + kThreadColumns +
                            ", rm.public_id, (SELECT COUNT(*) FROM chat_messages x WHERE x.thread_id = t.id AND x.id > "
                            "COALESCE(r.message_id, 0) AND (x.sender_id IS NULL OR x.sender_id <> " +
                            me + "))" + kThreadFrom + " LEFT JOIN chat_reads r ON r.thread_id = t.id AND r.user_id = " +
                            me + " LEFT JOIN chat_messages rm ON rm.id = r.message_id" + where +
                            " ORDER BY COALESCE(t.last_message_at_ms, t.created_at_ms) DESC, t.id DESC LIMIT $" +
                            std::to_string(params.size() + 1) + " OFFSET $" + std::to_string(params.size() + 2),
                        paged);
                    json::array items;
                    for (std::size_t i = 0; i < rows.size(); ++i) {
                        const auto row = rows.row(i);
                        json::object o = thread_from(row).body;
                        o["read_message_id"] = opt(row.opt_text(12));
                        o["unread_count"] = row.int64(13);
                        items.push_back(std::move(o));
                    }
                    return json::object{{"items", std::move(items)},
                                        {"total", total},
                                        {"page", page},
                                        {"page_size", page_size},
                                        {"total_pages", (total + page_size - 1) / page_size}};
                });
            };
            co_return Response::json(co_await svc->database.workers().run(std::move(job)));
        },
        http::authenticated(kBodyLimit));

    router.add(
        Method::Get,
        "/api/v1/chat/threads/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto job = [svc, actor, id = std::string(req.param("id"))] {
                return svc->database.with_reader(
                    [&](db::Connection& c) { return with_reads(c, actor, visible_thread(c, actor, id)); });
            };
            co_return Response::json(co_await svc->database.workers().run(std::move(job)));
        },
        http::authenticated(kBodyLimit));

    // Support and admins assign a thread and set its status.
    router.add(
        Method::Patch,
        "/api/v1/chat/threads/{id}",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto body = req.json_object();
            FieldReader r(body);
            std::optional<std::optional<std::string>> assignee;
            if (const auto* v = r.value("assignee_id", Presence::Optional)) {
                if (v->is_null()) {
                    assignee = std::optional<std::string>();
                } else if (v->is_string() && !v->as_string().empty() && v->as_string().size() <= 64) {
                    assignee = std::string(v->as_string());
                } else {
                    r.fail("assignee_id", "must be a user id or null");
                }
            }
            auto status = r.string("status", Presence::Optional, 1, 40);
            if (status && *status != "open" && *status != "waiting_on_member" && *status != "closed") {
                r.fail("status", "must be open, waiting_on_member or closed");
            }
            r.finish();
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, actor, id = std::string(req.param("id")), assignee, status, now] {
                auto thread = svc->database.with_transaction([&](db::Connection& c) {
                    auto t = visible_thread(c, actor, id);
                    if (!is_staff(actor)) {
                        throw ApiError::forbidden("Support and admins assign threads and set their status");
                    }
                    if (assignee) {
                        db::Value key;
                        if (*assignee) {
                            auto rows = c.query("SELECT id, role FROM users WHERE public_id = $1", {**assignee});
                            if (rows.empty() || (rows.row(0).text(1) != "support" && rows.row(0).text(1) != "admin")) {
                                throw ApiError::validation({{"assignee_id", "must be a support user or an admin"}});
                            }
                            key = rows.row(0).int64(0);
                        }
                        c.execute("UPDATE chat_threads SET assignee_id = $2, updated_at_ms = $3 WHERE id = $1",
                                  {t.id, key, now});
                    }
                    if (status) {
                        c.execute("UPDATE chat_threads SET status = $2, updated_at_ms = $3 WHERE id = $1",
                                  {t.id, *status, now});
                    }
                    return with_reads(c, actor, *find_thread(c, id));
                });
                publish(svc->events, "chat.thread." + id, "THREAD", thread);
                publish(
                    svc->events, "support.inbox", "THREAD", json::object{{"change", "updated"}, {"thread", thread}});
                return thread;
            };
            co_return Response::json(co_await svc->database.workers().run(std::move(job)));
        },
        http::authenticated(kBodyLimit));

    // Close and reopen: the thread's member, support and admins.
    for (const auto& [suffix, next] : {std::pair{"/close", "closed"}, std::pair{"/reopen", "open"}}) {
        router.add(
            Method::Post,
            std::string("/api/v1/chat/threads/{id}") + suffix,
            [svc, next = std::string(next)](Request req) -> net::awaitable<Response> {
                const auth::Actor actor = auth::actor_of(req);
                const std::int64_t now = svc->clock->now_ms();
                auto job = [svc, actor, id = std::string(req.param("id")), next, now] {
                    auto thread = svc->database.with_transaction([&](db::Connection& c) {
                        auto t = visible_thread(c, actor, id);
                        c.execute("UPDATE chat_threads SET status = $2, updated_at_ms = $3 WHERE id = $1",
                                  {t.id, next, now});
                        return with_reads(c, actor, *find_thread(c, id));
                    });
                    publish(svc->events, "chat.thread." + id, "THREAD", thread);
                    publish(svc->events, "support.inbox", "THREAD", json::object{{"change", next}, {"thread", thread}});
                    return thread;
                };
                co_return Response::json(co_await svc->database.workers().run(std::move(job)));
            },
            http::authenticated(kBodyLimit));
    }

    router.add(
        Method::Post,
        "/api/v1/chat/threads/{id}/messages",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto body = req.json_object();
            FieldReader r(body);
            NewMessage m;
            read_message(r, m, true);
            r.finish();
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, actor, id = std::string(req.param("id")), m, now] {
                return post_message(*svc, actor, id, m, now);
            };
            auto [message, created] = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(message, created ? 201 : 200);
        },
        http::authenticated(kBodyLimit));

    // Messages in order: the latest `limit`, or keyset pages before or after a message, or those
    // since a time.
    router.add(
        Method::Get,
        "/api/v1/chat/threads/{id}/messages",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            std::vector<core::FieldError> errors;
            const std::int64_t limit = req.query_integer("limit", 50, 1, 200, errors);
            auto before = req.query_param("before");
            auto after = req.query_param("after");
            std::optional<std::int64_t> since;
            if (auto text = req.query_param("since")) {
                since = core::parse_rfc3339(*text);
                if (!since) {
                    errors.push_back({"since", "must be an RFC 3339 time"});
                }
            }
            if (before && after) {
                errors.push_back({"before", "and after do not go together"});
            }
            if (!errors.empty()) {
                throw ApiError::validation(std::move(errors));
            }
            auto job = [svc, actor, id = std::string(req.param("id")), limit, before, after, since] {
                return svc->database.with_reader([&](db::Connection& c) {
                    auto t = visible_thread(c, actor, id);
                    std::string where = " WHERE m.thread_id = $1";
                    std::vector<db::Value> params{t.id};
                    if (since) {
                        params.emplace_back(*since);
                        where += " AND m.created_at_ms > $" + std::to_string(params.size());
                    }
                    if (before) {
                        params.emplace_back(message_key(c, t.id, *before, "before"));
                        where += " AND m.id < $" + std::to_string(params.size());
                    }
                    if (after) {
                        params.emplace_back(message_key(c, t.id, *after, "after"));
                        where += " AND m.id > $" + std::to_string(params.size());
                    }
                    // Forward pages read oldest first; the default and backward pages take the
                    // newest, then are shown oldest first.
                    const bool forward = after.has_value() || since.has_value();
                    params.emplace_back(limit + 1);
                    auto rows = c.query(std::string("SELECT ") + kMessageColumns + kMessageFrom + where +
                                            (forward ? " ORDER BY m.id ASC" : " ORDER BY m.id DESC") + " LIMIT $" +
                                            std::to_string(params.size()),
                                        params);
                    const bool more = static_cast<std::int64_t>(rows.size()) > limit;
                    json::array items;
                    const std::size_t n = std::min<std::size_t>(rows.size(), static_cast<std::size_t>(limit));
                    for (std::size_t i = 0; i < n; ++i) {
                        items.push_back(message_from(rows.row(forward ? i : n - 1 - i)));
                    }
                    return json::object{{"items", std::move(items)}, {"has_more", more}};
                });
            };
            co_return Response::json(co_await svc->database.workers().run(std::move(job)));
        },
        http::authenticated(kBodyLimit));

    router.add(
        Method::Post,
        "/api/v1/chat/threads/{id}/read",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto body = req.body.empty() ? json::object{} : req.json_object();
            FieldReader r(body);
            auto message = r.string("message_id", Presence::Optional, 1, 64);
            r.finish();
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc,
                        actor,
                        subject = req.require_principal().subject,
                        id = std::string(req.param("id")),
                        message,
                        now] { return mark_read(*svc, actor, subject, id, message, now); };
            co_return Response::json(co_await svc->database.workers().run(std::move(job)));
        },
        http::authenticated(kBodyLimit));
}

}  // namespace motorpool::support
