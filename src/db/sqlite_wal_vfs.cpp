#include "sqlite_wal_vfs.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include <sqlite3.h>

#include "db/db.hpp"

namespace motorpool::db::detail {

std::atomic<std::uint64_t> writes_gathered{0};
std::atomic<std::uint64_t> flushes{0};

namespace {

// A transaction larger than this is written in pieces of this size (a processing pass can write
// thousands of pages; the gathered frames of the acknowledgements' commits are ~200 KiB).
constexpr std::size_t kMaxGathered = 1024 * 1024;
// The unix VFS writes at most 128 KiB per call (it masks the length to 17 bits).
constexpr std::size_t kMaxWrite = 64 * 1024;
constexpr int kFrameHeaderBytes = 24;  // a WAL frame: this header, then one page

// Writes not yet made, in file order: [start, start + bytes.size()).
struct Gathered {
    std::vector<unsigned char> bytes;
    sqlite3_int64 start = 0;
    // End of the furthest write so far. Only writes from here on are appends worth gathering;
    // writes below it (SQLite rewriting earlier frame headers' checksums) go straight through.
    sqlite3_int64 frontier = 0;
    // Offset of the page that completes a commit frame whose header is gathered, or -1.
    sqlite3_int64 commit_page_at = -1;
    // Set by a sync until the write transaction ends (reset when the next one starts): every
    // write then goes straight through.
    // SQLite syncs inside a transaction only after writing the WAL header and while padding a
    // commit to a sector boundary (synchronous=FULL without powersafe overwrite), where it splits
    // the last padding frame around the sync: no piece of that may stay gathered.
    bool pass_through = false;
    // A failed write of gathered frames, repeated by every later call until the write transaction
    // ends: frames that earlier xWrite calls reported written are lost, so nothing of the
    // transaction may commit (a statement rollback alone would let SQLite go on to commit).
    int failed = SQLITE_OK;

