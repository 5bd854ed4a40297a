// Vehicle registry end to end: VIN rules and their 422 wording, ownership isolation (404 for another
// member's vehicle), staff visibility, PATCH semantics, offset and keyset pages (stable under
// concurrent inserts), filters, dongles, VIN decoding, and the CSV importer. Runs on every backend.

#include "vehicles/vehicles.hpp"

#include <cctype>
#include <set>
#include <tuple>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/auth.hpp"
#include "harness.hpp"
#include "vehicles/vin.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

class VehiclesTest : public ::testing::Test {
protected:
    void SetUp() override {
        app_ = std::make_unique<TestApp>();
        for (const char* email : {"alice@example.com", "bob@example.com"}) {
            auto user = register_member(*app_, email);
            user_ids_[email] = user.id;
            (std::string(email) == "alice@example.com" ? alice_ : bob_) = user.token;
        }
        for (auto [email, role, token] : {std::tuple{"fleet@example.com", auth::Role::FleetManager, &fleet_},
                                          std::tuple{"support@example.com", auth::Role::Support, &support_},
                                          std::tuple{"admin@example.com", auth::Role::Admin, &admin_}}) {
            auto user = create_user_and_login(*app_, email, role);
            user_ids_[email] = user.id;
            *token = user.token;
        }
    }

    http::ClientResponse call(const std::string& method,
                              const std::string& path,
                              const std::string& token,
                              const std::optional<json::value>& body = std::nullopt) {
        return testing::call(*app_, method, path, token, body);
    }

    json::object create(const std::string& token, json::object body, int expected = 201) {
        auto r = call("POST", "/api/v1/vehicles", token, json::value(std::move(body)));
        EXPECT_EQ(r.status, expected) << r.body;
        return r.status == expected && expected == 201 ? r.json().as_object() : json::object{};
    }

    json::object create_vin(const std::string& token,
                            const std::string& vin,
                            const std::string& make = "Tesla",
                            const std::string& model = "Model 3") {
        return create(token, json::object{{"vin", vin}, {"make", make}, {"model", model}});
    }

    // The `errors` of a 422 as field -> message.
    static std::map<std::string, std::string> field_errors(const http::ClientResponse& r) {
        std::map<std::string, std::string> out;
        EXPECT_EQ(r.status, 422) << r.body;
        if (r.status != 422) {
            return out;
        }
        json::value body = r.json();
        for (const auto& e : body.at("errors").as_array()) {
            out[std::string(e.at("field").as_string())] = std::string(e.at("message").as_string());
        }
        return out;
    }

    std::unique_ptr<TestApp> app_;
    std::string alice_, bob_, fleet_, support_, admin_;
    std::map<std::string, std::string> user_ids_;
};

