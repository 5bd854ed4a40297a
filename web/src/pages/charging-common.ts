// What the charging pages share: the API's types, number formats, the live-frame listener, the
// load meter and the bar cells drawn inside tables (the numbers stay in the table for screen readers).
import {api, type Page} from '../lib/api';
import type {PageContext} from '../lib/app';
import {h} from '../lib/dom';
import {subscribe, type Frame} from '../lib/live';
import {vehicleName, type Vehicle} from '../lib/vehicles';

export interface Cluster {
  id: string;
  site_id: string | null;
  name: string;
  capacity_kw: number;
  peak_shaving_target_kw: number | null;
  base_load_kw: number;
  capacity_schedule: {from: string; to: string; capacity_kw: number}[];
  chargers: number;
  active_sessions: number;
  current_load_kw: number;
  headroom_kw: number;
  tariff: {currency?: string; price_per_kwh: number | number[][]} | null;
  allocation: Allocation | null;
  peak_today_kw?: number;
  queued_requests?: number;
  price_now?: number | null;
}

export interface PlannedCar {
  request_id: string;
  session_id: string | null;
  vehicle_id: string | null;
  charger_id: string | null;
  connector_id: number;
  kind: 'slot' | 'default';
  priority: 'normal' | 'emergency';
  status: 'waiting' | 'charging' | 'paused';
  reason: string | null;
  power_kw: number;
  target_kw: number;
  need_kw: number;
  max_kw: number;
  measured_kw: number | null;
  requested_kwh: number;
  delivered_kwh: number;
  expected_kwh: number;
  departure_time: string;
  price_estimate: number | null;
  controlled: boolean;
}

/// The rebalancer's plan for a cluster: GET /grid/clusters/{id} `allocation`, and each GRID frame.
export interface Allocation {
  cluster_id: string;
  at: string;
  capacity_kw: number;
  base_load_kw: number;
  reserved_kw: number;
  allocated_kw: number;
  measured_kw: number;
  headroom_kw: number;
  price_now: number | null;
  currency: string | null;
  cars: PlannedCar[];
  waiting: PlannedCar[];
}

export interface PriceForecast {
  cluster_id: string;
  currency: string;
  time_zone: string;
  at: string;
  price_per_kwh: number;
  time_of_use_per_kwh: number;
  congestion_per_kwh: number;
  load_kw: number;
  load_share_pct: number;
  congestion_threshold_pct: number;
  forecast: {from: string; to: string; price_per_kwh: number}[];
}

export interface ChargingRequest {
  id: string;
  user_id: string | null;
  vehicle_id: string | null;
  cluster_id: string;
  kind: 'slot' | 'default';
  status: 'waiting' | 'charging' | 'paused' | 'completed' | 'cancelled' | 'expired';
  reason: string | null;
  energy_kwh: number;
  target_soc_pct: number | null;
  departure_time: string;
  priority: 'normal' | 'emergency';
  boost_kwh: number | null;
  id_tag: string | null;
  charger_id: string | null;
  connector_id: number | null;
  session_id: string | null;
  plan: {
    power_kw: number | null;
    expected_kwh: number | null;
    delivered_kwh: number | null;
    price_estimate: number | null;
    currency: string | null;
    schedule: {from: string; to: string; power_kw: number}[];
  };
  first_energy_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface Emergency {
  id: string;
  user_id: string | null;
  vehicle_id: string | null;
  request_id: string | null;
  reason: string;
  status: 'pending' | 'approved' | 'rejected';
  automatic: boolean;
  boost_kwh: number;
  review_note: string | null;
  reviewed_by: string | null;
  reviewed_at: string | null;
  created_at: string;
}

export interface Connector {
  connector_id: number;
  max_power_kw: number;
  phases: number;
  voltage_v: number;
  status: string;
  error_code: string;
  info: string | null;
  status_at: string | null;
}

export interface Charger {
  id: string;
  cluster_id: string | null;
  max_power_kw: number;
  registration_status: 'Accepted' | 'Pending' | 'Rejected';
  heartbeat_interval_s: number;
  vendor: string | null;
  model: string | null;
  online: boolean;
  last_seen_at: string | null;
  connectors: Connector[];
}

export interface Session {
  id: string;
  transaction_id: number;
  charger_id: string;
  connector_id: number;
  id_tag: string;
  user_id: string | null;
  vehicle_id: string | null;
  meter_start_wh: number;
  meter_stop_wh: number | null;
  started_at: string;
  stopped_at: string | null;
  stop_reason: string | null;
  energy_wh: number | null;
  status: 'active' | 'completed';
  meter_values?: MeterValue[];
}

export interface MeterValue {
  at: string;
  measurand: string;
  phase: string | null;
  unit: string;
  value: number;
}

/// One of the caller's sessions in GET /charging/status.
export interface StatusSession {
  session_id: string;
  charger_id: string;
  connector_id: number;
  vehicle_id: string | null;
  state: 'charging' | 'stopped';
  started_at: string;
  stopped_at: string | null;
  stop_reason: string | null;
  energy_kwh: number | null;
  power_kw: number | null;
  soc_pct: number | null;
  eta: string | null;
  cost: {amount: number; currency: string} | null;
  request: ChargingRequest | null;
}

export interface ChargingStatus {
  current: StatusSession[];
  recent: StatusSession[];
  waiting: ChargingRequest[];
}

/// The energy since the session's start and the power, from meter values (newest last).
export function latest(values: MeterValue[], meterStartWh: number): {energy: number | null; power: number | null} {
  let energy: number | null = null;
  let power: number | null = null;
  for (const v of values) {
    if (v.phase) continue;
    if (v.measurand === 'Energy.Active.Import.Register') {
      energy = Math.max(0, ((v.unit === 'kWh' ? v.value * 1000 : v.value) - meterStartWh) / 1000);
    } else if (v.measurand === 'Power.Active.Import') {
      power = v.unit === 'kW' ? v.value : v.value / 1000;
    }
  }
  return {energy, power};
}

export function num(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined) return '—';
  return value.toLocaleString(undefined, {maximumFractionDigits: digits});
}

