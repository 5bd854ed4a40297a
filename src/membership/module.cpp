#include "membership/module.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/errors.hpp"
#include "core/time.hpp"
#include "routes.hpp"

namespace motorpool::membership {

Module::Module(live::Module& live, booking::Module& booking, auth::Module& auth)
    : live_(live), booking_(booking), auth_(auth) {}
Module::~Module() = default;

void Module::configure(core::Settings& s) {
    s.module("membership");
    provider_name_ = s.string("MOTORPOOL_PAYMENT_PROVIDER",
                              provider_name_,
                              "Who settles membership charges: development (settles at once; the only one built in)");
    referrer_reward_cents_ = s.integer("MOTORPOOL_REFERRAL_REWARD_CENTS",
                                       referrer_reward_cents_,
                                       0,
                                       1'000'000,
                                       "Rewards a referrer earns when the member they referred first pays");
    referred_reward_cents_ = s.integer("MOTORPOOL_REFERRAL_WELCOME_CENTS",
                                       referred_reward_cents_,
                                       0,
                                       1'000'000,
                                       "Rewards a referred member earns at their first paid action");
    referral_cap_ = s.integer("MOTORPOOL_REFERRAL_MONTHLY_CAP",
                              referral_cap_,
                              0,
                              10'000,
                              "Referrals a referrer is rewarded for per calendar month");
    if (provider_name_ != "development") {
        s.fail("MOTORPOOL_PAYMENT_PROVIDER",
               "must be development (a real provider is an implementation of PaymentProvider)");
    }
}

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return membership::migrations(dialect);
}

void Module::start(const platform::Started& started) {
    services_->link_base = platform::with_bound_port(services_->link_base, started);
}

void Module::install(platform::Context& context) {
    services_ = std::make_shared<Services>(
        Services{context.database,
                 context.events,
                 context.clock,
                 development_provider(),
                 ReferralRules{referrer_reward_cents_, referred_reward_cents_, referral_cap_},
                 auth_.options().frontend_url.empty() ? auth_.options().public_url : auth_.options().frontend_url});
    install_routes(context.router, services_);
    install_offer_routes(context.router, services_);
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
    // The user object's `membership` (the current plan, or null), `referral_code` and
    // `rewards_balance` (currency units, derived from the ledger).
    auth_.on_user_details([](db::Connection& c, std::int64_t user) -> std::string {
        boost::json::object details;
        auto rows = c.query(
            "SELECT p.code, p.name, m.status, m.period_end_ms FROM memberships m JOIN membership_plans p ON p.id = "
            "m.plan_id WHERE m.user_id = $1 AND m.status <> 'expired'",
            {user});
        if (rows.empty()) {
            details["membership"] = nullptr;
        } else {
            auto r = rows.row(0);
            details["membership"] = boost::json::object{{"plan_code", r.text(0)},
                                                        {"plan_name", r.text(1)},
                                                        {"status", r.text(2)},
                                                        {"period_end", core::format_rfc3339(r.int64(3))}};
        }
        auto code = referral_code_of(c, user);
        details["referral_code"] = code ? boost::json::value(*code) : boost::json::value(nullptr);
        details["rewards_balance"] = static_cast<double>(rewards_balance(c, user)) / 100.0;
        return boost::json::serialize(details);
    });
    // Every new user gets a code; a code they gave records a referral (an unknown one refuses the
    // registration, so a typo is not silently lost).
    auth_.on_registered(
        [](db::Connection& c, std::int64_t user, const std::optional<std::string>& given, std::int64_t now) {
            ensure_referral_code(c, user, now);
            if (given) {
                auto referrer = referrer_by_code(c, *given);
                if (!referrer) {
                    throw core::ApiError::validation({{"referral_code", "is not a known referral code"}});
                }
                record_referral(c, user, *referrer, now);
            }
        });
    booking_.on_completed([services](db::Connection& c, std::int64_t user, std::int64_t price, std::int64_t now) {
        if (price > 0) {
            credit_referral(c, services->referrals, user, "appointment", now);  // a first paid appointment
        }
    });
    booking_.set_rewards({spend_rewards, refund_rewards});
    (void)live_;  // member.<id> (the booking module's topic) carries MEMBERSHIP frames too
}

}  // namespace motorpool::membership
