// Support chat over REST and the WebSocket hub, on every backend: threads (members theirs, support
// all, filters, assignment), messages (validated, idempotent by client message id, attachments the
// sender may read), keyset paging both ways and since a time, read positions and unread counts,
// close and reopen; another member gets 404 everywhere; MESSAGE frames reach the thread's
// subscribers and the support inbox after the commit.

#include <cstdlib>
#include <set>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "auth/auth.hpp"
#include "core/time.hpp"
#include "harness.hpp"
#include "ws_client.hpp"

namespace motorpool::testing {
namespace {

namespace json = boost::json;

class ChatTest : public ::testing::Test {
protected:
    void SetUp() override {
        app_ = std::make_unique<TestApp>();
        alice_ = register_member(*app_, "alice@example.com");
        bob_ = register_member(*app_, "bob@example.com");
        support_ = create_user_and_login(*app_, "support@example.com", auth::Role::Support);
    }

    std::string open_thread(const std::string& token, const std::string& subject, const char* body = nullptr) {
        json::object o{{"subject", subject}};
        if (body != nullptr) {
            o["body"] = body;
        }
        auto r = call(*app_, "POST", "/api/v1/chat/threads", token, o);
        EXPECT_EQ(r.status, 201) << r.body;
        return std::string(r.json().at("id").as_string());
    }

    http::ClientResponse say(const std::string& token, const std::string& thread, json::object message) {
        return call(*app_, "POST", "/api/v1/chat/threads/" + thread + "/messages", token, message);
    }

    std::unique_ptr<TestApp> app_;
    ApiUser alice_, bob_, support_;
};

TEST_F(ChatTest, ThreadsAreTheMembersOwnAndSupportSeesAllAndAssigns) {
    const std::string t1 = open_thread(alice_.token, "Brakes squeak", "Since Monday");
    const std::string t2 = open_thread(alice_.token, "Invoice");
    const std::string t3 = open_thread(bob_.token, "Tyres");
    auto mine = call(*app_, "GET", "/api/v1/chat/threads", alice_.token).json();
    EXPECT_EQ(mine.at("total"), json::value(2));
    auto first = call(*app_, "GET", "/api/v1/chat/threads/" + t1, alice_.token).json();
    EXPECT_EQ(first.at("status"), json::value("open"));
    EXPECT_EQ(first.at("member_id"), json::value(alice_.id));
    EXPECT_EQ(first.at("unread_count"), json::value(0));  // her own message
    // Another member: 404 on every route with the thread's id.
    for (const auto& [method, path] :
         std::vector<std::pair<std::string, std::string>>{{"GET", "/api/v1/chat/threads/" + t1},
                                                          {"GET", "/api/v1/chat/threads/" + t1 + "/messages"},
                                                          {"POST", "/api/v1/chat/threads/" + t1 + "/read"},
                                                          {"POST", "/api/v1/chat/threads/" + t1 + "/close"},
                                                          {"POST", "/api/v1/chat/threads/" + t1 + "/reopen"}}) {
        EXPECT_EQ(call(*app_, method, path, bob_.token).status, 404) << method << " " << path;
    }
    EXPECT_EQ(say(bob_.token, t1, {{"body", "hi"}}).status, 404);
    EXPECT_EQ(call(*app_, "PATCH", "/api/v1/chat/threads/" + t1, bob_.token, json::object{{"status", "closed"}}).status,
              404);

    // Support sees all three, filters and assigns.
    EXPECT_EQ(call(*app_, "GET", "/api/v1/chat/threads", support_.token).json().at("total"), json::value(3));
    EXPECT_EQ(
        call(*app_, "PATCH", "/api/v1/chat/threads/" + t1, alice_.token, json::object{{"assignee_id", support_.id}})
            .status,
        403);
    EXPECT_EQ(call(*app_, "PATCH", "/api/v1/chat/threads/" + t1, support_.token, json::object{{"assignee_id", bob_.id}})
                  .status,
              422);  // a member is no assignee
    auto assigned =
        call(*app_, "PATCH", "/api/v1/chat/threads/" + t1, support_.token, json::object{{"assignee_id", support_.id}});
    ASSERT_EQ(assigned.status, 200) << assigned.body;
    EXPECT_EQ(assigned.json().at("assignee_id"), json::value(support_.id));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/chat/threads?assignee=me", support_.token).json().at("total"),
              json::value(1));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/chat/threads?assignee=none", support_.token).json().at("total"),
              json::value(2));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/chat/threads?assignee=me", alice_.token).status, 422);
    ASSERT_EQ(call(*app_, "POST", "/api/v1/chat/threads/" + t3 + "/close", bob_.token).status, 200);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/chat/threads?status=closed", support_.token).json().at("total"),
              json::value(1));
    EXPECT_EQ(call(*app_, "GET", "/api/v1/chat/threads?status=nope", support_.token).status, 422);
    EXPECT_EQ(call(*app_, "POST", "/api/v1/chat/threads/" + t3 + "/reopen", support_.token).json().at("status"),
              json::value("open"));
    (void)t2;
}

