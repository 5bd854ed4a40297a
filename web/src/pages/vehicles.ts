// Vehicles: search and filters, keyset paging (a deep page costs what the first one does, so a
// million rows page as fast as ten), add a vehicle with the VIN checked as it is typed, and for
// members "Connect a car" through Smartcar Connect.
import {api, ApiProblem, hasRole, query, type Page} from '../lib/api';
import type {PageContext} from '../lib/app';
import {field, h, table} from '../lib/dom';
import {vehicleName, type Vehicle} from '../lib/vehicles';

interface VinDecode {
  vin: string;
  valid: boolean;
  error: string | null;
  manufacturer: string | null;
  country: string | null;
  region: string | null;
  model_year: {selected: number | null; candidates: number[]} | null;
}

const pageSize = 50;

/// Checks the VIN as it is typed: the characters at once, the rest (check digit, maker, year) from
/// the server's decoder once 17 characters are there.
function vinInput(onDecoded: (d: VinDecode | null) => void): {input: HTMLInputElement; status: HTMLElement} {
  const input = h('input', {name: 'vin', required: true, maxlength: 17, autocomplete: 'off', spellcheck: 'false',
    pattern: '[0-9A-HJ-NPR-Za-hj-npr-z]{17}', class: 'vin'});
  const status = h('small', {id: 'vin-status', role: 'status', class: 'hint'});
  input.setAttribute('aria-describedby', 'vin-status');
  let timer: number | undefined;
  input.addEventListener('input', () => {
    input.value = input.value.toUpperCase().replace(/\s/g, '');
    const vin = input.value;
    clearTimeout(timer);
    const bad = /[^0-9A-HJ-NPR-Z]/.exec(vin);
    if (bad) {
      status.textContent = `"${bad[0]}" cannot appear in a VIN (I, O and Q never do).`;
      status.className = 'hint error';
      input.setAttribute('aria-invalid', 'true');
      onDecoded(null);
      return;
    }
    if (vin.length < 17) {
      status.textContent = `${vin.length} of 17 characters`;
      status.className = 'hint';
      input.removeAttribute('aria-invalid');
      onDecoded(null);
      return;
    }
    timer = window.setTimeout(async () => {
      const d = await api.get<VinDecode>(`/api/v1/vins/${vin}`).catch(() => null);
      if (!d || input.value !== vin) return;
      input.setAttribute('aria-invalid', String(!d.valid));
      status.className = d.valid ? 'hint ok' : 'hint error';
      const origin = [d.manufacturer, d.country ?? d.region].filter(Boolean).join(', ');
      const year = d.model_year?.selected ?? null;
      status.textContent = d.valid
        ? `Valid VIN${origin ? ` — ${origin}` : ''}${year ? `, model year ${year}` : ''}`
        : d.error ?? 'Not a valid VIN';
      onDecoded(d);
    }, 150);
  });
  return {input, status};
}

function vinField(vin: HTMLInputElement, status: HTMLElement): HTMLElement {
  const wrapper = field('VIN', vin, '17 characters; checked as you type');
  wrapper.append(status);
  return wrapper;
}

function addForm(ctx: PageContext, reload: () => void): HTMLElement {
  const make = h('input', {name: 'make', required: true, maxlength: 64});
  const model = h('input', {name: 'model', required: true, maxlength: 64});
  const year = h('input', {name: 'year', type: 'number', min: 1886, max: new Date().getFullYear() + 2});
  const plate = h('input', {name: 'license_plate', maxlength: 16});
  const {input: vin, status: vinStatus} = vinInput((d) => {
    // The decoder names the maker with its region ("Honda (USA)"); the make is the brand.
    if (d?.valid && d.manufacturer && !make.value) make.value = d.manufacturer.replace(/\s*\(.*\)$/, '');
    if (d?.valid && d.model_year?.selected && !year.value) year.value = String(d.model_year.selected);
  });
  const error = h('p', {class: 'error', role: 'alert'});
  const form = h('form', {class: 'narrow', 'aria-labelledby': 'add-h'},
    vinField(vin, vinStatus), field('Make', make), field('Model', model),
    field('Model year (optional)', year), field('Licence plate (optional)', plate),
    h('button', {type: 'submit'}, 'Add vehicle'), error);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.textContent = '';
    const body: Record<string, unknown> = {vin: vin.value, make: make.value.trim(), model: model.value.trim()};
    if (year.value) body.year = Number(year.value);
    if (plate.value.trim()) body.license_plate = plate.value.trim();
    try {
      const created = await api.post<Vehicle>('/api/v1/vehicles', body);
      ctx.navigate(`/vehicles/${created.id}`);
    } catch (e) {
      const p = e as ApiProblem;
      error.textContent = p.errors.length ? p.errors.map((x) => `${x.field}: ${x.message}`).join('; ') : p.message;
    }
    reload();
  });
  return h('section', {}, h('h2', {id: 'add-h'}, 'Add a vehicle'), form);
}

