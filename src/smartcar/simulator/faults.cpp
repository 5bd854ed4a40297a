// The simulator's faults: errors, latency and rate limits injected per vehicle or for the token
// endpoint (SMARTCAR_SIM_FAULTS at start, POST/DELETE /admin/faults later); State::take_fault and
// take_token_fault consume them as requests arrive.

#include "state.hpp"

namespace motorpool::smartcar::sim {

void Simulator::add_faults(const json::value& body) {
    std::vector<core::FieldError> errors;
    const json::array* list = nullptr;
    if (body.is_object()) {
        if (const auto* f = body.as_object().if_contains("faults"); f != nullptr && f->is_array()) {
            list = &f->as_array();
        }
    }
    if (list == nullptr) {
        throw core::ApiError::validation({{"faults", "must be an array of faults"}});
    }
    std::vector<Fault> parsed;
    for (std::size_t i = 0; i < list->size(); ++i) {
        const auto& item = (*list)[i];
        std::string prefix = "faults[" + std::to_string(i) + "]";
        if (!item.is_object()) {
            errors.push_back({prefix, "must be an object"});
            continue;
        }
        core::FieldReader r(item.as_object(), prefix);
        Fault f;
        f.kind = r.string("kind", core::Presence::Required).value_or("");
        static const std::set<std::string> kKinds = {
            "rate_limit", "upstream", "server", "slow", "token_error", "expire_access_tokens", "revoke"};
        if (!f.kind.empty() && !kKinds.contains(f.kind)) {
            r.fail("kind", "must be rate_limit, upstream, server, slow, token_error, expire_access_tokens or revoke");
        }
        f.vehicle_id = r.string("vehicle_id", core::Presence::Optional).value_or("");
        f.remaining = static_cast<int>(r.integer("count", core::Presence::Optional, 1, 1'000'000).value_or(1));
        f.retry_after = static_cast<int>(r.integer("retry_after", core::Presence::Optional, 1, 86'400).value_or(5));
        f.code = r.string("code", core::Presence::Optional).value_or("");
        f.delay_ms = static_cast<int>(r.integer("delay_ms", core::Presence::Optional, 0, 600'000).value_or(0));
        for (const auto& e : r.errors()) {
            errors.push_back(e);
        }
        std::set<std::string_view> known = {"kind", "vehicle_id", "count", "retry_after", "code", "delay_ms"};
        for (const auto& kv : item.as_object()) {
            if (!known.contains(kv.key())) {
                errors.push_back({prefix + "." + std::string(kv.key()), "is not a known field"});
            }
        }
        parsed.push_back(std::move(f));
    }
    if (!errors.empty()) {
        throw core::ApiError::validation(errors);
    }
    std::lock_guard lock(state_->mutex);
    const std::int64_t now = state_->now();
    for (auto& f : parsed) {
        if (f.kind == "expire_access_tokens" || f.kind == "revoke") {
            // Immediate: every token reaching the vehicle (or every token) stops working.
            for (auto& [token, access] : state_->access_tokens) {
                if (f.vehicle_id.empty() || access.grant->has_vehicle(f.vehicle_id)) {
                    access.expires_at_ms = std::min(access.expires_at_ms, now);
                    if (f.kind == "revoke") {
                        access.grant->revoked = true;
                        state_->touch();
                    }
                }
            }
            continue;
        }
        state_->faults.push_back(std::move(f));
    }
}

void Simulator::clear_faults() {
    std::lock_guard lock(state_->mutex);
    state_->faults.clear();
    state_->throttled_until.clear();
}

}  // namespace motorpool::smartcar::sim
