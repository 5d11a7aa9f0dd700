/** Integrations with their connection health and last run; an operator can start a sync from here. */
import { api } from '../api';
import { badge, h, table, when } from '../dom';
import type { PageContext } from '../page';

interface Integration {
  id: string;
  name: string;
  system: string;
  enabled: boolean;
  syncInterval: string;
}
interface Status {
  integration: string;
  running: boolean;
  lastRun: Run | null;
}
interface Health {
  name: string;
  ok: boolean;
  message?: string;
}
interface Run {
  id: string;
  status: string;
  received: number;
  accepted: number;
  quarantined: number;
  error: string | null;
  queuedAt: string;
  finishedAt: string | null;
}

export async function integrationsPage(root: HTMLElement, ctx: PageContext): Promise<void> {
  const [list, status, health] = await Promise.all([
    api<{ integrations: Integration[] }>('GET', '/api/integrations'),
    api<{ integrations: Status[] }>('GET', '/api/sync/status'),
    api<{ integrations: Health[] }>('GET', '/health/integrations'),
  ]);
  const statusOf = new Map(status.integrations.map((s) => [s.integration, s]));
  const healthOf = new Map(health.integrations.map((c) => [c.name, c]));
  const trigger = async (name: string) => {
    const { runId } = await api<{ runId: string }>('POST', `/api/sync/trigger/${encodeURIComponent(name)}`, {});
    ctx.go(`#/runs/${runId}`);
  };
  root.replaceChildren(
    h('h1', {}, 'Integrations'),
    table<Integration>(
      [
        { title: 'Name', cell: (i) => i.name },
        { title: 'System', cell: (i) => i.system },
        { title: 'Enabled', cell: (i) => (i.enabled ? 'yes' : 'no') },
        { title: 'Every', cell: (i) => i.syncInterval },
        {
          title: 'Health',
          cell: (i) => {
            const check = healthOf.get(i.name);
            if (!check) return h('span', { class: 'muted' }, i.enabled ? 'not checked' : 'disabled');
            return h(
              'span',
              { title: check.message ?? '' },
              badge(check.ok ? 'ok' : 'down'),
              check.ok ? '' : ` ${check.message ?? ''}`,
            );
          },
        },
        {
          title: 'Last run',
          cell: (i) => {
            const s = statusOf.get(i.name);
            if (!s?.lastRun) return h('span', { class: 'muted' }, 'never');
            const run = s.lastRun;
            return h(
              'span',
              {},
              h('a', { href: `#/runs/${run.id}` }, badge(s.running ? 'running' : run.status)),
              ` ${when(run.finishedAt ?? run.queuedAt)}`,
            );
          },
        },
        { title: 'Received', num: true, cell: (i) => statusOf.get(i.name)?.lastRun?.received ?? '–' },
        { title: 'Quarantined', num: true, cell: (i) => statusOf.get(i.name)?.lastRun?.quarantined ?? '–' },
        {
          title: '',
          cell: (i) => (i.enabled ? h('button', { onclick: () => ctx.act(() => trigger(i.name)) }, 'Sync now') : null),
        },
      ],
      list.integrations,
      'No integrations yet: add one with `data-sync integrations add` or POST /api/integrations.',
    ),
  );
}
