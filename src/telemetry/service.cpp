// Owner-scoped reads, history aggregation, retention, and the dongle batch format.

#include "service.hpp"

#include <algorithm>
#include <variant>

#include <boost/json.hpp>

#include "core/errors.hpp"
#include "core/json.hpp"

namespace motorpool::telemetry {

namespace json = boost::json;
using core::ApiError;
using db::Connection;
using db::Value;

namespace {

constexpr std::size_t kMaxSamples = 10'000;
constexpr std::size_t kMaxErrors = 100;  // problems named in one 422

LatestValue latest_from(const db::Row& r) {
    LatestValue v;
    v.signal = find_signal(static_cast<int>(r.int64(0)));
    v.t_ms = r.int64(1);
    v.number = r.opt_real(2);
    v.text = r.opt_text(3);
    v.source = source_from_id(r.int64(4)).value_or(Source::Dongle);
    return v;
}

std::map<int, LatestValue> read_latest(Connection& c, std::int64_t vehicle_id) {
    auto rows = c.query(
        "SELECT signal_id, t_ms, value_num, value_text, source FROM signal_latest WHERE vehicle_id = $1", {vehicle_id});
    std::map<int, LatestValue> out;
    for (std::size_t i = 0; i < rows.size(); ++i) {
        LatestValue v = latest_from(rows.row(i));
        if (v.signal != nullptr) {  // a signal a newer binary stored and this one does not know
            out.emplace(v.signal->id, std::move(v));
        }
    }
    return out;
}

}  // namespace

TelemetryService::TelemetryService(db::Database& database,
                                   std::shared_ptr<Ingestor> ingestor,
                                   std::shared_ptr<core::Clock> clock,
                                   std::shared_ptr<FleetFields> fleet_fields)
    : database_(database),
      ingestor_(std::move(ingestor)),
      clock_(std::move(clock)),
      fleet_fields_(std::move(fleet_fields)) {}

std::pair<vehicles::VehicleRef, std::map<int, LatestValue>> TelemetryService::authorized_latest(
    const Actor& actor, const std::string& key) {
    return database_.with_reader([&](Connection& c) {
        auto ref = vehicles::vehicle_for(c, actor, key, auth::Access::Read);
        auto values = read_latest(c, ref.id);
        return std::make_pair(std::move(ref), std::move(values));
    });
}

vehicles::VehicleRef TelemetryService::authorize(const Actor& actor, const std::string& key, bool write) {
    return database_.with_reader([&](Connection& c) {
        return vehicles::vehicle_for(c,
                                     actor,
                                     key,
                                     write ? auth::Access::Write : auth::Access::Read,
                                     "Only the owner, fleet managers and admins may add data to this vehicle");
    });
}

std::map<int, LatestValue> TelemetryService::latest(std::int64_t vehicle_id) {
    return database_.with_reader([&](Connection& c) { return read_latest(c, vehicle_id); });
}

std::vector<Point> TelemetryService::history(std::int64_t vehicle_id, const HistoryQuery& q) {
    return database_.with_reader([&](Connection& c) {
        std::vector<Point> out;
        const Value vehicle = vehicle_id;
        const Value signal = static_cast<std::int64_t>(q.signal->id);
        if (q.bucket_ms == 0) {
            auto rows = c.query(
                "SELECT t_ms, value_num, value_text FROM signal_history WHERE vehicle_id = $1 AND signal_id = $2 "
                "AND t_ms >= $3 AND t_ms < $4 ORDER BY t_ms LIMIT $5",
                {vehicle, signal, q.from_ms, q.to_ms, q.limit});
            for (std::size_t i = 0; i < rows.size(); ++i) {
                auto r = rows.row(i);
                out.push_back({r.int64(0), r.opt_real(1), r.opt_text(2)});
            }
            return out;
        }
        // Buckets start at UTC multiples of the bucket width (epoch-aligned, as 1d = midnight UTC).
        const bool postgres = c.dialect() == db::Dialect::Postgres;
        if (!postgres) {
            // SQLite would sort the range into a temporary B-tree for GROUP BY (t_ms / width); the key
            // already yields rows in time order, so one streaming pass aggregates each bucket.
            Point current{-1, std::nullopt, std::nullopt};
            double sum = 0;
            std::int64_t count = 0;
            std::int64_t numbers = 0;
            auto flush = [&] {
                if (current.t_ms < 0) {
                    return;
                }
                if (q.agg == "avg") {
                    current.number =
                        numbers > 0 ? std::optional<double>(sum / static_cast<double>(numbers)) : std::nullopt;
                } else if (q.agg == "count") {
                    current.number = static_cast<double>(count);
                }
                out.push_back(std::move(current));
            };
            auto on_row = [&](std::span<const Value> row) {
                const std::int64_t t = std::get<std::int64_t>(row[0]);
                const std::int64_t bucket = t / q.bucket_ms * q.bucket_ms;
                const double* number = std::get_if<double>(&row[1]);
                const std::int64_t* integer = std::get_if<std::int64_t>(&row[1]);
                std::optional<double> v = number    ? std::optional<double>(*number)
                                          : integer ? std::optional<double>(static_cast<double>(*integer))
                                                    : std::nullopt;
                if (bucket != current.t_ms) {
                    flush();
                    if (static_cast<std::int64_t>(out.size()) >= q.limit) {
                        current.t_ms = -2;  // full: ignore the rest
                        return;
                    }
                    current = Point{bucket, std::nullopt, std::nullopt};
                    sum = 0;
                    count = 0;
                    numbers = 0;
                } else if (current.t_ms == -2) {
                    return;
                }
                ++count;
                if (v) {
                    ++numbers;
                    sum += *v;
                    if (q.agg == "min") {
                        current.number = current.number ? std::min(*current.number, *v) : *v;
                    } else if (q.agg == "max") {
                        current.number = current.number ? std::max(*current.number, *v) : *v;
                    }
                }
                if (q.agg == "last") {  // rows arrive in time order: the last one seen wins
                    current.number = v;
                    const std::string* text = std::get_if<std::string>(&row[2]);
                    current.text = text ? std::optional<std::string>(*text) : std::nullopt;
                }
            };
            c.query_each(
                "SELECT t_ms, value_num, value_text FROM signal_history WHERE vehicle_id = $1 AND signal_id = $2 "
                "AND t_ms >= $3 AND t_ms < $4 ORDER BY t_ms",
                std::vector<Value>{vehicle, signal, q.from_ms, q.to_ms},
                on_row);
            if (current.t_ms >= 0) {
                flush();
            }
            return out;
        }
        std::string value;
        if (q.agg == "avg") {
            value = "AVG(value_num), NULL";
        } else if (q.agg == "min") {
            value = "MIN(value_num), NULL";
        } else if (q.agg == "max") {
            value = "MAX(value_num), NULL";
        } else if (q.agg == "count") {
            value = "COUNT(*), NULL";
        } else {  // last
            value = "(array_agg(value_num ORDER BY t_ms DESC))[1], (array_agg(value_text ORDER BY t_ms DESC))[1]";
        }
        auto rows = c.query("SELECT (t_ms / $5) * $5 AS bucket, " + value +
                                " FROM signal_history WHERE vehicle_id = $1 AND signal_id = $2 AND t_ms >= $3 AND "
                                "t_ms < $4 GROUP BY (t_ms / $5) ORDER BY 1 LIMIT $6",
                            {vehicle, signal, q.from_ms, q.to_ms, q.bucket_ms, q.limit});
        for (std::size_t i = 0; i < rows.size(); ++i) {
            auto r = rows.row(i);
            out.push_back({r.int64(0), r.opt_real(1), r.opt_text(2)});
        }
        return out;
    });
}

std::optional<std::pair<vehicles::VehicleRef, std::map<int, LatestValue>>> TelemetryService::first_with_data(
    const Actor& actor) {
    return database_.with_reader(
        [&](Connection& c) -> std::optional<std::pair<vehicles::VehicleRef, std::map<int, LatestValue>>> {
            auto rows = c.query(
                "SELECT v.id, v.public_id, v.vin, v.owner_id FROM vehicles v WHERE v.owner_id = $1 AND EXISTS "
                "(SELECT 1 FROM signal_latest l WHERE l.vehicle_id = v.id) ORDER BY v.id LIMIT 1",
                {actor.user_id});
            if (rows.empty()) {
                return std::nullopt;
            }
            auto r = rows.front();
            vehicles::VehicleRef ref{r.int64(0), r.text(1), r.text(2), r.opt_int64(3)};
            return std::make_pair(ref, read_latest(c, ref.id));
        });
}

namespace {

void require_staff(const Actor& actor) {
    if (!auth::sees_all_rows(actor.role)) {
        throw ApiError::forbidden("The fleet view is for fleet managers, support and admins");
    }
}

constexpr const char* kFleetColumns =
    "SELECT v.id, v.public_id, v.vin, v.make, v.model, u.public_id FROM vehicles v LEFT JOIN users u ON u.id = "
    "v.owner_id";

FleetVehicle fleet_vehicle_from(const db::Row& r) {
    FleetVehicle v;
    v.id = r.int64(0);
    v.public_id = r.text(1);
    v.vin = r.text(2);
    v.make = r.text(3);
    v.model = r.text(4);
    v.owner_public_id = r.opt_text(5);
    return v;
}

// The latest values of every vehicle in `items`, in one query.
void attach_latest(Connection& c, std::vector<FleetVehicle>& items) {
    if (items.empty()) {
        return;
    }
    std::string sql =
        "SELECT vehicle_id, signal_id, t_ms, value_num, value_text, source FROM signal_latest WHERE vehicle_id IN (";
    std::vector<Value> ids;
    std::map<std::int64_t, FleetVehicle*> by_id;
    for (auto& v : items) {
        sql += (ids.empty() ? "$" : ", $") + std::to_string(ids.size() + 1);
        ids.emplace_back(v.id);
        by_id[v.id] = &v;
    }
    auto rows = c.query(sql + ")", ids);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        auto r = rows.row(i);
        LatestValue value;
        value.signal = find_signal(static_cast<int>(r.int64(1)));
        if (value.signal == nullptr) {
            continue;
        }
        value.t_ms = r.int64(2);
        value.number = r.opt_real(3);
        value.text = r.opt_text(4);
        value.source = source_from_id(r.int64(5)).value_or(Source::Dongle);
        by_id.at(r.int64(0))->latest.emplace(value.signal->id, std::move(value));
    }
}

void attach_fields(Connection& c, const FleetFields& fields, std::vector<FleetVehicle>& items) {
    if (fields.empty() || items.empty()) {
        return;
    }
    std::vector<std::int64_t> ids;
    ids.reserve(items.size());
    for (const auto& v : items) {
        ids.push_back(v.id);
    }
    for (const auto& field : fields) {
        auto values = field.read(c, ids);
        for (auto& v : items) {
            auto it = values.find(v.id);
            v.fields[field.name] = it == values.end() ? boost::json::value(nullptr) : std::move(it->second);
        }
    }
}

}  // namespace

