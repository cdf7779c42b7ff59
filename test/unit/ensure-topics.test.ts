/** Services create their topics at start-up and warn, with the reason, about a topic that keeps another partition count. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryBus } from '../../src/infra/bus/memory-bus';
import { ensureTopicsWarned } from '../../src/infra/bus/ensure-topics';
import { createLogger } from '../../src/infra/log';
import { dataTopics, partitionsKept, topicNames } from '../../src/protocols/topics';

test('partitionsKept: one sentence per topic whose count differs, naming both counts; none when all match', () => {
  const asked = [{ topic: 'a', partitions: 12 }, { topic: 'b', partitions: 3 }, { topic: 'c', partitions: 1 }];
  assert.equal(partitionsKept(asked, asked), []);
  const kept = partitionsKept(asked, [{ topic: 'a', partitions: 6 }, { topic: 'b', partitions: 3 }, { topic: 'c', partitions: 2 }]);
  assert.is(kept.length, 2);
  assert.match(kept[0]!, /^a has 6 partition\(s\), not the 12 asked for: a topic that exists keeps its partitions \(delete it/);
  assert.match(kept[1]!, /^c has 2 partition\(s\), not the 1 asked for/);
  assert.equal(partitionsKept(asked, []), [], 'a topic the bus did not report is not guessed about');
});

test('ensureTopicsWarned: a new topic is created as asked, silently; a readings topic created earlier with 6 keeps 6 and the log says so', async () => {
  const bus = createMemoryBus();
  const lines: string[] = [];
  const log = createLogger('trainer', 'info', (l) => lines.push(l));
  const t = topicNames('unit-');
  try {
    await ensureTopicsWarned(bus, dataTopics(t, 6, ['readings']), log);
    assert.equal(lines, []);
    assert.is(await bus.partitionCount(t.readings), 6);
    await ensureTopicsWarned(bus, dataTopics(t, 12, ['readings', 'anomalies']), log);
    assert.is(await bus.partitionCount(t.readings), 6, 'kept');
    assert.is(await bus.partitionCount(t.anomalies), 3, 'created');
    assert.is(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /warn +trainer: unit-edge-iiot-stream has 6 partition\(s\), not the 12 asked for/);
  } finally {
    await bus.close();
  }
});

test.run();
