// CSV import: parse, validate each row, then upsert by VIN a batch per transaction with multi-row
// INSERTs. Counts say what happened to each row; a bad row is reported and skipped.

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <boost/json.hpp>

#include "core/errors.hpp"
#include "core/ids.hpp"
#include "core/text.hpp"
#include "core/time.hpp"
#include "csv.hpp"
#include "model.hpp"
#include "vehicles/vehicles.hpp"
#include "vehicles/vin.hpp"

namespace motorpool::vehicles {

namespace {

using db::Connection;
using db::Value;

enum Column : std::size_t {
    kVin,
    kMake,
    kModel,
    kDescription,
    kImageUrls,
    kTrim,
    kYear,
    kLicensePlate,
    kOdometer,
    kFuelType,
    kDongleId,
    kConnectionType,
    kColumnCount
};

constexpr std::array<std::string_view, kColumnCount> kColumnNames = {"vin",
                                                                     "make",
                                                                     "model",
                                                                     "description",
                                                                     "image_urls",
                                                                     "trim",
                                                                     "year",
                                                                     "license_plate",
                                                                     "odometer_km",
                                                                     "fuel_type",
                                                                     "dongle_id",
                                                                     "connection_type"};

constexpr std::size_t kNone = SIZE_MAX;
constexpr std::size_t kInsertChunk = 500;  // rows per multi-row INSERT (14 parameters each)
constexpr std::size_t kSelectChunk = 500;  // VINs per lookup

struct Layout {
    std::array<std::size_t, kColumnCount> index{};  // CSV field index of each column, or kNone
    std::size_t fields = 0;
    bool has(Column c) const { return index[c] != kNone; }
};

struct PendingRow {
    std::int64_t line = 0;
    Vehicle vehicle;  // content fields only
};

Layout read_header(const std::vector<std::string>& header, std::vector<std::string>& warnings) {
    Layout layout;
    layout.index.fill(kNone);
    layout.fields = header.size();
    for (std::size_t i = 0; i < header.size(); ++i) {
        std::string name = core::to_lower_ascii(trim_text(header[i]));
        auto it = std::find(kColumnNames.begin(), kColumnNames.end(), name);
        if (it == kColumnNames.end()) {
            warnings.push_back("column '" + name + "' is not a vehicle field and was ignored");
            continue;
        }
        auto column = static_cast<std::size_t>(it - kColumnNames.begin());
        if (layout.index[column] != kNone) {
            throw core::InputError("the header names column '" + name + "' twice");
        }
        layout.index[column] = i;
    }
    for (Column required : {kVin, kMake, kModel}) {
        if (!layout.has(required)) {
            throw core::InputError("the header has no '" + std::string(kColumnNames[required]) +
                                   "' column (required: vin, make, model)");
        }
    }
    if (layout.has(kDongleId) != layout.has(kConnectionType)) {
        throw core::InputError("columns dongle_id and connection_type go together");
    }
    return layout;
}

// "a|b|c" or a JSON array of strings.
std::string parse_image_urls(std::string_view cell, std::vector<std::string>& out) {
    std::string text = trim_text(cell);
    if (text.empty()) {
        return {};
    }
    std::vector<std::string> raw;
    if (text.front() == '[') {
        boost::system::error_code ec;
        auto value = boost::json::parse(text, ec);
        if (ec || !value.is_array()) {
            return "image_urls: not a JSON array";
        }
        for (const auto& item : value.as_array()) {
            if (!item.is_string()) {
                return "image_urls: JSON array items must be strings";
            }
            raw.emplace_back(item.as_string());
        }
    } else {
        std::size_t start = 0;
        while (start <= text.size()) {
            auto bar = text.find('|', start);
            std::string part = trim_text(
                std::string_view(text).substr(start, bar == std::string::npos ? std::string::npos : bar - start));
            if (!part.empty()) {
                raw.push_back(std::move(part));
            }
            if (bar == std::string::npos) {
                break;
            }
            start = bar + 1;
        }
    }
    if (raw.size() > kMaxImageUrls) {
        return "image_urls: at most 20 URLs";
    }
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (auto problem = check_image_url(raw[i]); !problem.empty()) {
            return "image_urls[" + std::to_string(i) + "]: " + problem;
        }
    }
    out = std::move(raw);
    return {};
}

// Validates one record; returns the reason it is rejected, or empty with `v` filled.
std::string parse_row(const Layout& layout, const std::vector<std::string>& f, std::int64_t now, Vehicle& v) {
    if (f.size() != layout.fields) {
        return "expected " + std::to_string(layout.fields) + " fields, got " + std::to_string(f.size());
    }
    auto cell = [&](Column c) -> std::string { return layout.has(c) ? trim_text(f[layout.index[c]]) : std::string(); };
    VinCheck check = check_vin(cell(kVin));
    if (!check.valid) {
        return "vin: " + check.error;
    }
    v.vin = check.vin;
    for (auto [column, target] : {std::pair{kMake, &v.make}, std::pair{kModel, &v.model}}) {
        std::string value = cell(column);
        if (auto problem = check_name(value, 64); !problem.empty()) {
            return std::string(kColumnNames[column]) + ": " + problem;
        }
        *target = std::move(value);
    }
    // Optional columns: an empty cell means "no value".
    auto optional_text = [&](Column c, std::optional<std::string>& target, auto check_fn) -> std::string {
        std::string value = cell(c);
        if (value.empty()) {
            return {};
        }
        if (auto problem = check_fn(value); !problem.empty()) {
            return std::string(kColumnNames[c]) + ": " + problem;
        }
        target = std::move(value);
        return {};
    };
    std::string problem;
    if (!(problem = optional_text(kTrim, v.trim, [](std::string_view s) { return check_name(s, 64); })).empty() ||
        !(problem = optional_text(kLicensePlate, v.license_plate, check_plate)).empty() ||
        !(problem = optional_text(kDescription, v.description, check_description)).empty()) {
        return problem;
    }
    if (std::string fuel = core::to_lower_ascii(cell(kFuelType)); !fuel.empty()) {
        if (auto p = check_fuel_type(fuel); !p.empty()) {
            return "fuel_type: " + p;
        }
        v.fuel_type = fuel;
    }
    if (std::string year = cell(kYear); !year.empty()) {
        std::int64_t value = 0;
        auto [end, ec] = std::from_chars(year.data(), year.data() + year.size(), value);
        if (ec != std::errc() || end != year.data() + year.size()) {
            return "year: must be an integer";
        }
        if (auto p = check_year(value, now); !p.empty()) {
            return "year: " + p;
        }
        v.year = value;
    }
    if (std::string km = cell(kOdometer); !km.empty()) {
        double value = 0;
        auto [end, ec] = std::from_chars(km.data(), km.data() + km.size(), value);
        if (ec != std::errc() || end != km.data() + km.size()) {
            return "odometer_km: must be a number";
        }
        if (auto p = check_odometer(value); !p.empty()) {
            return "odometer_km: " + p;
        }
        v.odometer_km = value;
    }
    if (layout.has(kImageUrls)) {
        if (auto p = parse_image_urls(f[layout.index[kImageUrls]], v.image_urls); !p.empty()) {
            return p;
        }
    }
    std::string dongle = cell(kDongleId);
    std::string type = core::to_upper_ascii(cell(kConnectionType));
    if (dongle.empty() != type.empty()) {
        return "dongle_id and connection_type must both be given or both be empty";
    }
    if (!dongle.empty()) {
        if (auto p = check_dongle_id(dongle); !p.empty()) {
            return "dongle_id: " + p;
        }
        if (auto p = check_connection_type(type); !p.empty()) {
            return "connection_type: " + p;
        }
        v.dongle_id = dongle;
        v.connection_type = type;
    }
    return {};
}

std::string placeholders(std::size_t count, std::size_t first = 1) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) {
        if (i > 0) {
            out += ", ";
        }
        out += "$";
        out += std::to_string(first + i);
    }
    return out;
}

