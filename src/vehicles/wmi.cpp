// World Manufacturer Identifier tables. Regions and countries follow the ISO 3780 allocation
// of first and second characters (SAE International administers it); manufacturers are a curated
// list of widely published WMIs of the largest makers (docs/decisions.md: why not all of vPIC).

#include <string_view>
#include <unordered_map>

#include "vehicles/vin.hpp"

namespace motorpool::vehicles {

namespace {

// ISO 3780 orders second characters A-Z (without I, O, Q), then 1-9, then 0.
constexpr std::string_view kSecondOrder = "ABCDEFGHJKLMNPRSTUVWXYZ1234567890";

struct CountryRange {
    char first;
    char from;  // second character range, inclusive, in kSecondOrder order
    char to;
    std::string_view country;
    std::string_view region;  // overrides the first character's region (US codes under 7)
};

constexpr CountryRange kCountries[] = {
    {'A', 'A', 'H', "South Africa", ""},
    {'A', 'J', 'N', "Ivory Coast", ""},
    {'B', 'A', 'E', "Angola", ""},
    {'B', 'F', 'K', "Kenya", ""},
    {'B', 'L', 'R', "Tanzania", ""},
    {'C', 'A', 'E', "Benin", ""},
    {'C', 'F', 'K', "Madagascar", ""},
    {'C', 'L', 'R', "Tunisia", ""},
    {'D', 'A', 'E', "Egypt", ""},
    {'D', 'F', 'K', "Morocco", ""},
    {'D', 'L', 'R', "Zambia", ""},
    {'E', 'A', 'E', "Ethiopia", ""},
    {'E', 'F', 'K', "Mozambique", ""},
    {'F', 'A', 'E', "Ghana", ""},
    {'F', 'F', 'K', "Nigeria", ""},
    {'J', 'A', '0', "Japan", ""},
    {'K', 'A', 'E', "Sri Lanka", ""},
    {'K', 'F', 'K', "Israel", ""},
    {'K', 'L', 'R', "South Korea", ""},
    {'K', 'S', '0', "Kazakhstan", ""},
    {'L', 'A', '0', "China", ""},
    {'M', 'A', 'E', "India", ""},
    {'M', 'F', 'K', "Indonesia", ""},
    {'M', 'L', 'R', "Thailand", ""},
    {'M', 'S', '0', "Myanmar", ""},
    {'N', 'A', 'E', "Iran", ""},
    {'N', 'F', 'K', "Pakistan", ""},
    {'N', 'L', 'R', "Turkey", ""},
    {'P', 'A', 'E', "Philippines", ""},
    {'P', 'F', 'K', "Singapore", ""},
    {'P', 'L', 'R', "Malaysia", ""},
    {'R', 'A', 'E', "United Arab Emirates", ""},
    {'R', 'F', 'K', "Taiwan", ""},
    {'R', 'L', 'R', "Vietnam", ""},
    {'R', 'S', '0', "Saudi Arabia", ""},
    {'S', 'A', 'M', "United Kingdom", ""},
    {'S', 'N', 'T', "Germany", ""},
    {'S', 'U', 'Z', "Poland", ""},
    {'S', '1', '4', "Latvia", ""},
    {'T', 'A', 'H', "Switzerland", ""},
    {'T', 'J', 'P', "Czech Republic", ""},
    {'T', 'R', 'V', "Hungary", ""},
    {'T', 'W', '1', "Portugal", ""},
    {'U', 'H', 'M', "Denmark", ""},
    {'U', 'N', 'T', "Ireland", ""},
    {'U', 'U', 'Z', "Romania", ""},
    {'U', '5', '7', "Slovakia", ""},
    {'V', 'A', 'E', "Austria", ""},
    {'V', 'F', 'R', "France", ""},
    {'V', 'S', 'W', "Spain", ""},
    {'V', 'X', '2', "Serbia", ""},
    {'V', '3', '5', "Croatia", ""},
    {'V', '6', '0', "Estonia", ""},
    {'W', 'A', '0', "Germany", ""},
    {'X', 'A', 'E', "Bulgaria", ""},
    {'X', 'F', 'K', "Greece", ""},
    {'X', 'L', 'R', "Netherlands", ""},
    {'X', 'S', 'W', "Russia", ""},
    {'X', 'X', '2', "Luxembourg", ""},
    {'X', '3', '0', "Russia", ""},
    {'Y', 'A', 'E', "Belgium", ""},
    {'Y', 'F', 'K', "Finland", ""},
    {'Y', 'L', 'R', "Malta", ""},
    {'Y', 'S', 'W', "Sweden", ""},
    {'Y', 'X', '2', "Norway", ""},
    {'Y', '3', '5', "Belarus", ""},
    {'Y', '6', '0', "Ukraine", ""},
    {'Z', 'A', 'R', "Italy", ""},
    {'Z', 'X', '2', "Slovenia", ""},
    {'Z', '3', '5', "Lithuania", ""},
    {'1', 'A', '0', "United States", ""},
    {'2', 'A', '0', "Canada", ""},
    {'3', 'A', 'W', "Mexico", ""},
    {'3', 'X', '7', "Costa Rica", ""},
    {'4', 'A', '0', "United States", ""},
    {'5', 'A', '0', "United States", ""},
    {'6', 'A', 'W', "Australia", ""},
    {'7', 'A', 'E', "New Zealand", ""},
    {'7', 'F', '0', "United States", "North America"},
    {'8', 'A', 'E', "Argentina", ""},
    {'8', 'F', 'K', "Chile", ""},
    {'8', 'L', 'R', "Ecuador", ""},
    {'8', 'S', 'W', "Peru", ""},
    {'8', 'X', '2', "Venezuela", ""},
    {'9', 'A', 'E', "Brazil", ""},
    {'9', 'F', 'K', "Colombia", ""},
    {'9', 'L', 'R', "Paraguay", ""},
    {'9', 'S', 'W', "Uruguay", ""},
    {'9', 'X', '2', "Trinidad and Tobago", ""},
    {'9', '3', '9', "Brazil", ""},
};

const CountryRange* find_country(std::string_view first_two) {
    if (first_two.size() < 2) {
        return nullptr;
    }
    auto second = kSecondOrder.find(first_two[1]);
    if (second == std::string_view::npos) {
        return nullptr;
    }
    for (const auto& range : kCountries) {
        if (range.first == first_two[0] && second >= kSecondOrder.find(range.from) &&
            second <= kSecondOrder.find(range.to)) {
            return &range;
        }
    }
    return nullptr;
}

// Three-character WMIs (six-character ones for small makers would be listed in full).
// "(MPV)", "(truck)" mark the WMIs makers reserve for those vehicle types.
const std::unordered_map<std::string_view, std::string_view>& manufacturers() {
    static const std::unordered_map<std::string_view, std::string_view> table = {
        // United States
        {"19U", "Acura (Honda of America)"},
        {"19X", "Honda (USA)"},
        {"1B3", "Dodge"},
        {"1C3", "Chrysler"},
        {"1C4", "Chrysler Group (Jeep, Dodge, Chrysler MPV)"},
        {"1C6", "Ram (FCA US truck)"},
        {"1D7", "Dodge (truck)"},
        {"1FA", "Ford"},
        {"1FD", "Ford (incomplete vehicle)"},
        {"1FM", "Ford (MPV)"},
        {"1FT", "Ford (truck)"},
        {"1G1", "Chevrolet"},
        {"1G4", "Buick"},
        {"1G6", "Cadillac"},
        {"1GC", "Chevrolet (truck)"},
        {"1GN", "Chevrolet (MPV)"},
        {"1GT", "GMC (truck)"},
        {"1GY", "Cadillac (MPV)"},
        {"1HD", "Harley-Davidson"},
        {"1HG", "Honda (USA)"},
        {"1J4", "Jeep"},
        {"1LN", "Lincoln"},
        {"1ME", "Mercury"},
        {"1N4", "Nissan (USA)"},
        {"1N6", "Nissan (USA truck)"},
        {"1VW", "Volkswagen (USA)"},
        {"1YV", "Mazda (USA)"},
        {"4JG", "Mercedes-Benz (USA MPV)"},
        {"4S3", "Subaru (USA)"},
        {"4S4", "Subaru (USA MPV)"},
        {"4T1", "Toyota (USA)"},
        {"4US", "BMW (USA)"},
        {"4V4", "Volvo Trucks (USA)"},
        {"5FN", "Honda (USA MPV)"},
        {"5J6", "Honda (USA MPV)"},
        {"5N1", "Nissan (USA MPV)"},
        {"5NM", "Hyundai (USA MPV)"},
        {"5NP", "Hyundai (USA)"},
        {"5TD", "Toyota (USA MPV)"},
        {"5TF", "Toyota (USA truck)"},
        {"5UX", "BMW (USA MPV)"},
        {"5XY", "Kia / Hyundai (USA MPV)"},
        {"5YJ", "Tesla"},
        {"7SA", "Tesla (MPV)"},
        // Canada
        {"2C3", "Chrysler (Canada)"},
        {"2FA", "Ford (Canada)"},
        {"2G1", "Chevrolet (Canada)"},
        {"2HG", "Honda (Canada)"},
        {"2HK", "Honda (Canada MPV)"},
        {"2T1", "Toyota (Canada)"},
        {"2T2", "Lexus (Canada)"},
        {"2T3", "Toyota (Canada MPV)"},
        // Mexico
        {"3FA", "Ford (Mexico)"},
        {"3G1", "Chevrolet (Mexico)"},
        {"3GN", "Chevrolet (Mexico MPV)"},
        {"3HG", "Honda (Mexico)"},
        {"3KP", "Kia (Mexico)"},
        {"3MZ", "Mazda (Mexico)"},
        {"3N1", "Nissan (Mexico)"},
        {"3TM", "Toyota (Mexico truck)"},
        {"3VW", "Volkswagen (Mexico)"},
        // Japan
        {"JA3", "Mitsubishi"},
        {"JA4", "Mitsubishi (MPV)"},
        {"JAL", "Isuzu (truck)"},
        {"JF1", "Subaru"},
        {"JF2", "Subaru (MPV)"},
        {"JH2", "Honda (motorcycle)"},
        {"JH4", "Acura"},
        {"JHL", "Honda (MPV)"},
        {"JHM", "Honda"},
        {"JKA", "Kawasaki (motorcycle)"},
        {"JM1", "Mazda"},
        {"JM3", "Mazda (MPV)"},
        {"JN1", "Nissan"},
        {"JN8", "Nissan (MPV)"},
        {"JNK", "Infiniti"},
        {"JS1", "Suzuki (motorcycle)"},
        {"JS2", "Suzuki"},
        {"JT2", "Toyota"},
        {"JT3", "Toyota (MPV)"},
        {"JTD", "Toyota"},
        {"JTE", "Toyota (MPV)"},
        {"JTH", "Lexus"},
        {"JTJ", "Lexus (MPV)"},
        {"JTN", "Toyota"},
        {"JYA", "Yamaha (motorcycle)"},
        // South Korea
        {"KL1", "GM Korea (Chevrolet, formerly Daewoo)"},
        {"KM8", "Hyundai (MPV)"},
        {"KMH", "Hyundai"},
        {"KNA", "Kia"},
        {"KND", "Kia (MPV)"},
        {"KNM", "Renault Samsung"},
        {"KPT", "SsangYong"},
        // China
        {"L6T", "Geely"},
        {"LBV", "BMW Brilliance"},
        {"LC0", "BYD"},
        {"LE4", "Beijing Benz"},
        {"LFV", "FAW-Volkswagen"},
        {"LGX", "BYD"},
        {"LHG", "GAC Honda"},
        {"LPS", "Polestar"},
        {"LRW", "Tesla (Shanghai)"},
        {"LSG", "SAIC General Motors"},
        {"LSV", "SAIC Volkswagen"},
        {"LVS", "Changan Ford"},
        {"LVV", "Chery"},
        {"LYV", "Volvo Cars (China)"},
        // India, Thailand, Turkey
        {"MA1", "Mahindra"},
        {"MA3", "Maruti Suzuki"},
        {"MAL", "Hyundai (India)"},
        {"MAT", "Tata Motors"},
        {"MMB", "Mitsubishi (Thailand)"},
        {"MR0", "Toyota (Thailand truck)"},
        {"NMT", "Toyota (Turkey)"},
        // United Kingdom
        {"SAD", "Jaguar (MPV)"},
        {"SAJ", "Jaguar"},
        {"SAL", "Land Rover"},
        {"SAR", "Rover"},
        {"SBM", "McLaren"},
        {"SCA", "Rolls-Royce"},
        {"SCB", "Bentley"},
        {"SCC", "Lotus"},
        {"SCE", "DeLorean"},
        {"SCF", "Aston Martin"},
        {"SHH", "Honda (UK)"},
        {"SHS", "Honda (UK MPV)"},
        {"SJN", "Nissan (UK)"},
        {"SMT", "Triumph (motorcycle)"},
        // Central Europe
        {"TMA", "Hyundai (Czech Republic)"},
        {"TMB", "Skoda"},
        {"TRU", "Audi (Hungary)"},
        {"TSM", "Suzuki (Hungary)"},
        // France, Spain
        {"VF1", "Renault"},
        {"VF3", "Peugeot"},
        {"VF7", "Citroen"},
        {"VNK", "Toyota (France)"},
        {"VSS", "SEAT"},
        {"VWV", "Volkswagen (Spain)"},
        // Germany
        {"W0L", "Opel"},
        {"W0V", "Opel"},
        {"W1K", "Mercedes-Benz"},
        {"W1N", "Mercedes-Benz (MPV)"},
        {"W1V", "Mercedes-Benz (van)"},
        {"WA1", "Audi (MPV)"},
        {"WAU", "Audi"},
        {"WBA", "BMW"},
        {"WBS", "BMW M"},
        {"WBX", "BMW (MPV)"},
        {"WBY", "BMW i"},
        {"WDB", "Mercedes-Benz"},
        {"WDC", "Mercedes-Benz (MPV)"},
        {"WDD", "Mercedes-Benz"},
        {"WDF", "Mercedes-Benz (van)"},
        {"WF0", "Ford (Germany)"},
        {"WMA", "MAN (truck)"},
        {"WME", "smart"},
        {"WMW", "MINI"},
        {"WP0", "Porsche"},
        {"WP1", "Porsche (MPV)"},
        {"WUA", "Audi Sport"},
        {"WV1", "Volkswagen Commercial Vehicles"},
        {"WV2", "Volkswagen (bus, van)"},
        {"WVG", "Volkswagen (MPV)"},
        {"WVW", "Volkswagen"},
        // Nordics, Italy
        {"YS2", "Scania (truck)"},
        {"YS3", "Saab"},
        {"YV1", "Volvo Cars"},
        {"YV2", "Volvo Trucks"},
        {"YV4", "Volvo Cars (MPV)"},
        {"ZAM", "Maserati"},
        {"ZAP", "Piaggio"},
        {"ZAR", "Alfa Romeo"},
        {"ZCF", "Iveco"},
        {"ZDM", "Ducati (motorcycle)"},
        {"ZFA", "Fiat"},
        {"ZFF", "Ferrari"},
        {"ZHW", "Lamborghini"},
        // Oceania, South America
        {"6FP", "Ford (Australia)"},
        {"6G1", "Holden"},
        {"6T1", "Toyota (Australia)"},
        {"9BD", "Fiat (Brazil)"},
        {"9BG", "Chevrolet (Brazil)"},
        {"9BW", "Volkswagen (Brazil)"},
    };
    return table;
}

}  // namespace

std::optional<std::string> wmi_region(std::string_view prefix) {
    if (prefix.empty()) {
        return std::nullopt;
    }
    if (const auto* range = find_country(prefix); range != nullptr && !range->region.empty()) {
        return std::string(range->region);
    }
    const char first = prefix[0];
    if (first >= '1' && first <= '5') {
        return "North America";
    }
    if (first >= '6' && first <= '7') {
        return "Oceania";
    }
    if (first >= '8' && first <= '9') {
        return "South America";
    }
    if (first >= 'A' && first <= 'H') {
        return "Africa";
    }
    if (first >= 'J' && first <= 'R' && first != 'O' && first != 'Q') {
        return "Asia";
    }
    if (first >= 'S' && first <= 'Z') {
        return "Europe";
    }
    return std::nullopt;
}

std::optional<std::string> wmi_country(std::string_view first_two) {
    if (const auto* range = find_country(first_two)) {
        return std::string(range->country);
    }
    return std::nullopt;
}

std::optional<std::string> wmi_manufacturer(std::string_view wmi) {
    const auto& table = manufacturers();
    if (auto it = table.find(wmi); it != table.end()) {
        return std::string(it->second);
    }
    return std::nullopt;
}

std::size_t wmi_manufacturer_count() {
    return manufacturers().size();
}

}  // namespace motorpool::vehicles
