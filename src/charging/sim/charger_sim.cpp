#include "charging/charger_sim.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include "core/crypto.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "http/client.hpp"

namespace motorpool::charging::sim {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Ev {
    int charger = 0;
    int connector = 1;
    Clock::time_point arrival, departure;
    double energy_kwh = 0;
    double max_kw = 0;
};

struct ConnectorState {
    double register_wh = 0;  // the energy meter
    double limit_kw = 1e9;   // from charging profiles
    std::optional<std::int64_t> transaction;
    const Ev* ev = nullptr;
    double delivered_kwh = 0;
    double power_kw = 0;
};

struct Stats {
    std::mutex mutex;
    std::vector<double> latencies_ms;
    Report report;
};

std::pair<std::string, std::uint16_t> host_port(const std::string& url) {
    std::string rest = url;
    if (rest.rfind("http://", 0) == 0) {
        rest = rest.substr(7);
    }
    if (auto slash = rest.find('/'); slash != std::string::npos) {
        rest.resize(slash);
    }
    auto colon = rest.rfind(':');
    if (colon == std::string::npos) {
        return {rest, 80};
    }
    return {rest.substr(0, colon), static_cast<std::uint16_t>(std::stoi(rest.substr(colon + 1)))};
}

std::string now_text() {
    return core::format_rfc3339(core::now_ms(), true);
}

class Charger : public std::enable_shared_from_this<Charger> {
public:
    Charger(net::io_context& io,
            const Options& options,
            Stats& stats,
            std::string identity,
            std::string password,
            std::vector<const Ev*> evs)
        : ws_(io),
          options_(options),
          stats_(stats),
          identity_(std::move(identity)),
          password_(std::move(password)),
          evs_(std::move(evs)),
          connectors_(static_cast<std::size_t>(options.connectors) + 1) {}

    net::awaitable<void> run(const std::string& host, std::uint16_t port, Clock::time_point until) {
        auto self = shared_from_this();
        try {
            // Named before the co_await: g++ 12 mishandles temporaries inside co_await expressions.
            const net::ip::tcp::endpoint endpoint(net::ip::make_address(host == "localhost" ? "127.0.0.1" : host),
                                                  port);
            const std::string host_header = host + ":" + std::to_string(port);
            const std::string target = "/ocpp/" + core::percent_encode(identity_);
            auto& tcp = beast::get_lowest_layer(ws_);
            tcp.expires_after(std::chrono::seconds(30));
            co_await tcp.async_connect(endpoint, net::use_awaitable);
            tcp.expires_never();
            ws_.set_option(beast::websocket::stream_base::timeout::suggested(beast::role_type::client));
            const std::string auth = "Basic " + core::base64_encode(identity_ + ":" + password_);
            ws_.set_option(beast::websocket::stream_base::decorator([auth](beast::websocket::request_type& req) {
                req.set(beast::http::field::sec_websocket_protocol, "ocpp1.6");
                req.set(beast::http::field::authorization, auth);
            }));
            co_await ws_.async_handshake(host_header, target, net::use_awaitable);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "charger-sim: %s could not connect: %s\n", identity_.c_str(), e.what());
            co_return;
        }
        {
            std::lock_guard lock(stats_.mutex);
            ++stats_.report.connected;
        }
        net::co_spawn(ws_.get_executor(), read_loop(self), net::detached);

        json::object boot_payload{
            {"chargePointVendor", "motorpool"}, {"chargePointModel", "charger-sim"}, {"firmwareVersion", "1.0"}};
        json::value boot = co_await call("BootNotification", std::move(boot_payload));
        auto heartbeat = options_.heartbeat;
        if (heartbeat.count() == 0 && boot.is_object() && boot.as_object().contains("interval")) {
            heartbeat = std::chrono::seconds(std::max<std::int64_t>(1, boot.at("interval").to_number<std::int64_t>()));
        }
        for (int c = 1; c <= options_.connectors; ++c) {
            co_await status(c, "Available");
        }
        std::mt19937_64 rng(std::hash<std::string>{}(identity_));
        auto jitter = [&](std::chrono::seconds every) {
            return std::chrono::milliseconds(
                rng() % static_cast<std::uint64_t>(std::max<std::int64_t>(1, every.count() * 1000)));
        };
        Clock::time_point next_heartbeat = Clock::now() + heartbeat + jitter(heartbeat);
        Clock::time_point next_meter = Clock::now() + jitter(options_.meter_interval);
        Clock::time_point last_tick = Clock::now();
        net::steady_timer timer(ws_.get_executor());
        while (!closed_ && Clock::now() < until) {
            Clock::time_point next = std::min({next_heartbeat, next_meter, until});
            for (const Ev* ev : evs_) {
                auto& k = connectors_[static_cast<std::size_t>(ev->connector)];
                if (k.ev == nullptr && !ev_done(ev) && ev->arrival > Clock::now()) {
                    next = std::min(next, ev->arrival);
                } else if (k.ev == ev) {
                    next = std::min(next, ev->departure);
                }
            }
            timer.expires_at(next);
            boost::system::error_code ec;
            co_await timer.async_wait(net::redirect_error(net::use_awaitable, ec));
            const auto now = Clock::now();
            advance(now - last_tick);
            last_tick = now;
            co_await arrivals_and_departures(now);
            if (now >= next_meter) {
                co_await meter_values();
                next_meter = now + options_.meter_interval;
            }
            if (now >= next_heartbeat) {
                json::object empty;
                co_await call("Heartbeat", std::move(empty));
                next_heartbeat = now + heartbeat;
            }
        }
        closed_ = true;
        boost::system::error_code ec;
        co_await ws_.async_close(beast::websocket::close_code::normal, net::redirect_error(net::use_awaitable, ec));
    }

private:
    bool ev_done(const Ev* ev) const { return finished_.count(ev) != 0; }