FleetPage TelemetryService::fleet(const Actor& actor, const http::PageQuery& query) {
    require_staff(actor);
    return database_.with_reader([&](Connection& c) {
        FleetPage page;
        std::vector<Value> params{query.page_size + (query.keyset ? 1 : 0)};
        std::string sql = kFleetColumns;
        if (query.keyset) {
            if (query.after) {
                params.emplace_back(*query.after);
                sql += " WHERE v.id > $2";
            }
            sql += " ORDER BY v.id LIMIT $1";
        } else {
            params.emplace_back(query.offset());
            sql += " ORDER BY v.id LIMIT $1 OFFSET $2";
            page.total = c.query("SELECT COUNT(*) FROM vehicles").front().int64(0);
        }
        auto rows = c.query(sql, params);
        const std::size_t shown = std::min(rows.size(), static_cast<std::size_t>(query.page_size));
        for (std::size_t i = 0; i < shown; ++i) {
            page.items.push_back(fleet_vehicle_from(rows.row(i)));
        }
        if (query.keyset && rows.size() > shown) {
            page.next_after = page.items.back().id;
        }
        attach_latest(c, page.items);
        attach_fields(c, *fleet_fields_, page.items);
        return page;
    });
}

FleetVehicle TelemetryService::fleet_vehicle(const Actor& actor, const std::string& key) {
    require_staff(actor);
    return database_.with_reader([&](Connection& c) {
        auto ref = vehicles::find_vehicle_ref(c, key);
        if (!ref) {
            throw ApiError::not_found("Vehicle");
        }
        auto rows = c.query(std::string(kFleetColumns) + " WHERE v.id = $1", {ref->id});
        if (rows.empty()) {
            throw ApiError::not_found("Vehicle");
        }
        std::vector<FleetVehicle> one{fleet_vehicle_from(rows.front())};
        attach_latest(c, one);
        attach_fields(c, *fleet_fields_, one);
        return std::move(one.front());
    });
}

