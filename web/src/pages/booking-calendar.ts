// The day picker (a month grid of buttons, arrow keys move between days, Page Up/Down between
// months) and the free times of the chosen day from /appointments/availability, shown on the
// location's wall clock. Used by the booking page and to reschedule an appointment.
import {api, ApiProblem, query} from '../lib/api';
import {h} from '../lib/dom';
import {
  addDays, bookableRange, dateOf, localDate, longDate, opensOn, textOf, timeIn,
  type Availability, type Closure, type ServiceLocation, type Slot,
} from './booking-shared';

const weekdays = [1, 2, 3, 4, 5, 6, 0].map((d) => dateOf(`2024-01-0${d === 0 ? 7 : d}`));  // 2024-01-01 was a Monday

export interface DayPickerOptions {
  /// The bookable range (local dates, inclusive); days outside it are disabled.
  first: string;
  last: string;
  /// Whether a day inside the range can be chosen (the location opens that day).
  open(date: string): boolean;
  /// Today on the location's calendar (marked in the grid).
  today: string;
  selected: string | null;
  onSelect(date: string): void;
}

/// A month grid of day buttons with a roving tab stop: Tab reaches the grid once, the arrow keys
/// move a day (left, right) or a week (up, down), Home and End go to the week's ends, Page Up and
/// Page Down a month; Enter or Space chooses the day.
export function dayPicker(options: DayPickerOptions): HTMLElement {
  let selected = options.selected;
  let focus = selected ?? options.first;
  const usable = (date: string) => date >= options.first && date <= options.last && options.open(date);
  const clamp = (date: string) => (date < options.first ? options.first : date > options.last ? options.last : date);
  const firstOfMonth = (date: string) => `${date.slice(0, 7)}-01`;

  // The month bar stays while the grid below it is redrawn, so its buttons keep the focus.
  const titleId = `month-${Math.random().toString(36).slice(2, 9)}`;
  const title = h('span', {id: titleId, class: 'title', 'aria-live': 'polite'});
  const earlier = h('button', {type: 'button', class: 'secondary', 'aria-label': 'Previous month',
    onclick: () => move(clamp(firstOfMonth(addDays(firstOfMonth(focus), -1))), false)}, '‹');
  const later = h('button', {type: 'button', class: 'secondary', 'aria-label': 'Next month',
    onclick: () => move(clamp(firstOfMonth(addDays(firstOfMonth(focus), 31))), false)}, '›');
  const grid = h('table', {'aria-labelledby': titleId});
  const root = h('div', {class: 'daypicker'}, h('div', {class: 'month'}, earlier, title, later), grid);

  function draw(focusNow: boolean): void {
    const month = focus.slice(0, 7);
    const start = dateOf(`${month}-01`);
    title.textContent = start.toLocaleDateString(undefined, {month: 'long', year: 'numeric', timeZone: 'UTC'});
    earlier.disabled = `${month}-01` <= options.first;
    later.disabled = firstOfMonth(addDays(`${month}-01`, 31)) > options.last;
    grid.replaceChildren();
    const head = grid.createTHead().insertRow();
    for (const d of weekdays) {
      head.append(h('th', {scope: 'col', abbr: d.toLocaleDateString(undefined, {weekday: 'long', timeZone: 'UTC'})},
        d.toLocaleDateString(undefined, {weekday: 'short', timeZone: 'UTC'})));
    }
    const body = grid.createTBody();
    let row = body.insertRow();
    const lead = (start.getUTCDay() + 6) % 7;  // cells before the 1st in a Monday-first week
    for (let i = 0; i < lead; i++) row.insertCell();
    for (let day = `${month}-01`; day.startsWith(month); day = addDays(day, 1)) {
      if (row.cells.length === 7) row = body.insertRow();
      const ok = usable(day);
      const why = ok ? '' : day >= options.first && day <= options.last ? ', closed' : ', not bookable';
      row.insertCell().append(h('button', {
        type: 'button', 'data-date': day, class: day === options.today ? 'today' : null,
        tabindex: day === focus ? 0 : -1, 'aria-pressed': String(day === selected), 'aria-disabled': ok ? null : 'true',
        'aria-label': `${longDate(day)}${day === options.today ? ', today' : ''}${why}`,
      }, String(Number(day.slice(8)))));
    }
    while (row.cells.length < 7) row.insertCell();
    if (focusNow) grid.querySelector<HTMLButtonElement>(`button[data-date="${focus}"]`)?.focus();
  }

  function move(date: string, focusDay: boolean): void {
    focus = date;
    draw(focusDay);
  }

  grid.addEventListener('click', (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button[data-date]');
    if (!button || button.getAttribute('aria-disabled') === 'true') return;
    focus = button.dataset.date!;
    selected = focus;
    draw(true);
    options.onSelect(focus);
  });
  grid.addEventListener('keydown', (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button[data-date]');
    if (!button) return;
    const day = button.dataset.date!;
    const weekday = (dateOf(day).getUTCDay() + 6) % 7;
    const shiftMonth = (by: number) => {
      const d = dateOf(day);
      const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + by, 1));
      const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
      target.setUTCDate(Math.min(d.getUTCDate(), lastDay));
      return textOf(target);
    };
    const to: Record<string, () => string> = {
      ArrowLeft: () => addDays(day, -1), ArrowRight: () => addDays(day, 1),
      ArrowUp: () => addDays(day, -7), ArrowDown: () => addDays(day, 7),
      Home: () => addDays(day, -weekday), End: () => addDays(day, 6 - weekday),
      PageUp: () => shiftMonth(-1), PageDown: () => shiftMonth(1),
    };
    if (!to[event.key]) return;
    event.preventDefault();
    move(clamp(to[event.key]()), true);
  });
  draw(false);
  return root;
}

