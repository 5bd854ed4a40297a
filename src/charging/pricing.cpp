#include "pricing.hpp"

#include <algorithm>
#include <cmath>

#include <boost/json.hpp>

#include "core/json.hpp"

namespace motorpool::charging {
namespace json = boost::json;

namespace {

bool price_ok(const json::value& v) {
    return v.is_number() && v.to_number<double>() >= 0 && v.to_number<double>() <= 1000;
}

/// The next wall-clock hour boundary after `at_ms` (transitions fall on hour boundaries, so this
/// holds across DST: a 23- or 25-hour day has 23 or 25 of them).
std::int64_t next_hour(const core::TimeZone& zone, std::int64_t at_ms) {
    const core::LocalTime t = zone.local(at_ms);
    const std::int64_t into_second = ((at_ms % 1000) + 1000) % 1000;
    const std::int64_t into_hour = (static_cast<std::int64_t>(t.minute) * 60 + t.second) * 1000 + into_second;
    return at_ms - into_hour + 3'600'000;
}

double tou(const Tariff& t, const core::TimeZone& zone, std::int64_t at_ms) {
    const core::LocalTime local = zone.local(at_ms);
    return t.price_per_kwh[static_cast<std::size_t>(local.weekday)][static_cast<std::size_t>(local.hour)];
}

}  // namespace

std::optional<Tariff> read_tariff(const json::value& v,
                                  const std::string& field,
                                  std::vector<core::FieldError>& errors) {
    if (!v.is_object()) {
        errors.push_back(
            {field, "must be an object {currency, price_per_kwh, congestion_threshold_pct, congestion_price_per_kwh}"});
        return std::nullopt;
    }
    const auto& o = v.as_object();
    Tariff t;
    const std::size_t before = errors.size();
    for (const auto& kv : o) {
        const std::string key(kv.key());
        if (key != "currency" && key != "price_per_kwh" && key != "congestion_threshold_pct" &&
            key != "congestion_price_per_kwh") {
            errors.push_back({field + "." + key, "is not a tariff field"});
        }
    }
    if (const auto* c = o.if_contains("currency")) {
        const bool ok =
            c->is_string() && c->as_string().size() == 3 &&
            std::all_of(c->as_string().begin(), c->as_string().end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
        if (!ok) {
            errors.push_back({field + ".currency", "must be an ISO 4217 code such as EUR"});
        } else {
            t.currency = std::string(c->as_string());
        }
    }
    const auto* prices = o.if_contains("price_per_kwh");
    if (prices == nullptr) {
        errors.push_back({field + ".price_per_kwh", "is required"});
    } else if (price_ok(*prices)) {
        for (auto& day : t.price_per_kwh) {
            day.fill(prices->to_number<double>());
        }
    } else if (prices->is_array() && prices->as_array().size() == 7) {
        for (std::size_t d = 0; d < 7; ++d) {
            const auto& day = prices->as_array()[d];
            if (!day.is_array() || day.as_array().size() != 24 ||
                !std::all_of(day.as_array().begin(), day.as_array().end(), price_ok)) {
                errors.push_back({field + ".price_per_kwh[" + std::to_string(d) + "]",
                                  "must be 24 prices (0 to 1000 per kWh), one per local hour"});
                continue;
            }
            for (std::size_t h = 0; h < 24; ++h) {
                t.price_per_kwh[d][h] = day.as_array()[h].to_number<double>();
            }
        }
    } else {
        errors.push_back({field + ".price_per_kwh",
                          "must be a price (0 to 1000 per kWh) or 7 days (Monday first) of 24 hourly prices"});
    }
    if (const auto* p = o.if_contains("congestion_threshold_pct")) {
        if (!p->is_number() || p->to_number<double>() < 0 || p->to_number<double>() > 100) {
            errors.push_back({field + ".congestion_threshold_pct", "must be a number from 0 to 100"});
        } else {
            t.congestion_threshold_pct = p->to_number<double>();
        }
    }
    if (const auto* p = o.if_contains("congestion_price_per_kwh")) {
        if (!price_ok(*p)) {
            errors.push_back({field + ".congestion_price_per_kwh", "must be a price from 0 to 1000 per kWh"});
        } else {
            t.congestion_price_per_kwh = p->to_number<double>();
        }
    }
    if (errors.size() != before) {
        return std::nullopt;
    }
    return t;
}

json::value tariff_json(const Tariff& t) {
    json::array days;
    for (const auto& day : t.price_per_kwh) {
        json::array hours;
        for (double p : day) {
            hours.push_back(p);
        }
        days.push_back(std::move(hours));
    }
    return json::object{{"currency", t.currency},
                        {"price_per_kwh", std::move(days)},
                        {"congestion_threshold_pct", t.congestion_threshold_pct},
                        {"congestion_price_per_kwh", t.congestion_price_per_kwh}};
}

std::string tariff_text(const Tariff& t) {
    return json::serialize(tariff_json(t));
}

std::optional<Tariff> tariff_from_text(const std::optional<std::string>& text) {
    if (!text || text->empty()) {
        return std::nullopt;
    }
    std::vector<core::FieldError> errors;
    boost::system::error_code ec;
    json::value v = json::parse(*text, ec);
    if (ec) {
        return std::nullopt;
    }
    return read_tariff(v, "tariff", errors);
}

double price_at(const Tariff& t, const core::TimeZone& zone, std::int64_t at_ms, double load_share) {
    double price = tou(t, zone, at_ms);
    if (t.congestion_price_per_kwh > 0 && load_share * 100.0 > t.congestion_threshold_pct) {
        price += t.congestion_price_per_kwh;
    }
    return price;
}

double energy_cost(const Tariff& t, const core::TimeZone& zone, std::int64_t from_ms, std::int64_t to_ms, double kw) {
    double cost = 0;
    for (std::int64_t at = from_ms; at < to_ms;) {
        const std::int64_t end = std::min(to_ms, next_hour(zone, at));
        cost += kw * static_cast<double>(end - at) / 3'600'000.0 * tou(t, zone, at);
        at = end;
    }
    return cost;
}

std::vector<PricePoint> price_forecast(const Tariff& t, const core::TimeZone& zone, std::int64_t now_ms, int hours) {
    std::vector<PricePoint> out;
    const std::int64_t end = now_ms + static_cast<std::int64_t>(hours) * 3'600'000;
    for (std::int64_t at = now_ms; at < end;) {
        const std::int64_t next = std::min(end, next_hour(zone, at));
        out.push_back({at, next, tou(t, zone, at)});
        at = next;
    }
    return out;
}

}  // namespace motorpool::charging
