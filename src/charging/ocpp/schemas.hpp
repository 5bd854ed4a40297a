#pragma once
// Every OCPP 1.6 payload, both directions, checked against the official JSON schemas (as bundled
// in ocpp-rpc, embedded at build time) with Valijson; a failure names the CALLERROR code the way
// ocpp-rpc's strict mode does (docs/decisions.md).

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "frames.hpp"

namespace motorpool::charging::ocpp {

struct Violation {
    ErrorCode code;
    std::string description;  // "chargePointVendor: String should be no more than 20 characters in length."
};

enum class Direction { Request, Confirmation };

class Schemas {
public:
    /// The embedded OCPP 1.6 schemas, parsed once (thread-safe to use afterwards).
    static const Schemas& instance();

    /// True when the action has schemas (a known OCPP 1.6 action).
    bool knows(std::string_view action) const;
    /// nullopt when `payload` is valid for the action's request or confirmation.
    std::optional<Violation> check(std::string_view action,
                                   Direction direction,
                                   const boost::json::value& payload) const;

    struct Impl;
    explicit Schemas(std::unique_ptr<Impl> impl);
    ~Schemas();

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace motorpool::charging::ocpp
