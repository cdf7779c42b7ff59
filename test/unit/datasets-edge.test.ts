import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRight } from 'fp-ts/Either';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeWith } from '../../src/protocols/codec';
import { SensorReading } from '../../src/protocols/readings';
import { collectRows, Standardizer, StandardizerFitter, toSensorReading, type DatasetRow } from '../../src/infra/datasets/adapter';
import { csvLine, parseCsvText } from '../../src/infra/datasets/csv';
import {
  EDGE_ATTACK_TYPES,
  edgeDevicePlan,
  generateEdgeRecords,
  generateEdgeRows,
  type EdgeGeneratorOptions,
} from '../../src/infra/datasets/edge-generator';
import { writeDeviceFiles, writeEdgeCsv } from '../../src/infra/datasets/edge-files';
import { EDGE_FALLBACK_EPOCH_MS, edgeIiotsetAdapter } from '../../src/infra/datasets/edge-iiotset';
import { EDGE_DROPPED_COLUMNS, EDGE_IIOTSET_CLASSES, EDGE_IIOTSET_HEADER, EDGE_NUMERIC_COLUMNS, EDGE_ONE_HOT_COLUMNS } from '../../src/infra/datasets/edge-iiotset-schema';
import { canonicalCategory, parseFrameTime } from '../../src/infra/datasets/edge-iiotset-fields';
import { openDataset } from '../../src/infra/datasets/index';

const tmp = () => mkdtempSync(join(tmpdir(), 'flead-edge-'));
const text = (opts: EdgeGeneratorOptions) => [...generateEdgeRows(opts)].join('\n');
const BASE: EdgeGeneratorOptions = { seed: 7, rows: 3000, devices: 5, attackFraction: 0.6 };
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const dataRecords = (csv: string) => parseCsvText(csv).slice(1);

// ---------------------------------------------------------------------------------------------------------------
const Generator = suite('edge generator');

Generator('the same seed gives byte-identical output; another seed does not', () => {
  const opts = { ...BASE, rows: 500, quirks: true };
  assert.is(text(opts), text(opts));
  assert.is.not(text(opts), text({ ...opts, seed: 8 }));
});

Generator('the header is the exact 63-column Edge-IIoTset header, and every unshifted record has 63 fields', () => {
  const csv = text({ ...BASE, rows: 300, quirks: true });
  assert.is(csv.split('\n')[0], EDGE_IIOTSET_HEADER.join(','));
  assert.is(EDGE_IIOTSET_HEADER.length, 63);
  for (const r of generateEdgeRecords({ ...BASE, rows: 300, quirks: true })) assert.is(r.fields.length, r.shifted ? 64 : 63);
});

Generator('every attack type and Normal appear, labelled consistently', () => {
  const counts = new Map<string, number>();
  for (const r of generateEdgeRecords(BASE)) {
    counts.set(r.attackType, (counts.get(r.attackType) ?? 0) + 1);
    assert.is(r.fields[61], r.attackType === 'Normal' ? '0' : '1');
    assert.is(r.fields[62], r.attackType);
  }
  assert.equal([...counts.keys()].sort(), [...EDGE_IIOTSET_CLASSES].sort());
  assert.ok(counts.get('Normal')! > 900 && counts.get('Normal')! < 1500, `Normal ${counts.get('Normal')} of 3000 at attackFraction 0.6`);
});

Generator('attackWeights shape the mix: a weight of 0 removes a type', () => {
  const seen = new Set([...generateEdgeRecords({ ...BASE, attackWeights: { DDoS_UDP: 0, XSS: 5 } })].map((r) => r.attackType));
  assert.not.ok(seen.has('DDoS_UDP'));
  assert.ok(seen.has('XSS'));
  assert.throws(() => [...generateEdgeRecords({ ...BASE, attackWeights: { Teleport: 1 } as never })], /Teleport, which is not an attack type/);
});

