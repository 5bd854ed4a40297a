// Offers for the member's plan: everywhere at first, then nearest first once the browser gives a
// position (within a chosen distance); each redeemable on one of the member's booked appointments.
import {allItems, api, ApiProblem, type Page} from '../lib/api';
import type {PageContext} from '../lib/app';
import {field, h, select} from '../lib/dom';
import {vehicleName, type Vehicle} from '../lib/vehicles';
import {position, whenIn, type Appointment, type ServiceLocation} from './booking-shared';

interface Offer {
  id: string;
  title: string;
  description: string | null;
  terms: string | null;
  starts_at: string;
  expires_at: string;
  eligible_plans: string[];
  location_ids: string[];
  limit_per_member: number;
  distance_km?: number;
  redemptions_left?: number;
}

export default async function render(ctx: PageContext): Promise<void> {
  ctx.title('Offers');
  const [vehicles, locations, booked] = await Promise.all([
    api.get<Page<Vehicle>>('/api/v1/vehicles?mine=true&page_size=100'),
    allItems<ServiceLocation>('/api/v1/locations'),
    api.get<Page<Appointment>>('/api/v1/appointments?upcoming=true&status=booked&page_size=100'),
  ]);
  if (!ctx.active()) return;
  const placeName = (id: string) => locations.items.find((l) => l.id === id)?.name ?? id;

  const vehicle = select('vehicle', [['', 'Any of my vehicles'],
    ...vehicles.items.map((v): [string, string] => [v.id, vehicleName(v)])]);
  const radius = select('radius', [['', 'Any distance'], ['10', '10 km'], ['25', '25 km'], ['50', '50 km'], ['100', '100 km']]);
  radius.disabled = true;
  const where = h('p', {class: 'muted', role: 'status'}, 'Showing offers at every location (your position is not known).');
  const filters = h('form', {class: 'inline', 'aria-label': 'Filter offers'},
    field('For', vehicle), field('Within', radius, 'from your position'));
  const error = h('p', {class: 'error', role: 'alert'});
  const list = h('div', {class: 'cards'});
  const status = h('p', {role: 'status', class: 'ok'});
  ctx.main.append(filters, where, error, status, h('h2', {}, 'Offers for you'), list);

  let here: {lat: number; lng: number} | null = null;

  async function load(): Promise<void> {
    error.textContent = '';
    let offers: {items: Offer[]};
    try {
      offers = await allItems<Offer>('/api/v1/offers', {
        vehicle_id: vehicle.value, lat: here?.lat, lng: here?.lng, radius_km: here ? radius.value : undefined,
      });
    } catch (e) {
      const problem = e as ApiProblem;
      error.textContent = [problem.message, ...problem.errors.map((f) => `${f.field}: ${f.message}`)].join(' · ');
      return;
    }
    if (!ctx.active()) return;
    list.replaceChildren(...offers.items.map(card));
    if (offers.items.length === 0) list.append(h('p', {}, 'No offers for you right now.'));
  }

  function card(o: Offer): HTMLElement {
    const left = o.redemptions_left ?? o.limit_per_member;
    const message = h('p', {class: 'error', role: 'alert'});
    let redeem: HTMLElement;
    if (left <= 0) {
      redeem = h('p', {}, h('span', {class: 'badge'}, 'Used'));
    } else if (booked.items.length === 0) {
      redeem = h('p', {}, h('a', {href: '/book'}, 'Book an appointment'), ' to redeem it.');
    } else {
      const on = select('appointment', booked.items.map((a): [string, string] =>
        [a.id, `${whenIn(a.start_time, a.time_zone)}, ${placeName(a.location_id)}`]));
      const button = h('button', {type: 'submit'}, 'Redeem');
      const form = h('form', {}, field('On appointment', on), button);
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        message.textContent = '';
        button.disabled = true;
        try {
          const done = await api.post<{redemptions_left: number}>(`/api/v1/offers/${o.id}/redeem`, {appointment_id: on.value});
          status.textContent = `“${o.title}” is redeemed on your appointment of ${on.selectedOptions[0].text}. ` +
            (done.redemptions_left > 0 ? `You may use it ${done.redemptions_left} more times.` : 'That was its last use for you.');
          await load();
        } catch (e) {
          message.textContent = (e as ApiProblem).message;
          button.disabled = false;
        }
      });
      redeem = form;
    }
    return h('article', {class: 'card', 'data-offer': o.id},
      h('h3', {}, o.title),
      o.description ? h('p', {}, o.description) : null,
      h('dl', {},
        h('dt', {}, 'Valid until'), h('dd', {}, new Date(o.expires_at).toLocaleDateString(undefined, {dateStyle: 'long'})),
        h('dt', {}, 'Where'), h('dd', {}, o.location_ids.length ? o.location_ids.map(placeName).join(', ') : 'Every location'),
        o.distance_km !== undefined ? h('dt', {}, 'Nearest') : null,
        o.distance_km !== undefined ? h('dd', {}, `${o.distance_km.toFixed(1)} km away`) : null,
        h('dt', {}, 'Uses left'), h('dd', {}, String(left))),
      o.terms ? h('p', {class: 'muted'}, o.terms) : null,
      redeem, message);
  }

  vehicle.addEventListener('change', () => void load());
  radius.addEventListener('change', () => void load());
  await load();

  void position().then((found) => {
    if (!found || !ctx.active()) return;
    here = found;
    radius.disabled = false;
    where.textContent = 'Nearest first, from your position.';
    void load();
  });
}
