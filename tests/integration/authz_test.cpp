// Object- and function-level authorisation (OWASP API1 and API5, 2023) walked over the route table:
// every route with a path parameter is called by another member (Bob) with the ids of Alice's rows
// and must answer as its entry in kPolicies says: 404 (the row is not his: never a hint that it
// exists), 403 (his role may not), or exempt, with the reason. A route with a path parameter and
// no entry fails the test, so whoever adds one decides here what a stranger gets. Alice, the
// owner, reads each of her rows through the same routes (the ids are real). Runs on every backend.

#include <functional>
#include <map>
#include <regex>
#include <set>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "core/time.hpp"
#include "harness.hpp"
#include "ocpp_client.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

enum class Stranger { NotFound, Forbidden, Exempt };

struct Policy {
    const char* method;
    const char* pattern;
    Stranger stranger;
    /// Exempt: why no ownership applies. Otherwise: the owner may get 404 too (a view with no data).
    const char* note = "";
};

constexpr Stranger kNotFound = Stranger::NotFound;
constexpr Stranger kForbidden = Stranger::Forbidden;
constexpr Stranger kExempt = Stranger::Exempt;

// What another member gets on each route with a path parameter.
const std::vector<Policy> kPolicies = {
    {"PATCH", "/api/v1/users/{id}", kForbidden},
    {"GET", "/api/v1/vehicles/{id}", kNotFound},
    {"PATCH", "/api/v1/vehicles/{id}", kNotFound},
    {"DELETE", "/api/v1/vehicles/{id}", kNotFound},
    {"POST", "/api/v1/vehicles/{id}/dongle", kNotFound},
    {"DELETE", "/api/v1/vehicles/{id}/dongle", kNotFound},
    {"GET", "/api/v1/vins/{vin}", kExempt, "decodes the VIN it is given; no stored row"},
    {"POST", "/api/v1/vehicles/{id}/telemetry", kNotFound},
    {"GET", "/api/v1/vehicles/{id}/signals", kNotFound},
    {"GET", "/api/v1/vehicles/{id}/signals/{code}/history", kNotFound},
    {"GET", "/api/v1/vehicles/{id}/location", kNotFound},
    {"GET", "/api/v1/vehicles/{id}/battery", kNotFound, "owner-404"},
    {"GET", "/api/v1/vehicles/{id}/odometer", kNotFound},
    {"GET", "/api/v1/vehicles/{id}/charge", kNotFound, "owner-404"},
    {"GET", "/api/v1/vehicles/{id}/charge-limits", kNotFound, "owner-404"},
    {"GET", "/api/v1/vehicles/{id}/all", kNotFound},
    {"GET", "/api/v1/vehicles/{id}/service-history", kNotFound},
    {"GET", "/api/v1/connections/{id}", kNotFound},
    {"DELETE", "/api/v1/connections/{id}", kNotFound},
    {"GET", "/api/v1/fleet/vehicles/{id}", kForbidden},
    {"GET", "/api/v1/grid/clusters/{id}", kForbidden},
    {"PATCH", "/api/v1/grid/clusters/{id}", kForbidden},
    {"GET", "/api/v1/grid/clusters/{id}/price", kExempt, "a site's public tariff, which drivers read to plan"},
    {"GET", "/api/v1/chargers/{id}", kForbidden},
    {"PATCH", "/api/v1/chargers/{id}", kForbidden},
    {"POST", "/api/v1/chargers/{id}/ocpp/{action}", kForbidden},
    {"POST", "/api/v1/chargers/{id}/password", kForbidden},
    {"GET", "/api/v1/charging/sessions/{id}", kNotFound},
    {"GET", "/api/v1/charging/id-tags/{id}", kNotFound},
    {"PATCH", "/api/v1/charging/id-tags/{id}", kForbidden},
    {"DELETE", "/api/v1/charging/id-tags/{id}", kForbidden},
    {"GET", "/api/v1/charging/slot-requests/{id}", kNotFound},
    {"POST", "/api/v1/charging/slot-requests/{id}/cancel", kNotFound},
    {"GET", "/api/v1/charging/emergency-requests/{id}", kNotFound},
    {"POST", "/api/v1/charging/emergency-requests/{id}/approve", kForbidden},
    {"POST", "/api/v1/charging/emergency-requests/{id}/reject", kForbidden},
    {"PATCH", "/api/v1/services/{code}", kForbidden},
    {"GET", "/api/v1/locations/{id}", kExempt, "service locations are public (members book at them)"},
    {"PATCH", "/api/v1/locations/{id}", kForbidden},
    {"GET", "/api/v1/locations/{id}/closures", kExempt, "a location's closed days are public"},
    {"POST", "/api/v1/locations/{id}/closures", kForbidden},
    {"DELETE", "/api/v1/locations/{id}/closures/{date}", kForbidden},
    {"GET", "/api/v1/appointments/{id}", kNotFound},
    {"POST", "/api/v1/appointments/{id}/cancel", kNotFound},
    {"POST", "/api/v1/appointments/{id}/reschedule", kNotFound},
    {"POST", "/api/v1/appointments/{id}/status", kForbidden},
    {"PATCH", "/api/v1/memberships/plans/{code}", kForbidden},
    {"GET", "/api/v1/offers/{id}", kExempt, "an offer is published to every member of its plans"},
    {"PATCH", "/api/v1/offers/{id}", kForbidden},
    {"POST", "/api/v1/offers/{id}/redeem", kExempt, "redeeming is the caller's own act, on their own appointment"},
    {"GET", "/api/v1/files/{id}", kNotFound},
    {"DELETE", "/api/v1/files/{id}", kNotFound},
    {"POST", "/api/v1/files/{id}/complete", kNotFound},
    {"GET",
     "/api/v1/files/{id}/content",
     kExempt,
     "a signed URL is the credential (files_test forges and expires them)"},
    {"PUT",
     "/api/v1/files/{id}/content",
     kExempt,
     "a signed URL is the credential (files_test forges and expires them)"},
    {"GET", "/api/v1/chat/threads/{id}", kNotFound},
    {"PATCH", "/api/v1/chat/threads/{id}", kNotFound},
    {"POST", "/api/v1/chat/threads/{id}/close", kNotFound},
    {"POST", "/api/v1/chat/threads/{id}/reopen", kNotFound},
    {"GET", "/api/v1/chat/threads/{id}/messages", kNotFound},
    {"POST", "/api/v1/chat/threads/{id}/messages", kNotFound},
    {"POST", "/api/v1/chat/threads/{id}/read", kNotFound},
    {"DELETE", "/api/v1/me/devices/{device_id}", kNotFound},
    {"GET",
     "/ocpp/{chargePointId}",
     kExempt,
     "charge points authenticate with their own Basic credentials (ocpp_test)"},
    // The original services' surfaces (MOTORPOOL_COMPAT, mounted under /c/<surface> here): they
    // forward to the routes above with the caller's principal and must keep their answers.
    {"GET", "/c/sw/api/vehicle/{vehicle_id}/location", kNotFound},
    {"GET", "/c/sw/api/vehicle/{vehicle_id}/battery", kNotFound, "owner-404"},
    {"GET", "/c/sw/api/vehicle/{vehicle_id}/odometer", kNotFound},
    {"GET", "/c/sw/api/vehicle/{vehicle_id}/charge-limits", kNotFound, "owner-404"},
    {"GET", "/c/sw/api/vehicle/{vehicle_id}/all", kNotFound},
    {"GET", "/c/sw/api/vehicle/{vehicle_id}/latest-signals", kNotFound},
    {"POST", "/c/ma/api/vehicles/{id}/link-dongle/", kNotFound},
    {"POST", "/c/ma/api/telematics/{vehicleId}/", kNotFound},
    {"GET", "/c/ma/api/chat/threads/{id}/messages/", kNotFound},
    {"POST", "/c/ma/api/chat/threads/{id}/messages/", kNotFound},
    {"GET", "/c/cb/fleet/vehicle/{id}", kForbidden},
    {"GET", "/c/cb/fleet/vehicles/{id}", kForbidden},
    {"GET", "/c/vc/api/vehicles/{vin}", kExempt, "the public vehicle catalog (MOTORPOOL_COMPAT_CATALOG_PUBLIC)"},
};

