/**
 * The Node.js major version the runtime is deployed on: the image's base (Dockerfile), the Lambda
 * runtime and CI's Node all follow it, and test/ci checks they agree. Node 24 is the LTS line every
 * platform supports until 2028; Lambda blocks creating and updating nodejs20.x functions since the
 * second half of 2026, so an older major would stop `cdktf deploy`.
 */
export const RUNTIME_NODE_MAJOR = 24;

/** The Lambda runtime identifier for RUNTIME_NODE_MAJOR. */
export const LAMBDA_NODE_RUNTIME = `nodejs${RUNTIME_NODE_MAJOR}.x`;
