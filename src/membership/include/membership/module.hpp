#pragma once
// The membership module: plans, each member's membership (subscribe, upgrade now, downgrade at the
// period's end, cancel at the period's end, renewal), the ledger of charges through a payment
// provider, and the prices of included services in bookings.

#include <memory>

#include "auth/module.hpp"
#include "booking/module.hpp"
#include "live/module.hpp"
#include "membership/membership.hpp"
#include "membership/payment.hpp"
#include "platform/module.hpp"

namespace motorpool::membership {

struct Services;

class Module final : public platform::Module {
public:
    /// Auth: referrals are recorded at registration; booking: included services are priced, and a
    /// completed paid appointment credits a referral.
    Module(live::Module& live, booking::Module& booking, auth::Module& auth);
    ~Module() override;

    std::string_view name() const override { return "membership"; }
    void configure(core::Settings& settings) override;
    std::vector<db::Migration> migrations(db::Dialect dialect) const override;
    void install(platform::Context& context) override;
    void start(const platform::Started& started) override;

private:
    live::Module& live_;
    booking::Module& booking_;
    auth::Module& auth_;
    std::string provider_name_ = "development";
    std::int64_t referrer_reward_cents_ = 1000;
    std::int64_t referred_reward_cents_ = 500;
    std::int64_t referral_cap_ = 10;
    std::shared_ptr<Services> services_;
};

}  // namespace motorpool::membership
