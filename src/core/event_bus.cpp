#include "core/event_bus.hpp"

#include <algorithm>
#include <utility>

namespace motorpool::core {

EventBus::Subscription& EventBus::Subscription::operator=(Subscription&& other) noexcept {
    if (this != &other) {
        reset();
        bus_ = std::move(other.bus_);
        id_ = std::exchange(other.id_, 0);
    }
    return *this;
}

EventBus::Subscription::~Subscription() {
    reset();
}

void EventBus::Subscription::reset() {
    if (auto bus = bus_.lock(); bus && id_ != 0) {
        (*bus)->unsubscribe(id_);
    }
    bus_.reset();
    id_ = 0;
}

EventBus::EventBus() : self_(std::make_shared<EventBus*>(this)) {}

EventBus::~EventBus() = default;

EventBus::Subscription EventBus::subscribe(std::string prefix, Handler handler) {
    std::lock_guard lock(mutex_);
    std::uint64_t id = next_id_++;
    entries_.push_back({id, std::move(prefix), std::make_shared<Handler>(std::move(handler))});
    return Subscription(self_, id);
}

void EventBus::unsubscribe(std::uint64_t id) {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [id](const Entry& e) { return e.id == id; });
}

void EventBus::publish(const Event& event) {
    deliver_local(event);
    if (relay_) {
        relay_(event);
    }
}

void EventBus::deliver_local(const Event& event) {
    // Handlers are called outside the lock, so one may subscribe or unsubscribe from inside.
    std::vector<std::shared_ptr<Handler>> targets;
    {
        std::lock_guard lock(mutex_);
        ++published_;
        for (const auto& e : entries_) {
            if (event.topic.compare(0, e.prefix.size(), e.prefix) == 0) {
                targets.push_back(e.handler);
            }
        }
    }
    for (const auto& handler : targets) {
        (*handler)(event);
    }
}

std::uint64_t EventBus::published() const {
    std::lock_guard lock(mutex_);
    return published_;
}

}  // namespace motorpool::core
