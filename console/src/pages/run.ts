/** One run, polled while it is queued or running: each committed page appears as it lands. */
import { api } from '../api';
import { badge, h, table, when } from '../dom';
import type { PageContext } from '../page';
import type { Run } from './runs';

const POLL_MS = 1000;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export async function runPage(root: HTMLElement, ctx: PageContext, id: string): Promise<void> {
  const timeline = h('ol', { class: 'timeline', 'data-testid': 'timeline' });
  const summary = h('div');
  const objects = h('div');
  root.replaceChildren(
    h('h1', {}, `Run ${id}`),
    summary,
    h('h2', {}, 'Objects'),
    objects,
    h('h2', {}, 'Pages as they commit'),
    timeline,
  );
  let seenPages = 0;
  let seenReceived = 0;
  for (;;) {
    const run = await api<Run>('GET', `/api/sync/runs/${encodeURIComponent(id)}`);
    if (ctx.left()) return;
    summary.replaceChildren(
      h(
        'p',
        {},
        badge(run.status),
        ` ${run.integration} · ${run.direction}${run.full ? ' (full)' : ''} · ` +
          `by ${run.actor} · attempt ${run.attempts}`,
      ),
      h(
        'p',
        { 'data-testid': 'counts' },
        `${plural(run.pages, 'page')} · ${run.received} received · ${run.accepted} accepted · ` +
          `${run.quarantined} quarantined · ${run.duplicates} duplicates`,
      ),
      h(
        'p',
        { class: 'muted' },
        `queued ${when(run.queuedAt)} · started ${when(run.startedAt)} · finished ${when(run.finishedAt)}`,
      ),
      h('p', { class: 'error-text' }, run.error ?? ''),
    );
    const rows = Object.entries(run.objects ?? {});
    objects.replaceChildren(
      table<(typeof rows)[number]>(
        [
          { title: 'Object', cell: ([name]) => name },
          { title: 'Mapping', cell: ([, o]) => o.mapping ?? 'replica only' },
          { title: 'Pages', num: true, cell: ([, o]) => o.pages },
          { title: 'Received', num: true, cell: ([, o]) => o.received },
          { title: 'Accepted', num: true, cell: ([, o]) => o.accepted },
          { title: 'Quarantined', num: true, cell: ([, o]) => o.quarantined },
          { title: 'Inserted', num: true, cell: ([, o]) => o.inserted },
          { title: 'Updated', num: true, cell: ([, o]) => o.updated },
        ],
        rows,
        'No page committed yet.',
      ),
    );
    if (run.pages > seenPages) {
      // Polling may see several pages at once: one line per poll that saw progress, naming how many landed.
      const landed = run.pages - seenPages;
      const records = plural(run.received - seenReceived, 'record');
      const at = new Date().toISOString().slice(11, 19);
      timeline.append(
        h('li', {}, `${at} +${plural(landed, 'page')}, +${records} (total ${plural(run.pages, 'page')})`),
      );
      seenPages = run.pages;
      seenReceived = run.received;
    }
    if (run.status === 'succeeded' || run.status === 'failed') return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    if (ctx.left()) return;
  }
}
