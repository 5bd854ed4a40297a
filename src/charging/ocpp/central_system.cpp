#include "central_system.hpp"

#include <atomic>
#include <deque>
#include <functional>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "../routes.hpp"
#include "../store.hpp"
#include "core/crypto.hpp"
#include "core/errors.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "frames.hpp"
#include "http/websocket.hpp"
#include "http/websocket_sender.hpp"
#include "schemas.hpp"
#include "telemetry/telemetry.hpp"

namespace motorpool::charging::ocpp {

namespace net = boost::asio;
namespace json = boost::json;
using core::ApiError;

namespace {

/// How a CALL motorpool sent ended.
struct Outcome {
    enum class Kind { Result, CallError, Timeout, Offline, Busy, BadAnswer } kind = Kind::Offline;
    json::value payload;
    std::string detail;
};

/// A protocol failure of an incoming CALL: answered with a CALLERROR.
struct CallFailure {
    ErrorCode code;
    std::string description;
};

std::optional<std::string> opt_string(const json::object& o, std::string_view key) {
    if (const auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
        return std::string(v->as_string());
    }
    return std::nullopt;
}

std::int64_t time_of(const json::object& o, std::string_view key, std::int64_t fallback) {
    if (auto text = opt_string(o, key)) {
        if (auto ms = core::parse_rfc3339(*text)) {
            return *ms;
        }
    }
    return fallback;
}

std::string now_text(std::int64_t now_ms) {
    return core::format_rfc3339(now_ms, true);
}

json::object tag_info_json(const store::TagInfo& tag) {
    json::object info{{"status", tag.status}};
    if (tag.expires_at_ms) {
        info["expiryDate"] = core::format_rfc3339(*tag.expires_at_ms, true);
    }
    if (tag.parent_id_tag) {
        info["parentIdTag"] = *tag.parent_id_tag;
    }
    return info;
}

/// OCPP §7.43: a bare value is an import-energy register in Wh, sampled periodically at the outlet.
std::vector<MeterValue> meter_values_of(const json::array& list, std::int64_t fallback_ms) {
    std::vector<MeterValue> out;
    for (const auto& entry : list) {
        const auto& mv = entry.as_object();
        const std::int64_t at = time_of(mv, "timestamp", fallback_ms);
        for (const auto& sample : mv.at("sampledValue").as_array()) {
            const auto& sv = sample.as_object();
            MeterValue v;
            v.at_ms = at;
            v.measurand = opt_string(sv, "measurand").value_or("Energy.Active.Import.Register");
            v.phase = opt_string(sv, "phase").value_or("");
            v.location = opt_string(sv, "location").value_or("Outlet");
            v.context = opt_string(sv, "context").value_or("Sample.Periodic");
            const bool energy = v.measurand.rfind("Energy.", 0) == 0;
            v.unit = opt_string(sv, "unit").value_or(energy ? "Wh" : "");
            if (opt_string(sv, "format").value_or("Raw") != "Raw") {
                continue;  // SignedData: kept by the charger, not a number
            }
            const std::string text(sv.at("value").as_string());
            char* end = nullptr;
            double number = std::strtod(text.c_str(), &end);
            if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(number)) {
                continue;  // not a number: nothing to store
            }
            v.value = number;
            out.push_back(std::move(v));
        }
    }
    return out;
}

/// A known vehicle's signals from a session's meter values (totals only, not per phase): its state of
/// charge, the charging power and the energy added since the session began.
std::vector<telemetry::Sample> vehicle_samples(const std::vector<MeterValue>& values,
                                               std::int64_t vehicle_id,
                                               std::int64_t meter_start_wh) {
    std::vector<telemetry::Sample> out;
    auto add = [&](const char* code, std::int64_t at, double number) {
        if (const auto* signal = telemetry::find_signal(code)) {
            telemetry::Sample s;
            s.vehicle_id = vehicle_id;
            s.signal = signal->id;
            s.t_ms = at;
            s.number = number;
            s.source = telemetry::Source::Charger;
            out.push_back(s);
        }
    };
    for (const auto& v : values) {
        if (!v.phase.empty()) {
            continue;
        }
        if (v.measurand == "SoC") {
            add("TractionBattery.StateOfCharge", v.at_ms, v.value);
        } else if (v.measurand == "Power.Active.Import") {
            add("Charge.Wattage", v.at_ms, v.unit == "kW" ? v.value : v.value / 1000.0);
        } else if (v.measurand == "Energy.Active.Import.Register") {
            const double wh = v.unit == "kWh" ? v.value * 1000.0 : v.value;
            if (wh >= static_cast<double>(meter_start_wh)) {
                add("Charge.EnergyAdded", v.at_ms, (wh - static_cast<double>(meter_start_wh)) / 1000.0);
            }
        }
    }
    return out;
}

}  // namespace

