#include "core/json.hpp"

#include <cmath>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace motorpool::core {
namespace {

boost::json::object object(const char* text) {
    return boost::json::parse(text).as_object();
}

std::vector<FieldError> errors_of(FieldReader& reader) {
    try {
        reader.finish();
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status(), 422);
        return e.errors();
    }
    return {};
}

TEST(ParseJsonTest, MalformedIs400) {
    try {
        parse_json("{\"a\":");
        FAIL();
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status(), 400);
        EXPECT_EQ(e.type(), "urn:motorpool:problem:malformed_json");
    }
    // Where the error is: a byte offset, and line and column for a person.
    try {
        parse_json("{\"a\": 1,\n \"b\": tru }");
        FAIL();
    } catch (const ApiError& e) {
        EXPECT_EQ(e.detail().rfind("Malformed JSON at byte 15 (line 2, column 7): ", 0), 0U) << e.detail();
    }
    try {
        parse_json("{} trailing");
        FAIL();
    } catch (const ApiError& e) {
        EXPECT_NE(e.detail().find("at byte 3 "), std::string::npos) << e.detail();
    }
    EXPECT_THROW(parse_json(""), ApiError);
    EXPECT_THROW(parse_json("{} trailing"), ApiError);
}

TEST(ParseJsonTest, DepthIsLimited) {
    std::string deep(100, '[');
    deep += std::string(100, ']');
    EXPECT_THROW(parse_json(deep), ApiError);
}

// Found by fuzz/json_body: a number past a double's range parsed to infinity, which every writer
// turns into null. It is malformed input, refused where it is read.
TEST(ParseJsonTest, DoublesAreReadExactly) {
    // Boost.JSON 1.81 alone reads the second 2 units in the last place low (found by fuzz/json_body).
    EXPECT_EQ(parse_json("2567856350617441789345678563506174417890").as_double(), 2.5678563506174418e+39);
    EXPECT_EQ(parse_json("2.5678563506174418e+39").as_double(), 2.5678563506174418e+39);
    EXPECT_EQ(parse_json(R"({"a":[0.1,-2.5e-3,1E2]})").at("a").as_array()[1].as_double(), -2.5e-3);
    EXPECT_EQ(parse_json("-0.0").as_double(), 0.0);
    EXPECT_TRUE(std::signbit(parse_json("-0.0").as_double()));
}

TEST(ParseJsonTest, NumbersBeyondADoubleAre400) {
    for (const char* text : {"1e400", "[1,-1e309]", R"({"a":{"b":[12345678901234567123451e30912890]}})"}) {
        try {
            parse_json(text);
            ADD_FAILURE() << text << " was accepted";
        } catch (const ApiError& e) {
            EXPECT_EQ(e.status(), 400) << text;
        }
    }
    EXPECT_EQ(parse_json("1.7976931348623157e308").as_double(), 1.7976931348623157e308);
    EXPECT_EQ(parse_json("4.9e-324").as_double(), 4.9e-324);  // the smallest subnormal stays
    EXPECT_EQ(parse_json("1e-400").as_double(), 0.0);         // underflow is zero, a real number
}

TEST(ParseJsonTest, NonObjectIs422) {
    try {
        parse_json_object("[1,2]");
        FAIL();
    } catch (const ApiError& e) {
        EXPECT_EQ(e.status(), 422);
    }
}

TEST(FieldReaderTest, ReadsValidFields) {
    auto o = object(R"({"name":"Ada","year":2020,"ratio":0.5,"active":true,"trim":null})");
    FieldReader r(o);
    EXPECT_EQ(r.string("name", Presence::Required, 1, 10), "Ada");
    EXPECT_EQ(r.integer("year", Presence::Required, 1900, 2100), 2020);
    EXPECT_EQ(r.number("ratio", Presence::Optional), 0.5);
    EXPECT_EQ(r.boolean("active", Presence::Optional), true);
    EXPECT_FALSE(r.string("trim", Presence::Optional));
    EXPECT_FALSE(r.string("missing", Presence::Optional));
    EXPECT_NO_THROW(r.finish());
}

TEST(FieldReaderTest, NamesEveryBadField) {
    auto o = object(R"({"name":"","year":"2020","ratio":"x","extra":1,"count":2.5})");
    FieldReader r(o);
    r.string("name", Presence::Required, 1);
    r.integer("year", Presence::Required);
    r.number("ratio", Presence::Required);
    r.integer("count", Presence::Required);
    r.string("email", Presence::Required);
    auto errors = errors_of(r);
    std::vector<std::string> fields;
    for (const auto& e : errors) {
        fields.push_back(e.field);
    }
    EXPECT_EQ(fields, (std::vector<std::string>{"name", "year", "ratio", "count", "email", "extra"}));
    EXPECT_EQ(errors.back().message, "is not a known field");
}

