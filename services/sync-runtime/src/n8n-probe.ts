/**
 * Probes the n8n API on a schedule and sets the `data_sync_n8n_up` gauge, so the N8nDown alert
 * reflects n8n's state instead of whether someone happened to call GET /health/n8n.
 */
import type { Logger } from 'pino';

/** Between probes: N8nDown waits 2 minutes, so a down n8n is seen in at least four probes first. */
export const N8N_PROBE_INTERVAL_MS = 30_000;

export interface N8nProbeOptions {
  /** Resolves when n8n's API answers, rejects otherwise (the n8n client's `ping`). */
  readonly ping: () => Promise<void>;
  /** The `data_sync_n8n_up` gauge. */
  readonly gauge: { set(value: number): void };
  readonly logger: Pick<Logger, 'warn' | 'info'>;
  /** Time between two probes; default N8N_PROBE_INTERVAL_MS. */
  readonly intervalMs?: number;
}

export interface N8nProbe {
  /** Runs one probe now (or joins the one in flight); resolves with the gauge value it set. */
  probe(): Promise<0 | 1>;
  /** Stops the timer; a probe in flight still settles but no longer sets the gauge. */
  stop(): void;
}

/** Starts probing at once, then every `intervalMs`; the timer never keeps the process alive. */
export function startN8nProbe(options: N8nProbeOptions): N8nProbe {
  let stopped = false;
  let inFlight: Promise<0 | 1> | null = null;
  let last: 0 | 1 | undefined;
  const probe = (): Promise<0 | 1> => {
    inFlight ??= options
      .ping()
      .then(
        () => 1 as const,
        (error: unknown) => {
          // Log the transition only: a down n8n probed every 30 s would flood the log.
          if (last !== 0 && !stopped) options.logger.warn({ err: error }, 'n8n probe failed: data_sync_n8n_up=0');
          return 0 as const;
        },
      )
      .then((up) => {
        if (!stopped) {
          if (up === 1 && last === 0) options.logger.info('n8n probe succeeded again: data_sync_n8n_up=1');
          options.gauge.set(up);
          last = up;
        }
        inFlight = null;
        return up;
      });
    return inFlight;
  };
  const timer = setInterval(() => void probe(), options.intervalMs ?? N8N_PROBE_INTERVAL_MS);
  timer.unref();
  void probe();
  return {
    probe,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
