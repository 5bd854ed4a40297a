#pragma once
// The auth module: accounts, tokens, the authentication hook of every route.

#include <memory>

#include "auth/auth.hpp"
#include "mail/module.hpp"
#include "platform/module.hpp"

namespace motorpool::auth {

class Module final : public platform::Module {
public:
    /// Mail: magic links and notices go through its outbox.
    explicit Module(mail::Module& mail) : mail_(mail) {}

    std::string_view name() const override { return "auth"; }
    void configure(core::Settings& settings) override;
    std::vector<db::Migration> migrations(db::Dialect dialect) const override;
    void install(platform::Context& context) override;
    void start(const platform::Started& started) override;

    /// After configure().
    const AuthOptions& options() const { return options_; }
    /// After install().
    AuthService& service() { return *service_; }
    /// After install(), before the server starts: told of every registration (referrals).
    void on_registered(RegisteredHook hook);
    /// After install(), before the server starts: fills the user object's `membership`.
    void on_user_details(UserDetailsHook hook);

private:
    mail::Module& mail_;
    AuthOptions options_;
    std::shared_ptr<AuthService> service_;
};

}  // namespace motorpool::auth
