#include "membership/membership.hpp"

#include <boost/json.hpp>

#include "booking/booking.hpp"
#include "core/ids.hpp"
#include "membership/payment.hpp"
#include "periods.hpp"

namespace motorpool::membership {
namespace json = boost::json;

namespace {

class DevelopmentProvider final : public PaymentProvider {
public:
    std::string name() const override { return "development"; }
    ChargeResult charge(const ChargeRequest& request) override {
        return ChargeResult{true, "development", "dev_" + request.idempotency_key, ""};
    }
};

int days_in_month(int y, int m) {
    static constexpr int kDays[12]{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

}  // namespace

std::unique_ptr<PaymentProvider> development_provider() {
    return std::make_unique<DevelopmentProvider>();
}

std::int64_t add_months(std::int64_t utc_ms, int months) {
    const auto utc = core::TimeZone::utc();
    const core::LocalTime t = utc.local(utc_ms);
    int total = t.year * 12 + (t.month - 1) + months;
    const int y = total / 12;
    const int m = total % 12 + 1;
    const int d = std::min(t.day, days_in_month(y, m));
    return utc.instant(y, m, d, t.hour, t.minute, t.second) + ((utc_ms % 1000) + 1000) % 1000;
}

std::int64_t membership_year_start(std::int64_t started_ms, std::int64_t at_ms) {
    std::int64_t start = started_ms;
    for (int k = 1; k < 200; ++k) {
        const std::int64_t next = add_months(started_ms, 12 * k);
        if (next > at_ms) {
            break;
        }
        start = next;
    }
    return start;
}

MemberPrice price_for(db::Connection& c,
                      std::int64_t user_id,
                      const std::string& code,
                      std::int64_t list_price_cents,
                      std::int64_t at_ms) {
    auto rows = c.query(
        "SELECT m.started_at_ms, m.status, m.period_end_ms, p.included_services FROM memberships m JOIN "
        "membership_plans p ON p.id = m.plan_id WHERE m.user_id = $1 AND m.status <> 'expired'",
        {user_id});
    if (rows.empty()) {
        return {list_price_cents, false};
    }
    auto r = rows.row(0);
    if (r.text(1) == "cancelled" && at_ms >= r.int64(2)) {
        return {list_price_cents, false};  // the membership ends before the appointment
    }
    boost::system::error_code ec;
    json::value included = json::parse(r.text(3), ec);
    if (ec || !included.is_object() || !included.as_object().contains(code)) {
        return {list_price_cents, false};
    }
    const std::int64_t allowance = included.as_object().at(code).to_number<std::int64_t>();
    const std::int64_t year_start = membership_year_start(r.int64(0), at_ms);
    const std::int64_t year_end = add_months(year_start, 12);
    if (booking::included_uses(c, user_id, code, year_start, year_end) < allowance) {
        return {0, true};
    }
    return {list_price_cents, false};
}

bool ensure_demo_plans(db::Database& database, std::int64_t now_ms) {
    return database.with_transaction([&](db::Connection& c) {
        if (c.query("SELECT COUNT(*) FROM membership_plans").row(0).int64(0) > 0) {
            return false;
        }
        struct Plan {
            const char* code;
            const char* name;
            std::int64_t cents;
            const char* included;
            const char* benefits;
        };
        for (const Plan& p :
             {Plan{"basic", "Basic", 1900, R"({"tire_rotation":1,"battery_check":1})", R"(["Roadside assistance"])"},
              Plan{"plus",
                   "Plus",
                   3900,
                   R"({"oil_change":2,"tire_rotation":2,"battery_check":2})",
                   R"(["Roadside assistance","10 % off parts"])"},
              Plan{"premium",
                   "Premium",
                   6900,
                   R"({"oil_change":4,"tire_rotation":4,"brake_inspection":2,"battery_check":4,"ev_inspection":1})",
                   R"(["Roadside assistance","20 % off parts","Courtesy car"])"}}) {
            c.execute(
                "INSERT INTO membership_plans (code, name, price_cents, included_services, benefits, created_at_ms, "
                "updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $6)",
                {std::string(p.code),
                 std::string(p.name),
                 p.cents,
                 std::string(p.included),
                 std::string(p.benefits),
                 now_ms});
        }
        // Two offers: one for the higher plans everywhere, one for every member's electric car.
        c.execute(
            "INSERT INTO offers (public_id, title, description, terms, starts_at_ms, expires_at_ms, eligible_plans, "
            "created_at_ms, updated_at_ms) VALUES ($1, '15 % off brake inspections', 'For Plus and Premium members.', "
            "'Once per member; not combinable.', $2, $3, '[\"plus\",\"premium\"]', $2, $2)",
            {core::new_uuid_v7(now_ms), now_ms, now_ms + 90LL * 86'400'000});
        c.execute(
            "INSERT INTO offers (public_id, title, description, terms, starts_at_ms, expires_at_ms, fuel_types, "
            "created_at_ms, updated_at_ms) VALUES ($1, 'Free EV battery health check', 'For electric cars, any plan.', "
            "'Once per member.', $2, $3, '[\"electric\"]', $2, $2)",
            {core::new_uuid_v7(now_ms + 1), now_ms, now_ms + 90LL * 86'400'000});
        return true;
    });
}

}  // namespace motorpool::membership