/// One charger's WebSocket. Everything but the constructor runs on the socket's executor.
class Link : public std::enable_shared_from_this<Link> {
public:
    struct Pending {
        std::string id;
        std::string action;
        std::string text;
        std::function<void(Outcome)> done;
    };

    Link(std::string identity_,
         std::int64_t charger_id_,
         std::shared_ptr<http::WebSocket> ws_,
         const CentralSystemOptions& o)
        : identity(std::move(identity_)),
          charger_id(charger_id_),
          ws(ws_),
          out(ws_, http::WebSocketSender::Options{}),
          timer(ws_->executor()),
          options(o) {}

    void enqueue(Pending p) {
        if (closed) {
            p.done({Outcome::Kind::Offline, {}, ""});
            return;
        }
        if (queue.size() >= options.max_queued_calls) {
            p.done({Outcome::Kind::Busy, {}, ""});
            return;
        }
        queue.push_back(std::move(p));
        pump();
    }

    void pump() {
        if (outstanding || queue.empty() || closed) {
            return;
        }
        outstanding = std::move(queue.front());
        queue.erase(queue.begin());
        out.send(outstanding->text);
        timer.expires_after(options.call_timeout);
        timer.async_wait([self = shared_from_this(), id = outstanding->id](boost::system::error_code ec) {
            if (ec || !self->outstanding || self->outstanding->id != id) {
                return;
            }
            auto done = std::move(self->outstanding->done);
            self->outstanding.reset();
            done({Outcome::Kind::Timeout, {}, ""});
            self->pump();
        });
    }

    void answer(const Frame& f) {
        if (!outstanding || outstanding->id != f.id) {
            core::log_event(spdlog::level::info,
                            "ocpp answer to no outstanding call ignored",
                            {{"charger", identity}, {"id", f.id}});
            return;
        }
        timer.cancel();
        Pending p = std::move(*outstanding);
        outstanding.reset();
        if (f.type == MessageType::CallError) {
            p.done({Outcome::Kind::CallError,
                    {},
                    std::string(error_code_name(f.error_code)) + (f.error_description.empty() ? "" : ": ") +
                        f.error_description});
        } else if (auto bad = Schemas::instance().check(p.action, Direction::Confirmation, f.payload)) {
            p.done({Outcome::Kind::BadAnswer, {}, bad->description});
        } else {
            p.done({Outcome::Kind::Result, f.payload, ""});
        }
        pump();
    }

    void fail_all() {
        closed = true;
        timer.cancel();
        if (outstanding) {
            auto done = std::move(outstanding->done);
            outstanding.reset();
            done({Outcome::Kind::Offline, {}, ""});
        }
        auto waiting = std::move(queue);
        queue.clear();
        for (auto& p : waiting) {
            p.done({Outcome::Kind::Offline, {}, ""});
        }
    }

    const std::string identity;
    const std::int64_t charger_id;
    std::shared_ptr<http::WebSocket> ws;
    http::WebSocketSender out;
    net::steady_timer timer;  // the outstanding CALL's deadline
    CentralSystemOptions options;
    std::vector<Pending> queue;  // a few at most: no deque (its empty form costs 600 bytes per charger)
    std::optional<Pending> outstanding;
    bool closed = false;
    std::string registration = "Accepted";  // what BootNotification answers; Rejected silences it
    std::int64_t admitted = 0;              // the upgrade's admission ticket: the higher is newer
};

struct CentralSystem::Registry {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<Link>> links;
    /// Tickets handed out as upgrades are admitted (before their 101): which of two connections
    /// of one charger is newer, whatever order their handlers then run in.
    std::atomic<std::int64_t> admissions{0};
};

namespace {

/// The CALLs a charger sends, each answered with its confirmation payload (or a CallFailure).
class Handlers {
public:
    Handlers(Services& services, Link& link) : s_(services), link_(link) {}

