#pragma once
// Referral rules, each in the caller's transaction: record a referral at registration, credit it
// exactly once at the referred member's first paid action (both sides rewarded, the referrer up
// to a monthly cap), and the rewards balance derived from the ledger.

#include <cstdint>
#include <optional>
#include <string>

#include "db/db.hpp"

namespace motorpool::membership {

struct ReferralRules {
    std::int64_t referrer_reward_cents = 1000;
    std::int64_t referred_reward_cents = 500;
    std::int64_t monthly_cap = 10;  // credited referrals a referrer is rewarded for per calendar month (UTC)
};

/// What a referrer earns for a credited referral, given how many they were already rewarded for
/// this calendar month: the reward up to the cap, then nothing.
std::int64_t referrer_reward(const ReferralRules& rules, std::int64_t rewarded_this_month);

/// The user's referral code, given one (a new random code) when they have none yet.
std::string ensure_referral_code(db::Connection& c, std::int64_t user_id, std::int64_t now_ms);
/// The user's code, if they have one.
std::optional<std::string> referral_code_of(db::Connection& c, std::int64_t user_id);
/// Whose code it is.
std::optional<std::int64_t> referrer_by_code(db::Connection& c, const std::string& code);

void record_referral(db::Connection& c, std::int64_t referred_id, std::int64_t referrer_id, std::int64_t now_ms);

/// The referred member's first paid action (`action`: membership, appointment): credits their
/// pending referral, if any, once; later calls find nothing pending. True when it credited.
bool credit_referral(db::Connection& c,
                     const ReferralRules& rules,
                     std::int64_t referred_id,
                     const std::string& action,
                     std::int64_t now_ms);

/// Spends `amount_cents` of the member's rewards on an appointment: one `spent` entry, under a
/// lock on the member's row (so two bookings at once cannot both spend the same balance); 422 on
/// `rewards_cents` when the balance is short.
void spend_rewards(db::Connection& c,
                   std::int64_t user_id,
                   std::int64_t amount_cents,
                   const std::string& appointment_id,
                   std::int64_t now_ms);
/// Gives back what an appointment spent (it was cancelled): an `earned` entry, booked once.
void refund_rewards(db::Connection& c,
                    std::int64_t user_id,
                    std::int64_t amount_cents,
                    const std::string& appointment_id,
                    std::int64_t now_ms);

/// Earned minus spent minus expired.
std::int64_t rewards_balance(db::Connection& c, std::int64_t user_id);

}  // namespace motorpool::membership