    void advance(Clock::duration real) {
        const double hours = std::chrono::duration<double>(real).count() * options_.speed / 3600.0;
        for (auto& k : connectors_) {
            if (!k.transaction || k.ev == nullptr) {
                continue;
            }
            const double want = std::max(0.0, k.ev->energy_kwh - k.delivered_kwh);
            k.power_kw = want <= 0 ? 0 : std::min({k.ev->max_kw, options_.max_power_kw, k.limit_kw});
            const double energy = std::min(want, k.power_kw * hours);
            k.delivered_kwh += energy;
            k.register_wh += energy * 1000.0;
        }
    }

    net::awaitable<void> arrivals_and_departures(Clock::time_point now) {
        for (const Ev* ev : evs_) {
            auto& k = connectors_[static_cast<std::size_t>(ev->connector)];
            if (k.ev == nullptr && !ev_done(ev) && ev->arrival <= now && !k.transaction) {
                co_await status(ev->connector, "Preparing");
                json::object authorize{{"idTag", "SIM-TAG"}};
                co_await call("Authorize", std::move(authorize));
                json::object start{{"connectorId", ev->connector},
                                   {"idTag", "SIM-TAG"},
                                   {"meterStart", static_cast<std::int64_t>(k.register_wh)},
                                   {"timestamp", now_text()}};
                json::value started = co_await call("StartTransaction", std::move(start));
                if (started.is_object() && started.as_object().contains("transactionId")) {
                    k.transaction = started.at("transactionId").to_number<std::int64_t>();
                    k.ev = ev;
                    k.delivered_kwh = 0;
                    std::lock_guard lock(stats_.mutex);
                    ++stats_.report.sessions_started;
                }
                co_await status(ev->connector, "Charging");
            } else if (k.ev == ev && ev->departure <= now) {
                json::object stop{{"transactionId", *k.transaction},
                                  {"meterStop", static_cast<std::int64_t>(k.register_wh)},
                                  {"timestamp", now_text()},
                                  {"idTag", "SIM-TAG"},
                                  {"reason", "EVDisconnected"}};
                co_await call("StopTransaction", std::move(stop));
                k.transaction.reset();
                k.ev = nullptr;
                k.power_kw = 0;
                k.limit_kw = 1e9;
                finished_.insert(ev);
                {
                    std::lock_guard lock(stats_.mutex);
                    ++stats_.report.sessions_stopped;
                }
                co_await status(ev->connector, "Finishing");
                co_await status(ev->connector, "Available");
            }
        }
    }

    net::awaitable<void> meter_values() {
        for (int c = 1; c <= options_.connectors; ++c) {
            auto& k = connectors_[static_cast<std::size_t>(c)];
            json::array sampled{
                json::object{{"value", std::to_string(static_cast<std::int64_t>(k.register_wh))},
                             {"measurand", "Energy.Active.Import.Register"},
                             {"unit", "Wh"}},
                json::object{
                    {"value", std::to_string(k.power_kw)}, {"measurand", "Power.Active.Import"}, {"unit", "kW"}}};
            json::object payload{
                {"connectorId", c},
                {"meterValue", json::array{json::object{{"timestamp", now_text()}, {"sampledValue", sampled}}}}};
            if (k.transaction) {
                payload["transactionId"] = *k.transaction;
            }
            co_await call("MeterValues", std::move(payload));
        }
    }

