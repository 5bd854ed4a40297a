#pragma once
// Thread names, so that `top -H`, perf and /proc/<pid>/task show which of motorpool's threads is
// busy (the writer, the syncer, an I/O thread...). Linux keeps at most 15 characters.

#include <string_view>

namespace motorpool::core {

/// Names the calling thread (Linux keeps 15 characters: name threads shorter). Never fails.
void name_this_thread(std::string_view name) noexcept;

}  // namespace motorpool::core
