#include "sqlite_wal_vfs.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
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

sqlite3_vfs* base_vfs = nullptr;  // SQLite's default VFS, which does the real work
sqlite3_vfs wal_vfs;
sqlite3_io_methods wal_methods;

// Writes not yet made, in file order: [start, start + bytes.size()).
struct Gathered {
    std::vector<unsigned char> bytes;
    sqlite3_int64 start = 0;
    // End of the furthest write so far. Only writes from here on are appends worth gathering;
    // writes below it (SQLite rewriting earlier frame headers' checksums) go straight through.
    sqlite3_int64 frontier = 0;
    // Offset of the page that completes a commit frame whose header is gathered, or -1.
    sqlite3_int64 commit_page_at = -1;

    sqlite3_int64 end() const { return start + static_cast<sqlite3_int64>(bytes.size()); }
};

// A WAL file: the base VFS's file, allocated right after this struct, and what is gathered for it.
struct WalFile {
    sqlite3_file base;  // first: SQLite sees a sqlite3_file
    sqlite3_file* file;
    Gathered* gathered;
};
constexpr int kWalFileBytes = static_cast<int>((sizeof(WalFile) + 15) / 16 * 16);

WalFile* wal_of(sqlite3_file* f) {
    return reinterpret_cast<WalFile*>(f);
}

int flush(WalFile* w) {
    Gathered& g = *w->gathered;
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
    // On failure the frames are dropped: SQLite fails the statement and rolls the transaction back,
    // and frames it did not commit are never read.
    g.bytes.clear();
    return rc;
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
        if (offset < g.frontier) {
            return w->file->pMethods->xWrite(w->file, data, amount, offset);
        }
        g.start = offset;
    }
    const auto at = static_cast<std::size_t>(offset - g.start);
    if (g.bytes.size() < at + static_cast<std::size_t>(amount)) {
        g.bytes.resize(at + static_cast<std::size_t>(amount));
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

int vfs_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    if ((flags & SQLITE_OPEN_WAL) == 0) {
        // Everything but a WAL is the base VFS's own file, in place: no indirection at all.
        return base_vfs->xOpen(base_vfs, name, file, flags, out_flags);
    }
    auto* w = reinterpret_cast<WalFile*>(file);
    w->base.pMethods = nullptr;  // until opened: SQLite calls xClose only on an opened file
    w->file = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kWalFileBytes);
    const int rc = base_vfs->xOpen(base_vfs, name, w->file, flags, out_flags);
    if (rc != SQLITE_OK) {
        return rc;
    }
    w->gathered = new (std::nothrow) Gathered();
    if (w->gathered == nullptr) {
        w->file->pMethods->xClose(w->file);
        return SQLITE_NOMEM;
    }
    w->base.pMethods = &wal_methods;
    return SQLITE_OK;
}

// The rest of the VFS is the base VFS's.
int vfs_delete(sqlite3_vfs*, const char* name, int sync_dir) {
    return base_vfs->xDelete(base_vfs, name, sync_dir);
}
int vfs_access(sqlite3_vfs*, const char* name, int flags, int* out) {
    return base_vfs->xAccess(base_vfs, name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs*, const char* name, int size, char* out) {
    return base_vfs->xFullPathname(base_vfs, name, size, out);
}
void* vfs_dl_open(sqlite3_vfs*, const char* name) {
    return base_vfs->xDlOpen(base_vfs, name);
}
void vfs_dl_error(sqlite3_vfs*, int size, char* out) {
    base_vfs->xDlError(base_vfs, size, out);
}
void (*vfs_dl_sym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
    return base_vfs->xDlSym(base_vfs, handle, symbol);
}
void vfs_dl_close(sqlite3_vfs*, void* handle) {
    base_vfs->xDlClose(base_vfs, handle);
}
int vfs_randomness(sqlite3_vfs*, int size, char* out) {
    return base_vfs->xRandomness(base_vfs, size, out);
}
int vfs_sleep(sqlite3_vfs*, int microseconds) {
    return base_vfs->xSleep(base_vfs, microseconds);
}
int vfs_current_time(sqlite3_vfs*, double* out) {
    return base_vfs->xCurrentTime(base_vfs, out);
}
int vfs_get_last_error(sqlite3_vfs*, int size, char* out) {
    return base_vfs->xGetLastError(base_vfs, size, out);
}
int vfs_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
    return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

void install() {
    base_vfs = sqlite3_vfs_find(nullptr);
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

    wal_vfs = {};
    wal_vfs.iVersion = 2;
    wal_vfs.szOsFile = kWalFileBytes + base_vfs->szOsFile;
    wal_vfs.mxPathname = base_vfs->mxPathname;
    wal_vfs.zName = "motorpool-buffered-wal";
    wal_vfs.xOpen = vfs_open;
    wal_vfs.xDelete = vfs_delete;
    wal_vfs.xAccess = vfs_access;
    wal_vfs.xFullPathname = vfs_full_pathname;
    wal_vfs.xDlOpen = vfs_dl_open;
    wal_vfs.xDlError = vfs_dl_error;
    wal_vfs.xDlSym = vfs_dl_sym;
    wal_vfs.xDlClose = vfs_dl_close;
    wal_vfs.xRandomness = vfs_randomness;
    wal_vfs.xSleep = vfs_sleep;
    wal_vfs.xCurrentTime = vfs_current_time;
    wal_vfs.xGetLastError = vfs_get_last_error;
    wal_vfs.xCurrentTimeInt64 = vfs_current_time_int64;
    sqlite3_vfs_register(&wal_vfs, 0);
}

}  // namespace

const char* buffered_wal_vfs() {
    static std::once_flag once;
    std::call_once(once, install);
    return wal_vfs.zName;
}

}  // namespace motorpool::db::detail

namespace motorpool::db {

SqliteWalWrites sqlite_wal_writes() {
    return {detail::writes_gathered.load(std::memory_order_relaxed), detail::flushes.load(std::memory_order_relaxed)};
}

}  // namespace motorpool::db
