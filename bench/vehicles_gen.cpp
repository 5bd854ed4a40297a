// Synthetic vehicle catalogue for imports and benchmarks: `vehicles_gen N [SEED] > vehicles.csv`.
// Every VIN is valid (check digit computed, year code matching the model year, position 7
// alphabetic for North-American model years from 2010) and unique for N up to 33 million.
// Deterministic: the same N and seed give the same file.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "vehicles/vin.hpp"

namespace {

struct Model {
    const char* wmi;
    const char* make;
    const char* model;
    const char* trim;
    const char* fuel;
};

constexpr Model kModels[] = {
    {"5YJ", "Tesla", "Model 3", "Long Range", "electric"},
    {"7SA", "Tesla", "Model Y", "Performance", "electric"},
    {"1FT", "Ford", "F-150", "XLT", "gasoline"},
    {"1FM", "Ford", "Mustang Mach-E", "Premium", "electric"},
    {"1G1", "Chevrolet", "Bolt EV", "2LT", "electric"},
    {"1GC", "Chevrolet", "Silverado 1500", "LT", "gasoline"},
    {"4T1", "Toyota", "Camry", "SE", "hybrid"},
    {"JTD", "Toyota", "Prius", "XLE", "hybrid"},
    {"5TD", "Toyota", "Highlander", "Limited", "gasoline"},
    {"2T3", "Toyota", "RAV4 Prime", "XSE", "plugin_hybrid"},
    {"JTE", "Toyota", "Mirai", "Limited", "hydrogen"},
    {"1HG", "Honda", "Accord", "EX-L", "gasoline"},
    {"5FN", "Honda", "Odyssey", "Touring", "gasoline"},
    {"1N4", "Nissan", "Leaf", "SV Plus", "electric"},
    {"KNA", "Kia", "Niro EV", "Wind", "electric"},
    {"KM8", "Hyundai", "Ioniq 5", "SEL", "electric"},
    {"WBA", "BMW", "i4", "eDrive40", "electric"},
    {"WBA", "BMW", "330e", "M Sport", "plugin_hybrid"},
    {"WVW", "Volkswagen", "Golf", "Life", "gasoline"},
    {"WVG", "Volkswagen", "ID.4", "Pro S", "electric"},
    {"WAU", "Audi", "A4", "Avant 40 TDI", "diesel"},
    {"WDD", "Mercedes-Benz", "C 300", "AMG Line", "gasoline"},
    {"W1K", "Mercedes-Benz", "EQE 350+", "Electric Art", "electric"},
    {"VF1", "Renault", "Zoe", "R135", "electric"},
    {"VF3", "Peugeot", "e-208", "GT", "electric"},
    {"ZFA", "Fiat", "500e", "La Prima", "electric"},
    {"YV1", "Volvo", "XC40 Recharge", "Twin", "electric"},
    {"SAL", "Land Rover", "Defender", "110 SE", "diesel"},
    {"TMB", "Skoda", "Enyaq iV", "80", "electric"},
    {"JM1", "Mazda", "MX-5", "Club", "gasoline"},
    {"JF2", "Subaru", "Forester", "Sport", "gasoline"},
    {"LRW", "Tesla", "Model 3", "Standard Range", "electric"},
    {"LC0", "BYD", "Atto 3", "Extended", "electric"},
    {"LPS", "Polestar", "2", "Long Range Dual Motor", "electric"},
};
constexpr const char* kColours[] = {"white", "black", "silver", "blue", "red", "grey", "green"};
constexpr std::string_view kVinChars = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ";
constexpr std::string_view kLetters = "ABCDEFGHJKLMNPRSTUVWXYZ";
constexpr std::string_view kPlateLetters = "ABCDEFGHJKLMNPRSTUVWXYZ";

std::uint64_t splitmix(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

char year_code(int year) {
    static constexpr std::string_view kCodes = "ABCDEFGHJKLMNPRSTVWXY123456789";  // 1980 + i, cycling every 30
    return kCodes[static_cast<std::size_t>((year - 1980) % 30)];
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: vehicles_gen ROWS [SEED] > vehicles.csv\n");
        return 2;
    }
    const long long rows = std::atoll(argv[1]);
    std::uint64_t state = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 20261129;
    if (rows < 0 || rows > 33'000'000) {
        std::fprintf(stderr, "vehicles_gen: ROWS must be from 0 to 33000000\n");
        return 2;
    }
    std::string out = "vin,make,model,description,image_urls,trim,year,license_plate,odometer_km,fuel_type\n";
    for (long long i = 0; i < rows; ++i) {
        const Model& m = kModels[splitmix(state) % std::size(kModels)];
        const int year = 2012 + static_cast<int>(splitmix(state) % 14);  // 2012-2025
        std::string vin = m.wmi;
        for (int k = 0; k < 5; ++k) {
            vin += kVinChars[splitmix(state) % kVinChars.size()];
        }
        if (vin[0] >= '1' && vin[0] <= '7') {
            vin[6] = kLetters[splitmix(state) % kLetters.size()];  // 49 CFR 565.15(b): model years 2010+
        }
        vin += '0';  // check digit placeholder
        vin += year_code(year);
        vin += kLetters[static_cast<std::size_t>(i / 1'000'000) % kLetters.size()];  // plant
        char serial[8];
        std::snprintf(serial, sizeof serial, "%06lld", i % 1'000'000);
        vin += serial;
        vin[8] = motorpool::vehicles::vin_check_digit(vin);

        const char* colour = kColours[splitmix(state) % std::size(kColours)];
        std::string plate;
        for (int k = 0; k < 3; ++k) {
            plate += kPlateLetters[splitmix(state) % kPlateLetters.size()];
        }
        plate += '-';
        plate += std::to_string(1000 + splitmix(state) % 9000);
        const double odometer = static_cast<double>(splitmix(state) % 2'500'000) / 10.0;

        // A description with a comma, so every file exercises RFC 4180 quoting.
        out += vin;
        out += ',';
        out += m.make;
        out += ',';
        out += m.model;
        out += ",\"";
        out += std::to_string(year) + ' ' + m.make + ' ' + m.model + ", " + colour + "\",";
        out += "https://images.example.com/vehicles/" + vin + "/front.jpg|https://images.example.com/vehicles/" + vin +
               "/side.jpg,";
        out += m.trim;
        out += ',';
        out += std::to_string(year);
        out += ',';
        out += plate;
        out += ',';
        char km[32];
        std::snprintf(km, sizeof km, "%.1f", odometer);
        out += km;
        out += ',';
        out += m.fuel;
        out += '\n';
        if (out.size() > (1U << 20)) {
            std::fwrite(out.data(), 1, out.size(), stdout);
            out.clear();
        }
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}
