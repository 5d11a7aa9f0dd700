/**
 * The Node.js major version the runtime is deployed on: the image's base (Dockerfile), the Lambda
 * runtime and CI's Node all follow it, and test/ci checks they agree. Node 24 is the LTS line every
 * platform supports until 2028; Lambda blocks creating and updating nodejs20.x functions since the
 * second half of 2026, so an older major would stop `cdktf deploy`.
 */
export const RUNTIME_NODE_MAJOR = 24;

/** The Lambda runtime identifier for RUNTIME_NODE_MAJOR. */
export const LAMBDA_NODE_RUNTIME = `nodejs${RUNTIME_NODE_MAJOR}.x`;

/** The Lambda worker's memory (MiB): the stacks' size, and the one the build makes the worker's code cache for. */
export const LAMBDA_MEMORY_MB = 1024;

/**
 * The options Lambda's Node bootstrap starts the runtime with for a function of `memoryMb` MiB: a tenth of
 * the memory as new space (half of it per semi-space), the rest as old space. V8 takes its code cache only
 * under the same flags, so the build and the boot test start Node with exactly these.
 */
export function lambdaNodeArgs(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [
    '--expose-gc',
    '--max-http-header-size',
    '81920',
    `--max-semi-space-size=${Math.floor(newSpace / 2)}`,
    `--max-old-space-size=${memoryMb - newSpace}`,
  ];
}
