#pragma once
// A faithful Smartcar simulator (shared/design/SMARTCAR.md): Connect's authorize page, the token
// endpoint (both grants, rotation with the one-minute grace), every v2.0 vehicle endpoint with
// batch, commands and the management API, v3 vehicle and signals, Smartcar's exact error bodies
// and headers, seeded vehicles that drive and charge, and fault injection. Mounted on the main server
// at /sim/smartcar in SMARTCAR_MODE=simulated, or alone (`motorpool smartcar-sim --port P`).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/fwd.hpp>

#include "core/config.hpp"
#include "http/router.hpp"

namespace motorpool::smartcar::sim {

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

/// The simulator's options from the configuration (SMARTCAR_* credentials, SMARTCAR_SIM_*).
SimulatorOptions simulator_options_from(const core::Config& config);

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

    struct State;
    /// Queues one VEHICLE_STATE event per subscribed vehicle (the emitter's rounds, emit_now).
    static void emit_round(const std::shared_ptr<State>& state);

private:
    std::shared_ptr<State> state_;
};

}  // namespace motorpool::smartcar::sim