// A valid body where an empty one would be refused before the row is looked up (a 422 that says
// nothing about the row): the ownership check is what answers.
const std::map<std::string, std::string> kBodies = {
    {"POST /api/v1/vehicles/{id}/dongle", R"({"dongle_id":"BOB-DONGLE","connection_type":"BLE"})"},
    {"POST /api/v1/appointments/{id}/reschedule", R"({"start_time":"2030-01-01T10:00:00Z"})"},
    {"POST /api/v1/chat/threads/{id}/messages", R"({"body":"hello"})"},
    {"POST /c/ma/api/chat/threads/{id}/messages/", R"({"body":"hello"})"},
    {"POST /c/ma/api/vehicles/{id}/link-dongle/", R"({"dongle_id":"BOB-DONGLE","connection_type":"BLE"})"},
};

bool simulator_route(const std::string& pattern) {
    return pattern.rfind("/sim/", 0) == 0;  // Smartcar's simulated API: Smartcar's own credentials
}

class AuthorizationTest : public ::testing::Test {
protected:
    void SetUp() override {
        app_ = std::make_unique<TestApp>(
            Overrides{{"MOTORPOOL_OCPP_CALL_TIMEOUT", "1s"},
                      {"MOTORPOOL_COMPAT",
                       "smartcar-integration@/c/si,smartcar-webhooks@/c/sw,membership-auto@/c/ma,"
                       "charging-balancer@/c/cb,vehicle-catalog@/c/vc"}});
        admin_ = create_user_and_login(*app_, "admin@example.com", auth::Role::Admin).token;
        alice_ = register_member(*app_, "alice@example.com");
        bob_ = register_member(*app_, "bob@example.com");
    }