TEST_F(VehiclesTest, CreateReturnsTheVehicleWithUpperCaseVin) {
    std::string vin = test_vin(1, "5YJ");
    std::string lower = vin;
    for (char& c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    json::object body{{"vin", lower},
                      {"make", " Tesla "},
                      {"model", "Model 3"},
                      {"trim", "Long Range"},
                      {"year", 2021},
                      {"license_plate", "EV-1234"},
                      {"odometer_km", 12345.5},
                      {"fuel_type", "electric"},
                      {"description", "Company car"},
                      {"image_urls", json::array{"https://img.example.com/a.jpg", "http://img.example.com/b.png"}}};
    auto r = call("POST", "/api/v1/vehicles", alice_, json::value(body));
    ASSERT_EQ(r.status, 201) << r.body;
    auto v = r.json().as_object();
    EXPECT_EQ(v.at("vin"), json::value(vin));
    EXPECT_EQ(v.at("make"), json::value("Tesla"));  // trimmed
    EXPECT_EQ(v.at("trim"), json::value("Long Range"));
    EXPECT_EQ(v.at("year"), json::value(2021));
    EXPECT_EQ(v.at("odometer_km").as_double(), 12345.5);
    EXPECT_EQ(v.at("fuel_type"), json::value("electric"));
    EXPECT_EQ(v.at("image_urls").as_array().size(), 2U);
    EXPECT_EQ(v.at("owner_id"), json::value(user_ids_["alice@example.com"]));
    EXPECT_TRUE(v.at("dongle_id").is_null());
    EXPECT_EQ(v.at("id").as_string().size(), 36U);
    EXPECT_EQ(r.header("Location"), "/api/v1/vehicles/" + std::string(v.at("id").as_string()));

    // Either key reaches it; the VIN in any case.
    for (const std::string& key : {std::string(v.at("id").as_string()), vin, lower}) {
        auto got = call("GET", "/api/v1/vehicles/" + key, alice_);
        ASSERT_EQ(got.status, 200) << key;
        EXPECT_EQ(got.json().at("vin"), json::value(vin));
    }
}

TEST_F(VehiclesTest, DuplicateVinIsAConflict) {
    std::string vin = test_vin(2, "1FT");
    create_vin(alice_, vin);
    auto r = call("POST",
                  "/api/v1/vehicles",
                  bob_,
                  json::value(json::object{{"vin", vin}, {"make", "Ford"}, {"model", "F-150"}}));
    EXPECT_EQ(r.status, 409) << r.body;
    // A client tells "VIN already registered" from other conflicts by the problem's type.
    EXPECT_EQ(r.json().at("type"), json::value("urn:motorpool:problem:vin_taken"));
    EXPECT_EQ(r.json().at("title"), json::value("Conflict"));
}

TEST_F(VehiclesTest, InvalidVinsAreNamedPrecisely) {
    auto post_vin = [&](const std::string& vin) {
        return field_errors(call("POST",
                                 "/api/v1/vehicles",
                                 alice_,
                                 json::value(json::object{{"vin", vin}, {"make", "Buick"}, {"model", "Century"}})));
    };
    EXPECT_EQ(post_vin("1G4AH59H45G11834")["vin"], "must be 17 characters, got 16");
    EXPECT_EQ(post_vin("1G4AH59HI5G118341")["vin"],
              "character 'I' at position 9 is not allowed (VINs use 0-9 and A-Z except I, O and Q)");
    EXPECT_EQ(post_vin("1G4AH59H55G118341")["vin"], "check digit (position 9) is '5', expected '4'");
    // Outside North America the check digit is advisory: accepted.
    std::string european = "WVWZZZ1JZ3W386752";
    ASSERT_NE(vehicles::vin_check_digit(european), european[8]);
    create_vin(alice_, european, "Volkswagen", "Golf");
    // Nothing was stored by the refused requests.
    auto list = call("GET", "/api/v1/vehicles", alice_);
    EXPECT_EQ(list.json().at("total"), json::value(1));
}

TEST_F(VehiclesTest, FieldRulesGiveOne422ListingEveryProblem) {
    json::array too_many;
    for (int i = 0; i < 21; ++i) {
        too_many.emplace_back("https://img.example.com/" + std::to_string(i) + ".jpg");
    }
    auto errors = field_errors(call("POST",
                                    "/api/v1/vehicles",
                                    alice_,
                                    json::value(json::object{{"vin", test_vin(3, "5YJ")},
                                                             {"model", ""},
                                                             {"year", 1700},
                                                             {"odometer_km", -1},
                                                             {"fuel_type", "steam"},
                                                             {"license_plate", "AB$12"},
                                                             {"image_urls", too_many},
                                                             {"colour", "red"}})));
    EXPECT_TRUE(errors.count("make"));  // required
    EXPECT_EQ(errors["model"], "must not be empty");
    EXPECT_TRUE(errors.count("year"));
    EXPECT_TRUE(errors.count("odometer_km"));
    EXPECT_EQ(errors["fuel_type"], "must be one of gasoline, diesel, electric, hybrid, plugin_hybrid, hydrogen, other");
    EXPECT_TRUE(errors.count("license_plate"));
    EXPECT_EQ(errors["image_urls"], "must hold at most 20 URLs");
    EXPECT_TRUE(errors.count("colour"));  // unknown field

    auto urls =
        field_errors(call("POST",
                          "/api/v1/vehicles",
                          alice_,
                          json::value(json::object{{"vin", test_vin(4, "5YJ")},
                                                   {"make", "Tesla"},
                                                   {"model", "Model 3"},
                                                   {"image_urls",
                                                    json::array{"ftp://img.example.com/a.jpg",
                                                                "not a url",
                                                                "https://img.example.com/" + std::string(2100, 'a'),
                                                                7}}})));
    EXPECT_EQ(urls["image_urls[0]"], "must use http or https");
    EXPECT_EQ(urls["image_urls[1]"], "must be an absolute http or https URL");
    EXPECT_EQ(urls["image_urls[2]"], "must be at most 2048 bytes");
    EXPECT_EQ(urls["image_urls[3]"], "must be a string");

    auto malformed =
        app_->client().request("POST",
                               "/api/v1/vehicles",
                               "{\"vin\":",
                               {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + alice_}});
    EXPECT_EQ(malformed.status, 400);
    auto anonymous = app_->client().get("/api/v1/vehicles");
    EXPECT_EQ(anonymous.status, 401);
}

