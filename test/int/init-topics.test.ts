/** `flead init topics` on the real broker: creates every topic with its partitions once; a second run creates nothing. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runFlead } from '../support/procs';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';

test('creates the 9 topics with their partitions, then finds them all there', async () => {
  const env = { KAFKA_BROKERS: brokers, FLEAD_TOPIC_PREFIX: `int-topics-${Date.now().toString(36)}-` };
  const first = await runFlead(['init', 'topics'], env);
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stdout, /9 topics on .*, 9 created, 0 already there/);
  assert.match(first.stderr, /edge-iiot-stream: 12 partition\(s\) \(created\)/, 'READINGS_PARTITIONS defaults to 12');
  assert.match(first.stderr, /global-model-updates: 1 partition\(s\) \(created\)/);
  assert.match(first.stderr, /flead-journal: 6 partition\(s\) \(created\)/);
  const second = await runFlead(['init', 'topics'], env);
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stdout, /9 topics on .*, 0 created, 9 already there/);
  // an existing topic is left alone: asking for another count later changes nothing
  const third = await runFlead(['init', 'topics'], { ...env, READINGS_PARTITIONS: '4' });
  assert.is(third.code, 0, third.stderr);
  assert.match(third.stderr, /edge-iiot-stream: 12 partition\(s\)\n/);
  assert.match(third.stderr, /warn +init-topics: [^\n]*edge-iiot-stream has 12 partition\(s\), not the 4 asked for: a topic that exists keeps its partitions/);
  assert.not.match(second.stderr + third.stderr, /anomalies has/, 'only the topic whose count differs is named');
});

test('READINGS_PARTITIONS sets the readings topic\'s partitions when it is created; a bad value exits 2 with a sentence', async () => {
  const env = { KAFKA_BROKERS: brokers, FLEAD_TOPIC_PREFIX: `int-topics4-${Date.now().toString(36)}-`, READINGS_PARTITIONS: '4' };
  const r = await runFlead(['init', 'topics'], env);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /edge-iiot-stream: 4 partition\(s\) \(created\)/);
  assert.match(r.stderr, /anomalies: 3 partition\(s\) \(created\)/);
  const bad = await runFlead(['init', 'topics'], { ...env, READINGS_PARTITIONS: '0' });
  assert.is(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /READINGS_PARTITIONS/);
});

test('an unreachable broker ends with exit 1 and a sentence naming it', async () => {
  const r = await runFlead(['init', 'topics', '--wait-seconds', '0'], { KAFKA_BROKERS: '127.0.0.1:1' });
  assert.is(r.code, 1);
  assert.match(r.stderr, /flead init topics: cannot set up the topics on 127\.0\.0\.1:1: /);
});

test.run();
