#pragma once
// The support module: chat threads between a member and the support team, their messages with
// attachments (files), read positions, and the live frames on `chat.thread.<id>` and
// `support.inbox`.

#include <memory>

#include "files/module.hpp"
#include "live/module.hpp"
#include "notify/notify.hpp"
#include "platform/module.hpp"
#include "support/support.hpp"

namespace motorpool::support {

struct Services;

class Module final : public platform::Module {
public:
    /// Files: chat attachments are referred to by messages (unsent ones are cleaned up).
    /// Notifier: a reply reaches a member with no socket open.
    Module(live::Module& live, files::Module& files, notify::Notifier& notifier);
    ~Module() override;

    std::string_view name() const override { return "support"; }
    void configure(core::Settings& settings) override;
    std::vector<db::Migration> migrations(db::Dialect dialect) const override;
    void install(platform::Context& context) override;

private:
    live::Module& live_;
    notify::Notifier& notifier_;
    std::int64_t messages_per_minute_ = 60;  // per user (MOTORPOOL_CHAT_MESSAGES_PER_MINUTE)
    std::shared_ptr<Services> services_;
};

}  // namespace motorpool::support
