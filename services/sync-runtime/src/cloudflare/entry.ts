/** The deployed Worker (dist/runtime/cloudflare.js): the handlers over the runtime core, and the RateLimiter class. */
import { createWorker } from './worker';
import { runtimeCore } from './runtime-core';

export default createWorker(runtimeCore);
export { RateLimiter } from './rate-limiter';
