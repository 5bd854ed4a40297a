#include "core/worker_pool.hpp"

#include <latch>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace motorpool::core {
namespace {

namespace net = boost::asio;

// Runs one coroutine to completion on a fresh io_context, rethrowing what it threw.
template <typename F>
void run_coroutine(F f) {
    net::io_context io;
    std::exception_ptr failure;
    net::co_spawn(io, std::move(f), [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) {
        std::rethrow_exception(failure);
    }
}

TEST(WorkerPoolTest, RunsOffTheIoThreadAndResumesOnIt) {
    WorkerPool pool(2, 16);
    run_coroutine([&]() -> net::awaitable<void> {
        auto io_thread = std::this_thread::get_id();
        auto worker_thread = co_await pool.run([] { return std::this_thread::get_id(); });
        EXPECT_NE(worker_thread, io_thread);
        EXPECT_EQ(std::this_thread::get_id(), io_thread);
        int value = co_await pool.run([] { return 41 + 1; });
        EXPECT_EQ(value, 42);
        co_await pool.run([] {});
    });
    EXPECT_EQ(pool.pending(), 0);
}

TEST(WorkerPoolTest, PropagatesExceptions) {
    WorkerPool pool(1, 16);
    EXPECT_THROW(run_coroutine([&]() -> net::awaitable<void> {
                     co_await pool.run([]() -> int { throw std::runtime_error("boom"); });
                 }),
                 std::runtime_error);
    EXPECT_EQ(pool.pending(), 0);
}

TEST(WorkerPoolTest, MoveOnlyNonDefaultConstructibleResults) {
    struct NoDefault {
        explicit NoDefault(int v) : value(std::make_unique<int>(v)) {}
        std::unique_ptr<int> value;
    };
    WorkerPool pool(1, 16);
    run_coroutine([&]() -> net::awaitable<void> {
        NoDefault result = co_await pool.run([] { return NoDefault(7); });
        EXPECT_EQ(*result.value, 7);
    });
}

TEST(WorkerPoolTest, FullQueueAnswers503) {
    WorkerPool pool(1, 2);
    std::latch release(1);
    std::atomic<int> finished{0};
    net::io_context io;
    // Two jobs occupy the gate; the third is refused at once with 503.
    for (int i = 0; i < 2; ++i) {
        net::co_spawn(
            io,
            [&]() -> net::awaitable<void> {
                co_await pool.run([&] { release.wait(); });
                ++finished;
            },
            [](std::exception_ptr e) { EXPECT_FALSE(e); });
    }
    int status = 0;
    net::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
            try {
                co_await pool.run([] {});
            } catch (const ApiError& e) {
                status = e.status();
            }
            release.count_down();
        },
        [](std::exception_ptr e) { EXPECT_FALSE(e); });
    io.run();
    EXPECT_EQ(status, 503);
    EXPECT_EQ(finished, 2);
    EXPECT_EQ(pool.rejected(), 1U);
}

}  // namespace
}  // namespace motorpool::core
