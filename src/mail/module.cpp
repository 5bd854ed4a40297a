#include "mail/module.hpp"

namespace motorpool::mail {

void Module::configure(core::Settings& s) {
    s.module("mail");
    options_.smtp_url = s.url(
        "MOTORPOOL_SMTP_URL", "", "smtp(s)://[user:pass@]host:port; unset: mail stays queued (logged in development)");
    options_.from = s.string("MOTORPOOL_MAIL_FROM", options_.from, "Sender address of the mail sent");
}

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return mail::migrations(dialect);
}

void Module::install(platform::Context& context) {
    options_.log_when_no_smtp = context.core.env == "development";
    options_.clock = context.clock;
    mailer_ = std::make_unique<Mailer>(context.database, options_);
}

void Module::start(const platform::Started& /*started*/) {
    mailer_->start();
}

void Module::stop() {
    if (mailer_) {
        mailer_->stop();
    }
}

}  // namespace motorpool::mail
