// Charging: a driver sees the car charging now (power, energy, cost, plan), their requests (with
// cancel) and recent sessions, kept live; staff see the grid clusters' load and headroom, links to
// chargers, sessions, emergencies and fairness, and (support, admin) the charging alerts.
import {api, hasRole, type Page} from '../lib/api';
import type {PageContext} from '../lib/app';
import {ago, formatTime, h, table} from '../lib/dom';
import {
  badge, errorText, kw, kwh, live, num, price, throttled, vehicleNames, type ChargingRequest, type ChargingStatus,
  type Cluster, type StatusSession,
} from './charging-common';

interface Alert {
  id: string;
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  message: string;
  created_at: string;
}

const open = new Set(['waiting', 'charging', 'paused']);

function links(...items: [string, string][]): HTMLElement {
  return h('ul', {class: 'row', style: 'list-style:none;padding:0'},
    ...items.map(([href, text]) => h('li', {}, h('a', {href}, text))));
}

async function driverPart(ctx: PageContext): Promise<void> {
  const names = vehicleNames();
  const now = h('section', {'aria-labelledby': 'now-h'}, h('h2', {id: 'now-h'}, 'Charging now'));
  const requests = h('section', {'aria-labelledby': 'req-h'}, h('h2', {id: 'req-h'}, 'Your charging requests'));
  const recent = h('section', {'aria-labelledby': 'recent-h'}, h('h2', {id: 'recent-h'}, 'Recent sessions'));
  const message = h('p', {role: 'status'});
  ctx.main.append(
    links(['/charging/request', 'Charge my car'], ['/charging/emergency', 'Ask for emergency charging'],
      ['/charging/sessions', 'All your sessions']),
    message, now, requests, recent);

  const body = {
    now: h('div', {'aria-live': 'polite'}),
    requests: h('div'),
    recent: h('div'),
  };
  now.append(body.now);
  requests.append(body.requests);
  recent.append(body.recent);

  // The sessions charging now (their meter values and plans) and the cars of open requests (their
  // signals show a car plugging in): frames come in bursts, so one reload per second at most.
  let sessions = new Set<string>();
  let vehicles = new Set<string>();
  const soon = throttled(ctx, reload);
  const setTopics = live(ctx,
    (f) => (['SESSION', 'METER', 'PLAN'].includes(f.type) && sessions.has(String(f.session_id)))
      || (f.type === 'SIGNALS' && vehicles.has(String(f.vehicle_id))),
    soon);

  const card = async (s: StatusSession): Promise<HTMLElement> => {
    const plan = s.request?.plan;
    const vehicle = await names(s.vehicle_id);
    return h('article', {class: 'card', 'data-session': s.session_id},
      h('h3', {}, `${vehicle} at ${s.charger_id}, connector ${s.connector_id}`),
      h('dl', {},
        h('dt', {}, 'Power'), h('dd', {}, kw(s.power_kw)),
        h('dt', {}, 'Energy'), h('dd', {}, kwh(s.energy_kwh)),
        h('dt', {}, 'Battery'), h('dd', {}, s.soc_pct === null ? '—' : `${num(s.soc_pct, 0)} %`),
        h('dt', {}, 'Cost so far'), h('dd', {}, s.cost ? price(s.cost.amount, s.cost.currency) : '—'),
        h('dt', {}, 'Done by'), h('dd', {}, formatTime(s.eta)),
        h('dt', {}, 'Plan'), h('dd', {}, s.request
          ? `${s.request.status}${s.request.priority === 'emergency' ? ' (emergency)' : ''}: ${kw(plan?.power_kw)}, `
            + `${kwh(plan?.expected_kwh)} of ${kwh(s.request.energy_kwh)} by ${formatTime(s.request.departure_time)}`
          : 'no request: charging at the default rate'),
        h('dt', {}, 'Started'), h('dd', {}, h('time', {datetime: s.started_at}, ago(s.started_at)))),
      h('a', {href: `/charging/sessions/${s.session_id}`, 'aria-label': `Session details: ${vehicle}`}, 'Session details'));
  };

  const cancel = async (r: ChargingRequest, button: HTMLButtonElement) => {
    button.disabled = true;
    try {
      await api.post(`/api/v1/charging/slot-requests/${r.id}/cancel`);
      message.textContent = 'Request cancelled.';
      message.className = 'ok';
    } catch (e) {
      message.textContent = errorText(e);
      message.className = 'error';
    }
    await reload();
  };

  async function reload(): Promise<void> {
    let status: ChargingStatus;
    let mine: Page<ChargingRequest>;
    try {
      [status, mine] = await Promise.all([
        api.get<ChargingStatus>('/api/v1/charging/status'),
        api.get<Page<ChargingRequest>>('/api/v1/charging/slot-requests?page_size=20'),
      ]);
    } catch (e) {
      if (ctx.active()) body.now.replaceChildren(h('p', {class: 'error', role: 'alert'}, errorText(e)));
      return;
    }
    const cards = await Promise.all(status.current.map(card));
    const vehicleCells = new Map<string, string>();
    for (const r of [...mine.items, ...status.recent.map((s) => ({vehicle_id: s.vehicle_id}))]) {
      if (r.vehicle_id) vehicleCells.set(r.vehicle_id, await names(r.vehicle_id));
    }
    if (!ctx.active()) return;
    body.now.replaceChildren(cards.length ? h('div', {style: 'display:grid;gap:0.75rem;max-width:40rem'}, ...cards)
      : h('p', {}, status.waiting.length ? 'No car is charging yet: your request waits for the car to plug in.'
        : 'No car of yours is charging.'));
    body.requests.replaceChildren(mine.items.length === 0 ? h('p', {}, 'No requests yet. ',
      h('a', {href: '/charging/request'}, 'Charge my car'), '.')
      : table(['Vehicle', 'Status', 'Energy', 'Departure', 'Planned power', 'Expected', 'Price estimate', ''],
        mine.items, (r) => [
          vehicleCells.get(r.vehicle_id ?? '') ?? '—',
          h('span', {}, badge(r.status), r.priority === 'emergency' ? ' ' : '', r.priority === 'emergency' ? badge('emergency') : '',
            r.reason ? h('small', {class: 'muted', style: 'display:block'}, r.reason) : ''),
          r.target_soc_pct !== null ? `${kwh(r.energy_kwh)} (to ${num(r.target_soc_pct, 0)} %)` : kwh(r.energy_kwh),
          formatTime(r.departure_time),
          kw(r.plan.power_kw),
          kwh(r.plan.expected_kwh),
          price(r.plan.price_estimate, r.plan.currency),
          r.status === 'waiting'
            ? h('button', {type: 'button', class: 'secondary', 'aria-label': `Cancel the request for ${vehicleCells.get(r.vehicle_id ?? '') ?? 'this car'}`,
              onclick: (e: Event) => void cancel(r, e.currentTarget as HTMLButtonElement)}, 'Cancel')
            : '',
        ], 'Your charging requests'));
    body.recent.replaceChildren(status.recent.length === 0 ? h('p', {}, 'No sessions in the last 30 days.')
      : table(['Started', 'Vehicle', 'Charger', 'Energy', 'Cost', 'Stopped'], status.recent, (s) => [
        h('a', {href: `/charging/sessions/${s.session_id}`}, formatTime(s.started_at)),
        vehicleCells.get(s.vehicle_id ?? '') ?? '—',
        `${s.charger_id} #${s.connector_id}`,
        kwh(s.energy_kwh),
        s.cost ? price(s.cost.amount, s.cost.currency) : '—',
        `${formatTime(s.stopped_at)}${s.stop_reason ? ` (${s.stop_reason})` : ''}`,
      ], 'Sessions of the last 30 days'));
    sessions = new Set(status.current.map((s) => s.session_id));
    vehicles = new Set(mine.items.filter((r) => open.has(r.status) && r.vehicle_id).map((r) => r.vehicle_id!));
    setTopics([...[...sessions].map((id) => `charging.session.${id}`), ...[...vehicles].map((id) => `vehicle.${id}`)]);
  }
  await reload();
}

