/** JSON-schema fragments shared by the routes (plain JSON schema: Fastify validates with ajv and documents with OpenAPI). */
export const ERR = { $ref: 'Error#' } as const;
/** Every route's error answers share one shape. */
export const errorResponses = { '4xx': ERR, '5xx': ERR } as const;

export const NAME_PATTERN = '^[a-z][a-z0-9_]{0,62}$';
export const integrationNameParam = {
  type: 'object',
  required: ['integration'],
  additionalProperties: false,
  properties: { integration: { type: 'string', pattern: NAME_PATTERN, description: 'integration name' } },
} as const;
export const idParam = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' } },
} as const;

export const paging = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  offset: { type: 'integer', minimum: 0, maximum: 1_000_000_000, default: 0 },
} as const;

/** An object whose fields are free-form (engine and vendor records). */
export const anyObject = { type: 'object', additionalProperties: true } as const;
