/**
 * The runtime's pino logger. Secrets never reach the log: tokens and keys are redacted by path, and
 * request URLs are logged without their query string (some vendors put a webhook secret there).
 */
import pino, { DestinationStream, Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-n8n-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'password',
  '*.password',
  'secret',
  '*.secret',
  'clientSecret',
  '*.clientSecret',
  'config',
  '*.config',
  'credentials',
  '*.credentials',
  'encryptionKey',
  '*.encryptionKey',
];

const pathOnly = (url: string | undefined) => (url ?? '').split('?')[0];

export function createLogger(options: { level: string; destination?: DestinationStream; name?: string }): Logger {
  return pino(
    {
      level: options.level,
      name: options.name ?? 'data-sync',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req: {
          method?: string;
          url?: string;
          id?: string;
          ip?: string;
          socket?: { remoteAddress?: string };
        }) => ({
          id: req.id,
          method: req.method,
          url: pathOnly(req.url),
          remoteAddress: req.ip ?? req.socket?.remoteAddress,
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    options.destination,
  );
}
