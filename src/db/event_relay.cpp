// The PostgreSQL event relay: NOTIFY on one connection (a sender thread drains a queue, so
// publishers never wait on the network), LISTEN on another (a listener thread polls its socket).

#include "db/event_relay.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string_view>
#include <thread>

#include <boost/json.hpp>
#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include "core/ids.hpp"
#include "core/threads.hpp"
#include "core/time.hpp"

namespace motorpool::db {

namespace json = boost::json;

namespace {

constexpr const char* kChannel = "motorpool_events";
constexpr std::size_t kMaxNotifyBytes = 7900;  // PostgreSQL's limit is 8000 bytes per payload
constexpr std::size_t kMaxQueued = 100'000;

PGconn* connect(const std::string& conninfo) {
    const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
    const char* values[] = {"10", "motorpool-events", conninfo.c_str(), nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, 1);
    if (PQstatus(conn) != CONNECTION_OK) {
        PQfinish(conn);
        return nullptr;
    }
    // Server notices ("terminating connection due to immediate shutdown") go to the log, one line
    // at debug level, never raw to stderr (which would break JSON logs).
    PQsetNoticeProcessor(
        conn,
        [](void*, const char* message) {
            const std::string_view text(message);
            spdlog::debug("PostgreSQL notice (events): {}", text.substr(0, text.find('\n')));
        },
        nullptr);
    return conn;
}

bool exec_ok(PGconn* conn, const char* sql, int n = 0, const char* const* params = nullptr) {
    PGresult* r = PQexecParams(conn, sql, n, nullptr, params, nullptr, nullptr, 0);
    bool ok = r != nullptr && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
    PQclear(r);
    return ok;
}

}  // namespace

struct PgEventRelay::Impl {
    Impl(std::string info, core::EventBus& b) : conninfo(std::move(info)), bus(b) {}
    std::string conninfo;
    core::EventBus& bus;
    std::string node = core::new_request_id();  // this process: its own notifications are skipped
    core::Counter* sent = nullptr;
    core::Counter* received = nullptr;
    core::Counter* dropped = nullptr;

    std::mutex mutex;
    std::condition_variable changed;
    std::deque<core::Event> queue;
    bool stopping = false;
    bool listening = false;
    std::thread sender;
    std::thread listener;

    void enqueue(const core::Event& event) {
        std::lock_guard lock(mutex);
        if (queue.size() >= kMaxQueued) {
            if (dropped != nullptr) {
                dropped->inc();
            }
            return;
        }
        queue.push_back(event);
        changed.notify_one();
    }

    void send_loop() {
        PGconn* conn = nullptr;
        std::unique_lock lock(mutex);
        while (true) {
            changed.wait(lock, [&] { return stopping || !queue.empty(); });
            if (queue.empty()) {
                break;  // stopping, and everything was sent
            }
            core::Event event = std::move(queue.front());
            queue.pop_front();
            lock.unlock();
            if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
                PQfinish(conn);
                conn = connect(conninfo);
            }
            if (conn != nullptr) {
                std::string message = json::serialize(json::object{
                    {"node", node}, {"topic", event.topic}, {"type", event.type}, {"payload", event.payload}});
                if (message.size() > kMaxNotifyBytes) {
                    // Too large for NOTIFY: store it, send its id. Rows older than an hour go.
                    const char* p[] = {message.c_str()};
                    PGresult* r = PQexecParams(conn,
                                               "INSERT INTO event_payloads (body, created_at_ms) VALUES ($1, "
                                               "(extract(epoch from now()) * 1000)::bigint) RETURNING id",
                                               1,
                                               nullptr,
                                               p,
                                               nullptr,
                                               nullptr,
                                               0);
                    std::string id = PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "";
                    PQclear(r);
                    exec_ok(conn,
                            "DELETE FROM event_payloads WHERE created_at_ms < (extract(epoch from now()) * "
                            "1000)::bigint - 3600000");
                    message = json::serialize(json::object{{"node", node}, {"ref", id}});
                }
                const char* params[] = {kChannel, message.c_str()};
                if (exec_ok(conn, "SELECT pg_notify($1, $2)", 2, params)) {
                    if (sent != nullptr) {
                        sent->inc();
                    }
                } else if (dropped != nullptr) {
                    dropped->inc();
                }
            }
            lock.lock();
        }
        PQfinish(conn);
    }

