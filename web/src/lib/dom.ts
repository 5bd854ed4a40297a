// A few DOM helpers: the dashboard is plain TypeScript (no UI framework; docs/decisions.md says why).
type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined | EventListener>;

/// h('a', {href: '/x', class: 'link'}, 'text', child): attributes starting with "on" are listeners;
/// false/null/undefined attributes and children are left out.
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      node.addEventListener(name.slice(2), value as EventListener);
    } else if (name === 'value' && 'value' in node) {
      (node as HTMLInputElement).value = String(value);
    } else {
      node.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(node, ...children);
  return node;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/// A labelled input (label, input, optional hint), the label tied by `for` so that its name is
/// exactly `label` (an input nested in its label would add its options' text to the name).
export function field(label: string, input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string): HTMLDivElement {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const wrapper = h('div', {class: 'field'}, h('label', {for: id}, label), input);
  if (hint) {
    const hintNode = h('small', {id: `${id}-hint`, class: 'hint'}, hint);
    input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), hintNode.id].filter(Boolean).join(' '));
    wrapper.append(hintNode);
  }
  return wrapper;
}

export function select(name: string, options: [string, string][], value = ''): HTMLSelectElement {
  const node = h('select', {name});
  for (const [v, text] of options) node.append(h('option', {value: v, selected: v === value}, text));
  return node;
}

/// A table from rows; `cells` returns each row's cells (strings or nodes).
export function table<T>(headers: string[], rows: T[], cells: (row: T) => Child[], caption?: string): HTMLElement {
  const t = h('table', {}, caption ? h('caption', {}, caption) : null);
  const head = t.createTHead().insertRow();
  for (const title of headers) head.append(h('th', {scope: 'col'}, title));
  const body = t.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const cell of cells(row)) append(tr.insertCell(), cell);
  }
  // Wide tables scroll inside their own box on a phone, not the whole page.
  return h('div', {class: 'table-scroll', role: 'region', 'aria-label': caption ?? headers.join(', '), tabindex: 0}, t);
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const seconds = Math.round((now - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return `${Math.max(seconds, 0)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

export function money(cents: number | null | undefined, currency = 'EUR'): string {
  if (cents === null || cents === undefined) return '—';
  return new Intl.NumberFormat(undefined, {style: 'currency', currency}).format(cents / 100);
}

/// Previous / "Page n of m" / Next into `pager` (empty when there is one page); `go` opens a page.
export function pageButtons(pager: HTMLElement, current: number, pages: number, go: (page: number) => void): void {
  pager.replaceChildren();
  if (pages <= 1) return;
  pager.append(
    h('button', {type: 'button', class: 'secondary', disabled: current <= 1, onclick: () => go(current - 1)}, 'Previous'),
    h('span', {}, `Page ${current} of ${pages}`),
    h('button', {type: 'button', class: 'secondary', disabled: current >= pages, onclick: () => go(current + 1)}, 'Next'));
}
