/**
 * The inspection endpoint: a read-only JSON HTTP server on node:http. Handlers read projections (never an
 * actor's private state) and return a JSON-able value, or `undefined` for "not found".
 *
 *   GET/HEAD only            any other method → 405, `Allow: GET, HEAD`
 *   unknown path             404 {"error":"no such path /x; known: /health, /actors, ..."}
 *   handler → undefined      404 {"error":"no actor at path aggregator/round-9"} (or the route's `notFound`)
 *   handler throws/rejects   500 {"error":"<message>"}; logged, and the server keeps serving
 *   malformed %-encoding     400
 *
 * Bodies are `application/json; charset=utf-8`, pretty-printed with 2 spaces, ending in a newline; bigints
 * are written as strings; a handler that returns a `TextBody` (e.g. /metrics, Prometheus text) is served as is
 * with its content type. Patterns: '/health' (static), '/models/:version' (one segment), '/actors/*path' (the
 * rest of the path, slashes included, at least one character); each captured value is URL-decoded.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger, type Logger } from '../log';
import { InfraError } from '../errors';

export interface InspectionRoute {
  /** '/health', '/models/:version', '/actors/*path' */
  pattern: string;
  /** `undefined` (or a promise of it) means "not found" → 404. */
  handler: (params: Record<string, string>, query: URLSearchParams) => unknown | undefined | Promise<unknown | undefined>;
  /** The 404 reason when the handler returns undefined; default "no actor at path …" / "no model with version …". */
  notFound?: (params: Record<string, string>) => string;
}

/** A non-JSON response body (its text and content type), e.g. the Prometheus text of /metrics. */
export class TextBody {
  constructor(readonly text: string, readonly contentType = 'text/plain; charset=utf-8') {}
}

export interface InspectionServerOptions {
  /** default '127.0.0.1' (loopback only) */
  host?: string;
  /** 0 = an ephemeral port chosen by the OS */
  port: number;
  routes: InspectionRoute[];
  /** handler failures (500s) are logged here; default: silent */
  log?: Logger;
}

export interface InspectionServer {
  /** 'http://127.0.0.1:41234', no trailing slash */
  url: string;
  port: number;
  /** Stops listening and closes open (keep-alive) connections. */
  close(): Promise<void>;
}

export const inspectionDefaults = { host: '127.0.0.1', log: silentLogger } as const;

const ALLOW = 'GET, HEAD';

interface CompiledRoute {
  route: InspectionRoute;
  /** static segments as strings, ':name' as { param }, '*name' (last only) as { rest } */
  segments: Array<string | { param: string } | { rest: string }>;
}

/** Throws (a bug in the caller) on a malformed pattern. */
function compile(route: InspectionRoute): CompiledRoute {
  const { pattern } = route;
  if (!pattern.startsWith('/')) throw new Error(`inspection route "${pattern}" must start with "/"`);
  const parts = pattern.split('/').slice(1).filter((p, i, all) => p !== '' || i < all.length - 1);
  const seen = new Set<string>();
  const segments = parts.map((p, i): CompiledRoute['segments'][number] => {
    if (p.startsWith(':') || p.startsWith('*')) {
      const name = p.slice(1);
      if (!name) throw new Error(`inspection route "${pattern}": a parameter needs a name`);
      if (seen.has(name)) throw new Error(`inspection route "${pattern}": parameter "${name}" appears twice`);
      seen.add(name);
      if (p.startsWith('*')) {
        if (i !== parts.length - 1) throw new Error(`inspection route "${pattern}": "*${name}" must be the last segment`);
        return { rest: name };
      }
      return { param: name };
    }
    return p;
  });
  return { route, segments };
}

class MalformedPath extends Error {}

const decode = (s: string): string => {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new MalformedPath(`malformed percent-encoding in path segment "${s}"`);
  }
};

/** Params when `path` (still percent-encoded, no query) matches, else undefined. */
function match(compiled: CompiledRoute, path: string): Record<string, string> | undefined {
  const parts = path === '/' ? [] : path.replace(/\/+$/, '').split('/').slice(1);
  const params: Record<string, string> = {};
  const { segments } = compiled;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (typeof seg === 'object' && 'rest' in seg) {
      const rest = parts.slice(i).join('/');
      if (rest === '') return undefined;
      params[seg.rest] = decode(rest);
      return params;
    }
    const part = parts[i];
    if (part === undefined) return undefined;
    if (typeof seg === 'string') {
      if (decode(part) !== seg) return undefined;
    } else {
      if (part === '') return undefined;
      params[seg.param] = decode(part);
    }
  }
  return parts.length === segments.length ? params : undefined;
}

/**
 * The request target's path (repeated slashes collapsed, so `$URL/` + `/devices` still finds /devices) and query.
 * Not `new URL(target, base)` alone: it reads an origin-form `//devices` as a host name and leaves the path "/".
 */
function requestUrl(target: string): URL {
  if (!target.startsWith('/')) return new URL(target, 'http://inspection.invalid'); // absolute-form
  const url = new URL('http://inspection.invalid');
  const q = target.indexOf('?');
  url.pathname = (q < 0 ? target : target.slice(0, q)).replace(/\/{2,}/g, '/');
  if (q >= 0) url.search = target.slice(q);
  return url;
}

