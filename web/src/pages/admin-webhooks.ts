// Webhook deliveries (admins): Smartcar's deliveries as received, newest first, with how each was
// processed; filter by outcome, page through, read a payload, clear the log.
import {api, query, type Page} from '../lib/api';
import type {PageContext} from '../lib/app';
import {field, formatTime, h, pageButtons, select, table} from '../lib/dom';

interface Delivery {
  id: number;
  event_id: string;
  event_type: string;
  delivery_id: string | null;
  received_at: string;
  status: 'pending' | 'processed' | 'failed' | 'ignored';
  outcome: string | null;
  redeliveries: number;
  processed_at: string | null;
  body: unknown;
}

const statuses: [string, string][] = [
  ['', 'Any outcome'], ['processed', 'Processed'], ['ignored', 'Ignored'], ['failed', 'Failed'],
  ['pending', 'Pending (not processed yet)'],
];
const pageSize = 25;

function payload(d: Delivery): HTMLElement {
  const text = typeof d.body === 'string' ? d.body : JSON.stringify(d.body, null, 2);
  // Focusable, so the scrolling box can be read with the keyboard.
  return h('details', {}, h('summary', {}, 'Payload'),
    h('pre', {tabindex: 0, 'aria-label': `Payload of ${d.event_id}`,
      style: 'white-space: pre-wrap; overflow-wrap: anywhere; max-height: 20rem; overflow: auto; margin: 0.3rem 0; '
        + 'font-size: 0.85rem; background: #f4f4f4; padding: 0.4rem;'}, text));
}

export default async function render(ctx: PageContext): Promise<void> {
  ctx.title('Webhook deliveries');
  const state = {
    status: statuses.some(([v]) => v === ctx.query.get('status')) ? ctx.query.get('status')! : '',
    page: Math.max(1, Number(ctx.query.get('page')) || 1),
  };
  const outcome = select('status', statuses, state.status);
  const refresh = h('button', {type: 'button', class: 'secondary'}, 'Refresh');
  const clear = h('button', {type: 'button', class: 'secondary'}, 'Clear the log…');
  const filters = h('form', {class: 'inline', 'aria-label': 'Filter deliveries'}, field('Outcome', outcome), refresh);
  const feedback = h('p', {role: 'status'});
  const error = h('p', {class: 'error', role: 'alert'});
  const results = h('div');
  const pager = h('nav', {class: 'pager', 'aria-label': 'Pages'});
  ctx.main.append(
    h('p', {class: 'muted'}, 'Every delivery Smartcar made to /webhooks/smartcar, as received, and what became of it. '
      + 'Deliveries refused for a bad signature are not logged.'),
    filters, feedback, error, results, pager,
    h('section', {'aria-labelledby': 'clear-h'}, h('h2', {id: 'clear-h'}, 'Clear the log'),
      h('p', {}, 'Deletes every logged delivery except those still pending. A re-delivery of a cleared event is then '
        + 'processed again.'), clear));

  async function load(): Promise<void> {
    let page: Page<Delivery>;
    try {
      page = await api.get<Page<Delivery>>(`/api/v1/webhook-events${query({status: state.status, page: state.page,
        page_size: pageSize})}`);
    } catch (e) {
      if (ctx.active()) error.textContent = (e as Error).message;
      return;
    }
    if (!ctx.active()) return;
    error.textContent = '';
    results.replaceChildren(page.items.length === 0
      ? h('p', {}, state.status ? 'No delivery has this outcome.' : 'The log is empty.')
      : table(['Received', 'Event type', 'Event id', 'Outcome', 'Details', 'Re-deliveries', 'Processed', 'Payload'],
        page.items, (d) => [
          h('time', {datetime: d.received_at}, formatTime(d.received_at)),
          d.event_type,
          h('code', {}, d.event_id),
          h('span', {class: 'badge'}, d.status),
          d.outcome ?? '—',
          String(d.redeliveries),
          formatTime(d.processed_at),
          payload(d),
        ], `${page.total} deliver${page.total === 1 ? 'y' : 'ies'}${state.status ? ` (${state.status})` : ''}`));
    // On a phone the table scrolls sideways in its region rather than squeezing every column.
    results.querySelector('table')?.style.setProperty('min-width', '64rem');
    pageButtons(pager, state.page, page.total_pages, go);
  }

  function go(page: number): void {
    state.page = page;
    history.replaceState(null, '', `/admin/webhooks${query({status: state.status, page: page > 1 ? page : null})}`);
    void load();
  }

  outcome.addEventListener('change', () => {
    state.status = outcome.value;
    feedback.textContent = '';
    go(1);
  });
  filters.addEventListener('submit', (event) => event.preventDefault());
  refresh.addEventListener('click', () => void load());
  clear.addEventListener('click', async () => {
    if (!confirm('Clear the webhook delivery log? Pending deliveries are kept; the rest cannot be brought back.')) return;
    clear.disabled = true;
    error.textContent = '';
    try {
      await api.delete('/api/v1/webhook-events');
      if (!ctx.active()) return;
      feedback.textContent = 'The log was cleared.';
      go(1);
    } catch (e) {
      error.textContent = (e as Error).message;
    }
    clear.disabled = false;
  });
  await load();
}
