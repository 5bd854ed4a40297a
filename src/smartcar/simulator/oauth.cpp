// The simulator's Connect: the authorization page an owner approves, the token endpoint (codes, refresh
// tokens) and the v3 application-token endpoint.

#include "routes.hpp"

namespace motorpool::smartcar::sim::detail {

namespace {

Response authorize_page(const StatePtr& s, const Request& req) {
    auto q = [&](std::string_view name) { return req.query_param(name).value_or(""); };
    const std::string client_id = q("client_id");
    const std::string redirect_uri = q("redirect_uri");
    const std::string state_param = q("state");
    const std::string response_type = q("response_type");
    const std::string mode = q("mode");
    // Errors that must not be redirected (the redirect target itself is in doubt).
    auto page_error = [](int status, const std::string& message) {
        return Response::text(
            "<!doctype html><title>Smartcar Connect</title><h1>Error</h1><p>" + html_escape(message) + "</p>",
            "text/html; charset=utf-8",
            status);
    };
    const auto& o = s->options;
    if (client_id != o.client_id) {
        return page_error(400, "Invalid client_id.");
    }
    bool registered = std::find(o.redirect_uris.begin(), o.redirect_uris.end(), redirect_uri) != o.redirect_uris.end();
    if (redirect_uri.empty() || (!registered && !is_local_redirect(redirect_uri))) {
        return page_error(400, "Invalid redirect_uri: it is not registered for this application.");
    }
    if (response_type != "code") {
        return page_error(400, "Invalid response_type: expected code.");
    }
    if (!mode.empty() && mode != "live" && mode != "test" && mode != "simulated") {
        return page_error(400, "Invalid mode: expected live, test or simulated.");
    }
    std::vector<std::string> scopes;
    for (auto& scope : split_spaces(q("scope"))) {
        if (scope.rfind("required:", 0) == 0) {
            scope.erase(0, 9);
        }
        if (std::find(kAllScopes.begin(), kAllScopes.end(), scope) == kAllScopes.end()) {
            return page_error(400, "Invalid scope: " + scope + ".");
        }
        if (std::find(scopes.begin(), scopes.end(), scope) == scopes.end()) {
            scopes.push_back(scope);
        }
    }
    if (scopes.empty()) {
        scopes = kAllScopes;  // the application's default permissions
    }
    const char sep = redirect_uri.find('?') == std::string::npos ? '?' : '&';
    auto redirect = [&](const std::string& query) {
        Response r;
        r.status = 302;
        r.header("Location", redirect_uri + sep + query);
        r.header("Cache-Control", "no-store");
        return r;
    };
    const std::string state_suffix = state_param.empty() ? "" : "&state=" + core::percent_encode(state_param);
    const std::string approve = q("approve");
    if (approve == "false") {
        return redirect("error=access_denied&error_description=" +
                        core::percent_encode("User denied access to application.") + state_suffix);
    }
    if (auto forced = req.query_param("sim_error")) {
        // Test hook: Connect's other outcomes (no_vehicles, vehicle_incompatible, server_error, ...).
        std::string query = "error=" + core::percent_encode(*forced) +
                            "&error_description=" + core::percent_encode("Simulated Connect outcome: " + *forced + ".");
        if (*forced == "vehicle_incompatible") {
            query += "&vin=0SCAUDI012FE3B132&make=AUDI&model=A4&year=2019";
        }
        return redirect(query + state_suffix);
    }
    const std::int64_t now = s->now();
    std::lock_guard lock(s->mutex);
    Owner* owner = nullptr;
    if (auto id = req.query_param("sim_user"); id) {
        auto it = s->owners.find(*id);
        if (it == s->owners.end() || !it->second.pending) {
            return page_error(400, "This Connect session has expired; start again.");
        }
        owner = &it->second;
    }
    if (owner == nullptr) {
        owner = &s->create_owner(now, core::to_upper_ascii(q("make")));
        if (auto vin = req.query_param("single_select_vin"); vin && vin->size() == 17) {
            owner->vehicles.insert(owner->vehicles.begin(), s->create_vehicle(now, core::to_upper_ascii(*vin)));
        }
    }
    std::vector<std::string> selected = owner->vehicles;
    if (auto vin = req.query_param("single_select_vin"); vin) {
        std::erase_if(selected,
                      [&](const std::string& id) { return !core::iequals(s->vehicles.at(id)->spec().vin, *vin); });
    } else if (q("single_select") == "true") {
        selected.resize(std::min<std::size_t>(selected.size(), 1));
    }
    if (approve != "true") {
        std::string page =
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Smartcar Connect (simulated)</title>"
            "</head><body><h1>Connect your vehicle</h1><p>Simulated Smartcar account " +
            html_escape(owner->id) + " grants access to:</p><ul>";
        for (const auto& id : selected) {
            const auto& spec = s->vehicles.at(id)->spec();
            page += "<li>" + html_escape(std::to_string(spec.year) + " " + spec.make + " " + spec.model) + " (VIN " +
                    html_escape(spec.vin) + ")</li>";
        }
        page += "</ul><p>Permissions: " + html_escape([&] {
                    std::string joined;
                    for (const auto& sc : scopes) {
                        joined += (joined.empty() ? "" : ", ") + sc;
                    }
                    return joined;
                }()) +
                "</p>";
        const std::string base = req.path + "?" + req.query + "&sim_user=" + core::percent_encode(owner->id);
        page += "<p><a id=\"approve\" href=\"" + html_escape(base + "&approve=true") +
                "\">Approve</a> <a id=\"deny\" href=\"" + html_escape(base + "&approve=false") +
                "\">Deny</a></p></body></html>";
        return Response::text(std::move(page), "text/html; charset=utf-8");
    }
    if (selected.empty()) {
        return redirect("error=no_vehicles&error_description=" +
                        core::percent_encode("No vehicles were found on this connected services account.") +
                        state_suffix);
    }
    owner->pending = false;
    s->touch();
    auto grant = std::make_shared<Grant>();
    grant->user_id = owner->id;
    grant->vehicles = selected;
    grant->scopes = scopes;
    grant->connected_at_ms = now;
    std::string code = s->new_id();
    s->codes[code] = {grant, redirect_uri, now + s->options.code_ttl.count() * 1000, false};
    return redirect("code=" + code + state_suffix);
}

Response token_endpoint(const StatePtr& s, const Request& req) {
    auto credentials = basic_credentials(req);
    const auto& o = s->options;
    if (!credentials || credentials->first != o.client_id ||
        !core::constant_time_equal(credentials->second, o.client_secret)) {
        return oauth_error(401, "invalid_client", "Invalid client credentials.");
    }
    auto content_type = req.header("Content-Type").value_or("");
    if (content_type.find("application/x-www-form-urlencoded") == std::string_view::npos) {
        return oauth_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded.");
    }
    auto form = parse_form(req.body);
    const std::string grant_type = form["grant_type"];
    const std::int64_t now = s->now();
    std::lock_guard lock(s->mutex);
    if (auto fault = s->take_token_fault()) {
        return oauth_error(500, "server_error", "Simulated token endpoint failure.");
    }
    std::shared_ptr<Grant> grant;
    if (grant_type == "authorization_code") {
        const std::string code = form["code"];
        auto it = s->codes.find(code);
        if (it == s->codes.end() || it->second.expires_at_ms <= now) {
            return oauth_error(400, "invalid_grant", "Invalid or expired authorization code.");
        }
        if (it->second.used) {
            it->second.grant->revoked = true;  // a replayed code revokes what it granted (RFC 6749 §4.1.2)
            s->touch();
            return oauth_error(400, "invalid_grant", "Invalid or expired authorization code.");
        }
        if (form["redirect_uri"] != it->second.redirect_uri) {
            return oauth_error(400, "invalid_grant", "Unauthorized redirect_uri: " + form["redirect_uri"]);
        }
        it->second.used = true;
        grant = it->second.grant;
    } else if (grant_type == "refresh_token") {
        const std::string token = form["refresh_token"];
        auto it = s->refresh_tokens.find(token);
        // A used refresh token still works for one minute (the race window Smartcar documents).
        if (it == s->refresh_tokens.end() || it->second.expires_at_ms <= now || it->second.grant->revoked ||
            (it->second.used_at_ms && *it->second.used_at_ms + 60'000 <= now)) {
            // As Smartcar answers: the text never echoes the token it was given.
            return oauth_error(400, "invalid_grant", "Invalid or expired refresh token.");
        }
        if (!it->second.used_at_ms) {
            it->second.used_at_ms = now;
        }
        grant = it->second.grant;
    } else {
        return oauth_error(400, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token.");
    }
    auto [access, refresh] = s->issue_tokens(grant, now);
    Response r = Response::json_text(core::to_json_text(json::object{{"access_token", access},
                                                                     {"token_type", "Bearer"},
                                                                     {"expires_in", o.access_ttl.count()},
                                                                     {"refresh_token", refresh}}));
    r.header("Cache-Control", "no-store");
    return r;
}

Response iam_token_endpoint(const StatePtr& s, const Request& req) {
    auto form = parse_form(req.body);
    std::string id = form["client_id"];
    std::string secret = form["client_secret"];
    if (auto basic = basic_credentials(req)) {
        id = basic->first;
        secret = basic->second;
    }
    if (form["grant_type"] != "client_credentials") {
        return oauth_error(400, "invalid_request", "grant_type must be client_credentials.");
    }
    if (id != s->options.client_id || !core::constant_time_equal(secret, s->options.client_secret)) {
        return oauth_error(401, "invalid_client", "Invalid client credentials.");
    }
    std::lock_guard lock(s->mutex);
    std::string token = s->new_id();
    s->app_tokens[token] = s->now() + 3'600'000;
    s->touch();
    return Response::json_text(
        core::to_json_text(json::object{{"access_token", token}, {"token_type", "Bearer"}, {"expires_in", 3600}}));
}

}  // namespace

void install_oauth_routes(http::Router& router, const std::string& p, const StatePtr& s) {
    add_both(router, http::Method::Get, p + "/oauth/authorize", [s](Request req) -> net::awaitable<Response> {
        co_return authorize_page(s, req);
    });
    add_both(router, http::Method::Post, p + "/oauth/token", [s](Request req) -> net::awaitable<Response> {
        Response r = token_endpoint(s, req);
        {
            // In the request log too: tests count token grants (one refresh across nodes).
            std::lock_guard lock(s->mutex);
            s->record(req, "", r.status);
        }
        co_return r;
    });
    add_both(router, http::Method::Post, p + "/oauth2/token", [s](Request req) -> net::awaitable<Response> {
        co_return iam_token_endpoint(s, req);
    });
}

}  // namespace motorpool::smartcar::sim::detail
