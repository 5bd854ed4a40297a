#include "core/threads.hpp"

#include <algorithm>
#include <array>

#include <pthread.h>

namespace motorpool::core {

void name_this_thread(std::string_view name) noexcept {
    std::array<char, 16> buffer{};
    std::copy_n(name.begin(), std::min(name.size(), buffer.size() - 1), buffer.begin());
    pthread_setname_np(pthread_self(), buffer.data());
}

}  // namespace motorpool::core