export const kw = (value: number | null | undefined): string => value === null || value === undefined ? '—' : `${num(value)} kW`;
/// Energy: small amounts (a session's first minutes) with two decimals.
export const kwh = (value: number | null | undefined): string =>
  value === null || value === undefined ? '—' : `${num(value, Math.abs(value) < 10 ? 2 : 1)} kWh`;
export const pct = (ratio: number | null | undefined): string => ratio === null || ratio === undefined ? '—' : `${num(ratio * 100)} %`;

/// A price in the tariff's currency (prices per kWh need more than cents).
export function price(value: number | null | undefined, currency: string | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (!currency) return num(value, 3);
  return new Intl.NumberFormat(undefined, {style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 3})
    .format(value);
}

export function hourRange(from: string, to: string): string {
  const f = new Date(from);
  const t = new Date(to);
  const time = (d: Date) => d.toLocaleTimeString(undefined, {hour: '2-digit', minute: '2-digit'});
  const day = f.toLocaleDateString(undefined, {weekday: 'short'});
  return `${day} ${time(f)}–${time(t)}`;
}

export function badge(text: string): HTMLElement {
  return h('span', {class: 'badge', style: 'white-space:nowrap'}, text.replace(/_/g, ' '));
}

export function errorText(e: unknown): string {
  const p = e as {errors?: {field: string; message: string}[]; message: string};
  return p.errors?.length ? p.errors.map((x) => `${x.field.replace(/_/g, ' ')}: ${x.message}`).join('; ') : p.message;
}

/// Listens to server topics while the page is open (every event frame names the topic it came
/// under); `match` picks the frames this page draws. Returns a function that changes the topics.
export function live(ctx: PageContext, match: (frame: Frame) => boolean,
  onFrame: (frame: Frame) => void): (topics: string[]) => void {
  const handle = (frame: Frame) => {
    if (match(frame)) onFrame(frame);
  };
  const current = new Map<string, () => void>();
  ctx.cleanup(() => {
    for (const stop of current.values()) stop();
  });
  return (topics) => {
    const wanted = new Set(topics);
    for (const [topic, stop] of current) {
      if (!wanted.has(topic)) {
        stop();
        current.delete(topic);
      }
    }
    for (const topic of wanted) if (!current.has(topic) && ctx.active()) current.set(topic, subscribe(topic, handle));
  };
}

/// Calls `fn` at most once per `ms` while frames keep coming (a burst of meter values is one reload).
export function throttled(ctx: PageContext, fn: () => Promise<void> | void, ms = 1000): () => void {
  let timer: number | undefined;
  ctx.cleanup(() => clearTimeout(timer));
  return () => {
    if (timer !== undefined) return;
    timer = window.setTimeout(() => {
      timer = undefined;
      if (ctx.active()) void fn();
    }, ms);
  };
}