    net::awaitable<void> status(int connector, const char* state) {
        json::object payload{{"connectorId", connector}, {"errorCode", "NoError"}, {"status", state}};
        co_await call("StatusNotification", std::move(payload));
    }

    // One outstanding CALL (OCPP-J §4.1.1): the next waits for this one's answer.
    net::awaitable<json::value> call(const char* action, json::object payload) {
        if (closed_) {
            co_return json::value();
        }
        const std::string id = std::to_string(++next_id_);
        waiting_id_ = id;
        answer_ = json::value();
        net::steady_timer wait(ws_.get_executor());
        wait.expires_after(std::chrono::seconds(30));
        answer_timer_ = &wait;
        const auto sent = Clock::now();
        send(json::serialize(json::array{2, id, action, std::move(payload)}));
        boost::system::error_code ec;
        co_await wait.async_wait(net::redirect_error(net::use_awaitable, ec));
        answer_timer_ = nullptr;
        const bool answered = ec == net::error::operation_aborted && waiting_id_.empty();
        waiting_id_.clear();
        std::lock_guard lock(stats_.mutex);
        ++stats_.report.calls;
        if (!answered) {
            ++stats_.report.timeouts;
            co_return json::value();
        }
        stats_.latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - sent).count());
        if (answer_.is_array() && answer_.as_array().size() > 2 && answer_.as_array()[0] == 3) {
            co_return answer_.as_array()[2];
        }
        ++stats_.report.call_errors;
        co_return json::value();
    }

    void send(std::string text) {
        out_.push_back(std::move(text));
        if (out_.size() == 1) {
            write_front();
        }
    }
    void write_front() {
        ws_.async_write(net::buffer(out_.front()),
                        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                            self->out_.pop_front();
                            if (ec) {
                                self->closed_ = true;
                                self->out_.clear();
                                return;
                            }
                            if (!self->out_.empty()) {
                                self->write_front();
                            }
                        });
    }

    net::awaitable<void> read_loop(std::shared_ptr<Charger> keep_alive) {
        (void)keep_alive;  // the charger lives as long as its reader
        beast::flat_buffer buffer;
        while (true) {
            boost::system::error_code ec;
            co_await ws_.async_read(buffer, net::redirect_error(net::use_awaitable, ec));
            if (ec) {
                closed_ = true;
                if (answer_timer_ != nullptr) {
                    answer_timer_->cancel();
                }
                co_return;
            }
            boost::system::error_code parse_error;
            json::value frame = json::parse(beast::buffers_to_string(buffer.data()), parse_error);
            buffer.consume(buffer.size());
            if (parse_error || !frame.is_array() || frame.as_array().size() < 3) {
                continue;
            }
            auto& a = frame.as_array();
            if (a[0] == 2 && a.size() == 4) {
                handle_call(a);
            } else if (a[1].is_string() && a[1].as_string() == waiting_id_) {
                answer_ = std::move(frame);
                waiting_id_.clear();
                if (answer_timer_ != nullptr) {
                    answer_timer_->cancel();
                }
            }
        }
    }

    // The central system's CALLs: profiles are obeyed; the rest accepted as a real charger would.
    void handle_call(const json::array& frame) {
        const std::string action(frame[2].as_string());
        const json::object& p = frame[3].as_object();
        json::value result;
        if (action == "SetChargingProfile") {
            const auto& profile = p.at("csChargingProfiles").as_object();
            const auto& schedule = profile.at("chargingSchedule").as_object();
            const auto& periods = schedule.at("chargingSchedulePeriod").as_array();
            double limit = periods.empty() ? 1e9 : periods[0].at("limit").to_number<double>();
            const bool amps = schedule.at("chargingRateUnit") == "A";
            const int phases = periods.empty() || !periods[0].as_object().contains("numberPhases")
                                   ? 3
                                   : static_cast<int>(periods[0].at("numberPhases").to_number<std::int64_t>());
            const double kw = amps ? limit * 230.0 * phases / 1000.0 : limit / 1000.0;
            const int connector = static_cast<int>(p.at("connectorId").to_number<std::int64_t>());
            for (int c = 1; c <= options_.connectors; ++c) {
                if (connector == 0 || connector == c) {
                    connectors_[static_cast<std::size_t>(c)].limit_kw = kw;
                }
            }
            std::lock_guard lock(stats_.mutex);
            ++stats_.report.profiles_received;
            result = json::object{{"status", "Accepted"}};
        } else if (action == "ClearChargingProfile") {
            for (auto& k : connectors_) {
                k.limit_kw = 1e9;
            }
            result = json::object{{"status", "Accepted"}};
        } else if (action == "ChangeConfiguration") {
            if (p.at("key") == "AuthorizationKey") {
                password_ = std::string(p.at("value").as_string());
            }
            result = json::object{{"status", "Accepted"}};
        } else if (action == "GetConfiguration") {
            result = json::object{{"configurationKey",
                                   json::array{json::object{{"key", "MeterValueSampleInterval"},
                                                            {"readonly", false},
                                                            {"value", std::to_string(options_.meter_interval.count())}},
                                               json::object{{"key", "NumberOfConnectors"},
                                                            {"readonly", true},
                                                            {"value", std::to_string(options_.connectors)}}}}};
        } else if (action == "Reset" || action == "RemoteStartTransaction" || action == "RemoteStopTransaction" ||
                   action == "ChangeAvailability" || action == "TriggerMessage" || action == "ClearCache") {
            result = json::object{{"status", "Accepted"}};
        } else if (action == "UnlockConnector") {
            result = json::object{{"status", "Unlocked"}};
        }
        if (result.is_null()) {
            send(json::serialize(
                json::array{4, frame[1], "NotImplemented", "charger-sim does not do " + action, json::object{}}));
        } else {
            send(json::serialize(json::array{3, frame[1], result}));
        }
    }

    beast::websocket::stream<beast::tcp_stream> ws_;
    const Options& options_;
    Stats& stats_;
    std::string identity_;
    std::string password_;
    std::vector<const Ev*> evs_;
    std::vector<ConnectorState> connectors_;  // index 1..connectors
    std::set<const Ev*> finished_;
    std::deque<std::string> out_;
    std::uint64_t next_id_ = 0;
    std::string waiting_id_;
    json::value answer_;
    net::steady_timer* answer_timer_ = nullptr;
    bool closed_ = false;
};