    json::value ok(const std::string& method,
                   const std::string& path,
                   const std::string& token,
                   json::object body,
                   int expected = 201) {
        auto r = call(*app_, method, path, token, json::value(std::move(body)));
        EXPECT_EQ(r.status, expected) << method << " " << path << ": " << r.body;
        return r.status == expected ? r.json() : json::value();
    }
    static std::string id_of(const json::value& v, const char* field = "id") {
        return v.is_object() && v.as_object().contains(field) ? std::string(v.at(field).as_string()) : "missing";
    }

    /// Alice's rows, one of each kind a route names, and the values of the other parameters.
    void make_rows() {
        const std::int64_t now = core::now_ms();
        ids_["vehicles"] = id_of(ok("POST",
                                    "/api/v1/vehicles",
                                    alice_.token,
                                    {{"vin", test_vin(1)}, {"make", "Kia"}, {"model", "EV6"}, {"year", 2022}}));
        const std::string vehicle = ids_["vehicles"];
        ok("POST",
           "/api/v1/vehicles/" + vehicle + "/telemetry",
           alice_.token,
           {{"samples",
             json::array{json::object{{"t_ms", now - 1000},
                                      {"speed_kmh", 50},
                                      {"odometer_km", 1200},
                                      {"latitude", 52.5},
                                      {"longitude", 13.4}}}}},
           202);
        ids_["fleet"] = vehicle;
        ids_["vehicle"] = vehicle;  // the charging balancer's /fleet/vehicle/{id}
        ids_["users"] = alice_.id;

        auto connected = connect_smartcar(*app_, alice_.token);
        EXPECT_EQ(connected.status, 200) << connected.body;
        ids_["connections"] = connected.status == 200 ? id_of(connected.json(), "connection_id") : "missing";
        // The webhook server's routes name vehicles by Smartcar's id.
        names_["vehicle_id"] =
            connected.status == 200 ? id_of(connected.json().at("vehicles").at(0), "smartcar_vehicle_id") : "missing";
        names_["vehicleId"] = vehicle;

        // Charging: a site, a cluster, a charger; Alice's card, a session on it, a request, an emergency.
        auto site = ok("POST", "/api/v1/grid/sites", admin_, {{"name", "Depot"}, {"time_zone", "Europe/Berlin"}});
        ids_["clusters"] = id_of(ok("POST",
                                    "/api/v1/grid/clusters",
                                    admin_,
                                    {{"name", "Depot"}, {"capacity_kw", 22}, {"site_id", site.at("id")}}));
        auto charger = ok("POST",
                          "/api/v1/chargers",
                          admin_,
                          {{"id", "CP-1"}, {"max_power_kw", 22}, {"connectors", 2}, {"cluster_id", ids_["clusters"]}});
        ids_["chargers"] = "CP-1";
        ids_["id-tags"] =
            id_of(ok("POST", "/api/v1/charging/id-tags", admin_, {{"id_tag", "RFID-ALICE"}, {"user_id", alice_.id}}));
        {
            OcppClient cp(app_->port(), {"CP-1", std::string(charger.at("ocpp_password").as_string())});
            EXPECT_TRUE(
                cp.call("BootNotification", json::object{{"chargePointVendor", "Acme"}, {"chargePointModel", "V"}}));
            auto started = cp.call("StartTransaction",
                                   json::object{{"connectorId", 1},
                                                {"idTag", "RFID-ALICE"},
                                                {"meterStart", 0},
                                                {"timestamp", core::format_rfc3339(now)}});
            EXPECT_TRUE(started && (*started)[0] == 3) << (started ? json::serialize(*started) : "no answer");
        }
        auto sessions = call(*app_, "GET", "/api/v1/charging/sessions", alice_.token);
        const json::value session_page = sessions.json();
        ids_["sessions"] =
            session_page.at("items").as_array().empty() ? "missing" : id_of(session_page.at("items").at(0));
        ids_["slot-requests"] = id_of(ok("POST",
                                         "/api/v1/charging/slot-requests",
                                         alice_.token,
                                         {{"vehicle_id", vehicle},
                                          {"cluster_id", ids_["clusters"]},
                                          {"energy_kwh", 20},
                                          {"departure_time", core::format_rfc3339(now + 4 * 3'600'000)}}));
        ids_["emergency-requests"] = id_of(ok("POST",
                                              "/api/v1/charging/emergency-requests",
                                              alice_.token,
                                              {{"vehicle_id", vehicle}, {"reason", "Night shift in an hour"}}));

        // Booking: a service, a location open every day, Alice's appointment at its first free slot.
        ok("POST",
           "/api/v1/services",
           admin_,
           {{"code", "oil_change"}, {"name", "Oil"}, {"duration_min", 30}, {"price_cents", 4900}});
        json::array day{
            json::value(json::array{"00:00", "23:59"})};  // one window (json::value: not a copy under clang)
        json::object hours;
        for (const char* d : {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}) {
            hours[d] = day;
        }
        ids_["locations"] = id_of(ok("POST",
                                     "/api/v1/locations",
                                     admin_,
                                     {{"name", "Berlin"},
                                      {"latitude", 52.5},
                                      {"longitude", 13.4},
                                      {"time_zone", "UTC"},
                                      {"bays", 2},
                                      {"opening_hours", hours},
                                      {"services", json::array{"oil_change"}}}));
        const std::string tomorrow = core::format_rfc3339(now + 86'400'000).substr(0, 10);
        auto slots = call(*app_,
                          "GET",
                          "/api/v1/appointments/availability?location_id=" + ids_["locations"] + "&date=" + tomorrow +
                              "&services=oil_change",
                          alice_.token);
        const json::value free = slots.json();
        EXPECT_FALSE(free.at("available_slots").as_array().empty()) << slots.body;
        ids_["appointments"] = id_of(ok("POST",
                                        "/api/v1/appointments",
                                        alice_.token,
                                        {{"vehicle_id", vehicle},
                                         {"location_id", ids_["locations"]},
                                         {"start_time", free.at("available_slots").at(0).at("start")},
                                         {"services", json::array{"oil_change"}}}));
        names_["date"] = tomorrow;

        // Membership: a plan and an offer.
        ok("POST", "/api/v1/memberships/plans", admin_, {{"code", "basic"}, {"name", "Basic"}, {"price_cents", 900}});
        names_["code"] = "oil_change";  // services/{code}; plans/{code} and signals/{code} below
        ids_["offers"] = id_of(ok("POST",
                                  "/api/v1/offers",
                                  admin_,
                                  {{"title", "Spring check"},
                                   {"description", "Half price"},
                                   {"terms", "Once"},
                                   {"expires_at", core::format_rfc3339(now + 30 * 86'400'000LL)},
                                   {"eligible_plans", json::array{"basic"}},
                                   {"location_ids", json::array{}}}));

        // A file, a support thread, a device.
        auto presigned = ok(
            "POST",
            "/api/v1/files/presign",
            alice_.token,
            {{"filename", "a.txt"}, {"content_type", "text/plain"}, {"size_bytes", 3}, {"purpose", "chat_attachment"}});
        ids_["files"] = id_of(presigned, "file_id");
        ids_["threads"] = id_of(ok("POST", "/api/v1/chat/threads", alice_.token, {{"subject", "A question"}}));
        ok("POST", "/api/v1/me/devices", alice_.token, {{"device_id", "alice-phone"}, {"platform", "ios"}});
        names_["device_id"] = "alice-phone";
        names_["action"] = "Reset";
        names_["vin"] = test_vin(1);
        names_["chargePointId"] = "CP-1";
    }

