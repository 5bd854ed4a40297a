#include "notify/notify.hpp"

namespace motorpool::notify {

bool EmailChannel::deliver(db::Connection& c, const Notification& n, std::int64_t now_ms) {
    auto user = c.query("SELECT email FROM users WHERE id = $1", {n.user_id});
    if (user.empty()) {
        return false;
    }
    mail::enqueue(c, user.row(0).text(0), n.subject, n.body, now_ms, n.attachments);
    return true;
}

Notifier::Notifier() {
    channels_.push_back(std::make_unique<EmailChannel>());
}

void Notifier::add_channel(std::unique_ptr<Channel> channel) {
    channels_.push_back(std::move(channel));
}

std::vector<std::string> Notifier::notify(db::Connection& c, const Notification& n, std::int64_t now_ms) const {
    std::vector<std::string> used;
    for (const auto& channel : channels_) {
        if (channel->deliver(c, n, now_ms)) {
            used.emplace_back(channel->name());
        }
    }
    return used;
}

}  // namespace motorpool::notify
