/**
 * Open a data set by name. Every one is a DatasetAdapter, so services depend on the port, not on a schema.
 *
 * - 'wsn': the Suthaharan WSN data from its npm package (wsn.ts).
 * - 'edge-iiotset': Edge-IIoTset CSV files the user points at (edge-iiotset.ts).
 * - 'generated': Edge-IIoTset-shaped rows from the seeded generator, parsed in memory through the same loader as
 *   real files (so quirks exercise the same code); device N's rows come from source "generated/device_N.csv" and
 *   belong to `device-N`, as if read from writeDeviceFiles output.
 */
import { Readable } from 'node:stream';
import type { DatasetAdapter } from './adapter';
import { parseCsv } from './csv';
import { generateEdgeRows, type EdgeGeneratorOptions } from './edge-generator';
import { edgeAdapterFromSources, edgeIiotsetAdapter, type EdgeIiotsetOptions, type EdgeSource } from './edge-iiotset';
import { wsnAdapter, type WsnOptions } from './wsn';

export * from './adapter';
export { csvLine, parseCsv, parseCsvText, CsvParser, type CsvRecord } from './csv';
export { edgeIiotsetAdapter, type EdgeIiotsetAdapter, type EdgeIiotsetOptions } from './edge-iiotset';
export { EDGE_IIOTSET_CLASSES, EDGE_IIOTSET_HEADER } from './edge-iiotset-schema';
export { generateEdgeRows, type EdgeGeneratorOptions } from './edge-generator';
export { writeDeviceFiles, writeEdgeCsv } from './edge-files';
export { wsnAdapter, type WsnOptions } from './wsn';

/** Generator options plus the loader's (labels, vocabulary, shifted, dropDuplicates). */
export type GeneratedDatasetOptions = EdgeGeneratorOptions & Omit<EdgeIiotsetOptions, 'path' | 'devices' | 'assign'>;

export interface OpenDatasetOptions {
  wsn: WsnOptions;
  'edge-iiotset': EdgeIiotsetOptions;
  generated: GeneratedDatasetOptions;
}
export type DatasetName = keyof OpenDatasetOptions;
export const DATASET_NAMES: readonly DatasetName[] = ['wsn', 'edge-iiotset', 'generated'];

export function openDataset<N extends DatasetName>(name: N, opts: OpenDatasetOptions[N]): DatasetAdapter;
export function openDataset(name: DatasetName, opts: OpenDatasetOptions[DatasetName]): DatasetAdapter {
  switch (name) {
    case 'wsn':
      return wsnAdapter(opts as WsnOptions);
    case 'edge-iiotset':
      return edgeIiotsetAdapter(opts as EdgeIiotsetOptions);
    case 'generated':
      return generatedAdapter(opts as GeneratedDatasetOptions);
    default: {
      const never: never = name;
      throw new RangeError(`unknown data set ${JSON.stringify(never)}; known: ${DATASET_NAMES.join(', ')}`);
    }
  }
}

/** The generated data set as an adapter: one in-memory source per device. */
export function generatedAdapter(opts: GeneratedDatasetOptions): DatasetAdapter {
  const sources: EdgeSource[] = Array.from({ length: opts.devices }, (_, i) => ({
    file: `generated/device_${i + 1}.csv`,
    device: `device-${i + 1}`,
    records: () => parseCsv(Readable.from(lines({ ...opts, onlyDevice: i + 1 }))),
  }));
  return edgeAdapterFromSources(sources, { ...opts, name: opts.name ?? 'generated' });
}

function* lines(opts: EdgeGeneratorOptions): Generator<string> {
  for (const line of generateEdgeRows(opts)) yield `${line}\n`;
}
