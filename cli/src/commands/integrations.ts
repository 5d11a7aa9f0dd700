/** integrations list | add | test. */
import * as fs from 'fs';
import type { Command } from 'commander';
import { CliError } from '../errors';
import { json, table } from '../output';
import type { Context } from '../context';

interface Integration {
  id: string;
  name: string;
  system: string;
  enabled: boolean;
  syncInterval: string;
  objects: string[];
  pushObjects: string[];
}

const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** --config takes JSON, or @file with JSON in it. */
function configArgument(value: string): unknown {
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = fs.readFileSync(value.slice(1), 'utf8');
    } catch (error) {
      throw new CliError(
        `--config ${value}: cannot read ${value.slice(1)} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
        2,
      );
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`--config is not valid JSON: ${(error as Error).message}`, 2);
  }
}

export function integrationCommands(program: Command, ctx: Context): void {
  const integrations = program.command('integrations').description('the systems this service syncs with');

  integrations
    .command('list')
    .description('all integrations (credentials are never shown)')
    .option('--json', 'print the API answer as JSON (secrets masked)')
    .action(async (opts: { json?: boolean }) => {
      const { integrations: all } = await ctx
        .client()
        .call<{ integrations: Integration[] }>('GET', '/api/integrations');
      if (opts.json) return json(ctx.io, { integrations: all });
      table(
        ctx.io,
        ['NAME', 'SYSTEM', 'ENABLED', 'EVERY', 'OBJECTS', 'ID'],
        all.map((i) => [i.name, i.system, i.enabled ? 'yes' : 'no', i.syncInterval, i.objects.join(','), i.id]),
        'No integrations: add one with data-sync integrations add.',
      );
    });

  integrations
    .command('add <name>')
    .description("add an integration; its config is checked against the connector's schema")
    .requiredOption('--system <system>', 'connector: salesforce, hubspot, mailchimp, ...')
    .requiredOption(
      '--config <json|@file>',
      'connector config as JSON, or @path to a JSON file; secrets may be {"$env": NAME}',
    )
    .option('--objects <list>', "comma-separated objects to pull (default: the catalog's)", list)
    .option('--push-objects <list>', "comma-separated objects that receive the internal model's changes", list)
    .option('--interval <every>', "sync interval: <n>m, <n>h or <n>d (default: the catalog's)")
    .option('--disabled', 'add it switched off')
    .option('--json', 'print the created integration as JSON (secrets masked)')
    .action(
      async (
        name: string,
        opts: {
          system: string;
          config: string;
          objects?: string[];
          pushObjects?: string[];
          interval?: string;
          disabled?: boolean;
          json?: boolean;
        },
      ) => {
        const body = {
          name,
          system: opts.system,
          config: configArgument(opts.config),
          enabled: !opts.disabled,
          ...(opts.objects ? { objects: opts.objects } : {}),
          ...(opts.pushObjects ? { pushObjects: opts.pushObjects } : {}),
          ...(opts.interval ? { syncInterval: opts.interval } : {}),
        };
        const created = await ctx.client().call<Integration>('POST', '/api/integrations', body);
        if (opts.json) return json(ctx.io, created);
        ctx.io.out(
          `added ${created.name} (${created.system}, every ${created.syncInterval}, ` +
            `objects ${created.objects.join(',') || 'none'}), id ${created.id}\n`,
        );
      },
    );

  integrations
    .command('test <name>')
    .description("test an integration's credentials and reachability (exit code 1 when the test fails)")
    .option('--json', 'print the API answer as JSON')
    .action(async (name: string, opts: { json?: boolean }) => {
      const client = ctx.client();
      const { integrations: all } = await client.call<{ integrations: Integration[] }>('GET', '/api/integrations');
      const found = all.find((i) => i.name === name || i.id === name);
      if (!found) throw new CliError(`no integration "${name}": data-sync integrations list shows them`);
      const result = await client.call<{ ok: boolean; message?: string; latencyMs?: number }>(
        'POST',
        `/api/integrations/${encodeURIComponent(found.id)}/test`,
      );
      if (opts.json) json(ctx.io, result);
      else if (result.ok)
        ctx.io.out(`${found.name}: ok${result.message ? `: ${result.message}` : ''} (${result.latencyMs ?? '?'} ms)\n`);
      if (!result.ok)
        throw new CliError(`connection test of ${found.name} failed${result.message ? `: ${result.message}` : ''}`);
    });
}