    /// The path for `pattern` with Alice's ids: {id} by the collection before it, others by name.
    std::string path_for(const std::string& pattern) {
        static const std::regex param(R"(\{([A-Za-z_]+)\})");
        std::string out;
        std::string collection;
        std::size_t last = 0;
        for (std::sregex_iterator it(pattern.begin(), pattern.end(), param), end; it != end; ++it) {
            const std::string before = pattern.substr(last, static_cast<std::size_t>(it->position()) - last);
            out += before;
            const auto slash = out.find_last_of('/', out.size() - 2);
            collection = out.substr(slash + 1, out.size() - slash - 2);
            const std::string name = (*it)[1];
            std::string value;
            if (name == "id") {
                value = ids_.count(collection) ? ids_[collection] : "no-collection-" + collection;
            } else if (name == "code") {
                value = collection == "signals" ? "Motion.Speed" : collection == "plans" ? "basic" : names_["code"];
            } else {
                value = names_.count(name) ? names_[name] : "no-value-" + name;
            }
            out += value;
            last = static_cast<std::size_t>(it->position() + it->length());
        }
        return out + pattern.substr(last);
    }

    std::unique_ptr<TestApp> app_;
    std::string admin_;
    ApiUser alice_, bob_;
    std::map<std::string, std::string> ids_;
    std::map<std::string, std::string> names_;
};

