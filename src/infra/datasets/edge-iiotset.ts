/**
 * Edge-IIoTset CSV files (Ferrag et al., IEEE Access 2022; academic licence: users download the files and point
 * us at them; no row is ever stored in this repository).
 *
 * Input: one file, a list of files, or a directory. In a directory, `device_N.csv` files are read in N order and
 * each is device `device-N`; a directory without them is read as all its `*.csv` files (sorted by name). A file
 * named `device_N.csv` is device N wherever it is; any other file's rows are split over `devices` synthetic devices
 * `device-1`…`device-<devices>`, round-robin (global row order over all files) or by an FNV-1a hash of
 * `ip.src_host`.
 *
 * Documented choices:
 * - Header: must be exactly the 63 names of EDGE_IIOTSET_HEADER, in order; otherwise rows() throws an
 *   InfraError('corrupt') naming the file and the first differing column.
 * - `frame.time`: " 2021 11:44:10.081753000 " (year and time of day, no month or day) → Date.UTC(year, 0, 1) + time
 *   of day, ms truncated (so the stream is ordered within a day only). A value Date.parse understands (a full date)
 *   is used as is. Anything else (empty, garbage, a negative time) → EDGE_FALLBACK_EPOCH_MS + (data-row index in its
 *   file) × 1 ms. `stats().fallbackTimestamps` counts those.
 * - Shifted rows (an IPv4 address where `frame.time` should be): with `shifted: 'realign'` (default) a 64-column
 *   row whose first field is an IPv4 address is realigned by dropping that first field, then checked like any
 *   other row; a shifted row of any other width is a bad row. With `shifted: 'bad'` every shifted row is a bad row.
 *   Both are counted in `stats().shifted` / `stats().realigned`.
 * - Preprocessing (DATA.md): the 15 identity/payload columns are dropped; the 7 text columns are one-hot encoded as
 *   "column=value" with values canonicalised (trimmed; a numeric text such as "0.0" becomes "0", so `0` and `0.0`
 *   are one category); the other 39 columns must parse as finite numbers (decimal, exponent or 0x hex; empty is
 *   not a number). Categories are learnt in first-seen order (featureNames grows while streaming) unless
 *   `vocabulary` fixes them; with a fixed vocabulary an unseen value sets no one-hot column (all 0) and is counted
 *   in `stats().unknownCategories`.
 * - Labels: `Attack_label` must be 0 or 1 (`0.0`/`1.0` accepted), `Attack_type` one of EDGE_IIOTSET_CLASSES, and
 *   they must agree (Normal ⇔ 0). `label` is the binary label, `attackType` the 15-class name; `classes` is
 *   EDGE_IIOTSET_CLASSES (`labels: 'multiclass'`, default) or ['normal', 'anomaly'] (`labels: 'binary'`).
 * - Blank records are skipped (counted in `stats().blank`); duplicates (same kept columns and labels, after the
 *   drop) are skipped only with `dropDuplicates: true` (it keeps a 16-byte hash per distinct row in memory).
 * - Bad rows (wrong column count, non-numeric numeric feature, missing or unknown label, unterminated quote) are
 *   yielded as BadRow in place and never stop the stream.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InfraError } from '../errors';
import { stripUndefined } from '../objects';
import { BINARY_CLASSES, clipRaw, isBadRow, type BadRow, type DatasetAdapter, type DatasetRow } from './adapter';
import { csvLine, parseCsv, type CsvRecord } from './csv';
import { canonicalCategory, fnv1a, parseFrameTime, parseNumber } from './edge-iiotset-fields';
import { EDGE_IIOTSET_CLASSES, EDGE_IIOTSET_HEADER, EDGE_NUMERIC_COLUMNS, EDGE_ONE_HOT_COLUMNS, type EdgeColumn } from './edge-iiotset-schema';

export { Standardizer, StandardizerFitter } from './adapter';

/** Time base of rows whose frame.time cannot be read: 2021-01-01T00:00:00Z (the capture year). */
export const EDGE_FALLBACK_EPOCH_MS = Date.UTC(2021, 0, 1);

export type OneHotVocabulary = Partial<Record<EdgeColumn, readonly string[]>>;

