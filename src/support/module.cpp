#include "support/module.hpp"

#include "auth/auth.hpp"
#include "core/config.hpp"
#include "core/errors.hpp"
#include "routes.hpp"

namespace motorpool::support {

Module::Module(live::Module& live, files::Module& files, notify::Notifier& notifier)
    : live_(live), notifier_(notifier) {
    files.add_referrer({"chat_attachment", "chat_message_files", "file_id"});
}
Module::~Module() = default;

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return support::migrations(dialect);
}

namespace {

bool is_support_staff(const http::Principal& who) {
    auto role = auth::role_from_name(who.role);
    return role && (*role == auth::Role::Support || *role == auth::Role::Admin);
}

}  // namespace

void Module::configure(core::Settings& s) {
    messages_per_minute_ = s.integer("MOTORPOOL_CHAT_MESSAGES_PER_MINUTE",
                                     messages_per_minute_,
                                     1,
                                     100'000,
                                     "Chat messages (and new threads) a user may send per minute (429 past it)");
}

void Module::install(platform::Context& context) {
    services_ = std::make_shared<Services>(
        context.database, context.events, context.clock, live_.hub(), notifier_, messages_per_minute_);
    install_routes(context.router, services_);
    install_frames(live_.hub(), services_);
    auto& database = context.database;
    // chat.thread.<id>: the thread's member, support and admins.
    live::add_topic(live_.hub(), "chat.thread.", [&database](const http::Principal& who, std::string_view id) {
        auto rows = database.with_reader([&](db::Connection& c) {
            return c.query("SELECT member_id FROM chat_threads WHERE public_id = $1", {std::string(id)});
        });
        if (rows.empty() || (rows.front().int64(0) != who.user_id && !is_support_staff(who))) {
            throw core::ApiError::not_found("Thread");
        }
    });
    // support.inbox: new threads and every message, for support and admins.
    live::add_stream(live_.hub(), "support.inbox", "support.inbox", [](const http::Principal& who, std::string_view) {
        if (!is_support_staff(who)) {
            throw core::ApiError::forbidden("The support inbox is for support and admins");
        }
    });
}

}  // namespace motorpool::support
