/**
 * The embedded profile's one inspection endpoint over several services (mergedRoutes), served over real
 * loopback HTTP: the actor routes and /supervision span every service, other paths come from their service.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fetchJson, startInspectionServer, type InspectionServer } from '../../src/infra/http/inspection-server';
import { actorRoutes, mergedRoutes, type RoutedService } from '../../src/actors/runtime/service-runtime';
import { ActorRegistry } from '../../src/actors/runtime/registry';
import { memorySupervisionLog } from '../../src/actors/runtime/supervision-log';

function service(name: string, paths: string[], own: Record<string, unknown>, withSupervision = true): RoutedService & { log: ReturnType<typeof memorySupervisionLog> } {
  const registry = new ActorRegistry();
  for (const p of paths) registry.register(`${name}/${p}`, p, null);
  const log = memorySupervisionLog();
  const routes = [
    ...actorRoutes(registry, withSupervision ? log : undefined, () => [{ name: `flead_${name}_things`, help: 'things', type: 'counter', value: paths.length }]),
    ...Object.entries(own).map(([pattern, body]) => ({ pattern, handler: () => body })),
  ];
  return { routes, registry, metrics: () => [{ name: `flead_${name}_things`, help: 'things', type: 'counter', value: paths.length }], log };
}

const aggregator = service('aggregator', ['round'], { '/rounds': ['agg rounds'] });
const trainer = service('trainer', ['ingest', 'mote-1'], { '/devices': ['mote-1'], '/rounds': ['not the aggregator\'s'] });
const sink = service('sink', ['writer'], { '/sink': { written: 3 } }, false);
let server: InspectionServer;

const S = suite('merged inspection routes');

S.before(async () => {
  await aggregator.log.record({ type: 'ActorCrashed', path: 'aggregator/round', error: 'boom', at: 300 });
  await trainer.log.record({ type: 'ActorCrashed', path: 'trainer/mote-1', error: 'bad weights', at: 100 });
  await trainer.log.record({ type: 'ActorRestarted', path: 'trainer/mote-1', at: 400, delayMs: 50, restartsInWindow: 1 });
  server = await startInspectionServer({ port: 0, routes: mergedRoutes([aggregator, trainer, sink], () => ({ status: 'ok', profile: 'embedded' })) });
});

S.after(async () => { await server.close(); });

const get = (path: string) => fetchJson(`${server.url}${path}`);

S('/supervision: every service\'s decisions, in time order', async () => {
  const r = await get('/supervision');
  assert.is(r.status, 200);
  assert.equal((r.body as Array<{ path: string; at: number; type: string }>).map((e) => [e.at, e.type, e.path]), [
    [100, 'ActorCrashed', 'trainer/mote-1'],
    [300, 'ActorCrashed', 'aggregator/round'],
    [400, 'ActorRestarted', 'trainer/mote-1'],
  ]);
});

S('/actors spans every service; /actors/{path} finds an actor in any of them, 404 with a reason otherwise', async () => {
  const list = (await get('/actors')).body as Array<{ path: string }>;
  assert.equal(list.map((a) => a.path), ['aggregator/round', 'trainer/ingest', 'trainer/mote-1', 'sink/writer']);
  const one = await get('/actors/sink/writer');
  assert.is(one.status, 200);
  assert.is((one.body as { info: { kind: string } }).info.kind, 'writer');
  const none = await get('/actors/trainer/mote-9');
  assert.is(none.status, 404);
  assert.equal(none.body, { error: 'no actor at path trainer/mote-9' });
});

S('/metrics: every service\'s own counters and actors', async () => {
  const res = await fetch(`${server.url}/metrics`);
  const text = await res.text();
  for (const line of ['flead_aggregator_things 1', 'flead_trainer_things 2', 'flead_sink_things 1']) assert.ok(text.includes(`${line}\n`), line);
  assert.match(text, /flead_actors\{kind="mote-1",status="running"\} 1/);
});

S('other paths from their service; a path two services have comes from the first; /health as given', async () => {
  assert.equal((await get('/devices')).body, ['mote-1']);
  assert.equal((await get('/sink')).body, { written: 3 });
  assert.equal((await get('/rounds')).body, ['agg rounds']);
  assert.equal((await get('/health')).body, { status: 'ok', profile: 'embedded' });
  assert.is((await get('/jobs')).status, 404);
});

S.run();
