/**
 * A client of the parts of Grafana's HTTP API that `flead init grafana` uses, with idempotent upserts:
 *
 *   GET  /api/health                               ready when 200 and `database` is "ok"
 *   POST /api/datasources                          create; 409 when the name (or uid) exists →
 *   GET  /api/datasources/name/:name (or /uid/:uid) its id → PUT /api/datasources/:id (update);
 *                                                  a read-only (file-provisioned) datasource is left as it is
 *   POST /api/folders                              create; 409/412 when it exists → GET /api/folders/:uid
 *                                                  (or the folder with the same title from GET /api/folders)
 *   GET  /api/dashboards/uid/:uid                  the stored dashboard: unchanged ones are not saved again;
 *                                                  file-provisioned ones are left as they are
 *   POST /api/dashboards/db                        {dashboard, folderUid, overwrite: true, message}
 *
 * Every request is retried with backoff (250 ms doubling up to 4 s) on connection errors, timeouts and 5xx
 * answers (Grafana starting or restarting) until `waitMs` has passed since that request began; any other
 * unexpected answer ends at once with an `InfraError` whose message is one sentence (method, path, status,
 * Grafana's message). Authentication: basic auth, or a service-account token as a Bearer token.
 */
import { InfraError } from '../errors';
import { silentLogger, type Logger } from '../log';
import type { GrafanaAuth } from './settings';

export interface RetryPolicy {
  /** keep retrying one request for up to this long; 0 = try once */
  waitMs: number;
  firstDelayMs: number;
  maxDelayMs: number;
  /** one HTTP exchange gives up after this long (then counts as a retriable failure) */
  requestTimeoutMs: number;
}

export const grafanaRetryDefaults: RetryPolicy = { waitMs: 60_000, firstDelayMs: 250, maxDelayMs: 4000, requestTimeoutMs: 10_000 };

export interface GrafanaResponse { status: number; body: unknown }

export type DatasourceOutcome = 'created' | 'updated' | 'provisioned';
export type FolderOutcome = 'created' | 'exists';
export type DashboardOutcome = 'created' | 'updated' | 'unchanged' | 'provisioned';

/** The datasource body of POST/PUT /api/datasources. */
export interface DatasourceBody {
  name: string;
  uid: string;
  type: string;
  access: 'proxy';
  url: string;
  user: string;
  database: string;
  basicAuth: boolean;
  isDefault: boolean;
  jsonData: Record<string, unknown>;
  secureJsonData: Record<string, string>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const messageOf = (body: unknown): string => {
  if (body && typeof body === 'object' && 'message' in body && typeof (body as { message: unknown }).message === 'string') return (body as { message: string }).message;
  if (typeof body === 'string' && body.trim()) return body.trim().slice(0, 200);
  return '';
};

const reasonOf = (e: unknown): string => {
  const cause = (e as { cause?: { code?: string; message?: string } } | null)?.cause;
  if (cause?.code === 'ECONNREFUSED') return 'connection refused (is Grafana running and listening there?)';
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  if ((e as Error)?.name === 'TimeoutError') return 'no answer within the request timeout';
  const text = e instanceof Error ? e.message : String(e);
  return cause?.message ? `${text}: ${cause.message}` : text; // e.g. fetch's "bad port" for ports it never connects to

};

/** JSON with object keys sorted: equal values give equal texts. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x)
    ? Object.fromEntries(Object.keys(x as object).sort().map((k) => [k, (x as Record<string, unknown>)[k]]))
    : x));
}

export class GrafanaClient {
  private readonly authorization: string;

  constructor(
    readonly url: string,
    auth: GrafanaAuth,
    private readonly policy: RetryPolicy = grafanaRetryDefaults,
    private readonly log: Logger = silentLogger,
  ) {
    this.authorization = auth.kind === 'token' ? `Bearer ${auth.token}` : `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
  }

  /** One request, retried on connection failures and 5xx; any other status is returned. */
  async request(method: string, path: string, body?: unknown): Promise<GrafanaResponse> {
    const until = Date.now() + this.policy.waitMs;
    let delay = this.policy.firstDelayMs;
    for (let attempt = 1; ; attempt++) {
      let failure: string;
      try {
        const res = await fetch(`${this.url}${path}`, {
          method,
          headers: { authorization: this.authorization, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.policy.requestTimeoutMs),
        });
        const text = await res.text();
        let parsed: unknown = text;
        try { parsed = text ? JSON.parse(text) : undefined; } catch { /* not JSON: keep the text */ }
        if (res.status < 500) return { status: res.status, body: parsed };
        failure = `${method} ${path} answered ${res.status}${messageOf(parsed) ? ` (${messageOf(parsed)})` : ''}`;
      } catch (e) {
        failure = reasonOf(e);
      }
      const left = until - Date.now();
      if (left <= 0) {
        throw new InfraError('unavailable', `Grafana at ${this.url} is not available: ${failure}${attempt > 1 ? `; gave up after ${attempt} attempts in ${Math.round(this.policy.waitMs / 1000)} s` : ''}`, true);
      }
      const wait = Math.min(delay, left);
      this.log.warn(`Grafana at ${this.url} is not ready (attempt ${attempt}): ${failure}; retrying in ${(wait / 1000).toFixed(1)} s`);
      await sleep(wait);
      delay = Math.min(delay * 2, this.policy.maxDelayMs);
    }
  }