/** "no actor at path aggregator/round-9", "no model with version 7", "nothing at /health". */
function defaultNotFound(compiled: CompiledRoute, params: Record<string, string>, path: string): string {
  const dynamic = compiled.segments.findIndex((s) => typeof s !== 'string');
  if (dynamic < 0) return `nothing at ${path}`;
  const before = compiled.segments.slice(0, dynamic).filter((s): s is string => typeof s === 'string');
  const collection = before[before.length - 1];
  const noun = collection ? singular(collection) : 'resource';
  const named = compiled.segments
    .filter((s): s is { param: string } | { rest: string } => typeof s !== 'string')
    .map((s) => ('rest' in s ? s.rest : s.param))
    .map((name) => `${name === 'path' ? 'at' : 'with'} ${name} ${params[name]}`);
  return `no ${noun} ${named.join(' and ')}`;
}

const singular = (w: string): string => (w.endsWith('ies') ? `${w.slice(0, -3)}y` : w.endsWith('s') ? w.slice(0, -1) : w);

/** JSON text as served: 2-space indent, bigints as strings, trailing newline. */
export function toJsonBody(value: unknown): string {
  return `${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;
}

export async function startInspectionServer(opts: InspectionServerOptions): Promise<InspectionServer> {
  const host = opts.host ?? inspectionDefaults.host;
  const log = opts.log ?? inspectionDefaults.log;
  const compiled = opts.routes.map(compile);
  const known = opts.routes.map((r) => r.pattern).join(', ');

  const sendBody = (req: IncomingMessage, res: ServerResponse, status: number, json: string, headers: Record<string, string> = {}, contentType = 'application/json; charset=utf-8') => {
    const body = Buffer.from(json, 'utf8');
    res.writeHead(status, {
      'Content-Type': contentType,
      'Content-Length': String(body.length),
      'Cache-Control': 'no-store',
      ...headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const send = (req: IncomingMessage, res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) =>
    sendBody(req, res, status, toJsonBody(value), headers);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      req.resume(); // drain any request body
      return send(req, res, 405, { error: `method ${method} not allowed: the inspection endpoint is read-only` }, { Allow: ALLOW });
    }
    const url = requestUrl(req.url ?? '/');
    let found: { compiled: CompiledRoute; params: Record<string, string> } | undefined;
    try {
      for (const c of compiled) {
        const params = match(c, url.pathname);
        if (params) {
          found = { compiled: c, params };
          break;
        }
      }
    } catch (e) {
      if (e instanceof MalformedPath) return send(req, res, 400, { error: e.message });
      throw e;
    }
    if (!found) return send(req, res, 404, { error: `no such path ${url.pathname}; known: ${known}` });
    const { compiled: c, params } = found;
    let value: unknown;
    try {
      value = await c.route.handler(params, url.searchParams);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      log.error(`${method} ${url.pathname}: handler for ${c.route.pattern} failed: ${message}`);
      return send(req, res, 500, { error: message });
    }
    if (value === undefined) {
      const reason = c.route.notFound ? c.route.notFound(params) : defaultNotFound(c, params, url.pathname);
      return send(req, res, 404, { error: reason });
    }
    if (value instanceof TextBody) return sendBody(req, res, 200, value.text, {}, value.contentType);
    let body: string;
    try {
      body = toJsonBody(value);
    } catch (e) {
      const message = `the value for ${url.pathname} cannot be written as JSON (${(e as Error).message})`;
      log.error(`${method} ${url.pathname}: ${message}`);
      return send(req, res, 500, { error: message });
    }
    return sendBody(req, res, 200, body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const message = e instanceof Error ? e.message : String(e);
      log.error(`${req.method} ${req.url}: ${message}`);
      if (!res.headersSent) send(req, res, 500, { error: message });
      else res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(listenError(e, host, opts.port)));
    server.listen(opts.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${hostInUrl}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Why the endpoint cannot listen, as a sentence that says what to do (INSPECT_PORT). */
export function listenError(e: NodeJS.ErrnoException, host: string, port: number): Error {
  const at = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const why =
    e.code === 'EADDRINUSE' ? `${at} is in use (another process listens there: another flead service, or one left running)` :
    e.code === 'EACCES' ? `${at} needs privileges this process lacks` :
    `${at}: ${e.message}`;
  if (e.code === 'EADDRNOTAVAIL') return new InfraError('unavailable', `inspection endpoint: ${host} is not an address of this machine; set INSPECT_HOST to one (127.0.0.1, or 0.0.0.0 for every interface)`, false, e);
  return new InfraError('unavailable', `inspection endpoint: ${why}; set INSPECT_PORT (or --inspect-port) to a free port, or 0 for any free one`, false, e);
}

/** default timeout of fetchJson */
export const fetchJsonDefaults = { timeoutMs: 10_000 } as const;

/**
 * GET `url` and parse the JSON body (an empty body gives `undefined`). Any status is returned, not thrown;
 * a network failure, a timeout or a body that is not JSON rejects with a sentence naming the URL.
 */
export async function fetchJson(url: string, init: { method?: string; timeoutMs?: number } = {}): Promise<{ status: number; body: unknown }> {
  const method = init.method ?? 'GET';
  let res: Response;
  try {
    res = await fetch(url, { method, headers: { accept: 'application/json' }, signal: AbortSignal.timeout(init.timeoutMs ?? fetchJsonDefaults.timeoutMs) });
  } catch (e) {
    const cause = (e as { cause?: { message?: string } }).cause?.message;
    throw new Error(`${method} ${url} failed: ${(e as Error).message}${cause ? ` (${cause})` : ''}`);
  }
  const text = await res.text();
  if (text.trim() === '') return { status: res.status, body: undefined };
  try {
    return { status: res.status, body: JSON.parse(text) as unknown };
  } catch {
    throw new Error(`${method} ${url}: status ${res.status}, response is not JSON: ${text.slice(0, 80)}`);
  }
}
