/** README is the front door: every configuration variable the code reads is documented with its default. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaults } from '../../src/config';

const readme = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');

test('every configuration variable is in the README table with its default', () => {
  for (const [name, value] of Object.entries(defaults)) {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
    assert.ok(row, `README has no row for ${name}`);
    const shown = value === '' ? '(empty)' : `\`${value}\``;
    assert.ok(row!.includes(shown), `README row for ${name} does not show the default ${shown}: ${row}`);
  }
});

test('the quick start names exactly the two set-up commands', () => {
  const quick = readme.split('## Quick start')[1]!.split('\n## ')[0]!;
  const block = quick.split('```sh')[1]!.split('```')[0]!.trim().split('\n');
  assert.equal(block.map((l) => l.split('#')[0]!.trim()), ['npm ci && npm start', 'npm test']);
});

test.run();
