/**
 * Producer sources benchmark: how fast the producer's device sources read a data set too large to keep in memory
 * from the planning pass, against the way they read it until 2026-12-05 — each device its own pass over all the
 * data, filtered to its rows. Prints two lines:
 *
 *   bench producer-sources-one-file: <rows/s> rows/s (<ratio>x a pass per device, <rows/s> rows/s)
 *   bench producer-sources-device-files: <rows/s> rows/s (<ratio>x a pass per device, <rows/s> rows/s)
 *
 * Data: FLEAD_BENCH_SOURCES_ROWS (30,000) generated Edge-IIoTset rows (seed 3, 20% attacks) over 8 devices,
 * written to a temporary directory as one CSV file split over the devices row by row (`--devices 8`: the sources
 * share one pass) and as `device_N.csv` files (each source reads its own file). `planSources` runs with its memory
 * cache off (cacheRows 0), as for a data set past it. Timed: every device source read to its end, all at once (as
 * the producer's source actors read them), rows counted; planning not included (noted on stderr). The two ways
 * alternate twice, best of each.
 *
 * Run: `node dist/bench/sources.js`, or through the bench runner calling `run(print)`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { planSources } from '../src/actors/producer/sources';
import { isBadRow, type DatasetAdapter } from '../src/infra/datasets/adapter';
import { writeDeviceFiles, writeEdgeCsv } from '../src/infra/datasets';
import { edgeIiotsetAdapter } from '../src/infra/datasets/edge-iiotset';

const ROWS = Number(process.env.FLEAD_BENCH_SOURCES_ROWS || 30_000);
const DEVICES = 8;
const RUNS = 2;
const note = (line: string): void => void process.stderr.write(`bench sources: ${line}\n`);

/** rows a second, reading every device source to its end, all at once; checks that they yield every planned row. */
async function readAll(adapter: DatasetAdapter, separate: boolean): Promise<number> {
  const t0 = performance.now();
  const sources = (await planSources(adapter, { cacheRows: 0 })).filter((s) => s.id !== 'invalid');
  const planned = performance.now();
  const alone = async function* (device: string) {
    for await (const r of adapter.rows()) if (!isBadRow(r) && r.deviceId === device) yield r;
  };
  let rows = 0;
  await Promise.all(sources.map(async (s) => {
    const device = s.id; // ids are the device ids here ("device-1")
    for await (const r of separate ? alone(device) : s.records()) { rows++; if (isBadRow(r)) throw new Error('a bad row in a device source'); }
  }));
  const ms = performance.now() - planned;
  const total = sources.reduce((n, s) => n + s.total, 0);
  if (rows !== total) throw new Error(`read ${rows} rows, planned ${total}`);
  note(`${separate ? 'a pass per device' : sources[0]!.reads}: planning ${(planned - t0).toFixed(0)} ms, ${rows} rows read in ${ms.toFixed(0)} ms`);
  return (rows / ms) * 1000;
}

export async function run(print: (line: string) => void): Promise<void> {
  if (!(Number.isInteger(ROWS) && ROWS >= DEVICES)) throw new Error(`FLEAD_BENCH_SOURCES_ROWS must be an integer ≥ ${DEVICES}, got "${process.env.FLEAD_BENCH_SOURCES_ROWS}"`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'flead-bench-sources-'));
  try {
    const opts = { seed: 3, rows: ROWS, devices: DEVICES, attackFraction: 0.2 };
    const file = path.join(tmp, 'one.csv');
    await writeEdgeCsv(file, opts);
    await writeDeviceFiles(path.join(tmp, 'devices'), opts);
    const layouts: Array<[string, () => DatasetAdapter]> = [
      ['one-file', () => edgeIiotsetAdapter({ path: file, devices: DEVICES })],
      ['device-files', () => edgeIiotsetAdapter({ path: path.join(tmp, 'devices') })],
    ];
    for (const [name, open] of layouts) {
      let now = 0;
      let before = 0;
      for (let r = 0; r < RUNS; r++) {
        now = Math.max(now, await readAll(open(), false));
        before = Math.max(before, await readAll(open(), true));
      }
      print(`bench producer-sources-${name}: ${Math.round(now)} rows/s (${(now / before).toFixed(2)}x a pass per device, ${Math.round(before)} rows/s)`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) run((l) => console.log(l)).catch((e: unknown) => { console.error(e); process.exit(1); });