TEST_F(AuthorizationTest, AnotherMemberGetsNothingOnEveryRouteWithAnId) {
    make_rows();
    ASSERT_FALSE(::testing::Test::HasFailure()) << "the rows Alice owns could not be made";
    std::set<std::string> walked;
    for (const auto& [method, pattern] : app_->app().router().routes()) {
        if (pattern.find('{') == std::string::npos || simulator_route(pattern)) {
            continue;
        }
        const std::string name = http::method_name(method);
        const Policy* policy = nullptr;
        for (const auto& p : kPolicies) {
            if (name == p.method && pattern == p.pattern) {
                policy = &p;
            }
        }
        if (policy == nullptr) {
            ADD_FAILURE() << name << " " << pattern
                          << " has a path parameter and no entry in kPolicies (authz_test.cpp): say what another "
                             "member gets there, and make it so";
            continue;
        }
        walked.insert(name + " " + pattern);
        if (policy->stranger == kExempt) {
            continue;
        }
        const std::string path = path_for(pattern);
        const bool read = name == "GET";
        std::optional<json::value> body;
        if (!read) {
            auto given = kBodies.find(name + " " + pattern);
            body = given == kBodies.end() ? json::value(json::object{}) : json::parse(given->second);
        }
        auto bob = call(*app_, name, path, bob_.token, body);
        const int expected = policy->stranger == kNotFound ? 404 : 403;
        EXPECT_EQ(bob.status, expected) << name << " " << path << " as another member: " << bob.body;
        if (read && policy->stranger == kNotFound) {
            auto alice = call(*app_, name, path, alice_.token);
            const bool may_404 = std::string(policy->note) == "owner-404";
            EXPECT_TRUE(alice.status == 200 || (may_404 && alice.status == 404))
                << name << " " << path << " as its owner: " << alice.status << " " << alice.body;
        }
    }
    // Every entry names a route that exists (a renamed route leaves no stale, unchecked entry).
    for (const auto& p : kPolicies) {
        EXPECT_TRUE(walked.count(std::string(p.method) + " " + p.pattern))
            << p.method << " " << p.pattern << " is no route";
    }
    // Nothing of Alice's was changed or removed by Bob's attempts.
    EXPECT_EQ(call(*app_, "GET", "/api/v1/vehicles/" + ids_["vehicles"], alice_.token).status, 200);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/chat/threads/" + ids_["threads"], alice_.token).json().at("status"),
              json::value("open"));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/appointments/" + ids_["appointments"], alice_.token).json().at("status"),
              json::value("booked"));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/me/devices", alice_.token).json().at("items").as_array().size(), 1U);
}