// The file's columns overwrite the stored vehicle's; fields the file lacks keep their value.
Vehicle merge(const Vehicle& stored, const Vehicle& row, const Layout& layout) {
    Vehicle out = stored;
    out.make = row.make;
    out.model = row.model;
    if (layout.has(kTrim))
        out.trim = row.trim;
    if (layout.has(kYear))
        out.year = row.year;
    if (layout.has(kLicensePlate))
        out.license_plate = row.license_plate;
    if (layout.has(kOdometer))
        out.odometer_km = row.odometer_km;
    if (layout.has(kFuelType))
        out.fuel_type = row.fuel_type;
    if (layout.has(kDescription))
        out.description = row.description;
    if (layout.has(kImageUrls))
        out.image_urls = row.image_urls;
    if (layout.has(kDongleId)) {
        out.dongle_id = row.dongle_id;
        out.connection_type = row.connection_type;
    }
    return out;
}

class Importer {
public:
    Importer(db::Database& database,
             const Layout& layout,
             std::optional<std::int64_t> owner,
             bool reassign_owner,
             bool skip_existing,
             const core::Clock& clock,
             ImportSummary& summary)
        : database_(database),
          layout_(layout),
          owner_(owner),
          reassign_owner_(reassign_owner),
          skip_existing_(skip_existing),
          clock_(clock),
          summary_(summary) {}

