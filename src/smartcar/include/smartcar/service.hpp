#pragma once
// The Smartcar service: Connect state, connections, sealed tokens and their refresh. Blocking
// members run on worker threads (database and libcurl); routes.cpp awaits them.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "core/worker_pool.hpp"
#include "http/paging.hpp"
#include "smartcar/client.hpp"
#include "smartcar/smartcar.hpp"

namespace motorpool::smartcar {

/// A connection's tokens, opened.
struct Tokens {
    std::int64_t connection_id = 0;
    std::string public_id;
    std::int64_t user_id = 0;
    std::string status;
    std::string smartcar_user_id;
    std::string access_token;
    std::string refresh_token;
    std::int64_t access_expires_at_ms = 0;
    std::int64_t refresh_expires_at_ms = 0;
    std::int64_t generation = 0;
};

/// What the callback did, for its answer.
struct ConnectResult {
    std::string connection_id;  // public
    struct Vehicle {
        std::string smartcar_vehicle_id;
        std::optional<std::string> vehicle_id;  // public, when linked
        std::optional<std::string> vin;
        std::string outcome;  // created, linked, claimed, conflict: vin_owned_by_another_user, ...
    };
    std::vector<Vehicle> vehicles;
};

class Poller;
class WebhookProcessor;

class SmartcarService {
public:
    SmartcarService(db::Database& database,
                    core::EventBus& bus,
                    telemetry::Ingestor& ingestor,
                    core::MetricsRegistry* metrics,
                    SmartcarOptions options);

    void set_local_origin(const std::string& origin);
    const SmartcarOptions& options() const { return options_; }
    /// Now by the service's clock (SmartcarOptions::clock).
    std::int64_t now_ms() const { return clock_->now_ms(); }
    Client& client() { return *client_; }
    db::Database& database() { return database_; }

    /// Connect URL with a fresh state bound to the user (stored hashed, 10 minutes, single use).
    std::string connect_url(std::int64_t user_id,
                            const std::optional<std::string>& make,
                            bool single_select,
                            const std::optional<std::string>& vin);

    /// Consumes `state`: the user it was issued to. Throws ApiError 400 (code invalid_state,
    /// state_expired or state_used) otherwise.
    std::int64_t consume_state(const std::string& state);
    /// Exchanges the code and links the vehicles (blocking).
    ConnectResult complete_connection(std::int64_t user_id, const std::string& code);

    boost::json::array connections_json(std::int64_t user_id, const std::optional<std::string>& public_id);
    /// Smartcar's vehicles and the motorpool vehicles they are linked to: those of the user's own
    /// connections, or every one when `all` (roles that see every row); optionally only
    /// `smartcar_vehicle_id`. A page of {smartcar_vehicle_id, vehicle_id, vin, make, model, year,
    /// connection_id, connection_status, conflict}.
    boost::json::object linked_vehicles_json(std::int64_t user_id,
                                             bool all,
                                             const std::optional<std::string>& smartcar_vehicle_id,
                                             const http::PageQuery& page);
    /// Disconnects at Smartcar (best effort) and erases the tokens. False when the user has no such connection.
    bool disconnect(std::int64_t user_id, const std::string& public_id);

    /// Tokens good for at least five more minutes (refreshing when needed); `force` refreshes
    /// unless another thread or node already did since generation `seen` (after a 401).
    Tokens fresh_tokens(std::int64_t connection_id, bool force = false, std::int64_t seen = -1);

    /// Runs f(access token); on a 401 refreshes once and runs it again.
    template <typename F>
    auto with_access_token(std::int64_t connection_id, F&& f) {
        Tokens tokens = fresh_tokens(connection_id);
        try {
            return f(tokens);
        } catch (const SmartcarError& e) {
            if (!e.is_authentication()) {
                throw;
            }
        }
        Tokens again = fresh_tokens(connection_id, true, tokens.generation);
        return f(again);
    }

    std::int64_t refreshes() const;

    /// Renews refresh tokens that expire within `within_ms` (a week by default): Smartcar's last
    /// for 60 days and only a refresh renews them. Returns how many were renewed.
    std::int64_t renew_expiring_refresh_tokens(std::int64_t within_ms = 7LL * 24 * 3600 * 1000);

    /// The background jobs: polling (with refresh-token renewal) and webhook processing.
    void start_jobs();
    void stop_jobs();
    Poller& poller() { return *poller_; }
    WebhookProcessor& webhooks() { return *webhooks_; }
    /// Threads for the Smartcar calls a request waits for (Connect's code exchange, disconnect,
    /// `?refresh=true`): a Smartcar that times out holds these, never the shared worker pool every
    /// request's database work needs. Bounded: past kCallQueue waiting calls, 503.
    core::WorkerPool& calls() { return calls_; }
    static constexpr int kCallThreads = 4;
    static constexpr int kCallQueue = 64;
    void set_jobs(std::shared_ptr<Poller> poller, std::shared_ptr<WebhookProcessor> webhooks);

private:
    std::shared_ptr<std::mutex> refresh_lock(std::int64_t connection_id);
    Tokens load_tokens(db::Connection& c, std::int64_t connection_id);
    void mark_reauth_required(std::int64_t connection_id, const SmartcarError& error);
    /// (vehicle public id, connection public id) of the connection's linked vehicles.
    std::vector<std::pair<std::string, std::string>> vehicle_topics(std::int64_t connection_id);
    void publish_connection(const std::vector<std::pair<std::string, std::string>>& vehicles,
                            const std::string& status);

    db::Database& database_;
    core::EventBus& bus_;
    telemetry::Ingestor& ingestor_;
    SmartcarOptions options_;
    std::shared_ptr<core::Clock> clock_;
    core::SecretBox box_;
    std::unique_ptr<Client> client_;
    std::mutex locks_mutex_;
    std::map<std::int64_t, std::weak_ptr<std::mutex>> refresh_locks_;
    core::Counter* refreshes_ = nullptr;
    core::Counter* refresh_failures_ = nullptr;
    std::atomic<std::int64_t> refresh_count_{0};
    std::shared_ptr<Poller> poller_;
    std::shared_ptr<WebhookProcessor> webhooks_;
    // Last: joined first, while everything a call uses still exists.
    core::WorkerPool calls_{kCallThreads, kCallQueue};
};

/// The problem a Smartcar failure becomes: 502 with Smartcar's type and code (429 passes on as 429
/// with its Retry-After).
core::ApiError upstream_problem(const SmartcarError& error);

/// Associated data binding a sealed token to its row and field.
std::string token_aad(const std::string& connection_public_id, std::string_view field);

}  // namespace motorpool::smartcar