std::vector<Ev> load_sessions(const Options& o, Clock::time_point start) {
    std::vector<Ev> out;
    if (!o.sessions_csv) {
        return out;
    }
    std::ifstream in(*o.sessions_csv);
    if (!in) {
        throw std::runtime_error("cannot read " + *o.sessions_csv);
    }
    std::string line;
    std::getline(in, line);  // header
    struct Row {
        std::string station;
        long arrival, departure;
        double energy, power;
    };
    std::vector<Row> rows;
    while (std::getline(in, line)) {
        std::stringstream s(line);
        std::string id, station, a, d, e, p;
        if (!std::getline(s, id, ',') || !std::getline(s, station, ',') || !std::getline(s, a, ',') ||
            !std::getline(s, d, ',') || !std::getline(s, e, ',') || !std::getline(s, p, ',')) {
            continue;
        }
        try {
            rows.push_back({station, std::stol(a), std::stol(d), std::stod(e), std::stod(p)});
        } catch (const std::exception&) {
            continue;  // a malformed row: skipped
        }
    }
    if (rows.empty()) {
        return out;
    }
    std::map<std::string, int> stations;
    for (const auto& r : rows) {
        stations.emplace(r.station, 0);
    }
    int k = 0;
    for (auto& [name, index] : stations) {
        index = k++;
    }
    long first = rows.front().arrival;
    for (const auto& r : rows) {
        first = std::min(first, r.arrival);
    }
    auto at = [&](long period) {
        const double sim_seconds = static_cast<double>(period - first) * 300.0;
        return start + std::chrono::milliseconds(1000 + static_cast<std::int64_t>(sim_seconds / o.speed * 1000.0));
    };
    for (const auto& r : rows) {
        const int station = stations[r.station];
        Ev ev;
        ev.charger = station % o.chargers;
        ev.connector = (station / o.chargers) % o.connectors + 1;
        ev.arrival = at(r.arrival);
        ev.departure = at(std::max(r.departure, r.arrival + 1));
        ev.energy_kwh = r.energy;
        ev.max_kw = r.power;
        out.push_back(ev);
    }
    return out;
}

}  // namespace

