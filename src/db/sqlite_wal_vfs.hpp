#pragma once
// Private to db: the SQLite VFS the file databases open with.

#include <string>

struct sqlite3_vfs;

namespace motorpool::db::detail {

/// Registers (once, thread-safe) and names a VFS that is SQLite's default one except for WAL
/// files, whose appended frames are gathered in memory and written with one system call when the
/// frame that commits the transaction is complete. SQLite writes every frame with two calls (its
/// 24-byte header, then the page); on a virtual machine each call costs more than copying the page.
/// Nothing is visible before it is written: SQLite publishes a commit in the shared WAL index only
/// after writing its commit frame, and every read, sync, size query or truncation of the WAL, and
/// the end of each write transaction (the release of the WAL write lock on the main database
/// file), writes what is gathered first. A failed write fails the rest of its transaction. See
/// docs/decisions.md.
const char* buffered_wal_vfs();

/// The same VFS over the registered VFS `base_name` instead of SQLite's default one (registered
/// once per base, thread-safe); null when no VFS has that name.
const char* buffered_wal_vfs_over(const std::string& base_name);

/// The same VFS, registered under `name` over `base` instead of SQLite's default VFS: tests put a
/// VFS that injects faults under it. `name` must outlive the process.
const char* register_buffered_wal_vfs(sqlite3_vfs* base, const char* name);

}  // namespace motorpool::db::detail
