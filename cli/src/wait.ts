/**
 * Follows a run until it ends, polling GET /api/sync/runs/:id: on a terminal one line redrawn in place
 * (spinner, pages, records), elsewhere one line each time a page commits. The run's outcome decides
 * the exit code: 0 succeeded, 1 failed.
 */
import type { Client } from './client';
import { CliError } from './errors';
import type { Io } from './output';

export interface RunView {
  id: string;
  integration: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
  attempts: number;
  pages: number;
  received: number;
  accepted: number;
  quarantined: number;
  duplicates: number;
  error: string | null;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export const describeCounts = (run: RunView) =>
  `${run.pages} page${run.pages === 1 ? '' : 's'}, ${run.received} records ` +
  `(${run.accepted} accepted, ${run.quarantined} quarantined, ${run.duplicates} duplicates)`;

export async function waitForRun(
  client: Client,
  io: Io,
  runId: string,
  options: { pollMs: number; timeoutMs: number; quiet: boolean },
): Promise<RunView> {
  const started = Date.now();
  let frame = 0;
  let lastLine = '';
  for (;;) {
    const run = await client.call<RunView>('GET', `/api/sync/runs/${encodeURIComponent(runId)}`);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const line = `${run.integration} ${run.status}: ${describeCounts(run)}`;
    if (!options.quiet) {
      if (io.tty) io.out(`\r\x1b[2K${SPINNER[frame++ % SPINNER.length]} ${line}  ${seconds}s`);
      else if (line !== lastLine) io.out(`${line}\n`);
    }
    lastLine = line;
    if (run.status === 'succeeded' || run.status === 'failed') {
      if (!options.quiet && io.tty) io.out('\n');
      return run;
    }
    if (Date.now() - started > options.timeoutMs) {
      if (!options.quiet && io.tty) io.out('\n');
      throw new CliError(
        `run ${runId} is still ${run.status} after ${options.timeoutMs / 1000} s; ` +
          'it goes on: follow it with data-sync history',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}
