/** DOM helpers: every value from the API goes in as text (never as HTML), so stored data cannot inject markup. */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | boolean | ((event: Event) => void) | undefined>;

export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'object' ? child : String(child));
  }
  return element;
}

export interface Column<T> {
  readonly title: string;
  readonly cell: (row: T) => Child;
  readonly num?: boolean;
}

export function table<T>(columns: readonly Column<T>[], rows: readonly T[], empty: string): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'muted' }, empty);
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', { class: c.num ? 'num' : undefined }, c.title)))),
    h(
      'tbody',
      {},
      ...rows.map((row) =>
        h('tr', {}, ...columns.map((c) => h('td', { class: c.num ? 'num' : undefined }, c.cell(row)))),
      ),
    ),
  );
}

export const badge = (text: string) => h('span', { class: `badge ${text}` }, text);

export function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  const date = new Date(iso);
  return `${date.toISOString().slice(0, 10)} ${date.toISOString().slice(11, 19)} UTC`;
}
