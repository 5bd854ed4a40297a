#include "booking/calendar.hpp"

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include <libical/ical.h>

namespace motorpool::booking {

namespace {

icaltimetype utc_time(std::int64_t ms) {
    return icaltime_from_timet_with_zone(static_cast<time_t>(ms / 1000), 0, icaltimezone_get_utc_timezone());
}

}  // namespace

std::string calendar_text(const CalendarEvent& e) {
    std::unique_ptr<icalcomponent, decltype(&icalcomponent_free)> calendar(icalcomponent_new(ICAL_VCALENDAR_COMPONENT),
                                                                           &icalcomponent_free);
    if (!calendar) {
        throw std::bad_alloc();
    }
    icalcomponent_add_property(calendar.get(), icalproperty_new_version("2.0"));
    icalcomponent_add_property(calendar.get(), icalproperty_new_prodid("-//motorpool//booking//EN"));
    icalcomponent_add_property(calendar.get(), icalproperty_new_method(ICAL_METHOD_PUBLISH));
    icalcomponent* event = icalcomponent_new(ICAL_VEVENT_COMPONENT);
    icalcomponent_add_property(event, icalproperty_new_uid(e.uid.c_str()));
    icalcomponent_add_property(event, icalproperty_new_dtstamp(utc_time(e.stamp_ms)));
    icalcomponent_add_property(event, icalproperty_new_dtstart(utc_time(e.start_ms)));
    icalcomponent_add_property(event, icalproperty_new_dtend(utc_time(e.end_ms)));
    icalcomponent_add_property(event, icalproperty_new_summary(e.summary.c_str()));
    icalcomponent_add_property(event, icalproperty_new_location(e.location.c_str()));
    icalcomponent_add_property(event, icalproperty_new_description(e.description.c_str()));
    icalgeotype geo{};
    geo.lat = e.latitude;
    geo.lon = e.longitude;
    icalcomponent_add_property(event, icalproperty_new_geo(geo));
    icalcomponent_add_property(event, icalproperty_new_status(ICAL_STATUS_CONFIRMED));
    icalcomponent_add_component(calendar.get(), event);  // owned by the calendar now
    char* text = icalcomponent_as_ical_string_r(calendar.get());
    if (text == nullptr) {
        throw std::runtime_error("libical could not write the event");
    }
    std::string out(text);
    std::free(text);  // NOLINT(cppcoreguidelines-no-malloc): libical's _r functions hand over malloc'd text
    return out;
}

}  // namespace motorpool::booking