    net::awaitable<json::value> handle(const std::string& action, const json::object& p) {
        const std::int64_t now = s_.clock->now_ms();
        const std::int64_t charger = link_.charger_id;
        auto& db = s_.database;
        if (action == "BootNotification") {
            store::BootInfo info;
            info.vendor = std::string(p.at("chargePointVendor").as_string());
            info.model = std::string(p.at("chargePointModel").as_string());
            info.serial_number = opt_string(p, "chargePointSerialNumber");
            info.charge_box_serial_number = opt_string(p, "chargeBoxSerialNumber");
            info.firmware_version = opt_string(p, "firmwareVersion");
            info.iccid = opt_string(p, "iccid");
            info.imsi = opt_string(p, "imsi");
            info.meter_type = opt_string(p, "meterType");
            info.meter_serial_number = opt_string(p, "meterSerialNumber");
            auto job = [&db, charger, info, now] {
                return db.with_transaction(
                    [&](db::Connection& c) { return store::record_boot(c, charger, info, now); });
            };
            store::BootAnswer answer = co_await db.workers().run(std::move(job));
            link_.registration = answer.status;
            ended(answer.closed_sessions, "Reboot", now);
            publish("charger." + link_.identity,
                    "BOOT",
                    json::object{{"charger_id", link_.identity}, {"status", answer.status}});
            co_return json::object{
                {"status", answer.status}, {"currentTime", now_text(now)}, {"interval", answer.interval_s}};
        }
        if (action == "Heartbeat") {
            auto job = [&db, charger, now] {
                db.with_transaction([&](db::Connection& c) { store::mark_seen(c, charger, now); });
            };
            co_await db.workers().run(std::move(job));
            co_return json::object{{"currentTime", now_text(now)}};
        }
        if (action == "StatusNotification") {
            store::StatusReport r;
            r.connector_id = static_cast<int>(p.at("connectorId").to_number<std::int64_t>());
            r.status = std::string(p.at("status").as_string());
            r.error_code = std::string(p.at("errorCode").as_string());
            r.info = opt_string(p, "info");
            r.vendor_error_code = opt_string(p, "vendorErrorCode");
            r.at_ms = time_of(p, "timestamp", now);
            if (r.connector_id == 0 && r.status != "Available" && r.status != "Unavailable" && r.status != "Faulted") {
                throw CallFailure{ErrorCode::PropertyConstraintViolation,
                                  "connector 0 is only Available, Unavailable or Faulted"};
            }
            auto job = [&db, charger, r] {
                return db.with_transaction([&](db::Connection& c) { return store::record_status(c, charger, r); });
            };
            auto closed = co_await db.workers().run(std::move(job));
            publish("charger." + link_.identity,
                    "STATUS",
                    json::object{{"charger_id", link_.identity},
                                 {"connector_id", r.connector_id},
                                 {"status", r.status},
                                 {"error_code", r.error_code},
                                 {"at", core::format_rfc3339(r.at_ms)}});
            ended(closed, "Other", r.at_ms);
            co_return json::object{};
        }
        if (action == "Authorize") {
            std::string tag(p.at("idTag").as_string());
            auto job = [&db, tag, now] {
                return db.with_reader([&](db::Connection& c) { return store::authorize(c, tag, now); });
            };
            store::TagInfo info = co_await db.workers().run(std::move(job));
            co_return json::object{{"idTagInfo", tag_info_json(info)}};
        }
        if (action == "StartTransaction") {
            const int connector = static_cast<int>(p.at("connectorId").to_number<std::int64_t>());
            std::string tag(p.at("idTag").as_string());
            const std::int64_t meter = p.at("meterStart").to_number<std::int64_t>();
            const std::int64_t at = time_of(p, "timestamp", now);
            std::optional<std::int64_t> reservation;
            if (const auto* r = p.if_contains("reservationId")) {
                reservation = r->to_number<std::int64_t>();
            }
            // Committed before the answer: an acknowledged transaction survives a crash.
            auto job = [&db, charger, connector, tag, meter, at, reservation, now] {
                return db.with_transaction([&](db::Connection& c) {
                    return store::start_transaction(c, charger, connector, tag, meter, at, reservation, now);
                });
            };
            store::StartedSession started = co_await db.workers().run(std::move(job));
            json::object event{{"session_id", started.public_id},
                               {"charger_id", link_.identity},
                               {"connector_id", connector},
                               {"transaction_id", started.transaction_id},
                               {"state", "started"},
                               {"meter_wh", meter},
                               {"at", core::format_rfc3339(at)}};
            publish("charging.session." + started.public_id, "SESSION", event);
            publish("charger." + link_.identity, "SESSION", event);
            co_return json::object{{"idTagInfo", tag_info_json(started.tag)},
                                   {"transactionId", started.transaction_id}};
        }
        if (action == "StopTransaction") {
            const std::int64_t tx = p.at("transactionId").to_number<std::int64_t>();
            const std::int64_t meter = p.at("meterStop").to_number<std::int64_t>();
            const std::int64_t at = time_of(p, "timestamp", now);
            const std::string reason = opt_string(p, "reason").value_or("Local");
            auto tag = opt_string(p, "idTag");
            std::vector<MeterValue> values;
            if (const auto* data = p.if_contains("transactionData"); data != nullptr && data->is_array()) {
                values = meter_values_of(data->as_array(), at);
            }
            auto job = [&db, charger, tx, meter, at, reason, tag, values, now] {
                return db.with_transaction([&](db::Connection& c) {
                    bool known = store::stop_transaction(c, charger, tx, meter, at, reason);
                    if (known && !values.empty()) {
                        auto rows = c.query("SELECT connector_id FROM charging_sessions WHERE id = $1", {tx});
                        store::insert_meter_values(c, charger, static_cast<int>(rows.front().int64(0)), tx, values);
                    }
                    std::optional<store::TagInfo> info;
                    if (tag) {
                        info = store::authorize(c, *tag, now);
                    }
                    auto session = c.query("SELECT public_id FROM charging_sessions WHERE id = $1 AND charger_id = $2",
                                           {tx, charger});
                    return std::make_pair(info, session.empty() ? std::string() : session.front().text(0));
                });
            };
            auto [info, public_id] = co_await db.workers().run(std::move(job));
            if (!public_id.empty()) {
                json::object event{{"session_id", public_id},
                                   {"charger_id", link_.identity},
                                   {"transaction_id", tx},
                                   {"state", "stopped"},
                                   {"meter_wh", meter},
                                   {"reason", reason},
                                   {"at", core::format_rfc3339(at)}};
                publish("charging.session." + public_id, "SESSION", event);
                publish("charger." + link_.identity, "SESSION", event);
            }
            // The central system cannot refuse a stop: an unknown transaction is still answered.
            json::object answer;
            if (info) {
                answer["idTagInfo"] = tag_info_json(*info);
            }
            co_return answer;
        }
        if (action == "MeterValues") {
            const int connector = static_cast<int>(p.at("connectorId").to_number<std::int64_t>());
            std::optional<std::int64_t> tx;
            if (const auto* t = p.if_contains("transactionId")) {
                tx = t->to_number<std::int64_t>();
            }
            auto values = meter_values_of(p.at("meterValue").as_array(), now);
            telemetry::Ingestor* ingestor = s_.ingestor;
            auto job = [&db, ingestor, charger, connector, tx, values] {
                std::vector<telemetry::Sample> samples;
                telemetry::IngestResult ingested;
                std::string vehicle;
                std::string session = db.with_transaction([&](db::Connection& c) {
                    samples.clear();
                    store::insert_meter_values(c, charger, connector, tx, values);
                    if (!tx) {
                        return std::string();
                    }
                    auto rows = c.query(
                        "SELECT s.public_id, s.vehicle_id, v.public_id, s.meter_start_wh FROM charging_sessions s "
                        "LEFT JOIN vehicles v ON v.id = s.vehicle_id WHERE s.id = $1 AND s.charger_id = $2",
                        {*tx, charger});
                    if (rows.empty()) {
                        return std::string();
                    }
                    auto r = rows.front();
                    if (ingestor != nullptr && !r.is_null(1)) {
                        samples = vehicle_samples(values, r.int64(1), r.int64(3));
                        if (!samples.empty()) {
                            // In this transaction: the meter values and the vehicle's signals commit together.
                            ingested = ingestor->write_in_transaction(c, samples);
                            vehicle = r.text(2);
                        }
                    }
                    return std::string(r.text(0));
                });
                if (!samples.empty()) {
                    ingestor->committed(vehicle, samples, ingested);
                }
                return session;
            };
            std::string session = co_await db.workers().run(std::move(job));
            json::array samples;
            for (const auto& v : values) {
                samples.push_back(json::object{{"measurand", v.measurand},
                                               {"phase", v.phase},
                                               {"unit", v.unit},
                                               {"value", v.value},
                                               {"at", core::format_rfc3339(v.at_ms)}});
            }
            json::object event{{"charger_id", link_.identity}, {"connector_id", connector}, {"values", samples}};
            if (!session.empty()) {
                event["session_id"] = session;
                publish("charging.session." + session, "METER", event);
            }
            publish("charger." + link_.identity, "METER", event);
            co_return json::object{};
        }
        if (action == "DataTransfer") {
            co_return json::object{{"status", "UnknownVendorId"}};  // no vendor extensions here
        }
        if (action == "DiagnosticsStatusNotification" || action == "FirmwareStatusNotification") {
            publish("charger." + link_.identity,
                    action == "DiagnosticsStatusNotification" ? "DIAGNOSTICS" : "FIRMWARE",
                    json::object{{"charger_id", link_.identity}, {"status", p.at("status")}});
            co_return json::object{};
        }
        throw CallFailure{ErrorCode::NotSupported, "Action " + action + " is not supported by this central system"};
    }

private:
    // Sessions the central system ended for the charger (a reboot, an Available status without
    // their StopTransaction): their drivers hear it as from a stop.
    void ended(const std::vector<std::string>& sessions, const char* reason, std::int64_t at) {
        for (const auto& id : sessions) {
            json::object event{{"session_id", id},
                               {"charger_id", link_.identity},
                               {"state", "stopped"},
                               {"reason", reason},
                               {"at", core::format_rfc3339(at)}};
            publish("charging.session." + id, "SESSION", event);
            publish("charger." + link_.identity, "SESSION", event);
        }
    }

