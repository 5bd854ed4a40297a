#pragma once
// Outgoing e-mail: modules queue messages in the mail_outbox table inside their own transaction;
// the Mailer delivers them by SMTP (libcurl) or, in development without SMTP, writes them to the log.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/time.hpp"
#include "db/db.hpp"

namespace motorpool::mail {

/// This module's migrations (src/mail/migrations), for db::migrate in the App's module order.
std::vector<db::Migration> migrations(db::Dialect dialect);

/// A file sent with a message (text content, such as an iCalendar event; sent base64-encoded).
struct Attachment {
    std::string filename;      // plain ASCII, no path
    std::string content_type;  // such as "text/calendar; charset=utf-8; method=PUBLISH"
    std::string content;
};

/// Queues one plain-text message, with attachments if any; call inside the caller's transaction so
/// it is sent only if that commits.
void enqueue(db::Connection& connection,
             const std::string& recipient,
             const std::string& subject,
             const std::string& body,
             std::int64_t now_ms,
             const std::vector<Attachment>& attachments = {});

struct MailerOptions {
    std::string smtp_url;                      // MOTORPOOL_SMTP_URL: smtp://user:pass@host:587 or smtps://...
    std::string from = "motorpool@localhost";  // MOTORPOOL_MAIL_FROM
    bool log_when_no_smtp = false;             // development: the message goes to the log instead
    std::chrono::milliseconds poll_interval{5000};
    int max_attempts = 5;
    std::shared_ptr<core::Clock> clock;  // claims and sent times; null: the system clock
};

class Mailer {
public:
    Mailer(db::Database& database, MailerOptions options);
    ~Mailer();
    Mailer(const Mailer&) = delete;
    Mailer& operator=(const Mailer&) = delete;

    /// Starts the delivery thread: a round every poll_interval, or at once after notify().
    void start();
    /// Asks for a delivery round now (after queueing a message).
    void notify();
    /// Finishes the current round and joins the thread; call before the database closes.
    void stop();
    /// Delivers what is due, blocking; returns how many messages were sent. Used by the loop and tests.
    int deliver_due();

private:
    struct State;
    std::shared_ptr<State> state_;
};

}  // namespace motorpool::mail