TEST(ChatRateTest, MessagesAndNewThreadsPastTheLimitAre429WithRetryAfter) {
    TestApp app(std::map<std::string, std::string>{{"MOTORPOOL_CHAT_MESSAGES_PER_MINUTE", "3"}});
    const ApiUser alice = register_member(app, "alice@example.com");
    const ApiUser bob = register_member(app, "bob@example.com");
    auto opened = call(app, "POST", "/api/v1/chat/threads", alice.token, json::object{{"subject", "Noise"}});
    ASSERT_EQ(opened.status, 201) << opened.body;
    const std::string messages =
        "/api/v1/chat/threads/" + std::string(opened.json().at("id").as_string()) + "/messages";
    EXPECT_EQ(call(app, "POST", messages, alice.token, json::object{{"body", "one"}}).status, 201);
    EXPECT_EQ(call(app, "POST", messages, alice.token, json::object{{"body", "two"}}).status, 201);
    // The thread and two messages were three: the fourth of the minute is refused, and stored nowhere.
    auto limited = call(app, "POST", messages, alice.token, json::object{{"body", "three"}});
    EXPECT_EQ(limited.status, 429) << limited.body;
    const int retry_after = std::stoi(limited.header("Retry-After").value_or("0"));
    EXPECT_GE(retry_after, 1);
    EXPECT_LE(retry_after, 60);
    EXPECT_EQ(call(app, "POST", "/api/v1/chat/threads", alice.token, json::object{{"subject", "Again"}}).status, 429);
    EXPECT_EQ(call(app, "GET", messages, alice.token).json().at("items").as_array().size(), 2U);
    // Another member's allowance is their own.
    EXPECT_EQ(call(app, "POST", "/api/v1/chat/threads", bob.token, json::object{{"subject", "Mine"}}).status, 201);
}