    void publish(const std::string& topic, const char* type, const json::object& payload) {
        s_.events.publish({topic, type, core::to_json_text(payload)});
    }

    Services& s_;
    Link& link_;
};

/// The OCPP 1.6 actions a charger sends (the schema file also holds the central system's and the
/// security extension's).
bool sent_by_charge_point(std::string_view action) {
    for (std::string_view a : {"Authorize",
                               "BootNotification",
                               "DataTransfer",
                               "DiagnosticsStatusNotification",
                               "FirmwareStatusNotification",
                               "Heartbeat",
                               "MeterValues",
                               "StartTransaction",
                               "StatusNotification",
                               "StopTransaction",
                               "LogStatusNotification",
                               "SecurityEventNotification",
                               "SignCertificate",
                               "SignedFirmwareStatusNotification"}) {
        if (action == a) {
            return true;
        }
    }
    return false;
}

}  // namespace

CentralSystem::CentralSystem(std::shared_ptr<Services> services, CentralSystemOptions options)
    : services_(std::move(services)), options_(options), registry_(std::make_shared<Registry>()) {
    (void)Schemas::instance();  // parsed at start, not on the first message
}

CentralSystem::~CentralSystem() = default;

void CentralSystem::set_registration(const std::string& identity, const std::string& status) {
    std::shared_ptr<Link> link;
    {
        std::lock_guard lock(registry_->mutex);
        if (auto it = registry_->links.find(identity); it != registry_->links.end()) {
            link = it->second;
        }
    }
    if (link) {
        net::post(link->ws->executor(), [link, status] { link->registration = status; });
    }
}

