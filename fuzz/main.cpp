// libFuzzer's entry points: the target named by MOTORPOOL_FUZZ_TARGET (fuzz/run.sh sets it).
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "target.hpp"

namespace {

using Target = int (*)(const std::uint8_t*, std::size_t);

struct Entry {
    std::string_view name;
    Target run;
};

constexpr Entry kTargets[] = {
    {"http_session", motorpool::fuzz::http_session},
    {"ws_hub", motorpool::fuzz::ws_hub},
    {"json_body", motorpool::fuzz::json_body},
    {"csv_import", motorpool::fuzz::csv_import},
    {"vin", motorpool::fuzz::vin},
    {"smartcar_webhook", motorpool::fuzz::smartcar_webhook},
    {"query", motorpool::fuzz::query},
    {"ocpp_frame", motorpool::fuzz::ocpp_frame},
    {"availability", motorpool::fuzz::availability},
    {"upload_headers", motorpool::fuzz::upload_headers},
};

Target chosen = nullptr;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
    const char* name = std::getenv("MOTORPOOL_FUZZ_TARGET");
    for (const auto& entry : kTargets) {
        if (name != nullptr && entry.name == name) {
            chosen = entry.run;
            return 0;
        }
    }
    std::fprintf(stderr, "MOTORPOOL_FUZZ_TARGET must name a target:");
    for (const auto& entry : kTargets) {
        std::fprintf(stderr, " %.*s", static_cast<int>(entry.name.size()), entry.name.data());
    }
    std::fprintf(stderr, "\n");
    std::exit(2);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return chosen(data, size);
}