Generator('non-IID split: device types vary, each device sees only its window of attacks, together all 14', () => {
  const plan = edgeDevicePlan(BASE);
  assert.equal(plan.map((p) => p.type), ['mqtt-sensor', 'modbus-plc', 'http-camera', 'mqtt-sensor', 'modbus-plc']);
  assert.equal(new Set(plan.flatMap((p) => p.attacks)).size, 14);
  for (const p of plan) assert.is(p.attacks.length, 4);
  const byDevice = new Map<number, Set<string>>();
  for (const r of generateEdgeRecords(BASE)) {
    if (r.attackType === 'Normal') continue;
    if (!byDevice.has(r.device)) byDevice.set(r.device, new Set());
    byDevice.get(r.device)!.add(r.attackType);
  }
  for (const p of plan) {
    const seen = [...(byDevice.get(p.device) ?? [])].sort();
    assert.equal(seen, [...p.attacks].sort(), `device ${p.device}`);
  }
  // two devices: windows widen to 7 so the 14 are still covered
  assert.equal(edgeDevicePlan({ devices: 2 }).map((p) => p.attacks.length), [7, 7]);
  assert.equal(new Set(edgeDevicePlan({ devices: 2 }).flatMap((p) => p.attacks)).size, EDGE_ATTACK_TYPES.length);
});

