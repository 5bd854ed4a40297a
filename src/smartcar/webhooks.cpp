#include "smartcar/webhooks.hpp"

#include <map>
#include <optional>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "auth/auth.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "core/threads.hpp"
#include "core/time.hpp"
#include "http/paging.hpp"
#include "smartcar/convert.hpp"
#include "vehicle_links.hpp"
#include "webhook_log.hpp"

namespace motorpool::smartcar {

namespace net = boost::asio;
namespace json = boost::json;
using core::ApiError;
using http::Request;
using http::Response;

namespace {

constexpr std::size_t kMaxDeliveryBytes = 256 * 1024;  // Smartcar sends at most 50 KB

const json::value* member(const json::value& v, std::string_view key) {
    return v.is_object() ? v.as_object().if_contains(key) : nullptr;
}
std::string text_of(const json::value* v) {
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// The parts of an envelope the log needs. v4: {eventId, eventType, data, meta}; legacy v2:
// {version "2.0", webhookId, eventName, payload}.
struct Envelope {
    std::string type;  // VERIFY, VEHICLE_STATE, VEHICLE_ERROR, or v2's verify/scheduled/dynamic/eventBased
    std::string event_id;
    std::string delivery_id;
    std::string challenge;
    bool verify = false;
    std::string missing;  // a field the event type requires and the delivery lacks ("data.vehicle.id")
};

std::optional<Envelope> read_envelope(const json::value& body, std::string_view raw) {
    if (!body.is_object()) {
        return std::nullopt;
    }
    Envelope e;
    if (auto type = text_of(member(body, "eventType")); !type.empty()) {
        e.type = core::to_upper_ascii(type);
        e.event_id = text_of(member(body, "eventId"));
        if (const auto* meta = member(body, "meta")) {
            e.delivery_id = text_of(member(*meta, "deliveryId"));
        }
        const json::value* data = member(body, "data");
        if (data != nullptr) {
            e.challenge = text_of(member(*data, "challenge"));
        }
        e.verify = e.type == "VERIFY";
        if (e.type == "VEHICLE_STATE" || e.type == "VEHICLE_ERROR") {
            // The vehicle, where Smartcar puts it (and where older deliveries did): without one,
            // nothing can be done with the event, so it is refused rather than logged as ignored.
            const json::value* vehicle = data != nullptr ? member(*data, "vehicle") : nullptr;
            const bool named = !text_of(vehicle != nullptr ? member(*vehicle, "id") : nullptr).empty() ||
                               !text_of(data != nullptr ? member(*data, "vehicleId") : nullptr).empty() ||
                               !text_of(member(body, "vehicleId")).empty();
            if (!named) {
                e.missing = "data.vehicle.id";
            }
        }
    } else if (auto name = text_of(member(body, "eventName")); !name.empty()) {
        e.type = name;
        if (const auto* payload = member(body, "payload")) {
            e.challenge = text_of(member(*payload, "challenge"));
            e.event_id = text_of(member(*payload, "eventId"));
        }
        e.verify = core::iequals(name, "verify");
    } else {
        return std::nullopt;
    }
    if (e.event_id.empty() || e.event_id.size() > 200) {
        // Legacy scheduled deliveries carry no event id: the body itself identifies a re-delivery.
        e.event_id = "sha256:" + core::sha256_hex(raw);
    }
    return e;
}

// Parses a delivery just far enough for the log. The tree lives in a buffer on the stack (a
// delivery's is a few KiB) and is dropped whole: allocating and freeing its nodes one by one
// cost the I/O threads more than the parse itself.
std::optional<Envelope> parse_envelope(std::string_view raw) {
    unsigned char buffer[16384];
    json::monotonic_resource memory(buffer, sizeof(buffer));
    boost::system::error_code ec;
    json::value body = json::parse(raw, ec, &memory);
    if (ec) {
        return std::nullopt;
    }
    return read_envelope(body, raw);
}

Response json_answer(const json::object& body) {
    return Response::json_text(core::to_json_text(body));
}

}  // namespace

WebhookProcessor::WebhookProcessor(SmartcarService& service,
                                   telemetry::Ingestor& ingestor,
                                   core::EventBus& bus,
                                   core::MetricsRegistry* metrics,
                                   WebhookOptions options)
    : service_(service), ingestor_(ingestor), bus_(bus), options_(options) {
    if (metrics != nullptr) {
        processed_ = &metrics->counter("motorpool_webhook_deliveries_processed_total",
                                       "Webhook deliveries processed from the durable log");
    }
}

WebhookProcessor::~WebhookProcessor() {
    stop();
}

void WebhookProcessor::start() {
    if (!options_.process || thread_.joinable()) {
        return;
    }
    stopping_ = false;
    pending_ = true;  // deliveries acknowledged before a crash or restart wait in the log
    thread_ = std::thread([this] {
        core::name_this_thread("mp-webhooks");
        run();
    });
}

void WebhookProcessor::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void WebhookProcessor::notify() {
    if (pending_.exchange(true, std::memory_order_acq_rel)) {
        return;  // already signalled: the next pass takes this delivery too
    }
    {
        std::lock_guard lock(mutex_);  // orders the flag with the processor's check before it waits
    }
    wake_.notify_one();
}

std::int64_t WebhookProcessor::prune() {
    const std::int64_t before =
        service_.now_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(options_.keep).count();
    return service_.database().with_transaction([&](db::Connection& c) { return WebhookLog::prune(c, before); });
}

void WebhookProcessor::run() {
    while (true) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, std::chrono::seconds(5), [&] { return stopping_ || pending_.load(); });
            if (stopping_) {
                return;
            }
            // Let deliveries gather for a larger pass (stop() still ends the wait at once; the
            // deliveries meanwhile find pending_ set and do not wake this thread).
            wake_.wait_for(lock, options_.linger, [&] { return stopping_; });
            if (stopping_) {
                return;
            }
            pending_.store(false, std::memory_order_release);
        }
        try {
            drain();
        } catch (const std::exception& e) {
            spdlog::warn("webhook processing failed (will retry): {}", e.what());
        }
    }
}