export interface EdgeIiotsetOptions {
  /** a file, a list of files, or a directory (see the module doc) */
  path: string | readonly string[];
  /** synthetic devices for rows of files not named device_N.csv */
  devices?: number;
  assign?: 'round-robin' | 'hash';
  shifted?: 'realign' | 'bad';
  labels?: 'multiclass' | 'binary';
  /** fixed one-hot categories per text column; columns not listed are learnt */
  vocabulary?: OneHotVocabulary;
  dropDuplicates?: boolean;
  /** adapter name */
  name?: string;
}

export const EDGE_DEFAULTS = {
  devices: 10,
  assign: 'round-robin',
  shifted: 'realign',
  labels: 'multiclass',
  dropDuplicates: false,
  name: 'edge-iiotset',
} as const;

/** Counts of the last (or current) pass. */
export interface EdgeStats {
  records: number;
  rows: number;
  bad: number;
  blank: number;
  duplicates: number;
  shifted: number;
  realigned: number;
  fallbackTimestamps: number;
  unknownCategories: number;
  /** bad-row count per reason kind: "columns", "number", "label", "shifted", "quote" */
  badByKind: Record<string, number>;
}

export interface EdgeIiotsetAdapter extends DatasetAdapter {
  /** the one-hot categories known so far, per text column */
  vocabulary(): Record<string, readonly string[]>;
  stats(): EdgeStats;
  /** the files in read order with their device (null: split over synthetic devices) */
  readonly files: ReadonlyArray<{ file: string; device: string | null }>;
}

/** A source of Edge-IIoTset records: a file, or generated text (see index.ts). */
export interface EdgeSource {
  file: string;
  /** null: rows go to synthetic devices by `assign` */
  device: string | null;
  records(): AsyncIterable<CsvRecord>;
}

const DEVICE_FILE = /^device_(\d+)\.csv$/;

/** The files named by a path option, in read order, with their device when the name says it. */
export function resolveEdgeFiles(path: string | readonly string[]): Array<{ file: string; device: string | null }> {
  const deviceOf = (file: string): string | null => {
    const m = DEVICE_FILE.exec(basename(file));
    return m ? `device-${Number(m[1])}` : null;
  };
  const list = typeof path === 'string' ? [path] : [...path];
  if (list.length === 0) throw new InfraError('unavailable', 'edge-iiotset: no file given', false);
  const out: string[] = [];
  for (const p of list) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      throw new InfraError('unavailable', `edge-iiotset: ${p} does not exist`, false);
    }
    if (!isDir) {
      out.push(p);
      continue;
    }
    const names = readdirSync(p);
    const devices = names.filter((n) => DEVICE_FILE.test(n)).sort((a, b) => Number(DEVICE_FILE.exec(a)![1]) - Number(DEVICE_FILE.exec(b)![1]));
    const chosen = devices.length > 0 ? devices : names.filter((n) => n.toLowerCase().endsWith('.csv')).sort();
    if (chosen.length === 0) throw new InfraError('unavailable', `edge-iiotset: ${p} holds no .csv file`, false);
    out.push(...chosen.map((n) => join(p, n)));
  }
  return out.map((file) => ({ file, device: deviceOf(file) }));
}

/** Edge-IIoTset files as a DatasetAdapter. Throws (InfraError 'unavailable') at once when a path does not exist. */
export function edgeIiotsetAdapter(opts: EdgeIiotsetOptions): EdgeIiotsetAdapter {
  const files = resolveEdgeFiles(opts.path);
  const sources: EdgeSource[] = files.map(({ file, device }) => ({ file, device, records: () => parseCsv(file) }));
  return edgeAdapterFromSources(sources, opts, files);
}