TEST_F(ChatTest, MessagesAreValidatedIdempotentAndPagedBothWays) {
    const std::string t = open_thread(alice_.token, "Question");
    EXPECT_EQ(say(alice_.token, t, {{"body", "   "}}).status, 422);
    EXPECT_EQ(say(alice_.token, t, {{"body", std::string(4097, 'x')}}).status, 422);
    EXPECT_EQ(say(alice_.token, t, {{"body", "bell \x07"}}).status, 422);
    EXPECT_EQ(say(alice_.token, t, {{"body", "x"}, {"attachments", json::array{"not-a-file"}}}).status, 422);
    EXPECT_EQ(say(alice_.token, t, {{"body", "x"}, {"extra", 1}}).status, 422);

    auto sent = say(alice_.token, t, {{"body", "first"}, {"client_msg_id", "c-1"}});
    ASSERT_EQ(sent.status, 201) << sent.body;
    auto again = say(alice_.token, t, {{"body", "first"}, {"client_msg_id", "c-1"}});
    EXPECT_EQ(again.status, 200);
    EXPECT_EQ(again.json().at("id"), sent.json().at("id"));
    EXPECT_EQ(sent.json().at("sender_role"), json::value("member"));

    // Support answers: the thread waits on the member, who has unread messages.
    ASSERT_EQ(say(support_.token, t, {{"body", "second"}}).status, 201);
    ASSERT_EQ(say(support_.token, t, {{"body", "third"}}).status, 201);
    auto waiting = call(*app_, "GET", "/api/v1/chat/threads/" + t, alice_.token).json();
    EXPECT_EQ(waiting.at("status"), json::value("waiting_on_member"));
    EXPECT_EQ(waiting.at("unread_count"), json::value(2));
    // The list carries the same read state (one query for the page).
    auto listed = call(*app_, "GET", "/api/v1/chat/threads", alice_.token).json().at("items").at(0);
    EXPECT_EQ(listed.at("id"), json::value(t));
    EXPECT_EQ(listed.at("unread_count"), json::value(2));
    EXPECT_EQ(listed.at("read_message_id"), waiting.at("read_message_id"));
    // Support's own replies moved its read position past alice's message: nothing unread.
    auto staff_view = call(*app_, "GET", "/api/v1/chat/threads", support_.token).json().at("items").at(0);
    auto staff_thread = call(*app_, "GET", "/api/v1/chat/threads/" + t, support_.token).json();
    EXPECT_EQ(staff_view.at("unread_count"), json::value(0));
    EXPECT_EQ(staff_view.at("read_message_id"), staff_thread.at("read_message_id"));
    EXPECT_FALSE(staff_view.at("read_message_id").is_null());
    auto read = call(*app_, "POST", "/api/v1/chat/threads/" + t + "/read", alice_.token, json::object{});
    ASSERT_EQ(read.status, 200) << read.body;
    EXPECT_EQ(read.json().at("unread_count"), json::value(0));
    auto after_read = call(*app_, "GET", "/api/v1/chat/threads", alice_.token).json().at("items").at(0);
    EXPECT_EQ(after_read.at("unread_count"), json::value(0));
    EXPECT_EQ(after_read.at("read_message_id"), read.json().at("read_message_id"));
    ASSERT_EQ(say(alice_.token, t, {{"body", "fourth"}}).status, 201);
    ASSERT_EQ(say(alice_.token, t, {{"body", "fifth"}}).status, 201);
    EXPECT_EQ(call(*app_, "GET", "/api/v1/chat/threads/" + t, alice_.token).json().at("status"), json::value("open"));

    auto bodies = [](const json::value& page) {
        std::vector<std::string> out;
        for (const auto& m : page.at("items").as_array()) {
            out.emplace_back(m.at("body").as_string());
        }
        return out;
    };
    const std::string base = "/api/v1/chat/threads/" + t + "/messages";
    auto latest = call(*app_, "GET", base + "?limit=2", alice_.token).json();
    EXPECT_EQ(bodies(latest), (std::vector<std::string>{"fourth", "fifth"}));
    EXPECT_EQ(latest.at("has_more"), json::value(true));
    const std::string oldest_shown(latest.at("items").as_array()[0].at("id").as_string());
    auto back = call(*app_, "GET", base + "?limit=2&before=" + oldest_shown, alice_.token).json();
    EXPECT_EQ(bodies(back), (std::vector<std::string>{"second", "third"}));
    auto back_more = call(*app_,
                          "GET",
                          base + "?limit=2&before=" + std::string(back.at("items").as_array()[0].at("id").as_string()),
                          alice_.token)
                         .json();
    EXPECT_EQ(bodies(back_more), (std::vector<std::string>{"first"}));
    EXPECT_EQ(back_more.at("has_more"), json::value(false));
    auto forward =
        call(*app_, "GET", base + "?limit=3&after=" + std::string(sent.json().at("id").as_string()), alice_.token)
            .json();
    EXPECT_EQ(bodies(forward), (std::vector<std::string>{"second", "third", "fourth"}));
    EXPECT_EQ(forward.at("has_more"), json::value(true));
    EXPECT_EQ(
        call(*app_, "GET", base + "?since=2000-01-01T00:00:00Z", alice_.token).json().at("items").as_array().size(),
        5U);
    EXPECT_EQ(call(*app_, "GET", base + "?since=yesterday", alice_.token).status, 422);
    EXPECT_EQ(call(*app_, "GET", base + "?before=nope", alice_.token).status, 422);
}

