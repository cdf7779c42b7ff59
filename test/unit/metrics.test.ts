/** /metrics: the Prometheus text writer, the process and actor samples, read back by a strict parser. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { processSamples, renderPrometheus, type Sample } from '../../src/infra/http/metrics';
import { actorSamples, serviceMetrics } from '../../src/actors/runtime/service-runtime';
import { ActorRegistry } from '../../src/actors/runtime/registry';
import { parsePrometheus } from '../support/metrics';

const test = suite('metrics (Prometheus text format)');

test('HELP and TYPE once per name, samples grouped under them in first-seen order, labels escaped', () => {
  const samples: Sample[] = [
    { name: 'a_total', help: 'first', type: 'counter', value: 3, labels: { table: 'readings' } },
    { name: 'b', help: 'with a \\ and\na newline', type: 'gauge', value: 0.25 },
    { name: 'a_total', help: 'first', type: 'counter', value: 4, labels: { table: 'say "hi"\\\n' } },
    { name: 'c', help: 'special values', type: 'gauge', value: NaN },
    { name: 'c', help: 'special values', type: 'gauge', value: Infinity, labels: { k: 'inf' } },
  ];
  const text = renderPrometheus(samples);
  assert.is(text, [
    '# HELP a_total first',
    '# TYPE a_total counter',
    'a_total{table="readings"} 3',
    'a_total{table="say \\"hi\\"\\\\\\n"} 4',
    '# HELP b with a \\\\ and\\na newline',
    '# TYPE b gauge',
    'b 0.25',
    '# HELP c special values',
    '# TYPE c gauge',
    'c NaN',
    'c{k="inf"} +Inf',
    '',
  ].join('\n'));
  const back = parsePrometheus(text);
  assert.is(back.get('a_total', { table: 'say "hi"\\\n' }), 4);
  assert.is(back.get('c', { k: 'inf' }), Infinity);
  assert.is(back.types.get('b'), 'gauge');
  assert.is(renderPrometheus([]), '');
});

test('a bad metric or label name, or one name with two types, is a bug and throws', () => {
  assert.throws(() => renderPrometheus([{ name: 'bad-name', help: 'x', type: 'gauge', value: 1 }]), /not a Prometheus name/);
  assert.throws(() => renderPrometheus([{ name: 'ok', help: 'x', type: 'gauge', value: 1, labels: { 'bad-label': 'v' } }]), /not a Prometheus label name/);
  assert.throws(() => renderPrometheus([{ name: 'x', help: 'x', type: 'gauge', value: 1 }, { name: 'x', help: 'x', type: 'counter', value: 1 }]), /both a gauge and a counter/);
});

test('the process samples: memory, CPU and uptime are positive; the event-loop delay has three quantiles', () => {
  const scrape = parsePrometheus(renderPrometheus(processSamples()));
  assert.ok(scrape.get('process_resident_memory_bytes')! > 1e6);
  assert.ok(scrape.get('nodejs_heap_used_bytes')! > 0);
  assert.ok(scrape.get('process_cpu_seconds_total')! > 0);
  assert.ok(scrape.get('process_uptime_seconds')! > 0);
  assert.equal(scrape.all('nodejs_eventloop_delay_seconds').map((s) => s.labels.quantile), ['0.5', '0.99', '1']);
});

test('actor samples count actors by kind and status and sum restarts and journal positions over registries', () => {
  const a = new ActorRegistry();
  a.register('svc/round', 'round', null, 'svc/round');
  a.update('svc/round', { status: 'running', seq: 40 });
  a.register('svc/ingest', 'consumer', null);
  const b = new ActorRegistry();
  for (const d of ['d1', 'd2', 'd3']) {
    b.register(`t/device-${d}`, 'device', null, `device/${d}`);
    b.update(`t/device-${d}`, { status: 'running', seq: 5 });
  }
  b.restarting('t/device-d2');
  b.restarting('t/device-d2');
  b.crashed('t/device-d3', 'boom');
  const scrape = parsePrometheus(renderPrometheus(actorSamples([a, b])));
  assert.is(scrape.get('flead_actors', { kind: 'device', status: 'running' }), 1);
  assert.is(scrape.get('flead_actors', { kind: 'device', status: 'restarting' }), 1);
  assert.is(scrape.get('flead_actors', { kind: 'device', status: 'crashed' }), 1);
  assert.is(scrape.get('flead_actors', { kind: 'round', status: 'running' }), 1);
  assert.is(scrape.get('flead_actors', { kind: 'consumer', status: 'running' }), 1);
  assert.is(scrape.get('flead_actor_restarts_total'), 2);
  assert.is(scrape.get('flead_actor_journal_seq_sum'), 40 + 15);
  const body = serviceMetrics([a], () => [{ name: 'flead_own_total', help: 'own', type: 'counter', value: 7 }]);
  assert.is(body.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  const all = parsePrometheus(body.text);
  assert.is(all.get('flead_own_total'), 7);
  assert.ok(all.get('process_resident_memory_bytes')! > 0);
  assert.is(all.get('flead_actors', { kind: 'round', status: 'running' }), 1);
});

test.run();
