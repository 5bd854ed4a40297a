// The dashboard's first page: sign in with a password, then the signed-in user's vehicles from
// motorpool's API. (Issue 21 grows it into the full dashboard.)
import './style.css';

interface Vehicle {
  id: string;
  vin: string;
  make: string;
  model: string;
  year: number | null;
}

const app = document.querySelector<HTMLElement>('#app')!;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  return node;
}

async function api<T>(path: string, token: string): Promise<T> {
  const res = await fetch(path, {headers: {Authorization: `Bearer ${token}`}});
  if (!res.ok) throw new Error(`${res.status} ${(await res.json()).detail ?? res.statusText}`);
  return res.json() as Promise<T>;
}

async function showVehicles(token: string): Promise<void> {
  app.replaceChildren(element('h1', 'Vehicles'));
  const page = await api<{items: Vehicle[]; total: number}>('/api/v1/vehicles?page=1&page_size=50', token);
  if (page.items.length === 0) {
    app.append(element('p', 'No vehicles yet.'));
    return;
  }
  const table = element('table');
  const head = table.createTHead().insertRow();
  for (const title of ['VIN', 'Make', 'Model', 'Year']) head.append(element('th', title));
  const body = table.createTBody();
  for (const v of page.items) {
    const row = body.insertRow();
    for (const cell of [v.vin, v.make, v.model, v.year === null ? '' : String(v.year)]) {
      row.insertCell().textContent = cell;
    }
  }
  app.append(table, element('p', `${page.total} in all`));
}

function showSignIn(): void {
  const form = element('form');
  const email = Object.assign(element('input'), {type: 'email', name: 'email', required: true, autocomplete: 'username'});
  const password = Object.assign(element('input'), {
    type: 'password', name: 'password', required: true, autocomplete: 'current-password',
  });
  const emailLabel = element('label', 'E-mail');
  emailLabel.append(email);
  const passwordLabel = element('label', 'Password');
  passwordLabel.append(password);
  const error = element('p');
  error.className = 'error';
  error.setAttribute('role', 'alert');
  form.append(emailLabel, passwordLabel, element('button', 'Sign in'), error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const res = await fetch('/api/v1/auth/login', {
      method: 'POST',
      headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({email: email.value, password: password.value}),
    });
    const body = await res.json();
    if (!res.ok) {
      error.textContent = body.detail ?? 'Sign-in failed';
      return;
    }
    sessionStorage.setItem('motorpool.token', body.access_token);
    await showVehicles(body.access_token).catch((e: Error) => { error.textContent = e.message; });
  });
  app.replaceChildren(element('h1', 'Sign in to motorpool'), form);
}

const token = sessionStorage.getItem('motorpool.token');
if (token) {
  showVehicles(token).catch(() => {
    sessionStorage.removeItem('motorpool.token');
    showSignIn();
  });
} else {
  showSignIn();
}
