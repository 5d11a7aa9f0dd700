/** login: checks the URL and token against the runtime, then keeps them in the config file (mode 0600). */
import type { Command } from 'commander';
import { createClient } from '../client';
import { configPath, normalizeUrl, saveConfig } from '../config';
import { CliError } from '../errors';
import type { Context } from '../context';

export function loginCommand(program: Command, ctx: Context): void {
  program
    .command('login <url>')
    .description('check an API token against the runtime at <url> and keep both for later commands')
    .option(
      '--token <token>',
      'the API token (else DATA_SYNC_TOKEN, else read from stdin; a flag stays in shell history)',
    )
    .action(async (rawUrl: string, opts: { token?: string }) => {
      const url = normalizeUrl(rawUrl);
      const token = (opts.token ?? ctx.env.DATA_SYNC_TOKEN ?? (await ctx.readToken())).trim();
      if (!token) throw new CliError('no API token given: pass --token, set DATA_SYNC_TOKEN or type it when asked', 2);
      // Any route a viewer may read proves the token before it is stored.
      await createClient({ url, token }).call('GET', '/api/sync/status');
      const file = configPath(ctx.env);
      saveConfig(file, { url, token });
      ctx.io.out(`logged in to ${url}; kept in ${file} (mode 0600)\n`);
    });
}
