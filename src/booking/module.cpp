#include "booking/module.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "auth/auth.hpp"
#include "booking/calendar.hpp"
#include "core/errors.hpp"
#include "core/time.hpp"
#include "core/time_zone.hpp"
#include "mail/mail.hpp"
#include "routes.hpp"

namespace motorpool::booking {

namespace {

/// Every booked appointment starting within 24 hours gets one reminder e-mail (the outbox sends
/// it, with the appointment as an iCalendar event; the row records that it was queued, in the
/// same transaction).
std::size_t send_reminders(db::Database& database, std::int64_t now) {
    return database.with_transaction([&](db::Connection& c) {
        auto rows = c.query(
            "SELECT a.id, a.start_ms, a.end_ms, a.services, l.name, l.address, l.time_zone, u.email, a.public_id, "
            "l.latitude, l.longitude "
            "FROM appointments a JOIN booking_locations l ON l.id = a.location_id JOIN users u ON u.id = a.user_id "
            "WHERE a.status = 'booked' AND a.reminder_sent_at_ms IS NULL AND a.start_ms > $1 AND a.start_ms <= $2 "
            "ORDER BY a.start_ms LIMIT 500",
            {now, now + 24LL * 3600 * 1000});
        std::size_t sent = 0;
        for (std::size_t i = 0; i < rows.size(); ++i) {
            auto r = rows.row(i);
            if (c.execute(
                    "UPDATE appointments SET reminder_sent_at_ms = $2 WHERE id = $1 AND reminder_sent_at_ms IS NULL",
                    {r.int64(0), now}) != 1) {
                continue;
            }
            const auto zone = core::TimeZone::load(r.text(6)).value_or(core::TimeZone::utc());
            const core::LocalTime t = zone.local(r.int64(1));
            std::string services;
            std::string service_names;
            boost::system::error_code ec;
            boost::json::value lines = boost::json::parse(r.text(3), ec);
            if (!ec && lines.is_array()) {
                for (const auto& l : lines.as_array()) {
                    services += "  - " + std::string(l.at("name").as_string()) + "\n";
                    service_names += (service_names.empty() ? "" : ", ") + std::string(l.at("name").as_string());
                }
            }
            const std::string body = fmt::format(
                "Your service appointment at {} is on {:04}-{:02}-{:02} at {:02}:{:02} ({} time, {} UTC).\n\n"
                "Address: {}\nServices:\n{}\nTo cancel or reschedule, open your appointments in motorpool "
                "(appointment {}).\n",
                r.text(4),
                t.year,
                t.month,
                t.day,
                t.hour,
                t.minute,
                r.text(6),
                core::format_rfc3339(r.int64(1)),
                r.opt_text(5).value_or("-"),
                services,
                r.text(8));
            CalendarEvent event;
            event.uid = r.text(8) + "@motorpool";
            event.start_ms = r.int64(1);
            event.end_ms = r.int64(2);
            event.stamp_ms = now;
            event.summary = "Service appointment at " + r.text(4);
            event.location = r.opt_text(5) ? r.text(4) + ", " + *r.opt_text(5) : r.text(4);
            event.description = service_names;
            event.latitude = r.real(9);
            event.longitude = r.real(10);
            mail::enqueue(c,
                          r.text(7),
                          "Reminder: your appointment at " + r.text(4),
                          body,
                          now,
                          {{"appointment.ics", "text/calendar; charset=utf-8; method=PUBLISH", calendar_text(event)}});
            ++sent;
        }
        return sent;
    });
}

}  // namespace

Module::Module(live::Module& live) : live_(live) {}
Module::~Module() = default;

std::vector<db::Migration> Module::migrations(db::Dialect dialect) const {
    return booking::migrations(dialect);
}

void Module::install(platform::Context& context) {
    services_ = std::make_shared<Services>(Services{context.database, context.events, context.clock, {}, {}, {}});
    install_routes(context.router, services_);
    auto& database = context.database;
    auto clock = context.clock;
    context.jobs.add({"booking.reminders",
                      std::chrono::minutes(1),
                      std::chrono::seconds(30),
                      true,
                      [&database, clock](const std::atomic<bool>&) {
                          if (auto sent = send_reminders(database, clock->now_ms()); sent > 0) {
                              spdlog::info("booking: queued {} appointment reminder(s)", sent);
                          }
                      }});
    // member.<user id>: a member's appointments (and, with the membership module, memberships), for
    // the member and staff.
    live::add_topic(live_.hub(), "member.", [](const http::Principal& who, std::string_view id) {
        auto role = auth::role_from_name(who.role);
        if (who.subject != id && (!role || !auth::sees_all_rows(*role))) {
            throw core::ApiError::not_found("Member");
        }
    });
}

void Module::on_completed(CompletedHook hook) {
    services_->completed = std::move(hook);
}

void Module::set_rewards(RewardsHooks hooks) {
    services_->rewards = std::move(hooks);
}

void Module::set_pricing(PricingHook hook) {
    services_->pricing = std::move(hook);
}

}  // namespace motorpool::booking
