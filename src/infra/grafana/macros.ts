/**
 * A small expander of what Grafana does to a PostgreSQL panel query before it reaches the database, so tests
 * can run the dashboards' SQL as Grafana would (src/infra/grafana/dashboards.ts):
 *
 * 1. template variables (Grafana's frontend): `$__interval` → '1m', `$__interval_ms` → 60000, and the
 *    dashboard variables `$name`, `${name}`, `[[name]]`: a multi-value (or "All") variable becomes a list of
 *    single-quoted values 'a','b' (quotes doubled inside); a single-value variable is inserted as it is;
 * 2. macros (Grafana's PostgreSQL backend, as documented for the datasource):
 *      $__time(col)                    col AS "time"
 *      $__timeEpoch(col)               extract(epoch from col) AS "time"
 *      $__timeFilter(col)              col BETWEEN '<from>' AND '<to>'          (RFC 3339, UTC)
 *      $__timeFrom() / $__timeTo()     '<from>' / '<to>'
 *      $__timeGroup(col, '5m'[, fill]) floor(extract(epoch from col)/300)*300   (time_bucket('300s', col) with TimescaleDB)
 *      $__timeGroupAlias(col, '5m')    the same AS "time"
 *      $__unixEpochFilter(col)         col >= <from s> AND col <= <to s>
 *      $__unixEpochFrom() / $__unixEpochTo()
 *
 * Anything left that looks like a macro or a variable is an error (a typo in a dashboard is caught by tests).
 */

export interface MacroContext {
  from: Date;
  to: Date;
  /** the panel's interval ($__interval) in ms; default 60000 */
  intervalMs?: number;
  /** dashboard variables: values, and whether the variable is multi-value / "All" (quoted list) */
  variables?: Record<string, { values: string[]; multi: boolean }>;
  /** the datasource's TimescaleDB switch: $__timeGroup uses time_bucket */
  timescaledb?: boolean;
}

export class MacroError extends Error {}

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 31_536_000_000 };

/** '5m' → 300000; accepts quotes around it ('5m', "5m"). */
export function parseInterval(raw: string): number {
  const text = raw.trim().replace(/^['"]|['"]$/g, '');
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)$/.exec(text);
  if (!m) throw new MacroError(`not a Grafana interval: "${raw}" (expected e.g. 30s, 5m, 1h)`);
  return Number(m[1]) * units[m[2]!]!;
}

/** 60000 → '1m', 90000 → '90s', 500 → '500ms': the largest unit that divides the interval. */
export function formatInterval(ms: number): string {
  for (const u of ['w', 'd', 'h', 'm', 's'] as const) if (ms >= units[u]! && ms % units[u]! === 0) return `${ms / units[u]!}${u}`;
  return `${ms}ms`;
}

const quote = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const timestamp = (d: Date): string => quote(d.toISOString().replace(/\.000Z$/, 'Z'));

/** Split macro arguments on top-level commas (parentheses and quotes nest). */
function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0; let quoteChar: string | undefined; let cur = '';
  for (const ch of text) {
    if (quoteChar) { if (ch === quoteChar) quoteChar = undefined; cur += ch; continue; }
    if (ch === "'" || ch === '"') { quoteChar = ch; cur += ch; continue; }
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) { out.push(cur.trim()); cur = ''; continue; }
    cur += ch;
  }
  if (cur.trim() !== '' || out.length) out.push(cur.trim());
  return out;
}

function expandVariables(sql: string, ctx: MacroContext): string {
  const intervalMs = ctx.intervalMs ?? 60_000;
  const builtins: Record<string, string> = { __interval: formatInterval(intervalMs), __interval_ms: String(intervalMs) };
  const vars = ctx.variables ?? {};
  const value = (name: string, original: string): string => {
    if (name in builtins) return builtins[name]!;
    const v = vars[name];
    if (!v) {
      if (name.startsWith('__')) return original; // a macro: expanded in step 2
      throw new MacroError(`unknown dashboard variable "${original}"`);
    }
    if (v.multi) {
      if (!v.values.length) throw new MacroError(`variable "${name}" has no values`);
      return v.values.map(quote).join(',');
    }
    if (v.values.length !== 1) throw new MacroError(`single-value variable "${name}" needs exactly one value, got ${v.values.length}`);
    return v.values[0]!;
  };
  return sql
    .replace(/\$\{(\w+)\}/g, (all, n: string) => value(n, all))
    .replace(/\[\[(\w+)\]\]/g, (all, n: string) => value(n, all))
    .replace(/\$(\w+)/g, (all, n: string) => value(n, all));
}

function expandMacro(name: string, args: string[], ctx: MacroContext): string {
  const need = (n: number, max = n) => {
    if (args.length < n || args.length > max) throw new MacroError(`$__${name} takes ${n === max ? n : `${n} to ${max}`} argument(s), got ${args.length}: (${args.join(', ')})`);
  };
  const fromS = Math.floor(ctx.from.getTime() / 1000);
  const toS = Math.floor(ctx.to.getTime() / 1000);
  const group = () => {
    need(2, 3);
    const secs = parseInterval(args[1]!) / 1000;
    return ctx.timescaledb ? `time_bucket('${secs}s', ${args[0]})` : `floor(extract(epoch from ${args[0]})/${secs})*${secs}`;
  };
  switch (name) {
    case 'time': need(1); return `${args[0]} AS "time"`;
    case 'timeEpoch': need(1); return `extract(epoch from ${args[0]}) AS "time"`;
    case 'timeFilter': need(1); return `${args[0]} BETWEEN ${timestamp(ctx.from)} AND ${timestamp(ctx.to)}`;
    case 'timeFrom': need(0); return timestamp(ctx.from);
    case 'timeTo': need(0); return timestamp(ctx.to);
    case 'timeGroup': return group();
    case 'timeGroupAlias': return `${group()} AS "time"`;
    case 'unixEpochFilter': need(1); return `${args[0]} >= ${fromS} AND ${args[0]} <= ${toS}`;
    case 'unixEpochFrom': need(0); return String(fromS);
    case 'unixEpochTo': need(0); return String(toS);
    default: throw new MacroError(`unknown Grafana macro $__${name}`);
  }
}

/** The SQL Grafana would send to PostgreSQL for `sql` in the time range and with the variables of `ctx`. */
export function expandGrafanaSql(sql: string, ctx: MacroContext): string {
  let text = expandVariables(sql, ctx);
  const re = /\$__(\w+)\(/g;
  let out = '';
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const open = m.index + m[0].length;
    let depth = 1; let i = open;
    for (; i < text.length && depth > 0; i++) {
      if (text[i] === '(') depth++;
      else if (text[i] === ')') depth--;
    }
    if (depth !== 0) throw new MacroError(`unclosed parenthesis after $__${m[1]}`);
    out += text.slice(last, m.index) + expandMacro(m[1]!, splitArgs(text.slice(open, i - 1)), ctx);
    last = i;
    re.lastIndex = i;
  }
  text = out + text.slice(last);
  const left = /\$__\w+|\$\{?\w+|\[\[\w+\]\]/.exec(text);
  if (left) throw new MacroError(`"${left[0]}" is left after expansion (an unknown macro or variable)`);
  return text;
}
