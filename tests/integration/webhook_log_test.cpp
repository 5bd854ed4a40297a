// The webhook log's repository (src/smartcar/webhook_log.hpp) on each backend, without HTTP.
#include "webhook_log.hpp"

#include <gtest/gtest.h>

#include "app/app.hpp"
#include "core/worker_pool.hpp"
#include "test_database.hpp"

namespace motorpool::testing {
namespace {

using smartcar::DeliveryOutcome;
using smartcar::DeliveryStatus;
using smartcar::NewDelivery;
using smartcar::WebhookLog;

class WebhookLogTest : public ::testing::Test {
protected:
    void SetUp() override {
        MOTORPOOL_SKIP_UNLESS_BACKEND_AVAILABLE();
        database_ = std::make_unique<TestDatabase>();
        db_ = db::Database::open(database_->options(), workers_, nullptr);
        db::migrate(*db_, app::migrations(db_->dialect()));
    }
    void TearDown() override {
        if (db_) {
            db_->close();
        }
    }
    bool record(const std::string& event_id, std::int64_t received_at_ms) {
        return db_->with_transaction([&](db::Connection& c) {
            return WebhookLog::record(c, NewDelivery{event_id, "VEHICLE_STATE", "", received_at_ms, R"({"n":1})"});
        });
    }
    std::vector<std::string> listed(std::optional<DeliveryStatus> status) {
        http::PageQuery q;
        q.page_size = 50;
        auto page = db_->with_reader([&](db::Connection& c) { return WebhookLog::list(c, q, status); });
        std::vector<std::string> ids;
        for (const auto& d : page.items) {
            ids.push_back(d.event_id);
        }
        return ids;
    }

    core::WorkerPool workers_{2, 16};
    std::unique_ptr<TestDatabase> database_;
    std::unique_ptr<db::Database> db_;
};

TEST_F(WebhookLogTest, RecordQueueOutcomeListPruneAndClear) {
    EXPECT_FALSE(record("e1", 1'000));
    EXPECT_FALSE(record("e2", 2'000));
    EXPECT_FALSE(record("e3", 3'000));
    EXPECT_TRUE(record("e1", 4'000));  // a re-delivery: counted, not queued again
    auto pending = db_->with_reader([](db::Connection& c) { return WebhookLog::pending(c, 10); });
    ASSERT_EQ(pending.size(), 3U);
    EXPECT_EQ(pending[0].received_at_ms, 1'000);  // oldest first
    EXPECT_EQ(pending[0].body, R"({"n":1})");

    db_->with_transaction([&](db::Connection& c) {
        WebhookLog::record_outcomes(c,
                                    {{pending[0].id, DeliveryStatus::Processed, "ingested 3 values"},
                                     {pending[1].id, DeliveryStatus::Failed, std::string(600, 'x')}},
                                    5'000);
    });
    EXPECT_EQ(db_->with_reader([](db::Connection& c) { return WebhookLog::pending(c, 10); }).size(), 1U);
    EXPECT_EQ(listed(std::nullopt), (std::vector<std::string>{"e3", "e2", "e1"}));  // newest first
    EXPECT_EQ(listed(DeliveryStatus::Pending), (std::vector<std::string>{"e3"}));
    EXPECT_EQ(listed(DeliveryStatus::Failed), (std::vector<std::string>{"e2"}));
    EXPECT_EQ(listed(DeliveryStatus::Ignored), (std::vector<std::string>{}));

    http::PageQuery q;
    q.page_size = 50;
    auto page = db_->with_reader([&](db::Connection& c) { return WebhookLog::list(c, q, DeliveryStatus::Processed); });
    ASSERT_EQ(page.items.size(), 1U);
    EXPECT_EQ(page.items[0].outcome, "ingested 3 values");
    EXPECT_EQ(page.items[0].redeliveries, 1);
    EXPECT_EQ(page.items[0].processed_at_ms, 5'000);
    EXPECT_EQ(page.total, 1);
    auto failed = db_->with_reader([&](db::Connection& c) { return WebhookLog::list(c, q, DeliveryStatus::Failed); });
    EXPECT_EQ(failed.items[0].outcome->size(), 500U);  // outcomes are kept short

    // Keyset paging, one at a time, ids downwards.
    http::PageQuery keyset;
    keyset.page_size = 1;
    keyset.keyset = true;
    std::vector<std::string> walked;
    for (int i = 0; i < 5; ++i) {
        auto p = db_->with_reader([&](db::Connection& c) { return WebhookLog::list(c, keyset, std::nullopt); });
        for (const auto& d : p.items) {
            walked.push_back(d.event_id);
        }
        if (!p.next_after) {
            break;
        }
        keyset.after = p.next_after;
    }
    EXPECT_EQ(walked, (std::vector<std::string>{"e3", "e2", "e1"}));

    // Prune: processed deliveries received before the cutoff go; waiting ones never.
    EXPECT_EQ(db_->with_transaction([](db::Connection& c) { return WebhookLog::prune(c, 1'500); }), 1);
    EXPECT_EQ(listed(std::nullopt), (std::vector<std::string>{"e3", "e2"}));
    EXPECT_EQ(db_->with_transaction([](db::Connection& c) { return WebhookLog::prune(c, 10'000); }), 1);
    EXPECT_EQ(listed(std::nullopt), (std::vector<std::string>{"e3"}));
    EXPECT_EQ(db_->with_transaction([](db::Connection& c) { return WebhookLog::clear(c); }), 0);
    EXPECT_EQ(listed(DeliveryStatus::Pending), (std::vector<std::string>{"e3"}));
}

TEST(DeliveryStatusTest, NamesRoundTrip) {
    for (auto s :
         {DeliveryStatus::Pending, DeliveryStatus::Processed, DeliveryStatus::Failed, DeliveryStatus::Ignored}) {
        EXPECT_EQ(smartcar::status_from_name(smartcar::status_name(s)), s);
    }
    EXPECT_FALSE(smartcar::status_from_name("done"));
    EXPECT_FALSE(smartcar::status_from_name("Pending"));
}

}  // namespace
}  // namespace motorpool::testing
