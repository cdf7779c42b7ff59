/**
 * Model storage on local disk (`models/` by default, MODELS_DIR): content-addressed float32 blobs
 * (`blobs/<sha256>.f32`, little-endian, immutable, written atomically) for accepted local updates and
 * global models, and one `v<version>.json` per global version with its lineage. Writing a blob that exists is
 * a no-op, so effects that are re-run after a crash are harmless.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fromLittleEndianBytes, hashWeights, toLittleEndianBytes } from '../protocols/weights';

export interface ModelStore {
  readonly dir: string;
  putBlob(flat: Float32Array): Promise<string>;
  /** undefined when no blob has that hash */
  getBlob(hash: string): Promise<Float32Array | undefined>;
  writeVersion(version: number, meta: unknown): Promise<void>;
  readVersion(version: number): Promise<unknown | undefined>;
  listVersions(): Promise<number[]>;
}

async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const fh = await fs.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.rename(tmp, file);
}

const exists = (f: string) => fs.access(f).then(() => true, () => false);

export async function createModelStore(dir: string): Promise<ModelStore> {
  const blobs = path.join(dir, 'blobs');
  await fs.mkdir(blobs, { recursive: true });
  const blobFile = (hash: string) => {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`not a sha256 hash: ${hash}`);
    return path.join(blobs, `${hash}.f32`);
  };
  return {
    dir,
    async putBlob(flat) {
      const hash = hashWeights(flat);
      const file = blobFile(hash);
      if (!(await exists(file))) await writeAtomic(file, toLittleEndianBytes(flat));
      return hash;
    },
    async getBlob(hash) {
      try {
        const bytes = await fs.readFile(blobFile(hash));
        return fromLittleEndianBytes(bytes);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    async writeVersion(version, meta) {
      await writeAtomic(path.join(dir, `v${version}.json`), `${JSON.stringify(meta, null, 2)}\n`);
    },
    async readVersion(version) {
      try {
        return JSON.parse(await fs.readFile(path.join(dir, `v${version}.json`), 'utf8'));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    async listVersions() {
      const names = await fs.readdir(dir);
      return names.map((n) => /^v(\d+)\.json$/.exec(n)).filter((m): m is RegExpExecArray => !!m).map((m) => Number(m[1])).sort((a, b) => a - b);
    },
  };
}
