/** What the pull and push jobs share about a run's outcome (the run rows are store/runs-repository.ts). */
import { IntegrationError } from '@data-sync/integrations/connector';

/** Connector errors that a retry cannot fix: the run fails and the job is not retried. */
export const PERMANENT: ReadonlySet<IntegrationError['kind']> = new Set(['auth', 'invalid_config']);

/** Another delivery of the same run moved the cursor first: this page is dropped and the cursor read again. */
export class CursorMoved extends Error {}

/** Another delivery of the same run finished it: this one stops without writing. */
export class RunFinished extends Error {}

/** A clear, one-line reason for a failed run. */
export function describeError(error: unknown): string {
  if (error instanceof IntegrationError)
    return `${error.kind}${error.status ? ` (HTTP ${error.status})` : ''}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
