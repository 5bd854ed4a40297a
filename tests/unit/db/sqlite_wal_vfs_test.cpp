// The gathering WAL VFS (src/db/sqlite_wal_vfs.cpp) under SQLite itself, through raw connections:
// what it holds back must never be lost, outlive its write transaction, or land over another
// connection's commit. The commit path under the server's own settings is covered in db_test
// (SqliteDurabilityTest).
#include "sqlite_wal_vfs.hpp"

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include "db/db.hpp"

namespace {

using motorpool::db::detail::buffered_wal_vfs;
using motorpool::db::detail::register_buffered_wal_vfs;

class TempDir {
public:
    explicit TempDir(const std::string& tag)
        : path_(std::filesystem::temp_directory_path() / ("motorpool-" + tag + "-" + std::to_string(::getpid()))) {
        std::filesystem::remove_all(path_);
        std::filesystem::create_directories(path_);
    }
    ~TempDir() { std::filesystem::remove_all(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

sqlite3* open(const std::string& uri, const char* vfs) {
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI, vfs);
    EXPECT_EQ(rc, SQLITE_OK) << (db != nullptr ? sqlite3_errmsg(db) : "");
    return db;
}

int exec(sqlite3* db, const std::string& sql) {
    return sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
}

// The first column of every row, joined by '|'; an error as "error: ...".
std::string text(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
        return std::string("error: ") + sqlite3_errmsg(db);
    }
    std::string out;
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const unsigned char* value = sqlite3_column_text(stmt, 0);
        out += (out.empty() ? "" : "|") + std::string(value != nullptr ? reinterpret_cast<const char*>(value) : "");
    }
    if (rc != SQLITE_DONE) {
        out = std::string("error: ") + sqlite3_errmsg(db);
    }
    sqlite3_finalize(stmt);
    return out;
}

// A database with tables t (id, blob) and s (id, text; row 1), whose WAL was copied and then
// started over by a commit: the next write transaction appends right after that commit.
sqlite3* open_fresh_log(const std::string& uri, const char* vfs) {
    sqlite3* db = open(uri, vfs);
    EXPECT_EQ(exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0"), SQLITE_OK);
    EXPECT_EQ(exec(db,
                   "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); CREATE TABLE s (id INTEGER PRIMARY KEY, v TEXT); "
                   "INSERT INTO s VALUES (1, 'before')"),
              SQLITE_OK);
    EXPECT_EQ(exec(db, "PRAGMA wal_checkpoint(PASSIVE)"), SQLITE_OK);
    EXPECT_EQ(exec(db, "UPDATE s SET v = 'restarts the log' WHERE id = 1"), SQLITE_OK);
    return db;
}

constexpr const char* kSixtyPages =
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 60) "
    "INSERT INTO t SELECT x, randomblob(3000) FROM n";

}  // namespace