  /** A sentence-bearing error for an unexpected answer. */
  private unexpected(method: string, path: string, r: GrafanaResponse, doing: string): InfraError {
    const msg = messageOf(r.body);
    const hint = r.status === 401 ? ': check GRAFANA_USER and GRAFANA_PASSWORD (or GRAFANA_TOKEN)'
      : r.status === 403 ? ': the user needs the Admin role in the organisation' : '';
    return new InfraError(r.status === 409 || r.status === 412 ? 'conflict' : 'unavailable',
      `Grafana at ${this.url} refused to ${doing}: ${method} ${path} answered ${r.status}${msg ? ` (${msg})` : ''}${hint}`, false);
  }

  /** Wait until GET /api/health answers 200 with database "ok" (within the retry budget). Returns the version. */
  async waitHealthy(): Promise<string> {
    const until = Date.now() + this.policy.waitMs;
    let delay = this.policy.firstDelayMs;
    for (let attempt = 1; ; attempt++) {
      const r = await this.request('GET', '/api/health');
      const body = (r.body ?? {}) as { database?: string; version?: string };
      if (r.status === 200 && body.database === 'ok') return body.version ?? 'unknown';
      const state = r.status === 200 ? `its database is "${body.database ?? '?'}"` : `GET /api/health answered ${r.status}`;
      const left = until - Date.now();
      if (left <= 0) throw new InfraError('unavailable', `Grafana at ${this.url} is not healthy: ${state}; gave up after ${attempt} attempts in ${Math.round(this.policy.waitMs / 1000)} s`, true);
      this.log.warn(`Grafana at ${this.url} is not healthy yet (attempt ${attempt}): ${state}; retrying in ${(Math.min(delay, left) / 1000).toFixed(1)} s`);
      await sleep(Math.min(delay, left));
      delay = Math.min(delay * 2, this.policy.maxDelayMs);
    }
  }

