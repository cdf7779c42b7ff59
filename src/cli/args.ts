/**
 * A small declarative argument parser (no dependency). Each command declares its options once; `parseArgs`
 * returns the typed values, the formatted help, or one sentence saying what is wrong:
 *
 *   unknown option --foo for flead replay; see flead replay --help
 *   --until-seq expects a non-negative integer, got "abc"
 *   --service is required
 *   --until-seq and --until-time cannot be used together
 *
 * Accepted forms: `--name value`, `--name=value`, `--flag` / `--flag=false` / `--no-flag` for booleans, `--` to end
 * the options, `-h` / `--help`. A value is taken from argv, else from the option's environment variable, else
 * from its default. Booleans without a default are `false`; other options without a value are `undefined`.
 * A malformed spec (duplicate names, unknown conflict names) is a bug and throws.
 */

export type OptionType = 'int' | 'string' | 'boolean' | 'number' | 'url' | 'time';
export type OptionValue = string | number | boolean;

export interface OptionSpec {
  /** kebab-case, without the dashes: 'until-seq' */
  name: string;
  /** int: a non-negative integer; number: any finite number; url: an absolute URL; time: ISO-8601 or epoch ms → epoch ms */
  type: OptionType;
  description: string;
  /** used when neither argv nor the environment gives a value; shown in the help */
  default?: OptionValue;
  required?: boolean;
  /** the only values accepted (for 'string') */
  choices?: string[];
  /** the smallest value accepted (for 'int'; default 0) */
  min?: number;
  /** environment variable read when the option is not on the command line */
  env?: string;
  /** the value's name in the help (`--actor <id>`); default by type (`<value>`, `<n>`, …) */
  metavar?: string;
}

export interface PositionalSpec {
  name: string;
  description: string;
  required?: boolean;
  /** takes every remaining argument (last positional only) */
  variadic?: boolean;
}

export interface CommandSpec {
  /** 'flead replay' */
  name: string;
  summary: string;
  options: OptionSpec[];
  positionals?: PositionalSpec[];
  /** pairs of option names that cannot be given together */
  conflicts?: Array<[string, string]>;
}

export type ParseResult =
  | { ok: true; values: Record<string, OptionValue | undefined>; positionals: string[]; help?: undefined }
  | { ok: false; error: string }
  | { ok: true; help: string; values?: undefined };

type Parsed = { ok: true; value: OptionValue } | { ok: false; expected: string };

const expectations: Record<OptionType, string> = {
  int: 'a non-negative integer',
  number: 'a number',
  string: 'a non-empty value',
  boolean: 'true or false',
  url: 'an absolute URL such as http://127.0.0.1:9400',
  time: 'an ISO-8601 time or epoch milliseconds',
};

const placeholders: Record<OptionType, string> = { int: '<n>', number: '<number>', string: '<value>', boolean: '', url: '<url>', time: '<time>' };

/** Converts one raw text to the option's type. */
export function parseValue(opt: Pick<OptionSpec, 'type' | 'choices' | 'min'>, raw: string): Parsed {
  const fail = (): Parsed => ({ ok: false, expected: expectationOf(opt) });
  switch (opt.type) {
    case 'int': {
      if (!/^\d+$/.test(raw)) return fail();
      const n = Number(raw);
      return Number.isSafeInteger(n) && n >= (opt.min ?? 0) ? { ok: true, value: n } : fail();
    }
    case 'number': {
      const n = raw.trim() === '' ? NaN : Number(raw);
      return Number.isFinite(n) ? { ok: true, value: n } : fail();
    }
    case 'boolean': {
      const v = raw.toLowerCase();
      if (['true', '1', 'yes'].includes(v)) return { ok: true, value: true };
      if (['false', '0', 'no'].includes(v)) return { ok: true, value: false };
      return fail();
    }
    case 'url': {
      try {
        const u = new URL(raw);
        return u.host || u.protocol === 'file:' ? { ok: true, value: raw } : fail();
      } catch {
        return fail();
      }
    }
    case 'time': {
      if (/^\d+$/.test(raw)) return Number.isSafeInteger(Number(raw)) ? { ok: true, value: Number(raw) } : fail();
      if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw)) return fail();
      const ms = Date.parse(raw);
      return Number.isFinite(ms) ? { ok: true, value: ms } : fail();
    }
    case 'string':
      if (opt.choices && !opt.choices.includes(raw)) return fail();
      if (raw.trim() === '') return fail(); // `--id ""`: no option means nothing by an empty value
      return { ok: true, value: raw };
  }
}

