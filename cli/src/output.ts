/** Output: aligned tables for people, or the API's JSON as is with --json (for scripts and jq). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal: progress redraws one line there, and prints one line per change elsewhere. */
  readonly tty: boolean;
}

export function stdio(): Io {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    tty: Boolean(process.stdout.isTTY),
  };
}

type Cell = string | number | boolean | null | undefined;

export function table(io: Io, headers: readonly string[], rows: readonly Cell[][], empty: string): void {
  if (rows.length === 0) {
    io.out(`${empty}\n`);
    return;
  }
  const text = rows.map((row) =>
    row.map((cell) => (cell === null || cell === undefined ? '-' : String(cell)).replace(/\s+/g, ' ')),
  );
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((row) => row[i].length)));
  const line = (cells: readonly string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  io.out([line(headers), ...text.map(line)].join('\n') + '\n');
}

export const json = (io: Io, value: unknown) => io.out(JSON.stringify(value, null, 2) + '\n');

export const time = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : null);
