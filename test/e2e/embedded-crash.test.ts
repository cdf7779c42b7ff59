/**
 * `flead embedded` (npm start) SIGKILLed mid-stream, while the sink is writing into the embedded database:
 * the next run recovers PGlite (PostgreSQL's own crash recovery), takes over the dead process's lock, resumes
 * the producer from its journal, and ends with every WSN reading in the database exactly once; a second
 * process on the same directory meanwhile is refused with a sentence. The bus keeps 100 messages a partition
 * (EMBEDDED_BUS_RETAIN): its segments come and go under the crash, and nothing the sink had not read is lost.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { getJson, runFlead, startEmbedded, waitFor } from '../support/procs';

const test = suite('flead embedded: killed at any instant, resumed, every reading in the embedded database once');

test('SIGKILL mid-stream, then a second run: 18,914 readings in the database, no duplicate; a concurrent run is refused', async () => {
  // 1,000 readings/s: the 18,914 take ~19 s to stream, so the kill below comes well before the end
  const { env, log, first } = startEmbedded('embedded-kill', ['--rate', '1000'], { EMBEDDED_BUS_RETAIN: '100' });
  const url = await waitFor('the inspection endpoint', async () => /inspection endpoint (http:\/\/\S+)/.exec(readFileSync(log, 'utf8'))?.[1], 90_000, 100);
  // killed once the sink has written some readings into the database
  const written = await waitFor('the sink writing', async () => {
    const n = (await getJson<{ written: { readings: number } }>(`${url}/sink`))?.written.readings ?? 0;
    return n >= 1000 ? n : undefined;
  }, 90_000, 100);
  assert.ok(written < 18_914, `the first run is mid-stream (${written} readings written)`);
  const lock = path.join(env.FLEAD_DATA_DIR, 'db.lock');
  assert.ok(existsSync(lock), 'the running process holds the database lock');

  const concurrent = await runFlead(['embedded', '--inspect-port', '0'], env);
  assert.is(concurrent.code, 1, concurrent.stderr);
  assert.match(concurrent.stderr, new RegExp(`the embedded database \\S+ is in use: process ${first.child.pid} has it open`));

  first.child.kill('SIGKILL');
  const exit = await first.exited;
  assert.is(exit.signal, 'SIGKILL');
  assert.not.match(readFileSync(log, 'utf8'), /data exhausted/, 'the first run did not finish');
  assert.ok(existsSync(lock), 'a killed process leaves its lock behind');

  const second = await runFlead(['embedded', '--inspect-port', '0'], env);
  assert.is(second.code, 0, second.stderr);
  assert.match(second.stdout, /data exhausted after [\d.]+ s: 18914 readings/);
  const wrote = Number(/the sink wrote this run: readings (\d+)/.exec(second.stdout)?.[1]);
  assert.ok(wrote > 0 && wrote < 18914, `the second run wrote the rest only (${wrote})`);
  assert.match(second.stdout, /rows in all: readings 18914, /, 'every reading exactly once over both runs');
  // the bus let the oldest readings go: the final table says what it covers, the disk holds ≤ 110 + a segment of 10
  assert.match(second.stdout, /label 1 = anomaly; \d+ of the 18914 readings: those the bus still held \(it keeps 100 a partition\) and this run read/);
  const topicDir = path.join(env.FLEAD_DATA_DIR, 'bus', 'topics', 'edge-iiot-stream');
  const onDisk = new Map<string, number>(); // partition → readings in its segments
  for (const f of readdirSync(topicDir).filter((f) => f.endsWith('.log'))) {
    const p = f.split('.')[0]!;
    onDisk.set(p, (onDisk.get(p) ?? 0) + readFileSync(path.join(topicDir, f), 'utf8').split('\n').length - 1);
  }
  assert.ok(onDisk.size >= 2, `the motes' readings are on several partitions: ${[...onDisk.keys()].join(' ')}`);
  for (const [p, n] of onDisk) assert.ok(n >= 100 && n <= 120, `partition ${p} keeps 100 to 120 readings on disk, not ${n}`);
  assert.not.ok(existsSync(lock), 'a clean stop removes the lock');
});

test.run();