/** The adapter over any record sources (files, or generated text). */
export function edgeAdapterFromSources(
  sources: readonly EdgeSource[],
  opts: Omit<EdgeIiotsetOptions, 'path'>,
  files: ReadonlyArray<{ file: string; device: string | null }> = sources.map(({ file, device }) => ({ file, device })),
): EdgeIiotsetAdapter {
  const o = { ...EDGE_DEFAULTS, ...stripUndefined(opts) };
  if (!Number.isInteger(o.devices) || o.devices < 1) {
    throw new RangeError(`edge-iiotset: devices must be a positive integer, got ${o.devices}`);
  }
  const fixed = new Map<string, Set<string>>();
  for (const [col, values] of Object.entries(o.vocabulary ?? {})) {
    if (!EDGE_ONE_HOT_COLUMNS.includes(col as EdgeColumn)) {
      throw new RangeError(`edge-iiotset: vocabulary names ${col}, which is not one of the one-hot columns (${EDGE_ONE_HOT_COLUMNS.join(', ')})`);
    }
    fixed.set(col, new Set((values ?? []).map(canonicalCategory)));
  }
  // categories per one-hot column, in first-seen (or given) order; survives passes so featureNames only grows
  const categories = new Map<string, string[]>(EDGE_ONE_HOT_COLUMNS.map((c) => [c, fixed.has(c) ? [...fixed.get(c)!] : []]));
  // their feature names ("column=value"), in the same order, made once rather than for every row
  const hotNames = new Map<string, string[]>([...categories].map(([c, values]) => [c, values.map((v) => `${c}=${v}`)]));
  let stats = emptyStats();

  const featureNames = (): string[] => [
    ...EDGE_NUMERIC_COLUMNS,
    ...EDGE_ONE_HOT_COLUMNS.flatMap((c) => hotNames.get(c)!),
  ];

  /** One pass over `list`, counting into `counts`. */
  async function* pass(list: readonly EdgeSource[], counts: EdgeStats): AsyncGenerator<DatasetRow | BadRow> {
    const seen = o.dropDuplicates ? new Set<string>() : null;
    let roundRobin = 0;
    for (const source of list) {
      const fileName = basename(source.file);
      let header = true;
      let dataIndex = 0;
      for await (const record of source.records()) {
        if (header) {
          header = false;
          checkHeader(source.file, record);
          continue;
        }
        const index0 = dataIndex++;
        counts.records++;
        const { line } = record;
        let fields = record.fields;
        const bad = (kind: string, reason: string): BadRow => {
          counts.bad++;
          counts.badByKind[kind] = (counts.badByKind[kind] ?? 0) + 1;
          return { bad: true, file: source.file, line, reason: `line ${line}: ${reason}`, raw: clipRaw(csvLine(record.fields)) };
        };
        if (record.error) {
          yield bad('quote', `${record.error} (the file ends inside quotes)`);
          continue;
        }
        if (fields.length === 1 && fields[0]!.trim() === '') {
          counts.blank++;
          continue;
        }
        if (IPV4.test(fields[0]!.trim())) {
          counts.shifted++;
          if (o.shifted === 'bad') {
            yield bad('shifted', `shifted row: frame.time holds an IP address (${fields[0]!.trim()})`);
            continue;
          }
          if (fields.length !== EDGE_IIOTSET_HEADER.length + 1) {
            yield bad('shifted', `shifted row: frame.time holds an IP address (${fields[0]!.trim()}) and it has ${fields.length} columns, not ${EDGE_IIOTSET_HEADER.length + 1}`);
            continue;
          }
          fields = fields.slice(1);
          counts.realigned++;
        }
        if (fields.length !== EDGE_IIOTSET_HEADER.length) {
          yield bad('columns', `expected ${EDGE_IIOTSET_HEADER.length} columns, got ${fields.length}`);
          continue;
        }
        const labels = rowLabels(fields);
        if ('reason' in labels) {
          yield bad('label', labels.reason);
          continue;
        }
        const { label, type: typeText } = labels;
        const numbers = numericFeatures(fields);
        if ('reason' in numbers) {
          yield bad('number', numbers.reason);
          continue;
        }
        const { features } = numbers;
        // one-hot
        const hot: string[] = [];
        for (const col of EDGE_ONE_HOT_COLUMNS) {
          const value = canonicalCategory(at(fields, col));
          const known = categories.get(col)!;
          let i = known.indexOf(value);
          if (i < 0) {
            if (fixed.has(col)) {
              counts.unknownCategories++;
              continue;
            }
            i = known.push(value) - 1;
            hotNames.get(col)!.push(`${col}=${value}`);
          }
          hot.push(hotNames.get(col)![i]!);
        }
        if (seen) {
          const key = createHash('sha1')
            .update(csvLine([...EDGE_NUMERIC_COLUMNS.map((c) => String(features[c])), ...hot, String(label), typeText]))
            .digest()
            .subarray(0, 16)
            .toString('base64');
          if (seen.has(key)) {
            counts.duplicates++;
            continue;
          }
          seen.add(key);
        }
        for (const col of EDGE_ONE_HOT_COLUMNS) for (const name of hotNames.get(col)!) features[name] = 0;
        for (const h of hot) features[h] = 1;
        // time and device
        let ts = parseFrameTime(at(fields, 'frame.time'));
        if (ts === null) {
          counts.fallbackTimestamps++;
          ts = EDGE_FALLBACK_EPOCH_MS + index0;
        }
        let deviceId = source.device;
        if (deviceId === null) {
          const n = o.assign === 'hash' ? fnv1a(at(fields, 'ip.src_host').trim()) % o.devices : roundRobin++ % o.devices;
          deviceId = `device-${n + 1}`;
        }
        counts.rows++;
        yield {
          deviceId,
          readingId: `${deviceId}/${fileName}:${line}`,
          ts,
          features,
          label,
          attackType: typeText,
          file: source.file,
          line,
        };
      }
      if (header) throw new InfraError('corrupt', `edge-iiotset: ${source.file} is empty (no header)`, false);
    }
  }

  async function* rows(): AsyncGenerator<DatasetRow | BadRow> {
    stats = emptyStats();
    yield* pass(sources, stats);
  }

  // A device's rows come from its own files alone when every file names its device and no row is dropped as a
  // duplicate of another file's: then its pass reads those files only (the counts of the adapter's last pass stay).
  const ownFiles = !o.dropDuplicates && sources.every((src) => src.device !== null);
  async function* rowsOf(device: string): AsyncGenerator<DatasetRow> {
    for await (const r of pass(sources.filter((src) => src.device === device), emptyStats())) if (!isBadRow(r)) yield r;
  }

  return {
    name: o.name,
    get featureNames() {
      return featureNames();
    },
    classes: o.labels === 'binary' ? BINARY_CLASSES : EDGE_IIOTSET_CLASSES,
    rows,
    ...(ownFiles ? { rowsOf } : {}),
    vocabulary: () => Object.fromEntries([...categories].map(([c, v]) => [c, [...v]])),
    stats: () => ({ ...stats, badByKind: { ...stats.badByKind } }),
    files,
  };
}

