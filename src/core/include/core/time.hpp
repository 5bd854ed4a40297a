#pragma once
// Time: epoch milliseconds everywhere inside, RFC 3339 UTC at the edges; an injectable clock.

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace motorpool::core {

/// Wall-clock time source; tests substitute a fixed or stepped clock.
class Clock {
public:
    virtual ~Clock() = default;
    virtual std::int64_t now_ms() const = 0;
};

/// The system clock.
class SystemClock final : public Clock {
public:
    std::int64_t now_ms() const override;
};

/// A clock that only moves when told (tests); read and moved from any thread.
class ManualClock final : public Clock {
public:
    explicit ManualClock(std::int64_t start_ms) : now_(start_ms) {}
    std::int64_t now_ms() const override { return now_.load(std::memory_order_acquire); }
    void advance_ms(std::int64_t delta) { now_.fetch_add(delta, std::memory_order_acq_rel); }
    void set_ms(std::int64_t value) { now_.store(value, std::memory_order_release); }

private:
    std::atomic<std::int64_t> now_;
};

std::int64_t now_ms();

/// "2026-01-01T00:00:00Z", with ".mmm" only when the milliseconds are not zero, or always
/// (fixed width: log lines, Smartcar's headers).
std::string format_rfc3339(std::int64_t unix_ms, bool always_millis = false);

/// Parses RFC 3339 ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00.5+01:00", 't'/'z' and ' ' accepted);
/// fractions beyond milliseconds are truncated. nullopt for anything invalid (month 13, Feb 30, ...).
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);

}  // namespace motorpool::core
