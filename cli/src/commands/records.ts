/** quarantine list|replay, dead-letters list|redrive, contacts get, erase. */
import type { Command } from 'commander';
import { CliError } from '../errors';
import { json, table, time } from '../output';
import type { Context } from '../context';

interface QuarantineItem {
  id: string;
  integration: string;
  mapping: string;
  errors: { field?: string; rule?: string; reason?: string }[];
  occurrences: number;
  lastSeenAt: string;
}
interface DeadLetter {
  id: string;
  kind: string;
  integration?: string;
  attempts: number;
  lastError: string;
  deadAt: string;
}

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`--limit must be a positive whole number, not "${value}"`, 2);
  return n;
};

/** ids, or --all: replaying or redriving everything is never what an empty argument list does by accident. */
function selection(ids: string[], all: boolean | undefined, what: string): string[] | null {
  if (ids.length && all) throw new CliError(`give ${what} ids or --all, not both`, 2);
  if (!ids.length && !all) throw new CliError(`name the ${what} ids to act on, or pass --all`, 2);
  return ids.length ? ids : null;
}

export function recordCommands(program: Command, ctx: Context): void {
  const quarantine = program
    .command('quarantine')
    .description('records the pipeline refused, with the reasons per field');
  quarantine
    .command('list')
    .description('quarantined records, newest first')
    .option('--integration <name>', 'only this integration')
    .option('--limit <n>', 'how many', positive, 50)
    .option('--json', "print the API answer as JSON (PII masked for the token's role)")
    .action(async (opts: { integration?: string; limit: number; json?: boolean }) => {
      const query = new URLSearchParams({ limit: String(opts.limit) });
      if (opts.integration) query.set('integration', opts.integration);
      const page = await ctx
        .client()
        .call<{ items: QuarantineItem[]; total: number }>('GET', `/api/pipelines/quarantine?${query}`);
      if (opts.json) return json(ctx.io, page);
      table(
        ctx.io,
        ['ID', 'INTEGRATION', 'MAPPING', 'SEEN', 'LAST SEEN', 'REASONS'],
        page.items.map((i) => [
          i.id,
          i.integration,
          i.mapping,
          i.occurrences,
          time(i.lastSeenAt),
          i.errors.map((e) => `${e.field ?? '(record)'}: ${e.reason ?? e.rule}`).join('; '),
        ]),
        'Nothing is quarantined.',
      );
      if (page.total > page.items.length) ctx.io.out(`(${page.items.length} of ${page.total}; --limit shows more)\n`);
    });
  quarantine
    .command('replay [ids...]')
    .description('run quarantined records through the pipeline again with the current rules')
    .option('--all', 'replay every quarantined record')
    .option('--json', 'print the counts as JSON')
    .action(async (ids: string[], opts: { all?: boolean; json?: boolean }) => {
      const chosen = selection(ids, opts.all, 'quarantine');
      const counts = await ctx
        .client()
        .call<{ received: number; accepted: number; quarantined: number }>(
          'POST',
          '/api/pipelines/quarantine/replay',
          chosen ? { ids: chosen } : {},
        );
      if (opts.json) return json(ctx.io, counts);
      ctx.io.out(`replayed ${counts.received}: ${counts.accepted} accepted, ${counts.quarantined} still quarantined\n`);
    });

  const dead = program.command('dead-letters').description('jobs that failed every attempt');
  dead
    .command('list')
    .description('dead letters with their last error')
    .option('--limit <n>', 'how many', positive, 50)
    .option('--json', 'print the API answer as JSON')
    .action(async (opts: { limit: number; json?: boolean }) => {
      const page = await ctx
        .client()
        .call<{ deadLetters: DeadLetter[]; depth: unknown }>('GET', `/api/queue/dead-letters?limit=${opts.limit}`);
      if (opts.json) return json(ctx.io, page);
      table(
        ctx.io,
        ['JOB', 'KIND', 'INTEGRATION', 'ATTEMPTS', 'DEAD SINCE', 'LAST ERROR'],
        page.deadLetters.map((d) => [d.id, d.kind, d.integration, d.attempts, time(d.deadAt), d.lastError]),
        'No dead letters.',
      );
    });
  dead
    .command('redrive [ids...]')
    .description('move dead letters back to the queue with fresh attempts')
    .option('--all', 'redrive every dead letter')
    .option('--json', 'print the count as JSON')
    .action(async (ids: string[], opts: { all?: boolean; json?: boolean }) => {
      const chosen = selection(ids, opts.all, 'dead-letter');
      const result = await ctx
        .client()
        .call<{ redriven: number }>('POST', '/api/queue/redrive', chosen ? { ids: chosen } : {});
      if (opts.json) return json(ctx.io, result);
      ctx.io.out(`${result.redriven} job${result.redriven === 1 ? '' : 's'} moved back to the queue\n`);
    });

  program
    .command('contacts')
    .description('contacts of the internal model')
    .command('get <email>')
    .description('one contact with the integrations it was seen at and pushed to')
    .option('--json', 'print the API answer as JSON')
    .action(async (email: string, opts: { json?: boolean }) => {
      const contact = await ctx
        .client()
        .call<Record<string, unknown> & { sources?: unknown[] }>('GET', `/api/contacts/${encodeURIComponent(email)}`);
      if (opts.json) return json(ctx.io, contact);
      const { sources, ...fields } = contact;
      table(
        ctx.io,
        ['FIELD', 'VALUE'],
        Object.entries(fields).map(([k, v]) => [
          k,
          typeof v === 'object' && v !== null ? JSON.stringify(v) : (v as string),
        ]),
        '',
      );
      for (const source of sources ?? []) ctx.io.out(`source: ${JSON.stringify(source)}\n`);
    });

  program
    .command('erase <email>')
    .description("GDPR erasure: delete the subject from the store and queue the vendors' erasures (admin)")
    .option('--yes', 'confirm: erasure cannot be undone')
    .option('--json', 'print the API answer as JSON')
    .action(async (email: string, opts: { yes?: boolean; json?: boolean }) => {
      if (!opts.yes)
        throw new CliError(`erase deletes ${email} everywhere and cannot be undone: pass --yes to confirm`, 2);
      const result = await ctx
        .client()
        .call<{ erased: Record<string, number>; vendorErasures: string[] }>('POST', '/api/compliance/erasure', {
          email,
        });
      if (opts.json) return json(ctx.io, result);
      const rows = Object.entries(result.erased)
        .filter(([, n]) => n > 0)
        .map(([t, n]) => `${t} ${n}`);
      ctx.io.out(
        `erased ${email}: ${rows.join(', ') || 'nothing stored'}; ` +
          `vendor erasures queued: ${result.vendorErasures.join(', ') || 'none'}\n`,
      );
    });
}