// A transaction that spilled frames and rolled back leaves them gathered in its connection; once
// its write lock is released, another connection commits at the same WAL offsets. Nothing of the
// rolled-back frames may be written over that commit later (before the write lock went with them,
// they were written at the next read of the WAL and corrupted the committed pages).
TEST(SqliteWalVfsTest, ARolledBackSpillNeverLandsOverAnotherConnectionsCommit) {
    TempDir dir("vfs-spill");
    const std::string uri = "file:" + (dir / "spill.db").string();
    const char* vfs = buffered_wal_vfs();
    sqlite3* a = open_fresh_log(uri, vfs);  // b's transaction appends after a's last commit
    sqlite3* b = open(uri, vfs);
    ASSERT_EQ(exec(b, "PRAGMA synchronous=NORMAL; PRAGMA cache_size=10"), SQLITE_OK);
    ASSERT_EQ(exec(b, "BEGIN"), SQLITE_OK);
    ASSERT_EQ(exec(b, kSixtyPages), SQLITE_OK);  // 60 pages through a 10-page cache: spilled
    ASSERT_EQ(exec(b, "ROLLBACK"), SQLITE_OK);
    ASSERT_EQ(exec(a, "UPDATE s SET v = 'committed by a' WHERE id = 1; INSERT INTO t VALUES (1000, zeroblob(3000))"),
              SQLITE_OK);
    EXPECT_EQ(text(b, "SELECT v FROM s WHERE id = 1"), "committed by a");  // b reads the WAL
    sqlite3* c = open(uri, vfs);
    EXPECT_EQ(text(c, "SELECT v FROM s WHERE id = 1"), "committed by a");
    EXPECT_EQ(text(c, "SELECT COUNT(*) FROM t"), "1");
    EXPECT_EQ(text(c, "PRAGMA integrity_check"), "ok");
    sqlite3_close(c);
    sqlite3_close(b);
    sqlite3_close(a);
    sqlite3* plain = open(uri, nullptr);  // SQLite's own VFS, from the files alone
    EXPECT_EQ(text(plain, "SELECT v FROM s WHERE id = 1"), "committed by a");
    EXPECT_EQ(text(plain, "PRAGMA integrity_check"), "ok");
    sqlite3_close(plain);
}

// locking_mode=EXCLUSIVE takes no WAL-index locks, so the end of a write transaction cannot be
// seen: nothing is gathered then, and a spill rolled back in that mode cannot be written later over
// a commit another connection makes once the mode is left.
TEST(SqliteWalVfsTest, ExclusiveLockingModeLeavesNothingGathered) {
    TempDir dir("vfs-exclusive");
    const std::string uri = "file:" + (dir / "exclusive.db").string();
    const char* vfs = buffered_wal_vfs();
    sqlite3* a = open_fresh_log(uri, vfs);
    ASSERT_EQ(exec(a, "PRAGMA locking_mode=EXCLUSIVE; PRAGMA cache_size=10"), SQLITE_OK);
    ASSERT_EQ(exec(a, "UPDATE s SET v = 'takes the exclusive lock' WHERE id = 1"), SQLITE_OK);
    const motorpool::db::SqliteWalWrites before = motorpool::db::sqlite_wal_writes();
    ASSERT_EQ(exec(a, "BEGIN"), SQLITE_OK);
    ASSERT_EQ(exec(a, kSixtyPages), SQLITE_OK);
    ASSERT_EQ(exec(a, "ROLLBACK"), SQLITE_OK);
    EXPECT_EQ(motorpool::db::sqlite_wal_writes().gathered, before.gathered);
    ASSERT_EQ(exec(a, "PRAGMA locking_mode=NORMAL"), SQLITE_OK);
    EXPECT_EQ(text(a, "SELECT COUNT(*) FROM sqlite_master"), "2");  // releases the exclusive lock
    sqlite3* b = open(uri, vfs);
    ASSERT_EQ(exec(b, "UPDATE s SET v = 'committed by b' WHERE id = 1; INSERT INTO t VALUES (1000, zeroblob(3000))"),
              SQLITE_OK);
    EXPECT_EQ(text(a, "SELECT v FROM s WHERE id = 1"), "committed by b");
    sqlite3* c = open(uri, vfs);
    EXPECT_EQ(text(c, "SELECT v FROM s WHERE id = 1"), "committed by b");
    EXPECT_EQ(text(c, "PRAGMA integrity_check"), "ok");
    sqlite3_close(c);
    sqlite3_close(b);
    sqlite3_close(a);
    sqlite3* plain = open(uri, nullptr);
    EXPECT_EQ(text(plain, "SELECT v FROM s WHERE id = 1"), "committed by b");
    sqlite3_close(plain);
}

