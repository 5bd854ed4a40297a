#include "membership/module.hpp"

#include <spdlog/spdlog.h>

#include "routes.hpp"

namespace motorpool::membership {

Module::Module(live::Module& live, booking::Module& booking) : live_(live), booking_(booking) {}
Module::~Module() = default;

void Module::configure(core::Settings& s) {
    s.module("membership");
    provider_name_ = s.string("MOTORPOOL_PAYMENT_PROVIDER",
                              provider_name_,
                              "Who settles membership charges: development (settles at once; the only one built in)");
    if (provider_name_ != "development") {
        s.fail("MOTORPOOL_PAYMENT_PROVIDER",
               "must be development (a real provider is an implementation of PaymentProvider)");
    }
}

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return membership::migrations(dialect);
}

void Module::install(platform::Context& context) {
    services_ =
        std::make_shared<Services>(Services{context.database, context.events, context.clock, development_provider()});
    install_routes(context.router, services_);
    // Bookings price each service for the member's plan: included while the yearly allowance lasts.
    booking_.set_pricing(
        [](db::Connection& c, std::int64_t user, const std::string& code, std::int64_t price, std::int64_t at) {
            const MemberPrice p = price_for(c, user, code, price, at);
            return booking::ServicePrice{p.price_cents, p.included};
        });
    auto services = services_;
    context.jobs.add({"membership.renewal",
                      std::chrono::minutes(1),
                      std::chrono::seconds(20),
                      true,
                      [services](const std::atomic<bool>&) {
                          if (auto n = renew_due(*services); n > 0) {
                              spdlog::info("membership: renewed or ended {} membership(s)", n);
                          }
                      }});
    (void)live_;  // member.<id> (the booking module's topic) carries MEMBERSHIP frames too
}

}  // namespace motorpool::membership