// Lists that are bounded by nature (a catalog, a user's own few rows), not paged: the walk below
// lets them answer without page_size. Any other list must page and cap page_size (OWASP API4).
const std::set<std::string> kUnpagedLists = {
    "/api/v1/signals",                 // the signal catalog
    "/api/v1/connections",             // a user's Smartcar connections
    "/api/v1/me/devices",              // a user's devices
    "/api/v1/memberships/plans",       // the plans on offer
    "/api/v1/services",                // the service catalogue
    "/api/v1/memberships/me/charges",  // a member's charges (one a period)
    "/api/v1/charging/status",         // the caller's current and recent sessions
};

// Mass assignment (OWASP API3): a field a caller may not set, sent beside fields they may, never
// takes effect: the request is refused (422 naming the field, or 403), or the field is read past
// (server-set fields a client may echo back). Each case then checks the value it tried to set.
TEST_F(AuthorizationTest, FieldsACallerMayNotSetNeverTakeEffect) {
    make_rows();
    ASSERT_FALSE(::testing::Test::HasFailure()) << "the rows could not be made";
    const std::string vehicle = "/api/v1/vehicles/" + ids_["vehicles"];
    const std::string messages = "/api/v1/chat/threads/" + ids_["threads"] + "/messages";
    auto me = [&] { return call(*app_, "GET", "/api/v1/me", alice_.token).json(); };
    auto owner = [&] { return call(*app_, "GET", vehicle, alice_.token).json().at("owner_id"); };
    const json::value alice_owner = owner();
    struct Case {
        std::string method, path;
        json::object body;  // allowed fields and one forbidden
        std::string field;
        std::function<void(const http::ClientResponse&)> unchanged;
    };
    const std::vector<Case> cases{
        {"PATCH",
         "/api/v1/me",
         {{"name", "Alice A."}, {"role", "admin"}},
         "role",
         [&](const auto&) { EXPECT_EQ(me().at("role"), json::value("member")); }},
        {"PATCH",
         "/api/v1/me",
         {{"name", "Alice B."}, {"active", false}},
         "active",
         [&](const auto&) { EXPECT_EQ(call(*app_, "GET", "/api/v1/me", alice_.token).status, 200); }},
        {"PATCH",
         "/api/v1/me",
         {{"name", "Alice C."}, {"email", "mallory@example.com"}},
         "email",
         [&](const auto&) { EXPECT_EQ(me().at("email"), json::value("alice@example.com")); }},
        {"PATCH",
         vehicle,
         {{"model", "EV6 GT"}, {"owner_id", bob_.id}},
         "owner_id",
         [&](const auto&) { EXPECT_EQ(owner(), alice_owner); }},
        {"PATCH",
         vehicle,
         {{"model", "EV6 GT"}, {"id", "another"}, {"created_at", "2000-01-01T00:00:00Z"}},
         "id",
         [&](const auto& r) {
             EXPECT_EQ(call(*app_, "GET", vehicle, alice_.token).json().at("id"), json::value(ids_["vehicles"]));
             EXPECT_EQ(r.body.find("2000-01-01"), std::string::npos) << r.body;
         }},
        {"POST",
         "/api/v1/vehicles",
         {{"vin", test_vin(98)}, {"make", "Kia"}, {"model", "Niro"}, {"owner_id", bob_.id}},
         "owner_id",
         [&](const auto& r) {
             if (r.status == 201) {
                 EXPECT_EQ(r.json().at("owner_id"), alice_owner) << r.body;
             }
         }},
        {"POST",
         messages,
         {{"body", "hello"}, {"sender_role", "support"}},
         "sender_role",
         [&](const auto&) {
             const json::value listed = call(*app_, "GET", messages, alice_.token).json();
             for (const auto& m : listed.at("items").as_array()) {
                 EXPECT_EQ(m.at("sender_role"), json::value("member"));
             }
         }},
    };
    for (const auto& c : cases) {
        auto r = call(*app_, c.method, c.path, alice_.token, json::value(c.body));
        SCOPED_TRACE(c.method + " " + c.path + " with " + c.field + ": " + std::to_string(r.status) + " " + r.body);
        EXPECT_TRUE(r.status == 422 || r.status == 403 || r.status == 200 || r.status == 201);
        if (r.status == 422) {
            EXPECT_NE(r.body.find("\"" + c.field + "\""), std::string::npos);
        }
        c.unchanged(r);
    }
    auto registered = app_->client().post_json(
        "/api/v1/auth/register",
        json::object{
            {"name", "Eve"}, {"email", "eve@example.com"}, {"password", "correct horse battery"}, {"role", "admin"}});
    if (registered.status == 201) {
        EXPECT_EQ(registered.json().at("user").at("role"), json::value("member"));
    } else {
        EXPECT_EQ(registered.status, 422) << registered.body;
    }
}

