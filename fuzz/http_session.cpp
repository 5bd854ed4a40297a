// A whole HTTP session against the real server: the bytes of one connection (any number of
// pipelined requests, WebSocket upgrades, uploads) reach the request reader, the router, the
// authentication hook and every module's handlers and body readers. @MEMBER@, @FLEET@, @ADMIN@
// and @VEHICLE@ in the input become real tokens and ids (server_fixture.hpp), so the corpus
// reaches past authentication. The fixture fails on a hang or a 500.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server_fixture.hpp"
#include "target.hpp"

int motorpool::fuzz::http_session(const std::uint8_t* data, std::size_t size) {
    if (size > 256 * 1024) {
        return -1;  // beyond what a corpus entry needs; body limits have their own tests
    }
    auto& server = motorpool::fuzz::ServerFixture::instance();
    server.exchange(server.expand({reinterpret_cast<const char*>(data), size}));
    return 0;
}
