#pragma once
// The files module's public face: its migrations (src/files/migrations), the purposes files are
// uploaded for, and what other modules may know of a file (chat attachments).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "auth/auth.hpp"
#include "db/db.hpp"

namespace motorpool::files {

std::vector<db::Migration> migrations(db::Dialect dialect);

/// What a file is for: which types it may have and how large it may be.
struct Purpose {
    std::string name;  // chat_attachment, receipt, vehicle_photo
    std::vector<std::string> content_types;
    std::int64_t max_bytes = 0;
};

/// A file another module refers to (a chat message's attachment).
struct FileRef {
    std::int64_t id = 0;
    std::string public_id;
    std::int64_t owner_id = 0;
    std::string purpose;
    std::string filename;
    std::string content_type;
    std::int64_t size_bytes = 0;
    std::string status;  // pending, ready
};

/// A table whose rows refer to files of one purpose (support's chat_message_files for chat
/// attachments): a file of that purpose no row refers to, once a day old, is removed by the
/// cleanup job, bytes and all. Files of purposes nothing declares stay until their owner deletes them.
struct Referrer {
    std::string purpose;
    std::string table;
    std::string column;  // holds files.id
};

/// The file `public_id` if `actor` may read it: its owner, or support and admins for chat
/// attachments (they see every thread). nullopt otherwise, as for a file that does not exist.
std::optional<FileRef> readable_file(db::Connection& c, const auth::Actor& actor, const std::string& public_id);

}  // namespace motorpool::files
