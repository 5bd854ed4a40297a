#pragma once
// Notifications to a user through one interface: each channel that can reach the user queues the
// notification in the caller's transaction, so it goes out only if that commits. E-mail (the
// outbox) is the channel there is today; push channels (APNs, FCM, to the push tokens of the
// user's devices) need outside services out of reach here and are added behind the same interface.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "db/db.hpp"
#include "mail/mail.hpp"
#include "platform/module.hpp"

namespace motorpool::notify {

struct Notification {
    std::int64_t user_id = 0;
    std::string subject;                        // one line: an e-mail's subject, a push notification's title
    std::string body;                           // plain text
    std::vector<mail::Attachment> attachments;  // for channels that carry files (e-mail)
};

class Channel {
public:
    virtual ~Channel() = default;
    virtual std::string_view name() const = 0;
    /// Queues `notification` in `connection`'s transaction; false when this channel cannot reach
    /// the user (no address, no device).
    virtual bool deliver(db::Connection& connection, const Notification& notification, std::int64_t now_ms) = 0;
};

/// E-mail through the outbox, to the user's address.
class EmailChannel final : public Channel {
public:
    std::string_view name() const override { return "email"; }
    bool deliver(db::Connection& connection, const Notification& notification, std::int64_t now_ms) override;
};

class Notifier {
public:
    Notifier();  // with the e-mail channel
    void add_channel(std::unique_ptr<Channel> channel);
    /// Queues the notification through every channel that reaches the user; the names of those
    /// that did (empty: the user could not be reached).
    std::vector<std::string> notify(db::Connection& connection,
                                    const Notification& notification,
                                    std::int64_t now_ms) const;

private:
    std::vector<std::unique_ptr<Channel>> channels_;
};

/// The module holding the server's notifier (no routes, no tables of its own).
class Module final : public platform::Module {
public:
    std::string_view name() const override { return "notify"; }
    void install(platform::Context& /*context*/) override {}
    Notifier& notifier() { return notifier_; }

private:
    Notifier notifier_;
};

}  // namespace motorpool::notify
