/**
 * Fastify's own schema compilers (ajv for requests, fast-json-stringify for responses), each route's
 * schema compiled on its route's first request instead of at start-up. Compiling every route's schemas
 * (and ajv's meta-schema) was about a third of the time from start to ready, and most routes of a
 * deployment (admin, compliance, docs) are seldom called; the first call of a route pays its few ms.
 */
import ValidatorSelector, { type ValidatorCompiler } from '@fastify/ajv-compiler';
import SerializerSelector, { type SerializerCompiler } from '@fastify/fast-json-stringify-compiler';

type Validate = ReturnType<ValidatorCompiler>;
type Serialize = ReturnType<SerializerCompiler>;

/** `build()` on the first call, then its result. */
function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}

/** Fastify's `schemaController.compilersFactory` with lazily compiled schemas. */
export function lazyCompilers() {
  const buildValidator = ValidatorSelector();
  const buildSerializer = SerializerSelector();
  return {
    buildValidator(...pool: Parameters<typeof buildValidator>): ValidatorCompiler {
      const compiler = once(() => buildValidator(...pool));
      return (route) => {
        const compiled = once(() => compiler()(route));
        // Fastify reads a failed check's messages from the function's `errors`, as ajv leaves them.
        const check = ((data: unknown) => {
          const validate = compiled();
          const valid = validate(data);
          check.errors = validate.errors;
          return valid;
        }) as Validate;
        return check;
      };
    },
    buildSerializer(...pool: Parameters<typeof buildSerializer>): SerializerCompiler {
      const compiler = once(() => buildSerializer(...pool));
      return (route) => {
        const compiled = once(() => compiler()(route));
        return ((data: unknown) => compiled()(data)) as Serialize;
      };
    },
  };
}
