// VIN validation and decode. Tables: 49 CFR 565.15 (transliteration, weights, year codes).

#include "vehicles/vin.hpp"

#include <array>
#include <cctype>
#include <cstdio>

#include "core/text.hpp"

namespace motorpool::vehicles {

namespace {

// Position weights 1..17; position 9 (the check digit itself) weighs 0.
constexpr std::array<int, 17> kWeights = {8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2};

// A character as it may appear in a message: printable ASCII as is, anything else as a code.
std::string describe(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x21 && u < 0x7f) {
        return std::string("'") + c + "'";
    }
    char buf[16];
    std::snprintf(buf, sizeof buf, "byte 0x%02X", u);
    return buf;
}

bool is_north_american(char first) {
    return first >= '1' && first <= '5';
}

}  // namespace

int vin_char_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    switch (c) {
        case 'A':
        case 'J':
            return 1;
        case 'B':
        case 'K':
        case 'S':
            return 2;
        case 'C':
        case 'L':
        case 'T':
            return 3;
        case 'D':
        case 'M':
        case 'U':
            return 4;
        case 'E':
        case 'N':
        case 'V':
            return 5;
        case 'F':
        case 'W':
            return 6;
        case 'G':
        case 'P':
        case 'X':
            return 7;
        case 'H':
        case 'Y':
            return 8;
        case 'R':
        case 'Z':
            return 9;
        default:
            return -1;  // I, O, Q and everything that is not an upper-case letter or digit
    }
}

char vin_check_digit(std::string_view vin) {
    int sum = 0;
    for (std::size_t i = 0; i < 17 && i < vin.size(); ++i) {
        sum += vin_char_value(vin[i]) * kWeights[i];
    }
    int remainder = sum % 11;
    return remainder == 10 ? 'X' : static_cast<char>('0' + remainder);
}

VinCheck check_vin(std::string_view input) {
    VinCheck out;
    out.vin = core::to_upper_ascii(input);
    const std::string& vin = out.vin;

    VinRule length{"length", vin.size() == 17, true, {}};
    length.message = length.passed ? "17 characters" : "must be 17 characters, got " + std::to_string(vin.size());
    out.rules.push_back(length);

    VinRule chars{"characters", true, true, "only 0-9 and A-Z without I, O and Q"};
    for (std::size_t i = 0; i < vin.size(); ++i) {
        if (vin_char_value(vin[i]) < 0) {
            chars.passed = false;
            chars.message = "character " + describe(vin[i]) + " at position " + std::to_string(i + 1) +
                            " is not allowed (VINs use 0-9 and A-Z except I, O and Q)";
            break;
        }
    }
    out.rules.push_back(chars);

    out.check_digit_required = !vin.empty() && is_north_american(vin[0]);
    VinRule check{"check_digit", false, out.check_digit_required, {}};
    if (length.passed && chars.passed) {
        out.check_digit_expected = vin_check_digit(vin);
        out.check_digit_found = vin[8];
        check.passed = *out.check_digit_expected == vin[8];
        if (check.passed) {
            check.message = std::string("position 9 is the expected check digit '") + vin[8] + "'";
        } else {
            check.message = std::string("check digit (position 9) is '") + vin[8] + "', expected '" +
                            *out.check_digit_expected + "'";
            if (!out.check_digit_required) {
                check.message += " (advisory: required only for North-American WMIs 1-5)";
            }
        }
    } else {
        check.message = "not checked: length and characters must be valid first";
    }
    out.rules.push_back(check);

    out.valid = true;
    for (const auto& rule : out.rules) {
        if (!rule.passed && rule.enforced) {
            out.valid = false;
            if (out.error.empty()) {
                out.error = rule.message;
            }
        }
    }
    return out;
}

std::vector<int> model_year_candidates(char code) {
    static constexpr std::string_view kLetters = "ABCDEFGHJKLMNPRSTVWXY";  // 1980..2000
    int base = -1;
    if (auto pos = kLetters.find(code); pos != std::string_view::npos) {
        base = 1980 + static_cast<int>(pos);
    } else if (code >= '1' && code <= '9') {
        base = 2001 + (code - '1');
    }
    if (base < 0) {
        return {};  // 0, I, O, Q, U, Z are never year codes
    }
    return {base, base + 30};
}

VinDecode decode_vin(std::string_view input) {
    VinDecode out;
    out.check = check_vin(input);
    const std::string& vin = out.check.vin;
    out.region = wmi_region(std::string_view(vin).substr(0, 2));
    if (vin.size() >= 2) {
        out.country = wmi_country(std::string_view(vin).substr(0, 2));
    }
    if (vin.size() != 17 || !out.check.rules[1].passed) {
        return out;
    }
    out.wmi = vin.substr(0, 3);
    if (vin[2] == '9') {
        out.wmi += vin.substr(11, 3);  // 49 CFR 565.15(a): six-character manufacturer identifier
    }
    out.vds = vin.substr(3, 5);
    out.vis = vin.substr(9, 8);
    out.manufacturer = wmi_manufacturer(out.wmi);
    if (!out.manufacturer && out.wmi.size() == 6) {
        out.manufacturer = wmi_manufacturer(std::string_view(out.wmi).substr(0, 3));
    }
    auto years = model_year_candidates(vin[9]);
    if (!years.empty()) {
        ModelYear year;
        year.code = vin[9];
        year.candidates = years;
        if (is_north_american(vin[0])) {
            // 49 CFR 565.15(b): numeric position 7 -> 1980-2009 cycle, alphabetic -> 2010-2039.
            bool numeric = std::isdigit(static_cast<unsigned char>(vin[6])) != 0;
            year.selected = numeric ? years[0] : years[1];
        }
        out.model_year = year;
    }
    return out;
}

}  // namespace motorpool::vehicles
