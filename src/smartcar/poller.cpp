#include "smartcar/poller.hpp"

#include <algorithm>
#include <random>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "smartcar/convert.hpp"

namespace motorpool::smartcar {

namespace json = boost::json;
using core::ApiError;

namespace {

constexpr const char* kDueColumns =
    "SELECT sv.smartcar_vehicle_id, sv.connection_id, sv.vehicle_id, v.public_id, c.smartcar_user_id, "
    "sv.next_poll_at_ms FROM smartcar_vehicles sv JOIN smartcar_connections c ON c.id = sv.connection_id "
    "JOIN vehicles v ON v.id = sv.vehicle_id WHERE c.status = 'active'";

std::string error_json(const SmartcarError& e, std::int64_t now) {
    return core::to_json_text(
        json::object{{"type", e.type()},
                     {"code", e.code() ? json::value(*e.code()) : nullptr},
                     {"description", e.description()},
                     {"request_id", e.request_id.empty() ? json::value(nullptr) : json::value(e.request_id)},
                     {"at", core::format_rfc3339(now)}});
}

}  // namespace

Poller::Poller(SmartcarService& service, telemetry::Ingestor& ingestor, PollerOptions options)
    : service_(service),
      ingestor_(ingestor),
      options_(options),
      threads_(std::max(1, options.concurrency), std::max(1, options.concurrency)) {}

Poller::~Poller() {
    stop();
}

jobs::JobSpec Poller::job(jobs::Scheduler& scheduler) {
    scheduler_ = &scheduler;
    return {"smartcar.poll", options_.tick, std::chrono::milliseconds(0), false, [this](const std::atomic<bool>&) {
                dispatch_due();
            }};
}

void Poller::wake() {
    if (scheduler_ != nullptr) {
        scheduler_->trigger("smartcar.poll");
    }
}

void Poller::start() {
    std::lock_guard lock(mutex_);
    stopping_ = false;
}

void Poller::stop() {
    std::unique_lock lock(mutex_);
    stopping_ = true;
    idle_.wait(lock, [&] { return in_flight_ == 0; });
}

std::int64_t Poller::polls() const {
    return polls_.load();
}

std::int64_t Poller::next_poll_time(std::int64_t now) {
    thread_local std::mt19937_64 rng(core::random_u64());
    const std::int64_t interval = options_.interval.count();
    const std::int64_t jitter = interval / 10;  // +-10 %
    return now + interval + (jitter > 0 ? std::uniform_int_distribution<std::int64_t>(-jitter, jitter)(rng) : 0);
}

void Poller::dispatch_due() {
    int room = 0;
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            return;
        }
        room = options_.concurrency - in_flight_;
    }
    if (room <= 0) {
        return;
    }
    const std::int64_t now = service_.now_ms();
    auto rows = service_.database().with_reader([&](db::Connection& c) {
        return c.query(std::string(kDueColumns) +
                           " AND sv.next_poll_at_ms <= $1 AND sv.next_call_at_ms <= $1 "
                           "ORDER BY sv.next_poll_at_ms LIMIT $2",
                       {now, std::int64_t{room}});
    });
    for (std::size_t i = 0; i < rows.size(); ++i) {
        auto r = rows.row(i);
        // Claimed by moving its next poll time, only if no other node moved it first.
        std::int64_t won = service_.database().with_transaction([&](db::Connection& c) {
            return c.execute(
                "UPDATE smartcar_vehicles SET next_poll_at_ms = $3 WHERE smartcar_vehicle_id = $1 "
                "AND next_poll_at_ms = $2",
                {r.text(0), r.int64(5), next_poll_time(now)});
        });
        if (won != 1) {
            continue;
        }
        Due due{r.text(0), r.int64(1), r.int64(2), r.text(3), r.opt_text(4).value_or("")};
        {
            std::lock_guard lock(mutex_);
            if (stopping_) {
                return;  // claimed, not polled: its next poll time comes round again
            }
            ++in_flight_;
        }
        // On the poller's threads, not the shared workers: a poll may wait on Smartcar for minutes
        // (timeouts times attempts) and must never hold a thread a request's database work needs.
        threads_.post([this, due = std::move(due)] { run_poll(due); });
    }
}

void Poller::run_poll(const Due& due) {
    try {
        poll(due);
    } catch (const SmartcarError& e) {
        core::log_event(spdlog::level::info,
                        "smartcar poll failed",
                        {{"vehicle_id", due.vehicle_public_id}, {"error", std::string_view(e.what())}});
    } catch (const std::exception& e) {
        core::log_event(spdlog::level::info,
                        "smartcar poll skipped",
                        {{"vehicle_id", due.vehicle_public_id}, {"reason", std::string_view(e.what())}});
    }
    std::lock_guard lock(mutex_);
    --in_flight_;
    idle_.notify_all();
}