TEST_F(VehiclesTest, AnotherMembersVehicleIsNotFoundForReadUpdateAndDelete) {
    auto v = create_vin(alice_, test_vin(5, "5YJ"));
    std::string id(v.at("id").as_string());
    std::string vin(v.at("vin").as_string());
    for (const std::string& key : {id, vin}) {
        EXPECT_EQ(call("GET", "/api/v1/vehicles/" + key, bob_).status, 404);
        EXPECT_EQ(call("PATCH", "/api/v1/vehicles/" + key, bob_, json::value(json::object{{"make", "Hacked"}})).status,
                  404);
        EXPECT_EQ(call("DELETE", "/api/v1/vehicles/" + key, bob_).status, 404);
        EXPECT_EQ(call("POST",
                       "/api/v1/vehicles/" + key + "/dongle",
                       bob_,
                       json::value(json::object{{"dongle_id", "D-1"}, {"connection_type", "BLE"}}))
                      .status,
                  404);
        EXPECT_EQ(call("DELETE", "/api/v1/vehicles/" + key + "/dongle", bob_).status, 404);
    }
    // Untouched, and invisible in Bob's list.
    auto still = call("GET", "/api/v1/vehicles/" + id, alice_);
    EXPECT_EQ(still.json().at("make"), json::value("Tesla"));
    EXPECT_EQ(call("GET", "/api/v1/vehicles", bob_).json().at("total"), json::value(0));
    // A key that names nothing and one that cannot name anything.
    EXPECT_EQ(call("GET", "/api/v1/vehicles/" + test_vin(999, "5YJ"), alice_).status, 404);
    EXPECT_EQ(call("GET", "/api/v1/vehicles/nonsense", alice_).status, 404);
}

TEST_F(VehiclesTest, StaffSeeEveryVehicleAndOnlyFleetManagersAndAdminsChangeThem) {
    auto v = create_vin(alice_, test_vin(6, "5YJ"));
    std::string id(v.at("id").as_string());
    for (const auto* token : {&fleet_, &support_, &admin_}) {
        EXPECT_EQ(call("GET", "/api/v1/vehicles/" + id, *token).status, 200);
        EXPECT_EQ(call("GET", "/api/v1/vehicles", *token).json().at("total"), json::value(1));
    }
    EXPECT_EQ(call("PATCH", "/api/v1/vehicles/" + id, support_, json::value(json::object{{"model", "X"}})).status, 403);
    EXPECT_EQ(call("PATCH", "/api/v1/vehicles/" + id, fleet_, json::value(json::object{{"model", "Model Y"}})).status,
              200);
    // Reassigning the owner: staff only, to a user that exists.
    auto moved = call("PATCH",
                      "/api/v1/vehicles/" + id,
                      admin_,
                      json::value(json::object{{"owner_id", user_ids_["bob@example.com"]}}));
    ASSERT_EQ(moved.status, 200) << moved.body;
    EXPECT_EQ(call("GET", "/api/v1/vehicles/" + id, bob_).status, 200);
    EXPECT_EQ(call("GET", "/api/v1/vehicles/" + id, alice_).status, 404);
    EXPECT_EQ(call("PATCH",
                   "/api/v1/vehicles/" + id,
                   bob_,
                   json::value(json::object{{"owner_id", user_ids_["alice@example.com"]}}))
                  .status,
              403);
    auto unknown = field_errors(call("PATCH",
                                     "/api/v1/vehicles/" + id,
                                     admin_,
                                     json::value(json::object{{"owner_id", "0190a000-0000-7000-8000-000000000000"}})));
    EXPECT_EQ(unknown["owner_id"], "is not a known user");
    // Staff may create a vehicle for a member.
    auto made = create(fleet_,
                       json::object{{"vin", test_vin(7, "5YJ")},
                                    {"make", "Tesla"},
                                    {"model", "Model S"},
                                    {"owner_id", user_ids_["alice@example.com"]}});
    EXPECT_EQ(made.at("owner_id"), json::value(user_ids_["alice@example.com"]));
}

