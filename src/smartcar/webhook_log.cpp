#include "webhook_log.hpp"

#include <algorithm>

namespace motorpool::smartcar {

std::string_view status_name(DeliveryStatus status) {
    switch (status) {
        case DeliveryStatus::Pending:
            return "pending";
        case DeliveryStatus::Processed:
            return "processed";
        case DeliveryStatus::Failed:
            return "failed";
        case DeliveryStatus::Ignored:
            return "ignored";
    }
    return "pending";
}

std::optional<DeliveryStatus> status_from_name(std::string_view name) {
    for (auto s :
         {DeliveryStatus::Pending, DeliveryStatus::Processed, DeliveryStatus::Failed, DeliveryStatus::Ignored}) {
        if (status_name(s) == name) {
            return s;
        }
    }
    return std::nullopt;
}

bool WebhookLog::record(db::Connection& c, const NewDelivery& d) {
    auto rows = c.query(
        "INSERT INTO webhook_deliveries (provider, event_id, event_type, delivery_id, received_at_ms, body) VALUES "
        "('smartcar', $1, $2, $3, $4, $5) ON CONFLICT (event_id) DO UPDATE SET redeliveries = "
        "webhook_deliveries.redeliveries + 1 RETURNING id, redeliveries",
        {d.event_id,
         d.event_type,
         d.delivery_id.empty() ? db::Value() : db::Value(d.delivery_id),
         d.received_at_ms,
         d.body});
    if (rows.front().int64(1) > 0) {
        return true;  // a re-delivery: counted, and processed once already or soon
    }
    c.execute("INSERT INTO webhook_pending (delivery_id) VALUES ($1)", {rows.front().int64(0)});
    return false;
}

std::vector<PendingDelivery> WebhookLog::pending(db::Connection& c, int limit) {
    auto rows = c.query(
        "SELECT d.id, d.event_type, d.body, d.received_at_ms FROM webhook_pending p JOIN webhook_deliveries d ON d.id "
        "= "
        "p.delivery_id ORDER BY p.delivery_id LIMIT $1",
        {std::int64_t{limit}});
    std::vector<PendingDelivery> out;
    out.reserve(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        auto r = rows.row(i);
        out.push_back({r.int64(0), r.text(1), r.text(2), r.int64(3)});
    }
    return out;
}

void WebhookLog::record_outcomes(db::Connection& c,
                                 const std::vector<DeliveryOutcome>& outcomes,
                                 std::int64_t processed_at_ms) {
    // A narrow outcome row per delivery, and its pending entry deleted; the delivery's own row is
    // not rewritten. Many rows per statement, in chunks of powers of two (few distinct statements
    // to prepare). ON CONFLICT: another node may have processed it meanwhile.
    for (std::size_t i = 0; i < outcomes.size();) {
        std::size_t n = 64;
        while (n > outcomes.size() - i) {
            n /= 2;
        }
        std::string insert = "INSERT INTO webhook_outcomes (delivery_id, status, outcome, processed_at_ms) VALUES ";
        std::string remove = "DELETE FROM webhook_pending WHERE delivery_id IN (";
        std::vector<db::Value> values;
        std::vector<db::Value> ids;
        values.reserve(4 * n);
        ids.reserve(n);
        for (std::size_t k = 0; k < n; ++k) {
            const DeliveryOutcome& o = outcomes[i + k];
            const std::string p = std::to_string(values.size() + 1);
            insert += (k == 0 ? "($" : ", ($") + p + ", $" + std::to_string(values.size() + 2) + ", $" +
                      std::to_string(values.size() + 3) + ", $" + std::to_string(values.size() + 4) + ")";
            values.emplace_back(o.delivery_id);
            values.emplace_back(std::string(status_name(o.status)));
            values.emplace_back(o.outcome.substr(0, 500));
            values.emplace_back(processed_at_ms);
            remove += (k == 0 ? "$" : ", $") + std::to_string(k + 1);
            ids.emplace_back(o.delivery_id);
        }
        c.query(insert + " ON CONFLICT (delivery_id) DO NOTHING", values);
        c.query(remove + ")", ids);
        i += n;
    }
}

std::int64_t WebhookLog::prune(db::Connection& c, std::int64_t received_before_ms) {
    // Their outcomes go with them (ON DELETE CASCADE).
    return c.execute(
        "DELETE FROM webhook_deliveries WHERE received_at_ms < $1 AND id NOT IN (SELECT delivery_id FROM "
        "webhook_pending)",
        {received_before_ms});
}

std::int64_t WebhookLog::clear(db::Connection& c) {
    return c.execute("DELETE FROM webhook_deliveries WHERE id NOT IN (SELECT delivery_id FROM webhook_pending)");
}

DeliveryPage WebhookLog::list(db::Connection& c, const http::PageQuery& q, std::optional<DeliveryStatus> status) {
    // Newest first. Pending: listed in webhook_pending; the others have an outcome row. Keyset
    // (?cursor=) walks ids downwards: no OFFSET scan over a large log.
    const bool pending = status == DeliveryStatus::Pending;
    std::vector<std::string> where;
    std::vector<db::Value> params{q.page_size + (q.keyset ? 1 : 0)};
    std::vector<db::Value> count_params;
    std::string count = "SELECT COUNT(*) FROM webhook_deliveries";
    if (pending) {
        where.emplace_back("d.id IN (SELECT delivery_id FROM webhook_pending)");
        count = "SELECT COUNT(*) FROM webhook_pending";
    } else if (status) {
        params.emplace_back(std::string(status_name(*status)));
        where.emplace_back("o.status = $" + std::to_string(params.size()));
        count = "SELECT COUNT(*) FROM webhook_outcomes WHERE status = $1";
        count_params.emplace_back(std::string(status_name(*status)));
    }
    std::string tail;
    if (q.keyset) {
        if (q.after) {
            params.emplace_back(*q.after);
            where.emplace_back("d.id < $" + std::to_string(params.size()));
        }
    } else {
        params.emplace_back(q.offset());
        tail = " OFFSET $" + std::to_string(params.size());
    }
    std::string filter;
    for (const auto& w : where) {
        filter += (filter.empty() ? " WHERE " : " AND ") + w;
    }
    auto rows = c.query(
        "SELECT d.id, d.event_id, d.event_type, d.delivery_id, d.received_at_ms, CASE WHEN o.delivery_id IS NULL THEN "
        "'pending' ELSE o.status END, o.outcome, d.redeliveries, o.processed_at_ms, d.body FROM webhook_deliveries d "
        "LEFT JOIN webhook_outcomes o ON o.delivery_id = d.id" +
            filter + " ORDER BY d.id DESC LIMIT $1" + tail,
        params);
    DeliveryPage page;
    if (!q.keyset) {
        page.total = c.query(count, count_params).front().int64(0);
    }
    const std::size_t shown = std::min(rows.size(), static_cast<std::size_t>(q.page_size));
    page.items.reserve(shown);
    for (std::size_t i = 0; i < shown; ++i) {
        auto r = rows.row(i);
        LoggedDelivery d;
        d.id = r.int64(0);
        d.event_id = r.text(1);
        d.event_type = r.text(2);
        d.delivery_id = r.opt_text(3);
        d.received_at_ms = r.int64(4);
        d.status = status_from_name(r.text(5)).value_or(DeliveryStatus::Pending);
        d.outcome = r.opt_text(6);
        d.redeliveries = r.int64(7);
        d.processed_at_ms = r.opt_int64(8);
        d.body = r.text(9);
        page.items.push_back(std::move(d));
    }
    if (q.keyset && rows.size() > shown) {
        page.next_after = rows.row(shown - 1).int64(0);
    }
    return page;
}

}  // namespace motorpool::smartcar