std::vector<Sample> parse_dongle_batch(std::string_view body, std::int64_t vehicle_id, std::int64_t now_ms) {
    json::object root = core::parse_json_object(body);
    core::FieldReader top(root);
    auto start =
        top.integer("start_timestamp_ms", core::Presence::Optional, kOldestSampleMs, now_ms + kSampleFutureSlackMs);
    auto end =
        top.integer("end_timestamp_ms", core::Presence::Optional, kOldestSampleMs, now_ms + kSampleFutureSlackMs);
    const json::value* samples_value = top.value("samples", core::Presence::Required);
    if (start && end && *start > *end) {
        top.fail("end_timestamp_ms", "must not be before start_timestamp_ms");
    }
    if (samples_value != nullptr && !samples_value->is_array()) {
        top.fail("samples", "must be an array");
    }
    top.finish();
    const json::array& items = samples_value->as_array();
    if (items.empty()) {
        throw ApiError::validation({{"samples", "must hold at least one sample"}});
    }
    if (items.size() > kMaxSamples) {
        throw ApiError(
            413, "Payload Too Large", "A batch holds at most 10000 samples; got " + std::to_string(items.size()));
    }

    // Dongle fields -> catalog signals, each held to its signal's range in the catalog.
    struct Field {
        const char* name;
        const SignalInfo* signal;
    };
    static const Field kFields[] = {
        {"speed_kmh", find_signal("Motion.Speed")},
        {"fuel_rate_lph", find_signal("Fuel.Rate")},
        {"odometer_km", find_signal("Odometer.TraveledDistance")},
        {"rpm", find_signal("Engine.RPM")},
        {"soc_pct", find_signal("TractionBattery.StateOfCharge")},
        {"fuel_level_pct", find_signal("InternalCombustionEngine.FuelLevel")},
    };
    const SignalInfo* location = find_signal("Location.PreciseLocation");

    std::vector<Sample> out;
    out.reserve(items.size() * 3);
    // Every bad sample is named (up to kMaxErrors), not only the first: one 422 says it all.
    std::vector<core::FieldError> errors;
    for (std::size_t i = 0; i < items.size() && errors.size() < kMaxErrors; ++i) {
        const std::string prefix = "samples[" + std::to_string(i) + "]";
        if (!items[i].is_object()) {
            errors.push_back({prefix, "must be an object"});
            continue;
        }
        const json::object& o = items[i].as_object();
        core::FieldReader r(o, prefix);
        auto t = r.integer("t_ms", core::Presence::Required);
        if (t) {
            if (auto problem = sample_time_problem(*t, now_ms); !problem.empty()) {
                r.fail("t_ms", std::move(problem));
            }
        }
        std::size_t first = out.size();
        for (const auto& f : kFields) {
            if (auto v = r.number(f.name, core::Presence::Optional, f.signal->min, f.signal->max)) {
                Sample s;
                s.vehicle_id = vehicle_id;
                s.signal = f.signal->id;
                s.t_ms = t.value_or(0);
                s.number = *v;
                out.push_back(std::move(s));
            }
        }
        auto lat = r.number("latitude", core::Presence::Optional, -90, 90);
        auto lon = r.number("longitude", core::Presence::Optional, -180, 180);
        auto heading = r.number("heading", core::Presence::Optional, 0, 360);
        if (lat.has_value() != lon.has_value()) {
            r.fail(lat ? "longitude" : "latitude", "latitude and longitude go together");
        } else if (lat) {
            json::object value{{"latitude", *lat}, {"longitude", *lon}};
            value["heading"] = heading ? json::value(*heading) : json::value(nullptr);
            Sample s;
            s.vehicle_id = vehicle_id;
            s.signal = location->id;
            s.t_ms = t.value_or(0);
            s.text = core::to_json_text(value, core::WholeDoubles::KeepFraction);
            out.push_back(std::move(s));
        } else if (heading) {
            r.fail("heading", "needs latitude and longitude");
        }
        if (r.ok() && out.size() == first) {
            r.fail("t_ms", "the sample carries no signal value");
        }
        if (t && start && *t < *start) {
            r.fail("t_ms", "is before start_timestamp_ms");
        }
        if (t && end && *t > *end) {
            r.fail("t_ms", "is after end_timestamp_ms");
        }
        r.finish_into(errors, kMaxErrors);  // unknown fields, wrong types: the whole batch is refused
    }
    if (!errors.empty()) {
        throw ApiError::validation(std::move(errors));
    }
    return out;
}

}  // namespace motorpool::telemetry
