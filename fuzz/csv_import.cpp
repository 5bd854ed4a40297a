// The vehicle CSV importer (the CLI's and POST /api/v1/vehicles/import's): the RFC 4180 reader on
// its own (every record read, progress always forward, a bad record never swallows the rest), then
// the whole import into a real SQLite database (rows counted once each, whatever they hold).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "app/app.hpp"
#include "core/errors.hpp"
#include "core/worker_pool.hpp"
#include "csv.hpp"
#include "db/db.hpp"
#include "server_fixture.hpp"
#include "target.hpp"
#include "vehicles/vehicles.hpp"

using namespace motorpool;

namespace {

db::Database& database() {
    static core::WorkerPool workers(1, 16);
    static std::unique_ptr<db::Database> database = [] {
        std::string dir = (std::filesystem::temp_directory_path() / "motorpool-fuzz-csv-XXXXXX").string();
        if (::mkdtemp(dir.data()) == nullptr) {
            std::abort();
        }
        db::Options options;
        options.url = "sqlite:///" + dir + "/csv.db";
        options.pool_size = 1;
        options.sqlite_synchronous_full = false;  // a scratch database: no fsync per import
        auto opened = db::Database::open(options, workers, nullptr);
        db::migrate(*opened, app::migrations(opened->dialect()));
        return opened;
    }();
    return *database;
}

void read_every_record(std::string_view text) {
    vehicles::CsvReader reader(text, 4096);
    std::vector<std::string> fields;
    std::string error;
    std::size_t last_offset = 0;
    std::int64_t last_line = 0;
    for (std::size_t records = 0;; ++records) {
        const auto status = reader.next(fields, error);
        if (status == vehicles::CsvReader::Status::End) {
            return;
        }
        if (records > text.size() + 1) {
            fuzz::fail("the CSV reader returns more records than the text has bytes", text);
        }
        if (reader.record_line() < last_line || (records > 0 && reader.offset() <= last_offset)) {
            fuzz::fail("the CSV reader went backwards or stood still", text);
        }
        if (status == vehicles::CsvReader::Status::Malformed && error.empty()) {
            fuzz::fail("a malformed record without a reason", text);
        }
        last_line = reader.record_line();
        last_offset = reader.offset();
    }
}

}  // namespace

int motorpool::fuzz::csv_import(const std::uint8_t* data, std::size_t size) {
    if (size > 64 * 1024) {
        return -1;
    }
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    read_every_record(text);
    vehicles::ImportOptions options;
    options.limit = 500;
    options.batch_size = 64;
    options.skip_existing = size % 2 == 0;
    try {
        const auto s = vehicles::import_vehicles_csv(database(), text, options);
        const std::int64_t counted = s.inserted + s.updated + s.unchanged + s.rejected + s.owner_kept + s.skipped;
        if (counted != s.rows) {
            fuzz::fail("import rows are not each counted once", text);
        }
        if (static_cast<std::int64_t>(s.rejects.size()) != s.rejected) {
            fuzz::fail("rejected rows without their reasons", text);
        }
    } catch (const core::InputError&) {
        // a file that cannot be imported at all (no header, no vin column): refused whole
    }
    return 0;
}