Report run(const Options& options) {
    const auto [host, port] = host_port(options.url);
    http::Client rest(host, port, std::chrono::seconds(30));
    const http::Headers auth{{"Authorization", "Bearer " + options.token}};
    const std::string prefix =
        options.prefix.empty() ? "SIM-" + core::hex_encode(core::random_bytes(2)) + "-" : options.prefix;

    // Register the chargers (and the tag the simulated drivers use) through the API.
    std::vector<std::pair<std::string, std::string>> chargers;
    for (int i = 1; i <= options.chargers; ++i) {
        json::object body{{"id", prefix + std::to_string(i)},
                          {"max_power_kw", options.max_power_kw},
                          {"connectors", options.connectors}};
        if (options.cluster_id) {
            body["cluster_id"] = *options.cluster_id;
        }
        auto r = rest.post_json("/api/v1/chargers", body, auth);
        if (r.status != 201) {
            throw std::runtime_error("registering charger " + std::to_string(i) + ": HTTP " + std::to_string(r.status) +
                                     " " + r.body);
        }
        chargers.emplace_back(prefix + std::to_string(i), std::string(r.json().at("ocpp_password").as_string()));
    }
    auto tag = rest.post_json("/api/v1/charging/id-tags", json::object{{"id_tag", "SIM-TAG"}}, auth);
    if (tag.status != 201 && tag.status != 409) {
        throw std::runtime_error("registering the id tag: HTTP " + std::to_string(tag.status) + " " + tag.body);
    }
    std::printf("charger-sim: registered %d chargers %s1..%d\n", options.chargers, prefix.c_str(), options.chargers);
    std::fflush(stdout);

    const auto start = Clock::now();
    std::vector<Ev> evs = load_sessions(options, start);
    Clock::time_point until = options.duration.count() > 0 ? start + options.duration : Clock::time_point::max();
    if (options.duration.count() == 0 && !evs.empty()) {
        Clock::time_point last = start;
        for (const auto& ev : evs) {
            last = std::max(last, ev.departure);
        }
        until = last + std::chrono::seconds(2);
    }

    Stats stats;
    net::io_context io(1);
    net::signal_set signals(io, SIGINT, SIGTERM);
    std::size_t running = chargers.size();
    std::vector<std::shared_ptr<Charger>> fleet;
    for (std::size_t i = 0; i < chargers.size(); ++i) {
        std::vector<const Ev*> mine;
        for (const auto& ev : evs) {
            if (ev.charger == static_cast<int>(i)) {
                mine.push_back(&ev);
            }
        }
        auto charger = std::make_shared<Charger>(io, options, stats, chargers[i].first, chargers[i].second, mine);
        fleet.push_back(charger);
        const auto delay = options.connect_spread * static_cast<std::int64_t>(i) /
                           std::max<std::int64_t>(1, static_cast<std::int64_t>(chargers.size()));
        net::co_spawn(
            io,
            [charger, delay, host = host, port = port, until, &io, &running, &signals]() -> net::awaitable<void> {
                net::steady_timer wait(io, delay);
                co_await wait.async_wait(net::use_awaitable);
                co_await charger->run(host, port, until);
                if (--running == 0) {
                    signals.cancel();  // the last charger is done: nothing keeps the loop running
                }
            },
            net::detached);
    }
    signals.async_wait([&](boost::system::error_code ec, int) {
        if (!ec) {
            io.stop();
        }
    });
    std::atomic<bool> done{false};
    std::thread progress([&] {
        while (!done) {
            for (int i = 0; i < 100 && !done; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
            if (done) {
                break;
            }
            std::lock_guard lock(stats.mutex);
            std::printf("charger-sim: %lld connected, %lld calls, %lld sessions started, %lld stopped\n",
                        static_cast<long long>(stats.report.connected),
                        static_cast<long long>(stats.report.calls),
                        static_cast<long long>(stats.report.sessions_started),
                        static_cast<long long>(stats.report.sessions_stopped));
            std::fflush(stdout);
        }
    });
    io.run();
    done = true;
    progress.join();

    std::lock_guard lock(stats.mutex);
    Report report = stats.report;
    auto& l = stats.latencies_ms;
    if (!l.empty()) {
        std::sort(l.begin(), l.end());
        auto at = [&](double q) {
            return l[std::min(l.size() - 1, static_cast<std::size_t>(q * static_cast<double>(l.size())))];
        };
        report.p50_ms = at(0.50);
        report.p99_ms = at(0.99);
        report.max_ms = l.back();
    }
    std::printf(
        "charger-sim: %lld chargers connected; %lld calls (%lld CALLERROR, %lld unanswered); CALL to answer p50 %.2f "
        "ms, "
        "p99 %.2f ms, max %.2f ms; %lld sessions started, %lld stopped; %lld charging profiles obeyed\n",
        static_cast<long long>(report.connected),
        static_cast<long long>(report.calls),
        static_cast<long long>(report.call_errors),
        static_cast<long long>(report.timeouts),
        report.p50_ms,
        report.p99_ms,
        report.max_ms,
        static_cast<long long>(report.sessions_started),
        static_cast<long long>(report.sessions_stopped),
        static_cast<long long>(report.profiles_received));
    std::fflush(stdout);
    return report;
}

}  // namespace motorpool::charging::sim
