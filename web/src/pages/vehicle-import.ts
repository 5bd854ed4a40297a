// CSV import for fleet managers and admins: the file is read in the browser and sent in chunks of
// rows (each with the header line) to POST /api/v1/vehicles/import, so every request stays small and
// the progress bar shows real progress; the summaries add up, rejected rows keep their file line.
import {ApiProblem, request} from '../lib/api';
import type {PageContext} from '../lib/app';
import {field, h, table} from '../lib/dom';

interface Summary {
  rows: number;
  inserted: number;
  updated: number;
  unchanged: number;
  skipped: number;
  owner_kept: number;
  rejected: number;
  rejects: {line: number; vin: string; reason: string}[];
  warnings: string[];
}

const rowsPerChunk = 5000;

/// Splits CSV text into records without breaking a quoted field that holds a line break.
export function records(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (c === '\n' && !quoted) {
      out.push(text.slice(start, i).replace(/\r$/, ''));
      start = i + 1;
    }
  }
  if (start < text.length) out.push(text.slice(start).replace(/\r$/, ''));
  return out.filter((line) => line.length > 0);
}

export default function render(ctx: PageContext): void {
  ctx.title('Import vehicles');
  const file = h('input', {type: 'file', name: 'file', accept: '.csv,text/csv', required: true});
  const skip = h('input', {type: 'checkbox', name: 'skip_existing'});
  const progress = h('progress', {max: 1, value: 0, 'aria-label': 'Import progress'});
  const status = h('p', {role: 'status'});
  const result = h('div');
  const button = h('button', {type: 'submit'}, 'Import');
  const form = h('form', {class: 'narrow'},
    field('CSV file', file, 'A header row naming the columns: vin, make, model; optional trim, year, license_plate, ' +
      'odometer_km, fuel_type, description. Known VINs are updated.'),
    h('label', {class: 'row'}, skip, h('span', {}, 'Leave vehicles already registered untouched')), button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const chosen = file.files?.[0];
    if (!chosen) return;
    button.disabled = true;
    result.replaceChildren();
    const lines = records(await chosen.text());
    const [header, ...rows] = lines;
    const total: Summary = {rows: 0, inserted: 0, updated: 0, unchanged: 0, skipped: 0, owner_kept: 0, rejected: 0,
      rejects: [], warnings: []};
    progress.max = Math.max(rows.length, 1);
    progress.value = 0;
    try {
      for (let offset = 0; offset < rows.length || offset === 0; offset += rowsPerChunk) {
        const chunk = [header, ...rows.slice(offset, offset + rowsPerChunk)].join('\n') + '\n';
        const part = await request<Summary>('POST', `/api/v1/vehicles/import?skip_existing=${skip.checked}`,
          new Blob([chunk], {type: 'text/csv'}), {headers: {'Content-Type': 'text/csv'}});
        for (const k of ['rows', 'inserted', 'updated', 'unchanged', 'skipped', 'owner_kept', 'rejected'] as const) {
          total[k] += part[k];
        }
        // Chunk lines count from its header (line 1); the file's from its own.
        total.rejects.push(...part.rejects.map((r) => ({...r, line: r.line + offset})));
        if (offset === 0) total.warnings.push(...part.warnings);
        progress.value = Math.min(offset + rowsPerChunk, rows.length);
        status.textContent = `${progress.value} of ${rows.length} rows sent`;
        if (!ctx.active()) return;
        if (rows.length === 0) break;
      }
    } catch (e) {
      status.textContent = `Stopped: ${(e as ApiProblem).fieldError?.('file') ?? (e as Error).message}`;
      button.disabled = false;
      return;
    }
    button.disabled = false;
    status.textContent = `Done: ${total.rows} rows read — ${total.inserted} added, ${total.updated} updated, ` +
      `${total.unchanged} unchanged, ${total.skipped} skipped, ${total.rejected} rejected`;
    result.append(...total.warnings.map((w) => h('p', {class: 'muted'}, w)));
    if (total.rejects.length) {
      result.append(table(['Line', 'VIN', 'Reason'], total.rejects, (r) => [String(r.line), r.vin, r.reason],
        'Rejected rows'));
    }
  });
  ctx.main.append(form, progress, status, result, h('p', {}, h('a', {href: '/vehicles'}, 'Back to the vehicles')));
}
