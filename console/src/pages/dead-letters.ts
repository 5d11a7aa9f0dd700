/** Jobs that failed every attempt, with their last error; an admin moves them back to the queue. */
import { api } from '../api';
import { h, table, when } from '../dom';
import type { PageContext } from '../page';

interface DeadLetter {
  id: string;
  kind: string;
  integration?: string;
  attempts: number;
  lastError: string;
  enqueuedAt: string;
  deadAt: string;
}

export async function deadLettersPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const { deadLetters, depth } = await api<{ deadLetters: DeadLetter[]; depth: Record<string, number> }>(
    'GET',
    '/api/queue/dead-letters?limit=100',
  );
  const redrive = async (ids: string[] | null) => {
    const { redriven } = await api<{ redriven: number }>('POST', '/api/queue/redrive', ids ? { ids } : {});
    ctx.go('#/dead-letters', `${redriven} job${redriven === 1 ? '' : 's'} moved back to the queue`);
  };
  root.replaceChildren(
    h('h1', {}, `Dead letters (${deadLetters.length})`),
    h(
      'p',
      { class: 'muted' },
      `queue: ${depth.ready ?? 0} ready · ${depth.inFlight ?? 0} in flight · ` +
        `${depth.delayed ?? 0} delayed · ${depth.dead ?? 0} dead`,
    ),
    h(
      'div',
      { class: 'actions' },
      h(
        'button',
        { class: 'primary', disabled: deadLetters.length === 0, onclick: () => ctx.act(() => redrive(null)) },
        'Redrive all',
      ),
    ),
    table<DeadLetter>(
      [
        { title: 'Job', cell: (d) => d.id },
        { title: 'Kind', cell: (d) => d.kind },
        { title: 'Integration', cell: (d) => d.integration ?? '–' },
        { title: 'Attempts', num: true, cell: (d) => d.attempts },
        { title: 'Last error', cell: (d) => h('span', { class: 'error-text' }, d.lastError) },
        { title: 'Dead since', cell: (d) => when(d.deadAt) },
        { title: '', cell: (d) => h('button', { onclick: () => ctx.act(() => redrive([d.id])) }, 'Redrive') },
      ],
      deadLetters,
      'No dead letters.',
    ),
  );
}
