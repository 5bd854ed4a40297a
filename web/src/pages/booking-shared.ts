// What the membership pages share: the booking module's types, dates on a location's wall clock,
// the browser's position, and the member.<id> live topic.
import type {PageContext} from '../lib/app';
import {subscribe, type Frame} from '../lib/live';

type Windows = [string, string][];
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

export interface ServiceLocation {
  id: string;
  name: string;
  address: string | null;
  latitude: number;
  longitude: number;
  time_zone: string;
  bays: number;
  opening_hours: Record<Weekday, Windows>;
  services: string[];
  slot_interval_min: number;
  min_notice_min: number;
  buffer_min: number;
  horizon_days: number;
  cancel_cutoff_min: number;
  distance_km?: number;
}

export interface Closure {
  date: string;
  hours: Windows | null;
  note: string | null;
}

export interface BookingService {
  code: string;
  name: string;
  description: string | null;
  duration_min: number;
  price_cents: number;
  active: boolean;
}

export interface Slot {
  start: string;
  end: string;
}

export interface Availability {
  location_id: string;
  date: string;
  time_zone: string;
  duration_min: number;
  available_slots: Slot[];
}

export type AppointmentStatus = 'booked' | 'checked_in' | 'in_progress' | 'completed' | 'cancelled' | 'no_show';

export interface Appointment {
  id: string;
  user_id: string | null;
  vehicle_id: string | null;
  location_id: string;
  start_time: string;
  end_time: string;
  local_start: string;
  time_zone: string;
  status: AppointmentStatus;
  services: {code: string; name: string; duration_min: number; price_cents: number; included: boolean}[];
  price_cents: number;
  rewards_cents: number;
  amount_due_cents: number;
  notes: string | null;
  odometer_km: number | null;
  work_done: string | null;
  cancelled_at: string | null;
  created_at: string;
}

export interface Plan {
  code: string;
  name: string;
  description: string | null;
  price_cents: number;
  currency: string;
  included_services: Record<string, number>;
  benefits: string[];
  active: boolean;
}

export interface Membership {
  id: string;
  user_id: string;
  plan_code: string;
  plan: Plan;
  status: 'active' | 'cancelled' | 'expired';
  cancel_at_period_end: boolean;
  pending_plan_code: string | null;
  started_at: string;
  period_start: string;
  period_end: string;
}

export const statusNames: Record<AppointmentStatus, string> = {
  booked: 'booked', checked_in: 'checked in', in_progress: 'in progress', completed: 'completed',
  cancelled: 'cancelled', no_show: 'no-show',
};

/// The local calendar date (YYYY-MM-DD) of an instant in a time zone.
export function localDate(instant: Date | number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {timeZone, year: 'numeric', month: '2-digit', day: '2-digit'})
    .formatToParts(instant);
  const part = (type: string) => parts.find((p) => p.type === type)!.value;
  return `${part('year')}-${part('month')}-${part('day')}`;
}

/// Calendar dates as YYYY-MM-DD strings, computed at UTC midnight (no time zone shifts a plain date).
export function dateOf(text: string): Date {
  return new Date(`${text}T00:00:00Z`);
}

export function textOf(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function addDays(text: string, days: number): string {
  const d = dateOf(text);
  d.setUTCDate(d.getUTCDate() + days);
  return textOf(d);
}

export function weekdayOf(text: string): Weekday {
  return (['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const)[dateOf(text).getUTCDay()];
}

/// "Tuesday, 15 July 2025" for a plain date, in the reader's language.
export function longDate(text: string): string {
  return dateOf(text).toLocaleDateString(undefined, {weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC'});
}

/// A time of day on the location's wall clock.
export function timeIn(iso: string, timeZone: string): string {
  return new Date(iso).toLocaleTimeString(undefined, {hour: '2-digit', minute: '2-digit', timeZone});
}

/// Date and time on the location's wall clock, with the zone named.
export function whenIn(iso: string, timeZone: string): string {
  const date = new Date(iso).toLocaleDateString(undefined, {weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone});
  return `${date}, ${timeIn(iso, timeZone)} (${timeZone})`;
}

/// The first and last local dates a location takes bookings for (its notice and horizon from now).
export function bookableRange(l: ServiceLocation, now = Date.now()): {first: string; last: string} {
  return {
    first: localDate(now + l.min_notice_min * 60_000, l.time_zone),
    last: localDate(now + l.horizon_days * 86_400_000, l.time_zone),
  };
}

/// Whether a location opens at all on a local date: its weekly hours, unless a closure replaces them.
export function opensOn(l: ServiceLocation, closures: Closure[], date: string): boolean {
  const special = closures.find((c) => c.date === date);
  if (special) return (special.hours ?? []).length > 0;
  return l.opening_hours[weekdayOf(date)].length > 0;
}

export function serviceNames(codes: string[], catalogue: BookingService[]): string {
  return codes.map((code) => catalogue.find((s) => s.code === code)?.name ?? code).join(', ');
}

/// The browser's position when it gives one within a few seconds; null when refused or unavailable.
export function position(): Promise<{lat: number; lng: number} | null> {
  if (!('geolocation' in navigator)) return Promise.resolve(null);
  return new Promise((done) => {
    navigator.geolocation.getCurrentPosition(
      (p) => done({lat: p.coords.latitude, lng: p.coords.longitude}),
      () => done(null),
      {timeout: 8000, maximumAge: 600_000});
  });
}

/// Calls `handler` for the frames of these types on these members' topics while the page is open.
export function onMemberEvents(ctx: PageContext, userIds: Iterable<string>, types: string[],
  handler: (frame: Frame) => void): () => void {
  const stops = [...new Set(userIds)].map((id) => subscribe(`member.${id}`, (frame) => {
    if (types.includes(frame.type)) handler(frame);
  }));
  const stop = () => {
    for (const s of stops.splice(0)) s();
  };
  ctx.cleanup(stop);
  return stop;
}

/// Runs `fn` once after a burst of calls (several frames in a row cause one reload).
export function debounce(fn: () => void, ms = 250): () => void {
  let timer: number | undefined;
  return () => {
    clearTimeout(timer);
    timer = window.setTimeout(fn, ms);
  };
}
