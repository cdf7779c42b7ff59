/** COPY text helpers of the sink (src/infra/db/copy.ts). */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyText, isoTime } from '../../src/infra/db/copy';
import { mulberry32 } from '../../src/actors/aggregator/initial-model';

const Copy = suite('COPY text');

Copy('isoTime is Date#toISOString: 50,000 random epoch ms of every magnitude (both signs, extended years), day edges, and what a Date refuses', () => {
  const rnd = mulberry32(29);
  const edges = [0, -1, 1, 86_399_999, 86_400_000, -86_400_000, -86_400_001, 1_262_304_000_000, 951_782_400_000, 8.64e15, -8.64e15, 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_001];
  const values = [...edges, ...Array.from({ length: 50_000 }, () => Math.floor((rnd() * 2 - 1) * 10 ** (rnd() * 15.9)))];
  // in stream order too: consecutive rows share their day, then move on
  let t = 1_700_000_000_000;
  for (let i = 0; i < 20_000; i++) values.push((t += Math.floor(rnd() * 20_000)));
  for (const ms of values) assert.is(isoTime(ms), new Date(ms).toISOString(), `${ms}`);
  // fractional milliseconds: a Date truncates them
  for (const ms of [1.5, -1.5, 1_262_304_000_000.7]) assert.is(isoTime(ms), new Date(ms).toISOString());
  for (const bad of [NaN, Infinity, 8.64e15 + 1]) assert.throws(() => isoTime(bad), RangeError);
});

Copy('copyText escapes backslash, newline, carriage return and tab; null is \\N', () => {
  assert.is(copyText(null), '\\N');
  assert.is(copyText('a\\b\nc\rd\te'), 'a\\\\b\\nc\\rd\\te');
  assert.is(copyText({ x: 1 }), '{"x":1}');
  assert.is(copyText(2.5), '2.5');
});

Copy.run();
