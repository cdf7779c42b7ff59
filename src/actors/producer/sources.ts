/**
 * What a producer streams: one source per device when the data set has few devices (so devices interleave
 * in time even when the file is sorted by device, as the WSN file is), a single source otherwise, and a
 * separate source for the bad rows (they go to the dead-letter topic). Each source is a fresh, deterministic
 * pass over the adapter's rows, filtered (a device's own rows where the adapter offers them: `rowsOf`; one pass
 * shared by the devices' sources when they interleave row by row: `SharedPass`); its position counts the records
 * it yields.
 */
import { createHash, type Hash } from 'node:crypto';
import { InfraError } from '../../infra/errors';
import { escapeName } from '../runtime/nact';
import type { BadRow, DatasetAdapter, DatasetRow } from '../../infra/datasets/adapter';
import { isBadRow } from '../../infra/datasets/adapter';
import { SharedPass } from './shared-pass';

export interface ProducerSource {
  /** actor name and journal key part: "mote-1", "all", "invalid" */
  id: string;
  /** records this source will yield (known after the planning pass) */
  total: number;
  records(): AsyncIterable<DatasetRow | BadRow>;
  /** sha-256 over the source's records in order (ids, times, labels, features; bad rows' line and reason) */
  digest: string;
  /** says that records() will not be called (the source is exhausted), so a pass it shares need not keep its rows */
  release?(): void;
  /** how its records are read, in words: "kept in memory", "its own files", "one pass shared by the devices", "a pass of its own" */
  reads: string;
}

/** One line per record for the digest: what a reading says (`values`: its features' values), or where and why a row was bad. */
const digestLine = (r: DatasetRow | BadRow, values: readonly number[]): string =>
  isBadRow(r) ? `bad\t${r.line}\t${r.reason}\n` : `${r.readingId}\t${r.ts}\t${r.label}\t${r.attackType}\t${values.join(',')}\n`;
const none: readonly number[] = [];
const ALONE = 'a pass of its own';
const SHARED = 'one pass shared by the devices';

async function* filter(adapter: DatasetAdapter, keep: (r: DatasetRow | BadRow) => boolean): AsyncIterable<DatasetRow | BadRow> {
  for await (const r of adapter.rows()) if (keep(r)) yield r;
}

const safeId = (s: string) => s.replace(/[^a-z0-9-_.]/gi, '_');

/**
 * Source ids (actor names and journal keys) of device ids: the readable `safeId` (the journal keys of earlier
 * runs), and the one-to-one `escapeName` for devices whose safe ids would coincide (a/b and a_b); an InfraError
 * when even those coincide with another device's id.
 */
export function sourceIds(devices: readonly string[]): Map<string, string> {
  const bySafe = new Map<string, number>();
  for (const d of devices) bySafe.set(safeId(d), (bySafe.get(safeId(d)) ?? 0) + 1);
  const ids = new Map(devices.map((d) => [d, bySafe.get(safeId(d))! > 1 ? escapeName(d) : safeId(d)]));
  const owner = new Map<string, string>();
  for (const [d, id] of ids) {
    const other = owner.get(id);
    if (other !== undefined) throw new InfraError('conflict', `producer: devices ${JSON.stringify(other)} and ${JSON.stringify(d)} would share the source id ${id}; rename one of them`, false);
    owner.set(id, d);
  }
  return ids;
}

async function* fromArray<T>(xs: readonly T[]): AsyncIterable<T> {
  for (const x of xs) yield x;
}

/**
 * One planning pass over the data: counts per device and bad rows. Small data sets (up to `cacheRows` records
 * and `cacheValues` feature values: 20,000 generated Edge-IIoTset rows hold 1.2 million, 67 MiB of heap as row
 * objects) are kept in memory from this pass, so the per-device sources do not parse the files again.
 */
export interface PlanOptions {
  /** more devices than this stream as one source, "all" (64) */
  maxPerDeviceSources?: number;
  /** records kept in memory at most (200,000; 0: none) */
  cacheRows?: number;
  /** feature values kept in memory at most (1,500,000) */
  cacheValues?: number;
  /** told every `PLAN_PROGRESS_EVERY` records read, with their count (a large file takes a while) */
  onProgress?(records: number): void;
}

/** records between two progress calls of the planning pass */
export const PLAN_PROGRESS_EVERY = 250_000;

