import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CsvParser, csvLine, parseCsv, parseCsvText, type CsvRecord } from '../../src/infra/datasets/csv';

const Csv = suite('csv parser');

const rec = (line: number, ...fields: string[]): CsvRecord => ({ fields, line });

async function collect(source: Parameters<typeof parseCsv>[0]): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const r of parseCsv(source)) out.push(r);
  return out;
}

/** Parse with the text cut into chunks at the given positions. */
function parseSplit(text: string, cuts: number[]): CsvRecord[] {
  const p = new CsvParser();
  const out: CsvRecord[] = [];
  let from = 0;
  for (const c of [...cuts, text.length]) {
    out.push(...p.push(text.slice(from, c)));
    from = c;
  }
  return [...out, ...p.end()];
}

Csv('plain records, with and without a final newline, carry their 1-based line', () => {
  assert.equal(parseCsvText('a,b,c\n1,2,3\n'), [rec(1, 'a', 'b', 'c'), rec(2, '1', '2', '3')]);
  assert.equal(parseCsvText('a,b\n1,2'), [rec(1, 'a', 'b'), rec(2, '1', '2')]);
  assert.equal(parseCsvText('a,,\n'), [rec(1, 'a', '', '')]);
  assert.equal(parseCsvText(''), []);
});

Csv('quoted fields: commas, escaped quotes, empty quoted field', () => {
  assert.equal(parseCsvText('"a,b","say ""hi""",""\n'), [rec(1, 'a,b', 'say "hi"', '')]);
  assert.equal(parseCsvText('"""",x'), [rec(1, '"', 'x')]);
});

Csv('newlines inside quotes: physical lines are not records, and the next record starts on the right line', () => {
  const text = 'h1,h2\r\n"<p class=""x"">\r\nline two\r\n</p>",2\r\nnext,3\r\n"lf\nonly",4\n';
  assert.equal(parseCsvText(text), [
    rec(1, 'h1', 'h2'),
    rec(2, '<p class="x">\r\nline two\r\n</p>', '2'),
    rec(5, 'next', '3'),
    rec(6, 'lf\nonly', '4'),
  ]);
});

Csv('CRLF, LF and a lone CR all end records; a blank line is one empty field', () => {
  assert.equal(parseCsvText('a\r\nb\rc\n\nd'), [rec(1, 'a'), rec(2, 'b'), rec(3, 'c'), rec(4, ''), rec(5, 'd')]);
});

Csv('lenient: a quote inside an unquoted field is literal; text after a closing quote is kept', () => {
  assert.equal(parseCsvText('ab"c,"ab"c,d'), [rec(1, 'ab"c', 'abc', 'd')]);
});

Csv('an unterminated quote at the end yields a flagged record instead of throwing', async () => {
  const records = await collect(Readable.from(['a,b\n1,"never\r\nclosed, at all']));
  assert.equal(records, [rec(1, 'a', 'b'), { fields: ['1', 'never\r\nclosed, at all'], line: 2, error: 'unterminated quoted field' }]);
});

const TRICKY = 'x,"a""b",c\r\n"multi\r\nline, with ""quotes""",\r\n\r\n"",q"\n"end\r\n"\rlast';
const TRICKY_EXPECTED: CsvRecord[] = [
  rec(1, 'x', 'a"b', 'c'),
  rec(2, 'multi\r\nline, with "quotes"', ''),
  rec(4, ''),
  rec(5, '', 'q"'),
  rec(6, 'end\r\n'),
  rec(8, 'last'),
];

Csv('the tricky input parses as expected in one chunk', () => {
  assert.equal(parseCsvText(TRICKY), TRICKY_EXPECTED);
});

Csv('chunk split at every position (quote pairs and CRLFs cut in half) gives the same records', () => {
  for (let i = 0; i <= TRICKY.length; i++) assert.equal(parseSplit(TRICKY, [i]), TRICKY_EXPECTED, `split at ${i}`);
});

Csv('chunk splits at every pair of positions, and one character per chunk', () => {
  for (let i = 0; i <= TRICKY.length; i++) {
    for (let j = i; j <= TRICKY.length; j++) assert.equal(parseSplit(TRICKY, [i, j]), TRICKY_EXPECTED, `split at ${i}, ${j}`);
  }
  assert.equal(parseSplit(TRICKY, Array.from({ length: TRICKY.length }, (_, i) => i)), TRICKY_EXPECTED);
});

Csv('Buffer chunks that cut a multi-byte UTF-8 character, and a BOM, are decoded correctly', async () => {
  const bytes = Buffer.from('\uFEFFname,temp\n"Zürich, CH",21°\n', 'utf8');
  for (let i = 1; i < bytes.length; i++) {
    const records = await collect(Readable.from([bytes.subarray(0, i), bytes.subarray(i)]));
    assert.equal(records, [rec(1, 'name', 'temp'), rec(2, 'Zürich, CH', '21°')], `split at byte ${i}`);
  }
});

Csv('parseCsv reads a file path; a missing file rejects', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flead-csv-'));
  const file = join(dir, 'x.csv');
  writeFileSync(file, 'a,b\r\n"1\r\n2",3\r\n');
  assert.equal(await collect(file), [rec(1, 'a', 'b'), rec(2, '1\r\n2', '3')]);
  try {
    await collect(join(dir, 'missing.csv'));
    assert.unreachable('a missing file must reject');
  } catch (e) {
    assert.match((e as Error).message, /ENOENT/);
  }
});

Csv('csvLine quotes only what needs it, doubles quotes, and round-trips through the parser', () => {
  assert.is(csvLine(['a', 'b c', '']), 'a,b c,');
  assert.is(csvLine(['a,b', 'say "hi"', 'x\r\ny']), '"a,b","say ""hi""","x\r\ny"');
  const rows = [['<html class="x">\r\n, </html>', '0.0', ' 2021 11:44:10.081753000 '], ['', '"', ',']];
  assert.equal(parseCsvText(rows.map(csvLine).join('\n')).map((r) => r.fields), rows);
});

Csv.run();
