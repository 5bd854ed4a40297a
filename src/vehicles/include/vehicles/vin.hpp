#pragma once
// Vehicle Identification Numbers (ISO 3779 / 49 CFR 565): normalisation, validation with the
// North-American check digit, and an offline decode (region, country, manufacturer, model year).
// Facts and their sources: shared/design/PLATFORM.md §3.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace motorpool::vehicles {

/// The outcome of one VIN rule ("length", "characters", "check_digit").
struct VinRule {
    std::string rule;
    bool passed = false;
    bool enforced = true;  // false: advisory (a check digit outside North America)
    std::string message;
};

struct VinCheck {
    std::string vin;  // upper-cased input
    bool valid = false;
    std::vector<VinRule> rules;
    /// The first enforced rule that failed, worded for a 422 ("must be 17 characters, got 16").
    std::string error;
    std::optional<char> check_digit_expected;  // when length and characters are right
    std::optional<char> check_digit_found;
    bool check_digit_required = false;  // North-American WMI (first character 1-5)
};

/// Checks a VIN: 17 characters from 0-9 A-H J-N P R-Z (case-insensitive input), and the check
/// digit in position 9, which is required for North-American WMIs and advisory elsewhere.
VinCheck check_vin(std::string_view input);

/// The check digit for a 17-character VIN of valid characters (position 9 itself is ignored).
char vin_check_digit(std::string_view vin);

/// Transliterated value of a VIN character (49 CFR 565.15(c) Table IV), or -1 when not allowed.
int vin_char_value(char c);

struct ModelYear {
    char code = 0;
    std::vector<int> candidates;  // every year the code stands for (1980-2039), ascending
    /// The year position 7 selects for North-American passenger cars, MPVs and light trucks
    /// (numeric position 7: 1980-2009, alphabetic: 2010-2039); nullopt outside North America.
    std::optional<int> selected;
};

struct VinDecode {
    VinCheck check;
    std::string wmi;  // positions 1-3, or 1-3 + 12-14 when position 3 is '9' (small makers)
    std::string vds;  // positions 4-8
    std::string vis;  // positions 10-17
    std::optional<std::string> region;
    std::optional<std::string> country;
    std::optional<std::string> manufacturer;
    std::optional<ModelYear> model_year;
};

/// Decodes what can be read offline. Structural fields are filled only for 17 valid characters.
VinDecode decode_vin(std::string_view input);

/// The model-year code table: the years position 10 stands for, empty when it is no year code.
std::vector<int> model_year_candidates(char code);

/// WMI tables (wmi.cpp): region from the first character (or the first two where ISO 3780 gives
/// a range to another continent's country), country from the first two,
/// manufacturer from the three-character WMI (or the six-character one for small makers).
std::optional<std::string> wmi_region(std::string_view prefix);
std::optional<std::string> wmi_country(std::string_view first_two);
std::optional<std::string> wmi_manufacturer(std::string_view wmi);
/// How many WMIs the manufacturer table knows (documentation, tests).
std::size_t wmi_manufacturer_count();

}  // namespace motorpool::vehicles
