// Smartcar's shapes in catalog terms: v2 fractions become percent, units become the catalog's,
// timestamps come from where each shape keeps them, failed and unknown items are skipped.

#include "smartcar/convert.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace motorpool::smartcar {
namespace {

namespace json = boost::json;
using telemetry::Source;

std::map<std::string, telemetry::Sample> by_code(const std::vector<telemetry::Sample>& samples) {
    std::map<std::string, telemetry::Sample> out;
    for (const auto& s : samples) {
        out[std::string(telemetry::find_signal(s.signal)->code)] = s;
    }
    return out;
}

TEST(ConvertTest, V2BatchItemsBecomePercentKilometresAndTimes) {
    auto items = json::parse(R"([
        {"path":"/battery","code":200,"body":{"percentRemaining":0.58,"range":283.24},
         "headers":{"sc-data-age":"2026-11-29T08:00:00.000Z","sc-unit-system":"metric"}},
        {"path":"/odometer","code":200,"body":{"distance":100},"headers":{"sc-unit-system":"imperial"}},
        {"path":"/charge","code":200,"body":{"isPluggedIn":true,"state":"CHARGING"}},
        {"path":"/charge/limit","code":200,"body":{"limit":0.8}},
        {"path":"/location","code":200,"body":{"latitude":37.4292,"longitude":-122.1381}},
        {"path":"/fuel","code":501,"body":{"type":"COMPATIBILITY"}},
        {"path":"/unknown","code":200,"body":{"x":1}}])")
                     .as_array();
    auto s = by_code(samples_from_v2(items, 7, Source::Poll, 1'000));
    ASSERT_EQ(s.size(), 8U);
    EXPECT_EQ(*s["TractionBattery.StateOfCharge"].number, 58.0);  // exactly, not 57.99999999999999
    EXPECT_EQ(s["TractionBattery.StateOfCharge"].t_ms, 1'795'939'200'000);
    EXPECT_EQ(s["TractionBattery.StateOfCharge"].vehicle_id, 7);
    EXPECT_EQ(s["TractionBattery.StateOfCharge"].source, Source::Poll);
    EXPECT_NEAR(*s["Odometer.TraveledDistance"].number, 160.9344, 1e-9);  // miles
    EXPECT_EQ(s["Odometer.TraveledDistance"].t_ms, 1'000);                // no data age: the fallback
    EXPECT_EQ(*s["Charge.IsCharging"].number, 1.0);
    EXPECT_EQ(*s["Charge.DetailedChargingStatus"].text, "CHARGING");
    EXPECT_EQ(*s["Charge.ChargeLimits"].number, 80.0);
    EXPECT_EQ(*s["Location.PreciseLocation"].text, R"({"latitude":37.4292,"longitude":-122.1381,"heading":null})");
}

TEST(ConvertTest, SignalsInWebhookAndV3FormAreReadLeniently) {
    auto signals = json::parse(R"([
        {"code":"tractionbattery-stateofcharge","body":{"unit":"percent","value":64.5},
         "meta":{"oemUpdatedAt":5000,"retrievedAt":6000},"status":{"value":"SUCCESS"}},
        {"id":"charge-chargelimits","type":"signal","attributes":{"code":"charge-chargelimits","status":{"value":"SUCCESS"},
         "body":{"values":[{"type":"GLOBAL","limit":90,"condition":null}],"activeLimit":null,"unit":"percent"}},
         "meta":{"retrievedAt":7000}},
        {"group":"Charge","name":"Wattage","body":{"unit":"watts","value":7200},"meta":{"fetchedAt":"1970-01-01T00:00:08Z"}},
        {"code":"closure-islocked","status":{"value":"ERROR","error":{"type":"COMPATIBILITY"}}},
        {"code":"location-preciselocation","body":{"latitude":52.52,"longitude":13.405,"heading":90}},
        {"code":"tractionbattery-range","body":{"unit":"miles","value":10}},
        {"code":"something-new","body":{"value":1}}])")
                       .as_array();
    auto s = by_code(samples_from_signals(signals, 3, Source::Webhook, 9'000));
    ASSERT_EQ(s.size(), 5U);
    EXPECT_EQ(*s["TractionBattery.StateOfCharge"].number, 64.5);  // already percent
    EXPECT_EQ(s["TractionBattery.StateOfCharge"].t_ms, 5'000);    // oemUpdatedAt first
    EXPECT_EQ(*s["Charge.ChargeLimits"].number, 90.0);            // the GLOBAL limit when no active one
    EXPECT_EQ(s["Charge.ChargeLimits"].t_ms, 7'000);
    EXPECT_EQ(*s["Charge.Wattage"].number, 7.2);  // kW
    EXPECT_EQ(s["Charge.Wattage"].t_ms, 8'000);
    EXPECT_EQ(s["Location.PreciseLocation"].t_ms, 9'000);  // no meta: the fallback
    EXPECT_EQ(*s["Location.PreciseLocation"].text, R"({"latitude":52.52,"longitude":13.405,"heading":90.0})");
    EXPECT_NEAR(*s["TractionBattery.Range"].number, 16.09344, 1e-9);
    EXPECT_FALSE(s.contains("Closure.IsLocked"));  // failed signals carry nothing
}

TEST(ConvertTest, TimesAsSmartcarWritesThem) {
    json::value ms = 1'700'000'000'123;
    json::value digits = "1700000000123";
    json::value iso = "2023-11-14T22:13:20.123Z";
    json::value junk = "soon";
    EXPECT_EQ(parse_time(&ms), 1'700'000'000'123);
    EXPECT_EQ(parse_time(&digits), 1'700'000'000'123);
    EXPECT_EQ(parse_time(&iso), 1'700'000'000'123);
    EXPECT_FALSE(parse_time(&junk));
    EXPECT_FALSE(parse_time(nullptr));
}

}  // namespace
}  // namespace motorpool::smartcar