    void reject(std::int64_t line, std::string vin, std::string reason) {
        ++summary_.rejected;
        if (summary_.rejects.size() < kMaxRejectsKept) {
            summary_.rejects.push_back({line, std::move(vin), std::move(reason)});
        }
    }

    // Applies a batch in one transaction. When the database refuses it (a race with another writer,
    // a constraint the checks did not foresee), each row is retried alone so only the bad one fails.
    void flush(std::vector<PendingRow>& batch) {
        if (batch.empty()) {
            return;
        }
        Counts counts;
        std::vector<std::pair<std::int64_t, std::string>> rejected;
        try {
            database_.with_transaction([&](Connection& c) {
                counts = {};
                rejected.clear();
                apply(c, batch, counts, rejected);
            });
        } catch (const db::Error&) {
            counts = {};
            rejected.clear();
            for (auto& row : batch) {
                std::vector<PendingRow> single;
                single.push_back(std::move(row));
                Counts one;
                std::vector<std::pair<std::int64_t, std::string>> one_rejected;
                try {
                    database_.with_transaction([&](Connection& c) {
                        one = {};
                        one_rejected.clear();
                        apply(c, single, one, one_rejected);
                    });
                } catch (const db::Error& e) {
                    one = {};
                    one_rejected = {{single.front().line, std::string("database refused the row: ") + describe(e)}};
                }
                counts.inserted += one.inserted;
                counts.updated += one.updated;
                counts.unchanged += one.unchanged;
                counts.owner_kept += one.owner_kept;
                counts.skipped += one.skipped;
                rejected.insert(rejected.end(), one_rejected.begin(), one_rejected.end());
                row = std::move(single.front());  // the reject report below reads its VIN
            }
        }
        summary_.inserted += counts.inserted;
        summary_.updated += counts.updated;
        summary_.unchanged += counts.unchanged;
        summary_.owner_kept += counts.owner_kept;
        summary_.skipped += counts.skipped;
        for (auto& [line, reason] : rejected) {
            // A copy for the lambda: clang 14 cannot capture a structured binding (C++20, clang 16).
            const std::int64_t at = line;
            auto it = std::find_if(batch.begin(), batch.end(), [at](const PendingRow& r) { return r.line == at; });
            reject(line, it != batch.end() ? it->vehicle.vin : std::string(), std::move(reason));
        }
        batch.clear();
    }

private:
    struct Counts {
        std::int64_t inserted = 0;
        std::int64_t updated = 0;
        std::int64_t unchanged = 0;
        std::int64_t owner_kept = 0;
        std::int64_t skipped = 0;
    };

    static std::string describe(const db::Error& e) {
        switch (e.kind()) {
            case db::Error::Kind::UniqueViolation:
                return "a unique value (VIN or dongle id) is taken";
            case db::Error::Kind::ConstraintViolation:
                return "a value breaks a constraint";
            case db::Error::Kind::ForeignKeyViolation:
                return "a referenced row is missing";
            default:
                return "database error";
        }
    }

