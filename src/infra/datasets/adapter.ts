/**
 * The data set port: every data source (Suthaharan WSN, Edge-IIoTset files, the generator) is a DatasetAdapter, so
 * no service is tied to one schema. Also the schema-agnostic helpers: `toSensorReading` and `Standardizer`.
 */
import * as t from 'io-ts';
import { isLeft, left, right, type Either } from 'fp-ts/Either';
import { decodeWith } from '../../protocols/codec';
import type { SensorReading } from '../../protocols/readings';

/** One usable row of a data set. */
export interface DatasetRow {
  deviceId: string;
  /** unique within one adapter's stream, e.g. "device-3/device_3.csv:17" or "mote-1/42" */
  readingId: string;
  /** event time, epoch ms (integer ≥ 0); how each adapter derives it is documented on the adapter */
  ts: number;
  /** the preprocessed features; one-hot columns appear as "column=value" → 0 | 1 */
  features: Record<string, number>;
  /** binary label, 0 normal / 1 anomaly; null when the data set is unlabelled */
  label: number | null;
  /** the multi-class label name (Edge-IIoTset Attack_type, "Normal" included); null when the data set has none */
  attackType: string | null;
  /** the file the row came from (or a pseudo-name such as "generated") */
  file: string;
  /** first physical line of the record in that file, 1-based */
  line: number;
}

/** A record that could not be turned into a DatasetRow. Bad rows are yielded in place and never stop the stream. */
export interface BadRow {
  bad: true;
  file: string;
  line: number;
  /** one sentence starting with the line: "line 17: expected 63 columns, got 62" */
  reason: string;
  /** the record re-encoded as CSV (csvLine), cut at 1,000 characters */
  raw: string;
}

export interface DatasetAdapter {
  name: string;
  /**
   * The feature names rows carry. For adapters that learn one-hot categories while streaming (Edge-IIoTset
   * without a fixed vocabulary) this grows as categories are seen; its final value covers every row, and a name
   * missing from an earlier row's features means 0.
   */
  readonly featureNames: readonly string[];
  /** label names; a binary data set is ['normal', 'anomaly'] */
  classes: readonly string[];
  /** rows in file order; each call starts a fresh pass */
  rows(): AsyncIterable<DatasetRow | BadRow>;
  /**
   * Optional: a fresh pass over one device's good rows, the same rows in the same order as `rows()` filtered to that
   * device, reading only what holds them (Edge-IIoTset `device_N.csv` files: that device's file). Adapters offer it
   * only where that holds; the producer's per-device sources use it instead of a whole pass each.
   */
  rowsOf?(device: string): AsyncIterable<DatasetRow>;
}

export const BINARY_CLASSES: readonly string[] = ['normal', 'anomaly'];

export const isBadRow = (r: DatasetRow | BadRow): r is BadRow => (r as BadRow).bad === true;

const RAW_LIMIT = 1000;
/** Cut a raw record for a BadRow. */
export const clipRaw = (raw: string): string => (raw.length > RAW_LIMIT ? `${raw.slice(0, RAW_LIMIT - 1)}…` : raw);

/** A DatasetRow as the `edge-iiot-stream` message; `source` (e.g. the adapter name) is set when given. */
export function toSensorReading(row: DatasetRow, source?: string): SensorReading {
  return {
    deviceId: row.deviceId,
    readingId: row.readingId,
    ts: row.ts,
    features: { ...row.features },
    label: row.label,
    attackType: row.attackType,
    ...(source !== undefined ? { source } : {}),
  };
}

/** Rows only (bad rows dropped), collected into an array: tests and small data sets. */
export async function collectRows(adapter: DatasetAdapter): Promise<{ rows: DatasetRow[]; bad: BadRow[] }> {
  const rows: DatasetRow[] = [];
  const bad: BadRow[] = [];
  for await (const r of adapter.rows()) (isBadRow(r) ? bad.push(r) : rows.push(r));
  return { rows, bad };
}

// ---------------------------------------------------------------------------------------------------------------
// Standardizer

export const StandardizerJson = t.type(
  {
    kind: t.literal('standardizer'),
    featureNames: t.array(t.string),
    mean: t.array(t.number),
    std: t.array(t.number),
    count: t.number,
  },
  'StandardizerJson',
);
export type StandardizerJson = t.TypeOf<typeof StandardizerJson>;

