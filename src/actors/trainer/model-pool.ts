/**
 * One TensorFlow.js model per trainer process, shared by every device actor: each use sets the device's
 * weights first, under a mutex (training awaits). Per-device memory is then the weights (a Float32Array),
 * not a TensorFlow graph, which is what lets one process hold thousands of device actors.
 */
import { createModel, type LocalModel, type ModelSpec } from './model';
import { initTf, type TfRuntime } from './tf-backend';

export class ModelPool {
  private model: LocalModel | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  runtime: TfRuntime | undefined;

  constructor(readonly spec: ModelSpec, readonly seed: number) {}

  async init(): Promise<TfRuntime> {
    this.runtime = await initTf();
    this.model ??= createModel(this.spec, this.seed);
    return this.runtime;
  }

  /** Run fn with the shared model, one caller at a time. */
  use<T>(fn: (m: LocalModel) => Promise<T> | T): Promise<T> {
    const run = this.chain.then(async () => {
      if (!this.model) await this.init();
      return fn(this.model!);
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  dispose(): void {
    this.model?.dispose();
    this.model = undefined;
  }
}
