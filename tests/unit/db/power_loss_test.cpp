// Power loss under the server's SQLite settings (synchronous FULL kept by the group-commit writer's
// own WAL sync, the gathering WAL VFS, the background checkpointer). A VFS under everything keeps,
// per file, the image that the last completed sync made durable: a power cut at any moment leaves
// exactly those images (every write not yet synced is dropped). Each submitter, when it is resumed,
// takes the images of that moment; the database those images open to must hold its row. A
// submitter resumed before the sync that covers its commit returned sees an image without it.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include "core/worker_pool.hpp"
#include "db/db.hpp"

namespace {

using namespace motorpool;

// What a power cut at one moment leaves of the database file and its WAL.
struct DiskImage {
    std::shared_ptr<const std::string> database;
    std::shared_ptr<const std::string> wal;
    std::uint64_t wal_syncs = 0;  // completed WAL syncs this image includes
};

class PowerLossDisk {
public:
    static PowerLossDisk& instance() {
        static PowerLossDisk disk;
        return disk;
    }
    static constexpr const char* kName = "motorpool-test-power-loss";

    std::shared_ptr<const DiskImage> durable() {
        std::lock_guard lock(mutex_);
        return durable_;
    }
    std::uint64_t wal_syncs() {
        std::lock_guard lock(mutex_);
        return durable_->wal_syncs;
    }
    std::uint64_t wal_writes() {
        std::lock_guard lock(mutex_);
        return wal_writes_;
    }

private:
    struct File {
        sqlite3_file base;
        sqlite3_file* real;
        bool wal;
    };
    static constexpr int kFileBytes = 64;
    static_assert(sizeof(File) <= kFileBytes);

