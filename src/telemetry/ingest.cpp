// The ingest pipeline shared by every source: history rows (idempotent on their key) and the
// latest-value rows, in one group-commit transaction; then an event for live subscribers.

#include <algorithm>
#include <map>

#include <boost/json.hpp>

#include "core/json.hpp"
#include "core/time.hpp"
#include "telemetry/telemetry.hpp"
#include "values.hpp"

namespace motorpool::telemetry {

namespace json = boost::json;
using db::Connection;
using db::Value;

namespace {

constexpr std::size_t kRowsPerInsert = 400;  // 6 parameters each

Value number_value(const std::optional<double>& v) {
    return v ? Value(*v) : Value();
}
Value text_value(const std::optional<std::string>& v) {
    return v ? Value(*v) : Value();
}

}  // namespace

json::value value_json(const SignalInfo& signal,
                       const std::optional<double>& number,
                       const std::optional<std::string>& text) {
    switch (signal.type) {
        case ValueType::Number:
            return number ? json::value(*number) : json::value(nullptr);
        case ValueType::Boolean:
            return number ? json::value(*number != 0) : json::value(nullptr);
        case ValueType::Text:
            return text ? json::value(*text) : json::value(nullptr);
        case ValueType::Location: {
            if (!text) {
                return nullptr;
            }
            boost::system::error_code ec;
            json::value v = json::parse(*text, ec);
            return ec ? json::value(nullptr) : v;
        }
    }
    return nullptr;
}

Ingestor::Ingestor(db::Database& database,
                   core::EventBus* bus,
                   core::MetricsRegistry* metrics,
                   std::shared_ptr<core::Clock> clock)
    : database_(database), bus_(bus), clock_(clock ? std::move(clock) : std::make_shared<core::SystemClock>()) {
    if (metrics != nullptr) {
        batches_ = &metrics->counter("motorpool_telemetry_batches_total", "Ingest batches committed");
        accepted_ = &metrics->counter("motorpool_telemetry_rows_total", "Signal rows ingested", {{"result", "stored"}});
        duplicates_ =
            &metrics->counter("motorpool_telemetry_rows_total", "Signal rows ingested", {{"result", "duplicate"}});
        rejected_ =
            &metrics->counter("motorpool_telemetry_rows_total", "Signal rows ingested", {{"result", "rejected"}});
    }
}

void Ingestor::count(const IngestResult& result) {
    if (batches_ != nullptr) {
        batches_->inc();
        accepted_->inc(static_cast<std::uint64_t>(result.accepted));
        duplicates_->inc(static_cast<std::uint64_t>(result.duplicates));
        rejected_->inc(static_cast<std::uint64_t>(result.rejected));
    }
}

IngestResult Ingestor::write_in_transaction(Connection& c, std::vector<Sample>& samples) {
    IngestResult result;
    // The last line of defence: whatever a source let through, nothing outside the catalog's
    // ranges or the time bounds is stored (a sample from 9999 would hold the latest value forever).
    result.rejected = static_cast<std::int64_t>(drop_invalid_samples(samples, clock_->now_ms()));
    for (std::size_t from = 0; from < samples.size(); from += kRowsPerInsert) {
        const std::size_t n = std::min(kRowsPerInsert, samples.size() - from);
        std::string sql =
            "INSERT INTO signal_history (vehicle_id, signal_id, t_ms, value_num, value_text, source) VALUES ";
        std::vector<Value> params;
        params.reserve(n * 6);
        for (std::size_t i = 0; i < n; ++i) {
            const Sample& s = samples[from + i];
            if (i > 0) {
                sql += ", ";
            }
            const std::size_t base = params.size();
            sql += '(';
            for (std::size_t k = 1; k <= 6; ++k) {
                sql += '$';
                sql += std::to_string(base + k);
                sql += k < 6 ? ", " : ")";
            }
            params.emplace_back(s.vehicle_id);
            params.emplace_back(static_cast<std::int64_t>(s.signal));
            params.emplace_back(s.t_ms);
            params.push_back(number_value(s.number));
            params.push_back(text_value(s.text));
            params.emplace_back(static_cast<std::int64_t>(s.source));
        }
        sql += " ON CONFLICT (vehicle_id, signal_id, t_ms) DO NOTHING";
        result.accepted += c.query(sql, params).affected;
    }
    result.duplicates = static_cast<std::int64_t>(samples.size()) - result.accepted;

    // The newest sample of each (vehicle, signal) in the batch may move the latest value, and only
    // forward: late or out-of-order data never replaces a newer value.
    std::map<std::pair<std::int64_t, int>, const Sample*> newest;
    for (const auto& s : samples) {
        auto& slot = newest[{s.vehicle_id, s.signal}];
        if (slot == nullptr || s.t_ms > slot->t_ms) {
            slot = &s;
        }
    }
    for (const auto& [key, s] : newest) {
        c.execute(
            "INSERT INTO signal_latest (vehicle_id, signal_id, t_ms, value_num, value_text, source) "
            "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (vehicle_id, signal_id) DO UPDATE SET "
            "t_ms = excluded.t_ms, value_num = excluded.value_num, value_text = excluded.value_text, "
            "source = excluded.source WHERE excluded.t_ms > signal_latest.t_ms",
            {s->vehicle_id,
             static_cast<std::int64_t>(s->signal),
             s->t_ms,
             number_value(s->number),
             text_value(s->text),
             static_cast<std::int64_t>(s->source)});
    }
    return result;
}

void Ingestor::publish(const std::string& vehicle_public_id, const std::vector<Sample>& samples) {
    if (bus_ == nullptr || samples.empty()) {
        return;
    }
    std::map<int, const Sample*> newest;
    for (const auto& s : samples) {
        auto& slot = newest[s.signal];
        if (slot == nullptr || s.t_ms > slot->t_ms) {
            slot = &s;
        }
    }
    json::object signals;
    for (const auto& [id, s] : newest) {
        const SignalInfo* info = find_signal(id);
        if (info == nullptr) {
            continue;
        }
        signals[info->code] =
            json::object{{"value", value_json(*info, s->number, s->text)},
                         {"unit", info->unit.empty() ? json::value(nullptr) : json::value(info->unit)},
                         {"recorded_at", core::format_rfc3339(s->t_ms)},
                         {"source", source_name(s->source)}};
    }
    core::Event event;
    event.topic = "vehicle." + vehicle_public_id;
    event.type = "SIGNALS";
    event.payload = core::to_json_text(json::object{{"type", "SIGNALS"},
                                                    {"vehicle_id", vehicle_public_id},
                                                    {"signals", std::move(signals)},
                                                    {"published_at_ms", core::now_ms()}},
                                       core::WholeDoubles::KeepFraction);
    bus_->publish(event);
}

void Ingestor::committed(const std::string& vehicle_public_id,
                         const std::vector<Sample>& samples,
                         const IngestResult& result) {
    count(result);
    if (result.accepted > 0) {
        publish(vehicle_public_id, samples);
    }
}

boost::asio::awaitable<IngestResult> Ingestor::ingest(std::string vehicle_public_id, std::vector<Sample> samples) {
    auto shared = std::make_shared<std::vector<Sample>>(std::move(samples));
    // Dropped before the submission, which may run twice (a deadlock victim) and count only once.
    const auto dropped = static_cast<std::int64_t>(drop_invalid_samples(*shared, clock_->now_ms()));
    auto work = [this, shared](Connection& c) { return write_in_transaction(c, *shared); };
    IngestResult result = co_await database_.group_commit().submit(std::move(work));
    result.rejected += dropped;
    committed(vehicle_public_id, *shared, result);
    co_return result;
}

IngestResult Ingestor::ingest_blocking(const std::string& vehicle_public_id, std::vector<Sample> samples) {
    IngestResult result;
    const auto dropped = static_cast<std::int64_t>(drop_invalid_samples(samples, clock_->now_ms()));
    database_.group_commit().submit_blocking([&](Connection& c) { result = write_in_transaction(c, samples); });
    result.rejected += dropped;
    committed(vehicle_public_id, samples, result);
    return result;
}

}  // namespace motorpool::telemetry
