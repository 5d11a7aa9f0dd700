/** status, sync trigger [--wait], history. */
import type { Command } from 'commander';
import { CliError } from '../errors';
import { json, table, time } from '../output';
import { describeCounts, RunView, waitForRun } from '../wait';
import type { Context } from '../context';

interface Status {
  integration: string;
  running: boolean;
  lastRun: (RunView & { finishedAt: string | null; queuedAt: string }) | null;
}
interface HistoryRun extends RunView {
  direction: string;
  full: boolean;
  queuedAt: string;
  finishedAt: string | null;
}

const positive = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new CliError(`${name} must be a positive number, not "${value}"`, 2);
  return n;
};

export function syncCommands(program: Command, ctx: Context): void {
  program
    .command('status')
    .description("each integration's last run and whether one is running, plus the service's health")
    .option('--json', 'print the API answer as JSON')
    .action(async (opts: { json?: boolean }) => {
      const client = ctx.client();
      const [health, status] = await Promise.all([
        client.call<{ status: string; slot?: string }>('GET', '/health'),
        client.call<{ integrations: Status[] }>('GET', '/api/sync/status'),
      ]);
      if (opts.json) return json(ctx.io, { health, integrations: status.integrations });
      ctx.io.out(`${client.url}: ${health.status}${health.slot ? ` (slot ${health.slot})` : ''}\n`);
      table(
        ctx.io,
        ['INTEGRATION', 'RUNNING', 'LAST RUN', 'STATUS', 'FINISHED', 'RECEIVED', 'QUARANTINED', 'ERROR'],
        status.integrations.map((s) => [
          s.integration,
          s.running ? 'yes' : 'no',
          s.lastRun?.id.slice(0, 8),
          s.lastRun?.status,
          time(s.lastRun?.finishedAt),
          s.lastRun?.received,
          s.lastRun?.quarantined,
          s.lastRun?.error,
        ]),
        'No integrations.',
      );
    });

  const sync = program.command('sync').description('runs of integrations');
  sync
    .command('trigger <integration>')
    .description('queue a pull now; with --wait, follow it until it ends (exit code 0 succeeded, 1 failed)')
    .option('--full', 'full sync: clear the cursors first')
    .option('--push', "push the internal model's changes to the integration instead of pulling")
    .option('--wait', 'show progress until the run ends; the exit code is its outcome')
    .option(
      '--timeout <seconds>',
      'with --wait: give up waiting after this long (the run goes on)',
      positive('--timeout'),
      3600,
    )
    .option('--poll <ms>', 'with --wait: how often to ask for progress', positive('--poll'), 500)
    .option('--json', 'print the run as JSON (with --wait: the finished run)')
    .action(
      async (
        integration: string,
        opts: { full?: boolean; push?: boolean; wait?: boolean; timeout: number; poll: number; json?: boolean },
      ) => {
        const client = ctx.client();
        const body = { full: opts.full ?? false, direction: opts.push ? 'push' : 'pull' };
        const queued = await client.call<{ runId: string; jobId: string }>(
          'POST',
          `/api/sync/trigger/${encodeURIComponent(integration)}`,
          body,
        );
        if (!opts.wait) {
          if (opts.json) return json(ctx.io, queued);
          ctx.io.out(
            `queued run ${queued.runId} of ${integration} (job ${queued.jobId}); ` +
              `follow it with: data-sync history --integration ${integration}\n`,
          );
          return;
        }
        if (!opts.json) ctx.io.out(`queued run ${queued.runId} of ${integration}\n`);
        const run = await waitForRun(client, ctx.io, queued.runId, {
          pollMs: opts.poll,
          timeoutMs: opts.timeout * 1000,
          quiet: Boolean(opts.json),
        });
        if (opts.json) json(ctx.io, run);
        else if (run.status === 'succeeded') ctx.io.out(`run ${run.id} succeeded: ${describeCounts(run)}\n`);
        if (run.status === 'failed')
          throw new CliError(
            `run ${run.id} of ${integration} failed (attempt ${run.attempts}): ${run.error ?? 'no reason recorded'}`,
          );
      },
    );

  program
    .command('history')
    .description('sync runs, newest first')
    .option('--integration <name>', 'only this integration')
    .option('--status <status>', 'queued, running, succeeded or failed')
    .option('--limit <n>', 'how many', positive('--limit'), 20)
    .option('--json', 'print the API answer as JSON')
    .action(async (opts: { integration?: string; status?: string; limit: number; json?: boolean }) => {
      const query = new URLSearchParams({ limit: String(opts.limit) });
      if (opts.integration) query.set('integration', opts.integration);
      if (opts.status) query.set('status', opts.status);
      const page = await ctx.client().call<{ runs: HistoryRun[]; total: number }>('GET', `/api/sync/history?${query}`);
      if (opts.json) return json(ctx.io, page);
      table(
        ctx.io,
        [
          'RUN',
          'INTEGRATION',
          'DIRECTION',
          'STATUS',
          'PAGES',
          'RECEIVED',
          'ACCEPTED',
          'QUARANTINED',
          'QUEUED',
          'ERROR',
        ],
        page.runs.map((r) => [
          r.id,
          r.integration,
          r.direction + (r.full ? ' (full)' : ''),
          r.status,
          r.pages,
          r.received,
          r.accepted,
          r.quarantined,
          time(r.queuedAt),
          r.error,
        ]),
        'No runs.',
      );
    });
}