    sqlite3_int64 end() const { return start + static_cast<sqlite3_int64>(bytes.size()); }
};

struct DbFile;

// A WAL file: the base VFS's file, allocated right after this struct, and what is gathered for it.
struct WalFile {
    sqlite3_file base;  // first: SQLite sees a sqlite3_file
    sqlite3_file* file;
    Gathered* gathered;
    // The same connection's main database file, whose WAL write lock marks the end of each write
    // transaction. A WAL opened without one (not by SQLite) never gathers.
    DbFile* db;
};

// A main database file: the base VFS's file behind calls that only pass through, except the
// release of the WAL write lock, which ends a write transaction. Whatever the connection's WAL
// still holds then (frames of a transaction that spilled and rolled back) is written before the
// lock goes: another connection's commit may write the same offsets next.
struct DbFile {
    sqlite3_file base;
    sqlite3_file* file;
    const char* wal_name;  // sqlite3_filename_wal() of the name SQLite opened it with
    WalFile* wal;          // this connection's WAL while it is open
    // The file lock held. A WAL connection holds SHARED; EXCLUSIVE means locking_mode=EXCLUSIVE
    // (or the last close), where SQLite takes no WAL-index locks at all, so no transaction's end
    // can be seen: nothing is gathered then.
    int lock_level;
};

constexpr int kWalFileBytes = static_cast<int>((sizeof(WalFile) + 15) / 16 * 16);
constexpr int kDbFileBytes = static_cast<int>((sizeof(DbFile) + 15) / 16 * 16);
constexpr int kWrapperBytes = std::max(kWalFileBytes, kDbFileBytes);

sqlite3_io_methods wal_methods;
sqlite3_io_methods db_methods[4];  // by the base file's io-methods version (1 to 3)

// Open main database files, so that SQLite's WAL for one finds it (SQLite opens a connection's
// WAL with a name that sqlite3_filename_wal() of the database's name points to, the same memory).
std::mutex open_databases_mutex;
std::vector<DbFile*> open_databases;

sqlite3_vfs* base_of(sqlite3_vfs* vfs) {
    return static_cast<sqlite3_vfs*>(vfs->pAppData);
}

WalFile* wal_of(sqlite3_file* f) {
    return reinterpret_cast<WalFile*>(f);
}
DbFile* db_of(sqlite3_file* f) {
    return reinterpret_cast<DbFile*>(f);
}

// Writes what is gathered. A failure is kept (Gathered::failed) until the write transaction ends.
int flush(WalFile* w) {
    Gathered& g = *w->gathered;
    if (g.failed != SQLITE_OK) {
        return g.failed;
    }
    if (g.bytes.empty()) {
        return SQLITE_OK;
    }
    int rc = SQLITE_OK;
    for (std::size_t done = 0; done < g.bytes.size() && rc == SQLITE_OK; done += kMaxWrite) {
        const std::size_t n = std::min(kMaxWrite, g.bytes.size() - done);
        rc = w->file->pMethods->xWrite(
            w->file, g.bytes.data() + done, static_cast<int>(n), g.start + static_cast<sqlite3_int64>(done));
        flushes.fetch_add(1, std::memory_order_relaxed);
    }
    g.bytes.clear();
    g.failed = rc;
    return rc;
}

// The connection released the WAL write lock: its write transaction is over, committed or rolled
// back. Nothing gathered may outlive it. What is left here was never committed (a commit writes
// everything at its commit frame), so a failure to write it loses nothing; it is written, not
// dropped, to leave the file as SQLite's own VFS would have.
void end_write_transaction(WalFile* w) {
    Gathered& g = *w->gathered;
    if (g.failed == SQLITE_OK) {
        (void)flush(w);
    }
    g.bytes.clear();
    g.commit_page_at = -1;
    g.pass_through = false;
    g.failed = SQLITE_OK;
}

bool is_commit_frame_header(const void* data, int amount) {
    if (amount != kFrameHeaderBytes) {
        return false;
    }
    // Bytes 4-7: the database size in pages after a commit, 0 in every other frame.
    const auto* b = static_cast<const unsigned char*>(data);
    return (b[4] | b[5] | b[6] | b[7]) != 0;
}

int wal_write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
    WalFile* w = wal_of(f);
    Gathered& g = *w->gathered;
    if (g.failed != SQLITE_OK) {
        return g.failed;
    }
    if (offset == 0) {
        g.frontier = 0;  // the WAL header: SQLite starts the log over from the beginning
        g.commit_page_at = -1;
    }
    const sqlite3_int64 end = offset + amount;
    const bool extends = !g.bytes.empty() && offset >= g.start && offset <= g.end();
    if (!extends) {
        if (int rc = flush(w); rc != SQLITE_OK) {
            return rc;
        }
        if (offset < g.frontier || g.pass_through || w->db == nullptr || w->db->lock_level >= SQLITE_LOCK_EXCLUSIVE) {
            g.frontier = std::max(g.frontier, end);
            return w->file->pMethods->xWrite(w->file, data, amount, offset);
        }
        g.start = offset;
    }
    const auto at = static_cast<std::size_t>(offset - g.start);
    if (g.bytes.size() < at + static_cast<std::size_t>(amount)) {
        try {
            g.bytes.resize(at + static_cast<std::size_t>(amount));
        } catch (const std::bad_alloc&) {
            // No memory to gather into: what is gathered, then this write, go to the file in order.
            if (int rc = flush(w); rc != SQLITE_OK) {
                return rc;
            }
            g.frontier = std::max(g.frontier, end);
            g.commit_page_at = is_commit_frame_header(data, amount) ? end : -1;
            return w->file->pMethods->xWrite(w->file, data, amount, offset);
        }
    }
    std::memcpy(g.bytes.data() + at, data, static_cast<std::size_t>(amount));
    g.frontier = std::max(g.frontier, end);
    writes_gathered.fetch_add(1, std::memory_order_relaxed);
    if (offset == g.commit_page_at) {
        // The commit frame is complete: write the transaction now, so that a failure reaches the
        // commit (a commit SQLite publishes is always written). Kept until here even when the
        // 1 MiB limit wrote the gathered bytes between the frame's header and its page.
        g.commit_page_at = -1;
        return flush(w);
    }
    if (is_commit_frame_header(data, amount)) {
        g.commit_page_at = end;
    }
    return g.bytes.size() >= kMaxGathered ? flush(w) : SQLITE_OK;
}

int wal_read(sqlite3_file* f, void* data, int amount, sqlite3_int64 offset) {
    WalFile* w = wal_of(f);
    if (int rc = flush(w); rc != SQLITE_OK) {
        return rc;
    }
    return w->file->pMethods->xRead(w->file, data, amount, offset);
}

int wal_truncate(sqlite3_file* f, sqlite3_int64 size) {
    WalFile* w = wal_of(f);
    if (int rc = flush(w); rc != SQLITE_OK) {
        return rc;
    }
    w->gathered->frontier = std::min(w->gathered->frontier, size);
    return w->file->pMethods->xTruncate(w->file, size);
}

int wal_sync(sqlite3_file* f, int flags) {
    WalFile* w = wal_of(f);
    if (int rc = flush(w); rc != SQLITE_OK) {
        return rc;
    }
    w->gathered->pass_through = true;
    return w->file->pMethods->xSync(w->file, flags);
}

int wal_file_size(sqlite3_file* f, sqlite3_int64* size) {
    WalFile* w = wal_of(f);
    if (int rc = flush(w); rc != SQLITE_OK) {
        return rc;
    }
    return w->file->pMethods->xFileSize(w->file, size);
}

int wal_close(sqlite3_file* f) {
    WalFile* w = wal_of(f);
    const int flushed = flush(w);
    {
        std::lock_guard lock(open_databases_mutex);
        if (w->db != nullptr) {
            w->db->wal = nullptr;
        }
    }
    delete w->gathered;
    w->gathered = nullptr;
    const int closed = w->file->pMethods->xClose(w->file);
    return flushed != SQLITE_OK ? flushed : closed;
}

int wal_lock(sqlite3_file* f, int level) {
    WalFile* w = wal_of(f);
    return w->file->pMethods->xLock(w->file, level);
}
int wal_unlock(sqlite3_file* f, int level) {
    WalFile* w = wal_of(f);
    return w->file->pMethods->xUnlock(w->file, level);
}
int wal_check_reserved_lock(sqlite3_file* f, int* out) {
    WalFile* w = wal_of(f);
    return w->file->pMethods->xCheckReservedLock(w->file, out);
}
int wal_file_control(sqlite3_file* f, int op, void* arg) {
    WalFile* w = wal_of(f);
    return w->file->pMethods->xFileControl(w->file, op, arg);
}
int wal_sector_size(sqlite3_file* f) {
    WalFile* w = wal_of(f);
    return w->file->pMethods->xSectorSize(w->file);
}
int wal_device_characteristics(sqlite3_file* f) {
    WalFile* w = wal_of(f);
    return w->file->pMethods->xDeviceCharacteristics(w->file);
}

// The main database file's calls, passed through.
int db_close(sqlite3_file* f) {
    DbFile* d = db_of(f);
    {
        std::lock_guard lock(open_databases_mutex);
        std::erase(open_databases, d);
        if (d->wal != nullptr) {
            d->wal->db = nullptr;  // SQLite closes the WAL first; this is for safety only
        }
    }
    return d->file->pMethods->xClose(d->file);
}
int db_read(sqlite3_file* f, void* data, int amount, sqlite3_int64 offset) {
    return db_of(f)->file->pMethods->xRead(db_of(f)->file, data, amount, offset);
}
int db_write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
    return db_of(f)->file->pMethods->xWrite(db_of(f)->file, data, amount, offset);
}
int db_truncate(sqlite3_file* f, sqlite3_int64 size) {
    return db_of(f)->file->pMethods->xTruncate(db_of(f)->file, size);
}
int db_sync(sqlite3_file* f, int flags) {
    return db_of(f)->file->pMethods->xSync(db_of(f)->file, flags);
}
int db_file_size(sqlite3_file* f, sqlite3_int64* size) {
    return db_of(f)->file->pMethods->xFileSize(db_of(f)->file, size);
}
int db_lock(sqlite3_file* f, int level) {
    DbFile* d = db_of(f);
    const int rc = d->file->pMethods->xLock(d->file, level);
    if (rc == SQLITE_OK) {
        d->lock_level = std::max(d->lock_level, level);  // xLock never lowers a lock
    }
    return rc;
}
int db_unlock(sqlite3_file* f, int level) {
    DbFile* d = db_of(f);
    const int rc = d->file->pMethods->xUnlock(d->file, level);
    if (rc == SQLITE_OK) {
        d->lock_level = std::min(d->lock_level, level);  // nor xUnlock raises one
    }
    return rc;
}
int db_check_reserved_lock(sqlite3_file* f, int* out) {
    return db_of(f)->file->pMethods->xCheckReservedLock(db_of(f)->file, out);
}
int db_file_control(sqlite3_file* f, int op, void* arg) {
    return db_of(f)->file->pMethods->xFileControl(db_of(f)->file, op, arg);
}
int db_sector_size(sqlite3_file* f) {
    return db_of(f)->file->pMethods->xSectorSize(db_of(f)->file);
}
int db_device_characteristics(sqlite3_file* f) {
    return db_of(f)->file->pMethods->xDeviceCharacteristics(db_of(f)->file);
}
int db_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
    return db_of(f)->file->pMethods->xShmMap(db_of(f)->file, region, size, extend, out);
}
int db_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
    DbFile* d = db_of(f);
    // Slot 0 of the WAL index's locks is the write lock (wal.c: WAL_WRITE_LOCK); only the
    // connection itself uses its WAL object, on the thread that is in this call.
    if ((flags & SQLITE_SHM_UNLOCK) != 0 && offset == 0 && d->wal != nullptr) {
        end_write_transaction(d->wal);
    }
    const int rc = d->file->pMethods->xShmLock(d->file, offset, n, flags);
    if (rc == SQLITE_OK && (flags & SQLITE_SHM_LOCK) != 0 && offset == 0 && d->wal != nullptr) {
        // The write lock taken: a new write transaction (or a checkpoint or recovery, which write
        // no frames). A sync since the last one (a checkpoint's) does not concern it.
        d->wal->gathered->pass_through = false;
    }
    return rc;
}
void db_shm_barrier(sqlite3_file* f) {
    db_of(f)->file->pMethods->xShmBarrier(db_of(f)->file);
}
int db_shm_unmap(sqlite3_file* f, int delete_flag) {
    return db_of(f)->file->pMethods->xShmUnmap(db_of(f)->file, delete_flag);
}
int db_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
    return db_of(f)->file->pMethods->xFetch(db_of(f)->file, offset, amount, out);
}
int db_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
    return db_of(f)->file->pMethods->xUnfetch(db_of(f)->file, offset, page);
}