// Every list answers at most 100 rows a page: page_size above 100 is refused (422) or capped,
// whoever asks (an admin sees every row). Walks every GET route of the router without a path
// parameter under /api/v1.
TEST_F(AuthorizationTest, EveryListCapsItsPageSize) {
    make_rows();
    ASSERT_FALSE(::testing::Test::HasFailure()) << "the rows could not be made";
    int lists = 0;
    for (const auto& [method, pattern] : app_->app().router().routes()) {
        if (method != http::Method::Get || pattern.find('{') != std::string::npos ||
            pattern.rfind("/api/v1/", 0) != 0 || pattern == "/api/v1/ws") {
            continue;
        }
        auto r = call(*app_, "GET", pattern + "?page_size=101", admin_);
        if (r.status == 422) {
            // page_size refused; any other 422 names a parameter the route needs (not a plain list).
            lists += r.body.find("\"page_size\"") != std::string::npos ? 1 : 0;
            continue;
        }
        if (r.status != 200 || r.body.empty() || r.body.front() != '{') {
            continue;  // not a list (or a query it needs: e.g. availability without a location)
        }
        const json::value body = r.json();
        const auto* items = body.as_object().if_contains("items");
        if (items == nullptr) {
            continue;
        }
        ++lists;
        const auto* size = body.as_object().if_contains("page_size");
        if (size == nullptr) {
            EXPECT_TRUE(kUnpagedLists.count(pattern)) << pattern << " lists rows without paging them";
            continue;
        }
        EXPECT_LE(size->to_number<std::int64_t>(), 100) << pattern;
        EXPECT_LE(items->as_array().size(), 100U) << pattern;
    }
    EXPECT_GE(lists, 20) << "the walk found too few lists to mean anything";
}

}  // namespace
}  // namespace motorpool::testing
