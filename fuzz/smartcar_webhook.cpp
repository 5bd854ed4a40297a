// Smartcar webhook deliveries, signed as Smartcar signs them (SC-Signature: HMAC-SHA256 of the
// body under the management token), posted to the real server, then processed at once: the
// envelope reader (v4 and legacy v2, VERIFY), the durable log, and the processor that turns a
// delivery's signals into telemetry for a connected simulated car (@SCVEHICLE@ in the input).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/crypto.hpp"
#include "server_fixture.hpp"
#include "target.hpp"

using namespace motorpool;

int motorpool::fuzz::smartcar_webhook(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) {
        return -1;
    }
    auto& server = fuzz::ServerFixture::instance();
    const std::string body = server.expand({reinterpret_cast<const char*>(data), size});
    const std::string signature = core::hex_encode(core::hmac_sha256(fuzz::kManagementToken, body));
    const std::string request =
        "POST /webhooks/smartcar HTTP/1.1\r\nHost: fuzz\r\nContent-Type: application/json\r\n"
        "SC-Signature: " +
        signature + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    const std::string answer = server.exchange(request);
    if (answer.rfind("HTTP/1.1 200 ", 0) != 0 && answer.rfind("HTTP/1.1 400 ", 0) != 0 &&
        answer.rfind("HTTP/1.1 415 ", 0) != 0) {
        fuzz::fail("a signed delivery got neither 200 nor 400", answer);
    }
    server.drain_webhooks();
    return 0;
}
