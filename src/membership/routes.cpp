// Membership routes: plans (admins manage, everyone signed in reads), the member's membership
// (subscribe, change plan, cancel at the period's end) and its ledger of charges; the renewal job.

#include "routes.hpp"

#include <cmath>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "auth/auth.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/time.hpp"
#include "periods.hpp"

namespace motorpool::membership {

namespace net = boost::asio;
namespace json = boost::json;
using core::ApiError;
using core::FieldReader;
using core::Presence;
using http::Method;
using http::Request;
using http::Response;

namespace {

http::RouteOptions authenticated() {
    return http::authenticated(std::size_t{64} * 1024);
}

struct Plan {
    std::int64_t id = 0;
    std::string code, name;
    std::optional<std::string> description;
    std::int64_t price_cents = 0;
    std::string currency = "EUR";
    std::string included = "{}";
    std::string benefits = "[]";
    bool active = true;
};

constexpr const char* kPlanColumns =
    "id, code, name, description, price_cents, currency, included_services, benefits, active";

Plan plan_from(const db::Row& r) {
    return Plan{
        r.int64(0), r.text(1), r.text(2), r.opt_text(3), r.int64(4), r.text(5), r.text(6), r.text(7), r.boolean(8)};
}

std::optional<Plan> find_plan(db::Connection& c, const std::string& code) {
    auto rows = c.query(std::string("SELECT ") + kPlanColumns + " FROM membership_plans WHERE code = $1", {code});
    return rows.empty() ? std::nullopt : std::optional<Plan>(plan_from(rows.row(0)));
}

json::object plan_json(const Plan& p) {
    boost::system::error_code ec;
    json::value included = json::parse(p.included, ec);
    json::value benefits = json::parse(p.benefits, ec);
    return {{"code", p.code},
            {"name", p.name},
            {"description", p.description ? json::value(*p.description) : json::value(nullptr)},
            {"price_cents", p.price_cents},
            {"currency", p.currency},
            {"included_services", included.is_object() ? included : json::value(json::object{})},
            {"benefits", benefits.is_array() ? benefits : json::value(json::array{})},
            {"active", p.active}};
}

struct Current {
    std::int64_t id = 0;
    std::string public_id;
    std::int64_t user_id = 0;
    std::string user_public_id;
    Plan plan;
    std::optional<Plan> pending;
    std::string status;
    std::int64_t started_at_ms = 0, period_start_ms = 0, period_end_ms = 0, created_at_ms = 0, updated_at_ms = 0;
};

std::optional<Current> current_of(db::Connection& c, std::int64_t user_id) {
    auto rows = c.query(
        "SELECT m.id, m.public_id, m.user_id, u.public_id, p.code, q.code, m.status, m.started_at_ms, "
        "m.period_start_ms, "
        "m.period_end_ms, m.created_at_ms, m.updated_at_ms FROM memberships m JOIN membership_plans p ON p.id = "
        "m.plan_id "
        "LEFT JOIN membership_plans q ON q.id = m.pending_plan_id JOIN users u ON u.id = m.user_id "
        "WHERE m.user_id = $1 AND m.status <> 'expired'",
        {user_id});
    if (rows.empty()) {
        return std::nullopt;
    }
    auto r = rows.row(0);
    Current m;
    m.id = r.int64(0);
    m.public_id = r.text(1);
    m.user_id = r.int64(2);
    m.user_public_id = r.text(3);
    m.plan = *find_plan(c, r.text(4));
    if (auto pending = r.opt_text(5)) {
        m.pending = find_plan(c, *pending);
    }
    m.status = r.text(6);
    m.started_at_ms = r.int64(7);
    m.period_start_ms = r.int64(8);
    m.period_end_ms = r.int64(9);
    m.created_at_ms = r.int64(10);
    m.updated_at_ms = r.int64(11);
    return m;
}

json::object membership_json(const Current& m) {
    return {{"id", m.public_id},
            {"user_id", m.user_public_id},
            {"plan_code", m.plan.code},
            {"plan", plan_json(m.plan)},
            {"status", m.status},
            {"cancel_at_period_end", m.status == "cancelled"},
            {"pending_plan_code", m.pending ? json::value(m.pending->code) : json::value(nullptr)},
            {"started_at", core::format_rfc3339(m.started_at_ms)},
            {"period_start", core::format_rfc3339(m.period_start_ms)},
            {"period_end", core::format_rfc3339(m.period_end_ms)},
            {"created_at", core::format_rfc3339(m.created_at_ms)},
            {"updated_at", core::format_rfc3339(m.updated_at_ms)}};
}

/// Charges through the provider and records the charge in the ledger; 402 when it is not settled.
void charge(db::Connection& c,
            Services& s,
            const Current& m,
            const Plan& plan,
            const char* kind,
            std::int64_t amount,
            std::int64_t period_start,
            std::int64_t period_end,
            std::int64_t now) {
    const std::string id = core::new_uuid_v7(now);
    ChargeRequest request{m.user_id, amount, plan.currency, std::string("motorpool ") + plan.name + " " + kind, id};
    ChargeResult result = amount > 0 ? s.payments->charge(request) : ChargeResult{true, s.payments->name(), "none", ""};
    c.execute(
        "INSERT INTO membership_charges (public_id, user_id, membership_id, plan_code, kind, amount_cents, currency, "
        "provider, provider_reference, status, period_start_ms, period_end_ms, created_at_ms) VALUES ($1, $2, $3, $4, "
        "$5, "
        "$6, $7, $8, $9, $10, $11, $12, $13)",
        {id,
         m.user_id,
         m.id,
         plan.code,
         std::string(kind),
         amount,
         plan.currency,
         result.provider,
         result.reference,
         std::string(result.settled ? "settled" : "failed"),
         period_start,
         period_end,
         now});
    if (!result.settled) {
        throw ApiError(402,
                       "Payment Required",
                       "The payment was not accepted: " + result.failure,
                       "urn:motorpool:problem:payment_failed");
    }
    if (amount > 0) {
        credit_referral(c, s.referrals, m.user_id, "membership", now);  // a first paid period credits a referral
    }
}

void publish(Services& s, const Current& m, const char* change) {
    json::object payload = membership_json(m);
    payload["change"] = change;
    s.events.publish({"member." + m.user_public_id, "MEMBERSHIP", core::to_json_text(payload)});
}

std::optional<json::object> read_included(FieldReader& r, const json::object& body) {
    const auto* v = body.if_contains("included_services");
    if (v == nullptr) {
        return std::nullopt;
    }
    (void)r.value("included_services", Presence::Optional);
    if (!v->is_object()) {
        r.fail("included_services", "must be an object {\"<service code>\": <per year>}");
        return std::nullopt;
    }
    for (const auto& kv : v->as_object()) {
        if (!kv.value().is_int64() || kv.value().as_int64() < 0 || kv.value().as_int64() > 1000) {
            r.fail("included_services." + std::string(kv.key()), "must be a whole number from 0 to 1000 per year");
        }
    }
    return v->as_object();
}

std::optional<json::array> read_benefits(FieldReader& r, const json::object& body) {
    const auto* v = body.if_contains("benefits");
    if (v == nullptr) {
        return std::nullopt;
    }
    (void)r.value("benefits", Presence::Optional);
    if (!v->is_array() || v->as_array().size() > 20 ||
        !std::all_of(v->as_array().begin(), v->as_array().end(), [](const json::value& b) {
            return b.is_string() && !b.as_string().empty() && b.as_string().size() <= 200;
        })) {
        r.fail("benefits", "must be a list of at most 20 short texts");
        return std::nullopt;
    }
    return v->as_array();
}

}  // namespace

std::size_t renew_due(Services& s) {
    const std::int64_t now = s.clock->now_ms();
    auto due = s.database.with_reader([&](db::Connection& c) {
        auto rows = c.query(
            "SELECT user_id FROM memberships WHERE status <> 'expired' AND period_end_ms <= $1 ORDER BY period_end_ms "
            "LIMIT "
            "500",
            {now});
        std::vector<std::int64_t> users;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            users.push_back(rows.row(i).int64(0));
        }
        return users;
    });
    std::size_t changed = 0;
    for (std::int64_t user : due) {
        try {
            std::optional<std::pair<Current, const char*>> event;
            s.database.with_transaction([&](db::Connection& c) {
                auto m = current_of(c, user);
                if (!m || m->period_end_ms > now) {
                    return;
                }
                if (m->status == "cancelled") {
                    c.execute("UPDATE memberships SET status = 'expired', updated_at_ms = $2 WHERE id = $1",
                              {m->id, now});
                    m->status = "expired";
                    event.emplace(*m, "expired");
                    return;
                }
                const Plan next = m->pending.value_or(m->plan);
                const std::int64_t start = m->period_end_ms;
                const std::int64_t end = add_months(start, 1);
                c.execute(
                    "UPDATE memberships SET plan_id = $2, pending_plan_id = NULL, period_start_ms = $3, period_end_ms "
                    "= $4, "
                    "updated_at_ms = $5 WHERE id = $1",
                    {m->id, next.id, start, end, now});
                charge(c, s, *m, next, "renewal", next.price_cents, start, end, now);
                event.emplace(*current_of(c, user), "renewed");
            });
            if (event) {
                publish(s, event->first, event->second);
                ++changed;
            }
        } catch (const std::exception& e) {
            // A failed renewal payment: the membership ends with its period.
            spdlog::warn("membership: renewing the membership of user {} failed: {}", user, e.what());
            s.database.with_transaction([&](db::Connection& c) {
                c.execute(
                    "UPDATE memberships SET status = 'expired', updated_at_ms = $2 WHERE user_id = $1 AND status <> "
                    "'expired' AND period_end_ms <= $2",
                    {user, now});
            });
        }
    }
    return changed;
}

