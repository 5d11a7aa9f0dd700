/**
 * The change feed as Server-Sent Events: one `change` event per change, its position as the event id, so
 * a client that reconnects with `Last-Event-ID` continues after the last change it saw, with no gap.
 * Backpressure: a page is read only once the previous one is in the socket's buffer (write() returned
 * true or 'drain' came), so a client that stops reading holds at most one page in memory.
 */
import type { Change } from '../../store/changes-repository';

/** The part of a Node response the stream writes to (a test passes a stalled one). */
export interface SseSink {
  write(chunk: string): boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  removeListener(event: 'drain' | 'close', listener: () => void): unknown;
}

export interface ChangeStreamOptions {
  /** Changes read per page. @default 100 */
  readonly pageSize?: number;
  /** How often an idle stream looks for new changes. @default 250 ms */
  readonly pollMs?: number;
  /** A comment line after this long without a change, so proxies keep the connection and clients see it live. @default 15000 ms */
  readonly heartbeatMs?: number;
}

/** Resolves on the sink's event or on close; true when the sink closed. */
function waitFor(sink: SseSink, event: 'drain' | null, ms: number | null): Promise<boolean> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (closed: boolean) => {
      if (timer) clearTimeout(timer);
      sink.removeListener('close', onClose);
      if (event) sink.removeListener(event, onEvent);
      resolve(closed);
    };
    const onClose = () => done(true);
    const onEvent = () => done(false);
    sink.once('close', onClose);
    if (event) sink.once(event, onEvent);
    if (ms !== null) timer = setTimeout(() => done(false), ms);
  });
}

export function formatChange(change: Record<string, unknown> & { position: number }): string {
  return `id: ${change.position}\nevent: change\ndata: ${JSON.stringify(change)}\n\n`;
}

/**
 * Streams changes after `after` into `sink` until it closes. `list` reads a page; `present` masks a
 * change for the client's role.
 */
export async function streamChanges(
  sink: SseSink,
  deps: {
    list(after: number, limit: number): Promise<Change[]>;
    present(change: Change): Record<string, unknown> & { position: number };
  },
  after: number,
  options: ChangeStreamOptions = {},
): Promise<void> {
  const pageSize = options.pageSize ?? 100;
  const pollMs = options.pollMs ?? 250;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  let closed = false;
  const onClose = () => (closed = true);
  sink.once('close', onClose);
  let cursor = after;
  let idleSince = Date.now();
  try {
    while (!closed) {
      const page = await deps.list(cursor, pageSize);
      let full = false;
      for (const change of page) {
        full = !sink.write(formatChange(deps.present(change)));
        cursor = change.position;
      }
      if (page.length) idleSince = Date.now();
      if (full && (await waitFor(sink, 'drain', null))) return;
      if (page.length === pageSize) continue;
      if (Date.now() - idleSince >= heartbeatMs) {
        idleSince = Date.now();
        if (!sink.write(': heartbeat\n\n') && (await waitFor(sink, 'drain', null))) return;
      }
      if (await waitFor(sink, null, Math.min(pollMs, heartbeatMs))) return;
    }
  } finally {
    sink.removeListener('close', onClose);
  }
}