async function staffPart(ctx: PageContext): Promise<void> {
  const reviews = hasRole('support', 'admin');
  const clusters = h('section', {'aria-labelledby': 'clusters-h'}, h('h2', {id: 'clusters-h'}, 'Grid clusters'));
  const list = h('div', {'aria-live': 'polite'});
  const emergencies = h('a', {href: '/charging/emergency'}, 'Emergency requests');
  clusters.append(list);
  const menu = links(['/charging/chargers', 'Chargers'], ['/charging/sessions', 'Sessions'], ['/charging/fairness', 'Fairness']);
  menu.append(h('li', {}, emergencies));
  if (hasRole('fleet_manager')) menu.append(h('li', {}, h('a', {href: '/charging/request'}, 'Charge a fleet vehicle')));
  ctx.main.append(h('nav', {'aria-label': 'Charging'}, menu), clusters);

  let ids = new Set<string>();
  const setTopics = live(ctx, (f) => f.type === 'GRID' && ids.has(String(f.cluster_id)), () => soon());
  const reload = async () => {
    try {
      const page = await api.get<Page<Cluster>>('/api/v1/grid/clusters?page_size=100');
      if (!ctx.active()) return;
      list.replaceChildren(page.items.length === 0 ? h('p', {}, 'No grid clusters yet.')
        : table(['Cluster', 'Capacity', 'Load', 'Headroom', 'Sessions', 'Chargers'], page.items, (c) => [
          h('a', {href: `/charging/clusters/${c.id}`}, c.name),
          kw(c.peak_shaving_target_kw !== null ? Math.min(c.capacity_kw, c.peak_shaving_target_kw) : c.capacity_kw),
          kw(c.current_load_kw),
          h('span', {class: c.headroom_kw < 0 ? 'error' : ''}, kw(c.headroom_kw)),
          String(c.active_sessions),
          String(c.chargers),
        ], 'Grid clusters: load and headroom'));
      ids = new Set(page.items.map((c) => c.id));
      setTopics([...ids].map((id) => `grid.cluster.${id}`));
    } catch (e) {
      if (ctx.active()) list.replaceChildren(h('p', {class: 'error', role: 'alert'}, errorText(e)));
    }
  };
  const soon = throttled(ctx, reload);
  const tasks: Promise<void>[] = [reload()];
  if (reviews) {
    tasks.push(api.get<Page<unknown>>('/api/v1/charging/emergency-requests?status=pending&page_size=1').then((p) => {
      if (p.total > 0) emergencies.textContent = `Emergency requests (${p.total} pending)`;
    }, () => undefined));
    tasks.push(alerts(ctx));
  }
  await Promise.all(tasks);
}