Generator('quirks: HTML with "" escapes and CRLF, long hex payloads, `0.0`, shifted DDoS_UDP/MITM rows', () => {
  const opts = { ...BASE, rows: 2000, quirks: true };
  const csv = text(opts);
  assert.ok(csv.includes('<body class=""main"">'), 'escaped quotes in HTML');
  assert.ok(/"<html>\r\n/.test(csv), 'a quoted field with CRLF');
  assert.ok(/,[0-9a-f]{200,},/.test(csv), 'a long hex payload');
  assert.ok(csv.includes(',0.0,'), 'numbers written as 0.0');
  const records = [...generateEdgeRecords(opts)];
  const shifted = records.filter((r) => r.shifted);
  assert.ok(shifted.length > 10);
  for (const r of shifted) {
    assert.ok(r.attackType === 'DDoS_UDP' || r.attackType === 'MITM');
    assert.match(r.fields[0]!, /^\d+\.\d+\.\d+\.\d+$/);
  }
  const plain = text({ ...opts, quirks: false });
  assert.not.ok(plain.includes('<html>') || plain.includes('\r') || plain.includes(',0.0,'), 'no quirks: no HTML, CR or 0.0');
  assert.not.ok([...generateEdgeRecords({ ...opts, quirks: false })].some((r) => r.shifted), 'no quirks: no shifted row');
});

Generator('per-class profiles differ: DDoS_UDP has a huge udp.stream, DDoS_ICMP icmp.seq_le, Port_Scanning SYNs', async () => {
  const { rows } = await collectRows(openDataset('generated', { ...BASE, rows: 4000 }));
  const of = (cls: string, f: string) => rows.filter((r) => r.attackType === cls).map((r) => r.features[f]!);
  assert.ok(mean(of('DDoS_UDP', 'udp.stream')) > 100 * mean(of('Normal', 'udp.stream')) + 1000);
  assert.ok(mean(of('DDoS_ICMP', 'icmp.seq_le')) > 10000 && mean(of('Normal', 'icmp.seq_le')) === 0);
  assert.ok(mean(of('Port_Scanning', 'tcp.len')) === 0 && mean(of('Normal', 'tcp.len')) > 20);
  assert.ok(mean(of('MITM', 'arp.opcode')) >= 1 && mean(of('Normal', 'arp.opcode')) === 0);
});

// ---------------------------------------------------------------------------------------------------------------
const Loader = suite('edge-iiotset loader');

Loader('one file with quirks: every record is a row, shifted rows realigned and counted', async () => {
  const dir = tmp();
  const file = join(dir, 'ML-EdgeIIoT-dataset.csv');
  const opts = { ...BASE, rows: 1500, quirks: true, eol: '\r\n' as const };
  assert.equal(await writeEdgeCsv(file, opts), { rows: 1500 });
  const content = readFileSync(file, 'utf8');
  const records = dataRecords(content);
  const physicalLines = content.split('\r\n').length - 1;
  assert.ok(physicalLines > records.length + 1, 'HTML bodies span lines');
  const expectShifted = records.filter((r) => r.fields.length === 64).length;
  assert.ok(expectShifted > 0);

  const adapter = edgeIiotsetAdapter({ path: file, devices: 4 });
  const { rows, bad } = await collectRows(adapter);
  assert.equal(bad, []);
  assert.is(rows.length, 1500);
  const s = adapter.stats();
  assert.is(s.shifted, expectShifted);
  assert.is(s.realigned, expectShifted);
  assert.is(s.fallbackTimestamps, 0);
  // lines point at the first physical line of each record
  assert.equal(rows.map((r) => r.line), records.map((r) => r.line));
  // a realigned row reads like its unshifted self: the label and the time come from the right columns
  const i = records.findIndex((r) => r.fields.length === 64);
  assert.is(rows[i]!.attackType, records[i]!.fields[63]);
  assert.is(rows[i]!.ts, parseFrameTime(records[i]!.fields[1]!));
  // 4 synthetic devices, round-robin
  assert.equal([...new Set(rows.map((r) => r.deviceId))].sort(), ['device-1', 'device-2', 'device-3', 'device-4']);
  assert.equal(rows.slice(0, 5).map((r) => r.deviceId), ['device-1', 'device-2', 'device-3', 'device-4', 'device-1']);
});

Loader('shifted: "bad" sends shifted rows to bad rows instead', async () => {
  const file = join(tmp(), 'x.csv');
  await writeEdgeCsv(file, { ...BASE, rows: 800, quirks: { shifted: 0.5 } });
  const adapter = edgeIiotsetAdapter({ path: file, shifted: 'bad' });
  const { rows, bad } = await collectRows(adapter);
  assert.ok(bad.length > 0);
  assert.is(rows.length + bad.length, 800);
  assert.is(adapter.stats().shifted, bad.length);
  assert.is(adapter.stats().realigned, 0);
  assert.match(bad[0]!.reason, /^line \d+: shifted row: frame\.time holds an IP address \(192\.168\.0\.\d+\)$/);
});

Loader('bad rows are yielded in place with file, line and a sentence, and never stop the stream', async () => {
  const file = join(tmp(), 'bad.csv');
  await writeEdgeCsv(file, { ...BASE, rows: 50 });
  const lines = readFileSync(file, 'utf8').split('\n').length; // the last line is empty: next is line `lines`
  const good = dataRecords(readFileSync(file, 'utf8'))[0]!.fields;
  const withField = (col: string, value: string) => good.map((v, i) => (EDGE_IIOTSET_HEADER[i] === col ? value : v));
  const shiftedShort = ['192.168.0.5', ...good.slice(0, 62)];
  appendFileSync(file, [
    csvLine(good.slice(0, 62)),
    csvLine(withField('tcp.len', 'abc')),
    csvLine(withField('Attack_label', '')),
    csvLine(withField('Attack_type', 'Teleport')),
    csvLine(shiftedShort),
    csvLine(good),
    '"unterminated, at the end',
  ].join('\n'));
  const adapter = edgeIiotsetAdapter({ path: file });
  const { rows, bad } = await collectRows(adapter);
  assert.is(rows.length, 51);
  assert.equal(bad.map((b) => [b.file, b.line, b.reason]), [
    [file, lines, `line ${lines}: expected 63 columns, got 62`],
    [file, lines + 1, `line ${lines + 1}: tcp.len is not a number: "abc"`],
    [file, lines + 2, `line ${lines + 2}: missing label Attack_label`],
    [file, lines + 3, `line ${lines + 3}: Attack_type is not a known class: "Teleport"`],
    [file, lines + 4, `line ${lines + 4}: shifted row: frame.time holds an IP address (192.168.0.5) and it has 63 columns, not 64`],
    [file, lines + 6, `line ${lines + 6}: unterminated quoted field (the file ends inside quotes)`],
  ]);
  assert.is(bad[1]!.raw, csvLine(withField('tcp.len', 'abc')));
  assert.is(rows[50]!.line, lines + 5);
  assert.equal(adapter.stats().badByKind, { columns: 1, number: 1, label: 2, shifted: 1, quote: 1 });
});

Loader('a wrong header is a clear error naming the first differing column', async () => {
  const file = join(tmp(), 'wrong.csv');
  const header: string[] = [...EDGE_IIOTSET_HEADER];
  header[4] = 'arp.opcodes';
  writeFileSync(file, `${header.join(',')}\n`);
  try {
    await collectRows(edgeIiotsetAdapter({ path: file }));
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /its header column 5 is "arp\.opcodes", expected "arp\.opcode"/);
  }
  writeFileSync(file, `${EDGE_IIOTSET_HEADER.slice(0, 62).join(',')}\n`);
  try {
    await collectRows(edgeIiotsetAdapter({ path: file }));
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /ends after column 62; column 63 should be "Attack_type" \(62 columns, expected 63\)/);
  }
  assert.throws(() => edgeIiotsetAdapter({ path: join(tmp(), 'nope.csv') }), /does not exist/);
});

