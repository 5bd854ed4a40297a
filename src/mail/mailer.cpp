#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>

#include <boost/json.hpp>
#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include "core/config.hpp"
#include "core/ids.hpp"
#include "core/threads.hpp"
#include "core/time.hpp"
#include "mail/mail.hpp"

namespace motorpool::mail {

void enqueue(db::Connection& connection,
             const std::string& recipient,
             const std::string& subject,
             const std::string& body,
             std::int64_t now_ms,
             const std::vector<Attachment>& attachments) {
    db::Value files;
    if (!attachments.empty()) {
        boost::json::array list;
        for (const auto& a : attachments) {
            list.push_back(boost::json::object{
                {"filename", a.filename}, {"content_type", a.content_type}, {"content", a.content}});
        }
        files = boost::json::serialize(list);
    }
    connection.execute(
        "INSERT INTO mail_outbox (recipient, subject, body, created_at_ms, attachments) VALUES ($1, $2, $3, $4, $5)",
        {recipient, subject, body, now_ms, files});
}

namespace {

struct Message {
    std::int64_t id;
    std::string recipient;
    std::string subject;
    std::string body;
    std::vector<Attachment> attachments;
};

std::vector<Attachment> attachments_from(const std::optional<std::string>& text) {
    std::vector<Attachment> out;
    if (!text) {
        return out;
    }
    boost::system::error_code ec;
    auto list = boost::json::parse(*text, ec);
    if (ec || !list.is_array()) {
        return out;
    }
    for (const auto& a : list.as_array()) {
        if (const auto* o = a.if_object();
            o && o->contains("filename") && o->contains("content_type") && o->contains("content")) {
            out.push_back({std::string(o->at("filename").as_string()),
                           std::string(o->at("content_type").as_string()),
                           std::string(o->at("content").as_string())});
        }
    }
    return out;
}

// Header values come from our own code, but a CR or LF must never reach the SMTP stream.
std::string header_safe(std::string value) {
    for (char& c : value) {
        if (c == '\r' || c == '\n') {
            c = ' ';
        }
    }
    return value;
}

std::string angle(const std::string& address) {
    std::string out;
    out.reserve(address.size() + 2);
    out += '<';
    out += header_safe(address);
    out += '>';
    return out;
}

std::string rfc5322_date() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    return std::string(buf, std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm));
}

struct Payload {
    std::string data;
    std::size_t offset = 0;
};

std::size_t read_payload(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* payload = static_cast<Payload*>(user);
    std::size_t n = std::min(size * count, payload->data.size() - payload->offset);
    // A byte range for libcurl, not a C string.
    std::memcpy(buffer, payload->data.data() + payload->offset, n);  // NOLINT(bugprone-not-null-terminated-result)
    payload->offset += n;
    return n;
}

// Sends one message; returns an empty string on success, else a reason without credentials.
std::string send_smtp(const MailerOptions& options, const Message& m) {
    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
        return "curl_easy_init failed";
    }
    Payload payload;
    const std::string domain = options.from.substr(options.from.find('@') + 1);
    // Built with += rather than "literal" + string: g++ 12 -O3 reports a bogus -Wrestrict on the latter.
    std::string headers;
    headers += "Date: ";
    headers += rfc5322_date();
    headers += "\r\nTo: ";
    headers += angle(m.recipient);
    headers += "\r\nFrom: ";
    headers += angle(options.from);
    headers += "\r\nMessage-ID: ";
    headers += angle(core::new_uuid_v7() + "@" + header_safe(domain));
    headers += "\r\nSubject: ";
    headers += header_safe(m.subject);
    // Dot-stuffing is libcurl's job for SMTP uploads; line endings must be CRLF.
    std::string body;
    for (char c : m.body) {
        if (c == '\n') {
            body += "\r\n";
        } else if (c != '\r') {
            body += c;
        }
    }
    body += "\r\n";
    curl_slist* header_list = nullptr;
    curl_mime* mime = nullptr;
    if (m.attachments.empty()) {
        payload.data = headers + "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body;
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_payload);
        curl_easy_setopt(curl, CURLOPT_READDATA, &payload);
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    } else {
        // multipart/mixed by libcurl's MIME API: the text, then each file base64-encoded.
        std::size_t start = 0;
        while (start < headers.size()) {
            std::size_t end = headers.find("\r\n", start);
            if (end == std::string::npos) {
                end = headers.size();
            }
            header_list = curl_slist_append(header_list, headers.substr(start, end - start).c_str());
            start = end + 2;
        }
        mime = curl_mime_init(curl);
        curl_mimepart* text = curl_mime_addpart(mime);
        curl_mime_data(text, body.data(), body.size());
        curl_mime_type(text, "text/plain; charset=utf-8");
        for (const auto& a : m.attachments) {
            curl_mimepart* part = curl_mime_addpart(mime);
            curl_mime_data(part, a.content.data(), a.content.size());
            curl_mime_type(part, header_safe(a.content_type).c_str());
            curl_mime_filename(part, header_safe(a.filename).c_str());
            curl_mime_encoder(part, "base64");
        }
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
        curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
    }
    const std::string to = angle(m.recipient);
    curl_slist* recipients = curl_slist_append(nullptr, to.c_str());
    const std::string from = angle(options.from);
    curl_easy_setopt(curl, CURLOPT_URL, options.smtp_url.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, recipients);
    curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));  // STARTTLS when offered
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(recipients);
    curl_easy_cleanup(curl);
    curl_mime_free(mime);
    curl_slist_free_all(header_list);
    return rc == CURLE_OK ? std::string() : std::string(curl_easy_strerror(rc));
}

}  // namespace