TEST_F(VehiclesTest, PatchSetsClearsAndRefuses) {
    auto v = create(alice_,
                    json::object{{"vin", test_vin(8, "5YJ")},
                                 {"make", "Tesla"},
                                 {"model", "Model 3"},
                                 {"trim", "Standard"},
                                 {"year", 2020}});
    std::string path = "/api/v1/vehicles/" + std::string(v.at("id").as_string());
    auto r = call("PATCH",
                  path,
                  alice_,
                  json::value(json::object{{"license_plate", "NEW-1"}, {"trim", nullptr}, {"odometer_km", 10}}));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json().at("license_plate"), json::value("NEW-1"));
    EXPECT_TRUE(r.json().at("trim").is_null());
    EXPECT_EQ(r.json().at("year"), json::value(2020));  // untouched
    auto errors =
        field_errors(call("PATCH", path, alice_, json::value(json::object{{"make", nullptr}, {"year", "x"}})));
    EXPECT_EQ(errors["make"], "cannot be cleared");
    EXPECT_TRUE(errors.count("year"));
    EXPECT_EQ(call("GET", path, alice_).json().at("license_plate"), json::value("NEW-1"));  // nothing changed
    // A new VIN: validated, and unique.
    auto other = create_vin(alice_, test_vin(9, "5YJ"));
    EXPECT_EQ(call("PATCH", path, alice_, json::value(json::object{{"vin", other.at("vin")}})).status, 409);
    EXPECT_EQ(field_errors(call("PATCH", path, alice_, json::value(json::object{{"vin", "SHORT"}})))["vin"],
              "must be 17 characters, got 5");
    auto renamed = call("PATCH", path, alice_, json::value(json::object{{"vin", test_vin(10, "5YJ")}}));
    EXPECT_EQ(renamed.status, 200);
    EXPECT_EQ(call("GET", "/api/v1/vehicles/" + test_vin(10, "5YJ"), alice_).status, 200);
}

TEST_F(VehiclesTest, DeleteRemovesTheVehicle) {
    auto v = create_vin(alice_, test_vin(11, "5YJ"));
    std::string path = "/api/v1/vehicles/" + std::string(v.at("id").as_string());
    EXPECT_EQ(call("DELETE", path, alice_).status, 204);
    EXPECT_EQ(call("GET", path, alice_).status, 404);
    EXPECT_EQ(call("DELETE", path, alice_).status, 404);
}

TEST_F(VehiclesTest, OffsetPagesAndTheirLimits) {
    for (int i = 0; i < 23; ++i) {
        create_vin(alice_, test_vin(100 + i, "5YJ"));
    }
    auto first = call("GET", "/api/v1/vehicles", alice_).json().as_object();
    EXPECT_EQ(first.at("items").as_array().size(), 10U);
    EXPECT_EQ(first.at("total"), json::value(23));
    EXPECT_EQ(first.at("page"), json::value(1));
    EXPECT_EQ(first.at("page_size"), json::value(10));
    EXPECT_EQ(first.at("total_pages"), json::value(3));
    auto last = call("GET", "/api/v1/vehicles?page=3&page_size=10", alice_).json().as_object();
    EXPECT_EQ(last.at("items").as_array().size(), 3U);
    EXPECT_TRUE(last.at("next_cursor").is_null());
    EXPECT_EQ(call("GET", "/api/v1/vehicles?page=9", alice_).json().at("items").as_array().size(), 0U);
    EXPECT_EQ(call("GET", "/api/v1/vehicles?page_size=100", alice_).json().at("items").as_array().size(), 23U);
    for (const char* bad : {"page=0",
                            "page=-1",
                            "page=abc",
                            "page_size=0",
                            "page_size=101",
                            "year=19x",
                            "cursor=%21%21",
                            "cursor=djE6YWJj",
                            "make="}) {
        auto r = call("GET", std::string("/api/v1/vehicles?") + bad, alice_);
        EXPECT_EQ(r.status, 422) << bad << " " << r.body;
    }
}

TEST_F(VehiclesTest, KeysetPagesAreStableUnderConcurrentInserts) {
    std::set<std::string> created;
    for (int i = 0; i < 25; ++i) {
        created.insert(std::string(create_vin(alice_, test_vin(200 + i, "5YJ")).at("vin").as_string()));
    }
    std::vector<std::string> seen;
    std::string cursor;
    int pages = 0;
    while (true) {
        auto page = call("GET", "/api/v1/vehicles?page_size=7&cursor=" + cursor, alice_);
        ASSERT_EQ(page.status, 200) << page.body;
        auto o = page.json().as_object();
        EXPECT_FALSE(o.contains("total"));
        for (const auto& item : o.at("items").as_array()) {
            seen.emplace_back(item.at("vin").as_string());
        }
        if (++pages == 2) {
            // Rows inserted while a client pages come after everything, never shift a page.
            created.insert(std::string(create_vin(alice_, test_vin(300, "5YJ")).at("vin").as_string()));
        }
        if (o.at("next_cursor").is_null()) {
            break;
        }
        cursor = std::string(o.at("next_cursor").as_string());
    }
    EXPECT_EQ(seen.size(), created.size());
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), created);
    EXPECT_EQ(seen.back(), test_vin(300, "5YJ"));
}

