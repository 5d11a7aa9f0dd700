import type { ZodType } from 'zod';
import { IntegrationError } from '../../connector';

/** Parses a connector config; a bad one is an invalid_config error naming each offending field. */
export function parseConfig<T>(integration: string, schema: ZodType<T, any, any>, config: unknown): T {
  const result = schema.safeParse(config);
  if (result.success) return result.data;
  const problems = result.error.issues
    .map((issue) => `${issue.path.join('.') || '(config)'}: ${issue.message}`)
    .join('; ');
  throw new IntegrationError(integration, 'invalid_config', `invalid config: ${problems}`);
}
