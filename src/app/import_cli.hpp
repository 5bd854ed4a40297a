#pragma once
// `motorpool import vehicles FILE.csv`: maps the file, runs the importer with a progress display,
// prints the summary. Private to the motorpool executable.

#include <cstdint>
#include <optional>
#include <string>

#include "app/config.hpp"

namespace motorpool::app {

struct ImportCommand {
    std::string file;
    std::optional<std::int64_t> limit;
    std::optional<std::string> owner_email;
    std::size_t batch_size = 10000;
    bool reassign_owner = false;
    bool skip_existing = false;
};

/// Exit status: 0 every row imported, 4 some rows rejected (listed); throws core::InputError (5)
/// for a file that cannot be read or imported at all.
int run_import_vehicles(Config config, const ImportCommand& command);

}  // namespace motorpool::app