Loader('features: identity/payload columns dropped, 39 numbers, one-hot text columns with 0 and 0.0 merged', async () => {
  const adapter = openDataset('generated', { ...BASE, rows: 1500, quirks: true });
  const { rows } = await collectRows(adapter);
  const names = adapter.featureNames;
  assert.is(EDGE_NUMERIC_COLUMNS.length, 39);
  assert.equal(names.slice(0, 39), [...EDGE_NUMERIC_COLUMNS]);
  for (const col of EDGE_DROPPED_COLUMNS) assert.not.ok(names.some((n) => n === col || n.startsWith(`${col}=`)), col);
  assert.ok(names.includes('http.request.method=GET'));
  assert.ok(names.includes('http.request.method=0'));
  assert.ok(names.includes('mqtt.topic=Temperature_and_Humidity'));
  assert.not.ok(names.some((n) => n.endsWith('=0.0')), 'no 0.0 category');
  assert.equal(names.filter((n) => n.startsWith('dns.qry.name.len=')).sort(), ['dns.qry.name.len=0', 'dns.qry.name.len=11', 'dns.qry.name.len=15', 'dns.qry.name.len=22']);
  const last = rows[rows.length - 1]!;
  assert.equal(Object.keys(last.features).sort(), [...names].sort());
  for (const r of rows) {
    for (const col of EDGE_ONE_HOT_COLUMNS) {
      const hot = Object.entries(r.features).filter(([k, v]) => k.startsWith(`${col}=`) && v === 1);
      assert.is(hot.length, 1, `${r.readingId} ${col}`);
    }
  }
  assert.is(canonicalCategory(' 0.0 '), '0');
  assert.is(canonicalCategory('GET'), 'GET');
});

Loader('a fixed vocabulary: unseen values set no column and are counted', async () => {
  const adapter = openDataset('generated', { ...BASE, rows: 600, vocabulary: { 'http.request.method': ['GET', '0'] } }) as ReturnType<typeof edgeIiotsetAdapter>;
  const { rows } = await collectRows(adapter);
  const methods = adapter.featureNames.filter((n) => n.startsWith('http.request.method='));
  assert.equal(methods, ['http.request.method=GET', 'http.request.method=0']);
  const posts = rows.filter((r) => r.features['http.request.method=GET'] === 0 && r.features['http.request.method=0'] === 0);
  assert.ok(posts.length > 0);
  assert.is(adapter.stats().unknownCategories, posts.length);
});

Loader('labels: 15 classes in DATA.md order, or binary; label and attackType agree', async () => {
  assert.equal([...EDGE_IIOTSET_CLASSES], [
    'Normal', 'DDoS_UDP', 'DDoS_ICMP', 'SQL_injection', 'Password', 'Vulnerability_scanner', 'DDoS_TCP', 'DDoS_HTTP',
    'Uploading', 'Backdoor', 'Port_Scanning', 'XSS', 'Ransomware', 'MITM', 'Fingerprinting',
  ]);
  const multi = openDataset('generated', { ...BASE, rows: 300 });
  const binary = openDataset('generated', { ...BASE, rows: 300, labels: 'binary' });
  assert.is(multi.classes.length, 15);
  assert.equal(binary.classes, ['normal', 'anomaly']);
  const { rows } = await collectRows(binary);
  for (const r of rows) assert.is(r.label, r.attackType === 'Normal' ? 0 : 1);
  assert.ok(rows.some((r) => r.label === 1) && rows.some((r) => r.label === 0));
});