TEST(FieldReaderTest, RangeAndLength) {
    auto o = object(R"({"year":1800,"code":"abcdef","whole":2020.0})");
    FieldReader r(o, "vehicle");
    EXPECT_FALSE(r.integer("year", Presence::Required, 1900, 2100));
    EXPECT_FALSE(r.string("code", Presence::Required, 0, 3));
    EXPECT_EQ(r.integer("whole", Presence::Required), 2020);
    auto errors = errors_of(r);
    ASSERT_EQ(errors.size(), 2U);
    EXPECT_EQ(errors[0].field, "vehicle.year");
    EXPECT_EQ(errors[1].field, "vehicle.code");
}

// The text JavaScript's JSON.stringify writes for the same value (checked against Node 20).
TEST(JsonTextTest, WritesNumbersAndStringsAsJavaScriptDoes) {
    boost::json::object o{{"a", 0.8},
                          {"b", 104.0},
                          {"c", 55.5},
                          {"d", 1e-7},
                          {"e", 1e21},
                          {"f", 123456789.125},
                          {"g", -0.0},
                          {"h", 1e20},
                          {"i", 0.000001},
                          {"j", std::int64_t{-42}},
                          {"k", 0.1 + 0.2}};
    EXPECT_EQ(to_json_text(o),
              R"({"a":0.8,"b":104,"c":55.5,"d":1e-7,"e":1e+21,"f":123456789.125,"g":0,"h":100000000000000000000,)"
              R"("i":0.000001,"j":-42,"k":0.30000000000000004})");
    boost::json::value text = "q\"b\\s/\n\t\x01\x7f é";
    EXPECT_EQ(to_json_text(text), R"("q\"b\\s/\n\t\u0001 é")");
    EXPECT_EQ(to_json_text(boost::json::array{nullptr, true, false, boost::json::object{}, boost::json::array{}}),
              "[null,true,false,{},[]]");
    // Our API's answers keep a fraction on whole doubles so that a typed reader sees a real number.
    EXPECT_EQ(to_json_text(boost::json::array{104.0, 0.0, 55.5, std::int64_t{3}}, WholeDoubles::KeepFraction),
              "[104.0,0.0,55.5,3]");
    // Keys stay in insertion order, whitespace-free.
    EXPECT_EQ(to_json_text(boost::json::object{{"pizza", "pasta"}, {"a", 1}}), R"({"pizza":"pasta","a":1})");
}

// Whatever bytes a stored string holds, the answer is valid UTF-8 (strict clients reject the rest).
TEST(JsonTextTest, InvalidUtf8IsWrittenAsReplacementCharacters) {
    EXPECT_EQ(to_json_text(boost::json::value("Hon\xff\xfe"
                                              "da")),
              R"("Hon\ufffd\ufffdda")");
    EXPECT_EQ(to_json_text(boost::json::value("\xed\xa0\x80!")), R"("\ufffd\ufffd\ufffd!")");
    EXPECT_EQ(to_json_text(boost::json::value("Zoë €")), "\"Zoë €\"");  // valid text untouched
    boost::json::object o;
    o["k\xc3"] = "v";
    EXPECT_EQ(to_json_text(o), R"({"k\ufffd":"v"})");
}

TEST(FieldReaderTest, StringsFollowTheTextRule) {
    auto o = object(R"({"name":"a\u0000b","ok":"Zoë","note":"two\nlines","long":"ééé"})");
    FieldReader r(o);
    EXPECT_FALSE(r.string("name", Presence::Required, 1, 100));
    EXPECT_EQ(r.string("ok", Presence::Required, 1, 3), "Zoë");  // three characters, four bytes
    EXPECT_EQ(r.string("note", Presence::Required, 1, 100, TextKind::MultiLine), "two\nlines");
    EXPECT_FALSE(r.string("long", Presence::Required, 1, 2));
    auto errors = errors_of(r);
    ASSERT_EQ(errors.size(), 2U);
    EXPECT_EQ(errors[0].field, "name");
    EXPECT_EQ(errors[0].message, "must not contain control characters");
    EXPECT_EQ(errors[1].message, "must be at most 2 characters");
}

TEST(FieldReaderTest, NumberOutOfRangeNamesTheRange) {
    auto o = object(R"({"soc":1e308,"lat":-91.5})");
    FieldReader r(o);
    EXPECT_FALSE(r.number("soc", Presence::Required, 0, 100));
    EXPECT_FALSE(r.number("lat", Presence::Required, -90, 90));
    auto errors = errors_of(r);
    ASSERT_EQ(errors.size(), 2U);
    EXPECT_EQ(errors[0].message, "must be from 0 to 100");
    EXPECT_EQ(errors[1].message, "must be from -90 to 90");
}

}  // namespace
}  // namespace motorpool::core