// Opens the base VFS's file behind a wrapper, right after it in SQLite's allocation.
int open_inner(
    sqlite3_vfs* base, sqlite3_filename name, sqlite3_file* wrapper, int flags, int* out_flags, sqlite3_file*& inner) {
    inner = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(wrapper) + kWrapperBytes);
    const int rc = base->xOpen(base, name, inner, flags, out_flags);
    if (rc != SQLITE_OK && inner->pMethods != nullptr) {
        inner->pMethods->xClose(inner);  // SQLite would close it through the wrapper, which stays unopened
    }
    return rc;
}

int open_wal(sqlite3_vfs* base, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    auto* w = reinterpret_cast<WalFile*>(file);
    if (int rc = open_inner(base, name, file, flags, out_flags, w->file); rc != SQLITE_OK) {
        return rc;
    }
    w->gathered = new (std::nothrow) Gathered();
    if (w->gathered == nullptr) {
        w->file->pMethods->xClose(w->file);
        return SQLITE_NOMEM;
    }
    w->db = nullptr;
    {
        std::lock_guard lock(open_databases_mutex);
        for (DbFile* d : open_databases) {
            if (d->wal_name == name && d->wal == nullptr) {
                d->wal = w;
                w->db = d;
                break;
            }
        }
    }
    w->base.pMethods = &wal_methods;
    return SQLITE_OK;
}

