// motorpool's API from the browser: the session (tokens in sessionStorage, refreshed before they
// expire and once more on a 401), JSON requests, and problem+json answers as ApiProblem.

export interface User {
  id: string;
  name: string;
  email: string;
  phone: string | null;
  role: 'member' | 'fleet_manager' | 'support' | 'admin';
  membership: unknown;
  referral_code: string | null;
  rewards_balance: number;
  created_at: string;
}

interface Tokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  user: User;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  page_size: number;
  total_pages: number;
  next_cursor?: string | null;
}

export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: {field: string; message: string}[] = [],
  ) {
    super(detail || title);
  }

  /// The message for one field of a 422, if any.
  fieldError(name: string): string | undefined {
    return this.errors.find((e) => e.field === name || e.field.endsWith(`.${name}`))?.message;
  }
}

const storageKey = 'motorpool.session';

interface Session {
  access: string;
  refresh: string;
  expiresAt: number;
  user: User;
}

let session: Session | null = load();
const listeners = new Set<() => void>();

function load(): Session | null {
  try {
    const text = sessionStorage.getItem(storageKey);
    return text ? (JSON.parse(text) as Session) : null;
  } catch {
    return null;
  }
}

function save(next: Session | null): void {
  session = next;
  if (next) sessionStorage.setItem(storageKey, JSON.stringify(next));
  else sessionStorage.removeItem(storageKey);
  for (const listener of listeners) listener();
}

export function onSessionChange(listener: () => void): void {
  listeners.add(listener);
}

export function currentUser(): User | null {
  return session?.user ?? null;
}

export function hasRole(...roles: User['role'][]): boolean {
  return session !== null && roles.includes(session.user.role);
}

/// Stores what login, register, refresh and magic-link verify answer.
export function signedIn(tokens: Tokens): void {
  save({
    access: tokens.access_token,
    refresh: tokens.refresh_token,
    expiresAt: Date.now() + tokens.expires_in * 1000,
    user: tokens.user ?? session?.user,
  });
}

export async function signOut(): Promise<void> {
  const refresh = session?.refresh;
  save(null);
  if (refresh) {
    await fetch('/api/v1/auth/logout', {
      method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify({refresh_token: refresh}),
    }).catch(() => undefined);
  }
}

let refreshing: Promise<boolean> | null = null;

/// One refresh at a time (a rotated refresh token must never be sent twice: that revokes the family).
function refresh(): Promise<boolean> {
  if (!session) return Promise.resolve(false);
  refreshing ??= (async () => {
    try {
      const res = await fetch('/api/v1/auth/refresh', {
        method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({refresh_token: session!.refresh}),
      });
      if (!res.ok) {
        save(null);
        return false;
      }
      signedIn(await res.json());
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/// A valid access token (refreshed when it is about to expire), or null when signed out.
export async function accessToken(): Promise<string | null> {
  if (session && session.expiresAt - Date.now() < 30_000) await refresh();
  return session?.access ?? null;
}

async function problemOf(res: Response): Promise<ApiProblem> {
  let body: {title?: string; detail?: string; errors?: {field: string; message: string}[]} = {};
  try {
    body = await res.json();
  } catch {
    // not JSON: the status says enough
  }
  return new ApiProblem(res.status, body.title ?? res.statusText, body.detail ?? body.title ?? res.statusText,
    body.errors ?? []);
}

export async function request<T>(method: string, path: string, body?: unknown, init: RequestInit = {}): Promise<T> {
  const send = async (): Promise<Response> => {
    const headers = new Headers(init.headers);
    const token = await accessToken();
    if (token) headers.set('Authorization', `Bearer ${token}`);
    let payload: BodyInit | undefined;
    if (body instanceof Blob || typeof body === 'string') {
      payload = body;
    } else if (body !== undefined) {
      headers.set('Content-Type', 'application/json');
      payload = JSON.stringify(body);
    }
    return fetch(path, {...init, method, headers, body: payload});
  };
  let res = await send();
  if (res.status === 401 && session && (await refresh())) res = await send();
  if (!res.ok) {
    const problem = await problemOf(res);
    if (res.status === 401) save(null);
    throw problem;
  }
  if (res.status === 204 || res.status === 202 && res.headers.get('Content-Length') === '0') return undefined as T;
  const type = res.headers.get('Content-Type') ?? '';
  return (type.includes('json') ? res.json() : res.text()) as Promise<T>;
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path),
  post: <T>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  put: <T>(path: string, body: unknown, init?: RequestInit) => request<T>('PUT', path, body, init),
  delete: <T>(path: string) => request<T>('DELETE', path),
};

/// Every item of an offset-paged list (locations, offers: a few dozen rows), read 100 a page.
export async function allItems<T>(path: string, params: Record<string, string | number | boolean | null | undefined> = {}): Promise<{items: T[]}> {
  const items: T[] = [];
  for (let page = 1; page <= 100; page++) {
    const got = await request<Page<T>>('GET', path + query({...params, page, page_size: 100}));
    items.push(...got.items);
    if (page >= got.total_pages) break;
  }
  return {items};
}

/// Query string from an object, leaving out empty values.
export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  }
  const text = q.toString();
  return text ? `?${text}` : '';
}
