/** Protocol codecs: every example round-trips, weights are bit-exact little-endian, failures read as sentences. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import * as t from 'io-ts';
import { isLeft, isRight, type Either } from 'fp-ts/Either';
import { decodeJson, decodeWith, encodeJson } from '../../src/protocols/codec';
import { exampleMessages, examples, exampleWeights } from '../../src/protocols/examples';
import { DeadLetter } from '../../src/protocols/dead-letter';
import { JournalEnvelope, SnapshotEnvelope } from '../../src/protocols/journal';
import { GlobalModel, GlobalTopicMessage, LocalModelUpdate, RoundNotice } from '../../src/protocols/models';
import { Anomaly, SensorReading } from '../../src/protocols/readings';
import { decodeWeights, encodeWeights, hashWeights, parameterCount } from '../../src/protocols/weights';

const leftOf = (r: Either<string, unknown>): string => {
  if (!isLeft(r)) throw new Error(`expected a decode failure, got ${JSON.stringify(r.right)}`);
  return r.left;
};
const without = <T extends object>(o: T, key: keyof T) => {
  const copy = { ...o } as Record<string, unknown>;
  delete copy[key as string];
  return copy;
};

// ---------------------------------------------------------------------------------------------------------------
const RoundTrip = suite('examples round-trip');

RoundTrip('there is one example for each message', () => {
  assert.equal(exampleMessages.length, Object.keys(examples).length);
  const names = exampleMessages.map((m) => m.codec.name).sort();
  assert.equal(names, ['Anomaly', 'DeadLetter', 'GlobalModel', 'JournalEnvelope', 'LocalModelUpdate', 'RoundNotice', 'SensorReading', 'SnapshotEnvelope']);
  assert.equal(exampleMessages.map((m) => m.example), Object.values(examples), 'the list pairs each codec with the example of the same name');
});

RoundTrip('both kinds on global-model-updates decode through GlobalTopicMessage', () => {
  for (const m of [examples.globalModel, examples.roundNotice]) {
    const r = decodeJson(GlobalTopicMessage, JSON.stringify(GlobalTopicMessage.encode(m)));
    if (isLeft(r)) assert.unreachable(r.left);
    else assert.equal(r.right, m);
  }
  assert.is(leftOf(decodeWith(GlobalTopicMessage, { ...examples.roundNotice, kind: 'round-closed' })), 'GlobalTopicMessage: at kind: expected one of "global-model", "round-opened", got "round-closed"');
  assert.match(leftOf(decodeWith(GlobalTopicMessage, { ...examples.roundNotice, round: 0 })), /^GlobalTopicMessage: at round: expected a positive integer, got 0$/);
});

for (const { codec, example } of exampleMessages) {
  RoundTrip(`${codec.name}: encode → JSON → decodeJson gives the example back`, () => {
    const json = JSON.stringify(codec.encode(example));
    const decoded = decodeJson(codec, json);
    if (isLeft(decoded)) assert.unreachable(decoded.left);
    else assert.equal(decoded.right, example);
    const fromBytes = decodeJson(codec, Buffer.from(json, 'utf8'));
    assert.ok(isRight(fromBytes), 'decodes from bytes too');
  });
}

RoundTrip('encodeJson matches what decodeJson accepts', () => {
  const json = encodeJson(LocalModelUpdate, examples.localModelUpdate);
  const r = decodeJson(LocalModelUpdate, json);
  assert.ok(isRight(r));
});

RoundTrip('the example weights decode to the example vectors and the lineage hash matches', () => {
  const local = decodeWeights(examples.localModelUpdate.weights);
  if (!local.ok) return assert.unreachable(local.reason);
  assert.equal(Array.from(local.flat), Array.from(exampleWeights.local));
  const global = decodeWeights(examples.globalModel.weights);
  if (!global.ok) return assert.unreachable(global.reason);
  assert.is(examples.globalModel.hash, hashWeights(global.flat));
  assert.is(examples.globalModel.lineage.updates[0]!.hash, hashWeights(local.flat));
});

RoundTrip.run();

// ---------------------------------------------------------------------------------------------------------------
const Weights = suite('weights encoding');
const layers = [{ name: 'w', shape: [2, 2] }, { name: 'b', shape: [1] }];

Weights('1.0 is the bytes 00 00 80 3f (float32, little-endian)', () => {
  const w = encodeWeights([{ name: 'one', shape: [1] }], new Float32Array([1]));
  assert.is(w.dtype, 'float32');
  assert.is(w.byteOrder, 'little');
  assert.equal([...Buffer.from(w.data, 'base64')], [0x00, 0x00, 0x80, 0x3f]);
});

Weights('-2.5 and 0.1 have their little-endian IEEE-754 bytes', () => {
  const bytes = Buffer.from(encodeWeights([{ name: 'x', shape: [2] }], new Float32Array([-2.5, 0.1])).data, 'base64');
  // -2.5 = 0xC0200000, 0.1f = 0x3DCCCCCD
  assert.is(bytes.toString('hex'), '000020c0cdcccc3d');
});

Weights('encode → decode is bit-exact, including -0, NaN payloads, infinities, subnormals', () => {
  const bits = new Uint32Array([0x3f800000, 0x80000000, 0x7fc00001, 0x7f800000, 0xff800000]);
  const flat = new Float32Array(bits.buffer);
  const r = decodeWeights(encodeWeights([{ name: 'v', shape: [5] }], flat));
  if (!r.ok) return assert.unreachable(r.reason);
  assert.equal([...new Uint32Array(r.flat.buffer, r.flat.byteOffset, r.flat.length)], [...bits]);
  const sub = new Float32Array([1.4e-45, 3.4028234663852886e38, -1.1754942106924411e-38, 1 / 3, Math.PI]);
  const r2 = decodeWeights(encodeWeights([{ name: 'w', shape: [5] }], sub));
  if (!r2.ok) return assert.unreachable(r2.reason);
  assert.equal(Array.from(r2.flat), Array.from(sub));
});

Weights('a subarray view encodes only its own elements', () => {
  const backing = new Float32Array([9, 1, 2, 3, 4, 5, 9]);
  const view = backing.subarray(1, 6);
  const r = decodeWeights(encodeWeights(layers, view));
  if (!r.ok) return assert.unreachable(r.reason);
  assert.equal(Array.from(r.flat), [1, 2, 3, 4, 5]);
});

Weights('the encoded weights pass the EncodedWeights codec inside LocalModelUpdate', () => {
  const w = encodeWeights(layers, new Float32Array(parameterCount(layers)));
  assert.ok(isRight(decodeWith(LocalModelUpdate, { ...examples.localModelUpdate, weights: w })));
});

Weights('encodeWeights refuses a vector that does not fill the shapes', () => {
  assert.throws(() => encodeWeights(layers, new Float32Array(4)), /shapes hold 5 parameters, vector has 4/);
});

Weights('a byte length that does not match the shapes is reported with both numbers', () => {
  const w = encodeWeights(layers, new Float32Array([1, 2, 3, 4, 5]));
  const short = { ...w, data: Buffer.from(w.data, 'base64').subarray(0, 16).toString('base64') };
  const r = decodeWeights(short);
  assert.is(r.ok, false);
  if (!r.ok) assert.is(r.reason, 'weights hold 16 bytes, shapes need 20');
  const grown = decodeWeights({ ...w, layers: [...w.layers, { name: 'extra', shape: [3] }] });
  assert.equal(grown, { ok: false, reason: 'weights hold 20 bytes, shapes need 32' });
});

Weights('hashWeights is a stable sha256 of the little-endian bytes', () => {
  // sha256 of 00 00 80 3f
  assert.is(hashWeights(new Float32Array([1])), 'e00e5eb9444182f352323374ef4e08ebcb784725fdd4fd612d7730540b3e0c8c');
  const a = hashWeights(new Float32Array([1, 2, 3]));
  assert.is(a, hashWeights(new Float32Array([1, 2, 3])));
  assert.is(a, hashWeights(new Float32Array([0, 1, 2, 3]).subarray(1)));
  assert.is.not(a, hashWeights(new Float32Array([1, 2, 3.0000002])));
  assert.is(a, createHash('sha256').update(Buffer.from('0000803f0000004000004040', 'hex')).digest('hex'));
  assert.match(a, /^[0-9a-f]{64}$/);
});

Weights.run();

// ---------------------------------------------------------------------------------------------------------------
const Errors = suite('decode failures read as one sentence');
const u = examples.localModelUpdate;
const g = examples.globalModel;

Errors('LocalModelUpdate: sampleCount 0', () => {
  assert.is(leftOf(decodeWith(LocalModelUpdate, { ...u, sampleCount: 0 })), 'LocalModelUpdate: at sampleCount: expected a positive integer, got 0');
});

Errors('LocalModelUpdate: wrong dtype names the nested path and the literal', () => {
  assert.is(
    leftOf(decodeWith(LocalModelUpdate, { ...u, weights: { ...u.weights, dtype: 'float16' } })),
    'LocalModelUpdate: at weights.dtype: expected "float32", got "float16"',
  );
});

Errors('LocalModelUpdate: a missing field is "got nothing"', () => {
  assert.match(leftOf(decodeWith(LocalModelUpdate, without(u, 'clientId'))), /^LocalModelUpdate: at clientId: expected a non-empty string, got nothing$/);
});

Errors('LocalModelUpdate: array indexes and record keys appear in the path', () => {
  const badShape = { ...u, weights: { ...u.weights, layers: [{ name: 'a', shape: [1, -2] }] } };
  assert.match(leftOf(decodeWith(LocalModelUpdate, badShape)), /at weights\.layers\[0\]\.shape\[1\]: expected a non-negative integer, got -2/);
  assert.match(leftOf(decodeWith(LocalModelUpdate, { ...u, metrics: { loss: 'high' } })), /at metrics\.loss: expected a finite number, got "high"/);
  assert.match(leftOf(decodeWith(LocalModelUpdate, { ...u, metrics: { 'f1 score': null } })), /at metrics\["f1 score"\]: expected a finite number, got null/);
});

Errors('LocalModelUpdate: not an object at all', () => {
  assert.match(leftOf(decodeWith(LocalModelUpdate, null)), /^LocalModelUpdate: expected an object.*, got null$/);
  assert.match(leftOf(decodeWith(LocalModelUpdate, { ...u, weights: 'AAAA' })), /at weights: expected an object \(EncodedWeights\), got "AAAA"/);
});

Errors('many problems are cut to three and counted', () => {
  const msg = leftOf(decodeWith(LocalModelUpdate, {}));
  assert.match(msg, /^LocalModelUpdate: at updateId: expected a non-empty string, got nothing; at clientId: .*; at round: .* \(and 5 more\)$/);
});

Errors('SensorReading (an intersection): no branch indexes in the path', () => {
  const ts = leftOf(decodeWith(SensorReading, { ...examples.sensorReading, ts: -5 }));
  assert.is(ts, 'SensorReading: at ts: expected epoch milliseconds, got -5');
  const label = leftOf(decodeWith(SensorReading, { ...examples.sensorReading, label: 'attack' }));
  assert.is(label, 'SensorReading: at label: expected a number or null, got "attack"');
  assert.not.match(label, /\b[01]\./);
  assert.match(leftOf(decodeWith(SensorReading, without(examples.sensorReading, 'deviceId'))), /at deviceId: expected a non-empty string, got nothing/);
  assert.is(leftOf(decodeWith(SensorReading, 5)), 'SensorReading: expected an object, got 5');
});

Errors('Anomaly: keyof lists the choices; a nullable field says "or null"', () => {
  assert.is(leftOf(decodeWith(Anomaly, { ...examples.anomaly, detector: 'svm' })), 'Anomaly: at detector: expected one of "zscore", "autoencoder", "classifier", got "svm"');
  assert.match(leftOf(decodeWith(Anomaly, { ...examples.anomaly, modelVersion: -1 })), /at modelVersion: expected a non-negative integer or null, got -1/);
  assert.match(leftOf(decodeWith(Anomaly, { ...examples.anomaly, score: 'NaN' })), /at score: expected a finite number, got "NaN"/);
});

Errors('GlobalModel: nested lineage fields and the hash', () => {
  const lineage = { ...g.lineage, strategy: { name: 'krum', trimRatio: null } };
  assert.match(leftOf(decodeWith(GlobalModel, { ...g, lineage })), /at lineage\.strategy\.name: expected one of "fedavg", "median", "trimmed-mean", got "krum"/);
  assert.match(leftOf(decodeWith(GlobalModel, { ...g, hash: 'abc' })), /at hash: expected a sha256 hex digest, got "abc"/);
  const updates = [{ ...g.lineage.updates[0]!, sampleCount: 1.5 }];
  assert.match(leftOf(decodeWith(GlobalModel, { ...g, lineage: { ...g.lineage, updates } })), /at lineage\.updates\[0\]\.sampleCount: expected a positive integer, got 1\.5/);
});

Errors('RoundNotice: the nested model is checked too', () => {
  const model = { ...examples.roundNotice.model, kind: 'local' };
  assert.is(leftOf(decodeWith(RoundNotice, { ...examples.roundNotice, model })), 'RoundNotice: at model.kind: expected "global-model", got "local"');
});

Errors('JournalEnvelope and SnapshotEnvelope: sequence numbers', () => {
  assert.is(leftOf(decodeWith(JournalEnvelope, { ...examples.journalEnvelope, seq: 0 })), 'JournalEnvelope: at seq: expected a positive integer, got 0');
  assert.match(leftOf(decodeWith(JournalEnvelope, { ...examples.journalEnvelope, type: '' })), /at type: expected a non-empty string, got ""/);
  assert.match(leftOf(decodeWith(SnapshotEnvelope, { ...examples.snapshotEnvelope, seq: -1 })), /^SnapshotEnvelope: at seq: expected a non-negative integer, got -1$/);
  assert.match(leftOf(decodeWith(SnapshotEnvelope, without(examples.snapshotEnvelope, 'timestamp'))), /at timestamp: expected epoch milliseconds, got nothing/);
});

Errors('DeadLetter: nested source and base64 raw', () => {
  const src = { ...examples.deadLetter.source, partition: '0' };
  assert.match(leftOf(decodeWith(DeadLetter, { ...examples.deadLetter, source: src })), /at source\.partition: expected a number or null, got "0"/);
  assert.match(leftOf(decodeWith(DeadLetter, { ...examples.deadLetter, raw: 'not base64!' })), /at raw: expected base64 text, got "not base64!"/);
});

Errors('long values are shortened', () => {
  const msg = leftOf(decodeWith(DeadLetter, { ...examples.deadLetter, raw: '!'.repeat(500) }));
  assert.ok(msg.length < 150, msg);
  assert.match(msg, /…$/);
});

Errors('a tagged union names the tag field and its known values, then the matching branch only', () => {
  const Ev = t.union([t.type({ type: t.literal('A'), x: t.number }), t.type({ type: t.literal('B'), y: t.string })], 'Ev');
  assert.is(leftOf(decodeWith(Ev, { type: 'C' })), 'Ev: at type: expected one of "A", "B", got "C"');
  assert.is(leftOf(decodeWith(Ev, { type: 'B', y: 1 })), 'Ev: at y: expected a string, got 1');
  const Maybe = t.union([t.type({ x: t.number }), t.null], 'Maybe');
  assert.is(leftOf(decodeWith(Maybe, {})), 'Maybe: at x: expected a number, got nothing');
});

Errors('invalid JSON is a sentence naming the codec', () => {
  const msg = leftOf(decodeJson(LocalModelUpdate, '{"updateId":'));
  assert.match(msg, /^LocalModelUpdate: not valid JSON \(.+\)$/);
  assert.match(leftOf(decodeJson(Anomaly, Buffer.from('not json'))), /^Anomaly: not valid JSON/);
});

Errors.run();

const AsIs = suite('codecs decoded as is (decodedAsIs)');

AsIs('SensorReading: valid readings decode to io-ts\'s own result (the input itself) through the fast path, invalid ones to io-ts\'s errors; encoding is io-ts\'s', () => {
  // the same codec, not marked: decodeWith takes io-ts's decode
  const unmarked = Object.assign(Object.create(Object.getPrototypeOf(SensorReading) as object) as typeof SensorReading, SensorReading);
  let seed = 23;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let valid = 0;
  for (let i = 0; i < 3_000; i++) {
    const features: Record<string, unknown> = {};
    for (let f = Math.floor(rnd() * 4); f > 0; f--) features[`f${f}`] = rnd() < 0.97 ? rnd() * 100 - 50 : pick([NaN, Infinity, '1', null]);
    const r: Record<string, unknown> = {
      deviceId: rnd() < 0.97 ? `mote-${i % 4}` : pick(['', 7, null]),
      readingId: rnd() < 0.97 ? `mote-${i % 4}/${i}` : pick(['', undefined]),
      ts: rnd() < 0.97 ? 1_262_304_000_000 + i : pick([-1, 1.5, '5', undefined]),
      features: rnd() < 0.98 ? features : pick([null, [], 'x']),
      ...(rnd() < 0.7 ? { label: pick([0, 1, null, 'a']) } : {}),
      ...(rnd() < 0.5 ? { attackType: pick([null, 'DDoS_UDP', 3]) } : {}),
      ...(rnd() < 0.5 ? { source: pick(['producer', 4]) } : {}),
      ...(rnd() < 0.1 ? { extra: 'kept, as io-ts keeps it' } : {}),
    };
    const slow = SensorReading.decode(r);
    const fast = decodeWith(SensorReading, r);
    if (isRight(slow)) {
      valid++;
      assert.ok(isRight(fast) && fast.right === slow.right && slow.right === (r as unknown), `reading ${i}: the input itself`);
      assert.is(encodeJson(SensorReading, slow.right), JSON.stringify(SensorReading.encode(slow.right)));
    } else {
      assert.ok(isLeft(fast), `reading ${i}: refused`);
      assert.is(leftOf(fast), leftOf(decodeWith(unmarked, r)), `reading ${i}: io-ts's errors`);
    }
  }
  assert.ok(valid > 1_000 && valid < 2_900, `${valid} valid of 3,000`);
});

AsIs.run();
