/** What every command gets: where to print, the environment, and the API client (from the login config). */
import type { Client } from './client';
import type { Io } from './output';

export interface Context {
  readonly io: Io;
  readonly env: NodeJS.ProcessEnv;
  /** Reads the config file (or DATA_SYNC_URL/DATA_SYNC_TOKEN) on first use: `login` needs none. */
  client(): Client;
  /** The token when `login` is given none: read from stdin (a prompt without echo on a terminal). */
  readToken(): Promise<string>;
}