    void deliver(PGconn* conn, const char* text) {
        boost::system::error_code ec;
        json::value v = json::parse(text, ec);
        if (ec || !v.is_object()) {
            return;
        }
        json::object o = v.as_object();
        if (o.contains("node") && o.at("node") == json::value(node)) {
            return;  // delivered locally when it was published
        }
        if (o.contains("ref") && o.at("ref").is_string()) {
            std::string id(o.at("ref").as_string());
            const char* p[] = {id.c_str()};
            PGresult* r = PQexecParams(
                conn, "SELECT body FROM event_payloads WHERE id = $1::bigint", 1, nullptr, p, nullptr, nullptr, 0);
            std::string body = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "";
            PQclear(r);
            v = json::parse(body, ec);
            if (ec || !v.is_object()) {
                return;
            }
            o = v.as_object();
        }
        auto text_of = [&](const char* key) {
            return o.contains(key) && o.at(key).is_string() ? std::string(o.at(key).as_string()) : std::string();
        };
        core::Event event{text_of("topic"), text_of("type"), text_of("payload")};
        if (received != nullptr) {
            received->inc();
        }
        bus.deliver_local(event);
    }

    void listen_loop() {
        int backoff_ms = 200;
        while (true) {
            {
                std::lock_guard lock(mutex);
                if (stopping) {
                    return;
                }
            }
            PGconn* conn = connect(conninfo);
            if (conn == nullptr || !exec_ok(conn, "LISTEN motorpool_events")) {
                PQfinish(conn);
                std::unique_lock lock(mutex);
                changed.wait_for(lock, std::chrono::milliseconds(backoff_ms), [&] { return stopping; });
                backoff_ms = std::min(backoff_ms * 2, 5000);
                continue;
            }
            backoff_ms = 200;
            {
                std::lock_guard lock(mutex);
                listening = true;
            }
            changed.notify_all();
            while (true) {
                {
                    std::lock_guard lock(mutex);
                    if (stopping) {
                        PQfinish(conn);
                        return;
                    }
                }
                pollfd fd{PQsocket(conn), POLLIN, 0};
                if (::poll(&fd, 1, 250) < 0 || PQconsumeInput(conn) == 0) {
                    spdlog::warn("event relay: lost the LISTEN connection; reconnecting");
                    break;
                }
                while (PGnotify* n = PQnotifies(conn)) {
                    deliver(conn, n->extra);
                    PQfreemem(n);
                }
            }
            PQfinish(conn);
        }
    }
};

PgEventRelay::PgEventRelay(std::string conninfo, core::EventBus& bus, core::MetricsRegistry* metrics)
    : impl_(std::make_unique<Impl>(std::move(conninfo), bus)) {
    if (metrics != nullptr) {
        impl_->sent =
            &metrics->counter("motorpool_events_relayed_total", "Events sent to other nodes", {{"direction", "out"}});
        impl_->received = &metrics->counter(
            "motorpool_events_relayed_total", "Events received from other nodes", {{"direction", "in"}});
        impl_->dropped =
            &metrics->counter("motorpool_events_relay_dropped_total", "Events not relayed (queue full or failure)");
    }
}

PgEventRelay::~PgEventRelay() {
    stop();
}

void PgEventRelay::start() {
    impl_->listener = std::thread([impl = impl_.get()] {
        core::name_this_thread("mp-pg-listen");
        impl->listen_loop();
    });
    impl_->sender = std::thread([impl = impl_.get()] {
        core::name_this_thread("mp-pg-notify");
        impl->send_loop();
    });
    impl_->bus.set_relay([impl = impl_.get()](const core::Event& event) { impl->enqueue(event); });
    std::unique_lock lock(impl_->mutex);
    impl_->changed.wait_for(lock, std::chrono::seconds(5), [&] { return impl_->listening; });
}

void PgEventRelay::stop() {
    {
        std::lock_guard lock(impl_->mutex);
        if (impl_->stopping) {
            return;
        }
        impl_->stopping = true;
    }
    impl_->changed.notify_all();
    if (impl_->sender.joinable()) {
        impl_->sender.join();
    }
    if (impl_->listener.joinable()) {
        impl_->listener.join();
    }
}

}  // namespace motorpool::db
