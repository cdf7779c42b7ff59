/** The declarative argument parser: values, every error sentence, help text, env fallback, defaults. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatHelp, namingOptions, parseArgs, type CommandSpec, type ParseResult } from '../../src/cli/args';
import { embeddedSpec } from '../../src/cli/embedded';
import { producerSpec } from '../../src/cli/producer';
import { evaluateSpec } from '../../src/cli/evaluate';
import { loadConfig } from '../../src/config';
import { isLeft } from 'fp-ts/Either';

const replay: CommandSpec = {
  name: 'flead replay',
  summary: 'Rebuild a service state from the journal and print it.',
  options: [
    { name: 'service', type: 'string', description: 'the service whose journal is replayed', required: true, env: 'FLEAD_SERVICE' },
    { name: 'until-seq', type: 'int', description: 'stop after this sequence number' },
    { name: 'until-time', type: 'time', description: 'stop at the first event after this time' },
    { name: 'compare', type: 'url', description: 'inspection endpoint to compare the rebuilt state with' },
    { name: 'strategy', type: 'string', description: 'aggregation strategy', choices: ['fedavg', 'median', 'trimmed-mean'], default: 'fedavg' },
    { name: 'trim-ratio', type: 'number', description: 'fraction trimmed at each end', default: 0.1, env: 'FLEAD_TRIM_RATIO' },
    { name: 'verbose', type: 'boolean', description: 'print every event' },
    { name: 'color', type: 'boolean', description: 'colour the output', default: true },
  ],
  positionals: [{ name: 'journal', description: 'journal file or directory' }],
  conflicts: [['until-seq', 'until-time']],
};

const noEnv = {};
const parse = (argv: string[], env: Record<string, string | undefined> = noEnv) => parseArgs(replay, argv, env);
const values = (r: ParseResult) => {
  if (!r.ok) throw new Error(`expected success, got: ${r.error}`);
  if (r.help !== undefined) throw new Error('expected values, got help');
  return r.values;
};
const error = (r: ParseResult) => {
  if (r.ok) throw new Error(`expected an error, got ${JSON.stringify(r)}`);
  return r.error;
};

// ---------------------------------------------------------------------------------------------------------------
const Values = suite('values');

Values('--flag value and --flag=value give typed values; unset options are undefined, booleans false', () => {
  const r = parse(['--service', 'aggregator', '--until-seq=42', '--compare', 'http://127.0.0.1:9400']);
  assert.equal(values(r), {
    service: 'aggregator',
    'until-seq': 42,
    'until-time': undefined,
    compare: 'http://127.0.0.1:9400',
    strategy: 'fedavg',
    'trim-ratio': 0.1,
    verbose: false,
    color: true,
  });
  assert.equal((r as { positionals: string[] }).positionals, []);
});

Values('booleans: --flag, --flag=false, --no-flag', () => {
  assert.is(values(parse(['--service=a', '--verbose']))['verbose'], true);
  assert.is(values(parse(['--service=a', '--verbose=false']))['verbose'], false);
  assert.is(values(parse(['--service=a', '--no-color']))['color'], false);
  assert.is(values(parse(['--service=a', '--color=0']))['color'], false);
});

Values('a boolean does not swallow the next argument', () => {
  const r = parse(['--verbose', 'journal.ndjson', '--service', 'a']);
  assert.is(values(r)['verbose'], true);
  assert.equal((r as { positionals: string[] }).positionals, ['journal.ndjson']);
});

Values('positionals, and -- ends the options', () => {
  const r = parse(['--service', 'a', '--', '--not-an-option']);
  assert.equal((r as { positionals: string[] }).positionals, ['--not-an-option']);
  const r2 = parse(['data/journal', '--service', 'a']);
  assert.equal((r2 as { positionals: string[] }).positionals, ['data/journal']);
});

Values('time accepts ISO-8601 and epoch ms and yields epoch ms', () => {
  assert.is(values(parse(['--service=a', '--until-time', '2024-06-10T06:13:20Z']))['until-time'], 1_718_000_000_000);
  assert.is(values(parse(['--service=a', '--until-time', '2024-06-10T08:13:20.5+02:00']))['until-time'], 1_718_000_000_500);
  assert.is(values(parse(['--service=a', '--until-time=1718000000000']))['until-time'], 1_718_000_000_000);
  assert.is(values(parse(['--service=a', '--until-time=2024-06-10']))['until-time'], Date.parse('2024-06-10'));
});

Values('number accepts negatives and fractions', () => {
  assert.is(values(parse(['--service=a', '--trim-ratio', '0.25']))['trim-ratio'], 0.25);
  assert.is(values(parse(['--service=a', '--trim-ratio', '-1e-3']))['trim-ratio'], -0.001);
});

Values('choices accept a listed value', () => {
  assert.is(values(parse(['--service=a', '--strategy', 'median']))['strategy'], 'median');
});

Values.run();

// ---------------------------------------------------------------------------------------------------------------
const Env = suite('environment fallback and defaults');

Env('the env var is used when the option is absent', () => {
  const v = values(parse([], { FLEAD_SERVICE: 'trainer', FLEAD_TRIM_RATIO: '0.2' }));
  assert.is(v['service'], 'trainer');
  assert.is(v['trim-ratio'], 0.2);
});

Env('the command line wins over the env var, which wins over the default', () => {
  assert.is(values(parse(['--service', 'cli'], { FLEAD_SERVICE: 'env' }))['service'], 'cli');
  assert.is(values(parse(['--service=a'], { FLEAD_TRIM_RATIO: '0.3' }))['trim-ratio'], 0.3);
  assert.is(values(parse(['--service=a']))['trim-ratio'], 0.1);
  assert.is(values(parse(['--service=a', '--trim-ratio=0.4'], { FLEAD_TRIM_RATIO: '0.3' }))['trim-ratio'], 0.4);
});

Env('an empty env var counts as unset', () => {
  assert.is(error(parse([], { FLEAD_SERVICE: '' })), '--service is required (or set FLEAD_SERVICE)');
});

Env('a bad env value names the variable and the option', () => {
  assert.is(error(parse(['--service=a'], { FLEAD_TRIM_RATIO: 'lots' })), 'FLEAD_TRIM_RATIO (for --trim-ratio) expects a number, got "lots"');
});

Env('process.env is the default environment', () => {
  const before = process.env.FLEAD_SERVICE;
  process.env.FLEAD_SERVICE = 'from-process';
  try {
    assert.is(values(parseArgs(replay, []))['service'], 'from-process');
  } finally {
    if (before === undefined) delete process.env.FLEAD_SERVICE;
    else process.env.FLEAD_SERVICE = before;
  }
});

Env.run();

// ---------------------------------------------------------------------------------------------------------------
const Errors = suite('error sentences');

Errors('unknown option', () => {
  assert.is(error(parse(['--service=a', '--foo'])), 'unknown option --foo for flead replay; see flead replay --help');
  assert.is(error(parse(['--foo=1'])), 'unknown option --foo for flead replay; see flead replay --help');
  assert.is(error(parse(['-x'])), 'unknown option -x for flead replay; see flead replay --help');
});

Errors('unknown option close to a known one suggests it', () => {
  assert.is(error(parse(['--until-sq', '3'])), 'unknown option --until-sq for flead replay (did you mean --until-seq?); see flead replay --help');
});

Errors('int: not a non-negative integer', () => {
  assert.is(error(parse(['--service=a', '--until-seq', 'abc'])), '--until-seq expects a non-negative integer, got "abc"');
  assert.is(error(parse(['--service=a', '--until-seq=-1'])), '--until-seq expects a non-negative integer, got "-1"');
  assert.is(error(parse(['--service=a', '--until-seq=1.5'])), '--until-seq expects a non-negative integer, got "1.5"');
  assert.is(error(parse(['--service=a', '--until-seq=99999999999999999999'])), '--until-seq expects a non-negative integer, got "99999999999999999999"');
});

Errors('a missing value is "got nothing"', () => {
  assert.is(error(parse(['--service=a', '--until-seq'])), '--until-seq expects a non-negative integer, got nothing');
  assert.is(error(parse(['--service', '--verbose'])), '--service expects a non-empty value, got nothing');
  assert.is(error(parse(['--service=a', '--until-seq', '--', '5'])), '--until-seq expects a non-negative integer, got nothing');
});

Errors('an empty string value is refused (a trainer `--id ""` shared the writer id "trainer-" with every other such trainer)', () => {
  assert.is(error(parse(['--service', ''])), '--service expects a non-empty value, got ""');
  assert.is(error(parse(['--service=  '])), '--service expects a non-empty value, got "  "');
});

Errors('number, url, time, boolean and choices', () => {
  assert.is(error(parse(['--service=a', '--trim-ratio', 'NaN'])), '--trim-ratio expects a number, got "NaN"');
  assert.is(error(parse(['--service=a', '--compare', 'localhost:9400'])), '--compare expects an absolute URL such as http://127.0.0.1:9400, got "localhost:9400"');
  assert.is(error(parse(['--service=a', '--until-time', 'yesterday'])), '--until-time expects an ISO-8601 time or epoch milliseconds, got "yesterday"');
  assert.is(error(parse(['--service=a', '--until-time', '2024-13-45'])), '--until-time expects an ISO-8601 time or epoch milliseconds, got "2024-13-45"');
  assert.is(error(parse(['--service=a', '--verbose=maybe'])), '--verbose expects true or false, got "maybe"');
  assert.is(error(parse(['--service=a', '--strategy', 'krum'])), '--strategy expects one of fedavg, median, trimmed-mean, got "krum"');
});

Errors('required option', () => {
  const noEnvSpec: CommandSpec = { ...replay, options: replay.options.map((o) => (o.name === 'service' ? { ...o, env: undefined } : o)) };
  assert.is(error(parseArgs(noEnvSpec, [], {})), '--service is required');
  assert.is(error(parse([])), '--service is required (or set FLEAD_SERVICE)');
});

Errors('conflicting options', () => {
  assert.is(error(parse(['--service=a', '--until-seq=3', '--until-time=5'])), '--until-seq and --until-time cannot be used together');
  const spec: CommandSpec = { ...replay, options: replay.options.map((o) => (o.name === 'until-time' ? { ...o, env: 'FLEAD_UNTIL_TIME' } : o)) };
  assert.is(error(parseArgs(spec, ['--service=a', '--until-seq=3'], { FLEAD_UNTIL_TIME: '5' })), '--until-seq and --until-time (from FLEAD_UNTIL_TIME) cannot be used together');
  assert.ok(parse(['--service=a', '--until-seq=3']).ok, 'one of the pair alone is fine');
});

Errors('an option given twice', () => {
  assert.is(error(parse(['--service=a', '--until-seq=1', '--until-seq', '2'])), '--until-seq is given more than once');
});

Errors('too many positionals', () => {
  assert.is(error(parse(['--service=a', 'one', 'two'])), 'unexpected argument "two" for flead replay; see flead replay --help');
});

Errors('a required positional', () => {
  const spec: CommandSpec = { name: 'flead inspect', summary: 's', options: [], positionals: [{ name: 'path', description: 'actor path', required: true }] };
  assert.is(error(parseArgs(spec, [], {})), '<path> is required; see flead inspect --help');
  const ok = parseArgs(spec, ['aggregator/round'], {});
  assert.equal(ok.ok && ok.help === undefined ? ok.positionals : null, ['aggregator/round']);
});

Errors('a variadic positional takes the rest', () => {
  const spec: CommandSpec = { name: 'flead load', summary: 's', options: [], positionals: [{ name: 'files', description: 'csv files', variadic: true }] };
  const r = parseArgs(spec, ['a.csv', 'b.csv', 'c.csv'], {});
  assert.equal(r.ok && r.help === undefined ? r.positionals : null, ['a.csv', 'b.csv', 'c.csv']);
});

Errors('a malformed spec is a bug and throws', () => {
  assert.throws(() => parseArgs({ ...replay, conflicts: [['until-seq', 'nope']] }, [], {}), /conflict names unknown option --nope/);
  assert.throws(() => parseArgs({ ...replay, options: [...replay.options, replay.options[0]!] }, [], {}), /--service is declared twice/);
  assert.throws(() => parseArgs({ ...replay, options: [{ name: 'x', type: 'string', description: 'd', choices: ['a'], default: 'b' }] }, [], {}), /not one of its choices/);
});

Errors.run();

// ---------------------------------------------------------------------------------------------------------------
const Help = suite('help');

Help('--help and -h return the help, even next to bad options, but not after --', () => {
  for (const argv of [['--help'], ['-h'], ['--until-seq', 'abc', '--help'], ['--foo', '-h']]) {
    const r = parse(argv);
    assert.ok(r.ok && typeof r.help === 'string', `help for ${argv.join(' ')}`);
  }
  assert.is(error(parse(['--', '--help'])), '--service is required (or set FLEAD_SERVICE)');
});

Help('help text: usage line, summary, each option with description, default and env var', () => {
  const r = parse(['--help']);
  const help = r.ok && r.help !== undefined ? r.help : '';
  assert.is(help, formatHelp(replay));
  const lines = help.split('\n');
  assert.is(lines[0], 'Usage: flead replay [options] [journal]');
  assert.is(lines[2], 'Rebuild a service state from the journal and print it.');
  assert.match(help, /\n {2}journal +journal file or directory\n/);
  assert.match(help, /\n {2}--service <value> +the service whose journal is replayed \(required; env: FLEAD_SERVICE\)\n/);
  assert.match(help, /\n {2}--until-seq <n> +stop after this sequence number\n/);
  assert.match(help, /\n {2}--until-time <time> +stop at the first event after this time \(ISO-8601 or epoch ms\)\n/);
  assert.match(help, /\n {2}--compare <url> +inspection endpoint/);
  assert.match(help, /\n {2}--strategy <fedavg\|median\|trimmed-mean> +aggregation strategy \(default: fedavg\)\n/);
  assert.match(help, /\n {2}--trim-ratio <number> +fraction trimmed at each end \(default: 0\.1; env: FLEAD_TRIM_RATIO\)\n/);
  assert.match(help, /\n {2}--verbose +print every event\n/);
  assert.match(help, /\n {2}-h, --help +show this help\n/);
  assert.match(help, /--until-seq and --until-time cannot be used together\.\n$/);
});

Help('a metavar names the value in the help; without one the type does', () => {
  const spec: CommandSpec = { name: 'flead replay', summary: 's', options: [{ name: 'actor', type: 'string', metavar: 'id', description: 'one actor' }, { name: 'who', type: 'string', description: 'someone' }] };
  const r = parseArgs(spec, ['--help'], {});
  const help = r.ok ? r.help ?? '' : '';
  assert.match(help, /\n {2}--actor <id> +one actor\n/);
  assert.match(help, /\n {2}--who <value> +someone\n/);
});

Help('descriptions line up in one column', () => {
  const help = formatHelp(replay);
  const optionLines = help.split('\n').filter((l) => l.startsWith('  -'));
  const columns = new Set(optionLines.map((l) => l.search(/\S/ ) + l.trimStart().search(/ {2}\S/)));
  assert.is(columns.size, 1, help);
});

Help('required positionals show in angle brackets, variadic with ...', () => {
  const spec: CommandSpec = {
    name: 'flead load',
    summary: 'Load readings.',
    options: [],
    positionals: [{ name: 'topic', description: 'target topic', required: true }, { name: 'files', description: 'csv files', variadic: true }],
  };
  assert.match(formatHelp(spec), /^Usage: flead load \[options\] <topic> \[files\.\.\.\]\n/);
});

Help.run();

// ---------------------------------------------------------------------------------------------------------

const Specs = suite('the commands\' own options');

Specs('flead embedded: --rate, else PRODUCER_RATE (as every service reads it), else unlimited', () => {
  const rate = (argv: string[], env: Record<string, string> = {}) => values(parseArgs(embeddedSpec, argv, env))['rate'];
  assert.is(rate([]), 'unlimited');
  assert.is(rate([], { PRODUCER_RATE: '50' }), '50');
  assert.is(rate(['--rate', '1000'], { PRODUCER_RATE: '50' }), '1000');
  assert.match(formatHelp(embeddedSpec), /--rate <value> +readings per second in total, or "unlimited" \(default: unlimited; env: PRODUCER_RATE\)/);
});

Specs('counts that cannot be 0 (rows, devices, batch size, rounds) say so instead of failing later with a stack', () => {
  for (const [spec, argv, message] of [
    [producerSpec, ['--devices', '0'], '--devices expects an integer ≥ 1, got "0"'],
    [producerSpec, ['--rows=0'], '--rows expects an integer ≥ 1, got "0"'],
    [producerSpec, ['--batch-size', '0'], '--batch-size expects an integer ≥ 1, got "0"'],
    [embeddedSpec, ['--devices', '0'], '--devices expects an integer ≥ 1, got "0"'],
    [evaluateSpec, ['--rounds', '0'], '--rounds expects an integer ≥ 1, got "0"'],
    [evaluateSpec, ['--max-rows'], '--max-rows expects an integer ≥ 1, got nothing'],
  ] as const) assert.is(error(parseArgs(spec, [...argv], {})), message);
  assert.is(error(parseArgs(producerSpec, [], { PRODUCER_BATCH_SIZE: '0' })), 'PRODUCER_BATCH_SIZE (for --batch-size) expects an integer ≥ 1, got "0"');
  assert.is(values(parseArgs(producerSpec, ['--devices', '1'], {}))['devices'], 1);
  assert.is(values(parseArgs(producerSpec, ['--seed', '0'], {}))['seed'], 0, 'a seed may be 0');
});

Specs.run();

const Naming = suite('configuration errors name the option that sets the variable');

Naming('a variable an option sets is named as the option too; other variables and other words are left alone', () => {
  const config = loadConfig({}, { PRODUCER_RATE: '-1', ROUND_QUORUM: '0' });
  assert.ok(isLeft(config));
  const message = namingOptions(producerSpec, (config as { left: string }).left);
  assert.match(message, /(^|; )--rate \(PRODUCER_RATE\) must be a positive number of messages per second or "unlimited", got "-1"/);
  assert.match(message, /(^|; )ROUND_QUORUM must be an integer ≥ 1, got "0"/);
  assert.is(namingOptions(embeddedSpec, 'TRAIN_MIN_SAMPLES (5) cannot exceed TRAIN_WINDOW (2): …'), 'TRAIN_MIN_SAMPLES (5) cannot exceed TRAIN_WINDOW (2): …');
  assert.is(namingOptions(embeddedSpec, 'INSPECT_PORT must be an integer ≥ 0, got "x"'), '--inspect-port (INSPECT_PORT) must be an integer ≥ 0, got "x"');
});

Naming.run();
