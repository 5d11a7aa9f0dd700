/** Quarantined records with each field's reasons; replay the selected ones, or all, with the current rules. */
import { api } from '../api';
import { h, table, when } from '../dom';
import type { PageContext } from '../page';

interface Item {
  id: string;
  integration: string;
  mapping: string;
  runId: string | null;
  record: Record<string, unknown>;
  errors: { field?: string; rule?: string; reason?: string }[];
  occurrences: number;
  attempts: number;
  lastSeenAt: string;
}
interface Counts {
  received: number;
  accepted: number;
  quarantined: number;
}

export async function quarantinePage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const { items, total } = await api<{ items: Item[]; total: number }>('GET', '/api/pipelines/quarantine?limit=100');
  const selected = new Set<string>();
  const replay = async (ids: string[] | null) => {
    const counts = await api<Counts>('POST', '/api/pipelines/quarantine/replay', ids ? { ids } : {});
    ctx.go(
      '#/quarantine',
      `replayed ${counts.received}: ${counts.accepted} accepted, ${counts.quarantined} still quarantined`,
    );
  };
  root.replaceChildren(
    h('h1', {}, `Quarantine (${total})`),
    h(
      'div',
      { class: 'actions' },
      h('button', { onclick: () => ctx.act(() => replay([...selected])) }, 'Replay selected'),
      h('button', { class: 'primary', onclick: () => ctx.act(() => replay(null)) }, 'Replay all'),
    ),
    table<Item>(
      [
        {
          title: '',
          cell: (i) =>
            h('input', {
              type: 'checkbox',
              'aria-label': `select ${i.id}`,
              onchange: (e) => {
                if ((e.target as HTMLInputElement).checked) selected.add(i.id);
                else selected.delete(i.id);
              },
            }),
        },
        { title: 'Id', cell: (i) => i.id },
        { title: 'Integration', cell: (i) => i.integration },
        { title: 'Mapping', cell: (i) => i.mapping },
        {
          title: 'Reasons',
          cell: (i) =>
            h(
              'ul',
              { class: 'reasons' },
              ...i.errors.map((e) =>
                h('li', {}, h('strong', {}, e.field ?? '(record)'), `: ${e.reason ?? e.rule ?? ''}`),
              ),
            ),
        },
        { title: 'Record', cell: (i) => h('code', {}, JSON.stringify(i.record).slice(0, 160)) },
        { title: 'Seen', num: true, cell: (i) => i.occurrences },
        { title: 'Last seen', cell: (i) => when(i.lastSeenAt) },
      ],
      items,
      'Nothing is quarantined.',
    ),
  );
}
