// Support: members see their conversations and open a new one; support and admins see every
// thread, filter by status and assignee, and take one. The list follows the live feed (the
// support inbox for staff, each listed thread for members) without a reload.
import {api, ApiProblem, query, type Page} from '../lib/api';
import type {PageContext} from '../lib/app';
import {ago, field, h, pageButtons, select, table} from '../lib/dom';
import {subscribe} from '../lib/live';
import {vehicleName, type Vehicle} from '../lib/vehicles';
import {assigneeLabel, isStaff, statusLabels, type Thread} from './chat-shared';

const pageSize = 20;

function openForm(ctx: PageContext, vehicles: Vehicle[]): HTMLElement {
  const subject = h('input', {name: 'subject', required: true, maxlength: 200, autocomplete: 'off'});
  const body = h('textarea', {name: 'body', required: true, rows: 4, maxlength: 4096});
  const vehicle = select('vehicle_id',
    [['', 'No particular vehicle'], ...vehicles.map((v): [string, string] => [v.id, `${vehicleName(v)} (${v.vin})`])]);
  const error = h('p', {class: 'error', role: 'alert'});
  const button = h('button', {type: 'submit'}, 'Start conversation');
  const form = h('form', {class: 'narrow', 'aria-labelledby': 'new-h'},
    field('Subject', subject), field('Message', body),
    vehicles.length ? field('Vehicle (optional)', vehicle) : null, button, error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    button.disabled = true;
    const payload: Record<string, string> = {subject: subject.value.trim(), body: body.value};
    if (vehicle.value) payload.vehicle_id = vehicle.value;
    try {
      const thread = await api.post<Thread>('/api/v1/chat/threads', payload);
      ctx.navigate(`/support/${thread.id}`);
    } catch (e) {
      const p = e as ApiProblem;
      error.textContent = p.errors?.length ? p.errors.map((x) => `${x.field}: ${x.message}`).join('; ') : p.message;
      button.disabled = false;
    }
  });
  return h('section', {'aria-labelledby': 'new-h'}, h('h2', {id: 'new-h'}, 'Start a conversation'),
    h('p', {class: 'muted'}, 'Our support team answers here; you can attach photos or documents once it is open.'),
    form);
}

export default async function render(ctx: PageContext): Promise<void> {
  const me = ctx.user!;
  const staff = isStaff(me);
  ctx.title(staff ? 'Support inbox' : 'Support');

  const state = {
    status: ctx.query.get('status') ?? '',
    assignee: staff ? ctx.query.get('assignee') ?? '' : '',
    page: Math.max(1, Number(ctx.query.get('page')) || 1),
  };
  const statusFilter = select('status', [['', 'Any status'], ...Object.entries(statusLabels)], state.status);
  const assigneeFilter = select('assignee', [['', 'Anyone'], ['me', 'Me'], ['none', 'Nobody']], state.assignee);
  const filters = h('form', {class: 'inline', 'aria-label': 'Filter conversations'},
    field('Status', statusFilter), staff ? field('Assigned to', assigneeFilter) : null);
  const feedback = h('p', {role: 'status'});
  const error = h('p', {class: 'error', role: 'alert'});
  const results = h('div');
  const pager = h('nav', {class: 'pager', 'aria-label': 'Pages'});
  const list = h('section', {'aria-labelledby': 'threads-h'},
    h('h2', {id: 'threads-h'}, staff ? 'Conversations' : 'Your conversations'), filters, feedback, error, results, pager);

  if (!staff) {
    const vehicles = await api.get<Page<Vehicle>>('/api/v1/vehicles?mine=true&page_size=100')
      .catch(() => ({items: [] as Vehicle[]}));
    if (!ctx.active()) return;
    ctx.main.append(openForm(ctx, vehicles.items));
  }
  ctx.main.append(list);

  // Members follow each listed thread; staff follow the inbox (every new thread and message).
  let watched: (() => void)[] = [];
  ctx.cleanup(() => watched.forEach((stop) => stop()));

  async function assign(thread: Thread, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      await api.patch<Thread>(`/api/v1/chat/threads/${thread.id}`, {assignee_id: me.id});
      feedback.textContent = `"${thread.subject}" is assigned to you.`;
      await load();
    } catch (e) {
      error.textContent = (e as Error).message;
      button.disabled = false;
    }
  }

  async function load(): Promise<void> {
    const path = `/api/v1/chat/threads${query({status: state.status, assignee: state.assignee, page: state.page,
      page_size: pageSize})}`;
    let page: Page<Thread>;
    try {
      page = await api.get<Page<Thread>>(path);
    } catch (e) {
      if (ctx.active()) error.textContent = (e as Error).message;
      return;
    }
    if (!ctx.active()) return;
    error.textContent = '';
    const headers = ['Subject', 'Status', ...(staff ? ['Assigned to'] : []), 'Last message', 'Unread',
      ...(staff ? ['Action'] : [])];
    results.replaceChildren(page.items.length === 0
      ? h('p', {}, state.status || state.assignee ? 'No conversation matches these filters.'
        : staff ? 'No conversations yet.' : 'You have no conversations yet.')
      : table(headers, page.items, (t) => [
        h('a', {href: `/support/${t.id}`}, t.subject),
        h('span', {class: 'badge'}, statusLabels[t.status]),
        ...(staff ? [assigneeLabel(t, me)] : []),
        h('time', {datetime: t.last_message_at ?? t.created_at}, ago(t.last_message_at ?? t.created_at)),
        t.unread_count > 0 ? h('strong', {}, `${t.unread_count} new`) : '—',
        ...(staff ? [t.assignee_id === me.id ? '—' : (() => {
          const b = h('button', {type: 'button', class: 'secondary', 'aria-label': `Assign to me: ${t.subject}`},
            'Assign to me');
          b.addEventListener('click', () => void assign(t, b));
          return b;
        })()] : []),
      ], `${page.total} conversation${page.total === 1 ? '' : 's'}`));
    // On a phone the table scrolls sideways in its region rather than squeezing every column.
    results.querySelector('table')?.style.setProperty('min-width', '40rem');
    pageButtons(pager, state.page, page.total_pages, go);
    if (!staff) {
      watched.forEach((stop) => stop());
      watched = page.items.map((t) => subscribe(`chat.thread.${t.id}`, onFrame));
    }
  }

  function go(page: number): void {
    state.page = page;
    // The filters live in the address, so a reload or "back" shows the same list.
    history.replaceState(null, '', `/support${query({status: state.status, assignee: state.assignee,
      page: state.page > 1 ? state.page : null})}`);
    void load();
  }

  let timer: number | undefined;
  ctx.cleanup(() => clearTimeout(timer));
  function onFrame(frame: {type: string}): void {
    if (frame.type !== 'MESSAGE' && frame.type !== 'THREAD') return;
    // A burst of messages redraws the list once.
    clearTimeout(timer);
    timer = window.setTimeout(() => void load(), 250);
  }

  statusFilter.addEventListener('change', () => {
    state.status = statusFilter.value;
    go(1);
  });
  assigneeFilter.addEventListener('change', () => {
    state.assignee = assigneeFilter.value;
    go(1);
  });
  filters.addEventListener('submit', (event) => event.preventDefault());

  // Staff watch the inbox (every thread's messages and changes); members each listed thread.
  if (staff) watched.push(subscribe('support.inbox', onFrame));
  await load();
}
