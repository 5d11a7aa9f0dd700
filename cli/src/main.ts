/**
 * `data-sync`: the runtime's operations from a terminal, over its HTTP API only (the same tokens and
 * roles as any client). Exit codes: 0 done, 1 failed (a request, a run, a connection test), 2 usage.
 */
import * as readline from 'readline';
import { Command, CommanderError } from 'commander';
import { createClient, Client } from './client';
import { loadConfig } from './config';
import type { Context } from './context';
import { CliError } from './errors';
import { Io, stdio } from './output';
import { integrationCommands } from './commands/integrations';
import { loginCommand } from './commands/login';
import { recordCommands } from './commands/records';
import { syncCommands } from './commands/sync';

/** One line from stdin; on a terminal, a prompt on stderr whose answer is not echoed. */
function readSecretLine(prompt: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = readline.createInterface({
      input: process.stdin,
      output: process.stderr,
      terminal: Boolean(process.stdin.isTTY),
    });
    if (process.stdin.isTTY) {
      process.stderr.write(prompt);
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
    }
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      if (process.stdin.isTTY) process.stderr.write('\n');
      rl.close();
      resolve(line);
    });
    rl.once('close', () => answered || resolve(''));
  });
}

export function buildProgram(ctx: Context): Command {
  const program = new Command('data-sync')
    .description('Operate the Data Sync Service: integrations, runs, quarantine, dead letters, contacts')
    .showSuggestionAfterError()
    // Set before the commands are added: each subcommand copies them, so a usage error anywhere is one line, exit 2.
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.io.out(s), writeErr: (s) => ctx.io.err(s) });
  loginCommand(program, ctx);
  syncCommands(program, ctx);
  integrationCommands(program, ctx);
  recordCommands(program, ctx);
  return program;
}

/** Runs one command line (without node and the script name); resolves to the exit code. */
export async function main(
  argv: readonly string[],
  options: { io?: Io; env?: NodeJS.ProcessEnv } = {},
): Promise<number> {
  const io = options.io ?? stdio();
  const env = options.env ?? process.env;
  let client: Client | null = null;
  const ctx: Context = {
    io,
    env,
    client: () => (client ??= createClient(loadConfig(env))),
    readToken: () => readSecretLine('API token: '),
  };
  try {
    await buildProgram(ctx).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its one-line message (or the help it was asked for).
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.help' ||
        error.code === 'commander.version'
      )
        return 0;
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof CliError) {
      io.err(`data-sync: ${error.message}\n`);
      return error.exitCode;
    }
    io.err(`data-sync: unexpected failure: ${(error as Error).message ?? String(error)}\n`);
    return 1;
  }
}