    PowerLossDisk() {
        durable_ =
            std::make_shared<DiskImage>(DiskImage{std::make_shared<std::string>(), std::make_shared<std::string>()});
        base_ = sqlite3_vfs_find(nullptr);
        methods_.iVersion = 3;
        methods_.xClose = [](sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); };
        methods_.xRead = [](sqlite3_file* f, void* d, int n, sqlite3_int64 o) {
            return real(f)->pMethods->xRead(real(f), d, n, o);
        };
        // Writes and truncations are serialised with the images taken at sync: an image holds
        // exactly the writes that completed before its sync was called.
        methods_.xWrite = [](sqlite3_file* f, const void* d, int n, sqlite3_int64 o) {
            auto& disk = instance();
            std::lock_guard lock(disk.mutex_);
            disk.wal_writes_ += as_file(f)->wal ? 1 : 0;
            return real(f)->pMethods->xWrite(real(f), d, n, o);
        };
        methods_.xTruncate = [](sqlite3_file* f, sqlite3_int64 s) {
            std::lock_guard lock(instance().mutex_);
            return real(f)->pMethods->xTruncate(real(f), s);
        };
        methods_.xSync = [](sqlite3_file* f, int flags) { return instance().sync(f, flags); };
        methods_.xFileSize = [](sqlite3_file* f, sqlite3_int64* s) { return real(f)->pMethods->xFileSize(real(f), s); };
        methods_.xLock = [](sqlite3_file* f, int l) { return real(f)->pMethods->xLock(real(f), l); };
        methods_.xUnlock = [](sqlite3_file* f, int l) { return real(f)->pMethods->xUnlock(real(f), l); };
        methods_.xCheckReservedLock = [](sqlite3_file* f, int* out) {
            return real(f)->pMethods->xCheckReservedLock(real(f), out);
        };
        methods_.xFileControl = [](sqlite3_file* f, int op, void* arg) {
            return real(f)->pMethods->xFileControl(real(f), op, arg);
        };
        methods_.xSectorSize = [](sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); };
        methods_.xDeviceCharacteristics = [](sqlite3_file* f) {
            return real(f)->pMethods->xDeviceCharacteristics(real(f));
        };
        methods_.xShmMap = [](sqlite3_file* f, int region, int size, int extend, void volatile** out) {
            return real(f)->pMethods->xShmMap(real(f), region, size, extend, out);
        };
        methods_.xShmLock = [](sqlite3_file* f, int offset, int n, int flags) {
            return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
        };
        methods_.xShmBarrier = [](sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); };
        methods_.xShmUnmap = [](sqlite3_file* f, int delete_flag) {
            return real(f)->pMethods->xShmUnmap(real(f), delete_flag);
        };
        // No memory-mapped reads: every read goes through xRead (the real file's).
        methods_.xFetch = [](sqlite3_file*, sqlite3_int64, int, void** out) {
            *out = nullptr;
            return SQLITE_OK;
        };
        methods_.xUnfetch = [](sqlite3_file*, sqlite3_int64, void*) { return SQLITE_OK; };
        vfs_ = *base_;
        vfs_.pNext = nullptr;
        vfs_.zName = kName;
        vfs_.szOsFile = kFileBytes + base_->szOsFile;
        vfs_.xOpen = [](sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out) {
            return instance().open(name, file, flags, out);
        };
        sqlite3_vfs_register(&vfs_, 0);
    }

    static File* as_file(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
    static sqlite3_file* real(sqlite3_file* f) { return as_file(f)->real; }

    int open(sqlite3_filename name, sqlite3_file* file, int flags, int* out) {
        const bool wal = (flags & SQLITE_OPEN_WAL) != 0;
        if (!wal && (flags & SQLITE_OPEN_MAIN_DB) == 0) {
            return base_->xOpen(base_, name, file, flags, out);
        }
        auto* f = as_file(file);
        f->base.pMethods = nullptr;
        f->wal = wal;
        f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kFileBytes);
        const int rc = base_->xOpen(base_, name, f->real, flags, out);
        if (rc == SQLITE_OK) {
            f->base.pMethods = &methods_;
        } else if (f->real->pMethods != nullptr) {
            f->real->pMethods->xClose(f->real);
        }
        return rc;
    }

    // The image is read before the real sync starts (what it covers for certain) and made the
    // durable one only after the sync returned.
    int sync(sqlite3_file* f, int flags) {
        std::shared_ptr<std::string> image;
        std::uint64_t order = 0;
        {
            std::lock_guard lock(mutex_);
            sqlite3_int64 size = 0;
            if (int rc = real(f)->pMethods->xFileSize(real(f), &size); rc != SQLITE_OK) {
                return rc;
            }
            image = std::make_shared<std::string>(static_cast<std::size_t>(size), '\0');
            if (size > 0) {
                if (int rc = real(f)->pMethods->xRead(real(f), image->data(), static_cast<int>(size), 0);
                    rc != SQLITE_OK) {
                    return rc;
                }
            }
            order = ++sync_calls_;
        }
        const int rc = real(f)->pMethods->xSync(real(f), flags);
        if (rc != SQLITE_OK) {
            return rc;
        }
        std::lock_guard lock(mutex_);
        const bool wal = as_file(f)->wal;
        std::uint64_t& newest = wal ? newest_wal_sync_ : newest_database_sync_;
        auto next = std::make_shared<DiskImage>(*durable_);
        if (order > newest) {  // a sync that started earlier may return later: it adds nothing
            newest = order;
            (wal ? next->wal : next->database) = std::move(image);
        }
        next->wal_syncs += wal ? 1 : 0;
        durable_ = std::move(next);
        return SQLITE_OK;
    }

    std::mutex mutex_;
    std::shared_ptr<const DiskImage> durable_;
    std::uint64_t sync_calls_ = 0;
    std::uint64_t newest_wal_sync_ = 0;
    std::uint64_t newest_database_sync_ = 0;
    std::uint64_t wal_writes_ = 0;
    sqlite3_vfs* base_ = nullptr;
    sqlite3_vfs vfs_{};
    sqlite3_io_methods methods_{};
};

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
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
};

