/**
 * Human-readable log lines (pino-pretty, in this process: no worker thread) for `npm run dev` on a
 * terminal. Only main.ts imports it, so the Lambda and Workers bundles stay without pino-pretty.
 */
import type { DestinationStream } from 'pino';
import pretty from 'pino-pretty';

/** pino-pretty writing to `destination` (default stdout, colored). */
export function prettyStream(destination?: DestinationStream): DestinationStream {
  return pretty({
    destination: destination ?? 1,
    colorize: destination === undefined,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,name',
    sync: true,
  });
}

/** Pretty lines when stdout is a terminal; undefined (pino's JSON to stdout) for a pipe or a log collector. */
export const terminalDestination = (stdout: { isTTY?: boolean }): DestinationStream | undefined =>
  stdout.isTTY ? prettyStream() : undefined;
