// What SQLite alone can do for the webhook acknowledgement's write, with nothing else on the
// machine: no HTTP, no HMAC, no JSON, no processing, no motorpool code. One thread inserts
// delivery-log rows exactly as the acknowledgement does (migrations 0006 and 0007: a 1.4 KB body,
// a random UUID eventId under the 7-day deduplication's unique index, the received-time index, a
// pending entry), in transactions of BATCH rows, WAL, synchronous=FULL (an fsync per commit, as
// group commit shares it), checkpointing every CHECKPOINT pages. It prints rows per second:
// the bound on acknowledged deliveries per second that SQLite sets before anything else runs.
//   webhook_log_ceiling DBFILE [seconds=10] [batch=64] [checkpoint_pages=10000]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include <sqlite3.h>
#include <unistd.h>

namespace {

void check(int rc, sqlite3* db, const char* what) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        std::fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
        std::exit(1);
    }
}

std::string random_uuid(std::mt19937_64& rng) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id(36, '-');
    for (std::size_t i = 0; i < id.size(); ++i) {
        if (i != 8 && i != 13 && i != 18 && i != 23) {
            id[i] = kHex[rng() & 15];
        }
    }
    return id;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s DBFILE [seconds=10] [batch=64] [checkpoint_pages=10000]\n", argv[0]);
        return 2;
    }
    const std::string path = argv[1];
    const double seconds = argc > 2 ? std::atof(argv[2]) : 10.0;
    const int batch = argc > 3 ? std::atoi(argv[3]) : 64;
    const int checkpoint_pages = argc > 4 ? std::atoi(argv[4]) : 10000;
    for (const char* suffix : {"", "-wal", "-shm"}) {
        unlink((path + suffix).c_str());
    }
    sqlite3* db = nullptr;
    check(sqlite3_open(path.c_str(), &db), db, "open");
    const std::string setup =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-65536; "
        "PRAGMA wal_autocheckpoint=" +
        std::to_string(checkpoint_pages) +
        ";"
        "CREATE TABLE webhook_deliveries (id INTEGER PRIMARY KEY, provider TEXT NOT NULL, "
        "event_id TEXT NOT NULL UNIQUE, event_type TEXT NOT NULL, delivery_id TEXT, received_at_ms INTEGER NOT "
        "NULL, body TEXT NOT NULL, redeliveries INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at_ms);"
        "CREATE TABLE webhook_pending (delivery_id INTEGER PRIMARY KEY);";
    check(sqlite3_exec(db, setup.c_str(), nullptr, nullptr, nullptr), db, "schema");
    sqlite3_stmt* insert = nullptr;
    sqlite3_stmt* pending = nullptr;
    check(sqlite3_prepare_v2(db,
                             "INSERT INTO webhook_deliveries (provider, event_id, event_type, delivery_id, "
                             "received_at_ms, body) VALUES ('smartcar', ?1, 'VEHICLE_STATE', ?2, ?3, ?4) ON CONFLICT "
                             "(event_id) DO UPDATE SET redeliveries = webhook_deliveries.redeliveries + 1 "
                             "RETURNING id, redeliveries",
                             -1,
                             &insert,
                             nullptr),
          db,
          "prepare insert");
    check(sqlite3_prepare_v2(db, "INSERT INTO webhook_pending (delivery_id) VALUES (?1)", -1, &pending, nullptr),
          db,
          "prepare pending");
    std::mt19937_64 rng(42);
    std::string body(1400, 'x');
    for (auto& c : body) {
        c = static_cast<char>('a' + rng() % 26);
    }
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    long rows = 0;
    std::int64_t received = 1'764'000'000'000;
    while (std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
        check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin");
        for (int i = 0; i < batch; ++i, ++rows) {
            const std::string event_id = random_uuid(rng);
            const std::string delivery_id = random_uuid(rng);
            sqlite3_bind_text(insert, 1, event_id.data(), static_cast<int>(event_id.size()), SQLITE_TRANSIENT);
            sqlite3_bind_text(insert, 2, delivery_id.data(), static_cast<int>(delivery_id.size()), SQLITE_TRANSIENT);
            sqlite3_bind_int64(insert, 3, ++received);
            sqlite3_bind_text(insert, 4, body.data(), static_cast<int>(body.size()), SQLITE_STATIC);
            check(sqlite3_step(insert), db, "insert");
            const sqlite3_int64 id = sqlite3_column_int64(insert, 0);
            check(sqlite3_step(insert), db, "insert done");
            sqlite3_reset(insert);
            sqlite3_bind_int64(pending, 1, id);
            check(sqlite3_step(pending), db, "pending");
            sqlite3_reset(pending);
        }
        check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit");
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("RESULT webhook_log rows=%ld batch=%d checkpoint_pages=%d secs=%.2f rows_per_s=%.0f\n",
                rows,
                batch,
                checkpoint_pages,
                elapsed,
                static_cast<double>(rows) / elapsed);
    sqlite3_finalize(insert);
    sqlite3_finalize(pending);
    sqlite3_close(db);
    return 0;
}