void CentralSystem::close_all() {
    std::vector<std::shared_ptr<Link>> links;
    {
        std::lock_guard lock(registry_->mutex);
        for (auto& [id, link] : registry_->links) {
            links.push_back(link);
        }
    }
    for (auto& link : links) {
        net::post(link->ws->executor(), [link] { link->out.close(1001, "server shutting down"); });
    }
}

void CentralSystem::install(http::Router& router) {
    http::RouteOptions options;
    options.subprotocols = {"ocpp1.6"};
    options.auth = http::Auth::Optional;  // profile 0 chargers send no credentials
    options.ws_max_message_bytes = options_.max_message_bytes;
    auto services = services_;
    auto registry = registry_;
    options.basic = [services, registry](std::string user, std::string password, const http::Request& request)
        -> net::awaitable<std::shared_ptr<const http::Principal>> {
        const std::string identity(request.param("chargePointId"));
        auto job = [services, identity] {
            return services->database.with_reader([&](db::Connection& c) { return store::credentials(c, identity); });
        };
        auto found = co_await services->database.workers().run(std::move(job));
        if (!found) {
            throw ApiError::not_found("Charger");  // before the upgrade, as OCPP-J §3 asks
        }
        bool ok = found->security_profile == 0;
        if (!ok && user == identity) {
            auto matches = [&](const std::optional<std::string>& salt, const std::optional<std::string>& hash) {
                return salt && hash && core::constant_time_equal(store::password_hash(*salt, password), *hash);
            };
            // The pending key works too: a charger that accepted a rotation reconnects with it.
            ok = matches(found->salt, found->hash) || matches(found->pending_salt, found->pending_hash);
        }
        if (!ok) {
            co_return nullptr;
        }
        auto principal = std::make_shared<http::Principal>();
        principal->user_id = found->charger_id;
        principal->subject = identity;
        principal->role = "charger";
        principal->admission = ++registry->admissions;
        co_return principal;
    };
    router.add_websocket(
        "/ocpp/{chargePointId}",
        [this](http::Request request, std::shared_ptr<http::WebSocket> ws) -> net::awaitable<void> {
            return serve(std::move(request), std::move(ws));
        },
        std::move(options));
}

