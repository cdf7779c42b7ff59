/**
 * The one place that loads TensorFlow.js and picks its backend. TensorFlow.js stays inside
 * `src/actors/trainer/`: everything else sees plain `Float32Array`s.
 *
 * Choice, in order (first that works wins):
 * 1. `tensorflow`: `@tensorflow/tfjs-node` (native libtensorflow), when `require` resolves it. It installs in the
 *    container image only: its install step downloads a native library.
 * 2. `wasm`: `@tensorflow/tfjs` + `@tensorflow/tfjs-backend-wasm` (SIMD when the runtime supports it; threads
 *    only where SharedArrayBuffer workers are available, never in plain Node.js).
 * 3. `cpu`: the plain JavaScript kernels of `@tensorflow/tfjs`.
 *
 * `FLEAD_TF_BACKEND=tensorflow|wasm|cpu` forces one; a forced backend that cannot start is an error (a sentence
 * naming it), not a silent fallback. Any other value is an error too.
 */

/** The TensorFlow.js namespace (tfjs-node exports a superset of it). */
export type Tf = typeof import('@tensorflow/tfjs');
export type TfBackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface TfRuntime {
  readonly tf: Tf;
  /** The backend in use, as `tf.getBackend()` names it. */
  readonly backend: TfBackendName;
  /**
   * For `wasm`: whether the SIMD build / the multi-threaded build was loaded. For `tensorflow`: both true (native
   * TensorFlow uses vectorised CPU kernels and its own thread pool). For `cpu`: both false.
   */
  readonly simd: boolean;
  readonly threads: boolean;
}

const BACKENDS: readonly TfBackendName[] = ['tensorflow', 'wasm', 'cpu'];

let pending: Promise<TfRuntime> | null = null;
let ready: TfRuntime | null = null;

/**
 * Load TensorFlow.js and select the backend. Idempotent: every call returns the same promise (the environment
 * is read on the first call only). Rejects with a sentence when `FLEAD_TF_BACKEND` is invalid or names a backend
 * that cannot start; a rejected attempt is forgotten so that a later call may try again.
 */
export function initTf(env: NodeJS.ProcessEnv = process.env): Promise<TfRuntime> {
  if (!pending) {
    pending = start(env).then(
      (rt) => {
        ready = rt;
        return rt;
      },
      (e: unknown) => {
        pending = null;
        throw e;
      },
    );
  }
  return pending;
}

/** The runtime after `initTf()` resolved; throws (a bug in the caller) before that. */
export function tfRuntime(): TfRuntime {
  if (!ready) throw new Error('TensorFlow.js is not initialised: await initTf() before creating or using a model');
  return ready;
}

async function start(env: NodeJS.ProcessEnv): Promise<TfRuntime> {
  const forced = parseForced(env['FLEAD_TF_BACKEND']);
  if (forced === 'tensorflow' || forced === null) {
    const native = loadNative();
    if (native) {
      await native.setBackend('tensorflow');
      await native.ready();
      if (native.getBackend() === 'tensorflow') return { tf: native, backend: 'tensorflow', simd: true, threads: true };
    }
    if (forced === 'tensorflow') {
      throw new Error('FLEAD_TF_BACKEND=tensorflow but @tensorflow/tfjs-node cannot be loaded (it is installed in the container image only)');
    }
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tf = require('@tensorflow/tfjs') as Tf;
  if (forced === 'wasm' || forced === null) {
    const wasm = await startWasm(tf);
    if (wasm) return wasm;
    if (forced === 'wasm') throw new Error('FLEAD_TF_BACKEND=wasm but the TensorFlow.js wasm backend failed to start');
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('the TensorFlow.js cpu backend failed to start');
  await tf.ready();
  return { tf, backend: 'cpu', simd: false, threads: false };
}

function parseForced(value: string | undefined): TfBackendName | null {
  if (value === undefined || value === '') return null;
  if ((BACKENDS as readonly string[]).includes(value)) return value as TfBackendName;
  throw new Error(`FLEAD_TF_BACKEND must be one of ${BACKENDS.join(', ')} (or unset to choose automatically), not "${value}"`);
}

/** `@tensorflow/tfjs-node`, or null when it does not resolve or its native library fails to load. */
function loadNative(): Tf | null {
  const name = '@tensorflow/tfjs-node'; // a variable, so that tsc does not look for its typings
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(name) as Tf;
  } catch {
    return null;
  }
}

async function startWasm(tf: Tf): Promise<TfRuntime | null> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-wasm'); // registers the 'wasm' backend with the tfjs-core that tfjs uses
    if (!(await tf.setBackend('wasm'))) return null;
    await tf.ready();
    const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
    const threads = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true;
    return { tf, backend: 'wasm', simd, threads };
  } catch {
    return null;
  }
}
