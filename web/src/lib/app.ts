// The app shell: routes (each page a lazily loaded module), the header with the navigation the
// signed-in role may use, client-side navigation, and the page lifecycle (a page's cleanups run when
// the user leaves it: live subscriptions, timers).
import {currentUser, hasRole, signOut, type User} from './api';
import {h} from './dom';
import {closeLive, onLiveStatus} from './live';

export interface PageContext {
  params: Record<string, string>;
  query: URLSearchParams;
  main: HTMLElement;
  user: User | null;
  /// Sets the page's heading and the document title.
  title(text: string): HTMLHeadingElement;
  navigate(path: string, replace?: boolean): void;
  /// Runs when the page is left.
  cleanup(fn: () => void): void;
  /// False once the user has moved on (late answers must not draw over the next page).
  active(): boolean;
}

type PageModule = {default: (ctx: PageContext) => Promise<void> | void};

export interface Route {
  path: string;
  load: () => Promise<PageModule>;
  /// Shown in the navigation under this label.
  nav?: string;
  /// Who may open it; absent: every signed-in user.
  roles?: User['role'][];
  /// Open without signing in.
  public?: boolean;
}

let routes: Route[] = [];
let cleanups: (() => void)[] = [];
let generation = 0;
const root = document.querySelector<HTMLElement>('#app')!;

function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/').filter(Boolean);
  const have = path.split('/').filter(Boolean);
  if (want.length !== have.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) params[want[i].slice(1)] = decodeURIComponent(have[i]);
    else if (want[i] !== have[i]) return null;
  }
  return params;
}

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  void render();
}

function header(user: User | null, current: string): HTMLElement {
  const nav = h('nav', {'aria-label': 'Main', id: 'main-nav'});
  const list = h('ul');
  for (const route of routes) {
    if (!route.nav || (route.roles && !hasRole(...route.roles)) || (!user && !route.public)) continue;
    const active = current === route.path || (route.path !== '/' && current.startsWith(route.path + '/'));
    list.append(h('li', {}, h('a', {href: route.path, 'aria-current': active ? 'page' : null}, route.nav)));
  }
  if (user) list.append(h('li', {}, h('a', {href: '/api/docs', 'data-external': true}, 'API docs')));
  nav.append(list);
  const toggle = h('button', {
    type: 'button', class: 'menu-toggle', 'aria-expanded': 'false', 'aria-controls': 'main-nav',
    onclick: () => {
      const open = nav.classList.toggle('open');
      toggle.setAttribute('aria-expanded', String(open));
    },
  }, 'Menu');
  const status = h('span', {class: 'live-status', role: 'status', title: 'Live updates'});
  const bar = h('header', {class: 'top'},
    h('a', {href: '/', class: 'brand'}, 'motorpool'),
    user ? toggle : null,
    user ? nav : null,
    user ? h('div', {class: 'who'}, status, h('span', {}, `${user.name || user.email} · ${user.role.replace('_', ' ')}`),
      h('button', {type: 'button', class: 'secondary', onclick: async () => {
        closeLive();
        await signOut();
        navigate('/sign-in');
      }}, 'Sign out')) : null);
  if (user) {
    cleanups.push(onLiveStatus((connected) => {
      status.textContent = connected ? '● live' : '○ offline';
      status.className = connected ? 'live-status on' : 'live-status';
    }));
  }
  return bar;
}

async function render(): Promise<void> {
  const mine = ++generation;
  for (const fn of cleanups.splice(0)) fn();
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const user = currentUser();
  let route: Route | undefined;
  let params: Record<string, string> = {};
  for (const r of routes) {
    const m = match(r.path, path);
    if (m) {
      route = r;
      params = m;
      break;
    }
  }
  if (route && !route.public && !user) {
    navigate(`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`, true);
    return;
  }
  const main = h('main', {id: 'content', tabindex: -1});
  root.replaceChildren(
    h('a', {href: '#content', class: 'skip'}, 'Skip to content'), header(user, path), main);
  const ctx: PageContext = {
    params, query: new URLSearchParams(location.search), main, user,
    title(text) {
      document.title = `${text} · motorpool`;
      const heading = h('h1', {}, text);
      main.prepend(heading);
      return heading;
    },
    navigate,
    cleanup: (fn) => cleanups.push(fn),
    active: () => mine === generation,
  };
  if (!route || (route.roles && !hasRole(...route.roles))) {
    ctx.title('Not found');
    main.append(h('p', {}, 'There is no such page here, or your role may not open it. '), h('a', {href: '/'}, 'Home'));
    return;
  }
  main.append(h('p', {class: 'loading', role: 'status'}, 'Loading…'));
  try {
    const page = await route.load();
    if (mine !== generation) return;
    main.replaceChildren();
    await page.default(ctx);
    // bench/web_dashboard.mjs reads this: when the page became usable.
    if (mine === generation) performance.mark('motorpool:page-ready');
  } catch (error) {
    if (mine !== generation) return;
    main.replaceChildren();
    ctx.title('Something went wrong');
    main.append(h('p', {class: 'error', role: 'alert'}, (error as Error).message));
  }
}

export function start(table: Route[]): void {
  routes = table;
  window.addEventListener('popstate', () => void render());
  document.addEventListener('click', (event) => {
    const link = (event.target as Element).closest?.('a');
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    const href = link.getAttribute('href');
    if (!href || !href.startsWith('/') || link.target || link.hasAttribute('data-external') || link.hasAttribute('download')) return;
    event.preventDefault();
    navigate(href);
  });
  void render();
}