TEST_F(VehiclesTest, FiltersNarrowTheList) {
    create(alice_,
           json::object{{"vin", test_vin(400, "5YJ")},
                        {"make", "Tesla"},
                        {"model", "Model 3"},
                        {"year", 2021},
                        {"license_plate", "TES-001"}});
    create(alice_, json::object{{"vin", test_vin(401, "1FT")}, {"make", "Ford"}, {"model", "F-150"}, {"year", 2019}});
    create(alice_,
           json::object{{"vin", test_vin(402, "1FM")}, {"make", "Ford"}, {"model", "Mustang Mach-E"}, {"year", 2021}});
    create(bob_, json::object{{"vin", test_vin(403, "1FA")}, {"make", "Ford"}, {"model", "Focus"}});
    auto total = [&](const std::string& query, const std::string& token) {
        auto r = call("GET", "/api/v1/vehicles?" + query, token);
        EXPECT_EQ(r.status, 200) << query << r.body;
        return r.json().at("total").as_int64();
    };
    EXPECT_EQ(total("make=ford", alice_), 2);
    EXPECT_EQ(total("make=FORD", admin_), 3);
    EXPECT_EQ(total("model=f-150", alice_), 1);
    EXPECT_EQ(total("year=2021", alice_), 2);
    EXPECT_EQ(total("make=Ford&year=2021", alice_), 1);
    EXPECT_EQ(total("q=" + test_vin(401, "1FT").substr(0, 5), alice_), 1);  // VIN prefix
    EXPECT_EQ(total("q=tes-0", alice_), 1);                                 // plate
    EXPECT_EQ(total("q=mach", alice_), 1);                                  // model text
    EXPECT_EQ(total("q=ford%20must", alice_), 1);                           // "make model"
    EXPECT_EQ(total("q=%25", alice_), 0);                                   // LIKE metacharacters are literal
    EXPECT_EQ(total("q=_", alice_), 0);
}

TEST_F(VehiclesTest, DongleLinksToOneVehicleAtATime) {
    auto a = create_vin(alice_, test_vin(500, "5YJ"));
    auto b = create_vin(alice_, test_vin(501, "5YJ"));
    std::string pa = "/api/v1/vehicles/" + std::string(a.at("id").as_string());
    std::string pb = "/api/v1/vehicles/" + std::string(b.at("id").as_string());
    auto linked = call(
        "POST", pa + "/dongle", alice_, json::value(json::object{{"dongle_id", "OBD-42"}, {"connection_type", "BLE"}}));
    ASSERT_EQ(linked.status, 200) << linked.body;
    EXPECT_EQ(linked.json().at("dongle_id"), json::value("OBD-42"));
    EXPECT_EQ(linked.json().at("connection_type"), json::value("BLE"));
    // Same dongle again on the same vehicle: idempotent; on another vehicle: conflict.
    EXPECT_EQ(call("POST",
                   pa + "/dongle",
                   alice_,
                   json::value(json::object{{"dongle_id", "OBD-42"}, {"connection_type", "WIFI"}}))
                  .status,
              200);
    EXPECT_EQ(call("POST",
                   pb + "/dongle",
                   alice_,
                   json::value(json::object{{"dongle_id", "OBD-42"}, {"connection_type", "BLE"}}))
                  .status,
              409);
    auto bad = field_errors(call("POST",
                                 pb + "/dongle",
                                 alice_,
                                 json::value(json::object{{"dongle_id", "OBD 43"}, {"connection_type", "USB"}})));
    EXPECT_EQ(bad["connection_type"], "must be one of BLE, WIFI, CLOUD");
    EXPECT_TRUE(bad.count("dongle_id"));
    EXPECT_EQ(call("DELETE", pa + "/dongle", alice_).status, 204);
    EXPECT_TRUE(call("GET", pa, alice_).json().at("dongle_id").is_null());
    EXPECT_EQ(call("POST",
                   pb + "/dongle",
                   alice_,
                   json::value(json::object{{"dongle_id", "OBD-42"}, {"connection_type", "CLOUD"}}))
                  .status,
              200);
}

