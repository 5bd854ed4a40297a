#pragma once
// Smartcar webhooks: POST /webhooks/smartcar checks SC-Signature (HMAC-SHA256 of the raw body
// under the application management token, constant time, before parsing), answers VERIFY, and
// commits every other delivery to a durable log (deduplicated by eventId) before its 200. A
// processor ingests from the log behind the answers; what was acknowledged survives a crash and
// is processed at the next start. Admins read and clear the log at /api/v1/webhook-events.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "core/event_bus.hpp"
#include "core/metrics.hpp"
#include "http/router.hpp"
#include "smartcar/service.hpp"
#include "telemetry/telemetry.hpp"

namespace motorpool::smartcar {

/// Where a logged delivery stands: waiting for processing, or its outcome.
enum class DeliveryStatus { Pending, Processed, Failed, Ignored };
std::string_view status_name(DeliveryStatus status);
std::optional<DeliveryStatus> status_from_name(std::string_view name);

struct WebhookOptions {
    bool process = true;              // false: log only (MOTORPOOL_WEBHOOK_PROCESSING)
    std::chrono::hours keep{8 * 24};  // processed deliveries kept (dedup window: 7 days and more)
    int batch = 1000;                 // deliveries processed per pass
    // A pass that found less than a full batch is followed by the next no sooner than this: under
    // load, passes are then large, and a pass costs about as much for one delivery of a vehicle
    // as for ten (the same history and latest-value pages are written).
    std::chrono::milliseconds linger{200};
};

class WebhookProcessor {
public:
    WebhookProcessor(SmartcarService& service,
                     telemetry::Ingestor& ingestor,
                     core::EventBus& bus,
                     core::MetricsRegistry* metrics,
                     WebhookOptions options);
    ~WebhookProcessor();
    WebhookProcessor(const WebhookProcessor&) = delete;
    WebhookProcessor& operator=(const WebhookProcessor&) = delete;

    void start();
    void stop();
    /// A delivery was committed: process soon.
    void notify();
    /// Processes pending deliveries until none is left; returns how many (tests, operations).
    std::int64_t drain();
    /// Deletes processed deliveries older than WebhookOptions::keep (the job smartcar.webhook_prune).
    std::int64_t prune();

private:
    struct Batch;  // one pass: vehicle links looked up once, samples gathered per vehicle
    void run();
    std::int64_t process_batch();
    std::string process(Batch& batch,
                        const std::string& event_type,
                        const std::string& body,
                        std::int64_t received_at_ms,
                        DeliveryStatus& status);

    SmartcarService& service_;
    telemetry::Ingestor& ingestor_;
    core::EventBus& bus_;
    WebhookOptions options_;
    std::mutex mutex_;
    std::condition_variable wake_;
    // Set by every accepted delivery, cleared by a pass: only the delivery that sets it wakes the
    // processor (a wake per delivery cost two context switches each).
    std::atomic<bool> pending_{false};
    bool stopping_ = false;
    std::thread thread_;
    std::mutex drain_mutex_;  // one pass at a time in this process
    core::Counter* processed_ = nullptr;
};

/// POST /webhooks/smartcar and the admin log routes.
void install_webhooks(http::Router& router,
                      SmartcarService& service,
                      std::shared_ptr<WebhookProcessor> processor,
                      core::MetricsRegistry* metrics);

}  // namespace motorpool::smartcar