// The sync of a checkpoint the writer runs between two transactions (as the server's does from its
// WAL hook) does not stop the next transaction's frames from being gathered.
TEST(SqliteWalVfsTest, GatheringGoesOnAfterTheWritersOwnCheckpoint) {
    TempDir dir("vfs-checkpoint");
    const std::string uri = "file:" + (dir / "checkpoint.db").string();
    const char* vfs = buffered_wal_vfs();
    sqlite3* w = open(uri, vfs);
    ASSERT_EQ(exec(w,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0; "
                   "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"),
              SQLITE_OK);
    const std::string twenty_pages =
        "INSERT INTO t (v) SELECT randomblob(3000) FROM (WITH RECURSIVE n(x) AS (SELECT 1 "
        "UNION ALL SELECT x + 1 FROM n WHERE x < 20) SELECT x FROM n)";
    ASSERT_EQ(exec(w, twenty_pages), SQLITE_OK);
    // A reader holding its snapshot keeps the checkpoint from starting the log over.
    sqlite3* r = open(uri, vfs);
    sqlite3_stmt* snapshot = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(r, "SELECT COUNT(*) FROM t", -1, &snapshot, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(snapshot), SQLITE_ROW);
    ASSERT_EQ(exec(w, twenty_pages), SQLITE_OK);
    ASSERT_EQ(exec(w, "PRAGMA wal_checkpoint(PASSIVE)"), SQLITE_OK);
    const motorpool::db::SqliteWalWrites before = motorpool::db::sqlite_wal_writes();
    ASSERT_EQ(exec(w, twenty_pages), SQLITE_OK);
    const motorpool::db::SqliteWalWrites after = motorpool::db::sqlite_wal_writes();
    EXPECT_GE(after.gathered - before.gathered, 40U);  // 20 frames, a header and a page each
    EXPECT_LE(after.flushes - before.flushes, 3U);
    sqlite3_finalize(snapshot);
    sqlite3_close(r);
    sqlite3_close(w);
}

namespace {

// A VFS under the gathering one: SQLite's default VFS, except that it records how far the WAL has
// been written when SQLite publishes a commit to other connections (the memory barrier between
// the two copies of the WAL index header, on the main database file), and that a WAL's next write
// of more than one frame fails with SQLITE_FULL when armed (a disk that fills for a moment).
struct Observed {
    bool fail_next_gathered_write = false;
    int faults_injected = 0;
    sqlite3_int64 wal_written = 0;             // end of the furthest write that reached a WAL file
    sqlite3_int64 wal_written_at_publish = 0;  // that, at the last memory barrier
};
Observed observed;
sqlite3_vfs* default_vfs = nullptr;
sqlite3_io_methods wal_methods;
sqlite3_io_methods db_methods;

struct UnderFile {
    sqlite3_file base;
    sqlite3_file* real;
};
constexpr int kUnderFileBytes = 64;
static_assert(sizeof(UnderFile) <= kUnderFileBytes);

sqlite3_file* real(sqlite3_file* f) {
    return reinterpret_cast<UnderFile*>(f)->real;
}

int under_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out) {
    const bool wal = (flags & SQLITE_OPEN_WAL) != 0;
    if (!wal && (flags & SQLITE_OPEN_MAIN_DB) == 0) {
        return default_vfs->xOpen(default_vfs, name, file, flags, out);
    }
    auto* f = reinterpret_cast<UnderFile*>(file);
    f->base.pMethods = nullptr;
    f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kUnderFileBytes);
    const int rc = default_vfs->xOpen(default_vfs, name, f->real, flags, out);
    if (rc == SQLITE_OK) {
        f->base.pMethods = wal ? &wal_methods : &db_methods;
    } else if (f->real->pMethods != nullptr) {
        f->real->pMethods->xClose(f->real);
    }
    return rc;
}

