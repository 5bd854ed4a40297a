// Booking an appointment: the member's vehicle, a location (nearest first when the browser gives a
// position), services, then a day in the day picker and one of its real free times; a slot taken
// meanwhile (409) is said so and the free times are loaded again.
import {allItems, api, ApiProblem, type Page, type User} from '../lib/api';
import type {PageContext} from '../lib/app';
import {field, h, money, select} from '../lib/dom';
import {vehicleName, type Vehicle} from '../lib/vehicles';
import {whenPicker, type WhenPicker} from './booking-calendar';
import {
  position, whenIn, type Appointment, type BookingService, type Closure, type Plan, type ServiceLocation,
} from './booking-shared';

function locationLabel(l: ServiceLocation): string {
  return l.distance_km === undefined ? l.name : `${l.name} (${l.distance_km.toFixed(1)} km)`;
}

export default async function render(ctx: PageContext): Promise<void> {
  ctx.title('Book an appointment');
  const [vehicles, locationList, catalogue, me, plans] = await Promise.all([
    api.get<Page<Vehicle>>('/api/v1/vehicles?mine=true&page_size=100'),
    allItems<ServiceLocation>('/api/v1/locations'),
    api.get<{items: BookingService[]}>('/api/v1/services'),
    api.get<User & {membership: {plan_code: string} | null}>('/api/v1/me'),
    api.get<{items: Plan[]}>('/api/v1/memberships/plans'),
  ]);
  if (!ctx.active()) return;
  if (vehicles.items.length === 0) {
    ctx.main.append(h('p', {}, 'Add your vehicle first: ', h('a', {href: '/vehicles'}, 'Vehicles'), '.'));
    return;
  }
  let locations = locationList.items;
  if (locations.length === 0) {
    ctx.main.append(h('p', {}, 'There are no service locations yet.'));
    return;
  }
  const plan = plans.items.find((p) => p.code === me.membership?.plan_code);

  const vehicle = select('vehicle', vehicles.items.map((v) =>
    [v.id, [vehicleName(v), v.license_plate].filter(Boolean).join(' · ')]), ctx.query.get('vehicle') ?? '');
  const place = h('select', {name: 'location'});
  const placeHint = h('p', {class: 'muted', id: 'place-hint'});
  place.setAttribute('aria-describedby', placeHint.id);
  let placeTouched = false;
  const services = h('fieldset', {class: 'services'});
  const whenSlot = h('div');
  const notes = h('textarea', {name: 'notes', rows: 2, maxlength: 1000});
  const rewards = h('input', {type: 'number', name: 'rewards', min: 0, step: '0.01', max: me.rewards_balance, value: 0});
  const summary = h('p', {'aria-live': 'polite'});
  const error = h('p', {class: 'error', role: 'alert'});
  const book = h('button', {type: 'submit'}, 'Book');
  const form = h('form', {},
    h('h2', {}, 'Vehicle, place and services'),
    field('Vehicle', vehicle), h('div', {}, field('Location', place), placeHint), services,
    h('h2', {}, 'Day and time'), whenSlot,
    h('h2', {}, 'Confirm'),
    field('Notes for the workshop (optional)', notes),
    me.rewards_balance > 0 ? field('Pay with rewards (€)', rewards, `Your rewards balance: ${money(Math.round(me.rewards_balance * 100))}`) : null,
    summary, h('div', {class: 'row'}, book), error);
  ctx.main.append(form);

  let location: ServiceLocation = locations[0];
  let when: WhenPicker | null = null;
  let generation = 0;

  const chosenServices = () =>
    [...services.querySelectorAll<HTMLInputElement>('input[type=checkbox]:checked')].map((c) => c.value);

  function drawSummary(): void {
    const chosen = catalogue.items.filter((s) => chosenServices().includes(s.code));
    const slot = when?.chosen();
    if (chosen.length === 0) {
      summary.textContent = 'Choose a service.';
      return;
    }
    const minutes = chosen.reduce((sum, s) => sum + s.duration_min, 0);
    const price = chosen.reduce((sum, s) => sum + s.price_cents, 0);
    summary.textContent = `${chosen.map((s) => s.name).join(', ')}: ${minutes} min, list price ${money(price)}` +
      (plan ? ' (what your plan includes is taken off when booking)' : '') +
      (slot ? `; ${whenIn(slot.start, location.time_zone)}.` : '; choose a free time.');
  }

  function drawPlaces(): void {
    place.replaceChildren(...locations.map((l) => h('option', {value: l.id, selected: l.id === location.id}, locationLabel(l))));
  }

  // A location's services, its closures and a new day picker; the chosen services and day are kept
  // where the new location offers them.
  async function choosePlace(next: ServiceLocation): Promise<void> {
    const mine = ++generation;
    const keep = new Set(chosenServices());
    const day = (when?.element.querySelector('button[aria-pressed=true]') as HTMLElement | null)?.dataset.date ?? null;
    location = next;
    placeHint.textContent = [next.address, `${next.bays} ${next.bays === 1 ? 'bay' : 'bays'}`,
      `bookings up to ${next.horizon_days} days ahead`].filter(Boolean).join(' · ');
    const offered = catalogue.items.filter((s) => next.services.includes(s.code));
    services.replaceChildren(h('legend', {}, 'Services'));
    if (offered.length === 0) services.append(h('p', {}, 'This location offers no services online yet.'));
    for (const s of offered) {
      const box = h('input', {type: 'checkbox', name: 'services', value: s.code, checked: keep.has(s.code),
        onchange: () => {
          when?.setServices(chosenServices());
          drawSummary();
        }});
      const included = plan?.included_services[s.code];
      services.append(h('label', {class: 'check'}, box,
        `${s.name} · ${s.duration_min} min · ${money(s.price_cents)}`,
        included ? h('small', {class: 'hint'}, ` (your plan includes ${included} a year)`) : null));
    }
    const closures = await api.get<{items: Closure[]}>(`/api/v1/locations/${next.id}/closures`);
    if (!ctx.active() || mine !== generation) return;
    when = whenPicker(next, closures.items, chosenServices(), day, drawSummary);
    whenSlot.replaceChildren(when.element);
    drawSummary();
  }

  place.addEventListener('change', () => {
    placeTouched = true;
    void choosePlace(locations.find((l) => l.id === place.value)!);
  });
  drawPlaces();
  await choosePlace(location);

  // Nearest first once the browser tells where the member is (it may ask them; a refusal keeps the list).
  void position().then(async (here) => {
    if (!here || !ctx.active()) return;
    const near = await allItems<ServiceLocation>('/api/v1/locations', here).catch(() => null);
    if (!near || !ctx.active()) return;
    locations = near.items;
    const nearest = locations[0];
    if (!placeTouched && nearest && nearest.id !== location.id) {
      location = nearest;
      void choosePlace(nearest);
    }
    location = locations.find((l) => l.id === location.id) ?? location;
    drawPlaces();
    place.closest('.field')!.after(h('p', {class: 'muted'}, 'Nearest first, from your position.'));
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const codes = chosenServices();
    const slot = when?.chosen();
    if (codes.length === 0 || !slot) {
      error.textContent = codes.length === 0 ? 'Choose at least one service.' : 'Choose a day and one of its free times.';
      return;
    }
    const rewardsCents = Math.round(Number(rewards.value || 0) * 100);
    book.disabled = true;
    try {
      const made = await api.post<Appointment>('/api/v1/appointments', {
        vehicle_id: vehicle.value, location_id: location.id, start_time: slot.start, services: codes,
        notes: notes.value.trim() || undefined, rewards_cents: rewardsCents > 0 ? rewardsCents : undefined,
      });
      if (!ctx.active()) return;
      confirm(made);
    } catch (e) {
      const problem = e as ApiProblem;
      if (problem.status === 409) {
        error.textContent = 'Sorry, that time was taken a moment ago. The free times have been loaded again: choose another.';
        await when?.reload();
      } else {
        error.textContent = [problem.message, ...problem.errors.map((f) => `${f.field}: ${f.message}`)].join(' · ');
      }
    } finally {
      book.disabled = false;
    }
  });

  function confirm(a: Appointment): void {
    const v = vehicles.items.find((x) => x.id === a.vehicle_id);
    const heading = h('h2', {id: 'booked-h', tabindex: -1}, 'Booked');
    form.replaceWith(h('section', {class: 'confirmation', 'aria-labelledby': 'booked-h'}, heading,
      h('p', {role: 'status', class: 'ok'}, `Your appointment at ${location.name} is booked for ${whenIn(a.start_time, a.time_zone)}.`),
      h('dl', {},
        h('dt', {}, 'Vehicle'), h('dd', {}, v ? vehicleName(v) : '—'),
        h('dt', {}, 'Location'), h('dd', {}, [location.name, location.address].filter(Boolean).join(', ')),
        h('dt', {}, 'When'), h('dd', {}, h('time', {datetime: a.start_time}, whenIn(a.start_time, a.time_zone))),
        h('dt', {}, 'Services'), h('dd', {}, a.services.map((s) => s.included ? `${s.name} (included)` : s.name).join(', ')),
        h('dt', {}, 'Price'), h('dd', {}, money(a.price_cents)),
        a.rewards_cents > 0 ? h('dt', {}, 'Paid with rewards') : null,
        a.rewards_cents > 0 ? h('dd', {}, money(a.rewards_cents)) : null,
        h('dt', {}, 'To pay at the location'), h('dd', {}, money(a.amount_due_cents))),
      h('p', {class: 'row'}, h('a', {href: '/appointments'}, 'My appointments'), h('a', {href: '/offers'}, 'Offers for it'),
        h('button', {type: 'button', class: 'secondary', onclick: () => ctx.navigate('/book')}, 'Book another'))));
    heading.focus();
  }
}
