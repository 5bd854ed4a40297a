#pragma once
// Private to smartcar: the webhook log's SQL, in one place. Deliveries are logged once (deduplicated
// by eventId, re-deliveries counted), wait in webhook_pending until a processing pass records their
// outcome, and are pruned after the retention. Every method runs on the caller's connection, inside
// the caller's transaction: acknowledgements join the group commit, a pass writes its outcomes in
// the transaction that ingests its samples.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/db.hpp"
#include "http/paging.hpp"
#include "smartcar/webhooks.hpp"

namespace motorpool::smartcar {

struct NewDelivery {
    std::string event_id;
    std::string event_type;
    std::string delivery_id;  // empty: none
    std::int64_t received_at_ms = 0;
    std::string body;  // the raw body, as signed
};

struct PendingDelivery {
    std::int64_t id = 0;
    std::string event_type;
    std::string body;
    std::int64_t received_at_ms = 0;
};

struct DeliveryOutcome {
    std::int64_t delivery_id = 0;
    DeliveryStatus status = DeliveryStatus::Processed;  // never Pending
    std::string outcome;
};

struct LoggedDelivery {
    std::int64_t id = 0;
    std::string event_id;
    std::string event_type;
    std::optional<std::string> delivery_id;
    std::int64_t received_at_ms = 0;
    DeliveryStatus status = DeliveryStatus::Pending;
    std::optional<std::string> outcome;
    std::int64_t redeliveries = 0;
    std::optional<std::int64_t> processed_at_ms;
    std::string body;
};

struct DeliveryPage {
    std::vector<LoggedDelivery> items;
    std::optional<std::int64_t> total;       // offset paging only
    std::optional<std::int64_t> next_after;  // keyset paging: the cursor of the next page
};

class WebhookLog {
public:
    /// Logs a delivery and queues it for processing; a re-delivery of a logged eventId is only
    /// counted. Returns true for a re-delivery.
    static bool record(db::Connection& c, const NewDelivery& delivery);
    /// The oldest deliveries waiting for processing, at most `limit`.
    static std::vector<PendingDelivery> pending(db::Connection& c, int limit);
    /// Records each outcome and takes the delivery off the queue (another node's outcome for the
    /// same delivery wins: it was processed there).
    static void record_outcomes(db::Connection& c,
                                const std::vector<DeliveryOutcome>& outcomes,
                                std::int64_t processed_at_ms);
    /// Deletes the deliveries received before `received_before_ms` that are not waiting, with
    /// their outcomes. Returns how many.
    static std::int64_t prune(db::Connection& c, std::int64_t received_before_ms);
    /// Deletes every delivery that is not waiting (the admin's clear).
    static std::int64_t clear(db::Connection& c);
    /// Newest first, optionally of one status; offset or keyset paging (ids downwards).
    static DeliveryPage list(db::Connection& c, const http::PageQuery& query, std::optional<DeliveryStatus> status);
};

}  // namespace motorpool::smartcar