Loader('a directory of device_N.csv files: each file is device-N, in N order', async () => {
  const dir = tmp();
  const opts = { ...BASE, devices: 11, rows: 1100, quirks: true };
  const paths = await writeDeviceFiles(dir, opts);
  assert.is(paths.length, 11);
  const adapter = edgeIiotsetAdapter({ path: dir });
  assert.equal(adapter.files.map((f) => f.device), Array.from({ length: 11 }, (_, i) => `device-${i + 1}`));
  const { rows, bad } = await collectRows(adapter);
  assert.equal(bad, []);
  const expected = new Map<string, number>();
  for (const r of generateEdgeRecords(opts)) expected.set(`device-${r.device}`, (expected.get(`device-${r.device}`) ?? 0) + 1);
  const got = new Map<string, number>();
  for (const r of rows) got.set(r.deviceId, (got.get(r.deviceId) ?? 0) + 1);
  assert.equal(got, expected);
  assert.match(rows[0]!.readingId, /^device-1\/device_1\.csv:2$/);
  // the in-memory generated data set reads the same rows
  const mem = (await collectRows(openDataset('generated', opts))).rows;
  const strip = (r: DatasetRow) => ({ ...r, file: '', readingId: r.readingId.replace(/\/.*:/, ':') });
  assert.equal(mem.map(strip), rows.map(strip));
});

Loader('hash assignment: rows with the same ip.src_host go to the same device', async () => {
  const file = join(tmp(), 'all.csv');
  await writeEdgeCsv(file, { ...BASE, rows: 600 });
  const records = dataRecords(readFileSync(file, 'utf8'));
  const { rows } = await collectRows(edgeIiotsetAdapter({ path: file, devices: 3, assign: 'hash' }));
  const deviceOfSrc = new Map<string, string>();
  rows.forEach((r, i) => {
    const src = records[i]!.fields[1]!;
    if (deviceOfSrc.has(src)) assert.is(r.deviceId, deviceOfSrc.get(src));
    else deviceOfSrc.set(src, r.deviceId);
  });
  assert.ok(new Set(deviceOfSrc.values()).size > 1);
});

Loader('frame.time: year and time of day from 2021-01-01, a full date as is, otherwise row index × 1 ms', async () => {
  assert.is(parseFrameTime(' 2021 11:44:10.081753000 '), Date.UTC(2021, 0, 1) + (11 * 3600 + 44 * 60 + 10) * 1000 + 81);
  assert.is(parseFrameTime('2021-11-10T08:00:00.5Z'), Date.UTC(2021, 10, 10, 8, 0, 0, 500));
  assert.is(parseFrameTime('6.0'), null);
  assert.is(parseFrameTime(''), null);
  const file = join(tmp(), 't.csv');
  await writeEdgeCsv(file, { ...BASE, rows: 3 });
  const records = dataRecords(readFileSync(file, 'utf8'));
  writeFileSync(file, [EDGE_IIOTSET_HEADER.join(','), ...records.map((r, i) => csvLine(i === 1 ? ['garbage', ...r.fields.slice(1)] : r.fields))].join('\n'));
  const adapter = edgeIiotsetAdapter({ path: file });
  const { rows } = await collectRows(adapter);
  assert.is(rows[1]!.ts, EDGE_FALLBACK_EPOCH_MS + 1);
  assert.is(rows[0]!.ts, parseFrameTime(records[0]!.fields[0]!));
  assert.is(adapter.stats().fallbackTimestamps, 1);
});

