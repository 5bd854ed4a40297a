// The job scheduler on the App's clock: schedules, triggers, failures, stop, and one-node leases
// between two schedulers sharing a database (SQLite file; the lease statement is the same SQL on
// PostgreSQL, where the cluster test races two real nodes).
#include <atomic>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <unistd.h>

#include "jobs/jobs.hpp"

namespace {

using namespace motorpool;
using namespace std::chrono_literals;

template <typename F>
bool eventually(F done) {
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

class SchedulerTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() / ("motorpool-jobs-" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        db::Options options;
        options.url = "sqlite:///" + (dir_ / "jobs.db").string();
        database_ = db::Database::open(options, workers_, nullptr);
        auto migrations = db::migrations(database_->dialect());
        auto mine = jobs::migrations(database_->dialect());
        migrations.insert(migrations.end(), mine.begin(), mine.end());
        db::migrate(*database_, migrations);
    }
    void TearDown() override {
        database_->close();
        std::filesystem::remove_all(dir_);
    }
    std::unique_ptr<jobs::Scheduler> scheduler(const std::string& node) {
        return std::make_unique<jobs::Scheduler>(workers_, *database_, clock_, &metrics_, node, 5ms);
    }
    // Waits until the scheduler has looked at the clock twice more (and finished what it started).
    static void settle(jobs::Scheduler& s) {
        const std::int64_t seen = s.ticks();
        ASSERT_TRUE(eventually([&] { return s.ticks() >= seen + 3; }));
    }

    std::filesystem::path dir_;
    core::WorkerPool workers_{2, 64};
    core::MetricsRegistry metrics_;
    std::shared_ptr<core::ManualClock> clock_ = std::make_shared<core::ManualClock>(1'000'000);
    std::unique_ptr<db::Database> database_;
};

TEST_F(SchedulerTest, PeriodicJobsRunWhenTheClockSaysSo) {
    std::atomic<int> runs{0};
    auto s = scheduler("a");
    s->add({"test.periodic", 60s, 30s, false, [&](const std::atomic<bool>&) { ++runs; }});
    s->start();
    clock_->advance_ms(29'999);
    settle(*s);
    EXPECT_EQ(runs, 0);
    clock_->advance_ms(1);
    ASSERT_TRUE(eventually([&] { return runs == 1; }));
    clock_->advance_ms(59'999);
    settle(*s);
    EXPECT_EQ(runs, 1);
    clock_->advance_ms(1);
    ASSERT_TRUE(eventually([&] { return runs == 2; }));
    EXPECT_TRUE(eventually([&] { return s->stats("test.periodic").runs == 2; }));
    EXPECT_EQ(s->stats("test.periodic").last_success_ms, clock_->now_ms());
    EXPECT_NE(metrics_.render().find("motorpool_job_runs_total{job=\"test.periodic\"} 2"), std::string::npos);
}

TEST_F(SchedulerTest, TriggersRunAtOnceAndATriggerDuringARunQueuesOneMore) {
    std::atomic<int> runs{0};
    std::atomic<bool> hold{true};
    auto s = scheduler("a");
    s->add({"test.triggered", 0ms, 0ms, false, [&](const std::atomic<bool>&) {
                ++runs;
                while (hold) {
                    std::this_thread::sleep_for(1ms);
                }
            }});
    s->start();
    settle(*s);
    EXPECT_EQ(runs, 0);  // no interval: only when triggered
    s->trigger("test.triggered");
    ASSERT_TRUE(eventually([&] { return runs == 1; }));
    s->trigger("test.triggered");  // during the run
    s->trigger("test.triggered");  // the same queued run
    hold = false;
    ASSERT_TRUE(eventually([&] { return runs == 2; }));
    settle(*s);
    EXPECT_EQ(runs, 2);
    s->trigger("no.such.job");  // ignored
}

TEST_F(SchedulerTest, AFailureIsCountedAndTheNextRunComesAsUsual) {
    std::atomic<int> calls{0};
    auto s = scheduler("a");
    s->add({"test.flaky", 10s, 0ms, false, [&](const std::atomic<bool>&) {
                if (++calls == 1) {
                    throw std::runtime_error("disk on fire");
                }
            }});
    s->start();
    ASSERT_TRUE(eventually([&] { return s->stats("test.flaky").runs == 1; }));
    EXPECT_EQ(s->stats("test.flaky").failures, 1);
    EXPECT_FALSE(s->stats("test.flaky").last_success_ms);
    clock_->advance_ms(10'000);
    ASSERT_TRUE(eventually([&] { return s->stats("test.flaky").runs == 2; }));
    EXPECT_EQ(s->stats("test.flaky").failures, 1);
    EXPECT_TRUE(s->stats("test.flaky").last_success_ms);
}

TEST_F(SchedulerTest, StopTellsARunningJobAndWaitsForIt) {
    std::atomic<bool> started{false};
    std::atomic<bool> finished{false};
    auto s = scheduler("a");
    s->add({"test.long", 0ms, 0ms, false, [&](const std::atomic<bool>& stopping) {
                started = true;
                while (!stopping) {
                    std::this_thread::sleep_for(1ms);
                }
                finished = true;
            }});
    s->start();
    s->trigger("test.long");
    ASSERT_TRUE(eventually([&] { return started.load(); }));
    s->stop();
    EXPECT_TRUE(finished);
}

// Two nodes with the same one-node job: each interval, exactly one of them runs it.
TEST_F(SchedulerTest, AOneNodeJobRunsOnOneNodePerInterval) {
    // Declared first, so destroyed last: the schedulers may start the next interval's run before
    // they stop (clang's ASan found these counters used after their scope).
    std::atomic<int> on_a{0};
    std::atomic<int> on_b{0};
    auto a = scheduler("node-a");
    auto b = scheduler("node-b");
    a->add({"test.singleton", 60s, 0ms, true, [&](const std::atomic<bool>&) { ++on_a; }});
    b->add({"test.singleton", 60s, 0ms, true, [&](const std::atomic<bool>&) { ++on_b; }});
    a->start();
    b->start();
    auto attempts = [&] {
        auto sa = a->stats("test.singleton");
        auto sb = b->stats("test.singleton");
        return sa.runs + sa.skipped + sb.runs + sb.skipped;
    };
    for (int interval = 1; interval <= 3; ++interval) {
        ASSERT_TRUE(eventually([&] { return attempts() == 2 * interval; })) << interval;
        EXPECT_EQ(on_a + on_b, interval) << "interval " << interval;
        clock_->advance_ms(60'000);
    }
    EXPECT_EQ(a->stats("test.singleton").skipped + b->stats("test.singleton").skipped, 3);
    // The holder keeps it; a lease taken by nobody else is free once it expired.
    database_->with_transaction([&](db::Connection& c) {
        const std::int64_t now = clock_->now_ms();
        EXPECT_FALSE(jobs::take_lease(c, "x", "node-a", now, now + 1000) &&
                     jobs::take_lease(c, "x", "node-b", now, now + 1000));
        EXPECT_TRUE(jobs::take_lease(c, "x", "node-a", now, now + 2000));
        EXPECT_TRUE(jobs::take_lease(c, "x", "node-b", now + 2000, now + 3000));
    });
}

// A node that stops gives its leases back: the next node runs the job at its next look, not an
// interval later.
TEST_F(SchedulerTest, AStoppedNodeGivesItsLeasesBack) {
    std::atomic<int> on_a{0};
    auto a = scheduler("node-a");
    a->add({"test.handover", 60s, 0ms, true, [&](const std::atomic<bool>&) { ++on_a; }});
    a->start();
    ASSERT_TRUE(eventually([&] { return on_a == 1; }));
    a->stop();
    std::atomic<int> on_b{0};
    auto b = scheduler("node-b");
    b->add({"test.handover", 60s, 0ms, true, [&](const std::atomic<bool>&) { ++on_b; }});
    b->start();
    ASSERT_TRUE(eventually([&] { return on_b == 1; }));  // the clock has not moved
    EXPECT_EQ(b->stats("test.handover").skipped, 0);
}

}  // namespace