async function alerts(ctx: PageContext): Promise<void> {
  const section = h('section', {'aria-labelledby': 'alerts-h'}, h('h2', {id: 'alerts-h'}, 'Charging alerts'));
  const list = h('ul', {'aria-live': 'polite'});
  section.append(list);
  ctx.main.append(section);
  const item = (a: Alert) => h('li', {'data-alert': a.id}, badge(a.severity), ` ${a.kind.replace(/_/g, ' ')}: ${a.message} `,
    h('time', {datetime: a.created_at, class: 'muted'}, `(${ago(a.created_at)})`));
  const page = await api.get<Page<Alert>>('/api/v1/charging/alerts?page_size=10').catch(() => null);
  if (!ctx.active()) return;
  if (!page) {
    list.replaceWith(h('p', {class: 'error', role: 'alert'}, 'The alerts could not be loaded.'));
    return;
  }
  list.append(...page.items.map(item));
  if (page.items.length === 0) list.append(h('li', {class: 'empty'}, 'No alerts.'));
  live(ctx, (f) => f.type === 'ALERT', (f) => {
    list.querySelector('.empty')?.remove();
    list.prepend(item(f as unknown as Alert));
    while (list.children.length > 10) list.lastElementChild!.remove();
  })(['charging.alerts']);
}

export default async function render(ctx: PageContext): Promise<void> {
  ctx.title('Charging');
  const parts: Promise<void>[] = [];
  if (hasRole('member')) parts.push(driverPart(ctx));
  if (hasRole('fleet_manager', 'support', 'admin')) parts.push(staffPart(ctx));
  await Promise.all(parts);
}