    void apply(Connection& c,
               std::vector<PendingRow>& batch,
               Counts& counts,
               std::vector<std::pair<std::int64_t, std::string>>& rejected) {
        const std::int64_t now = clock_.now_ms();
        std::unordered_map<std::string, Vehicle> stored;
        for (std::size_t from = 0; from < batch.size(); from += kSelectChunk) {
            std::size_t n = std::min(kSelectChunk, batch.size() - from);
            std::vector<Value> vins;
            vins.reserve(n);
            for (std::size_t i = 0; i < n; ++i) {
                vins.emplace_back(batch[from + i].vehicle.vin);
            }
            auto rows = c.query(
                std::string("SELECT ") + kVehicleColumns + kVehicleFrom + " WHERE v.vin IN (" + placeholders(n) + ")",
                vins);
            for (std::size_t i = 0; i < rows.size(); ++i) {
                Vehicle v = vehicle_from(rows.row(i));
                stored.emplace(v.vin, std::move(v));
            }
        }
        // Dongle ids: one vehicle each, in the database and within the batch.
        std::unordered_map<std::string, std::string> dongle_holder;  // dongle -> VIN
        if (layout_.has(kDongleId)) {
            std::vector<Value> dongles;
            for (const auto& row : batch) {
                if (row.vehicle.dongle_id) {
                    dongles.emplace_back(*row.vehicle.dongle_id);
                }
            }
            for (std::size_t from = 0; from < dongles.size(); from += kSelectChunk) {
                std::size_t n = std::min(kSelectChunk, dongles.size() - from);
                std::vector<Value> part(dongles.begin() + static_cast<std::ptrdiff_t>(from),
                                        dongles.begin() + static_cast<std::ptrdiff_t>(from + n));
                auto rows =
                    c.query("SELECT dongle_id, vin FROM vehicles WHERE dongle_id IN (" + placeholders(n) + ")", part);
                for (std::size_t i = 0; i < rows.size(); ++i) {
                    dongle_holder[rows.row(i).text(0)] = rows.row(i).text(1);
                }
            }
        }
        std::vector<const Vehicle*> inserts;
        std::vector<Vehicle> updates;
        for (const auto& row : batch) {
            const Vehicle& v = row.vehicle;
            if (v.dongle_id) {
                auto [it, added] = dongle_holder.emplace(*v.dongle_id, v.vin);
                if (!added && it->second != v.vin) {
                    rejected.emplace_back(row.line, "dongle_id: " + *v.dongle_id + " is linked to another vehicle");
                    continue;
                }
            }
            auto found = stored.find(v.vin);
            if (found == stored.end()) {
                inserts.push_back(&v);
                continue;
            }
            if (skip_existing_) {
                ++counts.skipped;  // the original seeder's --skip-existing: known VINs are left as they are
                continue;
            }
            Vehicle merged = merge(found->second, v, layout_);
            // --owner gives known unowned vehicles to the owner too; one another account owns is
            // left with it (counted, so the summary says so) unless --reassign-owner.
            if (owner_ && merged.owner_id != owner_) {
                if (!merged.owner_id || reassign_owner_) {
                    merged.owner_id = owner_;
                } else {
                    ++counts.owner_kept;
                }
            }
            if (merged.same_content(found->second) && merged.owner_id == found->second.owner_id) {
                ++counts.unchanged;
            } else {
                updates.push_back(std::move(merged));
            }
        }
        // Key order: the VIN index (random keys) then takes each batch in one sweep over its pages.
        std::sort(inserts.begin(), inserts.end(), [](const Vehicle* a, const Vehicle* b) { return a->vin < b->vin; });
        insert_rows(c, inserts, now);
        counts.inserted += static_cast<std::int64_t>(inserts.size());
        for (const auto& v : updates) {
            c.execute(
                "UPDATE vehicles SET make = $1, model = $2, vehicle_trim = $3, model_year = $4, license_plate = $5, "
                "odometer_km = $6, fuel_type = $7, description = $8, image_urls = $9, dongle_id = $10, "
                "connection_type = $11, updated_at_ms = $12, owner_id = $14 WHERE id = $13",
                {v.make,
                 v.model,
                 opt_value(v.trim),
                 opt_value(v.year),
                 opt_value(v.license_plate),
                 opt_value(v.odometer_km),
                 opt_value(v.fuel_type),
                 opt_value(v.description),
                 image_urls_text(v.image_urls),
                 opt_value(v.dongle_id),
                 opt_value(v.connection_type),
                 now,
                 v.id,
                 opt_value(v.owner_id)});
        }
        counts.updated += static_cast<std::int64_t>(updates.size());
    }