export async function planSources(adapter: DatasetAdapter, opts: PlanOptions = {}): Promise<ProducerSource[]> {
  const { maxPerDeviceSources = 64, cacheRows = 200_000, cacheValues = 1_500_000, onProgress } = opts;
  const perDevice = new Map<string, number>();
  const digests = new Map<string, Hash>();
  const hashOf = (key: string): Hash => {
    let h = digests.get(key);
    if (!h) digests.set(key, (h = createHash('sha256')));
    return h;
  };
  const all = createHash('sha256');
  const invalid = createHash('sha256');
  let bad = 0;
  // consecutive good rows of different devices: how much the devices interleave in the data
  let good = 0;
  let switches = 0;
  let lastDevice: string | null = null;
  let cache: Array<DatasetRow | BadRow> | null = [];
  let cachedValues = 0;
  let byDevice: Map<string, DatasetRow[]> | undefined;
  let records = 0;
  for await (const r of adapter.rows()) {
    if (++records % PLAN_PROGRESS_EVERY === 0) onProgress?.(records);
    const values = isBadRow(r) ? none : Object.values(r.features);
    const line = digestLine(r, values);
    if (isBadRow(r)) {
      bad++;
      invalid.update(line);
    } else {
      perDevice.set(r.deviceId, (perDevice.get(r.deviceId) ?? 0) + 1);
      good++;
      if (lastDevice !== null && r.deviceId !== lastDevice) switches++;
      lastDevice = r.deviceId;
      hashOf(r.deviceId).update(line);
      all.update(line);
    }
    if (cache) {
      cache.push(r);
      cachedValues += values.length + 1;
      if (cache.length > cacheRows || cachedValues > cacheValues) cache = null;
    }
  }
  if (cache) {
    // Adapters that learn one-hot categories while streaming give early rows fewer features; a later pass
    // gives every row all of them (absent = 0). Rows kept from the planning pass are completed the same way.
    const names = adapter.featureNames;
    const rows = cache.map((r) => {
      if (isBadRow(r) || names.every((n) => n in r.features)) return r;
      const features: Record<string, number> = {};
      for (const n of names) features[n] = r.features[n] ?? 0;
      return { ...r, features };
    });
    const cached: DatasetAdapter = { name: adapter.name, featureNames: adapter.featureNames, classes: adapter.classes, rows: () => fromArray(rows) };
    adapter = cached;
    // each device's rows apart, in file order: a source then passes over its own rows only
    byDevice = new Map();
    for (const r of rows) {
      if (isBadRow(r)) continue;
      const own = byDevice.get(r.deviceId);
      if (own) own.push(r);
      else byDevice.set(r.deviceId, [r]);
    }
  }
  const sources: ProducerSource[] = [];
  const whole = adapter;
  // devices that interleave row by row share one pass (a quarter of the rows or more start another device's run),
  // and the bad rows' source joins it (it would pass over the whole data for them otherwise)
  const perDeviceSources = perDevice.size <= maxPerDeviceSources;
  const pass = perDeviceSources && !byDevice && !whole.rowsOf && perDevice.size > 1 && switches * 4 >= good
    ? new SharedPass(() => whole.rows(), [...perDevice.keys()], { badRows: bad > 0 }) : null;
  if (perDeviceSources) {
    const ids = sourceIds([...perDevice.keys()]);
    for (const [device, total] of [...perDevice.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))) {
      const own = byDevice?.get(device);
      const alone = () => filter(whole, (r) => !isBadRow(r) && r.deviceId === device);
      const [records, reads] = own ? [() => fromArray(own), 'kept in memory']
        : whole.rowsOf ? [() => whole.rowsOf!(device), 'its own files']
          : pass ? [() => pass.attach(device) ?? alone(), SHARED] : [alone, ALONE];
      sources.push({ id: ids.get(device)!, total, digest: hashOf(device).digest('hex'), records, reads, ...(pass ? { release: () => pass.release(device) } : {}) });
    }
  } else {
    const total = [...perDevice.values()].reduce((a, b) => a + b, 0);
    sources.push({ id: 'all', total, digest: all.digest('hex'), records: () => filter(whole, (r) => !isBadRow(r)), reads: ALONE });
  }
  if (bad > 0) {
    const alone = () => filter(whole, isBadRow);
    sources.push({
      id: 'invalid', total: bad, digest: invalid.digest('hex'), records: pass ? () => pass.attachBadRows() ?? alone() : alone, reads: pass ? SHARED : ALONE,
      ...(pass ? { release: () => pass.releaseBadRows() } : {}),
    });
  }
  return sources;
}
