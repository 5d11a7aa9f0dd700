import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { N8N_IMAGE } from '../../constructs/generic/workload';
import { CONFIG_VARIABLES, loadConfig } from '@data-sync/sync-runtime/src/config';
import { ROOT, envOf, lastOf, readDockerfile } from '../support/runtime-image';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  configs?: { source: string; target: string }[];
  healthcheck?: { test: string[] };
}
interface Compose {
  services: Record<string, Service>;
  configs?: Record<string, { content: string }>;
}

const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as Compose;
const { runtime, n8n, postgresql, redis } = compose.services;

/** Compose's interpolation of the forms the file uses: `${VAR:-default}` and `${VAR:+replacement}`. */
function interpolate(value: string, shell: Record<string, string>): string {
  return value.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(:-|:\+)?([^}]*)\}/g,
    (_, name: string, op: string | undefined, word: string) => {
      const set = shell[name] !== undefined && shell[name] !== '';
      if (op === ':+') return set ? word : '';
      if (op === ':-') return set ? shell[name] : word;
      return shell[name] ?? '';
    },
  );
}
const runtimeEnv = (shell: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(runtime.environment!).map(([k, v]) => [k, interpolate(String(v), shell)]));
/** Container port of a `host-ip:host-port:container-port` mapping, and the host address. */
const published = (service: Service) =>
  service.ports!.map((p) => {
    const [ip, host, container] = p.split(':');
    return { ip, host: Number(host), container: Number(container) };
  });

describe('docker-compose.yml (local development)', () => {
  test('the runtime, n8n, PostgreSQL and Redis, every port on loopback only', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['n8n', 'postgresql', 'redis', 'runtime']);
    for (const [name, service] of Object.entries(compose.services))
      for (const p of published(service)) expect([name, p.ip]).toEqual([name, '127.0.0.1']);
  });

  test('the runtime is built from the repository Dockerfile and listens on the port it publishes', () => {
    expect(runtime.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
    expect(fs.existsSync(path.join(ROOT, runtime.build!.context, runtime.build!.dockerfile))).toBe(true);
    const stages = readDockerfile();
    const imageEnv = envOf(stages[stages.length - 1]);
    const config = loadConfig({ ...imageEnv, ...runtimeEnv() });
    expect(published(runtime).map((p) => p.container)).toEqual([config.port]);
    expect(lastOf(stages[stages.length - 1], 'EXPOSE')).toBe(String(config.port));
    expect(config.host).toBe('0.0.0.0');
  });

  test('every runtime variable is one the configuration reads, and the configuration accepts them with and without an n8n key', () => {
    for (const name of Object.keys(runtime.environment!))
      expect([name, CONFIG_VARIABLES.includes(name)]).toEqual([name, true]);
    const withoutKey = loadConfig(runtimeEnv());
    expect(withoutKey).toMatchObject({ queue: 'redis', n8nUrl: undefined, n8nApiKey: undefined });
    expect(withoutKey.encryptionKeys).toHaveLength(1);
    const withKey = loadConfig(runtimeEnv({ N8N_API_KEY: 'n8n_api_local' }));
    expect(withKey).toMatchObject({ n8nUrl: 'http://n8n:5678', n8nApiKey: 'n8n_api_local' });
  });

  test('the runtime reaches each service by its compose name, on the port that service listens on, with its credentials', () => {
    const config = loadConfig(runtimeEnv({ N8N_API_KEY: 'k' }));
    const database = new URL(config.databaseUrl!);
    const pg = postgresql.environment!;
    expect([database.hostname, database.port, database.username, database.password, database.pathname]).toEqual([
      'postgresql',
      '5432',
      pg.POSTGRES_USER,
      pg.POSTGRES_PASSWORD,
      `/${pg.POSTGRES_DB}`,
    ]);
    expect(published(postgresql).map((p) => p.container)).toEqual([5432]);
    const redisUrl = new URL(config.redisUrl!);
    expect([redisUrl.hostname, redisUrl.port]).toEqual(['redis', '6379']);
    expect(published(redis).map((p) => p.container)).toEqual([6379]);
    const n8nUrl = new URL(config.n8nUrl!);
    expect([n8nUrl.hostname, n8nUrl.port]).toEqual(['n8n', n8n.environment!.N8N_PORT]);
    expect(published(n8n).map((p) => String(p.container))).toEqual([n8n.environment!.N8N_PORT]);
    expect(Object.keys(runtime.depends_on!).sort()).toEqual(['postgresql', 'redis']);
    for (const dependency of Object.values(runtime.depends_on!)) expect(dependency.condition).toBe('service_healthy');
    expect(postgresql.healthcheck && redis.healthcheck).toBeTruthy();
  });

  test('n8n runs the image the stacks deploy, on its own database of the same PostgreSQL', () => {
    expect(n8n.image).toBe(N8N_IMAGE);
    const env = n8n.environment!;
    const pg = postgresql.environment!;
    expect(env).toMatchObject({
      DB_TYPE: 'postgresdb',
      DB_POSTGRESDB_HOST: 'postgresql',
      DB_POSTGRESDB_PORT: '5432',
      DB_POSTGRESDB_USER: pg.POSTGRES_USER,
      DB_POSTGRESDB_PASSWORD: pg.POSTGRES_PASSWORD,
    });
    const init = postgresql.configs!.find((c) => c.target.startsWith('/docker-entrypoint-initdb.d/'))!;
    expect(compose.configs![init.source].content).toContain(`CREATE DATABASE ${env.DB_POSTGRESDB_DATABASE};`);
  });

  test("the interpolation the test applies is compose's: an unset key leaves N8N_URL empty, which the runtime reads as unset", () => {
    expect(interpolate('${N8N_API_KEY:+http://n8n:5678}', {})).toBe('');
    expect(interpolate('${N8N_API_KEY:+http://n8n:5678}', { N8N_API_KEY: 'k' })).toBe('http://n8n:5678');
    expect(interpolate('${X:-d}', { X: '' })).toBe('d');
  });
});