void write_file(const std::filesystem::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The ids stored in the database a power cut with `image` leaves, opened by SQLite alone; the
// integrity check's verdict in `integrity`.
std::set<std::int64_t> ids_after_power_loss(const DiskImage& image,
                                            const std::filesystem::path& dir,
                                            std::string& integrity) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    write_file(dir / "crash.db", *image.database);
    if (!image.wal->empty()) {
        write_file(dir / "crash.db-wal", *image.wal);
    }
    std::set<std::int64_t> ids;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2((dir / "crash.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        integrity = std::string("cannot open: ") + sqlite3_errmsg(db);
        sqlite3_close(db);
        return ids;
    }
    sqlite3_stmt* stmt = nullptr;
    integrity = "no answer";
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
        integrity = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    stmt = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT id FROM acked", -1, &stmt, nullptr) == SQLITE_OK) {
        while (sqlite3_step(stmt) == SQLITE_ROW) {
            ids.insert(sqlite3_column_int64(stmt, 0));
        }
    } else {
        integrity += std::string("; ") + sqlite3_errmsg(db);
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return ids;
}

}  // namespace

TEST(SqlitePowerLossTest, EverySubmitterIsResumedOnlyAfterTheSyncCoveringItsCommitReturned) {
    PowerLossDisk& disk = PowerLossDisk::instance();
    TempDir dir("power-loss");
    core::WorkerPool workers(2, 64);
    db::Options options;
    options.url = "sqlite:///" + (dir.path() / "live.db").string();
    options.sqlite_vfs = PowerLossDisk::kName;
    auto database = db::Database::open(options, workers, nullptr);
    ASSERT_TRUE(database->defers_sync());
    database->with_transaction([](db::Connection& c) {
        c.execute_script("CREATE TABLE acked (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)");
    });

    // Submitters on many threads, so that batches form and the writer commits the next batch
    // while the last one is being synced.
    constexpr int kThreads = 12;
    constexpr int kEach = 25;
    struct Ack {
        std::int64_t id;
        std::shared_ptr<const DiskImage> image;
    };
    std::mutex acks_mutex;
    std::vector<Ack> acks;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                const std::int64_t id = t * 1000 + i;
                database->group_commit().submit_blocking([id](db::Connection& c) {
                    c.execute("INSERT INTO acked (id, payload) VALUES ($1, $2)", {id, std::string(300, 'p')});
                });
                auto image = disk.durable();  // the moment this submitter is resumed
                std::lock_guard lock(acks_mutex);
                acks.push_back({id, std::move(image)});
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }
    const std::uint64_t syncs = disk.wal_syncs();
    database->close();
    ASSERT_EQ(acks.size(), static_cast<std::size_t>(kThreads * kEach));

    // Each distinct image is opened once; every submitter resumed with it must find its row there.
    std::map<const DiskImage*, std::vector<std::int64_t>> acked_by_image;
    for (const Ack& ack : acks) {
        acked_by_image[ack.image.get()].push_back(ack.id);
    }
    std::size_t smallest = acks.size();
    int opened = 0;
    for (const auto& [image, ids] : acked_by_image) {
        std::string integrity;
        const auto stored = ids_after_power_loss(*image, dir.path() / ("crash-" + std::to_string(opened++)), integrity);
        EXPECT_EQ(integrity, "ok");
        smallest = std::min(smallest, stored.size());
        for (const std::int64_t id : ids) {
            EXPECT_TRUE(stored.contains(id))
                << "row " << id << " was acknowledged before a sync covered it (image after " << image->wal_syncs
                << " WAL syncs holds " << stored.size() << " rows)";
        }
    }
    // The model does drop what was not synced: the earliest acknowledgements' images hold fewer rows
    // than were stored in the end, and the WAL syncs were shared by batches (fewer than submissions).
    EXPECT_LT(smallest, acks.size());
    EXPECT_GT(acked_by_image.size(), 1U);
    EXPECT_LT(syncs, acks.size());
    EXPECT_GT(disk.wal_writes(), 0U);
}
