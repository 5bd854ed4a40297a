#pragma once
// The OCPP 1.6J central system: the WebSocket endpoint chargers connect to (/ocpp/{chargePointId},
// subprotocol ocpp1.6, HTTP Basic on the upgrade), one Link per connected charger (a duplicate
// replaces and closes the older), the CALLs a charger sends (boot, heartbeat, status,
// authorisation, transactions, meter values, notifications) and the CALLs motorpool sends it, one
// outstanding at a time with a timeout.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include "http/router.hpp"

namespace motorpool::charging {
struct Services;
}

namespace motorpool::charging::ocpp {

struct CentralSystemOptions {
    std::chrono::milliseconds call_timeout{30'000};  // a CALL motorpool sends, answered or failed by then
    std::size_t max_message_bytes = 64 * 1024;
    std::size_t max_queued_calls = 16;  // CALLs waiting behind the outstanding one, per charger
};

class Link;

class CentralSystem {
public:
    CentralSystem(std::shared_ptr<Services> services, CentralSystemOptions options);
    ~CentralSystem();
    CentralSystem(const CentralSystem&) = delete;
    CentralSystem& operator=(const CentralSystem&) = delete;

    /// Mounts /ocpp/{chargePointId}.
    void install(http::Router& router);

    /// Sends a CALL to a connected charger and returns its CALLRESULT payload. Throws ApiError:
    /// 409 when it is not connected here, 504 when it does not answer in time, 502 when it answers
    /// with a CALLERROR or a payload that breaks the schema, 422 when `payload` breaks the schema.
    boost::asio::awaitable<boost::json::value> call(const std::string& identity,
                                                    const std::string& action,
                                                    boost::json::value payload);

    /// Sends a CALL without waiting (the dispatcher's): `done` runs on the charger's executor with
    /// the CALLRESULT payload (`ok`), or the reason it failed. False, and `done` never runs, when
    /// the charger is not connected here.
    struct SendResult {
        bool ok = false;
        boost::json::value payload;
        std::string error;  // "offline", "timeout", "busy", a CALLERROR code, "bad answer: ..."
    };
    bool send(const std::string& identity,
              const std::string& action,
              const boost::json::value& payload,
              std::function<void(SendResult)> done);
    /// The identities of the chargers connected to this node.
    std::vector<std::string> connected_identities() const;

    /// An admin changed the charger's registration status: a connected charger meets it at once.
    void set_registration(const std::string& identity, const std::string& status);
    /// Closes every charger connection (shutdown).
    void close_all();

    struct Registry;

private:
    boost::asio::awaitable<void> serve(http::Request request, std::shared_ptr<http::WebSocket> ws);
    /// One message of a charger: a CALL handled and answered, or an answer to motorpool's CALL.
    boost::asio::awaitable<void> on_message(std::shared_ptr<Link> link, std::string text);

    std::shared_ptr<Services> services_;
    CentralSystemOptions options_;
    std::shared_ptr<Registry> registry_;
};

}  // namespace motorpool::charging::ocpp
