// Appointments: a member's upcoming and past ones, with cancel and reschedule; staff (fleet
// managers, support, admins) see everyone's, filtered by location, local day and status, and the
// service desk (support, admins) moves them along their status flow. Kept live by the APPOINTMENT
// frames of the members shown.
import {allItems, api, ApiProblem, hasRole, query, type Page} from '../lib/api';
import type {PageContext} from '../lib/app';
import {field, h, money, select, table} from '../lib/dom';
import {vehicleName, type Vehicle} from '../lib/vehicles';
import {whenPicker} from './booking-calendar';
import {
  debounce, onMemberEvents, statusNames, whenIn, type Appointment, type AppointmentStatus, type Closure,
  type ServiceLocation,
} from './booking-shared';

const next: Partial<Record<AppointmentStatus, AppointmentStatus[]>> = {
  booked: ['checked_in', 'cancelled', 'no_show'],
  checked_in: ['in_progress', 'cancelled', 'no_show'],
  in_progress: ['completed'],
};

export default async function render(ctx: PageContext): Promise<void> {
  ctx.title('Appointments');
  const staff = hasRole('fleet_manager', 'support', 'admin');
  const desk = hasRole('support', 'admin');
  const status = h('p', {role: 'status', class: 'ok'});
  const reschedule = h('section', {'aria-labelledby': 'move-h', hidden: true});
  ctx.main.append(status);

  const locationList = await allItems<ServiceLocation>('/api/v1/locations');
  if (!ctx.active()) return;
  const locations = new Map(locationList.items.map((l) => [l.id, l]));

  // Vehicle names: a member's own in one request, others one by one (cached) for staff.
  const vehicles = new Map<string, Promise<Vehicle | null>>();
  if (!staff) {
    const mine = await api.get<Page<Vehicle>>('/api/v1/vehicles?mine=true&page_size=100');
    for (const v of mine.items) vehicles.set(v.id, Promise.resolve(v));
  }
  const vehicleOf = (id: string | null): Promise<Vehicle | null> => {
    if (!id) return Promise.resolve(null);
    if (!vehicles.has(id)) vehicles.set(id, api.get<Vehicle>(`/api/v1/vehicles/${id}`).catch(() => null));
    return vehicles.get(id)!;
  };

  async function rows(items: Appointment[], caption: string): Promise<HTMLElement> {
    const names = new Map<string, string>();
    await Promise.all(items.map(async (a) => {
      const v = await vehicleOf(a.vehicle_id);
      names.set(a.id, v ? [vehicleName(v), v.license_plate].filter(Boolean).join(' · ') : '—');
    }));
    const headers = ['When', 'Location', 'Vehicle', 'Services', 'Price', 'To pay', 'Status', 'Actions'];
    return table(headers, items, (a) => [
      h('time', {datetime: a.start_time}, whenIn(a.start_time, a.time_zone)),
      locations.get(a.location_id)?.name ?? a.location_id,
      names.get(a.id)!,
      a.services.map((s) => s.included ? `${s.name} (included)` : s.name).join(', '),
      h('span', {class: 'nowrap'}, money(a.price_cents)),
      h('span', {class: 'nowrap'}, money(a.amount_due_cents)),
      h('span', {class: 'badge nowrap'}, statusNames[a.status]),
      actions(a),
    ], caption);
  }

  function actions(a: Appointment): HTMLElement {
    const error = h('span', {class: 'error', role: 'alert'});
    const cell = h('div', {class: 'row'});
    const when = whenIn(a.start_time, a.time_zone);
    if (a.status === 'booked' || a.status === 'checked_in') {
      const cancel = h('button', {type: 'button', class: 'secondary', 'aria-label': `Cancel the appointment of ${when}`},
        'Cancel');
      cancel.addEventListener('click', async () => {
        cancel.disabled = true;
        error.textContent = '';
        try {
          await api.post<Appointment>(`/api/v1/appointments/${a.id}/cancel`);
          status.textContent = `The appointment of ${when} is cancelled.`;
          await reload();
        } catch (e) {
          error.textContent = (e as ApiProblem).message;
          cancel.disabled = false;
        }
      });
      cell.append(cancel);
    }
    if (a.status === 'booked') {
      cell.append(h('button', {type: 'button', class: 'secondary', 'aria-label': `Reschedule the appointment of ${when}`,
        onclick: () => void openReschedule(a)}, 'Reschedule'));
    }
    const moves = next[a.status];
    if (desk && moves) cell.append(statusForm(a, moves, error));
    cell.append(error);
    return cell;
  }

  /// The service desk's status change; completing records the odometer and the work done.
  function statusForm(a: Appointment, moves: AppointmentStatus[], error: HTMLElement): HTMLFormElement {
    const to = select('status', moves.map((s) => [s, statusNames[s]]));
    const odometer = h('input', {type: 'number', name: 'odometer_km', min: 0, step: 'any'});
    const work = h('input', {type: 'text', name: 'work_done', maxlength: 4000});
    const extra = h('div', {class: 'completion', hidden: to.value !== 'completed'},
      field('Odometer (km)', odometer), field('Work done', work));
    to.addEventListener('change', () => { extra.hidden = to.value !== 'completed'; });
    const form = h('form', {class: 'inline'}, field('New status', to), extra, h('button', {type: 'submit'}, 'Set status'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.textContent = '';
      const completing = to.value === 'completed';
      try {
        await api.post<Appointment>(`/api/v1/appointments/${a.id}/status`, {
          status: to.value,
          odometer_km: completing && odometer.value !== '' ? Number(odometer.value) : undefined,
          work_done: completing && work.value.trim() ? work.value.trim() : undefined,
        });
        status.textContent = `The appointment of ${whenIn(a.start_time, a.time_zone)} is now ${statusNames[to.value as AppointmentStatus]}.`;
        await reload();
      } catch (e) {
        const problem = e as ApiProblem;
        error.textContent = [problem.message, ...problem.errors.map((f) => `${f.field}: ${f.message}`)].join(' · ');
      }
    });
    return form;
  }

  /// A day picker and the free times at the appointment's location for its services; the new time is
  /// taken in the same transaction that frees the old one.
  async function openReschedule(a: Appointment): Promise<void> {
    const location = locations.get(a.location_id);
    if (!location) return;
    const closures = await api.get<{items: Closure[]}>(`/api/v1/locations/${location.id}/closures`);
    if (!ctx.active()) return;
    const codes = a.services.map((s) => s.code);
    const error = h('p', {class: 'error', role: 'alert'});
    const move = h('button', {type: 'submit'}, 'Move here');
    const when = whenPicker(location, closures.items, codes, a.local_start.slice(0, 10));
    const heading = h('h2', {id: 'move-h', tabindex: -1}, `Reschedule: ${whenIn(a.start_time, a.time_zone)}, ${location.name}`);
    const form = h('form', {}, when.element, h('div', {class: 'row'}, move,
      h('button', {type: 'button', class: 'secondary', onclick: () => { reschedule.hidden = true; }}, 'Close')), error);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.textContent = '';
      const slot = when.chosen();
      if (!slot) {
        error.textContent = 'Choose a day and one of its free times.';
        return;
      }
      move.disabled = true;
      try {
        const moved = await api.post<Appointment>(`/api/v1/appointments/${a.id}/reschedule`, {start_time: slot.start});
        reschedule.hidden = true;
        status.textContent = `Moved to ${whenIn(moved.start_time, moved.time_zone)}.`;
        await reload();
      } catch (e) {
        const problem = e as ApiProblem;
        error.textContent = problem.status === 409 && problem.message.includes('no longer free')
          ? 'Sorry, that time was taken a moment ago. The free times have been loaded again: choose another.'
          : problem.message;
        if (problem.status === 409) await when.reload();
      } finally {
        move.disabled = false;
      }
    });
    reschedule.replaceChildren(heading, form);
    reschedule.hidden = false;
    heading.focus();
  }

  let reload: () => Promise<void>;
  let stopLive: (() => void) | null = null;
  // The new topics first, then the old ones dropped: the shared socket closes when nothing listens.
  const live = (userIds: Iterable<string>) => {
    const previous = stopLive;
    stopLive = onMemberEvents(ctx, userIds, ['APPOINTMENT'], debounce(() => {
      if (ctx.active()) void reload().catch(() => undefined);
    }));
    previous?.();
  };

  if (staff) {
    reload = await staffView();
  } else {
    reload = await memberView();
    live([ctx.user!.id]);
  }
  ctx.main.append(reschedule);

  async function memberView(): Promise<() => Promise<void>> {
    const upcoming = h('section', {'aria-labelledby': 'upcoming-h'});
    const past = h('section', {'aria-labelledby': 'past-h'});
    ctx.main.append(h('p', {}, h('a', {href: '/book'}, 'Book an appointment')), upcoming, past);
    let page = 1;
    const load = async () => {
      const now = new Date().toISOString();
      const [soon, all] = await Promise.all([
        api.get<Page<Appointment>>('/api/v1/appointments?upcoming=true&page_size=100'),
        api.get<Page<Appointment>>(`/api/v1/appointments${query({page, page_size: 20})}`),
      ]);
      // The list without `upcoming` holds every appointment, newest first: the past are those begun.
      const earlier = all.items.filter((a) => a.start_time < now);
      const [soonTable, pastTable] = await Promise.all([
        soon.items.length ? rows(soon.items, 'Upcoming appointments') : null,
        earlier.length ? rows(earlier, 'Past appointments, newest first') : null,
      ]);
      if (!ctx.active()) return;
      upcoming.replaceChildren(h('h2', {id: 'upcoming-h'}, 'Upcoming'),
        soonTable ?? h('p', {class: 'muted'}, 'Nothing booked.'));
      const pager = all.total_pages > 1 ? h('div', {class: 'pager'},
        h('button', {type: 'button', class: 'secondary', disabled: page <= 1, onclick: () => { page--; void load(); }}, 'Newer'),
        h('span', {}, `Page ${page} of ${all.total_pages}`),
        h('button', {type: 'button', class: 'secondary', disabled: page >= all.total_pages, onclick: () => { page++; void load(); }}, 'Older'))
        : null;
      past.replaceChildren(h('h2', {id: 'past-h'}, 'Past'), pastTable ?? h('p', {class: 'muted'}, 'No past appointments.'));
      if (pager) past.append(pager);
    };
    await load();
    return load;
  }

  async function staffView(): Promise<() => Promise<void>> {
    const place = select('location', [['', 'All locations'], ...locationList.items.map((l): [string, string] => [l.id, l.name])],
      ctx.query.get('location_id') ?? '');
    const date = h('input', {type: 'date', name: 'date', value: ctx.query.get('date') ?? ''});
    const state = select('status', [['', 'Any status'], ...Object.entries(statusNames) as [string, string][]],
      ctx.query.get('status') ?? '');
    const upcomingOnly = h('input', {type: 'checkbox', name: 'upcoming', checked: ctx.query.get('upcoming') !== 'false'});
    const filterError = h('p', {class: 'error', role: 'alert'});
    const filters = h('form', {class: 'inline', 'aria-label': 'Filter appointments'},
      field('Location', place), field('Local day', date, 'needs a location'), field('Status', state),
      h('label', {class: 'check'}, upcomingOnly, ' Upcoming only'),
      h('button', {type: 'submit'}, 'Show'));
    const list = h('section', {'aria-labelledby': 'all-h'});
    ctx.main.append(filters, filterError, list);
    let page = 1;
    const load = async () => {
      filterError.textContent = '';
      let answer: Page<Appointment>;
      try {
        answer = await api.get<Page<Appointment>>(`/api/v1/appointments${query({
          location_id: place.value, date: date.value, status: state.value,
          upcoming: upcomingOnly.checked && !date.value ? true : undefined, page, page_size: 25,
        })}`);
      } catch (e) {
        const problem = e as ApiProblem;
        filterError.textContent = [problem.message, ...problem.errors.map((f) => `${f.field}: ${f.message}`)].join(' · ');
        return;
      }
      const shown = answer.items.length ? await rows(answer.items, 'Appointments') : null;
      if (!ctx.active()) return;
      live(answer.items.map((a) => a.user_id).filter((id): id is string => !!id));
      const pager = answer.total_pages > 1 ? h('div', {class: 'pager'},
        h('button', {type: 'button', class: 'secondary', disabled: page <= 1, onclick: () => { page--; void load(); }}, 'Previous'),
        h('span', {}, `Page ${page} of ${answer.total_pages} (${answer.total} appointments)`),
        h('button', {type: 'button', class: 'secondary', disabled: page >= answer.total_pages, onclick: () => { page++; void load(); }}, 'Next'))
        : null;
      list.replaceChildren(h('h2', {id: 'all-h'}, 'All appointments'), shown ?? h('p', {class: 'muted'}, 'No appointments match.'));
      if (pager) list.append(pager);
    };
    filters.addEventListener('submit', (event) => {
      event.preventDefault();
      page = 1;
      void load();
    });
    await load();
    return load;
  }
}
