/** The API's one error shape, `{ error, message, details }`, and the mapping of Fastify's own errors onto it. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    /** A stable machine-readable code (snake_case). */
    readonly error: string,
    message: string,
    readonly details: unknown = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string, id: string) =>
  new ApiError(404, 'not_found', `${what} "${id}" does not exist`, { [what]: id });

export interface ErrorBody {
  error: string;
  message: string;
  details: unknown;
}

/** JSON schema of the error body, referenced by every route's 4xx/5xx responses. */
export const ERROR_SCHEMA = {
  $id: 'Error',
  type: 'object',
  required: ['error', 'message', 'details'],
  properties: { error: { type: 'string' }, message: { type: 'string' }, details: {} },
} as const;

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'body_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_content_length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'empty_body',
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_BAD_URL: 'bad_url',
  FST_ERR_ASYNC_CONSTRAINT: 'bad_request',
};

/** SQLSTATEs of text PostgreSQL cannot store: untranslatable_character, character_not_in_repertoire. */
const UNSTORABLE_TEXT = new Set(['22P05', '22021']);

/** Turns any thrown value into a status and body; 5xx only for what is not the client's fault. */
export function toErrorBody(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof ApiError)
    return { status: error.statusCode, body: { error: error.error, message: error.message, details: error.details } };
  const e = error as Partial<FastifyError> & { validation?: unknown; validationContext?: string };
  if (e && Array.isArray(e.validation)) {
    return {
      status: 400,
      body: {
        error: 'validation_failed',
        message: e.message ?? 'request does not match the schema',
        details: (e.validation as { instancePath?: string; message?: string; params?: unknown }[]).map((v) => ({
          in: e.validationContext ?? 'body',
          path: v.instancePath ?? '',
          message: v.message ?? 'invalid',
          params: v.params ?? {},
        })),
      },
    };
  }
  // PostgreSQL refuses text it cannot store (the NUL character, invalid encodings): the client's data, not a fault.
  if (UNSTORABLE_TEXT.has((error as { code?: unknown })?.code as string)) {
    return {
      status: 400,
      body: {
        error: 'unstorable_text',
        message: 'the request holds text the database cannot store (such as the NUL character \\u0000)',
        details: null,
      },
    };
  }
  if (e && e instanceof SyntaxError)
    return {
      status: 400,
      body: { error: 'malformed_json', message: `malformed JSON body: ${e.message}`, details: null },
    };
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) {
    const code =
      (e.code && FASTIFY_CODES[e.code]) ??
      (status === 429
        ? 'rate_limited'
        : status === 413
          ? 'body_too_large'
          : status === 415
            ? 'unsupported_media_type'
            : 'bad_request');
    return { status, body: { error: code, message: e.message ?? 'bad request', details: null } };
  }
  return {
    status: status >= 500 && status < 600 ? status : 500,
    body: {
      error: 'internal_error',
      message: 'internal error: the failure is logged with the request id',
      details: null,
    },
  };
}

export function errorHandler(this: unknown, error: unknown, request: FastifyRequest, reply: FastifyReply) {
  const { status, body } = toErrorBody(error);
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ status, error: body.error }, body.message);
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}