TEST_F(VehiclesTest, VinDecodeReportsEveryRule) {
    auto r = call("GET", "/api/v1/vins/1g4ah59h45g118341", alice_);
    ASSERT_EQ(r.status, 200) << r.body;
    auto o = r.json().as_object();
    EXPECT_EQ(o.at("valid"), json::value(true));
    EXPECT_EQ(o.at("vin"), json::value("1G4AH59H45G118341"));
    EXPECT_EQ(o.at("check_digit").at("expected"), json::value("4"));
    EXPECT_EQ(o.at("check_digit").at("required"), json::value(true));
    EXPECT_EQ(o.at("region"), json::value("North America"));
    EXPECT_EQ(o.at("country"), json::value("United States"));
    EXPECT_EQ(o.at("manufacturer"), json::value("Buick"));
    EXPECT_EQ(o.at("model_year").at("candidates"), (json::value(json::array{2005, 2035})));
    EXPECT_EQ(o.at("model_year").at("selected"), json::value(2005));
    EXPECT_EQ(o.at("rules").as_array().size(), 3U);

    auto bad = call("GET", "/api/v1/vins/1G4AH59H55G118341", alice_).json().as_object();
    EXPECT_EQ(bad.at("valid"), json::value(false));
    EXPECT_EQ(bad.at("error"), json::value("check digit (position 9) is '5', expected '4'"));
    EXPECT_EQ(bad.at("check_digit").at("found"), json::value("5"));
    EXPECT_EQ(call("GET", "/api/v1/vins/" + std::string(65, 'A'), alice_).status, 422);
    EXPECT_EQ(app_->client().get("/api/v1/vins/1G4AH59H45G118341").status, 401);
}

TEST_F(VehiclesTest, CsvImportUpsertsByVinAndReportsRejects) {
    std::string v1 = test_vin(600, "5YJ");
    std::string v2 = test_vin(601, "WBA");
    std::string csv =
        "vin,make,model,description,image_urls,year,fuel_type\n" + v1 +
        ",Tesla,Model 3,\"White, long range\",https://img.example.com/1.jpg|https://img.example.com/2.jpg,"
        "2021,electric\n" +
        v2 + ",BMW,i4,,\"[\"\"https://img.example.com/3.jpg\"\"]\",2022,ELECTRIC\n" +
        "1G4AH59H55G118341,Buick,Century,,,2005,gasoline\n"  // check digit
        "\"unterminated,Buick,Century,,,2005,gasoline\n" +
        test_vin(602, "5YJ") + ",Tesla,,,,2021,electric\n" +  // no model
        test_vin(603, "5YJ") + ",Tesla,Model S,,ftp://x/y.jpg,2021,electric\n" + test_vin(604, "5YJ") +
        ",Tesla,Model S,,,2021\n";  // field count
    vehicles::ImportOptions options;
    options.owner_email = "alice@example.com";
    options.batch_size = 2;  // several batches, including one cut by the rejects
    auto first = vehicles::import_vehicles_csv(app_->app().database(), csv, options);
    EXPECT_EQ(first.rows, 7);
    EXPECT_EQ(first.inserted, 2);
    EXPECT_EQ(first.updated, 0);
    EXPECT_EQ(first.rejected, 5);
    ASSERT_EQ(first.rejects.size(), 5U);
    EXPECT_EQ(first.rejects[0].line, 4);
    EXPECT_EQ(first.rejects[0].reason, "vin: check digit (position 9) is '5', expected '4'");
    EXPECT_EQ(first.rejects[1].line, 5);
    EXPECT_EQ(first.rejects[1].reason, "unterminated quoted field");
    EXPECT_EQ(first.rejects[2].reason, "model: must not be empty");
    EXPECT_EQ(first.rejects[3].reason, "image_urls[0]: must use http or https");
    EXPECT_EQ(first.rejects[4].reason, "expected 7 fields, got 6");

    auto tesla = call("GET", "/api/v1/vehicles/" + v1, alice_);
    ASSERT_EQ(tesla.status, 200);
    EXPECT_EQ(tesla.json().at("description"), json::value("White, long range"));
    EXPECT_EQ(tesla.json().at("image_urls").as_array().size(), 2U);
    EXPECT_EQ(call("GET", "/api/v1/vehicles/" + v2, alice_).json().at("fuel_type"), json::value("electric"));
    EXPECT_EQ(call("GET", "/api/v1/vehicles/" + v1, bob_).status, 404);

    // The same file again changes nothing; an edited row is an update that keeps the owner.
    auto again = vehicles::import_vehicles_csv(app_->app().database(), csv, {});
    EXPECT_EQ(again.inserted, 0);
    EXPECT_EQ(again.unchanged, 2);
    std::string edited =
        "vin,make,model,year\n" + v1 + ",Tesla,Model 3 Highland,2024\n" + v1 + ",Tesla,Model 3 Highland,2024\n";
    auto third = vehicles::import_vehicles_csv(app_->app().database(), edited, {});
    EXPECT_EQ(third.updated, 1);
    EXPECT_EQ(third.unchanged, 0);
    EXPECT_EQ(third.rejected, 1);  // the repeated row: one row per vehicle in a file
    ASSERT_EQ(third.rejects.size(), 1U);
    EXPECT_EQ(third.rejects[0].line, 3);
    EXPECT_EQ(third.rejects[0].reason, "vin: repeats the VIN of line 2 (one row per vehicle in a file)");
    auto after = call("GET", "/api/v1/vehicles/" + v1, alice_).json();
    EXPECT_EQ(after.at("model"), json::value("Model 3 Highland"));
    EXPECT_EQ(after.at("year"), json::value(2024));
    EXPECT_EQ(after.at("description"), json::value("White, long range"));  // column not in the file: kept

    auto limited = vehicles::import_vehicles_csv(
        app_->app().database(), csv, vehicles::ImportOptions{1, {}, 10, {}, false, nullptr});
    EXPECT_EQ(limited.rows, 1);

    EXPECT_THROW(vehicles::import_vehicles_csv(app_->app().database(), "make,model\nA,B\n", {}), std::runtime_error);
    EXPECT_THROW(vehicles::import_vehicles_csv(app_->app().database(), "", {}), std::runtime_error);
    vehicles::ImportOptions nobody;
    nobody.owner_email = "nobody@example.com";
    EXPECT_THROW(vehicles::import_vehicles_csv(app_->app().database(), csv, nobody), std::runtime_error);
}