function checkSpec(spec: CommandSpec): void {
  const names = new Set<string>();
  for (const o of spec.options) {
    if (o.name === 'help') throw new Error(`${spec.name}: option --help is built in`);
    if (!/^[a-z][a-z0-9-]*$/.test(o.name)) throw new Error(`${spec.name}: option name "${o.name}" must be kebab-case`);
    if (names.has(o.name)) throw new Error(`${spec.name}: option --${o.name} is declared twice`);
    names.add(o.name);
    if (o.default !== undefined && o.choices && !o.choices.includes(String(o.default))) {
      throw new Error(`${spec.name}: the default of --${o.name} is not one of its choices`);
    }
  }
  for (const pair of spec.conflicts ?? []) {
    for (const n of pair) if (!names.has(n)) throw new Error(`${spec.name}: conflict names unknown option --${n}`);
  }
  const ps = spec.positionals ?? [];
  ps.forEach((p, i) => {
    if (p.variadic && i !== ps.length - 1) throw new Error(`${spec.name}: only the last positional can be variadic`);
  });
}

const quote = (s: string) => JSON.stringify(s);

/** Edit distance, for "did you mean"; small inputs only. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

export function parseArgs(spec: CommandSpec, argv: readonly string[], env: Record<string, string | undefined> = process.env): ParseResult {
  checkSpec(spec);
  const seeHelp = `see ${spec.name} --help`;
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  const dashDash = argv.indexOf('--');
  const optionPart = dashDash < 0 ? argv : argv.slice(0, dashDash);
  if (optionPart.includes('--help') || optionPart.includes('-h')) return { ok: true, help: formatHelp(spec) };

  const given = new Map<string, OptionValue>();
  const positionals: string[] = [];
  const unknown = (flag: string): ParseResult => {
    const name = flag.replace(/^-+/, '');
    const near = spec.options.map((o) => o.name).find((n) => distance(n, name) <= Math.min(2, Math.floor(n.length / 3)));
    return { ok: false, error: `unknown option ${flag} for ${spec.name}${near ? ` (did you mean --${near}?)` : ''}; ${seeHelp}` };
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (i === dashDash) {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith('--')) return unknown(arg);
    const eq = arg.indexOf('=');
    let name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    let inline: string | undefined = eq < 0 ? undefined : arg.slice(eq + 1);
    let opt = byName.get(name);
    if (!opt && name.startsWith('no-') && inline === undefined && byName.get(name.slice(3))?.type === 'boolean') {
      name = name.slice(3);
      opt = byName.get(name);
      inline = 'false';
    }
    if (!opt) return unknown(`--${name}`);
    if (given.has(name)) return { ok: false, error: `--${name} is given more than once` };
    let raw: string | undefined;
    if (inline !== undefined) raw = inline;
    else if (opt.type === 'boolean') raw = 'true';
    else {
      const next = argv[i + 1];
      if (next === undefined || i + 1 === dashDash || (next.startsWith('--') && next.length > 2)) {
        return { ok: false, error: `--${name} expects ${expectationOf(opt)}, got nothing` };
      }
      raw = next;
      i += 1;
    }
    const parsed = parseValue(opt, raw);
    if (!parsed.ok) return { ok: false, error: `--${name} expects ${parsed.expected}, got ${quote(raw)}` };
    given.set(name, parsed.value);
  }

  const fromEnv = new Map<string, OptionValue>();
  for (const opt of spec.options) {
    if (given.has(opt.name) || !opt.env) continue;
    const raw = env[opt.env];
    if (raw === undefined || raw === '') continue;
    const parsed = parseValue(opt, raw);
    if (!parsed.ok) return { ok: false, error: `${opt.env} (for --${opt.name}) expects ${parsed.expected}, got ${quote(raw)}` };
    fromEnv.set(opt.name, parsed.value);
  }

  for (const [a, b] of spec.conflicts ?? []) {
    const set = (n: string) => given.has(n) || fromEnv.has(n);
    if (set(a) && set(b)) {
      const via = (n: string) => (given.has(n) ? '' : ` (from ${byName.get(n)!.env})`);
      return { ok: false, error: `--${a}${via(a)} and --${b}${via(b)} cannot be used together` };
    }
  }

  const values: Record<string, OptionValue | undefined> = {};
  for (const opt of spec.options) {
    const value = given.get(opt.name) ?? fromEnv.get(opt.name) ?? opt.default;
    if (value === undefined && opt.required) {
      return { ok: false, error: `--${opt.name} is required${opt.env ? ` (or set ${opt.env})` : ''}` };
    }
    values[opt.name] = value ?? (opt.type === 'boolean' ? false : undefined);
  }

  const ps = spec.positionals ?? [];
  const variadic = ps.length > 0 && ps[ps.length - 1]!.variadic === true;
  if (!variadic && positionals.length > ps.length) {
    return { ok: false, error: `unexpected argument ${quote(positionals[ps.length]!)} for ${spec.name}; ${seeHelp}` };
  }
  for (let i = 0; i < ps.length; i++) {
    if (ps[i]!.required && positionals.length <= i) return { ok: false, error: `<${ps[i]!.name}> is required; ${seeHelp}` };
  }
  return { ok: true, values, positionals };
}

const expectationOf = (opt: Pick<OptionSpec, 'type' | 'choices' | 'min'>) =>
  opt.choices ? `one of ${opt.choices.join(', ')}` : opt.type === 'int' && (opt.min ?? 0) > 0 ? `an integer ≥ ${opt.min}` : expectations[opt.type];

/**
 * A configuration error with each variable that an option of `spec` sets named as that option too
 * (`PRODUCER_RATE must be …` → `--rate (PRODUCER_RATE) must be …`): the user may have typed the option.
 */