const COLUMN_INDEX = new Map<string, number>(EDGE_IIOTSET_HEADER.map((c, i) => [c, i]));
const at = (fields: readonly string[], col: EdgeColumn): string => fields[COLUMN_INDEX.get(col)!]!;

/** A row's Attack_label and Attack_type, checked against each other, or why they cannot be used. */
function rowLabels(fields: readonly string[]): { label: 0 | 1; type: string } | { reason: string } {
  const labelText = at(fields, 'Attack_label').trim();
  const type = at(fields, 'Attack_type').trim();
  if (labelText === '') return { reason: 'missing label Attack_label' };
  if (type === '') return { reason: 'missing label Attack_type' };
  const label = Number(labelText);
  if (label !== 0 && label !== 1) return { reason: `Attack_label must be 0 or 1, got ${JSON.stringify(labelText)}` };
  if (!(EDGE_IIOTSET_CLASSES as readonly string[]).includes(type)) return { reason: `Attack_type is not a known class: ${JSON.stringify(type)}` };
  if ((type === 'Normal') !== (label === 0)) return { reason: `Attack_label ${label} disagrees with Attack_type ${type}` };
  return { label, type };
}

/** A row's numeric columns as features, or the first that is not a number. */
function numericFeatures(fields: readonly string[]): { features: Record<string, number> } | { reason: string } {
  const features: Record<string, number> = {};
  for (const col of EDGE_NUMERIC_COLUMNS) {
    const text = at(fields, col);
    const v = parseNumber(text);
    if (v === null) return { reason: `${col} is not a number: ${JSON.stringify(text)}` };
    features[col] = v;
  }
  return { features };
}

function emptyStats(): EdgeStats {
  return { records: 0, rows: 0, bad: 0, blank: 0, duplicates: 0, shifted: 0, realigned: 0, fallbackTimestamps: 0, unknownCategories: 0, badByKind: {} };
}

/** Throws InfraError('corrupt') naming the first column that differs from EDGE_IIOTSET_HEADER. */
export function checkHeader(file: string, record: CsvRecord): void {
  const got = record.fields;
  const want = EDGE_IIOTSET_HEADER;
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    if (got[i] === want[i]) continue;
    const what =
      i >= want.length
        ? `has an extra column ${i + 1} ${JSON.stringify(got[i])}`
        : i >= got.length
          ? `ends after column ${i}; column ${i + 1} should be ${JSON.stringify(want[i])}`
          : `column ${i + 1} is ${JSON.stringify(got[i])}, expected ${JSON.stringify(want[i])}`;
    throw new InfraError('corrupt', `edge-iiotset: ${file} is not an Edge-IIoTset file: its header ${what} (${got.length} columns, expected ${want.length})`, false);
  }
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;
