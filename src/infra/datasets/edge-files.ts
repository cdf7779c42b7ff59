/** Generated Edge-IIoTset rows (edge-generator.ts) written to CSV files: one file, or `device_N.csv` per device. */
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { csvLine } from './csv';
import { generateEdgeRecords, generateEdgeRows, type EdgeGeneratorOptions } from './edge-generator';
import { EDGE_IIOTSET_HEADER } from './edge-iiotset-schema';

async function writeLines(ws: ReturnType<typeof createWriteStream>, text: string): Promise<void> {
  if (!ws.write(text)) await once(ws, 'drain');
}

async function close(ws: ReturnType<typeof createWriteStream>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    ws.on('error', reject);
    ws.end(() => resolve());
  });
}

/** One CSV file with every device's rows; returns the number of data rows written. */
export async function writeEdgeCsv(path: string, opts: EdgeGeneratorOptions & { eol?: '\n' | '\r\n' }): Promise<{ rows: number }> {
  const eol = opts.eol ?? '\n';
  const ws = createWriteStream(path);
  let rows = -1;
  for (const line of generateEdgeRows(opts)) {
    await writeLines(ws, line + eol);
    rows++;
  }
  await close(ws);
  return { rows };
}

/** `device_N.csv` per device (N = 1…devices, each with the header) in dir (created); returns the paths written. */
export async function writeDeviceFiles(dir: string, opts: EdgeGeneratorOptions & { eol?: '\n' | '\r\n' }): Promise<string[]> {
  const eol = opts.eol ?? '\n';
  mkdirSync(dir, { recursive: true });
  const paths = Array.from({ length: opts.devices }, (_, i) => join(dir, `device_${i + 1}.csv`));
  const streams = paths.map((p) => createWriteStream(p));
  const header = EDGE_IIOTSET_HEADER.join(',') + eol;
  for (const ws of streams) await writeLines(ws, header);
  for (const r of generateEdgeRecords(opts)) await writeLines(streams[r.device - 1]!, csvLine(r.fields) + eol);
  for (const ws of streams) await close(ws);
  return paths;
}
