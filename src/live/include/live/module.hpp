#pragma once
// The live module: the WebSocket feed at /api/v1/ws.

#include <memory>

#include "live/live.hpp"
#include "platform/module.hpp"

namespace motorpool::live {

class Module final : public platform::Module {
public:
    std::string_view name() const override { return "live"; }
    void configure(core::Settings& settings) override;
    void install(platform::Context& context) override;

    /// After install(): modules register their topic prefixes here (add_topic).
    Hub& hub() { return *hub_; }

private:
    HubOptions options_;
    std::shared_ptr<Hub> hub_;
};

}  // namespace motorpool::live