net::awaitable<void> CentralSystem::serve(http::Request request, std::shared_ptr<http::WebSocket> ws) {
    if (ws->subprotocol() != "ocpp1.6" || !request.principal) {
        co_await ws->close(1002, "ocpp1.6 is the only subprotocol served");
        co_return;
    }
    const std::string identity = request.principal->subject;
    const std::int64_t charger_id = request.principal->user_id;
    const std::int64_t admitted = request.principal->admission;
    {
        // The upgrade request (headers and all) would otherwise live in this frame as long as the socket.
        http::Request release = std::move(request);
    }
    auto services = services_;
    auto& db = services->database;
    ws->set_read_limit(options_.max_message_bytes);
    // Registered before anything is awaited: a command sent once the upgrade answered finds it.
    auto link = std::make_shared<Link>(identity, charger_id, ws, options_);
    link->admitted = admitted;
    std::shared_ptr<Link> previous;
    bool stale = false;
    {
        std::lock_guard lock(registry_->mutex);
        auto& slot = registry_->links[identity];
        if (slot && slot->admitted > admitted) {
            stale = true;  // a newer connection of this charger registered first
        } else {
            previous = std::move(slot);
            slot = link;
        }
    }
    if (stale) {
        co_await ws->close(1000, "replaced by a newer connection of this charger");
        co_return;
    }
    if (previous) {
        // One connection per identity: the newer replaces the older, which is closed.
        net::post(previous->ws->executor(), [previous] {
            previous->fail_all();
            previous->out.close(1000, "replaced by a newer connection of this charger");
        });
    }
    net::co_spawn(ws->executor(), link->out.run(link), [identity](std::exception_ptr error) {
        if (error) {
            try {
                std::rethrow_exception(error);
            } catch (const std::exception& e) {
                spdlog::error("ocpp: the socket writer of charger {} failed: {}", identity, e.what());
            }
        }
    });
    const std::int64_t now = services->clock->now_ms();
    auto online = [&db, charger_id, now] {
        return db.with_transaction([&](db::Connection& c) {
            store::mark_online(c, charger_id, true, now);
            auto row =
                c.query("SELECT heartbeat_interval_s, registration_status FROM chargers WHERE id = $1", {charger_id});
            return std::make_pair(row.front().int64(0), std::string(row.front().text(1)));
        });
    };
    std::int64_t interval = 300;
    try {
        auto [seconds, registration] = co_await db.workers().run(std::move(online));
        interval = seconds;
        link->registration = registration;
    } catch (const std::exception& e) {
        spdlog::warn("ocpp: marking charger {} online failed: {}", identity, e.what());
    }
    // Pinged while idle; a charger silent for two heartbeat intervals is dropped and marked offline.
    ws->set_idle_timeout(std::chrono::seconds(std::max<std::int64_t>(2 * interval, 10)));
    services->events.publish({"charger." + identity,
                              "ONLINE",
                              core::to_json_text(json::object{{"charger_id", identity}, {"online", true}})});

    // This frame lives as long as the socket: the work per message happens in on_message's.
    while (!link->out.closing()) {
        auto message = co_await ws->read();
        if (!message) {
            break;
        }
        co_await on_message(link, std::move(message->data));
    }
    link->fail_all();
    link->out.close(1000, "");
    bool current = false;
    {
        std::lock_guard lock(registry_->mutex);
        auto it = registry_->links.find(identity);
        if (it != registry_->links.end() && it->second == link) {
            registry_->links.erase(it);
            current = true;
        }
    }
    if (current) {
        const std::int64_t gone = services->clock->now_ms();
        auto offline = [&db, charger_id, gone] {
            db.with_transaction([&](db::Connection& c) { store::mark_online(c, charger_id, false, gone); });
        };
        try {
            co_await db.workers().run(std::move(offline));
        } catch (const std::exception& e) {
            spdlog::warn("ocpp: marking charger {} offline failed: {}", identity, e.what());
        }
        services->events.publish({"charger." + identity,
                                  "ONLINE",
                                  core::to_json_text(json::object{{"charger_id", identity}, {"online", false}})});
    }
}