int open_database(sqlite3_vfs* base, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    auto* d = reinterpret_cast<DbFile*>(file);
    if (int rc = open_inner(base, name, file, flags, out_flags, d->file); rc != SQLITE_OK) {
        return rc;
    }
    d->wal_name = name != nullptr ? sqlite3_filename_wal(name) : nullptr;
    d->wal = nullptr;
    d->lock_level = SQLITE_LOCK_NONE;
    try {
        std::lock_guard lock(open_databases_mutex);
        open_databases.push_back(d);
    } catch (const std::bad_alloc&) {
        d->file->pMethods->xClose(d->file);
        return SQLITE_NOMEM;
    }
    d->base.pMethods = &db_methods[std::clamp(d->file->pMethods->iVersion, 1, 3)];
    return SQLITE_OK;
}

int vfs_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    sqlite3_vfs* base = base_of(vfs);
    file->pMethods = nullptr;  // until opened: SQLite calls xClose only on an opened file
    if ((flags & SQLITE_OPEN_WAL) != 0) {
        return open_wal(base, name, file, flags, out_flags);
    }
    if ((flags & SQLITE_OPEN_MAIN_DB) != 0) {
        return open_database(base, name, file, flags, out_flags);
    }
    // Journals and temporary files are the base VFS's own objects, in place.
    return base->xOpen(base, name, file, flags, out_flags);
}

