// The simulator's state in the database (simulated mode): loaded once, saved soon after every
// change a restart must not lose, and at stop. Sealed like the tokens the server keeps.

#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/threads.hpp"
#include "core/time.hpp"
#include "smartcar/simulator.hpp"

namespace motorpool::smartcar::sim {

namespace {
constexpr std::string_view kAssociated = "smartcar_sim_state:1";  // binds the sealed value to its row
}  // namespace

SimulatorStore::SimulatorStore(Simulator& simulator,
                               db::Database& database,
                               core::SecretBox box,
                               SimulatorStoreOptions options)
    : simulator_(simulator), database_(database), box_(std::move(box)), options_(options) {}

SimulatorStore::~SimulatorStore() {
    stop();
}

bool SimulatorStore::load() {
    auto rows = database_.with_reader(
        [](db::Connection& c) { return c.query("SELECT state FROM smartcar_sim_state WHERE id = 1"); });
    if (rows.empty()) {
        return false;
    }
    auto plain = box_.open(rows.front().text(0), kAssociated);
    if (!plain) {
        // Sealed under a key no longer configured: the simulator starts afresh (as a real
        // Smartcar account would not, so say it loudly).
        spdlog::warn("smartcar simulator: the saved state does not open with the configured keys; starting afresh");
        return false;
    }
    try {
        simulator_.restore(*plain);
    } catch (const std::exception& e) {
        spdlog::warn("smartcar simulator: {}; starting afresh", e.what());
        return false;
    }
    saved_generation_ = simulator_.generation();
    // Sealed under a previous key: left unsaved, so the next save re-seals it under the current one.
    saved_ = box_.is_current(rows.front().text(0)) ? std::move(*plain) : std::string();
    return true;
}

void SimulatorStore::save() {
    std::lock_guard save_lock(save_mutex_);
    const std::uint64_t generation = simulator_.generation();
    std::string snapshot = simulator_.snapshot();
    if (snapshot == saved_) {
        saved_generation_ = generation;
        return;
    }
    const std::string sealed = box_.seal(snapshot, kAssociated);
    const std::int64_t now = core::now_ms();
    database_.with_transaction([&](db::Connection& c) {
        c.execute(
            "INSERT INTO smartcar_sim_state (id, state, saved_at_ms) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE "
            "SET state = excluded.state, saved_at_ms = excluded.saved_at_ms",
            {sealed, now});
    });
    saved_ = std::move(snapshot);
    saved_generation_ = generation;
    saves_.fetch_add(1, std::memory_order_relaxed);
}

void SimulatorStore::start() {
    std::lock_guard lock(mutex_);
    if (thread_.joinable()) {
        return;
    }
    stopping_ = false;
    thread_ = std::thread([this] {
        core::name_this_thread("mp-sim-store");
        auto last_full = std::chrono::steady_clock::now();
        std::unique_lock guard(mutex_);
        while (!stopping_) {
            wake_.wait_for(guard, options_.check_interval, [this] { return stopping_; });
            if (stopping_) {
                break;
            }
            const bool changed = simulator_.generation() != saved_generation_;
            const bool due = std::chrono::steady_clock::now() - last_full >= options_.model_interval;
            if (!changed && !due) {
                continue;
            }
            guard.unlock();
            try {
                save();
            } catch (const std::exception& e) {
                spdlog::warn("smartcar simulator: saving its state failed: {}", e.what());
            }
            if (due) {
                last_full = std::chrono::steady_clock::now();
            }
            guard.lock();
        }
    });
}

void SimulatorStore::stop() {
    {
        std::lock_guard lock(mutex_);
        if (!thread_.joinable()) {
            return;
        }
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    try {
        save();  // the models' last state too
    } catch (const std::exception& e) {
        spdlog::warn("smartcar simulator: saving its state at stop failed: {}", e.what());
    }
}

std::int64_t SimulatorStore::rotate_key(db::Database& database, const core::SecretBox& box) {
    std::int64_t resealed = 0;
    database.with_transaction([&](db::Connection& c) {
        auto rows = c.query("SELECT state FROM smartcar_sim_state WHERE id = 1");
        if (rows.empty() || box.is_current(rows.front().text(0))) {
            return;
        }
        auto plain = box.open(rows.front().text(0), kAssociated);
        if (!plain) {
            throw std::runtime_error("the Smartcar simulator's saved state opens under none of the configured keys");
        }
        c.execute("UPDATE smartcar_sim_state SET state = $1 WHERE id = 1", {box.seal(*plain, kAssociated)});
        resealed = 1;
    });
    return resealed;
}

std::uint64_t SimulatorStore::saves() const {
    return saves_.load(std::memory_order_relaxed);
}

}  // namespace motorpool::smartcar::sim