void pass_through(sqlite3_io_methods& m) {
    m.xClose = [](sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); };
    m.xRead = [](sqlite3_file* f, void* d, int n, sqlite3_int64 o) {
        return real(f)->pMethods->xRead(real(f), d, n, o);
    };
    m.xWrite = [](sqlite3_file* f, const void* d, int n, sqlite3_int64 o) {
        return real(f)->pMethods->xWrite(real(f), d, n, o);
    };
    m.xTruncate = [](sqlite3_file* f, sqlite3_int64 s) { return real(f)->pMethods->xTruncate(real(f), s); };
    m.xSync = [](sqlite3_file* f, int flags) { return real(f)->pMethods->xSync(real(f), flags); };
    m.xFileSize = [](sqlite3_file* f, sqlite3_int64* s) { return real(f)->pMethods->xFileSize(real(f), s); };
    m.xLock = [](sqlite3_file* f, int l) { return real(f)->pMethods->xLock(real(f), l); };
    m.xUnlock = [](sqlite3_file* f, int l) { return real(f)->pMethods->xUnlock(real(f), l); };
    m.xCheckReservedLock = [](sqlite3_file* f, int* out) {
        return real(f)->pMethods->xCheckReservedLock(real(f), out);
    };
    m.xFileControl = [](sqlite3_file* f, int op, void* arg) {
        return real(f)->pMethods->xFileControl(real(f), op, arg);
    };
    m.xSectorSize = [](sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); };
    m.xDeviceCharacteristics = [](sqlite3_file* f) { return real(f)->pMethods->xDeviceCharacteristics(real(f)); };
}

sqlite3_vfs* under_vfs() {
    static sqlite3_vfs vfs = [] {
        default_vfs = sqlite3_vfs_find(nullptr);
        wal_methods.iVersion = 1;
        pass_through(wal_methods);
        wal_methods.xWrite = [](sqlite3_file* f, const void* d, int n, sqlite3_int64 o) {
            if (observed.fail_next_gathered_write && n > 4096 + 24) {
                observed.fail_next_gathered_write = false;
                ++observed.faults_injected;
                return SQLITE_FULL;
            }
            const int rc = real(f)->pMethods->xWrite(real(f), d, n, o);
            if (rc == SQLITE_OK) {
                observed.wal_written = std::max(observed.wal_written, o + n);
            }
            return rc;
        };
        db_methods.iVersion = 3;
        pass_through(db_methods);
        db_methods.xShmMap = [](sqlite3_file* f, int region, int size, int extend, void volatile** out) {
            return real(f)->pMethods->xShmMap(real(f), region, size, extend, out);
        };
        db_methods.xShmLock = [](sqlite3_file* f, int offset, int n, int flags) {
            return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
        };
        db_methods.xShmBarrier = [](sqlite3_file* f) {
            observed.wal_written_at_publish = observed.wal_written;
            real(f)->pMethods->xShmBarrier(real(f));
        };
        db_methods.xShmUnmap = [](sqlite3_file* f, int delete_flag) {
            return real(f)->pMethods->xShmUnmap(real(f), delete_flag);
        };
        db_methods.xFetch = [](sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
            return real(f)->pMethods->xFetch(real(f), offset, amount, out);
        };
        db_methods.xUnfetch = [](sqlite3_file* f, sqlite3_int64 offset, void* page) {
            return real(f)->pMethods->xUnfetch(real(f), offset, page);
        };
        sqlite3_vfs v = *default_vfs;
        v.pNext = nullptr;
        v.zName = "motorpool-test-under";
        v.szOsFile = kUnderFileBytes + default_vfs->szOsFile;
        v.xOpen = under_open;
        return v;
    }();
    return &vfs;
}

// The gathering VFS over the observing one.
const char* observed_vfs() {
    static const char* const name = register_buffered_wal_vfs(under_vfs(), "motorpool-buffered-wal-observed");
    return name;
}

}  // namespace