// The rest of the VFS is the base VFS's.
int vfs_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
    return base_of(vfs)->xDelete(base_of(vfs), name, sync_dir);
}
int vfs_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
    return base_of(vfs)->xAccess(base_of(vfs), name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs* vfs, const char* name, int size, char* out) {
    return base_of(vfs)->xFullPathname(base_of(vfs), name, size, out);
}
void* vfs_dl_open(sqlite3_vfs* vfs, const char* name) {
    return base_of(vfs)->xDlOpen(base_of(vfs), name);
}
void vfs_dl_error(sqlite3_vfs* vfs, int size, char* out) {
    base_of(vfs)->xDlError(base_of(vfs), size, out);
}
void (*vfs_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
    return base_of(vfs)->xDlSym(base_of(vfs), handle, symbol);
}
void vfs_dl_close(sqlite3_vfs* vfs, void* handle) {
    base_of(vfs)->xDlClose(base_of(vfs), handle);
}
int vfs_randomness(sqlite3_vfs* vfs, int size, char* out) {
    return base_of(vfs)->xRandomness(base_of(vfs), size, out);
}
int vfs_sleep(sqlite3_vfs* vfs, int microseconds) {
    return base_of(vfs)->xSleep(base_of(vfs), microseconds);
}
int vfs_current_time(sqlite3_vfs* vfs, double* out) {
    return base_of(vfs)->xCurrentTime(base_of(vfs), out);
}
int vfs_get_last_error(sqlite3_vfs* vfs, int size, char* out) {
    return base_of(vfs)->xGetLastError(base_of(vfs), size, out);
}
int vfs_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
    return base_of(vfs)->xCurrentTimeInt64(base_of(vfs), out);
}