net::awaitable<void> CentralSystem::on_message(std::shared_ptr<Link> link, std::string text) {
    const std::string& identity = link->identity;
    Handlers handlers(*services_, *link);
    const Schemas& schemas = Schemas::instance();
    auto parsed = parse_frame(text);
    if (auto* problem = std::get_if<FrameProblem>(&parsed)) {
        if (!problem->ignore && !problem->id.empty()) {
            link->out.send(error_text(problem->id, problem->code, problem->description));
        } else if (!problem->ignore) {
            core::log_event(spdlog::level::info,
                            "ocpp message without an id ignored",
                            {{"charger", identity}, {"problem", problem->description}});
        }
        co_return;
    }
    Frame& frame = std::get<Frame>(parsed);
    if (frame.type != MessageType::Call) {
        link->answer(frame);
        co_return;
    }
    if (!schemas.knows(frame.action)) {
        link->out.send(error_text(frame.id, ErrorCode::NotImplemented, "Unknown action " + frame.action));
        co_return;
    }
    if (!sent_by_charge_point(frame.action)) {
        link->out.send(
            error_text(frame.id, ErrorCode::NotSupported, frame.action + " is sent by a central system, not to one"));
        co_return;
    }
    if (auto violation = schemas.check(frame.action, Direction::Request, frame.payload)) {
        link->out.send(error_text(frame.id, violation->code, violation->description));
        co_return;
    }
    if (link->registration == "Rejected" && frame.action != "BootNotification") {
        // A rejected charger may only boot again (OCPP 1.6 §4.2: it sends nothing else).
        link->out.send(
            error_text(frame.id, ErrorCode::SecurityError, "This charger is not accepted by the central system"));
        co_return;
    }
    std::string answer;
    try {
        json::value result = co_await handlers.handle(frame.action, frame.payload.as_object());
        if (auto bad = schemas.check(frame.action, Direction::Confirmation, result)) {
            // Never send what breaks the schema: a strict charger would reject it.
            spdlog::error("ocpp: the {} answer to {} broke its schema: {}", frame.action, identity, bad->description);
            answer = error_text(frame.id, ErrorCode::InternalError, "");
        } else {
            answer = result_text(frame.id, result);
        }
    } catch (const CallFailure& failure) {
        answer = error_text(frame.id, failure.code, failure.description);
    } catch (const std::exception& e) {
        core::log_event(spdlog::level::warn,
                        "ocpp call failed",
                        {{"charger", identity}, {"action", frame.action}, {"error", std::string_view(e.what())}});
        answer = error_text(frame.id, ErrorCode::InternalError, "");
    }
    link->out.send(std::move(answer));
}

bool CentralSystem::send(const std::string& identity,
                         const std::string& action,
                         const json::value& payload,
                         std::function<void(SendResult)> done) {
    std::shared_ptr<Link> link;
    {
        std::lock_guard lock(registry_->mutex);
        if (auto it = registry_->links.find(identity); it != registry_->links.end()) {
            link = it->second;
        }
    }
    if (!link) {
        return false;
    }
    Link::Pending pending;
    pending.id = core::new_uuid_v7();
    pending.action = action;
    pending.text = call_text(pending.id, action, payload);
    pending.done = [done = std::move(done)](Outcome outcome) {
        SendResult r;
        switch (outcome.kind) {
            case Outcome::Kind::Result:
                r.ok = true;
                r.payload = std::move(outcome.payload);
                break;
            case Outcome::Kind::CallError:
                r.error = outcome.detail;
                break;
            case Outcome::Kind::BadAnswer:
                r.error = "bad answer: " + outcome.detail;
                break;
            case Outcome::Kind::Timeout:
                r.error = "timeout";
                break;
            case Outcome::Kind::Busy:
                r.error = "busy";
                break;
            case Outcome::Kind::Offline:
                r.error = "offline";
                break;
        }
        done(std::move(r));
    };
    net::post(link->ws->executor(),
              [link, pending = std::move(pending)]() mutable { link->enqueue(std::move(pending)); });
    return true;
}

