// One vehicle: its latest signals (live over the WebSocket), history charts per signal with range
// and bucket choice, the location track, its Smartcar connection and its service history.
import {api, ApiProblem, hasRole, query} from '../lib/api';
import type {PageContext} from '../lib/app';
import {ago, field, formatTime, h, money, select, table} from '../lib/dom';
import {subscribe} from '../lib/live';
import {drawTrack, type TrackPoint} from '../lib/track';
import {formatValue, LOCATION, vehicleName, type Signals, type Vehicle} from '../lib/vehicles';
import {connectCar} from './vehicles';

interface CatalogSignal {
  code: string;
  name: string;
  unit: string | null;
  type: 'number' | 'boolean' | 'text' | 'location';
}

interface History {
  unit: string | null;
  points: {time: string; value: unknown}[];
}

interface Connection {
  id: string;
  status: string;
  scopes: string[];
  access_token_expires_at: string | null;
  last_error: {description?: string; at?: string} | null;
  vehicles: {vehicle_id: string | null; vin: string | null; conflict: string | null}[];
  created_at: string;
}

interface ServiceVisit {
  appointment_id: string;
  completed_at: string;
  services: {name: string}[];
  odometer_km: number | null;
  work_done: string | null;
  price_cents: number;
}

const ranges: [string, string, number][] = [
  ['1h', 'Last hour', 3600e3], ['24h', 'Last 24 hours', 86400e3], ['7d', 'Last 7 days', 7 * 86400e3],
  ['30d', 'Last 30 days', 30 * 86400e3],
];
/// Raw points are fetched in pages of the API's 10,000 up to this many.
const maxRawPoints = 100_000;

async function fetchHistory(vehicleId: string, code: string, fromMs: number, toMs: number, bucket: string,
  agg: string): Promise<History> {
  const base = `/api/v1/vehicles/${vehicleId}/signals/${encodeURIComponent(code)}/history`;
  if (bucket) {
    return api.get<History>(base + query({from: fromMs, to: toMs, bucket, agg, limit: 10000}));
  }
  const all: History = {unit: null, points: []};
  let from = fromMs;
  for (;;) {
    const page = await api.get<History>(base + query({from, to: toMs, limit: 10000}));
    all.unit = page.unit;
    all.points.push(...page.points);
    if (page.points.length < 10000 || all.points.length >= maxRawPoints) return all;
    from = new Date(page.points[page.points.length - 1].time).getTime() + 1;
  }
}

function signalsTable(signals: Signals, changed: Set<string>): HTMLElement {
  const codes = Object.keys(signals).sort();
  if (codes.length === 0) return h('p', {}, 'No data yet: connect the car, or send a dongle batch.');
  return table(['Signal', 'Value', 'Recorded', 'Source'], codes, (code) => [
    code, h('span', {class: changed.has(code) ? 'changed' : '', 'data-signal': code}, formatValue(signals[code])),
    h('time', {datetime: signals[code].recorded_at, title: formatTime(signals[code].recorded_at)}, ago(signals[code].recorded_at)),
    signals[code].source,
  ]);
}