  async upsertDatasource(ds: DatasourceBody): Promise<DatasourceOutcome> {
    const created = await this.request('POST', '/api/datasources', ds);
    if (created.status === 200) return 'created';
    if (created.status !== 409) throw this.unexpected('POST', '/api/datasources', created, `create the datasource "${ds.name}"`);
    let existing = await this.request('GET', `/api/datasources/name/${encodeURIComponent(ds.name)}`);
    if (existing.status === 404) existing = await this.request('GET', `/api/datasources/uid/${encodeURIComponent(ds.uid)}`);
    if (existing.status !== 200) throw this.unexpected('GET', `/api/datasources/name/${encodeURIComponent(ds.name)}`, existing, `look up the existing datasource "${ds.name}"`);
    const found = existing.body as { id?: number; uid?: string; readOnly?: boolean };
    if (found.readOnly) {
      this.log.info(`datasource "${ds.name}" is provisioned from files (read-only): left as it is`);
      return 'provisioned';
    }
    if (typeof found.id !== 'number') throw new InfraError('corrupt', `Grafana at ${this.url} returned datasource "${ds.name}" without a numeric id`, false);
    if (found.uid && found.uid !== ds.uid) {
      throw new InfraError('conflict', `Grafana at ${this.url} already has a datasource named "${ds.name}" with uid "${found.uid}", not "${ds.uid}": rename or delete it, then run flead init grafana again`, false);
    }
    const path = `/api/datasources/${found.id}`;
    const updated = await this.request('PUT', path, ds);
    if (updated.status !== 200) throw this.unexpected('PUT', path, updated, `update the datasource "${ds.name}"`);
    return 'updated';
  }

  /** Make sure the folder exists; returns the uid to use (the existing folder's when the title was taken). */
  async ensureFolder(folder: { uid: string; title: string }): Promise<{ uid: string; outcome: FolderOutcome }> {
    const created = await this.request('POST', '/api/folders', folder);
    if (created.status === 200) return { uid: folder.uid, outcome: 'created' };
    if (created.status !== 409 && created.status !== 412 && created.status !== 400) throw this.unexpected('POST', '/api/folders', created, `create the folder "${folder.title}"`);
    const byUid = await this.request('GET', `/api/folders/${encodeURIComponent(folder.uid)}`);
    if (byUid.status === 200) return { uid: folder.uid, outcome: 'exists' };
    const all = await this.request('GET', '/api/folders?limit=1000');
    const same = Array.isArray(all.body) ? (all.body as Array<{ uid?: string; title?: string }>).find((f) => f.title === folder.title && typeof f.uid === 'string') : undefined;
    if (same) return { uid: same.uid!, outcome: 'exists' };
    throw this.unexpected('POST', '/api/folders', created, `create the folder "${folder.title}"`);
  }

  /** Save the dashboard into the folder unless Grafana already holds exactly it there. */
  async upsertDashboard(dashboard: { uid: string; title: string } & Record<string, unknown>, folderUid: string): Promise<DashboardOutcome> {
    const getPath = `/api/dashboards/uid/${encodeURIComponent(dashboard.uid)}`;
    const current = await this.request('GET', getPath);
    if (current.status !== 200 && current.status !== 404) throw this.unexpected('GET', getPath, current, `read the dashboard "${dashboard.title}"`);
    if (current.status === 200) {
      const { dashboard: stored, meta } = (current.body ?? {}) as { dashboard?: Record<string, unknown>; meta?: { folderUid?: string; provisioned?: boolean } };
      if (meta?.provisioned) {
        this.log.info(`dashboard "${dashboard.title}" is provisioned from files: left as it is`);
        return 'provisioned';
      }
      const strip = (d: Record<string, unknown> | undefined) => {
        const { id: _id, version: _version, ...rest } = d ?? {};
        return canonicalJson(rest);
      };
      if (strip(stored) === strip(dashboard) && (meta?.folderUid ?? '') === folderUid) return 'unchanged';
    }
    const saved = await this.request('POST', '/api/dashboards/db', { dashboard: { ...dashboard, id: null }, folderUid, overwrite: true, message: 'flead init grafana' });
    if (saved.status !== 200) throw this.unexpected('POST', '/api/dashboards/db', saved, `save the dashboard "${dashboard.title}"`);
    return current.status === 404 ? 'created' : 'updated';
  }
}