std::int64_t WebhookProcessor::drain() {
    std::lock_guard lock(drain_mutex_);
    std::int64_t total = 0;
    while (true) {
        std::int64_t n = process_batch();
        total += n;
        if (n < options_.batch) {
            return total;
        }
    }
}

struct WebhookProcessor::Batch {
    struct Dropped {
        std::size_t count = 0;
        std::string first_problem;
        // ", dropped 1 value (TractionBattery.StateOfCharge: time is more than 5 minutes in the future)"
        std::string note() const {
            if (count == 0) {
                return {};
            }
            return ", dropped " + std::to_string(count) + (count == 1 ? " value (" : " values (first: ") +
                   first_problem.substr(0, 200) + ")";
        }
    };
    using Link = VehicleLink;
    // A VEHICLE_ERROR: written in the pass's transaction, published once it committed.
    struct VehicleError {
        std::string smartcar_vehicle_id;
        std::int64_t connection_id;
        std::string recorded;  // the last_error JSON
        std::int64_t at_ms;
        core::Event event;
    };
    std::map<std::string, std::optional<Link>> links;               // by Smartcar vehicle id
    std::map<std::string, std::vector<telemetry::Sample>> samples;  // by our public vehicle id
    std::vector<VehicleError> errors;
    // Each delivery's parse tree, dropped whole before the next (see parse_envelope).
    std::vector<unsigned char> parse_buffer = std::vector<unsigned char>(64 * 1024);
    json::monotonic_resource parse_memory{parse_buffer.data(), parse_buffer.size()};

