/** A service's start step by step (src/cli/starting.ts): a failing step undoes the earlier ones, last first, and its error goes on. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Starting } from '../../src/cli/starting';

const test = suite('starting a service: undo on failure');

test('a failing step undoes the steps before it, last first, and rethrows its own error', async () => {
  const undone: string[] = [];
  const start = new Starting();
  const a = await start.step(Promise.resolve('infra'), async (x) => { undone.push(x); });
  await start.step(Promise.resolve(7)); // nothing to undo
  await start.step(Promise.resolve('service'), async (x) => { undone.push(x); });
  assert.is(a, 'infra');
  const boom = new Error('port in use');
  const err = await start.step(Promise.reject(boom), async () => { undone.push('never'); }).catch((e: unknown) => e);
  assert.is(err, boom);
  assert.equal(undone, ['service', 'infra']);
});

test('an undo that fails does not stop the others nor replace the error; success undoes nothing', async () => {
  const undone: string[] = [];
  const start = new Starting();
  await start.step(Promise.resolve(1), async () => { undone.push('first'); });
  await start.step(Promise.resolve(2), async () => { throw new Error('close failed'); });
  const err = await start.step(Promise.reject(new Error('ready failed'))).catch((e: unknown) => e as Error);
  assert.is(err.message, 'ready failed');
  assert.equal(undone, ['first']);
  const ok = new Starting();
  await ok.step(Promise.resolve(1), async () => { undone.push('kept'); });
  assert.equal(undone, ['first'], 'a start that succeeds keeps everything running');
});

test('stopAll stops every part last first, once; a failing stop does not keep the others from stopping, and is rethrown', async () => {
  const stopped: string[] = [];
  const start = new Starting();
  await start.step(Promise.resolve('infra'), async (x) => { stopped.push(x); });
  await start.step(Promise.resolve('service'), async () => { stopped.push('service'); throw new Error('consumer did not leave'); });
  await start.step(Promise.resolve('http'), async (x) => { stopped.push(x); });
  const err = await start.stopAll().catch((e: unknown) => e as Error);
  assert.is(err?.message, 'consumer did not leave');
  assert.equal(stopped, ['http', 'service', 'infra']);
  await start.stopAll();
  assert.equal(stopped, ['http', 'service', 'infra'], 'a second stopAll has nothing left to stop');
});

test.run();
