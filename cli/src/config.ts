/**
 * Where `data-sync login` keeps the runtime's URL and API token: a JSON file only its owner can read
 * (mode 0600, in a 0700 folder). DATA_SYNC_URL and DATA_SYNC_TOKEN, when set, take precedence.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CliError } from './errors';

export interface CliConfig {
  readonly url: string;
  readonly token: string;
}

/** DATA_SYNC_CONFIG, else $XDG_CONFIG_HOME/data-sync/config.json, else ~/.config/data-sync/config.json. */
export function configPath(env: NodeJS.ProcessEnv): string {
  if (env.DATA_SYNC_CONFIG) return env.DATA_SYNC_CONFIG;
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'data-sync', 'config.json');
}

export function saveConfig(file: string, config: CliConfig): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Written to a private temporary file and renamed: the token is never readable by others, even briefly.
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  fs.chmodSync(temporary, 0o600);
  fs.renameSync(temporary, file);
}

export function loadConfig(env: NodeJS.ProcessEnv): CliConfig {
  const file = configPath(env);
  let stored: Partial<CliConfig> = {};
  if (fs.existsSync(file)) {
    try {
      stored = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<CliConfig>;
    } catch (error) {
      throw new CliError(`${file} is not valid JSON (${(error as Error).message}); run data-sync login again`);
    }
  }
  const url = env.DATA_SYNC_URL || stored.url;
  const token = env.DATA_SYNC_TOKEN || stored.token;
  if (!url || !token) {
    throw new CliError(
      `not logged in: run "data-sync login <url>" (or set DATA_SYNC_URL and DATA_SYNC_TOKEN); looked in ${file}`,
    );
  }
  return { url: normalizeUrl(url), token };
}

export function normalizeUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new CliError(`"${value}" is not a URL: give the runtime's base URL, e.g. http://127.0.0.1:3000`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new CliError(`"${value}" is not an http(s) URL`);
  return url.toString().replace(/\/+$/, '');
}