    std::optional<Link> link(db::Database& database, const std::string& smartcar_vehicle_id) {
        auto it = links.find(smartcar_vehicle_id);
        if (it != links.end()) {
            return it->second;
        }
        std::optional<Link> found =
            database.with_reader([&](db::Connection& c) { return VehicleLinks::find(c, smartcar_vehicle_id); });
        links.emplace(smartcar_vehicle_id, found);
        return found;
    }
    // Adds a delivery's samples for one vehicle, less those telemetry's one check refuses against
    // the time it was received (dropped and counted, named in the delivery's outcome).
    std::size_t add(const std::string& vehicle_public_id,
                    std::vector<telemetry::Sample> more,
                    std::int64_t received_at_ms,
                    Dropped& dropped) {
        dropped.count += telemetry::drop_invalid_samples(more, received_at_ms, &dropped.first_problem);
        auto& list = samples[vehicle_public_id];
        const std::size_t n = more.size();
        list.insert(list.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
        return n;
    }
};

std::int64_t WebhookProcessor::process_batch() {
    const auto deliveries =
        service_.database().with_reader([&](db::Connection& c) { return WebhookLog::pending(c, options_.batch); });
    if (deliveries.empty()) {
        return 0;
    }
    Batch batch;
    std::vector<DeliveryOutcome> results;
    results.reserve(deliveries.size());
    for (const PendingDelivery& d : deliveries) {
        DeliveryOutcome result{d.id, DeliveryStatus::Processed, {}};
        try {
            result.outcome = process(batch, d.event_type, d.body, d.received_at_ms, result.status);
        } catch (const std::exception& e) {
            // A delivery that cannot be processed is kept, marked, and never blocks the others.
            result.status = DeliveryStatus::Failed;
            result.outcome = e.what();
        }
        results.push_back(std::move(result));
    }
    // One transaction for the pass: an ingest per vehicle and every delivery's outcome. If it
    // fails, nothing is marked and the pass is repeated (ingest is idempotent). No delivery can
    // fail it for good: a vehicle deleted since its link was read fails the foreign key once, and
    // the repeat finds the link gone and ignores that vehicle's deliveries. On SQLite it joins
    // the group commit (one writer either way, and the acknowledgements waiting meanwhile share
    // its sync); PostgreSQL runs it on a connection of its own, next to the acknowledgements.
    const std::int64_t now = service_.now_ms();
    std::map<std::string, telemetry::IngestResult> ingested;
    auto pass = [&](db::Connection& c) {
        ingested.clear();
        for (auto& [vehicle, samples] : batch.samples) {
            if (!samples.empty()) {
                ingested[vehicle] = ingestor_.write_in_transaction(c, samples);
            }
        }
        for (const auto& e : batch.errors) {
            VehicleLinks::record_error(c, e.smartcar_vehicle_id, e.connection_id, e.recorded, e.at_ms);
        }
        WebhookLog::record_outcomes(c, results, now);
    };
    if (service_.database().dialect() == db::Dialect::Sqlite) {
        service_.database().group_commit().submit_blocking(pass);
    } else {
        service_.database().with_transaction(pass);
    }
    for (const auto& [vehicle, result] : ingested) {
        ingestor_.committed(vehicle, batch.samples[vehicle], result);
    }
    for (const auto& e : batch.errors) {
        bus_.publish(e.event);
    }
    if (processed_ != nullptr) {
        processed_->inc(results.size());
    }
    return static_cast<std::int64_t>(deliveries.size());
}

std::string WebhookProcessor::process(Batch& batch,
                                      const std::string& event_type,
                                      const std::string& raw,
                                      std::int64_t received_at_ms,
                                      DeliveryStatus& status) {
    batch.parse_memory.release();
    json::value body = json::parse(raw, &batch.parse_memory);
    auto link_of = [&](const std::string& smartcar_vehicle_id) {
        return batch.link(service_.database(), smartcar_vehicle_id);
    };
    // The vehicle, as each envelope names it (docs and real traffic disagree: look everywhere).
    const json::value* data = member(body, "data");
    std::string vehicle = text_of(member(body, "vehicleId"));
    if (vehicle.empty() && data != nullptr) {
        if (const auto* v = member(*data, "vehicle")) {
            vehicle = text_of(member(*v, "id"));
        }
        if (vehicle.empty()) {
            vehicle = text_of(member(*data, "vehicleId"));
        }
    }
    std::int64_t fallback = received_at_ms;
    if (const auto* meta = member(body, "meta")) {
        fallback = parse_time(member(*meta, "deliveredAt")).value_or(received_at_ms);
    }
    if (event_type == "VEHICLE_STATE") {
        auto link = link_of(vehicle);
        if (!link) {
            status = DeliveryStatus::Ignored;
            return "unknown vehicle " + vehicle.substr(0, 64);
        }
        const json::value* signals = data != nullptr ? member(*data, "signals") : nullptr;
        if (signals == nullptr || !signals->is_array()) {
            status = DeliveryStatus::Ignored;
            return "no signals";
        }
        auto samples =
            samples_from_signals(signals->as_array(), link->vehicle_id, telemetry::Source::Webhook, fallback);
        Batch::Dropped dropped;
        const std::size_t added = batch.add(link->vehicle_public_id, std::move(samples), received_at_ms, dropped);
        return "ingested " + std::to_string(added) + " values" + dropped.note();
    }
    if (event_type == "VEHICLE_ERROR") {
        auto link = link_of(vehicle);
        if (!link) {
            status = DeliveryStatus::Ignored;
            return "unknown vehicle " + vehicle.substr(0, 64);
        }
        json::array errors;
        if (const auto* list = data != nullptr ? member(*data, "errors") : nullptr;
            list != nullptr && list->is_array()) {
            for (const auto& e : list->as_array()) {
                errors.push_back(
                    json::object{{"type", text_of(member(e, "type"))},
                                 {"code", member(e, "code") ? *member(e, "code") : json::value(nullptr)},
                                 {"state", text_of(member(e, "state"))},
                                 {"description", scrub_upstream_text(text_of(member(e, "description")), 300)}});
            }
        }
        const std::string vehicle_public = link->vehicle_public_id;
        const std::int64_t at = service_.now_ms();
        std::string recorded = core::to_json_text(json::object{{"type", "VEHICLE_ERROR"},
                                                               {"errors", errors},
                                                               {"vehicle_id", vehicle_public},
                                                               {"at", core::format_rfc3339(fallback)}});
        core::Event event;
        event.topic = "vehicle." + vehicle_public;
        event.type = "VEHICLE_ERROR";
        event.payload = core::to_json_text(
            json::object{{"type", "VEHICLE_ERROR"}, {"vehicle_id", vehicle_public}, {"errors", std::move(errors)}});
        const std::size_t bytes = event.payload.size();
        // Recorded by the pass's transaction and published after it committed: a pass that fails and
        // is repeated neither writes it half nor publishes it twice.
        batch.errors.push_back({vehicle, link->connection_id, std::move(recorded), at, std::move(event)});
        return "recorded " + std::to_string(bytes) + " bytes of errors";
    }
    // Legacy v2 envelope.
    const json::value* payload = member(body, "payload");
    if ((event_type == "scheduled" || event_type == "dynamic") && payload != nullptr) {
        std::int64_t accepted = 0;
        std::int64_t known = 0;
        Batch::Dropped dropped;
        if (const auto* list = member(*payload, "vehicles"); list != nullptr && list->is_array()) {
            for (const auto& v : list->as_array()) {
                auto link = link_of(text_of(member(v, "vehicleId")));
                const auto* items = member(v, "data");
                if (!link || items == nullptr || !items->is_array()) {
                    continue;
                }
                ++known;
                auto samples =
                    samples_from_v2(items->as_array(), link->vehicle_id, telemetry::Source::Webhook, fallback);
                accepted += static_cast<std::int64_t>(
                    batch.add(link->vehicle_public_id, std::move(samples), received_at_ms, dropped));
            }
        }
        if (known == 0) {
            status = DeliveryStatus::Ignored;
            return "no known vehicle";
        }
        return "ingested " + std::to_string(accepted) + " values of " + std::to_string(known) + " vehicle(s)" +
               dropped.note();
    }
    if (event_type == "eventBased" && payload != nullptr) {
        auto link = link_of(text_of(member(*payload, "vehicleId")));
        if (!link) {
            status = DeliveryStatus::Ignored;
            return "unknown vehicle";
        }
        const std::string what = text_of(member(*payload, "eventType"));
        const std::int64_t t = parse_time(member(*payload, "eventTime")).value_or(fallback);
        const char* state = what == "CHARGING_STARTED"     ? "CHARGING"
                            : what == "CHARGING_COMPLETED" ? "FULLY_CHARGED"
                            : what == "CHARGING_STOPPED"   ? "NOT_CHARGING"
                                                           : nullptr;
        if (state == nullptr) {
            status = DeliveryStatus::Ignored;
            return "event " + what.substr(0, 40) + " carries no signal";
        }
        json::array items{json::object{
            {"path", "/charge"}, {"code", 200}, {"body", json::object{{"isPluggedIn", true}, {"state", state}}}}};
        auto samples = samples_from_v2(items, link->vehicle_id, telemetry::Source::Webhook, t);
        Batch::Dropped dropped;
        const std::size_t added = batch.add(link->vehicle_public_id, std::move(samples), received_at_ms, dropped);
        return "ingested " + std::to_string(added) + " values of " + what + dropped.note();
    }
    status = DeliveryStatus::Ignored;
    return "event type " + event_type.substr(0, 40) + " is not processed";
}

void install_webhooks(http::Router& router,
                      SmartcarService& service,
                      std::shared_ptr<WebhookProcessor> processor,
                      core::MetricsRegistry* metrics) {
    struct Counters {
        core::Counter* accepted = nullptr;
        core::Counter* duplicate = nullptr;
        core::Counter* rejected = nullptr;
        core::Counter* verify = nullptr;
    };
    auto counters = std::make_shared<Counters>();
    if (metrics != nullptr) {
        const char* help = "Smartcar webhook deliveries by outcome";
        counters->accepted = &metrics->counter("motorpool_webhook_deliveries_total", help, {{"outcome", "accepted"}});
        counters->duplicate = &metrics->counter("motorpool_webhook_deliveries_total", help, {{"outcome", "duplicate"}});
        counters->rejected =
            &metrics->counter("motorpool_webhook_deliveries_total", help, {{"outcome", "bad_signature"}});
        counters->verify = &metrics->counter("motorpool_webhook_deliveries_total", help, {{"outcome", "verify"}});
    }
    auto inc = [](core::Counter* c) {
        if (c != nullptr) {
            c->inc();
        }
    };
    http::RouteOptions open;
    open.max_body_bytes = kMaxDeliveryBytes;
    SmartcarService* svc = &service;
    router.add(
        http::Method::Post,
        "/webhooks/smartcar",
        [svc, processor, counters, inc](Request req) -> net::awaitable<Response> {
            const std::string& amt = svc->options().management_token;
            if (amt.empty()) {
                // Without the management token nothing can be verified or answered: refuse, loudly.
                throw ApiError::unavailable("Smartcar webhooks need SMARTCAR_MANAGEMENT_TOKEN", 60);
            }
            req.require_json_content_type();  // Smartcar sends application/json
            // The raw bytes are what was signed: checked before anything parses them.
            auto signature = req.header("SC-Signature");
            const bool signed_ok = signature && !amt.empty() &&
                                   core::constant_time_equal(core::to_lower_ascii(*signature),
                                                             core::hex_encode(core::hmac_sha256(amt, req.body)));
            if (signature && !signed_ok) {
                inc(counters->rejected);
                throw ApiError(401, "Unauthorized", "SC-Signature does not match the body");
            }
            std::optional<Envelope> envelope = parse_envelope(req.body);
            if (!signed_ok && !(envelope && envelope->verify)) {
                inc(counters->rejected);
                throw ApiError(401, "Unauthorized", "Deliveries must carry a valid SC-Signature");
            }
            if (!envelope) {
                throw ApiError::bad_request("Not a Smartcar webhook delivery");
            }
            if (!envelope->missing.empty()) {
                throw ApiError::bad_request(envelope->type + " deliveries require " + envelope->missing);
            }
            if (envelope->verify) {
                if (envelope->challenge.empty()) {
                    throw ApiError::bad_request("VERIFY without a challenge");
                }
                inc(counters->verify);
                co_return json_answer(
                    json::object{{"challenge", core::hex_encode(core::hmac_sha256(amt, envelope->challenge))}});
            }
            const std::int64_t now = svc->now_ms();
            auto shared = std::make_shared<std::pair<Envelope, std::string>>(std::move(*envelope), std::move(req.body));
            auto work = [shared, now](db::Connection& c) {
                const auto& [e, raw] = *shared;
                return WebhookLog::record(c, NewDelivery{e.event_id, e.type, e.delivery_id, now, raw});
            };
            // 2xx means committed: the delivery is in the log before Smartcar hears back.
            bool duplicate = co_await svc->database().group_commit().submit(std::move(work));
            if (duplicate) {
                inc(counters->duplicate);
            } else {
                inc(counters->accepted);
                processor->notify();
            }
            co_return json_answer(
                json::object{{"status", duplicate ? "duplicate" : "accepted"}, {"event_id", shared->first.event_id}});
        },
        open);

    http::RouteOptions admin;
    admin.auth = http::Auth::Required;
    router.add(
        http::Method::Get,
        "/api/v1/webhook-events",
        [svc](Request req) -> net::awaitable<Response> {
            auth::require_role(req, {auth::Role::Admin});
            std::vector<core::FieldError> errors;
            const http::PageQuery q = http::read_page_query(req, errors, 50, 100);
            std::optional<DeliveryStatus> status;
            if (auto name = req.query_param("status")) {
                status = status_from_name(*name);
                if (!status) {
                    errors.push_back({"status", "must be pending, processed, failed or ignored"});
                }
            }
            if (!errors.empty()) {
                throw ApiError::validation(errors);
            }
            auto job = [svc, q, status] {
                auto page =
                    svc->database().with_reader([&](db::Connection& c) { return WebhookLog::list(c, q, status); });
                json::array items;
                for (auto& d : page.items) {
                    boost::system::error_code ec;
                    json::value body = json::parse(d.body, ec);
                    items.push_back(json::object{
                        {"id", d.id},
                        {"event_id", d.event_id},
                        {"event_type", d.event_type},
                        {"delivery_id", d.delivery_id ? json::value(*d.delivery_id) : json::value()},
                        {"received_at", core::format_rfc3339(d.received_at_ms)},
                        {"status", status_name(d.status)},
                        {"outcome", d.outcome ? json::value(*d.outcome) : json::value()},
                        {"redeliveries", d.redeliveries},
                        {"processed_at",
                         d.processed_at_ms ? json::value(core::format_rfc3339(*d.processed_at_ms)) : json::value()},
                        {"body", ec ? json::value(d.body) : std::move(body)}});
                }
                return http::page_json(std::move(items), q, page.total, page.next_after);
            };
            json::object page = co_await svc->database().workers().run(std::move(job));
            co_return Response::json(page);
        },
        admin);
    router.add(
        http::Method::Delete,
        "/api/v1/webhook-events",
        [svc](Request req) -> net::awaitable<Response> {
            auth::require_role(req, {auth::Role::Admin});
            auto job = [svc] {
                svc->database().with_transaction([](db::Connection& c) { WebhookLog::clear(c); });
                return 0;
            };
            co_await svc->database().workers().run(std::move(job));
            co_return Response::no_content();
        },
        admin);
}

}  // namespace motorpool::smartcar
