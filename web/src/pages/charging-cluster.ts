// One grid cluster for staff: its load against the capacity in force (a meter, and the headroom),
// the rebalancer's allocation per car and the requests waiting for their car, updated live from the
// GRID frames of grid.cluster.<id> and the meter values of its chargers (charger.<id>); the price
// forecast for the next 24 h; its chargers and their connectors.
import {api, ApiProblem, type Page} from '../lib/api';
import type {PageContext} from '../lib/app';
import {formatTime, h, table} from '../lib/dom';
import type {Frame} from '../lib/live';
import {
  badge, bar, errorText, kw, kwh, live, loadMeter, price, priceTable, throttled, vehicleNames, type Allocation,
  type Charger, type Cluster, type PlannedCar, type PriceForecast,
} from './charging-common';

export default async function render(ctx: PageContext): Promise<void> {
  const id = ctx.params.id;
  const heading = ctx.title('Grid cluster');
  let cluster: Cluster;
  try {
    cluster = await api.get<Cluster>(`/api/v1/grid/clusters/${encodeURIComponent(id)}`);
  } catch (e) {
    if (!ctx.active()) return;
    ctx.main.append(h('p', {class: 'error', role: 'alert'}, (e as ApiProblem).status === 404 ? 'There is no such grid cluster.' : errorText(e)));
    return;
  }
  if (!ctx.active()) return;
  heading.textContent = cluster.name;
  document.title = `${cluster.name} · motorpool`;
  const names = vehicleNames();

  const planned = h('p', {class: 'muted', role: 'status'});
  const load = h('section', {'aria-labelledby': 'load-h'}, h('h2', {id: 'load-h'}, 'Load and headroom'));
  const loadBody = h('div');
  load.append(loadBody);
  const cars = h('section', {'aria-labelledby': 'cars-h'}, h('h2', {id: 'cars-h'}, 'Cars plugged in'));
  const carsBody = h('div');
  cars.append(carsBody);
  const waiting = h('section', {'aria-labelledby': 'waiting-h'}, h('h2', {id: 'waiting-h'}, 'Waiting for their car'));
  const waitingBody = h('div');
  waiting.append(waitingBody);
  const prices = h('section', {'aria-labelledby': 'price-h'}, h('h2', {id: 'price-h'}, 'Price for the next 24 hours'));
  const chargers = h('section', {'aria-labelledby': 'chargers-h'}, h('h2', {id: 'chargers-h'}, 'Chargers'));
  const chargersBody = h('div');
  chargers.append(chargersBody, h('p', {}, h('a', {href: `/charging/chargers?cluster_id=${encodeURIComponent(id)}`}, 'All about these chargers')));
  ctx.main.append(h('p', {}, h('a', {href: '/charging'}, 'All clusters')), planned, load, cars, waiting, prices, chargers);

  const limit = (c: Cluster) => c.peak_shaving_target_kw !== null ? Math.min(c.capacity_kw, c.peak_shaving_target_kw) : c.capacity_kw;

  let drawn = 0;
  const draw = async (c: Cluster, plan: Allocation | null) => {
    const mine = ++drawn;
    // The load is the cluster's own figure (base load plus the cars' latest metered power, fresher
    // than the plan's snapshot); the capacity in force and the limits granted are the plan's.
    const capacity = plan?.capacity_kw ?? limit(c);
    const base = c.base_load_kw;
    const measured = Math.max(0, c.current_load_kw - c.base_load_kw);
    const allocated = plan?.allocated_kw ?? 0;
    const headroom = capacity - c.current_load_kw;
    const carNames = new Map<string, string>();
    for (const car of [...plan?.cars ?? [], ...plan?.waiting ?? []]) {
      if (car.vehicle_id) carNames.set(car.vehicle_id, await names(car.vehicle_id));
    }
    // A newer plan may have been drawn while the names were fetched.
    if (!ctx.active() || mine !== drawn) return;
    const vehicle = (car: PlannedCar) => car.vehicle_id ? carNames.get(car.vehicle_id) ?? '—'
      : car.kind === 'default' ? 'unknown car (no request)' : '—';
    planned.textContent = plan ? `Plan of ${formatTime(plan.at)}` : 'No plan yet: no car or request so far.';
    loadBody.replaceChildren(
      loadMeter(capacity, base, measured, allocated),
      h('dl', {'data-load': ''},
        h('dt', {}, 'Capacity in force'), h('dd', {'data-field': 'capacity'}, kw(capacity),
          capacity !== c.capacity_kw ? ` (of ${kw(c.capacity_kw)}: schedule or peak-shaving target)` : ''),
        h('dt', {}, 'Load'), h('dd', {'data-field': 'load'}, kw(base + measured)),
        h('dt', {}, 'Base load'), h('dd', {}, kw(base)),
        h('dt', {}, 'Cars drawing'), h('dd', {'data-field': 'measured'}, kw(measured)),
        h('dt', {}, 'Limits granted'), h('dd', {'data-field': 'allocated'}, kw(allocated),
          plan && plan.reserved_kw > 0 ? ` (${kw(plan.reserved_kw)} reserved for cars it cannot control)` : ''),
        h('dt', {}, 'Headroom'), h('dd', {'data-field': 'headroom', class: headroom < 0 ? 'error' : ''}, kw(headroom)),
        h('dt', {}, 'Not yet granted'), h('dd', {'data-field': 'unallocated'}, kw(plan ? plan.headroom_kw : capacity - base)),
        h('dt', {}, 'Peak today'), h('dd', {}, kw(c.peak_today_kw)),
        h('dt', {}, 'Price now'), h('dd', {}, price(plan?.price_now ?? c.price_now, plan?.currency ?? c.tariff?.currency)),
        h('dt', {}, 'Chargers'), h('dd', {}, String(c.chargers)),
        h('dt', {}, 'Cars plugged in'), h('dd', {}, String(plan?.cars.length ?? c.active_sessions))));
    const list = plan?.cars ?? [];
    carsBody.replaceChildren(list.length === 0 ? h('p', {}, 'No car is plugged in.')
      : table(['Vehicle', 'Charger', 'Status', 'Limit', 'Allocator share', 'Measured', 'Delivered', 'Departure', 'Price estimate'],
        list, (car) => [
          vehicle(car),
          `${car.charger_id ?? '—'} #${car.connector_id}`,
          h('span', {}, badge(car.status), car.priority === 'emergency' ? ' ' : '', car.priority === 'emergency' ? badge('emergency') : '',
            car.controlled ? '' : h('small', {class: 'error', style: 'display:block'}, 'not under control'),
            car.reason ? h('small', {class: 'muted', style: 'display:block'}, car.reason) : ''),
          bar(capacity > 0 ? car.power_kw / capacity : 0, kw(car.power_kw)),
          kw(car.target_kw),
          kw(car.measured_kw),
          bar(car.requested_kwh > 0 ? car.delivered_kwh / car.requested_kwh : 0,
            `${kwh(car.delivered_kwh)} of ${kwh(car.requested_kwh)}`, 'ok'),
          formatTime(car.departure_time),
          price(car.price_estimate, plan?.currency),
        ], 'Allocation per car'));
    const queued = plan?.waiting ?? [];
    waitingBody.replaceChildren(queued.length === 0 ? h('p', {}, 'No request waits for its car.')
      : table(['Vehicle', 'Priority', 'Energy asked', 'Departure', 'Would get now', 'Price estimate'], queued, (car) => [
        vehicle(car), badge(car.priority), kwh(car.requested_kwh), formatTime(car.departure_time), kw(car.power_kw),
        price(car.price_estimate, plan?.currency),
      ], 'Requests waiting for their car'));
  };

  const drawChargers = async () => {
    const page = await api.get<Page<Charger>>(`/api/v1/chargers?cluster_id=${encodeURIComponent(id)}&page_size=100`)
      .catch((e) => e as ApiProblem);
    if (!ctx.active()) return;
    if (page instanceof ApiProblem) {
      chargersBody.replaceChildren(h('p', {class: 'error', role: 'alert'}, errorText(page)));
      return;
    }
    chargersBody.replaceChildren(page.items.length === 0 ? h('p', {}, 'No charger hangs on this cluster yet.')
      : table(['Charger', 'Online', 'Max power', 'Connectors'], page.items, (ch) => [
        ch.id, ch.online ? h('span', {class: 'ok'}, 'online') : h('span', {class: 'muted'}, 'offline'), kw(ch.max_power_kw),
        h('span', {}, ...ch.connectors.filter((k) => k.connector_id > 0)
          .map((k) => h('span', {style: 'display:inline-block;margin-right:0.5rem'}, `#${k.connector_id} `, badge(k.status)))),
      ], 'Chargers of this cluster'));
    setChargerTopics(page.items.map((ch) => `charger.${ch.id}`));
    chargerIds = new Set(page.items.map((ch) => ch.id));
  };

  const drawPrices = async () => {
    try {
      const p = await api.get<PriceForecast>(`/api/v1/grid/clusters/${encodeURIComponent(id)}/price`);
      if (ctx.active()) prices.append(priceTable(p));
    } catch (e) {
      if (!ctx.active()) return;
      prices.append(h('p', {}, (e as ApiProblem).status === 404 ? 'This cluster has no tariff: charging here is not priced.'
        : errorText(e)));
    }
  };

  // GRID frames carry the whole plan: drawn at once; the cluster's own figures (load, peak today)
  // are fetched again at most every 5 s, also as the chargers' meter values come in.
  const refetch = throttled(ctx, async () => {
    const fresh = await api.get<Cluster>(`/api/v1/grid/clusters/${encodeURIComponent(id)}`).catch(() => null);
    if (!fresh || !ctx.active()) return;
    cluster = fresh;
    // A charger registered or moved here since: list them again.
    if (fresh.chargers !== chargerIds.size) chargersSoon();
    await draw(fresh, fresh.allocation);
  }, 5000);
  live(ctx, (f) => f.type === 'GRID' && f.cluster_id === id, (f: Frame) => {
    void draw(cluster, f as unknown as Allocation);
    refetch();
  })([`grid.cluster.${id}`]);
  let chargerIds = new Set<string>();
  const chargersSoon = throttled(ctx, drawChargers);
  const setChargerTopics = live(ctx,
    (f) => ['STATUS', 'ONLINE', 'BOOT', 'METER'].includes(f.type) && chargerIds.has(String(f.charger_id)),
    (f) => f.type === 'METER' ? refetch() : chargersSoon());

  await Promise.all([draw(cluster, cluster.allocation), drawPrices(), drawChargers()]);
}
