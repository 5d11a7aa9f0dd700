/** Runs, newest first, with their counts and errors. */
import { api } from '../api';
import { badge, h, table, when } from '../dom';

export interface Run {
  id: string;
  integration: string;
  direction: string;
  status: string;
  full: boolean;
  actor: string;
  attempts: number;
  pages: number;
  received: number;
  accepted: number;
  quarantined: number;
  duplicates: number;
  error: string | null;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  objects?: Record<
    string,
    {
      mapping: string | null;
      pages: number;
      received: number;
      accepted: number;
      quarantined: number;
      duplicates: number;
      inserted: number;
      updated: number;
    }
  >;
}

export async function runsPage(root: HTMLElement): Promise<void> {
  const { runs, total } = await api<{ runs: Run[]; total: number }>('GET', '/api/sync/history?limit=50');
  root.replaceChildren(
    h('h1', {}, `Runs (${runs.length} of ${total})`),
    table<Run>(
      [
        { title: 'Run', cell: (r) => h('a', { href: `#/runs/${r.id}` }, r.id.slice(0, 8)) },
        { title: 'Integration', cell: (r) => r.integration },
        { title: 'Direction', cell: (r) => `${r.direction}${r.full ? ' (full)' : ''}` },
        { title: 'Status', cell: (r) => badge(r.status) },
        { title: 'Pages', num: true, cell: (r) => r.pages },
        { title: 'Received', num: true, cell: (r) => r.received },
        { title: 'Accepted', num: true, cell: (r) => r.accepted },
        { title: 'Quarantined', num: true, cell: (r) => r.quarantined },
        { title: 'Duplicates', num: true, cell: (r) => r.duplicates },
        { title: 'Queued', cell: (r) => when(r.queuedAt) },
        { title: 'Error', cell: (r) => (r.error ? h('span', { class: 'error-text' }, r.error) : '') },
      ],
      runs,
      'No runs yet.',
    ),
  );
}