    void insert_rows(Connection& c, const std::vector<const Vehicle*>& rows, std::int64_t now) {
        constexpr std::size_t kColumns = 15;
        for (std::size_t from = 0; from < rows.size(); from += kInsertChunk) {
            std::size_t n = std::min(kInsertChunk, rows.size() - from);
            std::string sql =
                "INSERT INTO vehicles (public_id, vin, owner_id, make, model, vehicle_trim, model_year, license_plate, "
                "odometer_km, fuel_type, description, image_urls, dongle_id, connection_type, created_at_ms, "
                "updated_at_ms) VALUES ";
            std::vector<Value> params;
            params.reserve(n * kColumns + 1);
            params.emplace_back(now);  // $1: both timestamps of every row
            for (std::size_t i = 0; i < n; ++i) {
                const Vehicle& v = *rows[from + i];
                if (i > 0) {
                    sql += ", ";
                }
                sql += '(';
                sql += placeholders(kColumns - 1, params.size() + 1);
                sql += ", $1, $1)";
                params.emplace_back(core::new_uuid_v7(now));
                params.emplace_back(v.vin);
                params.push_back(opt_value(owner_));
                params.emplace_back(v.make);
                params.emplace_back(v.model);
                params.push_back(opt_value(v.trim));
                params.push_back(opt_value(v.year));
                params.push_back(opt_value(v.license_plate));
                params.push_back(opt_value(v.odometer_km));
                params.push_back(opt_value(v.fuel_type));
                params.push_back(opt_value(v.description));
                params.emplace_back(image_urls_text(v.image_urls));
                params.push_back(opt_value(v.dongle_id));
                params.push_back(opt_value(v.connection_type));
            }
            c.query(sql, params);
        }
    }

    db::Database& database_;
    const Layout& layout_;
    std::optional<std::int64_t> owner_;
    bool reassign_owner_ = false;
    bool skip_existing_ = false;
    const core::Clock& clock_;
    ImportSummary& summary_;
};

// A bounded hand-off between the reading thread and the writing thread.
class BatchQueue {
public:
    explicit BatchQueue(std::size_t capacity) : capacity_(capacity) {}

    /// Blocks while full; false when the queue was closed (the writer failed).
    bool push(std::vector<PendingRow> batch) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
        if (closed_) {
            return false;
        }
        items_.push_back(std::move(batch));
        changed_.notify_all();
        return true;
    }

    /// Blocks while empty; false once closed and drained.
    bool pop(std::vector<PendingRow>& out) {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [&] { return closed_ || !items_.empty(); });
        if (items_.empty()) {
            return false;
        }
        out = std::move(items_.front());
        items_.pop_front();
        changed_.notify_all();
        return true;
    }

    void close() {
        std::lock_guard lock(mutex_);
        closed_ = true;
        changed_.notify_all();
    }

private:
    std::size_t capacity_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<std::vector<PendingRow>> items_;
    bool closed_ = false;
};

}  // namespace