struct Mailer::State {
    db::Database& database;
    MailerOptions options;
    std::mutex deliver_mutex;  // one delivery round at a time per node
    bool warned_no_smtp = false;
    std::mutex wake_mutex;
    std::condition_variable wake;
    bool pending = false;
    bool stopping = false;
    std::thread thread;

    State(db::Database& d, MailerOptions o) : database(d), options(std::move(o)) {
        if (!options.clock) {
            options.clock = std::make_shared<core::SystemClock>();
        }
    }

    int deliver_due() {
        std::lock_guard lock(deliver_mutex);
        const std::int64_t now = options.clock->now_ms();
        const bool smtp = !options.smtp_url.empty();
        if (!smtp && !options.log_when_no_smtp) {
            auto queued = database.with_reader([](db::Connection& c) {
                return c.query("SELECT COUNT(*) FROM mail_outbox WHERE sent_at_ms IS NULL").front().int64(0);
            });
            if (queued > 0 && !warned_no_smtp) {
                warned_no_smtp = true;
                spdlog::warn("{} e-mail(s) queued but MOTORPOOL_SMTP_URL is not set; they stay in the outbox", queued);
            }
            return 0;
        }
        // Claim a batch for a minute: a claim that lapses (crash) is picked up again. PostgreSQL:
        // rows another node is claiming are skipped, not waited for (nor deadlocked on).
        const bool pg = database.dialect() == db::Dialect::Postgres;
        auto rows = database.with_transaction([&](db::Connection& c) {
            return c.query(
                std::string("UPDATE mail_outbox SET locked_until_ms = $1, attempts = attempts + 1 "
                            "WHERE sent_at_ms IS NULL AND attempts < $2 AND (locked_until_ms IS NULL OR "
                            "locked_until_ms < $3) AND id IN (SELECT id FROM mail_outbox WHERE sent_at_ms IS NULL "
                            "AND attempts < $2 AND (locked_until_ms IS NULL OR locked_until_ms < $3) ORDER BY id "
                            "LIMIT 20") +
                    (pg ? " FOR UPDATE SKIP LOCKED" : "") + ") RETURNING id, recipient, subject, body, attachments",
                {now + 60'000, std::int64_t{options.max_attempts}, now});
        });
        int sent = 0;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            auto row = rows.row(i);
            Message m{row.int64(0), row.text(1), row.text(2), row.text(3), attachments_from(row.opt_text(4))};
            std::string error;
            if (smtp) {
                error = send_smtp(options, m);
            } else {
                // Development without SMTP: the log is the mailbox.
                std::string files;
                for (const auto& a : m.attachments) {
                    files += "\n[attached: " + a.filename + ", " + a.content_type + ", " +
                             std::to_string(a.content.size()) + " bytes]";
                }
                spdlog::info(
                    "mail to {} (development, no MOTORPOOL_SMTP_URL): {}\n{}{}", m.recipient, m.subject, m.body, files);
            }
            database.with_transaction([&](db::Connection& c) {
                if (error.empty()) {
                    c.execute(
                        "UPDATE mail_outbox SET sent_at_ms = $1, locked_until_ms = NULL, last_error = NULL "
                        "WHERE id = $2",
                        {options.clock->now_ms(), m.id});
                } else {
                    c.execute("UPDATE mail_outbox SET locked_until_ms = NULL, last_error = $1 WHERE id = $2",
                              {error, m.id});
                }
            });
            if (error.empty()) {
                ++sent;
            } else {
                spdlog::warn("mail {} not delivered: {}", m.id, error);
            }
        }
        return sent;
    }
};

Mailer::Mailer(db::Database& database, MailerOptions options)
    : state_(std::make_shared<State>(database, std::move(options))) {
    // Only with SMTP configured: initialising libcurl initialises OpenSSL, whose pages alone are
    // ~3 MB of resident memory a server without outgoing mail need not carry.
    if (!state_->options.smtp_url.empty()) {
        static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
        (void)global;
    }
}

Mailer::~Mailer() {
    stop();
}

int Mailer::deliver_due() {
    return state_->deliver_due();
}

void Mailer::start() {
    // Its own thread rather than a timer coroutine: SMTP round trips are slow and blocking, and a
    // thread that is joined in stop() cannot outlive the database or an io_context at shutdown.
    state_->thread = std::thread([state = state_.get()] {
        core::name_this_thread("mp-mail");
        std::unique_lock lock(state->wake_mutex);
        while (!state->stopping) {
            state->pending = false;
            lock.unlock();
            try {
                state->deliver_due();
            } catch (const std::exception& e) {
                spdlog::warn("mail delivery round failed: {}", e.what());
            }
            lock.lock();
            state->wake.wait_for(
                lock, state->options.poll_interval, [state] { return state->pending || state->stopping; });
        }
    });
}

void Mailer::notify() {
    {
        std::lock_guard lock(state_->wake_mutex);
        state_->pending = true;
    }
    state_->wake.notify_one();
}

void Mailer::stop() {
    {
        std::lock_guard lock(state_->wake_mutex);
        state_->stopping = true;
    }
    state_->wake.notify_one();
    if (state_->thread.joinable()) {
        state_->thread.join();
    }
}

}  // namespace motorpool::mail
