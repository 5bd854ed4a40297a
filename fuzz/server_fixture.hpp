#pragma once
// One real motorpool (every module, SQLite in a temporary directory, simulated Smartcar) started
// once per fuzzing process on an ephemeral loopback port, with a member, a fleet manager and an
// admin signed in. The session targets talk to it over TCP exactly as a client does: the bytes a
// target sends reach the real reader, router, authentication and every module's handlers.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace motorpool::http {
class Router;
}

namespace motorpool::fuzz {

/// The simulated Smartcar application's management token (what signs webhook deliveries).
inline constexpr const char* kManagementToken = "sim-management-token";

class ServerFixture {
public:
    /// The process-wide server, started on first use (never stopped: the fuzzer exits the process).
    static ServerFixture& instance();

    std::uint16_t port() const { return port_; }

    /// `text` with the placeholders a corpus uses replaced: @MEMBER@, @FLEET@, @ADMIN@ (bearer
    /// tokens, re-minted before they expire), @VEHICLE@ (a vehicle of the member's), @SCVEHICLE@
    /// (the Smartcar id of the member's connected simulated car).
    std::string expand(std::string_view text);

    /// Sends `bytes` on a fresh connection, half-closes it, and reads until the server closes.
    /// Traps (a fuzzer crash) when the server takes longer than `limit_ms` to close, and when any
    /// answer is a 500: a request, however malformed, must get a precise 4xx and never hang.
    std::string exchange(std::string_view bytes, int limit_ms = 10'000);

    /// Processes the Smartcar webhook deliveries logged so far, now, on this thread.
    void drain_webhooks();

    /// The server's router (every module's routes).
    http::Router& router();

private:
    ServerFixture();
    void sign_in();
    std::string state_report();
    std::optional<std::string> attempt(std::string_view bytes, int limit_ms, std::string& why);

    std::uint16_t port_ = 0;
    std::string member_, fleet_, admin_, vehicle_, smartcar_vehicle_;
    std::int64_t signed_in_at_ms_ = 0;
};

/// Aborts with a message (libFuzzer reports it as a crash with the input that caused it).
[[noreturn]] void fail(std::string_view what, std::string_view detail);

}  // namespace motorpool::fuzz
