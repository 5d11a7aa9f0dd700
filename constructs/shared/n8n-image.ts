/**
 * The one n8n version every cloud runs, and the test tier installs (`npm run test:n8n`). Pinned: n8n's
 * database migrations are one-way, and its CLI and node parameters are checked against this version.
 */
export const N8N_VERSION = '2.41.1';
/** n8n's official image at N8N_VERSION. */
export const N8N_IMAGE = `docker.n8n.io/n8nio/n8n:${N8N_VERSION}`;
