/**
 * Which run an embedded profile's directories hold. The journal, bus and database under FLEAD_DATA_DIR and the
 * global models' lineage under MODELS_DIR belong to one data set and one model: a second `flead embedded` with
 * another data set (or generator settings, model, feature transform) on the same directories would mix two
 * streams in one journal and database, offer one model's weights to the other's devices ("layers that do not match
 * MODEL_SPEC") and write its global versions over the first run's `v<N>.json`. So the first run records what it
 * is in `run.json` in both directories, and a later run whose settings differ stops before opening anything,
 * saying what differs and how to run it on directories of its own. Directories written before this record existed
 * are taken as they are (the run records itself in them).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config';

export interface RunIdentity {
  dataset: string;
  /** the generator's settings (--dataset generated only) */
  generator?: { rows: number; devices: number; seed: number };
  model: { spec: Config['model']['spec']; seed: number; features: string[] | null };
  transform: Config['trainer']['transform'];
}

export const runFile = 'run.json';

export function runIdentity(config: Config, values: Record<string, unknown>): RunIdentity {
  const generator = config.producer.dataset === 'generated'
    ? { rows: values.rows as number, devices: values.devices as number, seed: values.seed as number }
    : undefined;
  return {
    dataset: config.producer.dataset,
    ...(generator ? { generator } : {}),
    model: { spec: config.model.spec, seed: config.model.seed, features: config.model.features },
    transform: config.trainer.transform,
  };
}

const json = (x: unknown) => JSON.stringify(x) ?? 'none';

/**
 * What differs between the recorded run and the asked one, one phrase each ("data set: "wsn" recorded, "generated"
 * asked"). Another data set is said alone: the model and the transform follow from it.
 */
export function runDifferences(recorded: RunIdentity, asked: RunIdentity): string[] {
  const out: string[] = [];
  const differ = (what: string, a: unknown, b: unknown) => { if (json(a) !== json(b)) out.push(`${what}: ${json(a)} recorded, ${json(b)} asked`); };
  differ('data set', recorded.dataset, asked.dataset);
  if (out.length) return out;
  differ('generator (--rows, --devices, --seed)', recorded.generator, asked.generator);
  differ('model (MODEL_SPEC)', recorded.model.spec, asked.model.spec);
  differ('model seed (MODEL_SEED)', recorded.model.seed, asked.model.seed);
  const [fa, fb] = [recorded.model.features, asked.model.features];
  if (json(fa) !== json(fb)) out.push(`features (MODEL_FEATURES): ${fa ? `${fa.length} named` : "each device's own"} recorded, ${fb ? `${fb.length} named` : "each device's own"} asked${fa && fb && fa.length === fb.length ? ' (other names or order)' : ''}`);
  differ('feature transform (FEATURE_TRANSFORM)', recorded.transform, asked.transform);
  return out;
}

const exists = (p: string): Promise<boolean> => fs.access(p).then(() => true, () => false);

async function readRecord(dir: string): Promise<RunIdentity | 'unreadable' | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, runFile), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const x = JSON.parse(text) as RunIdentity;
    return typeof x === 'object' && x !== null && typeof x.dataset === 'string' && typeof x.model === 'object' ? x : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

export type RunCheck =
  | { ok: true; recorded: 'new' | 'same' }
  | { ok: false; reason: string };

/**
 * Compare the asked run with what each directory records, and record it where nothing is recorded yet. The
 * first directory that records another run refuses: nothing is written anywhere then.
 */
export async function claimRunDirs(dirs: { dataDir: string; modelsDir: string }, asked: RunIdentity, how: string): Promise<RunCheck> {
  const named = [
    { dir: dirs.dataDir, what: 'journal, bus and database', env: 'FLEAD_DATA_DIR' },
    { dir: dirs.modelsDir, what: 'global models', env: 'MODELS_DIR' },
  ];
  const records = await Promise.all(named.map((n) => readRecord(n.dir)));
  const refusals = named.map((n, i) => {
    const r = records[i];
    if (r === undefined) return undefined;
    const diffs = r === 'unreadable' ? [`${path.join(n.dir, runFile)} is not a run record`] : runDifferences(r, asked);
    return diffs.length ? diffs.join('; ') : undefined;
  });
  // Global models that no run recorded, next to a data directory with no journal: not an embedded run from before
  // the record but another writer's (the local profile's aggregator writes MODELS_DIR=./models too); this run's
  // versions would overwrite them.
  if (records[0] === undefined && records[1] === undefined && !(await exists(path.join(dirs.dataDir, 'journal')))) {
    const models = (await fs.readdir(dirs.modelsDir).catch(() => [] as string[])).filter((f) => /^v\d+\.json$/.test(f)).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
    if (models.length) {
      return {
        ok: false,
        reason: `${dirs.modelsDir} (global models) holds ${models.length} global model(s) that no embedded run recorded (${models.slice(0, 3).join(', ')}${models.length > 3 ? ', …' : ''}; ` +
          `the local profile's aggregator writes to MODELS_DIR too), and this run would write its versions over them: run it on a directory of its own: ` +
          `MODELS_DIR=${dirs.modelsDir}-embedded ${how} (or remove ${dirs.modelsDir})`,
      };
    }
  }
  const refused = named.filter((_, i) => refusals[i] !== undefined);
  if (refused.length) {
    const holds = (ns: typeof named) => `${ns.map((n) => `${n.dir} (${n.what})`).join(' and ')} ${ns.length > 1 ? 'hold' : 'holds'} another run`;
    const said = refusals[0] !== undefined && refusals[0] === refusals[1]
      ? `${holds(named)} (${refusals[0]})`
      : named.flatMap((n, i) => (refusals[i] ? [`${holds([n])} (${refusals[i]})`] : [])).join('; ');
    const elsewhere = named.map((n, i) => `${n.env}=${refusals[i] ? `${n.dir}-${asked.dataset}` : n.dir}`).join(' ');
    return {
      ok: false,
      reason: `${said}: resume that run with its own settings, or run this one on directories of its own: ` +
        `${elsewhere} ${how} (or remove ${refused.map((n) => n.dir).join(' and ')})`,
    };
  }
  for (const [i, n] of named.entries()) {
    if (records[i] !== undefined) continue;
    await fs.mkdir(n.dir, { recursive: true });
    await fs.writeFile(path.join(n.dir, runFile), `${JSON.stringify(asked, null, 2)}\n`);
  }
  return { ok: true, recorded: records.some((r) => r !== undefined) ? 'same' : 'new' };
}