ImportSummary import_vehicles_csv(db::Database& database, std::string_view csv, const ImportOptions& options) {
    const auto started = std::chrono::steady_clock::now();
    ImportSummary summary;
    CsvReader reader(csv);
    std::vector<std::string> fields;
    std::string error;
    CsvReader::Status status = reader.next(fields, error);
    if (status != CsvReader::Status::Record) {
        throw core::InputError(status == CsvReader::Status::End ? "the file is empty: a header row is required"
                                                                : "the header row is malformed: " + error);
    }
    const Layout layout = read_header(fields, summary.warnings);

    std::optional<std::int64_t> owner;
    if (options.owner_email) {
        std::string email = core::to_lower_ascii(trim_text(*options.owner_email));
        auto rows = database.with_reader(
            [&](Connection& c) { return c.query("SELECT id FROM users WHERE email = $1", {email}); });
        if (rows.empty()) {
            throw core::InputError("no user has the e-mail address " + email);
        }
        owner = rows.front().int64(0);
    }

    // Two stages on two threads: this one reads and validates, a writer thread applies batches.
    // The queue holds two batches, so the reader stays at most two batches ahead.
    ImportSummary written;  // the writer's counts and rejects, merged below
    const std::shared_ptr<core::Clock> clock = options.clock ? options.clock : std::make_shared<core::SystemClock>();
    Importer importer(database, layout, owner, options.reassign_owner, options.skip_existing, *clock, written);
    BatchQueue queue(2);
    std::exception_ptr writer_error;
    std::thread writer([&] {
        try {
            std::vector<PendingRow> next;
            while (queue.pop(next)) {
                importer.flush(next);
            }
        } catch (...) {
            writer_error = std::current_exception();
            queue.close();
        }
    });
    auto reject = [&summary](std::int64_t line, std::string vin, std::string reason) {
        ++summary.rejected;
        if (summary.rejects.size() < kMaxRejectsKept) {
            summary.rejects.push_back({line, std::move(vin), std::move(reason)});
        }
    };
    std::vector<PendingRow> batch;
    // Each VIN's first line: a VIN repeated within one file is rejected, naming that line, rather
    // than letting the last row silently win. Checked VINs are 17 upper-case characters.
    std::unordered_map<std::string, std::int64_t> first_line_of_vin;
    const std::size_t batch_size = std::max<std::size_t>(1, options.batch_size);
    const std::int64_t now = clock->now_ms();
    bool writer_alive = true;
    auto hand_off = [&] {
        if (!batch.empty()) {
            writer_alive = queue.push(std::move(batch));
            batch = {};
            batch.reserve(batch_size);
        }
        if (options.progress) {
            options.progress(summary.rows, reader.offset(), csv.size());
        }
    };
    batch.reserve(batch_size);
    while (writer_alive && (!options.limit || summary.rows < *options.limit)) {
        status = reader.next(fields, error);
        if (status == CsvReader::Status::End) {
            break;
        }
        ++summary.rows;
        std::int64_t line = reader.record_line();
        if (status == CsvReader::Status::Malformed) {
            reject(line, {}, error);
            continue;
        }
        PendingRow row;
        row.line = line;
        if (auto reason = parse_row(layout, fields, now, row.vehicle); !reason.empty()) {
            std::string vin = layout.fields == fields.size() ? trim_text(fields[layout.index[kVin]]) : std::string();
            reject(line, vin.size() <= 32 ? vin : vin.substr(0, 32), std::move(reason));
            continue;
        }
        if (auto [it, first] = first_line_of_vin.emplace(row.vehicle.vin, line); !first) {
            reject(line,
                   row.vehicle.vin,
                   "vin: repeats the VIN of line " + std::to_string(it->second) + " (one row per vehicle in a file)");
            continue;
        }
        batch.push_back(std::move(row));
        if (batch.size() >= batch_size) {
            hand_off();
        }
    }
    hand_off();
    queue.close();
    writer.join();
    if (writer_error) {
        std::rethrow_exception(writer_error);
    }
    summary.inserted = written.inserted;
    summary.updated = written.updated;
    summary.unchanged = written.unchanged;
    summary.owner_kept = written.owner_kept;
    summary.skipped = written.skipped;
    summary.rejected += written.rejected;
    summary.rejects.insert(summary.rejects.end(), written.rejects.begin(), written.rejects.end());
    std::stable_sort(summary.rejects.begin(), summary.rejects.end(), [](const ImportReject& a, const ImportReject& b) {
        return a.line < b.line;
    });
    if (summary.rejects.size() > kMaxRejectsKept) {
        summary.rejects.resize(kMaxRejectsKept);
    }
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return summary;
}

}  // namespace motorpool::vehicles
