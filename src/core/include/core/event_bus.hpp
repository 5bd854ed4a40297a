#pragma once
// In-process publish/subscribe by topic ("vehicle.<id>", "charging.session.<id>", ...). Modules
// publish after their data is committed; the live-updates hub subscribes. Handlers run on the
// publisher's thread and must be quick (hand the event to their own executor).

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace motorpool::core {

struct Event {
    std::string topic;    // e.g. "vehicle.0190a7c2-..."
    std::string type;     // e.g. "SIGNALS"
    std::string payload;  // JSON text
};

class EventBus {
public:
    using Handler = std::function<void(const Event&)>;

    /// Unsubscribes on destruction.
    class Subscription {
    public:
        Subscription() = default;
        Subscription(std::weak_ptr<EventBus*> bus, std::uint64_t id) : bus_(std::move(bus)), id_(id) {}
        Subscription(Subscription&&) noexcept = default;
        Subscription& operator=(Subscription&& other) noexcept;
        Subscription(const Subscription&) = delete;
        Subscription& operator=(const Subscription&) = delete;
        ~Subscription();
        void reset();

    private:
        std::weak_ptr<EventBus*> bus_;
        std::uint64_t id_ = 0;
    };

    EventBus();
    ~EventBus();
    EventBus(const EventBus&) = delete;
    EventBus& operator=(const EventBus&) = delete;

    /// Calls `handler` for every event whose topic starts with `prefix` ("" for all).
    [[nodiscard]] Subscription subscribe(std::string prefix, Handler handler);
    /// Delivers to local subscribers, then hands the event to the relay (other nodes), if any.
    void publish(const Event& event);
    /// Delivers to local subscribers only: for events that arrived from another node.
    void deliver_local(const Event& event);
    /// Where published events also go (the PostgreSQL relay); set once at startup.
    void set_relay(Handler relay) { relay_ = std::move(relay); }
    std::uint64_t published() const;

private:
    void unsubscribe(std::uint64_t id);

    struct Entry {
        std::uint64_t id;
        std::string prefix;
        std::shared_ptr<Handler> handler;
    };
    mutable std::mutex mutex_;
    std::vector<Entry> entries_;
    std::uint64_t next_id_ = 1;
    std::uint64_t published_ = 0;
    Handler relay_;
    std::shared_ptr<EventBus*> self_;  // subscriptions hold a weak reference: safe if the bus dies first
};

}  // namespace motorpool::core
