// VIN rules against the published vectors (shared/design/PLATFORM.md §3) and every failure wording.

#include "vehicles/vin.hpp"

#include <gtest/gtest.h>

namespace motorpool::vehicles {
namespace {

TEST(VinCheckDigit, PublishedVectors) {
    EXPECT_EQ(vin_check_digit("1G4AH59H45G118341"), '4');  // 49 CFR 565 sample, sum 411
    EXPECT_EQ(vin_check_digit("1J9RP1A36A1644345"), '6');  // NHTSA new-manufacturer guide, sum 314
    EXPECT_EQ(vin_check_digit("11111111111111111"), '1');
    EXPECT_EQ(vin_check_digit("1M8GDM9AXKP042788"), 'X');  // remainder 10
}

TEST(VinCheckDigit, Transliteration) {
    EXPECT_EQ(vin_char_value('A'), 1);
    EXPECT_EQ(vin_char_value('H'), 8);
    EXPECT_EQ(vin_char_value('J'), 1);
    EXPECT_EQ(vin_char_value('N'), 5);
    EXPECT_EQ(vin_char_value('P'), 7);
    EXPECT_EQ(vin_char_value('R'), 9);
    EXPECT_EQ(vin_char_value('S'), 2);
    EXPECT_EQ(vin_char_value('Z'), 9);
    EXPECT_EQ(vin_char_value('7'), 7);
    for (char bad : {'I', 'O', 'Q', 'a', '-', ' '}) {
        EXPECT_EQ(vin_char_value(bad), -1) << bad;
    }
}

TEST(VinCheck, ValidNorthAmericanVinIsUpperCased) {
    VinCheck c = check_vin("1g4ah59h45g118341");
    EXPECT_TRUE(c.valid);
    EXPECT_EQ(c.vin, "1G4AH59H45G118341");
    EXPECT_TRUE(c.check_digit_required);
    EXPECT_EQ(c.check_digit_expected, '4');
    EXPECT_EQ(c.check_digit_found, '4');
    EXPECT_TRUE(c.error.empty());
    ASSERT_EQ(c.rules.size(), 3U);
    for (const auto& rule : c.rules) {
        EXPECT_TRUE(rule.passed) << rule.rule;
    }
}

TEST(VinCheck, LengthIsNamed) {
    VinCheck c = check_vin("1G4AH59H45G11834");
    EXPECT_FALSE(c.valid);
    EXPECT_EQ(c.error, "must be 17 characters, got 16");
    EXPECT_FALSE(c.check_digit_expected.has_value());
    EXPECT_EQ(check_vin("").error, "must be 17 characters, got 0");
}

TEST(VinCheck, ForbiddenCharacterPositionIsNamed) {
    VinCheck c = check_vin("1G4AH59HI5G118341");
    EXPECT_FALSE(c.valid);
    EXPECT_EQ(c.error, "character 'I' at position 9 is not allowed (VINs use 0-9 and A-Z except I, O and Q)");
    EXPECT_EQ(check_vin("1G4AH59H45G11834O").error,
              "character 'O' at position 17 is not allowed (VINs use 0-9 and A-Z except I, O and Q)");
    EXPECT_EQ(check_vin("Q1111111111111111").rules[1].passed, false);
    EXPECT_EQ(check_vin("1G4AH-9H45G118341").error,
              "character '-' at position 6 is not allowed (VINs use 0-9 and A-Z except I, O and Q)");
    EXPECT_EQ(check_vin("1G4AH 9H45G118341").error,
              "character byte 0x20 at position 6 is not allowed (VINs use 0-9 and A-Z except I, O and Q)");
}

TEST(VinCheck, CheckDigitRequiredInNorthAmerica) {
    VinCheck c = check_vin("1G4AH59H55G118341");
    EXPECT_FALSE(c.valid);
    EXPECT_EQ(c.error, "check digit (position 9) is '5', expected '4'");
    EXPECT_EQ(c.check_digit_expected, '4');
    EXPECT_EQ(c.check_digit_found, '5');
}

TEST(VinCheck, CheckDigitAdvisoryElsewhere) {
    // A European VIN whose position 9 is not the computed check digit: valid, but reported.
    std::string vin = "WVWZZZ1JZ3W386752";
    char expected = vin_check_digit(vin);
    ASSERT_NE(expected, vin[8]);
    VinCheck c = check_vin(vin);
    EXPECT_TRUE(c.valid);
    EXPECT_FALSE(c.check_digit_required);
    EXPECT_FALSE(c.rules[2].passed);
    EXPECT_FALSE(c.rules[2].enforced);
    EXPECT_NE(c.rules[2].message.find("advisory"), std::string::npos);
}

TEST(ModelYear, CodesAndCycles) {
    EXPECT_EQ(model_year_candidates('A'), (std::vector<int>{1980, 2010}));
    EXPECT_EQ(model_year_candidates('Y'), (std::vector<int>{2000, 2030}));
    EXPECT_EQ(model_year_candidates('1'), (std::vector<int>{2001, 2031}));
    EXPECT_EQ(model_year_candidates('9'), (std::vector<int>{2009, 2039}));
    EXPECT_EQ(model_year_candidates('R'), (std::vector<int>{1994, 2024}));
    EXPECT_EQ(model_year_candidates('S'), (std::vector<int>{1995, 2025}));
    for (char none : {'U', 'Z', '0', 'I', 'O', 'Q'}) {
        EXPECT_TRUE(model_year_candidates(none).empty()) << none;
    }
}

TEST(VinDecode, NorthAmericanPositionSevenSelectsTheCycle) {
    VinDecode numeric = decode_vin("1G4AH59H45G118341");  // position 7 '9': 1980-2009
    ASSERT_TRUE(numeric.model_year);
    EXPECT_EQ(numeric.model_year->candidates, (std::vector<int>{2005, 2035}));
    EXPECT_EQ(numeric.model_year->selected, 2005);
    EXPECT_EQ(numeric.wmi, "1G4");
    EXPECT_EQ(numeric.vds, "AH59H");
    EXPECT_EQ(numeric.vis, "5G118341");
    EXPECT_EQ(numeric.region, "North America");
    EXPECT_EQ(numeric.country, "United States");
    EXPECT_EQ(numeric.manufacturer, "Buick");

    std::string tesla = "5YJ3E1EAXKF000000";  // position 7 'E': 2010-2039
    tesla[8] = vin_check_digit(tesla);
    VinDecode alpha = decode_vin(tesla);
    ASSERT_TRUE(alpha.check.valid);
    EXPECT_EQ(alpha.model_year->selected, 2019);
    EXPECT_EQ(alpha.manufacturer, "Tesla");
}

TEST(VinDecode, OutsideNorthAmericaNoCycleIsSelected) {
    VinDecode d = decode_vin("WBA000000L0000000");
    EXPECT_EQ(d.region, "Europe");
    EXPECT_EQ(d.country, "Germany");
    EXPECT_EQ(d.manufacturer, "BMW");
    ASSERT_TRUE(d.model_year);
    EXPECT_FALSE(d.model_year->selected.has_value());
    EXPECT_EQ(decode_vin("JHM00000000000000").country, "Japan");
    EXPECT_EQ(decode_vin("KNA00000000000000").country, "South Korea");
    EXPECT_EQ(decode_vin("SAL00000000000000").country, "United Kingdom");
    EXPECT_EQ(decode_vin("VF100000000000000").country, "France");
    EXPECT_EQ(decode_vin("ZFA00000000000000").country, "Italy");
    EXPECT_EQ(decode_vin("9BW00000000000000").country, "Brazil");
    EXPECT_EQ(decode_vin("3VW00000000000000").country, "Mexico");
    EXPECT_EQ(decode_vin("2HG00000000000000").country, "Canada");
    EXPECT_EQ(decode_vin("LRW00000000000000").manufacturer, "Tesla (Shanghai)");
}

TEST(VinDecode, SmallMakerUsesSixCharacterIdentifier) {
    VinDecode d = decode_vin("1J9RP1A36A1644345");
    EXPECT_TRUE(d.check.valid);
    EXPECT_EQ(d.wmi, "1J9644");  // positions 1-3 and 12-14
}

TEST(VinDecode, UnitedStatesCodesUnderSeven) {
    EXPECT_EQ(wmi_region("7S"), "North America");
    EXPECT_EQ(wmi_country("7S"), "United States");
    EXPECT_EQ(wmi_region("7A"), "Oceania");
    EXPECT_EQ(wmi_country("7A"), "New Zealand");
}

TEST(VinDecode, InvalidInputDecodesWhatItCan) {
    VinDecode d = decode_vin("WBA12");
    EXPECT_FALSE(d.check.valid);
    EXPECT_EQ(d.region, "Europe");
    EXPECT_EQ(d.country, "Germany");
    EXPECT_TRUE(d.wmi.empty());
    EXPECT_FALSE(d.model_year.has_value());
}

TEST(Wmi, TableCoversTheLargestMakers) {
    EXPECT_GE(wmi_manufacturer_count(), 150U);
    for (const char* wmi : {"1FA", "1G1", "JT2", "WVW", "KMH", "KNA", "JHM", "JN1", "WBA", "WDD", "VF1",
                            "VF3", "ZFA", "5YJ", "JM1", "JF1", "YV1", "SAJ", "TMB", "MAT", "LFV", "LC0"}) {
        EXPECT_TRUE(wmi_manufacturer(wmi).has_value()) << wmi;
    }
    EXPECT_FALSE(wmi_manufacturer("ZZZ").has_value());
}

}  // namespace
}  // namespace motorpool::vehicles
