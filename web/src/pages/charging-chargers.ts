// Chargers for staff: online or not, registration, and each connector's OCPP status, live from the
// charger.<id> frames (status notifications, connects and boots); filtered by grid cluster.
import {api, query, type Page} from '../lib/api';
import type {PageContext} from '../lib/app';
import {ago, field, h, select, table} from '../lib/dom';
import {badge, errorText, kw, live, throttled, type Charger, type Cluster} from './charging-common';

const pageSize = 50;

export default async function render(ctx: PageContext): Promise<void> {
  ctx.title('Chargers');
  const clusters = await api.get<Page<Cluster>>('/api/v1/grid/clusters?page_size=100').then((p) => p.items, () => []);
  if (!ctx.active()) return;
  const clusterNames = new Map(clusters.map((c) => [c.id, c.name]));
  const filter = select('cluster_id', [['', 'Every cluster'], ...clusters.map((c): [string, string] => [c.id, c.name])],
    ctx.query.get('cluster_id') ?? '');
  const form = h('form', {class: 'inline', role: 'search'}, field('Grid cluster', filter), h('button', {type: 'submit'}, 'Show'));
  const results = h('div', {'aria-live': 'polite'});
  const pager = h('nav', {class: 'pager', 'aria-label': 'Pages'});
  ctx.main.append(h('p', {}, h('a', {href: '/charging'}, 'Charging overview')), form, results, pager);

  let page = 1;
  let ids = new Set<string>();
  const soon = throttled(ctx, () => load());
  const setTopics = live(ctx, (f) => ['STATUS', 'ONLINE', 'BOOT', 'SESSION'].includes(f.type) && ids.has(String(f.charger_id)), soon);

  async function load(): Promise<void> {
    let list: Page<Charger>;
    try {
      list = await api.get<Page<Charger>>(`/api/v1/chargers${query({cluster_id: filter.value, page, page_size: pageSize})}`);
    } catch (e) {
      if (ctx.active()) results.replaceChildren(h('p', {class: 'error', role: 'alert'}, errorText(e)));
      return;
    }
    if (!ctx.active()) return;
    results.replaceChildren(list.items.length === 0 ? h('p', {}, 'No chargers.')
      : table(['Charger', 'Cluster', 'Online', 'Registration', 'Max power', 'Last seen', 'Connectors'], list.items, (ch) => [
        h('span', {}, ch.id, ch.vendor || ch.model ? h('small', {class: 'muted', style: 'display:block'},
          [ch.vendor, ch.model].filter(Boolean).join(' ')) : ''),
        ch.cluster_id ? h('a', {href: `/charging/clusters/${ch.cluster_id}`}, clusterNames.get(ch.cluster_id) ?? ch.cluster_id) : '—',
        ch.online ? h('span', {class: 'ok'}, 'online') : h('span', {class: 'muted'}, 'offline'),
        ch.registration_status,
        kw(ch.max_power_kw),
        h('time', {datetime: ch.last_seen_at ?? ''}, ago(ch.last_seen_at)),
        h('ul', {style: 'list-style:none;margin:0;padding:0'}, ...ch.connectors.filter((k) => k.connector_id > 0).map((k) =>
          h('li', {'data-connector': `${ch.id}/${k.connector_id}`}, `#${k.connector_id} `, badge(k.status),
            k.error_code && k.error_code !== 'NoError' ? h('span', {class: 'error'}, ` ${k.error_code}`) : '',
            ` ${kw(k.max_power_kw)}`))),
      ], 'Chargers and their connectors'));
    ids = new Set(list.items.map((ch) => ch.id));
    setTopics([...ids].map((id) => `charger.${id}`));
    pager.replaceChildren(
      h('button', {type: 'button', class: 'secondary', disabled: page <= 1, onclick: () => { page -= 1; void load(); }}, 'Previous'),
      h('span', {role: 'status'}, list.total ? `Page ${list.page} of ${list.total_pages} (${list.total} chargers)` : ''),
      h('button', {type: 'button', class: 'secondary', disabled: page >= list.total_pages, onclick: () => { page += 1; void load(); }},
        'Next'));
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    page = 1;
    history.replaceState(null, '', `/charging/chargers${query({cluster_id: filter.value})}`);
    void load();
  });
  await load();
}