void install_methods() {
    wal_methods = {};
    wal_methods.iVersion = 1;  // a WAL is never memory-mapped and has no shared-memory index
    wal_methods.xClose = wal_close;
    wal_methods.xRead = wal_read;
    wal_methods.xWrite = wal_write;
    wal_methods.xTruncate = wal_truncate;
    wal_methods.xSync = wal_sync;
    wal_methods.xFileSize = wal_file_size;
    wal_methods.xLock = wal_lock;
    wal_methods.xUnlock = wal_unlock;
    wal_methods.xCheckReservedLock = wal_check_reserved_lock;
    wal_methods.xFileControl = wal_file_control;
    wal_methods.xSectorSize = wal_sector_size;
    wal_methods.xDeviceCharacteristics = wal_device_characteristics;

    for (int version = 1; version <= 3; ++version) {
        sqlite3_io_methods& m = db_methods[version];
        m = {};
        m.iVersion = version;
        m.xClose = db_close;
        m.xRead = db_read;
        m.xWrite = db_write;
        m.xTruncate = db_truncate;
        m.xSync = db_sync;
        m.xFileSize = db_file_size;
        m.xLock = db_lock;
        m.xUnlock = db_unlock;
        m.xCheckReservedLock = db_check_reserved_lock;
        m.xFileControl = db_file_control;
        m.xSectorSize = db_sector_size;
        m.xDeviceCharacteristics = db_device_characteristics;
        if (version >= 2) {
            m.xShmMap = db_shm_map;
            m.xShmLock = db_shm_lock;
            m.xShmBarrier = db_shm_barrier;
            m.xShmUnmap = db_shm_unmap;
        }
        if (version >= 3) {
            m.xFetch = db_fetch;
            m.xUnfetch = db_unfetch;
        }
    }
}

sqlite3_vfs* make_vfs(sqlite3_vfs* base, const char* name) {
    static std::once_flag methods_once;
    std::call_once(methods_once, install_methods);
    auto* vfs = new sqlite3_vfs{};  // registered for the life of the process
    vfs->iVersion = std::min(base->iVersion, 2);
    vfs->szOsFile = kWrapperBytes + base->szOsFile;
    vfs->mxPathname = base->mxPathname;
    vfs->zName = name;
    vfs->pAppData = base;
    vfs->xOpen = vfs_open;
    vfs->xDelete = vfs_delete;
    vfs->xAccess = vfs_access;
    vfs->xFullPathname = vfs_full_pathname;
    vfs->xDlOpen = vfs_dl_open;
    vfs->xDlError = vfs_dl_error;
    vfs->xDlSym = vfs_dl_sym;
    vfs->xDlClose = vfs_dl_close;
    vfs->xRandomness = vfs_randomness;
    vfs->xSleep = vfs_sleep;
    vfs->xCurrentTime = vfs_current_time;
    vfs->xGetLastError = vfs_get_last_error;
    if (vfs->iVersion >= 2) {
        vfs->xCurrentTimeInt64 = vfs_current_time_int64;
    }
    return vfs;
}

}  // namespace

const char* buffered_wal_vfs() {
    static const char* const name = [] {
        sqlite3_vfs* vfs = make_vfs(sqlite3_vfs_find(nullptr), "motorpool-buffered-wal");
        sqlite3_vfs_register(vfs, 0);
        return vfs->zName;
    }();
    return name;
}

const char* buffered_wal_vfs_over(const std::string& base_name) {
    static std::mutex mutex;
    static std::map<std::string, std::string> registered;  // base -> name, for the life of the process
    std::lock_guard lock(mutex);
    if (auto found = registered.find(base_name); found != registered.end()) {
        return found->second.c_str();
    }
    sqlite3_vfs* base = sqlite3_vfs_find(base_name.c_str());
    if (base == nullptr) {
        return nullptr;
    }
    auto [at, inserted] = registered.emplace(base_name, "motorpool-buffered-wal-over-" + base_name);
    return register_buffered_wal_vfs(base, at->second.c_str());
}

const char* register_buffered_wal_vfs(sqlite3_vfs* base, const char* name) {
    sqlite3_vfs* vfs = make_vfs(base, name);
    sqlite3_vfs_register(vfs, 0);
    return vfs->zName;
}

}  // namespace motorpool::db::detail

namespace motorpool::db {

SqliteWalWrites sqlite_wal_writes() {
    return {detail::writes_gathered.load(std::memory_order_relaxed), detail::flushes.load(std::memory_order_relaxed)};
}

}  // namespace motorpool::db