export function namingOptions(spec: CommandSpec, message: string): string {
  let out = message;
  for (const o of spec.options) if (o.env) out = out.replace(new RegExp(`(^|; )${o.env} (must|cannot)`, 'g'), `$1--${o.name} (${o.env}) $2`);
  return out;
}

/** Usage line, summary, arguments, options (description, choices, default, env var, required), conflicts. */
export function formatHelp(spec: CommandSpec): string {
  const ps = spec.positionals ?? [];
  const usageArgs = ps.map((p) => {
    const n = `${p.name}${p.variadic ? '...' : ''}`;
    return p.required ? `<${n}>` : `[${n}]`;
  });
  const lines = [`Usage: ${[spec.name, '[options]', ...usageArgs].join(' ')}`, '', spec.summary];

  const optionRows: Array<[string, string]> = spec.options.map((o) => {
    const ph = o.choices ? `<${o.choices.join('|')}>` : o.metavar ? `<${o.metavar}>` : placeholders[o.type];
    const notes: string[] = [];
    if (o.required) notes.push('required');
    if (o.type === 'time') notes.push('ISO-8601 or epoch ms');
    if (o.default !== undefined) notes.push(`default: ${o.default}`);
    if (o.env) notes.push(`env: ${o.env}`);
    return [`--${o.name}${ph ? ` ${ph}` : ''}`, `${o.description}${notes.length ? ` (${notes.join('; ')})` : ''}`];
  });
  optionRows.push(['-h, --help', 'show this help']);
  const argRows: Array<[string, string]> = ps.map((p) => [`${p.name}${p.variadic ? '...' : ''}`, `${p.description}${p.required ? ' (required)' : ''}`]);
  const width = Math.max(...[...optionRows, ...argRows].map(([l]) => l.length));
  const row = ([l, r]: [string, string]) => `  ${l.padEnd(width)}  ${r}`;

  if (argRows.length) lines.push('', 'Arguments:', ...argRows.map(row));
  lines.push('', 'Options:', ...optionRows.map(row));
  const conflicts = spec.conflicts ?? [];
  if (conflicts.length) lines.push('', ...conflicts.map(([a, b]) => `--${a} and --${b} cannot be used together.`));
  return `${lines.join('\n')}\n`;
}