TEST_F(ChatTest, AMessageArrivesLiveOnTheThreadAndInTheSupportInbox) {
    const std::string t = open_thread(alice_.token, "Live");
    WsClient member(app_->port(), "/api/v1/ws?token=" + alice_.token);
    WsClient staff(app_->port(), "/api/v1/ws?token=" + support_.token);
    WsClient stranger(app_->port(), "/api/v1/ws?token=" + bob_.token);
    ASSERT_EQ(member.status(), 101U);
    member.send(json::object{{"type", "SUBSCRIBE"}, {"topic", "chat.thread." + t}});
    auto sub = member.next();
    ASSERT_TRUE(sub);
    EXPECT_EQ(sub->at("type"), json::value("SUBSCRIBED")) << json::serialize(*sub);
    staff.send(json::object{{"type", "SUBSCRIBE"}, {"topic", "support.inbox"}});
    EXPECT_EQ(staff.next()->at("type"), json::value("SUBSCRIBED"));
    stranger.send(json::object{{"type", "SUBSCRIBE"}, {"topic", "chat.thread." + t}});
    EXPECT_EQ(stranger.next()->at("type"), json::value("ERROR"));
    stranger.send(json::object{{"type", "SUBSCRIBE"}, {"topic", "support.inbox"}});
    EXPECT_EQ(stranger.next()->at("type"), json::value("ERROR"));

    auto sent = say(support_.token, t, {{"body", "We are on it"}});
    ASSERT_EQ(sent.status, 201);
    auto frame = member.next();
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->at("type"), json::value("MESSAGE"));
    EXPECT_NE(json::serialize(*frame).find("We are on it"), std::string::npos) << json::serialize(*frame);
    auto inbox = staff.next();
    ASSERT_TRUE(inbox);
    EXPECT_EQ(inbox->at("type"), json::value("MESSAGE"));
    // A re-send with the same client id publishes nothing new.
    ASSERT_EQ(say(alice_.token, t, {{"body", "thanks"}, {"client_msg_id", "k"}}).status, 201);
    ASSERT_EQ(say(alice_.token, t, {{"body", "thanks"}, {"client_msg_id", "k"}}).status, 200);
    EXPECT_TRUE(member.next());
    EXPECT_FALSE(member.next(std::chrono::milliseconds(300)));
}

// The chat's client frames: SEND (acknowledged with SENT, idempotent by client id), TYPING
// (relayed, rate-limited, never stored), READ; refusals come back as ERROR frames.
TEST_F(ChatTest, ClientFramesSendTypeAndReadOverTheSocket) {
    const std::string t = open_thread(alice_.token, "Over the socket");
    WsClient member(app_->port(), "/api/v1/ws?token=" + alice_.token);
    WsClient staff(app_->port(), "/api/v1/ws?token=" + support_.token);
    WsClient stranger(app_->port(), "/api/v1/ws?token=" + bob_.token);
    for (auto* ws : {&member, &staff}) {
        ws->send(json::object{{"type", "SUBSCRIBE"}, {"topic", "chat.thread." + t}});
        ASSERT_EQ(ws->next()->at("type"), json::value("SUBSCRIBED"));
    }
    member.send(json::object{{"type", "SEND"}, {"thread_id", t}, {"body", "hello"}, {"client_msg_id", "w1"}});
    std::set<std::string> got;
    for (int i = 0; i < 2; ++i) {
        auto f = member.next();
        ASSERT_TRUE(f);
        got.insert(std::string(f->at("type").as_string()));
        if (f->at("type") == json::value("SENT")) {
            EXPECT_EQ(f->at("created"), json::value(true));
            EXPECT_EQ(f->at("client_msg_id"), json::value("w1"));
        }
    }
    EXPECT_EQ(got, (std::set<std::string>{"SENT", "MESSAGE"}));
    auto delivered = staff.next();
    ASSERT_TRUE(delivered);
    EXPECT_EQ(delivered->at("type"), json::value("MESSAGE"));
    EXPECT_EQ(delivered->at("body"), json::value("hello"));
    // The same client id again: acknowledged, not stored or published twice.
    member.send(json::object{{"type", "SEND"}, {"thread_id", t}, {"body", "hello"}, {"client_msg_id", "w1"}});
    auto again = member.next();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->at("type"), json::value("SENT"));
    EXPECT_EQ(again->at("created"), json::value(false));
    EXPECT_FALSE(staff.next(std::chrono::milliseconds(300)));

    auto messages = [&] {
        return app_->app().database().with_reader(
            [](db::Connection& c) { return c.query("SELECT COUNT(*) FROM chat_messages").row(0).int64(0); });
    };
    const auto stored = messages();
    member.send(json::object{{"type", "TYPING"}, {"thread_id", t}});
    member.send(json::object{{"type", "TYPING"}, {"thread_id", t}});  // within two seconds: dropped
    auto typing = staff.next();
    ASSERT_TRUE(typing);
    EXPECT_EQ(typing->at("type"), json::value("TYPING"));
    EXPECT_EQ(typing->at("user_id"), json::value(alice_.id));
    EXPECT_FALSE(staff.next(std::chrono::milliseconds(300)));
    EXPECT_EQ(messages(), stored);  // never stored

    staff.send(json::object{{"type", "READ"}, {"thread_id", t}});
    bool read_seen = false;
    for (int i = 0; i < 3 && !read_seen; ++i) {
        auto f = member.next();
        ASSERT_TRUE(f);
        read_seen = f->at("type") == json::value("READ") && f->at("user_id") == json::value(support_.id);
    }
    EXPECT_TRUE(read_seen);

    stranger.send(json::object{{"type", "SEND"}, {"thread_id", t}, {"body", "let me in"}});
    auto refused = stranger.next();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->at("type"), json::value("ERROR"));
    EXPECT_EQ(refused->at("code"), json::value("not_found"));
    member.send(json::object{{"type", "SEND"}, {"thread_id", t}, {"body", "  "}});
    auto invalid = member.next();
    ASSERT_TRUE(invalid);
    EXPECT_EQ(invalid->at("code"), json::value("invalid"));
    EXPECT_EQ(messages(), stored);
}