/**
 * z = (x − mean) / std per feature, with the population standard deviation (divide by n, as scikit-learn's
 * StandardScaler). A feature with zero variance (or never seen) gets std 1, so it maps to x − mean. A feature
 * missing from a row counts as 0, when fitting and when transforming (one-hot semantics).
 */
export class Standardizer {
  private constructor(
    readonly featureNames: readonly string[],
    readonly mean: readonly number[],
    readonly std: readonly number[],
    readonly count: number,
  ) {}

  /** Fit on rows' feature records (Welford's algorithm: one pass, numerically stable). */
  static fit(featureNames: readonly string[], rows: Iterable<Record<string, number>>): Standardizer {
    const acc = new StandardizerFitter(featureNames);
    for (const r of rows) acc.add(r);
    return acc.result();
  }

  static async fitAsync(featureNames: readonly string[], rows: AsyncIterable<Record<string, number>>): Promise<Standardizer> {
    const acc = new StandardizerFitter(featureNames);
    for await (const r of rows) acc.add(r);
    return acc.result();
  }

  /** @internal use fit / StandardizerFitter / decode */
  static of(featureNames: readonly string[], mean: readonly number[], std: readonly number[], count: number): Standardizer {
    return new Standardizer([...featureNames], [...mean], [...std], count);
  }

  transform(features: Record<string, number>): Record<string, number> {
    const out: Record<string, number> = {};
    this.featureNames.forEach((name, i) => {
      out[name] = ((features[name] ?? 0) - this.mean[i]!) / this.std[i]!;
    });
    return out;
  }

  /** The standardised features as a vector in featureNames order (what a model consumes). */
  vector(features: Record<string, number>): Float32Array {
    const v = new Float32Array(this.featureNames.length);
    this.featureNames.forEach((name, i) => {
      v[i] = ((features[name] ?? 0) - this.mean[i]!) / this.std[i]!;
    });
    return v;
  }

  toJSON(): StandardizerJson {
    return { kind: 'standardizer', featureNames: [...this.featureNames], mean: [...this.mean], std: [...this.std], count: this.count };
  }

  /** From `toJSON()` output (parsed); a readable sentence when it does not fit. */
  static decode(json: unknown): Either<string, Standardizer> {
    const r = decodeWith(StandardizerJson, json);
    if (isLeft(r)) return r;
    const { featureNames, mean, std, count } = r.right;
    const n = featureNames.length;
    if (mean.length !== n || std.length !== n) {
      return left(`StandardizerJson: ${n} feature names but ${mean.length} means and ${std.length} standard deviations`);
    }
    const badStd = std.findIndex((s) => !(Number.isFinite(s) && s > 0));
    if (badStd >= 0) return left(`StandardizerJson: std of ${featureNames[badStd]} must be a positive number, got ${std[badStd]}`);
    const badMean = mean.findIndex((m) => !Number.isFinite(m));
    if (badMean >= 0) return left(`StandardizerJson: mean of ${featureNames[badMean]} must be finite, got ${mean[badMean]}`);
    return right(Standardizer.of(featureNames, mean, std, count));
  }
}

/** Online fitting: `add` rows as they stream past, `result` at any time. */
export class StandardizerFitter {
  private n = 0;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;

  constructor(readonly featureNames: readonly string[]) {
    this.mean = new Float64Array(featureNames.length);
    this.m2 = new Float64Array(featureNames.length);
  }

  add(features: Record<string, number>): void {
    this.n++;
    this.featureNames.forEach((name, i) => {
      const x = features[name] ?? 0;
      const d = x - this.mean[i]!;
      this.mean[i] = this.mean[i]! + d / this.n;
      this.m2[i] = this.m2[i]! + d * (x - this.mean[i]!);
    });
  }

  result(): Standardizer {
    const std = Array.from(this.m2, (m2) => {
      const s = this.n > 0 ? Math.sqrt(m2 / this.n) : 0;
      return s > 1e-12 ? s : 1;
    });
    return Standardizer.of(this.featureNames, Array.from(this.mean), std, this.n);
  }
}
