#pragma once
// What the membership routes and jobs share.

#include <memory>

#include "core/event_bus.hpp"
#include "core/time.hpp"
#include "db/db.hpp"
#include "http/router.hpp"
#include "membership/payment.hpp"
#include "referrals.hpp"

namespace motorpool::membership {

struct Services {
    db::Database& database;
    core::EventBus& events;
    std::shared_ptr<core::Clock> clock;
    std::unique_ptr<PaymentProvider> payments;
    ReferralRules referrals;
    std::string link_base;  // FRONTEND_URL (or the public URL): links are <base>/r/<code>
};

void install_routes(http::Router& router, const std::shared_ptr<Services>& services);
/// /api/v1/offers (offers.cpp).
void install_offer_routes(http::Router& router, const std::shared_ptr<Services>& services);
/// Ends cancelled memberships at their period's end and renews active ones (applying a pending
/// downgrade and charging the next period). Blocking; returns the memberships changed.
std::size_t renew_due(Services& services);

}  // namespace motorpool::membership
