#pragma once
// The booking module: service locations, the service catalogue, availability and appointments
// (never more overlapping appointments than bays, enforced in the booking transaction), and each
// vehicle's service history. The membership module prices services for a member's plan through
// `pricing()`.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "booking/booking.hpp"
#include "live/module.hpp"
#include "platform/module.hpp"

namespace motorpool::booking {

struct Services;

/// A member's price for a service at a time, decided by another module (membership: included in
/// the plan's yearly allowance or not). Runs inside the booking transaction.
struct ServicePrice {
    std::int64_t price_cents = 0;
    bool included = false;
};
using PricingHook = std::function<ServicePrice(db::Connection& c,
                                               std::int64_t user_id,
                                               const std::string& service_code,
                                               std::int64_t list_price_cents,
                                               std::int64_t at_ms)>;

/// Called inside the transaction that completes an appointment (a referral's first paid action).
using CompletedHook =
    std::function<void(db::Connection& c, std::int64_t user_id, std::int64_t price_cents, std::int64_t now_ms)>;

/// Rewards paying part of an appointment, kept by another module (membership's ledger). Both run
/// inside the booking transaction. `spend` takes `amount_cents` from the member's balance for the
/// appointment (an ApiError when the balance is short); `refund` gives back what it took.
struct RewardsHooks {
    std::function<void(db::Connection& c,
                       std::int64_t user_id,
                       std::int64_t amount_cents,
                       const std::string& appointment_id,
                       std::int64_t now_ms)>
        spend;
    std::function<void(db::Connection& c,
                       std::int64_t user_id,
                       std::int64_t amount_cents,
                       const std::string& appointment_id,
                       std::int64_t now_ms)>
        refund;
};

class Module final : public platform::Module {
public:
    explicit Module(live::Module& live);
    ~Module() override;

    std::string_view name() const override { return "booking"; }
    std::vector<db::Migration> migrations(db::Dialect dialect) const override;
    void install(platform::Context& context) override;

    /// Before the server starts: how a member's services are priced (list price without it).
    void set_pricing(PricingHook hook);
    /// Before the server starts: told of every completed appointment.
    void on_completed(CompletedHook hook);
    /// Before the server starts: lets rewards pay part of an appointment (`rewards_cents`).
    void set_rewards(RewardsHooks hooks);

private:
    live::Module& live_;
    std::shared_ptr<Services> services_;
};

}  // namespace motorpool::booking