// A VIN three times (once in lower case) in one file: the first row wins, the others are rejected
// with their lines, not silently applied over it; invalid UTF-8 in a cell rejects its row, and the
// JSON writer cannot emit invalid UTF-8 whatever a row holds.
TEST_F(VehiclesTest, CsvImportOverHttpIsForFleetManagersAndAdminsAndReportsEachRow) {
    auto post = [&](const std::string& token,
                    const std::string& csv,
                    const std::string& query = "",
                    const std::string& type = "text/csv") {
        return app_->client().request("POST",
                                      "/api/v1/vehicles/import" + query,
                                      csv,
                                      {{"Authorization", "Bearer " + token}, {"Content-Type", type}});
    };
    const std::string csv = "vin,make,model,year\n" + test_vin(901) + ",Tesla,Model 3,2021\n" + test_vin(902) +
                            ",Tesla,Model Y,2021\nNOTAVIN,Tesla,Model S,2021\n";
    // Members and support may not; a body that is not CSV is refused; nothing was stored.
    EXPECT_EQ(post(alice_, csv).status, 403);
    EXPECT_EQ(post(support_, csv).status, 403);
    EXPECT_EQ(post("", csv).status, 401);
    EXPECT_EQ(post(fleet_, csv, "", "application/json").status, 415);
    EXPECT_EQ(post(fleet_, csv, "?skip_existing=maybe").status, 422);
    auto no_header = post(fleet_, "just,some\n");
    EXPECT_EQ(no_header.status, 422) << no_header.body;
    EXPECT_EQ(field_errors(no_header).count("file"), 1U);
    EXPECT_EQ(call("GET", "/api/v1/vehicles", admin_).json().at("total"), json::value(0));

    auto first = post(fleet_, csv);
    ASSERT_EQ(first.status, 200) << first.body;
    json::value summary = first.json();
    EXPECT_EQ(summary.at("rows"), json::value(3));
    EXPECT_EQ(summary.at("inserted"), json::value(2));
    EXPECT_EQ(summary.at("rejected"), json::value(1));
    const json::value reject = summary.at("rejects").at(0);
    EXPECT_EQ(reject.at("line"), json::value(4));
    EXPECT_EQ(reject.at("vin"), json::value("NOTAVIN"));
    EXPECT_FALSE(reject.at("reason").as_string().empty());
    EXPECT_EQ(call("GET", "/api/v1/vehicles/" + test_vin(902), admin_).json().at("model"), json::value("Model Y"));

    // Again with a change: updated; with skip_existing: left alone.
    const std::string changed = "vin,make,model\n" + test_vin(901) + ",Tesla,Model 3 Highland\n";
    auto skipped = post(admin_, changed, "?skip_existing=true");
    ASSERT_EQ(skipped.status, 200) << skipped.body;
    EXPECT_EQ(skipped.json().at("skipped"), json::value(1));
    EXPECT_EQ(call("GET", "/api/v1/vehicles/" + test_vin(901), admin_).json().at("model"), json::value("Model 3"));
    auto updated = post(admin_, changed);
    EXPECT_EQ(updated.json().at("updated"), json::value(1));
    EXPECT_EQ(call("GET", "/api/v1/vehicles/" + test_vin(901), admin_).json().at("model"),
              json::value("Model 3 Highland"));
}