async function historySection(ctx: PageContext, vehicleId: string, catalog: CatalogSignal[]): Promise<HTMLElement> {
  const numeric = catalog.filter((s) => s.type === 'number' || s.type === 'boolean');
  const signal = select('signal', numeric.map((s) => [s.code, s.unit ? `${s.name} (${s.unit})` : s.name]),
    numeric.some((s) => s.code === 'TractionBattery.StateOfCharge') ? 'TractionBattery.StateOfCharge' : numeric[0]?.code);
  const range = select('range', ranges.map(([v, text]) => [v, text]), '24h');
  const bucket = select('bucket', [['', 'Every sample'], ['1m', '1 minute'], ['5m', '5 minutes'], ['15m', '15 minutes'],
    ['1h', '1 hour'], ['1d', '1 day']], '');
  const agg = select('agg', [['avg', 'Average'], ['min', 'Minimum'], ['max', 'Maximum'], ['last', 'Last']], 'avg');
  const form = h('form', {class: 'inline'}, field('Signal', signal), field('Range', range), field('Bucket', bucket),
    field('Aggregate', agg), h('button', {type: 'submit'}, 'Show'));
  const host = h('div', {class: 'chart', id: 'history-chart'});
  const status = h('p', {role: 'status', class: 'muted'});
  let destroy: (() => void) | null = null;
  ctx.cleanup(() => destroy?.());
  const draw = async (): Promise<void> => {
    const span = ranges.find(([v]) => v === range.value)![2];
    const to = Date.now();
    status.textContent = 'Loading…';
    let history: History;
    try {
      history = await fetchHistory(vehicleId, signal.value, to - span, to + 1, bucket.value, agg.value);
    } catch (e) {
      status.textContent = (e as ApiProblem).message;
      return;
    }
    if (!ctx.active()) return;
    const times: number[] = [];
    const values: (number | null)[] = [];
    for (const p of history.points) {
      times.push(new Date(p.time).getTime() / 1000);
      values.push(typeof p.value === 'number' ? p.value : typeof p.value === 'boolean' ? Number(p.value) : null);
    }
    destroy?.();
    destroy = null;
    host.replaceChildren();
    const name = signal.selectedOptions[0]?.textContent ?? signal.value;
    if (times.length === 0) {
      status.textContent = `No ${name} values in this range.`;
      return;
    }
    const {timeChart} = await import('../lib/chart');
    if (!ctx.active()) return;
    const started = performance.now();
    destroy = timeChart(host, {label: name, unit: null, times, values}).destroy;
    const numbers = values.filter((v): v is number => v !== null);
    status.textContent = `${times.length} points of ${name}, from ${formatTime(history.points[0].time)} to ` +
      `${formatTime(history.points[history.points.length - 1].time)}; min ${Math.min(...numbers)}, max ` +
      `${Math.max(...numbers)}, latest ${numbers[numbers.length - 1]}`;
    host.dataset.drawMs = (performance.now() - started).toFixed(1);
    host.dataset.points = String(times.length);
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void draw();
  });
  await draw();
  return h('section', {'aria-labelledby': 'history-h'}, h('h2', {id: 'history-h'}, 'History'), form, status, host);
}

async function trackSection(ctx: PageContext, vehicleId: string): Promise<HTMLElement> {
  const section = h('section', {'aria-labelledby': 'track-h'}, h('h2', {id: 'track-h'}, 'Location track (last 24 hours)'));
  const to = Date.now();
  const history = await fetchHistory(vehicleId, LOCATION, to - 86400e3, to + 1, '', '').catch(() => null);
  if (!ctx.active()) return section;
  const points: TrackPoint[] = [];
  for (const p of history?.points ?? []) {
    const v = p.value as {latitude?: number; longitude?: number} | null;
    if (v && typeof v.latitude === 'number' && typeof v.longitude === 'number') {
      points.push({time: p.time, latitude: v.latitude, longitude: v.longitude});
    }
  }
  section.append(drawTrack(points));
  return section;
}

