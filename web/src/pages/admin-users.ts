// Users and roles (admins): search by name or e-mail, page through, change a user's role,
// deactivate or reactivate an account (deactivating also signs it out everywhere). Your own
// account is left alone: the server refuses to change it, so the page does not offer to.
import {api, ApiProblem, query, type Page, type User} from '../lib/api';
import type {PageContext} from '../lib/app';
import {ago, field, h, pageButtons, select, table} from '../lib/dom';

type Account = User & {active: boolean; updated_at: string};

const roles: [User['role'], string][] = [
  ['member', 'Member'], ['fleet_manager', 'Fleet manager'], ['support', 'Support'], ['admin', 'Admin'],
];
const roleName = (role: string) => roles.find(([r]) => r === role)?.[1] ?? role;
const pageSize = 20;

export default async function render(ctx: PageContext): Promise<void> {
  const me = ctx.user!;
  ctx.title('Users and roles');
  const state = {q: ctx.query.get('q') ?? '', page: Math.max(1, Number(ctx.query.get('page')) || 1)};
  const search = h('input', {type: 'search', name: 'q', value: state.q, maxlength: 100, autocomplete: 'off'});
  const form = h('form', {class: 'inline', role: 'search'}, field('Name or e-mail', search),
    h('button', {type: 'submit'}, 'Search'));
  const feedback = h('p', {role: 'status', class: 'ok'});
  const error = h('p', {class: 'error', role: 'alert'});
  const results = h('div');
  const pager = h('nav', {class: 'pager', 'aria-label': 'Pages'});
  ctx.main.append(form, feedback, error, results, pager);

  function report(e: unknown): void {
    const p = e as ApiProblem;
    feedback.textContent = '';
    error.textContent = p.errors?.length ? p.errors.map((x) => `${x.field} ${x.message}`).join('; ') : p.message;
  }

  async function change(u: Account, patch: {role?: string; active?: boolean}, done: (next: Account) => string,
    button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    error.textContent = '';
    feedback.textContent = '';
    try {
      const next = await api.patch<Account>(`/api/v1/users/${u.id}`, patch);
      if (!ctx.active()) return;
      await load();
      feedback.textContent = done(next);
    } catch (e) {
      report(e);
      button.disabled = false;
    }
  }

  function roleCell(u: Account): Node {
    if (u.id === me.id) return h('span', {}, `${roleName(u.role)} (you)`);
    const choice = select('role', roles, u.role);
    choice.setAttribute('aria-label', `Role of ${u.email}`);
    const save = h('button', {type: 'submit', class: 'secondary', 'aria-label': `Change the role of ${u.email}`},
      'Change');
    const f = h('form', {class: 'inline'}, choice, save);
    f.addEventListener('submit', (event) => {
      event.preventDefault();
      if (choice.value === u.role) {
        feedback.textContent = `${u.email} is already ${roleName(u.role).toLowerCase()}.`;
        return;
      }
      void change(u, {role: choice.value}, (next) => `${next.email} is now ${roleName(next.role).toLowerCase()}.`, save);
    });
    return f;
  }

  function activeCell(u: Account): Node {
    if (u.id === me.id) return h('span', {}, '—');
    const b = h('button', {type: 'button', class: 'secondary'}, u.active ? 'Deactivate' : 'Reactivate');
    b.setAttribute('aria-label', `${u.active ? 'Deactivate' : 'Reactivate'} ${u.email}`);
    b.addEventListener('click', () => {
      if (u.active && !confirm(`Deactivate ${u.email}? They are signed out and cannot sign in until reactivated.`)) {
        return;
      }
      void change(u, {active: !u.active},
        (next) => next.active ? `${next.email} can sign in again.` : `${next.email} is deactivated and signed out.`, b);
    });
    return b;
  }

  async function load(): Promise<void> {
    let page: Page<Account>;
    try {
      page = await api.get<Page<Account>>(`/api/v1/users${query({q: state.q, page: state.page, page_size: pageSize})}`);
    } catch (e) {
      if (ctx.active()) report(e);
      return;
    }
    if (!ctx.active()) return;
    results.replaceChildren(page.items.length === 0
      ? h('p', {}, state.q ? `No user matches "${state.q}".` : 'No users.')
      : table(['Name', 'E-mail', 'Role', 'Account', 'Joined', 'Action'], page.items, (u) => [
        u.name || '—',
        u.email,
        roleCell(u),
        u.active ? 'Active' : h('strong', {}, 'Deactivated'),
        h('time', {datetime: u.created_at}, ago(u.created_at)),
        activeCell(u),
      ], `${page.total} user${page.total === 1 ? '' : 's'}${state.q ? ` matching "${state.q}"` : ''}`));
    // On a phone the table scrolls sideways in its region rather than squeezing every column.
    results.querySelector('table')?.style.setProperty('min-width', '48rem');
    pageButtons(pager, state.page, page.total_pages, go);
  }

  function go(page: number): void {
    state.page = page;
    history.replaceState(null, '', `/admin/users${query({q: state.q, page: page > 1 ? page : null})}`);
    void load();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    state.q = search.value.trim();
    feedback.textContent = '';
    error.textContent = '';
    go(1);
  });
  await load();
}