void Poller::poll(const Due& due) {
    auto& client = service_.client();
    const std::int64_t started = service_.now_ms();
    std::vector<telemetry::Sample> samples;
    try {
        if (service_.options().api_version == 3 && !due.smartcar_user_id.empty()) {
            json::value data =
                client.signals(client.application_token(), due.smartcar_user_id, due.smartcar_vehicle_id);
            samples = samples_from_signals(data.as_array(), due.vehicle_id, telemetry::Source::Poll, started);
        } else {
            json::array items = service_.with_access_token(due.connection_id, [&](const Tokens& t) {
                return client.batch(t.access_token, due.smartcar_vehicle_id, poll_paths());
            });
            samples = samples_from_v2(items, due.vehicle_id, telemetry::Source::Poll, started);
        }
    } catch (const SmartcarError& e) {
        const std::int64_t now = service_.now_ms();
        const std::int64_t wait = e.is_rate_limit() ? std::max(1, e.retry_after_s) * 1000LL : 0;
        const std::string recorded = error_json(e, now);
        service_.database().with_transaction([&](db::Connection& c) {
            // The connection says so too (its last_error is what the API and the dashboard show):
            // an outage, a rate limit or a failing refresh is not hidden behind "active" and null.
            // Its row first, then the vehicle's, as every writer of both does (no deadlock).
            c.execute(
                "UPDATE smartcar_connections SET last_error = $2, updated_at_ms = $3 WHERE id = $1 AND status = "
                "'active'",
                {due.connection_id, recorded, now});
            c.execute(
                "UPDATE smartcar_vehicles SET last_error = $2, next_call_at_ms = CASE WHEN $3 > next_call_at_ms "
                "THEN $3 ELSE next_call_at_ms END, next_poll_at_ms = CASE WHEN $3 > next_poll_at_ms THEN $3 ELSE "
                "next_poll_at_ms END WHERE smartcar_vehicle_id = $1",
                {due.smartcar_vehicle_id, recorded, wait > 0 ? now + wait : std::int64_t{0}});
        });
        throw;
    }
    if (!samples.empty()) {
        std::string problem;
        const std::size_t dropped = telemetry::drop_invalid_samples(samples, started, &problem);
        if (dropped > 0) {
            core::log_event(spdlog::level::info,
                            "smartcar poll dropped values",
                            {{"vehicle_id", due.vehicle_public_id},
                             {"dropped", static_cast<std::int64_t>(dropped)},
                             {"first_problem", problem}});
        }
        ingestor_.ingest_blocking(due.vehicle_public_id, std::move(samples));
    }
    const std::int64_t done = service_.now_ms();
    service_.database().with_transaction([&](db::Connection& c) {
        // The connection's last error, when it is this vehicle's (a failed poll or a VEHICLE_ERROR
        // of this car), is over now that this car answered; another car's stays until that one does.
        c.execute(
            "UPDATE smartcar_connections SET last_error = NULL, updated_at_ms = $3 WHERE id = $1 AND last_error = "
            "(SELECT last_error FROM smartcar_vehicles WHERE smartcar_vehicle_id = $2)",
            {due.connection_id, due.smartcar_vehicle_id, done});
        c.execute(
            "UPDATE smartcar_vehicles SET last_polled_at_ms = $2, last_error = NULL WHERE smartcar_vehicle_id = $1",
            {due.smartcar_vehicle_id, done});
    });
    polls_.fetch_add(1);
}

bool Poller::poll_now(std::int64_t vehicle_id) {
    const std::int64_t now = service_.now_ms();
    auto rows = service_.database().with_reader([&](db::Connection& c) {
        return c.query(std::string(kDueColumns) + " AND sv.vehicle_id = $1 ORDER BY sv.created_at_ms DESC LIMIT 1",
                       {vehicle_id});
    });
    if (rows.empty()) {
        return false;
    }
    auto r = rows.front();
    Due due{r.text(0), r.int64(1), r.int64(2), r.text(3), r.opt_text(4).value_or("")};
    auto next_call = service_.database().with_reader([&](db::Connection& c) {
        return c
            .query("SELECT next_call_at_ms FROM smartcar_vehicles WHERE smartcar_vehicle_id = $1",
                   {due.smartcar_vehicle_id})
            .front()
            .int64(0);
    });
    if (next_call > now) {
        // Smartcar asked us to wait for this vehicle: so does the client.
        int seconds = static_cast<int>((next_call - now + 999) / 1000);
        throw ApiError(429,
                       "Too Many Requests",
                       "Smartcar asked to wait before the next call for this vehicle",
                       "urn:motorpool:problem:smartcar:rate_limit")
            .with_header("Retry-After", std::to_string(seconds));
    }
    try {
        poll(due);
    } catch (const SmartcarError& e) {
        throw upstream_problem(e);
    }
    service_.database().with_transaction([&](db::Connection& c) {
        c.execute("UPDATE smartcar_vehicles SET next_poll_at_ms = $2 WHERE smartcar_vehicle_id = $1",
                  {due.smartcar_vehicle_id, next_poll_time(service_.now_ms())});
    });
    return true;
}

}  // namespace motorpool::smartcar