Loader('dropDuplicates skips rows equal after the drop', async () => {
  const file = join(tmp(), 'd.csv');
  await writeEdgeCsv(file, { ...BASE, rows: 20 });
  const first = dataRecords(readFileSync(file, 'utf8'))[0]!.fields;
  const sameAfterDrop = first.map((v, i) => (EDGE_IIOTSET_HEADER[i] === 'ip.src_host' ? '10.9.9.9' : v));
  const before = edgeIiotsetAdapter({ path: file, dropDuplicates: true });
  const unique = (await collectRows(before)).rows.length;
  const already = before.stats().duplicates; // generated MITM/scan rows can coincide after the drop
  assert.is(unique + already, 20);
  appendFileSync(file, `${csvLine(first)}\n${csvLine(sameAfterDrop)}\n`);
  assert.is((await collectRows(edgeIiotsetAdapter({ path: file }))).rows.length, 22);
  const dedup = edgeIiotsetAdapter({ path: file, dropDuplicates: true });
  assert.is((await collectRows(dedup)).rows.length, unique);
  assert.is(dedup.stats().duplicates, already + 2);
});

Loader('rows become valid SensorReading messages', async () => {
  const { rows } = await collectRows(openDataset('generated', { ...BASE, rows: 200, quirks: true }));
  for (const r of rows) assert.ok(isRight(decodeWith(SensorReading, toSensorReading(r, 'generated'))), r.readingId);
  assert.is(toSensorReading(rows[0]!, 'generated').source, 'generated');
});

// ---------------------------------------------------------------------------------------------------------------
const Std = suite('Standardizer');

Std('mean and population std, by hand', () => {
  // a: 1,2,3,4 → mean 2.5, variance (2.25+0.25+0.25+2.25)/4 = 1.25, std √1.25 = 1.1180340
  // b: 10,10,10,10 → std 0 → 1;  c missing everywhere → 0, std 1
  const s = Standardizer.fit(['a', 'b', 'c'], [{ a: 1, b: 10 }, { a: 2, b: 10 }, { a: 3, b: 10 }, { a: 4, b: 10 }]);
  assert.equal(s.mean, [2.5, 10, 0]);
  assert.ok(Math.abs(s.std[0]! - 1.118033988749895) < 1e-12);
  assert.equal(s.std.slice(1), [1, 1]);
  const z = s.transform({ a: 4, b: 12 });
  assert.ok(Math.abs(z['a']! - 1.3416407864998738) < 1e-12);
  assert.is(z['b'], 2);
  assert.is(z['c'], 0);
  assert.equal(Array.from(s.vector({ a: 2.5 })), [0, -10, 0]);
});

Std('online fitting equals batch fitting, and survives a large offset', () => {
  const xs = [1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16];
  const f = new StandardizerFitter(['x']);
  for (const x of xs) f.add({ x });
  const s = f.result();
  assert.is(s.mean[0], 1e9 + 10);
  assert.ok(Math.abs(s.std[0]! - Math.sqrt(22.5)) < 1e-6, `std ${s.std[0]}`); // (36+9+9+36)/4 = 22.5
  assert.equal(Standardizer.fit(['x'], xs.map((x) => ({ x }))).toJSON(), s.toJSON());
});

Std('JSON round trip, and decode errors are sentences', () => {
  const s = Standardizer.fit(['a', 'b'], [{ a: 1, b: 2 }, { a: 3, b: 6 }]);
  const json = JSON.parse(JSON.stringify(s));
  assert.equal(json, { kind: 'standardizer', featureNames: ['a', 'b'], mean: [2, 4], std: [1, 2], count: 2 });
  const back = Standardizer.decode(json);
  assert.ok(isRight(back));
  if (isRight(back)) assert.equal(back.right.transform({ a: 3, b: 0 }), { a: 1, b: -2 });
  const err = (v: unknown) => {
    const r = Standardizer.decode(v);
    return isRight(r) ? 'ok' : r.left;
  };
  assert.is(err({ ...json, std: [1] }), 'StandardizerJson: 2 feature names but 2 means and 1 standard deviations');
  assert.is(err({ ...json, std: [1, 0] }), 'StandardizerJson: std of b must be a positive number, got 0');
  assert.match(err({ ...json, kind: 'other' }), /^StandardizerJson: at kind: expected "standardizer"/);
});

Generator.run();
Loader.run();
Std.run();
