/**
 * compose/docker-compose.yml read the way `docker compose` reads it, for tests that start the services as
 * processes: YAML merge keys resolved, `${VAR:-default}` / `${VAR-default}` / `${VAR}` / `$$` interpolated
 * from a variables map (what an .env file or the shell would give; empty = every default), the start order
 * computed from `depends_on` (topological, in waves: every service of a wave has its dependencies in earlier
 * waves).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { repoRoot } from './procs';

export const composeFile = path.join(repoRoot, 'compose/docker-compose.yml');

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: Record<string, { condition: string }> | string[];
  restart?: string;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  [k: string]: unknown;
}
export interface Compose { services: Record<string, ComposeService>; [k: string]: unknown }

/** Compose interpolation of one string: ${V:-d} (d when V unset or empty), ${V-d} (d when unset), ${V}, $V, $$. */
export function interpolate(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)((?:[^}])*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (m, name?: string, op?: string, dflt?: string, bare?: string) => {
    if (m === '$$') return '$';
    if (bare !== undefined) return vars[bare] ?? '';
    const v = vars[name!];
    if (op === ':-') return v === undefined || v === '' ? interpolate(dflt ?? '', vars) : v;
    if (op === '-') return v === undefined ? interpolate(dflt ?? '', vars) : v;
    return v ?? '';
  });
}

/** The compose file, merge keys resolved (interpolation is per value, see serviceCommand / serviceEnv). */
export function readCompose(file = composeFile): Compose {
  const doc = parseDocument(readFileSync(file, 'utf8'), { merge: true });
  if (doc.errors.length) throw new Error(`${file} does not parse: ${doc.errors.map((e) => e.message).join('; ')}`);
  return doc.toJS({ maxAliasCount: 1000 }) as Compose;
}

/** The `command` as an argument list, interpolated. */
export function serviceCommand(s: ComposeService, vars: Record<string, string | undefined>): string[] {
  const c = s.command ?? [];
  const list = Array.isArray(c) ? c : c.split(/\s+/).filter(Boolean);
  return list.map((a) => interpolate(String(a), vars));
}

/**
 * The `environment`, interpolated. A variable without a value (`MODEL_SPEC:`) is passed through from `vars`
 * when set there, else left out (as compose does).
 */
export function serviceEnv(s: ComposeService, vars: Record<string, string | undefined>): Record<string, string> {
  const e = s.environment ?? {};
  const pairs: Array<[string, string | null]> = Array.isArray(e)
    ? e.map((kv) => { const i = kv.indexOf('='); return i < 0 ? [kv, null] : [kv.slice(0, i), kv.slice(i + 1)]; })
    : Object.entries(e).map(([k, v]) => [k, v === null || v === undefined ? null : String(v)]);
  const out: Record<string, string> = {};
  for (const [k, v] of pairs) {
    if (v === null) { if (vars[k] !== undefined) out[k] = vars[k]!; } else out[k] = interpolate(v, vars);
  }
  return out;
}

export function dependsOn(s: ComposeService): Record<string, string> {
  const d = s.depends_on ?? {};
  return Array.isArray(d) ? Object.fromEntries(d.map((n) => [n, 'service_started'])) : Object.fromEntries(Object.entries(d).map(([k, v]) => [k, v.condition]));
}

/**
 * Start order of `names` (topological over depends_on, in waves; ties keep file order). Dependencies outside
 * `names` count as already satisfied (the infrastructure the caller provides). Throws on a cycle.
 */
export function startWaves(compose: Compose, names: readonly string[]): string[][] {
  const left = new Set(names);
  const done = new Set<string>();
  const waves: string[][] = [];
  while (left.size) {
    const wave = [...left].filter((n) => Object.keys(dependsOn(compose.services[n]!)).every((d) => done.has(d) || !names.includes(d)));
    if (!wave.length) throw new Error(`depends_on cycle among ${[...left].join(', ')}`);
    for (const n of wave) { left.delete(n); done.add(n); }
    waves.push(wave);
  }
  return waves;
}
