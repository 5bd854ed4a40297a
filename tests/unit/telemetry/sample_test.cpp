// The one check of signal values and times that every source's samples pass through.

#include <gtest/gtest.h>

#include "telemetry/telemetry.hpp"

namespace motorpool::telemetry {
namespace {

constexpr std::int64_t kNow = 1'780'000'000'000;  // 2026-05-28

Sample number_sample(std::string_view code, double value, std::int64_t t = kNow) {
    Sample s;
    s.vehicle_id = 1;
    s.signal = find_signal(code)->id;
    s.t_ms = t;
    s.number = value;
    return s;
}

Sample text_sample(std::string_view code, std::string value) {
    Sample s;
    s.vehicle_id = 1;
    s.signal = find_signal(code)->id;
    s.t_ms = kNow;
    s.text = std::move(value);
    return s;
}

TEST(SampleCheckTest, EveryNumberSignalHasARange) {
    for (const auto& signal : catalog()) {
        if (signal.type == ValueType::Number || signal.type == ValueType::Boolean) {
            EXPECT_LT(signal.min, signal.max) << signal.code;
        }
    }
    EXPECT_EQ(find_signal("TractionBattery.StateOfCharge")->max, 100);
    EXPECT_EQ(find_signal("Charge.IsCharging")->max, 1);
}

TEST(SampleCheckTest, TimesFrom2000ToFiveMinutesAhead) {
    EXPECT_EQ(sample_problem(number_sample("TractionBattery.StateOfCharge", 51), kNow), "");
    EXPECT_EQ(sample_problem(number_sample("TractionBattery.StateOfCharge", 51, kNow + kSampleFutureSlackMs), kNow),
              "");
    EXPECT_EQ(sample_problem(number_sample("TractionBattery.StateOfCharge", 51, kNow + kSampleFutureSlackMs + 1), kNow),
              "TractionBattery.StateOfCharge: time is more than 5 minutes in the future");
    EXPECT_EQ(sample_problem(number_sample("TractionBattery.StateOfCharge", 51, 253'402'300'799'000), kNow),
              "TractionBattery.StateOfCharge: time is more than 5 minutes in the future");  // 9999-12-31T23:59:59Z
    EXPECT_EQ(sample_problem(number_sample("TractionBattery.StateOfCharge", 51, kOldestSampleMs), kNow), "");
    EXPECT_EQ(sample_problem(number_sample("TractionBattery.StateOfCharge", 51, kOldestSampleMs - 1), kNow),
              "TractionBattery.StateOfCharge: time is before 2000-01-01");
    EXPECT_EQ(sample_problem(number_sample("TractionBattery.StateOfCharge", 51, 0), kNow),
              "TractionBattery.StateOfCharge: time is before 2000-01-01");
}

TEST(SampleCheckTest, ValuesWithinTheCatalogsRange) {
    EXPECT_EQ(sample_problem(number_sample("TractionBattery.StateOfCharge", 1e308), kNow),
              "TractionBattery.StateOfCharge: 1e+308 is outside 0 to 100 percent");
    EXPECT_EQ(sample_problem(number_sample("TractionBattery.StateOfCharge", -1e308), kNow),
              "TractionBattery.StateOfCharge: -1e+308 is outside 0 to 100 percent");
    EXPECT_EQ(sample_problem(number_sample("Odometer.TraveledDistance", -1e308), kNow),
              "Odometer.TraveledDistance: -1e+308 is outside 0 to 10000000 km");
    EXPECT_EQ(sample_problem(number_sample("Odometer.TraveledDistance", 160934.4), kNow), "");
    EXPECT_NE(sample_problem(number_sample("TractionBattery.StateOfCharge", std::nan("")), kNow), "");
    EXPECT_NE(sample_problem(number_sample("Charge.IsCharging", 2), kNow), "");
    EXPECT_EQ(sample_problem(number_sample("Charge.Wattage", -7.2), kNow), "");  // discharging (V2G)
    Sample no_value = number_sample("Motion.Speed", 1);
    no_value.number.reset();
    EXPECT_EQ(sample_problem(no_value, kNow), "Motion.Speed: has no value");
    Sample unknown = number_sample("Motion.Speed", 1);
    unknown.signal = 9999;
    EXPECT_EQ(sample_problem(unknown, kNow), "signal 9999 is not in the catalog");
}

TEST(SampleCheckTest, TextAndLocations) {
    EXPECT_EQ(sample_problem(text_sample("Charge.DetailedChargingStatus", "CHARGING"), kNow), "");
    EXPECT_EQ(sample_problem(text_sample("Charge.DetailedChargingStatus", "CHAR\xff"), kNow),
              "Charge.DetailedChargingStatus: text must be valid UTF-8");
    EXPECT_EQ(
        sample_problem(text_sample("Location.PreciseLocation", R"({"latitude":52.5,"longitude":13.4,"heading":null})"),
                       kNow),
        "");
    EXPECT_NE(sample_problem(text_sample("Location.PreciseLocation", R"({"latitude":1e308,"longitude":13.4})"), kNow),
              "");
    EXPECT_NE(sample_problem(text_sample("Location.PreciseLocation", R"({"latitude":52.5})"), kNow), "");
    EXPECT_NE(sample_problem(
                  text_sample("Location.PreciseLocation", R"({"latitude":52.5,"longitude":13.4,"heading":400})"), kNow),
              "");
    EXPECT_NE(sample_problem(text_sample("Location.PreciseLocation", "not json"), kNow), "");
}

TEST(SampleCheckTest, DropKeepsTheOthersInOrderAndNamesTheFirstProblem) {
    std::vector<Sample> samples{number_sample("Motion.Speed", 10, kNow - 2),
                                number_sample("TractionBattery.StateOfCharge", 1000),
                                number_sample("Motion.Speed", 20, kNow - 1),
                                number_sample("Motion.Speed", 30, 253'402'300'799'000)};
    std::string first;
    EXPECT_EQ(drop_invalid_samples(samples, kNow, &first), 2U);
    ASSERT_EQ(samples.size(), 2U);
    EXPECT_EQ(samples[0].number, 10);
    EXPECT_EQ(samples[1].number, 20);
    EXPECT_EQ(first, "TractionBattery.StateOfCharge: 1000 is outside 0 to 100 percent");
}

}  // namespace
}  // namespace motorpool::telemetry
