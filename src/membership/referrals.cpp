#include "referrals.hpp"

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"
#include "periods.hpp"

namespace motorpool::membership {

std::int64_t referrer_reward(const ReferralRules& rules, std::int64_t rewarded_this_month) {
    return rewarded_this_month < rules.monthly_cap ? rules.referrer_reward_cents : 0;
}

namespace {

// "REF-7KQ2MX": no 0/O or 1/I, so a code read aloud or typed from paper is unambiguous.
std::string new_referral_code() {
    static constexpr char kAlphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    std::string raw = core::random_bytes(6);
    std::string code = "REF-";
    for (unsigned char b : raw) {
        code.push_back(kAlphabet[b % 32]);
    }
    return code;
}

}  // namespace

std::optional<std::string> referral_code_of(db::Connection& c, std::int64_t user_id) {
    auto rows = c.query("SELECT code FROM referral_codes WHERE user_id = $1", {user_id});
    return rows.empty() ? std::nullopt : std::optional<std::string>(rows.row(0).text(0));
}

std::string ensure_referral_code(db::Connection& c, std::int64_t user_id, std::int64_t now) {
    // 32^6 codes: a collision is rare, and another draw settles it (ON CONFLICT keeps the
    // transaction usable on PostgreSQL, where a failed statement would abort it).
    for (int attempt = 0; attempt < 8; ++attempt) {
        if (auto code = referral_code_of(c, user_id)) {
            return *code;
        }
        c.execute(
            "INSERT INTO referral_codes (user_id, code, created_at_ms) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            {user_id, new_referral_code(), now});
    }
    throw std::runtime_error("no free referral code after 8 draws");
}

std::optional<std::int64_t> referrer_by_code(db::Connection& c, const std::string& code) {
    auto rows = c.query("SELECT user_id FROM referral_codes WHERE code = $1", {code});
    return rows.empty() ? std::nullopt : std::optional<std::int64_t>(rows.row(0).int64(0));
}

void record_referral(db::Connection& c, std::int64_t referred_id, std::int64_t referrer_id, std::int64_t now) {
    if (referred_id == referrer_id) {
        return;  // no self-referral
    }
    c.execute(
        "INSERT INTO referrals (public_id, referrer_id, referred_id, status, created_at_ms) VALUES ($1, $2, $3, "
        "'pending', $4) ON CONFLICT (referred_id) DO NOTHING",
        {core::new_uuid_v7(now), referrer_id, referred_id, now});
}

bool credit_referral(db::Connection& c,
                     const ReferralRules& rules,
                     std::int64_t referred_id,
                     const std::string& action,
                     std::int64_t now) {
    // The conditional update is the guard: of concurrent first paid actions, one finds it pending.
    auto rows = c.query(
        "UPDATE referrals SET status = 'credited', credited_action = $2, credited_at_ms = $3 WHERE referred_id = $1 "
        "AND "
        "status = 'pending' RETURNING id, public_id, referrer_id",
        {referred_id, action, now});
    if (rows.empty()) {
        return false;
    }
    const std::int64_t id = rows.row(0).int64(0);
    const std::string public_id = rows.row(0).text(1);
    const std::int64_t referrer = rows.row(0).int64(2);
    const auto utc = core::TimeZone::utc();
    const core::LocalTime t = utc.local(now);
    const std::int64_t month_start = utc.instant(t.year, t.month, 1, 0, 0);
    const std::int64_t rewarded_this_month =
        c.query(
             "SELECT COUNT(*) FROM referrals WHERE referrer_id = $1 AND id <> $2 AND status = 'credited' AND "
             "credited_at_ms >= $3 AND credited_at_ms < $4 AND referrer_reward_cents > 0",
             {referrer, id, month_start, add_months(month_start, 1)})
            .row(0)
            .int64(0);
    const std::int64_t to_referrer = referrer_reward(rules, rewarded_this_month);
    c.execute("UPDATE referrals SET referrer_reward_cents = $2, referred_reward_cents = $3 WHERE id = $1",
              {id, to_referrer, rules.referred_reward_cents});
    auto earn = [&](std::int64_t user, std::int64_t cents, const char* reason) {
        if (cents <= 0) {
            return;
        }
        c.execute(
            "INSERT INTO rewards_ledger (public_id, user_id, kind, amount_cents, reason, reference, created_at_ms) "
            "VALUES "
            "($1, $2, 'earned', $3, $4, $5, $6) ON CONFLICT (user_id, kind, reference) DO NOTHING",
            {core::new_uuid_v7(now), user, cents, std::string(reason), "referral:" + public_id, now});
    };
    earn(referrer, to_referrer, "referral: a member you referred made their first paid purchase");
    earn(referred_id, rules.referred_reward_cents, "referral: welcome reward");
    return true;
}

std::int64_t rewards_balance(db::Connection& c, std::int64_t user_id) {
    return c
        .query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'earned' THEN amount_cents ELSE -amount_cents END), 0) AS "
            "BIGINT) FROM "
            "rewards_ledger WHERE user_id = $1",
            {user_id})
        .row(0)
        .int64(0);
}

void spend_rewards(db::Connection& c,
                   std::int64_t user_id,
                   std::int64_t amount_cents,
                   const std::string& appointment_id,
                   std::int64_t now) {
    // The member's code row is the lock (SQLite: the one writer already serialises).
    ensure_referral_code(c, user_id, now);
    if (c.dialect() == db::Dialect::Postgres) {
        c.query("SELECT 1 FROM referral_codes WHERE user_id = $1 FOR UPDATE", {user_id});
    }
    const std::int64_t balance = rewards_balance(c, user_id);
    if (amount_cents > balance) {
        throw core::ApiError::validation(
            {{"rewards_cents", "is more than your rewards balance (" + std::to_string(balance) + " cents)"}});
    }
    c.execute(
        "INSERT INTO rewards_ledger (public_id, user_id, kind, amount_cents, reason, reference, created_at_ms) VALUES "
        "($1, $2, 'spent', $3, 'paid part of an appointment', $4, $5)",
        {core::new_uuid_v7(now), user_id, amount_cents, "appointment:" + appointment_id, now});
}

void refund_rewards(db::Connection& c,
                    std::int64_t user_id,
                    std::int64_t amount_cents,
                    const std::string& appointment_id,
                    std::int64_t now) {
    c.execute(
        "INSERT INTO rewards_ledger (public_id, user_id, kind, amount_cents, reason, reference, created_at_ms) VALUES "
        "($1, $2, 'earned', $3, 'refund: the appointment was cancelled', $4, $5) ON CONFLICT (user_id, kind, "
        "reference) DO NOTHING",
        {core::new_uuid_v7(now), user_id, amount_cents, "appointment-refund:" + appointment_id, now});
}

}  // namespace motorpool::membership