/// Vehicle names by id, fetched once per page (staff see every vehicle, members their own).
export function vehicleNames(): (id: string | null) => Promise<string> {
  const cache = new Map<string, Promise<string>>();
  return (id) => {
    if (!id) return Promise.resolve('—');
    let name = cache.get(id);
    if (!name) {
      name = api.get<Vehicle>(`/api/v1/vehicles/${id}`).then((v) => `${vehicleName(v)} (${v.license_plate ?? v.vin})`,
        () => id.slice(0, 8));
      cache.set(id, name);
    }
    return name;
  };
}

export async function myVehicles(): Promise<Vehicle[]> {
  const page = await api.get<Page<Vehicle>>('/api/v1/vehicles?mine=true&page_size=100');
  return page.items;
}

/// A bar inside a table cell: decorative (the number beside it is what is read out).
export function bar(ratio: number, label: string, tone: 'accent' | 'ok' | 'warn' = 'accent'): HTMLElement {
  const colour = tone === 'ok' ? '#1e6b30' : tone === 'warn' ? '#a61c00' : '#0b5394';
  const width = Math.max(0, Math.min(1, ratio)) * 100;
  return h('span', {style: 'display:flex;align-items:center;gap:0.5rem;min-width:9rem'},
    h('span', {'aria-hidden': 'true', style: 'flex:1;height:0.8rem;background:#e8eef6;border:1px solid #767676;'
      + 'border-radius:2px;min-width:4rem'},
    h('span', {style: `display:block;height:100%;width:${width.toFixed(1)}%;background:${colour}`})),
    h('span', {}, label));
}

/// The cluster's load against its capacity as a meter: base load, the cars' measured draw and the
/// limits granted (a tick), with the headroom left.
export function loadMeter(capacity: number, base: number, measured: number, allocated: number): HTMLElement {
  const load = base + measured;
  const share = (v: number) => capacity > 0 ? Math.max(0, Math.min(1, v / capacity)) * 100 : 0;
  const segment = (width: number, colour: string) =>
    h('span', {style: `display:block;height:100%;width:${width.toFixed(2)}%;background:${colour}`});
  const over = load > capacity;
  return h('div', {class: 'load-meter'},
    h('div', {
      role: 'meter', 'aria-label': 'Load against capacity', 'aria-valuemin': 0, 'aria-valuemax': capacity,
      'aria-valuenow': Math.round(load * 10) / 10,
      'aria-valuetext': `${kw(load)} of ${kw(capacity)} (${num(capacity > 0 ? load / capacity * 100 : 0, 0)} %)`,
      style: 'position:relative;display:flex;height:1.6rem;max-width:40rem;background:#e8eef6;border:1px solid #767676;'
        + 'border-radius:3px;overflow:hidden',
    },
    segment(share(base), '#59636e'),
    segment(share(measured), over ? '#a61c00' : '#0b5394'),
    h('span', {'aria-hidden': 'true', title: 'Granted limits',
      style: `position:absolute;top:0;bottom:0;left:calc(${share(base + allocated).toFixed(2)}% - 2px);width:3px;`
        + 'background:#1a1a1a'})),
    h('p', {class: 'muted'},
      h('span', {style: 'color:#59636e'}, '■'), ' base load ',
      h('span', {style: 'color:#0b5394'}, '■'), ' cars charging ',
      h('span', {style: 'color:#1a1a1a'}, '▮'), ' limits granted'));
}

/// Hours of the price forecast as a table with a bar per hour.
export function priceTable(p: PriceForecast): HTMLElement {
  const top = Math.max(...p.forecast.map((f) => f.price_per_kwh), 0.0001);
  const rows = h('tbody');
  for (const f of p.forecast) {
    rows.append(h('tr', {},
      h('td', {}, h('time', {datetime: f.from}, hourRange(f.from, f.to))),
      h('td', {}, bar(f.price_per_kwh / top, price(f.price_per_kwh, p.currency)))));
  }
  return h('div', {class: 'table-scroll', role: 'region', 'aria-label': 'Price for the next 24 hours', tabindex: 0},
    h('table', {},
      h('caption', {}, `Price per kWh for the next 24 h (${p.time_zone}): now ${price(p.price_per_kwh, p.currency)}`
        + (p.congestion_per_kwh > 0 ? `, congestion included (${price(p.congestion_per_kwh, p.currency)})` : '')),
      h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Hour'), h('th', {scope: 'col'}, 'Price per kWh'))),
      rows));
}
