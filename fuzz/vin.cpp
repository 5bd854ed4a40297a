// VIN checking and the offline decode: whatever the input, the verdict is consistent with the
// rules (17 characters of the allowed set, the check digit where North America requires it).
#include "vehicles/vin.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server_fixture.hpp"
#include "target.hpp"

using namespace motorpool;

int motorpool::fuzz::vin(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const vehicles::VinCheck check = vehicles::check_vin(input);
    if (check.valid) {
        if (check.vin.size() != 17) {
            fuzz::fail("a valid VIN that is not 17 characters", input);
        }
        for (char c : check.vin) {
            if (vehicles::vin_char_value(c) < 0) {
                fuzz::fail("a valid VIN with a character VINs never hold", input);
            }
        }
        if (check.check_digit_required && check.vin[8] != vehicles::vin_check_digit(check.vin)) {
            fuzz::fail("a valid North-American VIN with a wrong check digit", input);
        }
        if (!check.error.empty()) {
            fuzz::fail("a valid VIN with an error", input);
        }
    } else if (check.error.empty()) {
        fuzz::fail("an invalid VIN without an error", input);
    }
    const vehicles::VinDecode decoded = vehicles::decode_vin(input);
    if (decoded.check.valid != check.valid) {
        fuzz::fail("decode and check disagree", input);
    }
    if (check.valid && decoded.wmi.size() != 3 && decoded.wmi.size() != 6) {
        fuzz::fail("a WMI of neither 3 nor 6 characters", input);
    }
    return 0;
}
