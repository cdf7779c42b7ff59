/**
 * The file journal's reading of a key file from the end (`linesFromEnd`): the same complete lines as reading it
 * from the start, newest first, with their offsets, across 1 MiB read chunks, lines longer than a chunk, empty
 * lines and a torn (unterminated) tail; `lastCompleteLine` is its first.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { completeLines, firstSeqOf, lastCompleteLine, linesFromEnd } from '../../src/infra/journal/file-journal-files';
import { buildEnvelopes, encodeEnvelope } from '../../src/infra/journal/shared';
import { mulberry32 } from '../../src/infra/prng';

const test = suite('file journal: lines from the end');

async function both(file: string): Promise<{ forward: Array<{ line: string; end: number }>; backward: Array<{ line: string; start: number; end: number }> }> {
  const forward: Array<{ line: string; end: number }> = [];
  for await (const l of completeLines(file)) forward.push(l);
  const backward: Array<{ line: string; start: number; end: number }> = [];
  for await (const l of linesFromEnd(file)) backward.push(l);
  return { forward, backward };
}

const withFile = async (text: string | Buffer, body: (file: string) => Promise<void>): Promise<void> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flead-lines-'));
  const file = path.join(dir, 'k.jsonl');
  fs.writeFileSync(file, text);
  try { await body(file); } finally { fs.rmSync(dir, { recursive: true, force: true }); }
};

test('small files: torn tail left out, empty lines skipped, offsets of each line', async () => {
  const cases: Array<[string, string[]]> = [
    ['', []],
    ['torn', []],
    ['a\n', ['a']],
    ['a\nb\n', ['b', 'a']],
    ['a\nb\ntorn', ['b', 'a']],
    ['\n\na\n\nbé\n\n', ['bé', 'a']],
    ['\n', []],
  ];
  for (const [text, lines] of cases) {
    await withFile(text, async (file) => {
      const { forward, backward } = await both(file);
      assert.equal(backward.map((l) => l.line), lines, JSON.stringify(text));
      assert.equal(backward.map((l) => ({ line: l.line, end: l.end })), [...forward].reverse(), `same as forward: ${JSON.stringify(text)}`);
      for (const l of backward) assert.is(Buffer.from(text).toString('utf8', l.start, l.end), `${l.line}\n`, 'start and end frame the line and its newline');
      assert.is(await lastCompleteLine(file), lines[0]);
    });
  }
  assert.is(await lastCompleteLine(path.join(os.tmpdir(), `flead-no-such-file-${process.pid}`)), undefined);
});

test('megabytes of random lines, some longer than a read chunk, multi-byte characters across chunk edges', async () => {
  const rnd = mulberry32(11);
  for (let round = 0; round < 3; round++) {
    const parts: string[] = [];
    let bytes = 0;
    while (bytes < 3.5 * (1 << 20)) {
      const long = rnd() < 0.02;
      const n = long ? Math.floor((1 << 20) * (0.5 + rnd())) : Math.floor(rnd() * 300);
      const line = (rnd() < 0.1 ? 'é€' : 'x').repeat(Math.max(0, Math.floor(n / 2))) + String(parts.length);
      parts.push(rnd() < 0.05 ? '' : line);
      bytes += Buffer.byteLength(line) + 1;
    }
    const tail = round === 1 ? 'torn-tail-without-newline' : '';
    await withFile(parts.join('\n') + '\n' + tail, async (file) => {
      const { forward, backward } = await both(file);
      assert.ok(forward.length > 100, `${forward.length} lines`);
      assert.equal(backward.map((l) => ({ line: l.line, end: l.end })), [...forward].reverse());
      const whole = fs.readFileSync(file);
      for (const l of backward.slice(0, 50)) assert.is(whole.toString('utf8', l.start, l.end), `${l.line}\n`);
    });
  }
});

test('the first seq of a stored line, read without decoding it, as the engine writes lines (with and without outbox)', () => {
  const ev = (i: number) => ({ type: 'Ticked', schemaVersion: 1, timestamp: 1_700_000_000_000 + i, data: { seq: 999, note: '"seq":5' } });
  for (const key of ['trainer/device/mote-1', 'odd/"seq":7/key', 'seq']) {
    const envs = buildEnvelopes(key, 41, [ev(0), ev(1)]);
    const plain = `[${envs.map(encodeEnvelope).join(',')}]`;
    const withOutbox = `{"events":${plain},"outbox":[{"topic":"t","key":null,"value":"{\\"seq\\":3}"}]}`;
    assert.is(firstSeqOf(plain), 41, key);
    assert.is(firstSeqOf(withOutbox), 41, key);
  }
  assert.is(firstSeqOf('{"something":"else"}'), undefined);
});

test.run();
