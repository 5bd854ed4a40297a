// Charging sessions, newest first (a member's own, every session for staff): energy, power and (for
// the driver) cost; the open ones follow their meter values live.
import {api, hasRole, query, type Page} from '../lib/api';
import type {PageContext} from '../lib/app';
import {formatTime, h, table} from '../lib/dom';
import {
  badge, errorText, kw, kwh, latest, live, price, throttled, vehicleNames, type ChargingStatus, type MeterValue,
  type Session,
} from './charging-common';

const pageSize = 25;

export default async function render(ctx: PageContext): Promise<void> {
  ctx.title(hasRole('member') ? 'Your charging sessions' : 'Charging sessions');
  const driver = hasRole('member');
  const names = vehicleNames();
  const results = h('div');
  const pager = h('nav', {class: 'pager', 'aria-label': 'Pages'});
  ctx.main.append(h('p', {}, h('a', {href: '/charging'}, 'Charging overview')), results, pager);

  let page = Number(ctx.query.get('page') ?? 1) || 1;
  // Open sessions on this page: their meter start, and the cells the meter values update.
  let open = new Map<string, {start: number; energy: HTMLElement; power: HTMLElement}>();
  const soon = throttled(ctx, () => load());
  const setTopics = live(ctx, (f) => ['SESSION', 'METER'].includes(f.type) && open.has(String(f.session_id)), (f) => {
    const cells = open.get(String(f.session_id))!;
    if (f.type === 'SESSION') {
      soon();
      return;
    }
    const now = latest(f.values as MeterValue[], cells.start);
    if (now.energy !== null) cells.energy.textContent = kwh(now.energy);
    if (now.power !== null) cells.power.textContent = kw(now.power);
  });

  async function load(): Promise<void> {
    let list: Page<Session>;
    let costs = new Map<string, string>();
    try {
      const [sessions, status] = await Promise.all([
        api.get<Page<Session>>(`/api/v1/charging/sessions${query({page, page_size: pageSize})}`),
        // Costs come with the driver's own status view (the last 30 days).
        driver ? api.get<ChargingStatus>('/api/v1/charging/status') : Promise.resolve(null),
      ]);
      list = sessions;
      if (status) {
        costs = new Map([...status.current, ...status.recent].filter((s) => s.cost)
          .map((s) => [s.session_id, price(s.cost!.amount, s.cost!.currency)]));
      }
    } catch (e) {
      if (ctx.active()) results.replaceChildren(h('p', {class: 'error', role: 'alert'}, errorText(e)));
      return;
    }
    const active = list.items.filter((s) => s.status === 'active');
    const details = new Map(await Promise.all(active.map(async (s) => {
      const full = await api.get<Session>(`/api/v1/charging/sessions/${s.id}`).catch(() => s);
      return [s.id, latest(full.meter_values ?? [], s.meter_start_wh)] as const;
    })));
    const vehicles = new Map<string, string>();
    for (const s of list.items) if (s.vehicle_id) vehicles.set(s.vehicle_id, await names(s.vehicle_id));
    if (!ctx.active()) return;
    open = new Map();
    const headers = ['Started', 'Vehicle', 'Charger', 'Status', 'Energy', 'Power', ...(driver ? ['Cost'] : []), 'Stopped'];
    results.replaceChildren(list.items.length === 0 ? h('p', {}, 'No charging sessions yet.')
      : table(headers, list.items, (s) => {
        const now = details.get(s.id);
        const energy = h('span', {}, s.energy_wh !== null ? kwh(s.energy_wh / 1000) : kwh(now?.energy));
        const power = h('span', {}, s.status === 'active' ? kw(now?.power) : '—');
        if (s.status === 'active') open.set(s.id, {start: s.meter_start_wh, energy, power});
        return [
          h('a', {href: `/charging/sessions/${s.id}`}, formatTime(s.started_at)),
          vehicles.get(s.vehicle_id ?? '') ?? s.id_tag,
          `${s.charger_id} #${s.connector_id}`,
          badge(s.status === 'active' ? 'charging' : 'completed'),
          energy, power,
          ...(driver ? [costs.get(s.id) ?? '—'] : []),
          s.stopped_at ? `${formatTime(s.stopped_at)}${s.stop_reason ? ` (${s.stop_reason})` : ''}` : '—',
        ];
      }, 'Charging sessions'));
    setTopics([...open.keys()].map((id) => `charging.session.${id}`));
    pager.replaceChildren(
      h('button', {type: 'button', class: 'secondary', disabled: page <= 1, onclick: () => { page -= 1; void load(); }}, 'Previous'),
      h('span', {role: 'status'}, list.total ? `Page ${list.page} of ${list.total_pages} (${list.total} sessions)` : ''),
      h('button', {type: 'button', class: 'secondary', disabled: page >= list.total_pages, onclick: () => { page += 1; void load(); }},
        'Next'));
  }
  await load();
}
