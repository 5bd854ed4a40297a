// The JSON body reader every route uses: core::parse_json (depth and size limits, exceptions as
// 400/422), core::FieldReader's typed fields with their UTF-8 and range rules, and the writer
// (what is parsed and written again reads back the same).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/text.hpp"
#include "server_fixture.hpp"
#include "target.hpp"

using namespace motorpool;

namespace {

// Equal, exactly: core::parse_json reads doubles with std::from_chars (Boost.JSON 1.81's own
// reading was one or two units in the last place off for some long decimals, found by this
// target), and the writer is exact (std::to_chars).
bool same_value(const boost::json::value& a, const boost::json::value& b) {
    if (a.is_double() && b.is_double()) {
        return a.get_double() == b.get_double();
    }
    if (a.is_double() || b.is_double()) {
        // 1e2 is a double that AsJavaScript writes as 100, which reads back as an integer.
        return a.is_number() && b.is_number() && a.to_number<double>() == b.to_number<double>();
    }
    if (a.kind() != b.kind()) {
        return false;
    }
    if (a.is_array()) {
        const auto& x = a.get_array();
        const auto& y = b.get_array();
        if (x.size() != y.size()) {
            return false;
        }
        for (std::size_t i = 0; i < x.size(); ++i) {
            if (!same_value(x[i], y[i])) {
                return false;
            }
        }
        return true;
    }
    if (a.is_object()) {
        const auto& x = a.get_object();
        const auto& y = b.get_object();
        if (x.size() != y.size()) {
            return false;
        }
        for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
            if (i->key() != j->key() || !same_value(i->value(), j->value())) {
                return false;
            }
        }
        return true;
    }
    return a == b;
}

}  // namespace

int motorpool::fuzz::json_body(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    boost::json::value value;
    try {
        value = core::parse_json(text);
    } catch (const core::ApiError& e) {
        if (e.status() != 400 && e.status() != 413 && e.status() != 422) {
            fuzz::fail("parse_json threw an unexpected status", text);
        }
        return 0;
    }
    for (auto whole : {core::WholeDoubles::AsJavaScript, core::WholeDoubles::KeepFraction}) {
        const std::string once = core::to_json_text(value, whole);
        if (!same_value(value, core::parse_json(once))) {
            fuzz::fail("written JSON does not read back the same", once);
        }
    }
    if (!value.is_object()) {
        return 0;
    }
    const boost::json::object& object = value.as_object();
    core::FieldReader reader(object);
    std::size_t n = 0;
    for (const auto& [key, v] : object) {
        // Each reader on each field, as handlers use them; each must record a problem or succeed.
        switch (n++ % 6) {
            case 0:
                reader.string(key, core::Presence::Required, 1, 64);
                break;
            case 1:
                reader.string(key, core::Presence::Optional, 0, 4000, core::TextKind::MultiLine);
                break;
            case 2:
                reader.integer(key, core::Presence::Required, -1000, 1000);
                break;
            case 3:
                reader.number(key, core::Presence::Optional, -90, 90);
                break;
            case 4:
                reader.boolean(key, core::Presence::Required);
                break;
            default:
                reader.value(key, core::Presence::Optional);
                break;
        }
    }
    reader.integer("absent", core::Presence::Optional);
    const bool allow_unknown = n % 2 == 0;
    const bool ok = reader.ok();
    try {
        reader.finish(allow_unknown);
    } catch (const core::ApiError& e) {
        // Unknown fields are found by finish() itself; allowed ones never fail it.
        if (e.status() != 422 || (ok && allow_unknown)) {
            fuzz::fail("FieldReader::finish threw without a problem", text);
        }
        return 0;
    }
    if (!ok) {
        fuzz::fail("FieldReader::finish passed a recorded problem", text);
    }
    return 0;
}
