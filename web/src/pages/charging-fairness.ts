// Fairness of a grid cluster over a window (staff): Jain's index over the requests' satisfaction,
// the energy served against what was asked, the wait to the first energy, and the same per priority
// and per driver, drawn as bars inside the tables that hold the numbers.
import {api, hasRole, query, type Page, type User} from '../lib/api';
import type {PageContext} from '../lib/app';
import {field, formatTime, h, select, table} from '../lib/dom';
import {bar, errorText, kw, kwh, num, pct, type Cluster} from './charging-common';

interface Share {
  requests: number;
  requested_kwh: number;
  delivered_kwh: number;
  share_of_energy: number;
  mean_satisfaction: number;
}

interface Fairness {
  cluster_id: string;
  from: string;
  to: string;
  requests: number;
  jain_index: number;
  min_satisfaction: number;
  requested_kwh: number;
  delivered_kwh: number;
  delivered_ratio: number;
  wait_to_first_energy_s: {p50: number; p95: number};
  by_priority: Record<string, Share>;
  by_member: (Share & {user_id: string})[];
  peak_kw: number;
  capacity_kw: number;
  peak_ratio: number;
}

function duration(seconds: number): string {
  if (seconds < 90) return `${num(seconds, 0)} s`;
  if (seconds < 5400) return `${num(seconds / 60, 0)} min`;
  return `${num(seconds / 3600, 1)} h`;
}

function localInput(ms: number): string {
  const d = new Date(ms);
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 16);
}

const served = (s: Share) => s.requested_kwh > 0 ? s.delivered_kwh / s.requested_kwh : 1;

export default async function render(ctx: PageContext): Promise<void> {
  ctx.title('Charging fairness');
  const [clusters, users] = await Promise.all([
    api.get<Page<Cluster>>('/api/v1/grid/clusters?page_size=100').then((p) => p.items),
    // Only admins may list accounts: others see drivers by their id.
    hasRole('admin') ? api.get<Page<User>>('/api/v1/users?page_size=100').then((p) => p.items, () => []) : Promise.resolve([]),
  ]);
  if (!ctx.active()) return;
  if (clusters.length === 0) {
    ctx.main.append(h('p', {}, 'There is no grid cluster yet.'));
    return;
  }
  const driverName = new Map(users.map((u) => [u.id, u.name || u.email]));
  const now = Date.now();
  const cluster = select('cluster_id', clusters.map((c) => [c.id, c.name]), ctx.query.get('cluster_id') ?? '');
  const from = h('input', {name: 'from', type: 'datetime-local', required: true,
    value: localInput(ctx.query.get('from') ? Date.parse(ctx.query.get('from')!) : now - 7 * 86_400_000)});
  const to = h('input', {name: 'to', type: 'datetime-local', required: true,
    value: localInput(ctx.query.get('to') ? Date.parse(ctx.query.get('to')!) : now + 60_000)});
  const error = h('p', {class: 'error', role: 'alert'});
  const form = h('form', {class: 'inline'}, field('Grid cluster', cluster), field('From', from), field('To', to),
    h('button', {type: 'submit'}, 'Show'));
  const result = h('div', {'aria-live': 'polite'});
  ctx.main.append(h('p', {}, h('a', {href: '/charging'}, 'Charging overview')), form, error, result);

  const load = async () => {
    error.textContent = '';
    const params = {cluster_id: cluster.value, from: new Date(from.value).toISOString(), to: new Date(to.value).toISOString()};
    history.replaceState(null, '', `/charging/fairness${query(params)}`);
    let f: Fairness;
    try {
      f = await api.get<Fairness>(`/api/v1/analytics/fairness${query(params)}`);
    } catch (e) {
      if (ctx.active()) error.textContent = errorText(e);
      return;
    }
    if (!ctx.active()) return;
    const name = clusters.find((c) => c.id === f.cluster_id)?.name ?? f.cluster_id;
    const shareCells = (s: Share) => [
      String(s.requests), kwh(s.requested_kwh), kwh(s.delivered_kwh),
      bar(served(s), pct(served(s)), 'ok'), bar(s.mean_satisfaction, pct(s.mean_satisfaction)), pct(s.share_of_energy),
    ];
    const shareHeaders = ['Requests', 'Asked', 'Delivered', 'Served', 'Mean satisfaction', 'Share of energy'];
    result.replaceChildren(
      h('h2', {}, `${name}, ${formatTime(f.from)} to ${formatTime(f.to)}`),
      table(['Measure', 'Value'], [
        ['Requests', String(f.requests)],
        ['Jain index (1 = perfectly fair)', bar(f.jain_index, num(f.jain_index, 4))],
        ['Least satisfied request', bar(f.min_satisfaction, pct(f.min_satisfaction))],
        ['Energy served', bar(f.delivered_ratio, `${pct(f.delivered_ratio)} (${kwh(f.delivered_kwh)} of ${kwh(f.requested_kwh)})`, 'ok')],
        ['Wait to first energy, median', duration(f.wait_to_first_energy_s.p50)],
        ['Wait to first energy, 95th percentile', duration(f.wait_to_first_energy_s.p95)],
        ['Peak load', bar(f.peak_ratio, `${kw(f.peak_kw)} of ${kw(f.capacity_kw)} (${pct(f.peak_ratio)})`, f.peak_ratio > 1 ? 'warn' : 'accent')],
      ] as [string, string | HTMLElement][], (row) => row, 'Fairness summary'),
      h('h3', {}, 'By priority'),
      Object.keys(f.by_priority).length === 0 ? h('p', {}, 'No requests in this window.')
        : table(['Priority', ...shareHeaders], Object.entries(f.by_priority), ([p, s]) => [p, ...shareCells(s)], 'Fairness by priority'),
      h('h3', {}, 'By driver'),
      f.by_member.length === 0 ? h('p', {}, 'No requests in this window.')
        : table(['Driver', ...shareHeaders], [...f.by_member].sort((a, b) => served(a) - served(b)),
          (m) => [driverName.get(m.user_id) ?? (m.user_id === 'unknown' ? 'unknown driver' : m.user_id.slice(0, 8)), ...shareCells(m)],
          'Fairness by driver, least served first'),
      h('p', {class: 'muted'}, 'Satisfaction: the energy delivered over what the car could take while it was plugged in. '
        + 'Waiting times are for the cluster as a whole (the API gives no wait per driver).'));
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void load();
  });
  await load();
}