std::vector<std::string> CentralSystem::connected_identities() const {
    std::lock_guard lock(registry_->mutex);
    std::vector<std::string> out;
    out.reserve(registry_->links.size());
    for (const auto& [identity, link] : registry_->links) {
        out.push_back(identity);
    }
    return out;
}

net::awaitable<json::value> CentralSystem::call(const std::string& identity,
                                                const std::string& action,
                                                json::value payload) {
    if (!payload.is_object()) {
        throw ApiError::validation({{"payload", "must be an object"}});
    }
    if (auto violation = Schemas::instance().check(action, Direction::Request, payload)) {
        throw ApiError::validation({{"payload", violation->description}});
    }
    std::shared_ptr<Link> link;
    {
        std::lock_guard lock(registry_->mutex);
        if (auto it = registry_->links.find(identity); it != registry_->links.end()) {
            link = it->second;
        }
    }
    if (!link) {
        throw ApiError::conflict("The charger is not connected", "charger_offline");
    }
    auto executor = co_await net::this_coro::executor;
    // OCPP 1.6 §4.2: while Pending (or Rejected) a charger takes no remote start or stop.
    if (action == "RemoteStartTransaction" || action == "RemoteStopTransaction") {
        struct Probe {
            explicit Probe(const net::any_io_executor& e) : timer(e) {}
            net::steady_timer timer;
            std::string registration;
        };
        auto probe = std::make_shared<Probe>(executor);
        probe->timer.expires_at(net::steady_timer::time_point::max());
        net::post(link->ws->executor(), [link, probe, executor] {
            std::string registration = link->registration;
            net::post(executor, [probe, registration] {
                probe->registration = registration;
                probe->timer.cancel();
            });
        });
        boost::system::error_code ignored;
        co_await probe->timer.async_wait(net::redirect_error(net::use_awaitable, ignored));
        if (probe->registration != "Accepted") {
            throw ApiError::conflict(
                "The charger is " + probe->registration + ": no remote start or stop until it is accepted",
                "charger_not_accepted");
        }
    }
    struct Waiter {
        explicit Waiter(const net::any_io_executor& e) : timer(e) {}
        net::steady_timer timer;
        Outcome outcome;
    };
    auto waiter = std::make_shared<Waiter>(executor);
    waiter->timer.expires_at(net::steady_timer::time_point::max());
    Link::Pending pending;
    pending.id = core::new_uuid_v7();
    pending.action = action;
    pending.text = call_text(pending.id, action, payload);
    pending.done = [waiter, executor](Outcome outcome) {
        net::post(executor, [waiter, outcome = std::move(outcome)]() mutable {
            waiter->outcome = std::move(outcome);
            waiter->timer.cancel();
        });
    };
    net::post(link->ws->executor(),
              [link, pending = std::move(pending)]() mutable { link->enqueue(std::move(pending)); });
    boost::system::error_code ec;
    co_await waiter->timer.async_wait(net::redirect_error(net::use_awaitable, ec));
    switch (waiter->outcome.kind) {
        case Outcome::Kind::Result:
            co_return std::move(waiter->outcome.payload);
        case Outcome::Kind::CallError:
            throw ApiError(502,
                           "Bad Gateway",
                           "The charger answered with an error: " + waiter->outcome.detail,
                           "urn:motorpool:problem:charger_error");
        case Outcome::Kind::BadAnswer:
            throw ApiError(502,
                           "Bad Gateway",
                           "The charger's answer breaks the OCPP schema: " + waiter->outcome.detail,
                           "urn:motorpool:problem:charger_error");
        case Outcome::Kind::Timeout:
            throw ApiError(
                504, "Gateway Timeout", "The charger did not answer in time", "urn:motorpool:problem:charger_timeout");
        case Outcome::Kind::Busy:
            throw ApiError::unavailable("Too many calls are waiting for this charger", 1);
        case Outcome::Kind::Offline:
            break;
    }
    throw ApiError::conflict("The charger is not connected", "charger_offline");
}

}  // namespace motorpool::charging::ocpp