void install_routes(http::Router& router, const std::shared_ptr<Services>& services) {
    auto svc = services;

    // ---- plans ----
    router.add(
        Method::Get,
        "/api/v1/memberships/plans",
        [svc](Request req) -> net::awaitable<Response> {
            (void)req.require_principal();
            auto job = [svc] {
                return svc->database.with_reader([&](db::Connection& c) {
                    auto rows = c.query(std::string("SELECT ") + kPlanColumns +
                                        " FROM membership_plans WHERE active ORDER BY price_cents, code");
                    json::array items;
                    for (std::size_t i = 0; i < rows.size(); ++i) {
                        items.push_back(plan_json(plan_from(rows.row(i))));
                    }
                    return items;
                });
            };
            json::array items = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(json::object{{"items", std::move(items)}});
        },
        authenticated());
    router.add(
        Method::Post,
        "/api/v1/memberships/plans",
        [svc](Request req) -> net::awaitable<Response> {
            auth::require_role(req, {auth::Role::Admin});
            auto body = req.json_object();
            FieldReader r(body);
            Plan p;
            p.code = r.string("code", Presence::Required, 1, 32).value_or("");
            if (!std::all_of(
                    p.code.begin(), p.code.end(), [](char ch) { return (ch >= 'a' && ch <= 'z') || ch == '_'; })) {
                r.fail("code", "must be lower-case letters and _ (e.g. premium)");
            }
            p.name = r.string("name", Presence::Required, 1, 80).value_or("");
            p.description = r.string("description", Presence::Optional, 1, 2000);
            p.price_cents = r.integer("price_cents", Presence::Required, 0, 10'000'000).value_or(0);
            if (auto currency = r.string("currency", Presence::Optional, 3, 3)) {
                p.currency = *currency;
            }
            if (auto included = read_included(r, body)) {
                p.included = json::serialize(*included);
            }
            if (auto benefits = read_benefits(r, body)) {
                p.benefits = json::serialize(*benefits);
            }
            r.finish();
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, p, now] {
                return svc->database.with_transaction([&](db::Connection& c) {
                    if (find_plan(c, p.code)) {
                        throw ApiError::conflict("A plan with this code exists", "plan_exists");
                    }
                    c.execute(
                        "INSERT INTO membership_plans (code, name, description, price_cents, currency, "
                        "included_services, "
                        "benefits, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
                        {p.code,
                         p.name,
                         p.description ? db::Value(*p.description) : db::Value(),
                         p.price_cents,
                         p.currency,
                         p.included,
                         p.benefits,
                         now});
                    return *find_plan(c, p.code);
                });
            };
            Plan created = co_await svc->database.workers().run(std::move(job));
            Response response = Response::json(plan_json(created), 201);
            response.header("Location", "/api/v1/memberships/plans/" + created.code);
            co_return response;
        },
        authenticated());
    router.add(
        Method::Patch,
        "/api/v1/memberships/plans/{code}",
        [svc](Request req) -> net::awaitable<Response> {
            auth::require_role(req, {auth::Role::Admin});
            auto body = req.json_object();
            FieldReader r(body);
            auto name = r.string("name", Presence::Optional, 1, 80);
            auto description = r.string("description", Presence::Optional, 1, 2000);
            auto price = r.integer("price_cents", Presence::Optional, 0, 10'000'000);
            auto active = r.boolean("active", Presence::Optional);
            auto included = read_included(r, body);
            auto benefits = read_benefits(r, body);
            r.finish();
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc,
                        name,
                        description,
                        price,
                        active,
                        included,
                        benefits,
                        now,
                        code = std::string(req.param("code"))] {
                return svc->database.with_transaction([&](db::Connection& c) {
                    auto p = find_plan(c, code);
                    if (!p) {
                        throw ApiError::not_found("Plan");
                    }
                    p->name = name.value_or(p->name);
                    p->description = description ? description : p->description;
                    p->price_cents = price.value_or(p->price_cents);  // members pay it from their next period
                    p->active = active.value_or(p->active);
                    if (included) {
                        p->included = json::serialize(*included);
                    }
                    if (benefits) {
                        p->benefits = json::serialize(*benefits);
                    }
                    c.execute(
                        "UPDATE membership_plans SET name = $2, description = $3, price_cents = $4, active = $5, "
                        "included_services = $6, benefits = $7, updated_at_ms = $8 WHERE id = $1",
                        {p->id,
                         p->name,
                         p->description ? db::Value(*p->description) : db::Value(),
                         p->price_cents,
                         p->active,
                         p->included,
                         p->benefits,
                         now});
                    return *find_plan(c, code);
                });
            };
            Plan updated = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(plan_json(updated));
        },
        authenticated());

    // ---- the member's membership ----
    router.add(
        Method::Post,
        "/api/v1/memberships",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto body = req.json_object();
            FieldReader r(body);
            auto code = r.string("plan_code", Presence::Required, 1, 32).value_or("");
            r.finish();
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, actor, code, now] {
                Current created = svc->database.with_transaction([&](db::Connection& c) {
                    auto plan = find_plan(c, code);
                    if (!plan || !plan->active) {
                        throw ApiError::validation({{"plan_code", "is not a plan on offer"}});
                    }
                    if (current_of(c, actor.user_id)) {
                        throw ApiError::conflict(
                            "You have a membership: change its plan with PATCH /api/v1/memberships/me",
                            "membership_exists");
                    }
                    const std::int64_t end = add_months(now, 1);
                    try {
                        c.execute(
                            "INSERT INTO memberships (public_id, user_id, plan_id, status, started_at_ms, "
                            "period_start_ms, "
                            "period_end_ms, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, 'active', $4, $4, $5, "
                            "$4, $4)",
                            {core::new_uuid_v7(now), actor.user_id, plan->id, now, end});
                    } catch (const db::Error& e) {
                        if (e.kind() == db::Error::Kind::UniqueViolation) {  // a concurrent subscription won
                            throw ApiError::conflict("You have a membership", "membership_exists");
                        }
                        throw;
                    }
                    Current m = *current_of(c, actor.user_id);
                    charge(c, *svc, m, *plan, "subscription", plan->price_cents, now, end, now);
                    return m;
                });
                publish(*svc, created, "subscribed");
                return created;
            };
            Current created = co_await svc->database.workers().run(std::move(job));
            Response response = Response::json(membership_json(created), 201);
            response.header("Location", "/api/v1/memberships/me");
            co_return response;
        },
        authenticated());
    router.add(
        Method::Get,
        "/api/v1/memberships/me",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto job = [svc, actor] {
                return svc->database.with_reader([&](db::Connection& c) { return current_of(c, actor.user_id); });
            };
            auto found = co_await svc->database.workers().run(std::move(job));
            if (!found) {
                throw ApiError::not_found("Membership");
            }
            co_return Response::json(membership_json(*found));
        },
        authenticated());
    // Change plan: an upgrade now (the price difference for the rest of the period is charged), a
    // downgrade from the next period; the current plan again resumes a cancelled membership.
    router.add(
        Method::Patch,
        "/api/v1/memberships/me",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto body = req.json_object();
            FieldReader r(body);
            auto code = r.string("plan_code", Presence::Required, 1, 32).value_or("");
            r.finish();
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, actor, code, now] {
                const char* change = "changed";
                Current changed = svc->database.with_transaction([&](db::Connection& c) {
                    auto m = current_of(c, actor.user_id);
                    if (!m) {
                        throw ApiError::not_found("Membership");
                    }
                    auto plan = find_plan(c, code);
                    if (!plan || !plan->active) {
                        throw ApiError::validation({{"plan_code", "is not a plan on offer"}});
                    }
                    if (plan->id == m->plan.id) {
                        c.execute(
                            "UPDATE memberships SET status = 'active', pending_plan_id = NULL, updated_at_ms = $2 "
                            "WHERE id = $1",
                            {m->id, now});
                        change = m->status == "cancelled" ? "resumed" : "unchanged";
                    } else if (plan->price_cents > m->plan.price_cents) {
                        const double left =
                            static_cast<double>(m->period_end_ms - now) /
                            static_cast<double>(std::max<std::int64_t>(1, m->period_end_ms - m->period_start_ms));
                        const auto amount = static_cast<std::int64_t>(std::ceil(
                            static_cast<double>(plan->price_cents - m->plan.price_cents) * std::clamp(left, 0.0, 1.0)));
                        c.execute(
                            "UPDATE memberships SET plan_id = $2, status = 'active', pending_plan_id = NULL, "
                            "updated_at_ms "
                            "= $3 WHERE id = $1",
                            {m->id, plan->id, now});
                        charge(c, *svc, *m, *plan, "upgrade", amount, now, m->period_end_ms, now);
                        change = "upgraded";
                    } else {
                        c.execute(
                            "UPDATE memberships SET pending_plan_id = $2, status = 'active', updated_at_ms = $3 "
                            "WHERE id = $1",
                            {m->id, plan->id, now});
                        change = "downgrade_scheduled";
                    }
                    return *current_of(c, actor.user_id);
                });
                publish(*svc, changed, change);
                return changed;
            };
            Current changed = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(membership_json(changed));
        },
        authenticated());
    router.add(
        Method::Delete,
        "/api/v1/memberships/me",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            const std::int64_t now = svc->clock->now_ms();
            auto job = [svc, actor, now] {
                Current cancelled = svc->database.with_transaction([&](db::Connection& c) {
                    auto m = current_of(c, actor.user_id);
                    if (!m) {
                        throw ApiError::not_found("Membership");
                    }
                    c.execute(
                        "UPDATE memberships SET status = 'cancelled', pending_plan_id = NULL, updated_at_ms = $2 WHERE "
                        "id = "
                        "$1",
                        {m->id, now});
                    return *current_of(c, actor.user_id);
                });
                publish(*svc, cancelled, "cancelled");
                return cancelled;
            };
            Current cancelled = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(membership_json(cancelled));
        },
        authenticated());
    router.add(
        Method::Get,
        "/api/v1/referrals/me",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto job = [svc, actor] {
                // A user made without this module (the CLI before it existed) gets a code now.
                auto own =
                    svc->database.with_reader([&](db::Connection& c) { return referral_code_of(c, actor.user_id); });
                const std::string code = own ? *own : svc->database.with_transaction([&](db::Connection& c) {
                    return ensure_referral_code(c, actor.user_id, svc->clock->now_ms());
                });
                return svc->database.with_reader([&](db::Connection& c) {
                    auto rows = c.query(
                        "SELECT r.public_id, u.public_id, r.status, r.credited_action, r.referrer_reward_cents, "
                        "r.created_at_ms, r.credited_at_ms FROM referrals r JOIN users u ON u.id = r.referred_id WHERE "
                        "r.referrer_id = $1 ORDER BY r.id DESC LIMIT 200",
                        {actor.user_id});
                    json::array referrals;
                    for (std::size_t i = 0; i < rows.size(); ++i) {
                        auto r = rows.row(i);
                        referrals.push_back(json::object{
                            {"id", r.text(0)},
                            {"referred_user_id", r.text(1)},
                            {"status", r.text(2)},
                            {"credited_action", r.opt_text(3) ? json::value(*r.opt_text(3)) : json::value(nullptr)},
                            {"reward_cents", r.opt_int64(4) ? json::value(*r.opt_int64(4)) : json::value(nullptr)},
                            {"created_at", core::format_rfc3339(r.int64(5))},
                            {"credited_at",
                             r.opt_int64(6) ? json::value(core::format_rfc3339(*r.opt_int64(6)))
                                            : json::value(nullptr)}});
                    }
                    auto ledger = c.query(
                        "SELECT public_id, kind, amount_cents, reason, created_at_ms FROM rewards_ledger WHERE user_id "
                        "= $1 "
                        "ORDER BY id DESC LIMIT 100",
                        {actor.user_id});
                    json::array rewards;
                    for (std::size_t i = 0; i < ledger.size(); ++i) {
                        auto r = ledger.row(i);
                        rewards.push_back(json::object{{"id", r.text(0)},
                                                       {"kind", r.text(1)},
                                                       {"amount_cents", r.int64(2)},
                                                       {"reason", r.text(3)},
                                                       {"created_at", core::format_rfc3339(r.int64(4))}});
                    }
                    return json::object{
                        {"code", code},
                        {"link", svc->link_base + "/r/" + code},
                        {"referrals", std::move(referrals)},
                        {"rewards_balance", static_cast<double>(rewards_balance(c, actor.user_id)) / 100.0},
                        {"rewards_balance_cents", rewards_balance(c, actor.user_id)},
                        {"rewards", std::move(rewards)}};
                });
            };
            json::object body = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(body);
        },
        authenticated());

    router.add(
        Method::Get,
        "/api/v1/memberships/me/charges",
        [svc](Request req) -> net::awaitable<Response> {
            const auth::Actor actor = auth::actor_of(req);
            auto job = [svc, actor] {
                return svc->database.with_reader([&](db::Connection& c) {
                    auto rows = c.query(
                        "SELECT public_id, plan_code, kind, amount_cents, currency, provider, provider_reference, "
                        "status, "
                        "period_start_ms, period_end_ms, created_at_ms FROM membership_charges WHERE user_id = $1 "
                        "ORDER BY "
                        "id DESC LIMIT 200",
                        {actor.user_id});
                    json::array items;
                    for (std::size_t i = 0; i < rows.size(); ++i) {
                        auto r = rows.row(i);
                        items.push_back(json::object{{"id", r.text(0)},
                                                     {"plan_code", r.text(1)},
                                                     {"kind", r.text(2)},
                                                     {"amount_cents", r.int64(3)},
                                                     {"currency", r.text(4)},
                                                     {"provider", r.text(5)},
                                                     {"provider_reference", r.text(6)},
                                                     {"status", r.text(7)},
                                                     {"period_start", core::format_rfc3339(r.int64(8))},
                                                     {"period_end", core::format_rfc3339(r.int64(9))},
                                                     {"created_at", core::format_rfc3339(r.int64(10))}});
                    }
                    return items;
                });
            };
            json::array items = co_await svc->database.workers().run(std::move(job));
            co_return Response::json(json::object{{"items", std::move(items)}});
        },
        authenticated());
}

}  // namespace motorpool::membership
