#pragma once
// The bounded pool for blocking work (database calls, libcurl, Argon2) that coroutines co_await.

#include <atomic>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/errors.hpp"

namespace motorpool::core {

/// Runs blocking functions off the I/O threads. `co_await pool.run(fn)` posts `fn` to a worker,
/// suspends the coroutine, and resumes it on its own executor with fn's result (or exception).
/// The queue is bounded: when `queue_limit` jobs are pending, run() throws a 503 ApiError
/// instead of letting latency grow without bound.
class WorkerPool {
public:
    WorkerPool(int threads, int queue_limit)
        : pool_(static_cast<std::size_t>(threads)), threads_(threads), limit_(queue_limit) {}
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;
    ~WorkerPool() { join(); }

    template <typename F>
    boost::asio::awaitable<std::invoke_result_t<F&>> run(F fn) {
        using R = std::invoke_result_t<F&>;
        if (pending_.fetch_add(1, std::memory_order_relaxed) >= limit_) {
            pending_.fetch_sub(1, std::memory_order_relaxed);
            rejected_.fetch_add(1, std::memory_order_relaxed);
            throw ApiError::unavailable("The server is busy; retry shortly", 1);
        }
        if constexpr (std::is_void_v<R>) {
            co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::exception_ptr)>(
                [this](auto handler, F f) { this->start(std::move(handler), std::move(f)); },
                boost::asio::use_awaitable,
                std::move(fn));
        } else {
            std::optional<R> result;
            co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>, void(std::exception_ptr)>(
                [this, &result](auto handler, F f) {
                    this->start(std::move(handler), [&result, f = std::move(f)]() mutable { result.emplace(f()); });
                },
                boost::asio::use_awaitable,
                std::move(fn));
            co_return std::move(*result);
        }
    }

    /// Posts without waiting (fire-and-forget background work); not bounded by the gate.
    template <typename F>
    void post(F fn) {
        boost::asio::post(pool_, std::move(fn));
    }

    int threads() const { return threads_; }
    int pending() const { return pending_.load(std::memory_order_relaxed); }
    std::uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }

    void join() {
        if (!joined_.exchange(true)) {
            pool_.join();
        }
    }

private:
    template <typename Handler, typename F>
    void start(Handler handler, F f) {
        // Keep the caller's io_context alive while the job runs, then resume the coroutine there.
        auto io = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                      boost::asio::execution::outstanding_work.tracked);
        boost::asio::post(pool_, [this, io = std::move(io), handler = std::move(handler), f = std::move(f)]() mutable {
            std::exception_ptr error;
            try {
                f();
            } catch (...) {
                error = std::current_exception();
            }
            pending_.fetch_sub(1, std::memory_order_relaxed);
            boost::asio::dispatch(io, [handler = std::move(handler), error]() mutable { std::move(handler)(error); });
        });
    }

    boost::asio::thread_pool pool_;
    int threads_;
    int limit_;
    std::atomic<int> pending_{0};
    std::atomic<std::uint64_t> rejected_{0};
    std::atomic<bool> joined_{false};
};

}  // namespace motorpool::core