// synchronous=FULL without powersafe overwrite: SQLite pads each commit with copies of its commit
// frame up to a sector boundary and syncs inside the last copy, writing it in two pieces. Every
// piece is in the file when the commit returns (the part after the sync once stayed gathered, and
// other connections could read a short page between the commit's publication and its end).
TEST(SqliteWalVfsTest, CommitsPaddedToASectorAreWhollyWritten) {
    TempDir dir("vfs-pad");
    const std::string uri = "file:" + (dir / "pad.db").string() + "?psow=0";
    const char* vfs = observed_vfs();
    sqlite3* a = open(uri, vfs);
    ASSERT_EQ(exec(a, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0"), SQLITE_OK);
    ASSERT_EQ(exec(a, "CREATE TABLE s (id INTEGER PRIMARY KEY, v TEXT)"), SQLITE_OK);
    std::string expected;
    for (int i = 1; i <= 4; ++i) {
        ASSERT_EQ(exec(a, "INSERT INTO s VALUES (" + std::to_string(i) + ", 'row " + std::to_string(i) + "')"),
                  SQLITE_OK);
        expected += (i > 1 ? "|row " : "row ") + std::to_string(i);
        // Published (the WAL index's barrier) with every byte of the frames in the file.
        EXPECT_EQ(observed.wal_written_at_publish,
                  static_cast<sqlite3_int64>(std::filesystem::file_size(dir / "pad.db-wal")));
        sqlite3* reader = open(uri, vfs);
        EXPECT_EQ(text(reader, "SELECT v FROM s ORDER BY id"), expected);
        EXPECT_EQ(text(reader, "PRAGMA quick_check"), "ok");
        sqlite3_close(reader);
    }
    sqlite3_close(a);
}

// A write of gathered frames fails while the transaction goes on: frames that SQLite was told were
// written are lost, so the transaction must not commit, even though SQLite answers the failing
// read with a statement rollback only and would go on. The database stays intact, and the next
// transaction works.
TEST(SqliteWalVfsTest, AFailedWriteOfGatheredFramesFailsTheWholeTransaction) {
    TempDir dir("vfs-fault");
    const std::string uri = "file:" + (dir / "fault.db").string();
    const char* vfs = observed_vfs();
    sqlite3* w = open(uri, vfs);
    ASSERT_EQ(exec(w, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0"), SQLITE_OK);
    ASSERT_EQ(exec(w,
                   "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB); CREATE TABLE u (id INTEGER PRIMARY KEY, v "
                   "BLOB UNIQUE); INSERT INTO t VALUES (0, 'committed before')"),
              SQLITE_OK);
    ASSERT_EQ(exec(w, "PRAGMA cache_size=20; BEGIN"), SQLITE_OK);
    ASSERT_EQ(exec(w,
                   "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 60) "
                   "INSERT INTO t SELECT x, randomblob(3000) FROM n"),
              SQLITE_OK);  // spilled frames, gathered
    observed.fail_next_gathered_write = true;
    // Reads spilled pages back: the gathered frames are written first, and that write fails.
    EXPECT_NE(exec(w, "INSERT INTO u SELECT id, v FROM t"), SQLITE_OK);
    observed.fail_next_gathered_write = false;
    EXPECT_EQ(observed.faults_injected, 1);
    (void)exec(w, "INSERT INTO u VALUES (1000, x'00')");
    EXPECT_NE(exec(w, "COMMIT"), SQLITE_OK);
    (void)exec(w, "ROLLBACK");
    sqlite3* r = open(uri, vfs);
    EXPECT_EQ(text(r, "SELECT COUNT(*) FROM t"), "1");
    EXPECT_EQ(text(r, "PRAGMA integrity_check"), "ok");
    // The failure ended with its transaction.
    ASSERT_EQ(exec(w, "INSERT INTO t VALUES (1, 'after')"), SQLITE_OK);
    EXPECT_EQ(text(r, "SELECT v FROM t ORDER BY id"), "committed before|after");
    EXPECT_EQ(text(r, "PRAGMA integrity_check"), "ok");
    sqlite3_close(r);
    sqlite3_close(w);
}

// The commit frame's page is written at once even when the 1 MiB limit wrote what was gathered
// between the frame's header and its page (the page then starts a new gathering). Written through
// the VFS directly, with the names SQLite gives a database and its WAL.
TEST(SqliteWalVfsTest, ACommitFrameSplitByTheGatheringLimitIsStillWrittenAtOnce) {
    TempDir dir("vfs-split");
    sqlite3_vfs* vfs = sqlite3_vfs_find(buffered_wal_vfs());
    ASSERT_NE(vfs, nullptr);
    const std::string db_path = (dir / "direct.db").string();
    const std::string wal_path = db_path + "-wal";
    std::ofstream(db_path).close();
    sqlite3_filename names =
        sqlite3_create_filename(db_path.c_str(), (db_path + "-journal").c_str(), wal_path.c_str(), 0, nullptr);
    std::vector<char> db_memory(static_cast<std::size_t>(vfs->szOsFile));
    std::vector<char> wal_memory(static_cast<std::size_t>(vfs->szOsFile));
    auto* db = reinterpret_cast<sqlite3_file*>(db_memory.data());
    auto* wal = reinterpret_cast<sqlite3_file*>(wal_memory.data());
    int out = 0;
    ASSERT_EQ(vfs->xOpen(vfs, names, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MAIN_DB, &out), SQLITE_OK);
    ASSERT_EQ(
        vfs->xOpen(
            vfs, sqlite3_filename_wal(names), wal, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_WAL, &out),
        SQLITE_OK);
    const std::vector<unsigned char> wal_header(32, 1);
    const std::vector<unsigned char> frames(1'048'560 - 32, 2);  // just under 1 MiB gathered
    std::vector<unsigned char> commit_header(24, 0);
    commit_header[7] = 9;  // a database size: this frame commits
    const std::vector<unsigned char> page(4096, 3);
    EXPECT_EQ(wal->pMethods->xWrite(wal, wal_header.data(), 32, 0), SQLITE_OK);
    EXPECT_EQ(wal->pMethods->xWrite(wal, frames.data(), static_cast<int>(frames.size()), 32), SQLITE_OK);
    EXPECT_EQ(std::filesystem::file_size(wal_path), 0U);                                    // gathered
    EXPECT_EQ(wal->pMethods->xWrite(wal, commit_header.data(), 24, 1'048'560), SQLITE_OK);  // past 1 MiB
    EXPECT_EQ(std::filesystem::file_size(wal_path), 1'048'584U);
    EXPECT_EQ(wal->pMethods->xWrite(wal, page.data(), 4096, 1'048'584), SQLITE_OK);
    EXPECT_EQ(std::filesystem::file_size(wal_path), 1'048'584U + 4096U);  // on disk before SQLite publishes
    EXPECT_EQ(wal->pMethods->xClose(wal), SQLITE_OK);
    EXPECT_EQ(db->pMethods->xClose(db), SQLITE_OK);
    sqlite3_free_filename(names);
}

// A WAL that SQLite did not open for one of its connections has no write transactions to end:
// nothing is gathered for it, every write goes straight to the file.
TEST(SqliteWalVfsTest, AWalWithoutItsDatabaseIsWrittenThrough) {
    TempDir dir("vfs-alone");
    sqlite3_vfs* vfs = sqlite3_vfs_find(buffered_wal_vfs());
    ASSERT_NE(vfs, nullptr);
    const std::string db_path = (dir / "alone.db").string();
    std::ofstream(db_path).close();  // the unix VFS gives a WAL its database's permissions
    std::vector<char> memory(static_cast<std::size_t>(vfs->szOsFile));
    auto* wal = reinterpret_cast<sqlite3_file*>(memory.data());
    const std::string wal_path = db_path + "-wal";
    int out = 0;
    ASSERT_EQ(
        vfs->xOpen(vfs, wal_path.c_str(), wal, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_WAL, &out),
        SQLITE_OK);
    const std::vector<unsigned char> frame(24 + 4096, 4);
    EXPECT_EQ(wal->pMethods->xWrite(wal, frame.data(), 24, 32), SQLITE_OK);
    EXPECT_EQ(std::filesystem::file_size(wal_path), 56U);
    EXPECT_EQ(wal->pMethods->xClose(wal), SQLITE_OK);
}

namespace {

// Copies a database with its WAL and rollback journal (not the shared-memory index), as a crash
// would leave them, and opens the copy with SQLite's own VFS: "ok" and the row count of t, or why
// not.
std::string crash_image(const std::filesystem::path& dir, const std::string& name) {
    const auto copy = dir / "crash.db";
    for (const char* suffix : {"", "-wal", "-journal", "-shm"}) {
        std::filesystem::remove(copy.string() + suffix);
    }
    for (const char* suffix : {"", "-wal", "-journal"}) {
        const auto from = (dir / name).string() + suffix;
        if (std::filesystem::exists(from)) {
            std::filesystem::copy_file(from, copy.string() + suffix);
        }
    }
    sqlite3* db = open("file:" + copy.string(), "unix");
    const std::string image = text(db, "PRAGMA integrity_check") + " " + text(db, "SELECT COUNT(*) FROM t");
    sqlite3_close(db);
    return image;
}

}  // namespace

// Random work by two connections through the gathering VFS and one through SQLite's own, on a
// database with a second one attached: transactions that spill, savepoints rolled back, rollbacks,
// every checkpoint mode, locking and journal mode switches, synchronous levels, VACUUM. After every
// step, a crash image of each database must be intact and hold exactly what a fresh connection
// reads; no step may report corruption or an I/O error.
TEST(SqliteWalVfsTest, RandomWorkLeavesEveryCrashImageIntactAndCurrent) {
    const motorpool::db::SqliteWalWrites before = motorpool::db::sqlite_wal_writes();
    for (const unsigned seed : {1U, 2U, 3U, 4U}) {
        TempDir dir("vfs-random-" + std::to_string(seed));
        std::mt19937 rng(seed);
        auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
        const std::string main_db = (dir / "a.db").string();
        const std::string aux_db = (dir / "b.db").string();
        const char* vfs_of[3] = {buffered_wal_vfs(), buffered_wal_vfs(), "unix"};
        sqlite3* connection[3] = {};
        bool in_transaction[3] = {};
        for (int i = 0; i < 3; ++i) {
            connection[i] = open("file:" + main_db, vfs_of[i]);
            if (i == 0) {
                ASSERT_EQ(
                    exec(connection[0], "PRAGMA journal_mode=WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"),
                    SQLITE_OK);
            }
            ASSERT_EQ(exec(connection[i], "PRAGMA wal_autocheckpoint=0; ATTACH '" + aux_db + "' AS aux"), SQLITE_OK);
        }
        ASSERT_EQ(
            exec(connection[0], "PRAGMA aux.journal_mode=WAL; CREATE TABLE aux.t (id INTEGER PRIMARY KEY, v BLOB)"),
            SQLITE_OK);
        auto insert = [&](const std::string& schema, int max_rows) {
            return "INSERT INTO " + schema + ".t (v) SELECT randomblob(" + std::to_string(100 + pick(4000)) +
                   ") FROM (WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < " +
                   std::to_string(1 + pick(max_rows)) + ") SELECT x FROM n)";
        };
        for (int step = 0; step < 250; ++step) {
            const int i = pick(3);
            sqlite3* db = connection[i];
            const std::string schema = pick(2) == 0 ? "main" : "aux";
            std::string sql;
            if (!in_transaction[i]) {
                static const char* const kModes[] = {"PASSIVE", "FULL", "RESTART", "TRUNCATE"};
                switch (pick(14)) {
                    case 0:
                    case 1:
                    case 2:
                        sql = pick(2) == 0 ? "BEGIN" : "BEGIN IMMEDIATE";
                        break;
                    case 3:
                        sql = insert(schema, 40);
                        break;
                    case 4:
                        sql = "PRAGMA " + schema + ".wal_checkpoint(" + kModes[pick(4)] + ")";
                        break;
                    case 5:
                        sql = pick(2) == 0 ? "PRAGMA locking_mode=EXCLUSIVE" : "PRAGMA locking_mode=NORMAL";
                        break;
                    case 6:
                        sql = "PRAGMA " + schema + (pick(2) == 0 ? ".journal_mode=DELETE" : ".journal_mode=WAL");
                        break;
                    case 7:
                        sql = pick(2) == 0 ? "PRAGMA cache_size=10" : "PRAGMA cache_size=2000";
                        break;
                    case 8:
                        sql = "PRAGMA synchronous=" + std::to_string(pick(4));
                        break;
                    case 9:
                        sql = "DELETE FROM " + schema + ".t WHERE id % " + std::to_string(2 + pick(5)) + " = 0";
                        break;
                    case 10:
                        sql = pick(4) == 0 ? "VACUUM " + schema : "SELECT 1";
                        break;
                    case 11:
                        sql = "PRAGMA cache_spill=" + std::to_string(pick(2));
                        break;
                    default:
                        sql = "SELECT COUNT(*) FROM " + schema + ".t";
                        break;
                }
            } else {
                switch (pick(8)) {
                    case 0:
                    case 1:
                    case 2:
                        sql = insert(schema, 60);
                        break;
                    case 3:
                        sql = "SAVEPOINT sp";
                        break;
                    case 4:
                        sql = pick(2) == 0 ? "ROLLBACK TO sp" : "RELEASE sp";
                        break;
                    case 5:
                        sql = "DELETE FROM " + schema + ".t WHERE id % 3 = " + std::to_string(pick(3));
                        break;
                    case 6:
                        sql = "COMMIT";
                        break;
                    default:
                        sql = "ROLLBACK";
                        break;
                }
            }
            const int rc = exec(db, sql) & 0xff;
            EXPECT_NE(rc, SQLITE_CORRUPT) << "seed " << seed << " step " << step << ": " << sql;
            EXPECT_NE(rc, SQLITE_IOERR) << "seed " << seed << " step " << step << ": " << sql;
            in_transaction[i] = sqlite3_get_autocommit(db) == 0;
            // What a fresh connection reads (unless a connection in exclusive mode locks it out).
            sqlite3* fresh = open("file:" + main_db, "unix");
            const bool aux_attached = exec(fresh, "ATTACH '" + aux_db + "' AS aux") == SQLITE_OK;
            for (const auto& [name, schema_name] : {std::pair{"a.db", "main"}, std::pair{"b.db", "aux"}}) {
                const std::string live = std::string(schema_name) == "aux" && !aux_attached
                                             ? "error: not attached"
                                             : text(fresh, std::string("SELECT COUNT(*) FROM ") + schema_name + ".t");
                const std::string image = crash_image(dir.path(), name);
                if (live.rfind("error", 0) == 0) {
                    EXPECT_EQ(image.substr(0, 3), "ok ") << "seed " << seed << " step " << step << ": " << sql;
                } else {
                    EXPECT_EQ(image, "ok " + live) << "seed " << seed << " step " << step << ": " << sql;
                }
            }
            sqlite3_close(fresh);
            if (::testing::Test::HasFailure()) {
                break;
            }
        }
        for (sqlite3* db : connection) {
            (void)exec(db, "ROLLBACK");
            sqlite3_close(db);  // the last to close checkpoints its WALs
        }
        sqlite3* after = open("file:" + main_db, "unix");
        ASSERT_EQ(exec(after, "ATTACH '" + aux_db + "' AS aux"), SQLITE_OK);
        EXPECT_EQ(text(after, "PRAGMA integrity_check"), "ok");
        EXPECT_EQ(text(after, "PRAGMA aux.integrity_check"), "ok");
        sqlite3_close(after);
    }
    // The work went through the gathering, not around it.
    EXPECT_GE(motorpool::db::sqlite_wal_writes().gathered - before.gathered, 500U);
}
