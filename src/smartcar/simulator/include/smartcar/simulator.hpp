#pragma once
// A faithful Smartcar simulator (shared/design/SMARTCAR.md): Connect's authorize page, the token
// endpoint (both grants, rotation with the one-minute grace), every v2.0 vehicle endpoint with
// batch, commands and the management API, v3 vehicle and signals, Smartcar's exact error bodies
// and headers, seeded vehicles that drive and charge, and fault injection. Mounted on the main server
// at /sim/smartcar in SMARTCAR_MODE=simulated, or alone (`motorpool smartcar-sim --port P`).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/json/fwd.hpp>

#include "core/config.hpp"
#include "core/secret_box.hpp"
#include "core/time.hpp"
#include "db/db.hpp"
#include "http/router.hpp"

namespace motorpool::smartcar::sim {

/// This module's migrations (src/smartcar/simulator/migrations), for db::migrate in the App's module order.
std::vector<db::Migration> migrations(db::Dialect dialect);

struct SimulatorOptions {
    std::string prefix = "/sim/smartcar";  // "" when it runs alone
    std::string client_id;
    std::string client_secret;
    std::vector<std::string> redirect_uris;  // registered; any http://localhost or 127.0.0.1 URI is too
    std::string management_token;            // the application management token (AMT)
    std::uint64_t seed = 20261129;
    std::chrono::seconds access_ttl{7200};
    std::chrono::seconds refresh_ttl{std::chrono::hours(24 * 60)};
    std::chrono::seconds code_ttl{600};
    std::string faults_json;  // SMARTCAR_SIM_FAULTS: {"faults":[...]} as for POST /admin/faults

    // The webhook emitter (start_emitter): VERIFY, then a signed VEHICLE_STATE delivery for every
    // subscribed vehicle each interval, retried after 25, 50 and 100 s (times retry_scale).
    std::string webhook_id = "6f1c2a4e-8b3d-4e5f-9a7b-2c1d0e9f8a7b";
    std::string webhook_name = "motorpool simulator";
    std::chrono::milliseconds webhook_interval{std::chrono::minutes(5)};  // 0: only emit_now()
    double retry_scale = 1.0;
    std::shared_ptr<core::Clock> clock;  // token lifetimes, throttle windows, records; null: the system's
};

/// One webhook delivery attempt the emitter made.
struct DeliveryRecord {
    std::int64_t at_ms = 0;
    std::string event_id;
    std::string event_type;  // VERIFY, VEHICLE_STATE
    std::string vehicle_id;
    int attempt = 1;
    int status = 0;   // the callback's HTTP status; 0 when it could not be reached
    bool ok = false;  // delivered (2xx); for VERIFY: answered with the right challenge
};

/// One request the simulator answered, for tests and the admin endpoint.
struct RequestRecord {
    std::int64_t at_ms = 0;
    std::string method;
    std::string path;  // below the prefix
    std::string vehicle_id;
    int status = 0;
};

class Simulator {
public:
    explicit Simulator(SimulatorOptions options);
    ~Simulator();
    Simulator(const Simulator&) = delete;
    Simulator& operator=(const Simulator&) = delete;

    /// Registers the routes below options.prefix.
    void install(http::Router& router);

    /// Adds faults as POST /admin/faults does; throws core::ApiError (422) for a malformed list.
    void add_faults(const boost::json::value& body);
    void clear_faults();
    std::vector<RequestRecord> requests() const;

    /// Starts the emitter towards `callback_url` (this server's /webhooks/smartcar by default).
    void start_emitter(const std::string& callback_url);
    void stop_emitter();
    /// Queues a VEHICLE_STATE delivery for every subscribed vehicle now.
    void emit_now();
    std::vector<DeliveryRecord> deliveries() const;

    const SimulatorOptions& options() const;

    /// What a restart must not lose, as JSON text: accounts that approved Connect and their cars
    /// (every model's state), grants, live tokens, application tokens and webhook subscriptions.
    /// Authorization codes, faults, logs, unanswered Connect pages and queued deliveries are left out.
    std::string snapshot() const;
    /// Replaces that state with a snapshot(); throws std::runtime_error (and changes nothing)
    /// when it is malformed.
    void restore(std::string_view snapshot);
    /// Moves with every change snapshot() must keep (tokens, grants, subscriptions); a model that
    /// only advanced in time does not move it.
    std::uint64_t generation() const;

    struct State;
    /// Queues one VEHICLE_STATE event per subscribed vehicle (the emitter's rounds, emit_now).
    static void emit_round(const std::shared_ptr<State>& state);

private:
    std::shared_ptr<State> state_;
};

struct SimulatorStoreOptions {
    std::chrono::milliseconds check_interval{200};  // how soon a change (a token, a grant) is saved
    std::chrono::milliseconds model_interval{std::chrono::seconds(60)};  // cars that only drove on
};

/// Keeps a simulator's state in the database (table smartcar_sim_state), so that restarting the
/// embedded default is invisible, as it is with the real Smartcar: load() restores what was saved,
/// then a thread saves soon after every change snapshot() must keep and, every model_interval, the
/// cars' progress; stop() saves once more. Sealed with `box` (MOTORPOOL_ENCRYPTION_KEY) and bound
/// to its row. A change in the last check_interval before a crash (not a stop) can be lost.
class SimulatorStore {
public:
    SimulatorStore(Simulator& simulator,
                   db::Database& database,
                   core::SecretBox box,
                   SimulatorStoreOptions options = {});
    ~SimulatorStore();
    SimulatorStore(const SimulatorStore&) = delete;
    SimulatorStore& operator=(const SimulatorStore&) = delete;

    /// Restores the saved state; false when there is none or it cannot be used (logged).
    bool load();
    /// Writes the state now when it differs from what was last saved.
    void save();
    void start();
    void stop();
    std::uint64_t saves() const;
    /// `motorpool keys rotate`: re-seals the saved state under `box`'s current key. Returns 1 when
    /// it did, 0 when there was nothing to do; throws std::runtime_error when no key opens it.
    static std::int64_t rotate_key(db::Database& database, const core::SecretBox& box);

private:
    Simulator& simulator_;
    db::Database& database_;
    core::SecretBox box_;
    SimulatorStoreOptions options_;
    std::mutex save_mutex_;  // one save at a time: the thread's and stop()'s
    std::string saved_;
    std::atomic<std::uint64_t> saved_generation_{0};
    std::atomic<std::uint64_t> saves_{0};
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace motorpool::smartcar::sim