export async function connectCar(button: HTMLButtonElement, error: HTMLElement): Promise<void> {
  button.disabled = true;
  try {
    const {url} = await api.get<{url: string}>('/api/v1/connect/smartcar');
    location.assign(url);
  } catch (e) {
    error.textContent = (e as Error).message;
    button.disabled = false;
  }
}

export default async function render(ctx: PageContext): Promise<void> {
  ctx.title('Vehicles');
  const staff = hasRole('fleet_manager', 'support', 'admin');
  const filters = {
    q: h('input', {type: 'search', name: 'q', value: ctx.query.get('q') ?? '', placeholder: 'VIN, make, model, plate'}),
    make: h('input', {name: 'make', value: ctx.query.get('make') ?? ''}),
    model: h('input', {name: 'model', value: ctx.query.get('model') ?? ''}),
    year: h('input', {name: 'year', type: 'number', value: ctx.query.get('year') ?? '', class: 'short'}),
  };
  const search = h('form', {class: 'inline', role: 'search'},
    field('Search', filters.q), field('Make', filters.make), field('Model', filters.model), field('Year', filters.year),
    h('button', {type: 'submit'}, 'Search'));
  const results = h('div', {'aria-live': 'polite'});
  const pager = h('nav', {class: 'pager', 'aria-label': 'Pages'});
  const connectError = h('p', {class: 'error', role: 'alert'});
  const actions = h('div', {class: 'row'});
  if (!staff || hasRole('admin')) {
    const connect = h('button', {type: 'button'}, 'Connect a car');
    connect.addEventListener('click', () => void connectCar(connect, connectError));
    actions.append(connect);
  }
  if (hasRole('fleet_manager', 'admin')) actions.append(h('a', {href: '/vehicles/import'}, 'Import a CSV file'));
  ctx.main.append(actions, connectError, search, results, pager);

  // The cursors of the pages before this one: "Previous" pops, "Next" pushes.
  const cursors: (string | null)[] = [];
  let cursor: string | null = null;

  const load = async (): Promise<void> => {
    const params = {q: filters.q.value.trim(), make: filters.make.value.trim(), model: filters.model.value.trim(),
      year: filters.year.value.trim(), page_size: pageSize, cursor: cursor ?? ''};
    let page: Page<Vehicle>;
    try {
      // The first page asks for the total (offset paging); later ones go by cursor.
      page = await api.get<Page<Vehicle>>(`/api/v1/vehicles${query(cursor ? params : {...params, cursor: null, page: 1})}`);
    } catch (e) {
      results.replaceChildren(h('p', {class: 'error', role: 'alert'}, (e as Error).message));
      return;
    }
    if (!ctx.active()) return;
    if (cursor === null && page.total !== undefined) total = page.total;
    results.replaceChildren(page.items.length === 0
      ? h('p', {}, 'No vehicles match.')
      : table(['VIN', 'Vehicle', 'Plate', 'Connection'], page.items, (v) => [
        h('a', {href: `/vehicles/${v.id}`}, v.vin), vehicleName(v), v.license_plate ?? '', v.connection_type ?? '',
      ], 'Vehicles'));
    const first = cursors.length * pageSize + 1;
    pager.replaceChildren(
      h('button', {type: 'button', class: 'secondary', disabled: cursors.length === 0, onclick: () => {
        cursor = cursors.pop() ?? null;
        void load();
      }}, 'Previous'),
      h('span', {role: 'status'}, page.items.length
        ? `${first}–${first + page.items.length - 1}${total !== null ? ` of ${total}` : ''}` : ''),
      h('button', {type: 'button', class: 'secondary', disabled: !page.next_cursor, onclick: () => {
        cursors.push(cursor);
        cursor = page.next_cursor ?? null;
        void load();
      }}, 'Next'));
  };
  let total: number | null = null;
  search.addEventListener('submit', (event) => {
    event.preventDefault();
    cursors.length = 0;
    cursor = null;
    total = null;
    const state = query({q: filters.q.value.trim(), make: filters.make.value.trim(), model: filters.model.value.trim(),
      year: filters.year.value.trim()});
    history.replaceState(null, '', `/vehicles${state}`);
    void load();
  });
  await load();
  if (!ctx.active()) return;
  if (!hasRole('support')) ctx.main.append(addForm(ctx, () => void load()));
}
