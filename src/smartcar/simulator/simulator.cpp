// The Smartcar simulator: its shared state (state.hpp), faults, the request log, snapshots for
// restarts, and the routes of each part (oauth.cpp, vehicle_api.cpp, signals_v3.cpp,
// management.cpp) plus its administration. Facts it follows: shared/design/SMARTCAR.md.

#include "routes.hpp"
#include "state.hpp"

namespace motorpool::smartcar::sim {

Simulator::Simulator(SimulatorOptions options) : state_(std::make_shared<State>(std::move(options))) {
    if (!state_->options.faults_json.empty()) {
        add_faults(core::parse_json(state_->options.faults_json));
    }
}

Simulator::~Simulator() {
    stop_emitter();
}

const SimulatorOptions& Simulator::options() const {
    return state_->options;
}

std::vector<RequestRecord> Simulator::requests() const {
    std::lock_guard lock(state_->mutex);
    return {state_->log.begin(), state_->log.end()};
}

std::uint64_t Simulator::generation() const {
    return state_->generation.load(std::memory_order_relaxed);
}

std::string Simulator::snapshot() const {
    std::lock_guard lock(state_->mutex);
    const State& st = *state_;
    const std::int64_t now = state_->now();
    std::ostringstream rng;
    rng << st.rng;
    // Grants are shared by their tokens: written once each, referred to by index.
    std::map<const Grant*, std::size_t> grant_index;
    json::array grants;
    auto index_of = [&](const std::shared_ptr<Grant>& g) {
        auto [it, added] = grant_index.emplace(g.get(), grants.size());
        if (added) {
            json::array vehicles(g->vehicles.begin(), g->vehicles.end());
            json::array scopes(g->scopes.begin(), g->scopes.end());
            grants.push_back(json::object{{"user_id", g->user_id},
                                          {"vehicles", std::move(vehicles)},
                                          {"scopes", std::move(scopes)},
                                          {"revoked", g->revoked},
                                          {"connected_at_ms", g->connected_at_ms}});
        }
        return it->second;
    };
    json::array access;
    for (const auto& [token, t] : st.access_tokens) {
        if (t.expires_at_ms > now) {
            access.push_back(
                json::object{{"token", token}, {"grant", index_of(t.grant)}, {"expires_at_ms", t.expires_at_ms}});
        }
    }
    json::array refresh;
    for (const auto& [token, t] : st.refresh_tokens) {
        if (t.expires_at_ms > now) {
            refresh.push_back(json::object{{"token", token},
                                           {"grant", index_of(t.grant)},
                                           {"expires_at_ms", t.expires_at_ms},
                                           {"used_at_ms", t.used_at_ms ? json::value(*t.used_at_ms) : json::value()}});
        }
    }
    // Accounts that approved Connect and their cars; a page shown but never answered is not kept.
    json::array owners;
    json::array vehicles;
    for (const auto& [id, owner] : st.owners) {
        if (owner.pending) {
            continue;
        }
        owners.push_back(
            json::object{{"id", id}, {"vehicles", json::array(owner.vehicles.begin(), owner.vehicles.end())}});
        for (const auto& v : owner.vehicles) {
            if (auto it = st.vehicles.find(v); it != st.vehicles.end()) {
                vehicles.push_back(it->second->to_json());
            }
        }
    }
    json::array app_tokens;
    for (const auto& [token, expires] : st.app_tokens) {
        if (expires > now) {
            app_tokens.push_back(json::object{{"token", token}, {"expires_at_ms", expires}});
        }
    }
    json::array subscriptions;
    for (const auto& [webhook, vehicle] : st.webhook_subscriptions) {
        subscriptions.push_back(json::array{json::value(webhook), json::value(vehicle)});
    }
    return core::to_json_text(json::object{{"version", 1},
                                           {"rng", rng.str()},
                                           {"owners", std::move(owners)},
                                           {"vehicles", std::move(vehicles)},
                                           {"grants", std::move(grants)},
                                           {"access_tokens", std::move(access)},
                                           {"refresh_tokens", std::move(refresh)},
                                           {"app_tokens", std::move(app_tokens)},
                                           {"webhook_subscriptions", std::move(subscriptions)}},
                              core::WholeDoubles::KeepFraction);
}

void Simulator::restore(std::string_view snapshot) {
    auto fail = [](const std::string& what) { throw std::runtime_error("the saved simulator state " + what); };
    boost::system::error_code ec;
    json::value root = json::parse(snapshot, ec);
    if (ec || !root.is_object() || root.as_object().if_contains("version") == nullptr ||
        root.at("version") != json::value(1)) {
        fail("is not a version-1 snapshot");
    }
    State fresh(state_->options);
    try {
        const json::object& o = root.as_object();
        auto strings = [](const json::value& v) {
            std::vector<std::string> out;
            for (const auto& item : v.as_array()) {
                out.emplace_back(item.as_string());
            }
            return out;
        };
        std::istringstream rng(std::string(o.at("rng").as_string()));
        rng >> fresh.rng;
        if (rng.fail()) {
            fail("has a malformed generator state");
        }
        for (const auto& v : o.at("vehicles").as_array()) {
            auto model = VehicleModel::from_json(v.as_object());
            if (!model) {
                fail("has a malformed vehicle");
            }
            std::string id = model->spec().id;
            fresh.vehicles.emplace(std::move(id), std::make_unique<VehicleModel>(std::move(*model)));
        }
        for (const auto& item : o.at("owners").as_array()) {
            Owner owner;
            owner.id = std::string(item.at("id").as_string());
            owner.vehicles = strings(item.at("vehicles"));
            owner.pending = false;
            for (const auto& v : owner.vehicles) {
                if (!fresh.vehicles.contains(v)) {
                    fail("names a vehicle it does not hold");
                }
            }
            std::string id = owner.id;
            fresh.owners.emplace(std::move(id), std::move(owner));
        }
        std::vector<std::shared_ptr<Grant>> grants;
        for (const auto& item : o.at("grants").as_array()) {
            auto g = std::make_shared<Grant>();
            g->user_id = std::string(item.at("user_id").as_string());
            g->vehicles = strings(item.at("vehicles"));
            g->scopes = strings(item.at("scopes"));
            g->revoked = item.at("revoked").as_bool();
            g->connected_at_ms = item.at("connected_at_ms").to_number<std::int64_t>();
            grants.push_back(std::move(g));
        }
        auto grant_at = [&](const json::value& index) {
            const auto i = index.to_number<std::size_t>();
            if (i >= grants.size()) {
                fail("names a grant it does not hold");
            }
            return grants[i];
        };
        for (const auto& item : o.at("access_tokens").as_array()) {
            fresh.access_tokens[std::string(item.at("token").as_string())] = {
                grant_at(item.at("grant")), item.at("expires_at_ms").to_number<std::int64_t>()};
        }
        for (const auto& item : o.at("refresh_tokens").as_array()) {
            const auto& used = item.at("used_at_ms");
            fresh.refresh_tokens[std::string(item.at("token").as_string())] = {
                grant_at(item.at("grant")),
                item.at("expires_at_ms").to_number<std::int64_t>(),
                used.is_null() ? std::nullopt : std::optional(used.to_number<std::int64_t>())};
        }
        for (const auto& item : o.at("app_tokens").as_array()) {
            fresh.app_tokens[std::string(item.at("token").as_string())] =
                item.at("expires_at_ms").to_number<std::int64_t>();
        }
        for (const auto& item : o.at("webhook_subscriptions").as_array()) {
            fresh.webhook_subscriptions.emplace(std::string(item.at(0).as_string()),
                                                std::string(item.at(1).as_string()));
        }
    } catch (const std::runtime_error&) {
        throw;
    } catch (const std::exception&) {
        fail("is malformed");  // a missing key or a value of the wrong kind
    }
    std::lock_guard lock(state_->mutex);
    State& st = *state_;
    st.rng = fresh.rng;
    st.owners = std::move(fresh.owners);
    st.vehicles = std::move(fresh.vehicles);
    st.access_tokens = std::move(fresh.access_tokens);
    st.refresh_tokens = std::move(fresh.refresh_tokens);
    st.app_tokens = std::move(fresh.app_tokens);
    st.webhook_subscriptions = std::move(fresh.webhook_subscriptions);
    st.codes.clear();
    st.pending_owner_order.clear();
    st.touch();
}

void Simulator::install(http::Router& router) {
    const std::string p = state_->options.prefix;
    StatePtr s = state_;
    install_oauth_routes(router, p, s);
    install_management_routes(router, p, s);
    install_vehicle_routes(router, p, s);
    install_signal_routes(router, p, s);
    auto add = [&](http::Method method, const std::string& path, http::Handler handler) {
        add_both(router, method, p + path, std::move(handler));
    };
    // Administration (Basic client_id:client_secret): faults and the request log.
    add(http::Method::Post, "/admin/faults", [this, s](Request req) -> net::awaitable<Response> {
        if (!admin_allowed(*s, req)) {
            throw core::ApiError::unauthorized("Basic client credentials required");
        }
        add_faults(core::parse_json(req.body));
        co_return Response::no_content();
    });
    add(http::Method::Delete, "/admin/faults", [this, s](Request req) -> net::awaitable<Response> {
        if (!admin_allowed(*s, req)) {
            throw core::ApiError::unauthorized("Basic client credentials required");
        }
        clear_faults();
        co_return Response::no_content();
    });
    add(http::Method::Get, "/admin/requests", [this, s](Request req) -> net::awaitable<Response> {
        if (!admin_allowed(*s, req)) {
            throw core::ApiError::unauthorized("Basic client credentials required");
        }
        json::array list;
        for (const auto& r : requests()) {
            list.push_back(json::object{{"at", core::format_rfc3339(r.at_ms, true)},
                                        {"method", r.method},
                                        {"path", r.path},
                                        {"vehicle_id", r.vehicle_id},
                                        {"status", r.status}});
        }
        co_return Response::json(json::object{{"items", std::move(list)}});
    });
    // Anything else below the prefix answers as Smartcar does for an unknown path.
    for (auto method : {http::Method::Get, http::Method::Post, http::Method::Delete}) {
        router.add(method, p + "/{rest...}", [s](Request) -> net::awaitable<Response> {
            co_return sc_error_response(not_found_error(), request_id_for(*s));
        });
    }
}

}  // namespace motorpool::smartcar::sim
