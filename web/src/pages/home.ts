// Home: the user's vehicles at a glance (state of charge, range, charging state, last seen), kept
// live over the WebSocket, and the alerts that concern them.
import {api, hasRole, type Page} from '../lib/api';
import type {PageContext} from '../lib/app';
import {ago, h} from '../lib/dom';
import {subscribe} from '../lib/live';
import {
  chargingState, formatValue, newest, RANGE, socMeter, vehicleName, type Signals, type Vehicle,
} from '../lib/vehicles';

interface Connection {
  id: string;
  status: string;
  last_error: {description?: string} | null;
}

interface ChargingAlert {
  id: string;
  kind: string;
  message?: string;
  detail?: string;
  created_at: string;
}

function card(v: Vehicle, signals: Signals): HTMLElement {
  const seen = newest(signals);
  return h('article', {class: 'card', 'data-vehicle': v.id},
    h('h3', {}, h('a', {href: `/vehicles/${v.id}`}, vehicleName(v))),
    h('p', {class: 'muted'}, v.vin),
    h('dl', {},
      h('dt', {}, 'Battery'), h('dd', {}, socMeter(signals)),
      h('dt', {}, 'Range'), h('dd', {}, formatValue(signals[RANGE])),
      h('dt', {}, 'Charging'), h('dd', {}, chargingState(signals)),
      h('dt', {}, 'Last seen'), h('dd', {}, h('time', {datetime: seen ?? ''}, ago(seen)))));
}

export default async function render(ctx: PageContext): Promise<void> {
  const user = ctx.user!;
  ctx.title(`Welcome, ${user.name || user.email}`);
  const alerts = h('section', {'aria-labelledby': 'alerts-h'}, h('h2', {id: 'alerts-h'}, 'Alerts'));
  const grid = h('div', {class: 'cards'});
  const mine = hasRole('member');
  ctx.main.append(alerts, h('section', {'aria-labelledby': 'cars-h'},
    h('h2', {id: 'cars-h'}, mine ? 'Your vehicles' : 'Vehicles (the first 12; all under Vehicles)'), grid));

  const [vehicles, connections] = await Promise.all([
    api.get<Page<Vehicle>>(mine ? '/api/v1/vehicles?mine=true&page_size=12' : '/api/v1/vehicles?page_size=12'),
    api.get<{items: Connection[]}>('/api/v1/connections').catch(() => ({items: []})),
  ]);
  if (!ctx.active()) return;

  const alertItems: HTMLElement[] = [];
  for (const c of connections.items) {
    if (c.status === 'reauth_required') {
      alertItems.push(h('li', {}, 'A Smartcar connection needs you to sign in again: ',
        h('a', {href: '/vehicles?connect=1'}, 'reconnect'), c.last_error?.description ? ` (${c.last_error.description})` : ''));
    }
  }
  if (hasRole('support', 'admin')) {
    const recent = await api.get<Page<ChargingAlert>>('/api/v1/charging/alerts?page_size=5').catch(() => null);
    for (const a of recent?.items ?? []) {
      alertItems.push(h('li', {}, `${a.kind.replace(/_/g, ' ')}: ${a.message ?? a.detail ?? ''} (${ago(a.created_at)})`));
    }
  }

  if (vehicles.items.length === 0) {
    grid.append(h('p', {}, 'No vehicles yet. ', h('a', {href: '/vehicles'}, 'Add one or connect a car'), '.'));
  }
  const cards = new Map<string, {vehicle: Vehicle; signals: Signals; node: HTMLElement}>();
  await Promise.all(vehicles.items.map(async (v) => {
    const latest = await api.get<{signals: Signals}>(`/api/v1/vehicles/${v.id}/signals`).catch(() => ({signals: {}}));
    cards.set(v.id, {vehicle: v, signals: latest.signals, node: card(v, latest.signals)});
  }));
  if (!ctx.active()) return;
  for (const v of vehicles.items) {
    const entry = cards.get(v.id)!;
    grid.append(entry.node);
    const soc = entry.signals['TractionBattery.StateOfCharge']?.value;
    if (typeof soc === 'number' && soc < 20) alertItems.push(h('li', {}, `${vehicleName(v)}: battery low (${Math.round(soc)} %)`));
    ctx.cleanup(subscribe(`vehicle.${v.id}`, (frame) => {
      if (frame.type !== 'SIGNALS') return;
      Object.assign(entry.signals, frame.signals as Signals);
      const next = card(v, entry.signals);
      entry.node.replaceWith(next);
      entry.node = next;
    }));
  }
  alerts.append(alertItems.length ? h('ul', {}, ...alertItems) : h('p', {}, 'Nothing needs your attention.'));
}
