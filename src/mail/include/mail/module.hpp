#pragma once
// The mail module: the outbox and the thread that delivers it over SMTP.

#include <memory>

#include "mail/mail.hpp"
#include "platform/module.hpp"

namespace motorpool::mail {

class Module final : public platform::Module {
public:
    std::string_view name() const override { return "mail"; }
    void configure(core::Settings& settings) override;
    std::vector<db::Migration> migrations(db::Dialect dialect) const override;
    void install(platform::Context& context) override;
    void start(const platform::Started& started) override;
    void stop() override;

    /// After install().
    Mailer& mailer() { return *mailer_; }

private:
    MailerOptions options_;
    std::unique_ptr<Mailer> mailer_;
};

}  // namespace motorpool::mail