TEST_F(VehiclesTest, CsvImportRejectsRepeatedVinsAndInvalidUtf8) {
    const std::string vin = test_vin(700, "1HG");
    std::string lower = vin;
    for (char& c : lower) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    const std::string csv = "vin,make,model\n" + vin + ",Honda,Civic\n" + lower + ",Honda,Accord\n" + vin +
                            ",Honda,Jazz\n" + test_vin(701, "1HG") +
                            ",Hon\xff\xfe"
                            "da,Civic\n" +
                            test_vin(702, "1HG") + ",Honda,Civ\xed\xa0\x80ic\n" + test_vin(703, "1HG") +
                            ",Hon\x01"
                            "da,Civic\n";
    vehicles::ImportOptions options;
    options.owner_email = "alice@example.com";
    auto summary = vehicles::import_vehicles_csv(app_->app().database(), csv, options);
    EXPECT_EQ(summary.rows, 6);
    EXPECT_EQ(summary.inserted, 1);
    EXPECT_EQ(summary.updated, 0);
    EXPECT_EQ(summary.rejected, 5);
    ASSERT_EQ(summary.rejects.size(), 5U);
    EXPECT_EQ(summary.rejects[0].line, 3);
    EXPECT_EQ(summary.rejects[0].reason, "vin: repeats the VIN of line 2 (one row per vehicle in a file)");
    EXPECT_EQ(summary.rejects[1].line, 4);
    EXPECT_EQ(summary.rejects[1].reason, "vin: repeats the VIN of line 2 (one row per vehicle in a file)");
    EXPECT_EQ(summary.rejects[2].reason, "make: must be valid UTF-8");
    EXPECT_EQ(summary.rejects[3].reason, "model: must be valid UTF-8");
    EXPECT_EQ(summary.rejects[4].reason, "make: must not contain control characters");
    auto civic = call("GET", "/api/v1/vehicles/" + vin, alice_);
    ASSERT_EQ(civic.status, 200);
    EXPECT_EQ(civic.json().at("model"), json::value("Civic"));  // the first row, not the last
    EXPECT_EQ(call("GET", "/api/v1/vehicles/" + test_vin(701, "1HG"), alice_).status, 404);

    // Bytes that slipped into a row some other way (SQLite stores what it is given; PostgreSQL
    // refuses invalid UTF-8 itself) still make a valid JSON answer, for the admin's whole page.
    if (app_->app().database().dialect() == db::Dialect::Sqlite) {
        app_->app().database().with_transaction([&](db::Connection& c) {
            c.execute("UPDATE vehicles SET make = $1 WHERE vin = $2",
                      {std::string("Hon\xff\xfe"
                                   "da"),
                       vin});
        });
        auto r = call("GET", "/api/v1/vehicles/" + vin, alice_);
        ASSERT_EQ(r.status, 200);
        EXPECT_EQ(r.body.find('\xff'), std::string::npos);
        EXPECT_EQ(r.json().at("make"),
                  json::value("Hon\xef\xbf\xbd\xef\xbf\xbd"
                              "da"));  // U+FFFD twice
    }
}

TEST_F(VehiclesTest, CsvImportRejectsADongleHeldByAnotherVehicle) {
    auto held = create_vin(alice_, test_vin(700, "5YJ"));
    ASSERT_EQ(call("POST",
                   "/api/v1/vehicles/" + std::string(held.at("id").as_string()) + "/dongle",
                   alice_,
                   json::value(json::object{{"dongle_id", "OBD-1"}, {"connection_type", "BLE"}}))
                  .status,
              200);
    std::string csv = "vin,make,model,dongle_id,connection_type\n" + test_vin(701, "5YJ") +
                      ",Tesla,Model 3,OBD-1,BLE\n" + test_vin(702, "5YJ") + ",Tesla,Model 3,OBD-2,wifi\n" +
                      test_vin(703, "5YJ") + ",Tesla,Model 3,OBD-2,BLE\n" + test_vin(704, "5YJ") +
                      ",Tesla,Model 3,OBD-3,USB\n";
    auto summary = vehicles::import_vehicles_csv(app_->app().database(), csv, {});
    EXPECT_EQ(summary.inserted, 1);
    ASSERT_EQ(summary.rejected, 3);
    EXPECT_EQ(summary.rejects[0].reason, "dongle_id: OBD-1 is linked to another vehicle");
    EXPECT_EQ(summary.rejects[1].reason, "dongle_id: OBD-2 is linked to another vehicle");
    EXPECT_EQ(summary.rejects[2].reason, "connection_type: must be one of BLE, WIFI, CLOUD");
    auto staff = call("GET", "/api/v1/vehicles/" + test_vin(702, "5YJ"), admin_);
    EXPECT_EQ(staff.json().at("connection_type"), json::value("WIFI"));
    EXPECT_TRUE(staff.json().at("owner_id").is_null());  // imported without --owner
}

}  // namespace
}  // namespace motorpool::testing