// A reply to a member with no socket open is e-mailed, at most once per thread in 15 minutes; a
// member who is connected gets none.
TEST_F(ChatTest, AReplyToAMemberWhoIsNotConnectedIsMailedOnce) {
    auto mails_to = [&](const std::string& email) {
        return app_->app().database().with_reader([&](db::Connection& c) {
            return c
                .query("SELECT COUNT(*) FROM mail_outbox WHERE recipient = $1 AND subject LIKE 'New reply%'", {email})
                .row(0)
                .int64(0);
        });
    };
    const std::string away = open_thread(alice_.token, "Away");
    ASSERT_EQ(say(support_.token, away, {{"body", "First answer"}}).status, 201);
    EXPECT_EQ(mails_to("alice@example.com"), 1);
    ASSERT_EQ(say(support_.token, away, {{"body", "Second answer"}}).status, 201);
    EXPECT_EQ(mails_to("alice@example.com"), 1);  // within 15 minutes of the first
    ASSERT_EQ(say(alice_.token, away, {{"body", "My own message"}}).status, 201);
    EXPECT_EQ(mails_to("alice@example.com"), 1);  // nobody mails the sender

    const std::string here = open_thread(bob_.token, "Here");
    WsClient bob_socket(app_->port(), "/api/v1/ws?token=" + bob_.token);
    ASSERT_EQ(bob_socket.status(), 101U);
    // The 101 goes out before the hub counts the socket: a PONG says it has.
    bob_socket.send(json::object{{"type", "PING"}});
    const auto pong = bob_socket.next();
    ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(pong->at("type"), json::value("PONG"));
    ASSERT_EQ(say(support_.token, here, {{"body", "Answer"}}).status, 201);
    EXPECT_EQ(mails_to("bob@example.com"), 0);
}

// On two nodes sharing one PostgreSQL: a message posted on node A reaches the member's socket and
// the support inbox on node B, through the bus relay.
TEST_F(ChatTest, AMessageOnOneNodeReachesSocketsOnAnother) {
    const char* backend = std::getenv("MOTORPOOL_TEST_BACKEND");
    if (backend == nullptr || std::string(backend) != "postgres") {
        GTEST_SKIP() << "two nodes share one PostgreSQL; LISTEN needs a direct connection (not PgBouncer)";
    }
    const std::string t = open_thread(alice_.token, "Two nodes");
    TestApp node_b({{"DATABASE_URL", app_->database().url()}});
    WsClient member(node_b.port(), "/api/v1/ws?token=" + alice_.token);
    WsClient staff(node_b.port(), "/api/v1/ws?token=" + support_.token);
    member.send(json::object{{"type", "SUBSCRIBE"}, {"topic", "chat.thread." + t}});
    ASSERT_EQ(member.next()->at("type"), json::value("SUBSCRIBED"));
    staff.send(json::object{{"type", "SUBSCRIBE"}, {"topic", "support.inbox"}});
    ASSERT_EQ(staff.next()->at("type"), json::value("SUBSCRIBED"));

    ASSERT_EQ(say(support_.token, t, {{"body", "From node A"}}).status, 201);  // on node A
    auto at_member = member.next(std::chrono::seconds(10));
    ASSERT_TRUE(at_member);
    EXPECT_EQ(at_member->at("type"), json::value("MESSAGE"));
    EXPECT_EQ(at_member->at("body"), json::value("From node A"));
    auto at_staff = staff.next(std::chrono::seconds(10));
    ASSERT_TRUE(at_staff);
    EXPECT_EQ(at_staff->at("type"), json::value("MESSAGE"));
    EXPECT_EQ(at_staff->at("thread_id"), json::value(t));
}

}  // namespace
}  // namespace motorpool::testing
