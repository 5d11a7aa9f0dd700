import { App } from 'cdktf';
import { ContextError, parseContext, readRawContext, resolveSettings } from '@data-sync/config';
import { STACK_FACTORIES } from './stacks';
import type { DataSyncStack } from './stacks/data-sync-stack';

export interface BuildOptions {
  /** Raw context; default: read from CDKTF_CONTEXT_JSON and DATA_SYNC_* variables. */
  readonly context?: Record<string, unknown>;
  /** Where stacks are written; default: CDKTF_OUTDIR or `cdktf.out`. */
  readonly outdir?: string;
}

/** Builds the app: one stack per selected cloud and environment. Throws ContextError on bad context. */
export function buildApp(options: BuildOptions = {}): { app: App; stacks: DataSyncStack[] } {
  const raw = options.context ?? readRawContext();
  const context = parseContext(raw);
  const missing = context.clouds.filter((cloud) => !STACK_FACTORIES[cloud]);
  if (raw.clouds !== undefined && missing.length > 0) {
    throw new ContextError(`Invalid context value clouds: no stack exists yet for ${missing.join(', ')}`);
  }
  const app = new App({ outdir: options.outdir ?? process.env.CDKTF_OUTDIR ?? 'cdktf.out', skipValidation: true });
  const stacks: DataSyncStack[] = [];
  for (const environment of context.environments) {
    for (const cloud of context.clouds) {
      const factory = STACK_FACTORIES[cloud];
      if (factory) stacks.push(factory(app, resolveSettings(cloud, environment, context), context.stackOptions));
    }
  }
  return { app, stacks };
}
