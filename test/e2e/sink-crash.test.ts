/**
 * `flead sink` as its own OS process on the real Kafka broker and PostgreSQL: SIGKILLed while a few thousand
 * readings stream in (batches in flight), restarted, it ends with one row per distinct reading — none lost,
 * none twice — because each batch's rows and its position in sink_offsets are one database transaction.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { isLeft } from 'fp-ts/Either';
import { createKafkaBus } from '../../src/infra/bus/kafka-bus';
import { createPool, pgSettingsFromEnv, quoteIdent, type Pool } from '../../src/infra/db/pg';
import { encodeJson } from '../../src/protocols/codec';
import { SensorReading } from '../../src/protocols/readings';
import { topicNames } from '../../src/protocols/topics';
import { freePort, getJson, runFlead, startFlead, waitFor, type Proc } from '../support/procs';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const test = suite('sink crash safety (separate process, real Kafka and PostgreSQL)');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'flead-sink-'));
const pgEnv = pgSettingsFromEnv(process.env);
if (isLeft(pgEnv)) throw new Error(pgEnv.left);
const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
const database = `flead_test_sinke2e_${runId}`;

test('SIGKILL mid-stream, restart: rows in readings = distinct messages, no duplicates', async () => {
  const prefix = `e2e-sink-${runId}-`;
  const topics = topicNames(prefix);
  const port = await freePort();
  const env = {
    KAFKA_BROKERS: brokers, FLEAD_TOPIC_PREFIX: prefix, INSPECT_PORT: String(port), PGDATABASE: database,
    SINK_BACKOFF_MIN_MS: '100', SINK_BACKOFF_MAX_MS: '1000', LOG_LEVEL: 'info',
  };
  const init = await runFlead(['init', 'db'], env);
  assert.is(init.code, 0, init.stderr);
  const pool: Pool = createPool({ ...pgEnv.right, database }, { max: 1 });
  const bus = createKafkaBus({ brokers, clientId: 'sink-crash-test', log: () => undefined });
  const log = path.join(tmp, 'sink.log');
  let proc: Proc | undefined;
  const count = async () => Number((await pool.query<{ n: string }>('select count(*) as n from readings')).rows[0]!.n);
  try {
    await bus.ensureTopics([{ topic: topics.readings, partitions: 6 }]);
    proc = startFlead(['sink'], env, log);
    await waitFor(`sink healthy (log ${log})`, async () => ((await getJson<{ status: string }>(`http://127.0.0.1:${port}/health`))?.status === 'ok' ? true : undefined), 60_000);

    const total = 5000;
    const batch = 100;
    let sent = 0;
    const publishing = (async () => {
      for (; sent < total; sent += batch) {
        const rs = Array.from({ length: batch }, (_, k): SensorReading => {
          const i = sent + k;
          return { deviceId: `dev-${i % 8}`, readingId: `dev-${i % 8}/${i}`, ts: 1_718_000_000_000 + i, features: { t: i % 13, h: i % 7 } };
        });
        await bus.publish(topics.readings, rs.map((r) => ({ key: r.deviceId, value: encodeJson(SensorReading, r) })));
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await waitFor('1,500 rows written', async () => ((await count()) >= 1500 ? true : undefined), 60_000, 10);
    proc.child.kill('SIGKILL');
    assert.is((await proc.exited).signal, 'SIGKILL');
    const atKill = await count();
    assert.ok(atKill < total, `killed mid-stream (${atKill} rows so far)`);
    await publishing;
    proc = startFlead(['sink'], env, log);
    await waitFor(`all ${total} rows after the restart (log ${log})`, async () => ((await count()) >= total ? true : undefined), 120_000, 200);
    await new Promise((r) => setTimeout(r, 1500)); // a late duplicate would show up here
    const { rows } = await pool.query<{ n: string; d: string }>('select count(*) as n, count(distinct reading_id) as d from readings');
    assert.is(Number(rows[0]!.d), total, 'no reading lost');
    assert.is(Number(rows[0]!.n), total, 'no reading written twice');
    const pos = await pool.query<{ n: string }>('select sum(next_offset) as n from sink_offsets where topic = $1', [topics.readings]);
    assert.is(Number(pos.rows[0]!.n), total, 'sink_offsets holds the position after every message');
    const health = await getJson<{ status: string }>(`http://127.0.0.1:${port}/health`);
    assert.is(health?.status, 'ok');
    proc.child.kill('SIGTERM');
    assert.is((await proc.exited).code, 0, `clean stop on SIGTERM (log ${log})`);
  } finally {
    if (proc && proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    await bus.close();
    await pool.end();
    const admin = createPool({ ...pgEnv.right, database: 'postgres' }, { max: 1 });
    await admin.query(`drop database if exists ${quoteIdent(database)} with (force)`).catch(() => undefined);
    await admin.end();
  }
});

test.run();
