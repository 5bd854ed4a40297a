// The simulator's webhook emitter: VERIFY, then signed VEHICLE_STATE deliveries for subscribed cars,
// retried on Smartcar's schedule, on a thread of its own (it stands for Smartcar's servers).

#include "http/outbound.hpp"
#include "state.hpp"

namespace motorpool::smartcar::sim {

using http::HttpRequest;
using http::HttpResponse;
using http::perform;

namespace {

// POSTs a delivery as Smartcar does: compact JSON, its signature, a 15-second limit. The status
// (0 when unreachable) and, for VERIFY, the answer.
int post_delivery(const std::string& url, const std::string& body, const std::string& signature, std::string* answer) {
    HttpRequest request;
    request.method = "POST";
    request.url = url;
    request.headers = {"Content-Type: application/json",
                       "User-Agent: Smartcar/4.0 (motorpool simulator)",
                       "SC-Signature: " + signature};
    request.body = body;
    request.connect_timeout = std::chrono::seconds(5);
    request.timeout = std::chrono::seconds(15);
    request.max_response_bytes = 64 * 1024;
    HttpResponse response = perform(request);
    if (answer != nullptr) {
        *answer = std::move(response.body);
    }
    return static_cast<int>(response.status);
}

json::object delivery_meta(Simulator::State& s, std::int64_t now, std::size_t signal_count) {
    std::string delivery;
    {
        std::lock_guard lock(s.mutex);
        delivery = s.new_id();
    }
    json::object meta{{"version", "4.0"},
                      {"webhookId", s.options.webhook_id},
                      {"webhookName", s.options.webhook_name},
                      {"deliveryId", delivery},
                      {"deliveredAt", now}};
    if (signal_count > 0) {
        meta["signalCount"] = signal_count;
    }
    meta["mode"] = "TEST";
    return meta;
}

void emitter_loop(const std::shared_ptr<Simulator::State>& s) {
    using Attempt = Simulator::State::Attempt;
    const std::int64_t interval = s->options.webhook_interval.count();
    std::int64_t next_round = interval > 0 ? s->now() + interval : INT64_MAX;
    auto record = [&](DeliveryRecord r) {
        std::lock_guard lock(s->emit_mutex);
        s->deliveries.push_back(std::move(r));
        if (s->deliveries.size() > 10'000) {
            s->deliveries.pop_front();
        }
    };
    // VERIFY first: Smartcar activates a webhook only once its callback answers the challenge.
    {
        std::string challenge;
        std::string event_id;
        {
            std::lock_guard lock(s->mutex);
            challenge = s->new_id();
            event_id = s->new_id();
        }
        json::object meta = delivery_meta(*s, s->now(), 0);
        meta["deliveredAt"] = core::format_rfc3339(s->now(), true);  // VERIFY writes it as text (SMARTCAR.md 4.1)
        std::string body = core::to_json_text(json::object{{"eventId", event_id},
                                                           {"eventType", "VERIFY"},
                                                           {"data", json::object{{"challenge", challenge}}},
                                                           {"meta", std::move(meta)}});
        std::string answer;
        int status = post_delivery(
            s->callback_url, body, core::hex_encode(core::hmac_sha256(s->options.management_token, body)), &answer);
        boost::system::error_code ec;
        json::value parsed = json::parse(answer, ec);
        const std::string expected = core::hex_encode(core::hmac_sha256(s->options.management_token, challenge));
        const bool verified = !ec && parsed.is_object() && parsed.as_object().if_contains("challenge") &&
                              parsed.as_object().at("challenge") == json::value(expected);
        record({s->now(), event_id, "VERIFY", "", 1, status, verified});
    }
    while (true) {
        std::optional<Attempt> due;
        {
            std::unique_lock lock(s->emit_mutex);
            const std::int64_t now = s->now();
            std::int64_t wake_at = next_round;
            for (const auto& a : s->attempts) {
                wake_at = std::min(wake_at, a.due_ms);
            }
            if (wake_at > now && !s->emit_stop) {
                s->emit_wake.wait_for(lock, std::chrono::milliseconds(std::min<std::int64_t>(wake_at - now, 60'000)));
            }
            if (s->emit_stop) {
                return;
            }
            auto it = std::min_element(s->attempts.begin(), s->attempts.end(), [](const Attempt& a, const Attempt& b) {
                return a.due_ms < b.due_ms;
            });
            if (it != s->attempts.end() && it->due_ms <= s->now()) {
                due = std::move(*it);
                s->attempts.erase(it);
            }
        }
        if (!due) {
            if (s->now() >= next_round) {
                next_round = s->now() + interval;
                Simulator::emit_round(s);
            }
            continue;
        }
        const std::int64_t now = s->now();
        std::size_t count = 0;
        if (const auto* signals = due->data.if_contains("signals"); signals != nullptr && signals->is_array()) {
            count = signals->as_array().size();
        }
        json::array triggers;
        if (const auto* signals = due->data.if_contains("signals"); signals != nullptr && signals->is_array()) {
            for (const auto& sig : signals->as_array()) {
                triggers.push_back(json::object{
                    {"type", "SIGNAL_UPDATED"},
                    {"signal",
                     json::object{{"name", sig.at("name")}, {"code", sig.at("code")}, {"group", sig.at("group")}}}});
                break;  // one trigger: the poll-like update that produced the event
            }
        }
        std::string body = core::to_json_text(json::object{{"eventId", due->event_id},
                                                           {"eventType", "VEHICLE_STATE"},
                                                           {"data", due->data},
                                                           {"triggers", std::move(triggers)},
                                                           {"meta", delivery_meta(*s, now, count)}});
        int status = post_delivery(
            s->callback_url, body, core::hex_encode(core::hmac_sha256(s->options.management_token, body)), nullptr);
        const bool delivered = status >= 200 && status <= 299;
        record({now, due->event_id, "VEHICLE_STATE", due->vehicle_id, due->attempt, status, delivered});
        if (!delivered) {
            // Smartcar retries three times, 25, 50 and 100 s apart, then drops the event.
            if (due->attempt < 4) {
                const double wait_s = 25.0 * static_cast<double>(1 << (due->attempt - 1)) * s->options.retry_scale;
                due->due_ms = now + static_cast<std::int64_t>(wait_s * 1000);
                due->attempt += 1;
                std::lock_guard lock(s->emit_mutex);
                s->attempts.push_back(std::move(*due));
            }
        }
    }
}

}  // namespace

void Simulator::emit_round(const std::shared_ptr<State>& s) {
    std::vector<State::Attempt> round;
    {
        std::lock_guard lock(s->mutex);
        const std::int64_t now = s->now();
        for (const auto& [webhook, vehicle] : s->webhook_subscriptions) {
            auto it = s->vehicles.find(vehicle);
            if (webhook != s->options.webhook_id || it == s->vehicles.end()) {
                continue;
            }
            // Only vehicles some live grant still reaches.
            std::string user;
            for (const auto& [token, access] : s->access_tokens) {
                if (!access.grant->revoked && access.grant->has_vehicle(vehicle)) {
                    user = access.grant->user_id;
                }
            }
            if (user.empty()) {
                continue;
            }
            const auto& spec = it->second->spec();
            json::object data{
                {"user", json::object{{"id", user}}},
                {"vehicle",
                 json::object{{"id", spec.id}, {"make", spec.make}, {"model", spec.model}, {"year", spec.year}}},
                {"signals", s->signals(*it->second, now)}};
            round.push_back({now, 1, s->new_id(), vehicle, std::move(data)});
        }
    }
    {
        std::lock_guard lock(s->emit_mutex);
        for (auto& a : round) {
            s->attempts.push_back(std::move(a));
        }
    }
    s->emit_wake.notify_all();
}

void Simulator::start_emitter(const std::string& callback_url) {
    std::lock_guard lock(state_->emit_mutex);
    if (state_->emitter.joinable() || callback_url.empty()) {
        return;
    }
    state_->callback_url = callback_url;
    state_->emit_stop = false;
    state_->emitter = std::thread([s = state_] {
        core::name_this_thread("mp-sim-emitter");
        emitter_loop(s);
    });
}

void Simulator::stop_emitter() {
    {
        std::lock_guard lock(state_->emit_mutex);
        state_->emit_stop = true;
    }
    state_->emit_wake.notify_all();
    if (state_->emitter.joinable()) {
        state_->emitter.join();
    }
}

void Simulator::emit_now() {
    emit_round(state_);
}

std::vector<DeliveryRecord> Simulator::deliveries() const {
    std::lock_guard lock(state_->emit_mutex);
    return {state_->deliveries.begin(), state_->deliveries.end()};
}

}  // namespace motorpool::smartcar::sim