async function connectionSection(vehicle: Vehicle): Promise<HTMLElement> {
  const section = h('section', {'aria-labelledby': 'conn-h'}, h('h2', {id: 'conn-h'}, 'Smartcar connection'));
  const list = await api.get<{items: Connection[]}>('/api/v1/connections').catch(() => ({items: []}));
  const mine = list.items.filter((c) => c.vehicles.some((v) => v.vehicle_id === vehicle.id));
  const error = h('p', {class: 'error', role: 'alert'});
  for (const c of mine) {
    const disconnect = h('button', {type: 'button', class: 'secondary'}, 'Disconnect');
    disconnect.addEventListener('click', async () => {
      if (!confirm('Disconnect this car from Smartcar? Its tokens are erased.')) return;
      try {
        await api.delete(`/api/v1/connections/${c.id}`);
        section.replaceWith(await connectionSection(vehicle));
      } catch (e) {
        error.textContent = (e as Error).message;
      }
    });
    section.append(h('dl', {},
      h('dt', {}, 'Status'), h('dd', {}, h('span', {class: 'badge', 'data-connection-status': c.status}, c.status.replace('_', ' '))),
      h('dt', {}, 'Connected'), h('dd', {}, formatTime(c.created_at)),
      h('dt', {}, 'Permissions'), h('dd', {}, c.scopes.join(', ')),
      c.last_error ? h('dt', {}, 'Last error') : null, c.last_error ? h('dd', {}, c.last_error.description ?? '') : null),
    disconnect);
  }
  if (mine.length === 0) {
    section.append(h('p', {}, 'Not connected through Smartcar.'));
    if (vehicle.owner_id === null || !hasRole('support')) {
      const connect = h('button', {type: 'button'}, 'Connect a car');
      connect.addEventListener('click', () => void connectCar(connect, error));
      section.append(connect);
    }
  }
  section.append(error);
  return section;
}

async function serviceSection(vehicleId: string): Promise<HTMLElement> {
  const section = h('section', {'aria-labelledby': 'service-h'}, h('h2', {id: 'service-h'}, 'Service history'));
  const history = await api.get<{items: ServiceVisit[]}>(`/api/v1/vehicles/${vehicleId}/service-history`)
    .catch(() => ({items: []}));
  section.append(history.items.length === 0 ? h('p', {}, 'No completed service visits.')
    : table(['Completed', 'Services', 'Odometer', 'Work done', 'Price'], history.items, (v) => [
      formatTime(v.completed_at), v.services.map((s) => s.name).join(', '),
      v.odometer_km === null ? '' : `${v.odometer_km} km`, v.work_done ?? '', money(v.price_cents),
    ], 'Service visits'));
  return section;
}

export default async function render(ctx: PageContext): Promise<void> {
  const id = ctx.params.id;
  const [vehicle, latest, catalog] = await Promise.all([
    api.get<Vehicle>(`/api/v1/vehicles/${encodeURIComponent(id)}`),
    api.get<{signals: Signals}>(`/api/v1/vehicles/${encodeURIComponent(id)}/signals`),
    api.get<{items: CatalogSignal[]}>('/api/v1/signals'),
  ]);
  if (!ctx.active()) return;
  ctx.title(vehicleName(vehicle));
  ctx.main.append(h('p', {class: 'muted'}, `VIN ${vehicle.vin}`, vehicle.license_plate ? ` · ${vehicle.license_plate}` : '',
    vehicle.dongle_id ? ` · dongle ${vehicle.dongle_id}` : ''));

  const signals = latest.signals;
  const changed = new Set<string>();
  const signalsHost = h('div', {'aria-live': 'polite', 'aria-atomic': 'false'}, signalsTable(signals, changed));
  const updated = h('p', {class: 'muted', role: 'status'});
  ctx.main.append(h('section', {'aria-labelledby': 'latest-h'}, h('h2', {id: 'latest-h'}, 'Latest signals'), updated, signalsHost));
  ctx.cleanup(subscribe(`vehicle.${vehicle.id}`, (frame) => {
    if (frame.type !== 'SIGNALS') return;
    changed.clear();
    for (const [code, value] of Object.entries(frame.signals as Signals)) {
      signals[code] = value;
      changed.add(code);
    }
    signalsHost.replaceChildren(signalsTable(signals, changed));
    updated.textContent = `Updated live at ${new Date().toLocaleTimeString()} (${[...changed].join(', ')})`;
  }));

  const sections = await Promise.all([
    historySection(ctx, vehicle.id, catalog.items), trackSection(ctx, vehicle.id),
    connectionSection(vehicle), serviceSection(vehicle.id),
  ]);
  if (!ctx.active()) return;
  ctx.main.append(...sections);
}