export interface WhenPicker {
  element: HTMLElement;
  /// The chosen free time, if any.
  chosen(): Slot | null;
  /// Loads the chosen day's free times again (after a 409: the slot was taken meanwhile).
  reload(): Promise<void>;
  setServices(codes: string[]): void;
}

/// The day picker for a location plus the free times of the chosen day for these services.
export function whenPicker(location: ServiceLocation, closures: Closure[], services: string[],
  initialDay: string | null, onChange: () => void = () => undefined): WhenPicker {
  const zone = location.time_zone;
  const {first, last} = bookableRange(location);
  const open = (date: string) => opensOn(location, closures, date);
  let day = initialDay && initialDay >= first && initialDay <= last && open(initialDay) ? initialDay : null;
  for (let d = first; !day && d <= last; d = addDays(d, 1)) if (open(d)) day = d;
  let codes = services;
  let loaded: Slot[] = [];
  let generation = 0;

  const legend = h('legend', {});
  const status = h('p', {role: 'status', class: 'muted'});
  const choices = h('div', {class: 'choices'});
  const slots = h('fieldset', {class: 'slots'}, legend, status, choices);
  const calendar = dayPicker({
    first, last, open, today: localDate(Date.now(), zone), selected: day,
    onSelect: (date) => {
      day = date;
      void load();
    },
  });
  const element = h('div', {class: 'when'},
    h('p', {class: 'muted'}, `Days and times are ${location.name}'s local time (${zone}).`), calendar, slots);

  async function load(): Promise<void> {
    const mine = ++generation;
    choices.replaceChildren();
    loaded = [];
    onChange();
    legend.textContent = day ? `Free times on ${longDate(day)}` : 'Free times';
    if (!day) {
      status.textContent = 'This location takes no bookings in the coming days.';
      return;
    }
    if (codes.length === 0) {
      status.textContent = 'Choose at least one service to see the free times.';
      return;
    }
    status.textContent = 'Loading free times…';
    let answer: Availability;
    try {
      answer = await api.get<Availability>(`/api/v1/appointments/availability${query({
        location_id: location.id, date: day, services: codes.join(','),
      })}`);
    } catch (error) {
      if (mine !== generation) return;
      status.textContent = '';
      choices.append(h('p', {class: 'error', role: 'alert'}, (error as ApiProblem).message));
      return;
    }
    if (mine !== generation) return;
    loaded = answer.available_slots;
    status.textContent = loaded.length
      ? `${loaded.length} free ${loaded.length === 1 ? 'time' : 'times'}, ${answer.duration_min} min each.`
      : 'No free time left on this day: choose another day.';
    for (const slot of loaded) {
      const radio = h('input', {type: 'radio', name: 'slot', value: slot.start, onchange: onChange});
      choices.append(h('label', {}, radio, `${timeIn(slot.start, zone)} – ${timeIn(slot.end, zone)}`));
    }
  }

  void load();
  return {
    element,
    chosen() {
      const checked = choices.querySelector<HTMLInputElement>('input[name=slot]:checked');
      return loaded.find((s) => s.start === checked?.value) ?? null;
    },
    reload: load,
    setServices(next) {
      codes = next;
      void load();
    },
  };
}
