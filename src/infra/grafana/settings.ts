/**
 * Where Grafana is and how the FLEAD datasource reaches PostgreSQL, from the environment:
 *
 *   GRAFANA_URL       http://127.0.0.1:3001   Grafana's base URL (the seed publishes its port 3000 on 3001)
 *   GRAFANA_USER      admin                   basic-auth user (an Admin of the organisation)
 *   GRAFANA_PASSWORD  admin                   basic-auth password
 *   GRAFANA_TOKEN     (empty)                 a service-account token; when set it is used instead of basic auth
 *   GRAFANA_PG_HOST   (empty)                 host[:port] of PostgreSQL as Grafana's server sees it (in compose:
 *                                             timescaledb:5432); default PGHOST:PGPORT, as flead sees it
 *
 * The datasource's database, user and password are PGDATABASE, PGUSER and PGPASSWORD (src/infra/db/pg.ts).
 */
import { isLeft, left, right, type Either } from 'fp-ts/Either';
import { pgSettingsFromEnv, type PgSettings } from '../db/pg';

export const grafanaDefaults = {
  GRAFANA_URL: 'http://127.0.0.1:3001',
  GRAFANA_USER: 'admin',
  GRAFANA_PASSWORD: 'admin',
  GRAFANA_TOKEN: '',
  GRAFANA_PG_HOST: '',
} as const;
export type GrafanaEnvName = keyof typeof grafanaDefaults;

export type GrafanaAuth = { kind: 'basic'; user: string; password: string } | { kind: 'token'; token: string };

export interface GrafanaSettings {
  /** base URL without a trailing slash */
  url: string;
  auth: GrafanaAuth;
  /** the datasource's connection: host:port as Grafana's server reaches PostgreSQL */
  pgHostPort: string;
  pg: PgSettings;
}

/** Read GRAFANA_* and PG*; Left is a sentence naming the bad variable. Empty values count as unset. */
export function grafanaSettingsFromEnv(env: Record<string, string | undefined> = process.env): Either<string, GrafanaSettings> {
  const get = (n: GrafanaEnvName): string => {
    const v = env[n];
    return v === undefined || v === '' ? grafanaDefaults[n] : v;
  };
  const pg = pgSettingsFromEnv(env);
  if (isLeft(pg)) return pg;
  const rawUrl = get('GRAFANA_URL');
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return left(`GRAFANA_URL must be an absolute http(s) URL such as http://127.0.0.1:3001, got "${rawUrl}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return left(`GRAFANA_URL must use http or https, got "${rawUrl}"`);
  const pgHost = get('GRAFANA_PG_HOST');
  if (pgHost && !/^[^\s:/]+(:\d{1,5})?$/.test(pgHost)) return left(`GRAFANA_PG_HOST must be host or host:port (PostgreSQL as Grafana's server reaches it), got "${pgHost}"`);
  const pgHostPort = pgHost ? (pgHost.includes(':') ? pgHost : `${pgHost}:5432`) : `${pg.right.host}:${pg.right.port}`;
  const token = get('GRAFANA_TOKEN');
  const auth: GrafanaAuth = token ? { kind: 'token', token } : { kind: 'basic', user: get('GRAFANA_USER'), password: get('GRAFANA_PASSWORD') };
  return right({ url: url.toString().replace(/\/+$/, ''), auth, pgHostPort, pg: pg.right });
}

/** "admin@http://127.0.0.1:3001" or "token@http://…" (never a secret) */
export const describeGrafana = (s: Pick<GrafanaSettings, 'url' | 'auth'>): string => `${s.auth.kind === 'basic' ? s.auth.user : 'token'}@${s.url}`;
