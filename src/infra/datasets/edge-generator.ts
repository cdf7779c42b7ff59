/**
 * A deterministic generator of Edge-IIoTset-shaped CSV (the exact 63-column header), so tests, demos and benches
 * never need the licensed files. Same options (seed included) → byte-identical output. Its file writers are in
 * edge-files.ts.
 *
 * - Devices `1…devices` have a type, cycling mqtt-sensor (temperature/humidity over MQTT), modbus-plc (Modbus/TCP),
 *   http-camera (HTTP); each sees only a window of `attacksPerDevice` consecutive attack types (non-IID), windows
 *   laid so that every one of the 14 attack types is seen by some device.
 * - Each row: a device drawn uniformly; with probability `attackFraction` an attack drawn from that device's window
 *   by `attackWeights` (default 1 each; a device whose window weighs 0 sends normal traffic only), else normal
 *   traffic of its type (plus the odd DNS query).
 * - Profiles are plausible, not measured: DDoS_UDP fills udp.* (huge udp.stream, tiny udp.time_delta), DDoS_ICMP
 *   icmp.*, DDoS_TCP and Port_Scanning SYNs, injections carry their payload in http.request.uri.query, MITM is ARP.
 * - Quirks (off unless asked): HTML bodies with quotes, commas and CRLF in http.file_data; long hex payloads in
 *   tcp.payload; DDoS_UDP/MITM rows shifted by one column (ip.src_host written before frame.time: 64 fields);
 *   integers written as `N.0` and text zeros as `0.0`.
 */
import { csvLine } from './csv';
import { EDGE_IIOTSET_CLASSES, EDGE_IIOTSET_HEADER, type EdgeClass, type EdgeColumn } from './edge-iiotset-schema';
import { mulberry32 } from '../prng';
export { mulberry32 };

export type EdgeAttack = Exclude<EdgeClass, 'Normal'>;
export const EDGE_ATTACK_TYPES = EDGE_IIOTSET_CLASSES.filter((c): c is EdgeAttack => c !== 'Normal');

export const EDGE_DEVICE_TYPES = ['mqtt-sensor', 'modbus-plc', 'http-camera'] as const;
export type EdgeDeviceType = (typeof EDGE_DEVICE_TYPES)[number];

/** Per-row probabilities of each quirk (html: per HTTP response, hex: per TCP row, shifted: per DDoS_UDP/MITM row). */
export interface EdgeQuirks {
  html: number;
  hex: number;
  shifted: number;
  zeroPointZero: number;
}
/** The rates `quirks: true` means. */
export const EDGE_QUIRK_RATES: EdgeQuirks = { html: 0.5, hex: 0.3, shifted: 0.2, zeroPointZero: 0.2 };
const NO_QUIRKS: EdgeQuirks = { html: 0, hex: 0, shifted: 0, zeroPointZero: 0 };

export interface EdgeGeneratorOptions {
  seed: number;
  rows: number;
  devices: number;
  /** probability that a row is an attack, in [0, 1] */
  attackFraction: number;
  /** relative weight per attack type; missing types weigh 1 */
  attackWeights?: Partial<Record<EdgeAttack, number>>;
  /** attack types each device sees (default 4; raised to ceil(14 / devices) so all 14 are covered) */
  attacksPerDevice?: number;
  quirks?: boolean | Partial<EdgeQuirks>;
  /** only this device's rows (1-based); the draws are the same as for the full stream */
  onlyDevice?: number;
}

export interface EdgeDevicePlan {
  device: number;
  type: EdgeDeviceType;
  ip: string;
  attacks: EdgeAttack[];
}

export interface EdgeGeneratedRecord {
  device: number;
  attackType: EdgeClass;
  /** 63 fields, or 64 for a shifted row */
  fields: string[];
  shifted: boolean;
}


function check(opts: EdgeGeneratorOptions): void {
  const { rows, devices, attackFraction, seed } = opts;
  if (!Number.isInteger(seed)) throw new RangeError(`generator: seed must be an integer, got ${seed}`);
  if (!Number.isInteger(rows) || rows < 0) throw new RangeError(`generator: rows must be a non-negative integer, got ${rows}`);
  if (!Number.isInteger(devices) || devices < 1) throw new RangeError(`generator: devices must be a positive integer, got ${devices}`);
  if (!(attackFraction >= 0 && attackFraction <= 1)) throw new RangeError(`generator: attackFraction must be in [0, 1], got ${attackFraction}`);
  for (const [k, w] of Object.entries(opts.attackWeights ?? {})) {
    if (!EDGE_ATTACK_TYPES.includes(k as EdgeAttack)) throw new RangeError(`generator: attackWeights names ${k}, which is not an attack type`);
    if (!(Number.isFinite(w) && (w as number) >= 0)) throw new RangeError(`generator: attackWeights.${k} must be a non-negative number, got ${w}`);
  }
}

/** Which type and attacks each device has (depends only on devices and attacksPerDevice). */
export function edgeDevicePlan(opts: Pick<EdgeGeneratorOptions, 'devices' | 'attacksPerDevice'>): EdgeDevicePlan[] {
  const n = EDGE_ATTACK_TYPES.length;
  const k = Math.min(n, Math.max(opts.attacksPerDevice ?? 4, Math.ceil(n / opts.devices)));
  return Array.from({ length: opts.devices }, (_, i) => ({
    device: i + 1,
    type: EDGE_DEVICE_TYPES[i % EDGE_DEVICE_TYPES.length]!,
    ip: `192.168.${1 + Math.floor(i / 200)}.${10 + (i % 200)}`,
    attacks: Array.from({ length: k }, (_, j) => EDGE_ATTACK_TYPES[(i * k + j) % n]!),
  }));
}

const BROKER = '192.168.0.128';
const NVR = '192.168.0.30';
const GATEWAY = '192.168.0.1';
/** the referer host of the DVWA pages attacked (fixed, so referer categories do not name devices) */
const DVWA = '192.168.0.128';

type Row = Partial<Record<EdgeColumn, string | number>>;

interface Ctx {
  rnd: () => number;
  int: (a: number, b: number) => number;
  pick: <T>(xs: readonly T[]) => T;
  hex: (bytes: number) => string;
  quirks: EdgeQuirks;
  dev: EdgeDevicePlan;
  seq: number;
}

const html = (c: Ctx, title: string): string =>
  `<html>\r\n<head><title>${title}, device ${c.dev.device}</title></head>\r\n<body class="main"><p>status: "ok", frames=${c.int(1, 999)}</p></body>\r\n</html>`;

function tcpBase(c: Ctx, r: Row, dstport: number): void {
  r['tcp.srcport'] = c.int(30000, 60999);
  r['tcp.dstport'] = dstport;
  r['tcp.ack'] = c.int(1, 2000);
  r['tcp.ack_raw'] = c.int(100000000, 4000000000);
  r['tcp.seq'] = c.int(1, 2000);
  r['tcp.checksum'] = c.int(0, 65535);
  r['tcp.flags'] = 24;
  r['tcp.flags.ack'] = 1;
  if (c.rnd() < c.quirks.hex) r['tcp.payload'] = c.hex(c.int(100, 1000));
}

const NORMAL: Record<EdgeDeviceType, (c: Ctx, r: Row) => void> = {
  'mqtt-sensor': (c, r) => {
    r['ip.src_host'] = c.dev.ip;
    r['ip.dst_host'] = BROKER;
    tcpBase(c, r, 1883);
    const kind = c.rnd();
    if (kind < 0.85) {
      const msg = Buffer.from(`${(20 + c.rnd() * 10).toFixed(1)};${(40 + c.rnd() * 20).toFixed(1)}`).toString('hex');
      Object.assign(r, {
        'mqtt.msgtype': 3, 'mqtt.hdrflags': 48, 'mqtt.topic': 'Temperature_and_Humidity', 'mqtt.topic_len': 24,
        'mqtt.msg': msg, 'mqtt.len': 26 + msg.length / 2,
      });
      r['tcp.len'] = (r['mqtt.len'] as number) + 2;
    } else if (kind < 0.92) {
      Object.assign(r, {
        'mqtt.msgtype': 1, 'mqtt.hdrflags': 16, 'mqtt.protoname': 'MQTT', 'mqtt.proto_len': 4, 'mqtt.ver': 4,
        'mqtt.conflags': 2, 'mqtt.conflag.cleansess': 1, 'mqtt.len': 12, 'tcp.len': 14,
      });
    } else {
      Object.assign(r, { 'mqtt.msgtype': 2, 'mqtt.hdrflags': 32, 'mqtt.conack.flags': '0x00000000', 'mqtt.len': 2, 'tcp.len': 4 });
      r['ip.src_host'] = BROKER;
      r['ip.dst_host'] = c.dev.ip;
    }
  },
  'modbus-plc': (c, r) => {
    r['ip.src_host'] = c.dev.ip;
    r['ip.dst_host'] = '192.168.0.20';
    tcpBase(c, r, c.int(40000, 60999));
    r['tcp.srcport'] = 502;
    const len = c.int(5, 15);
    Object.assign(r, { 'mbtcp.len': len, 'mbtcp.trans_id': c.seq % 65536, 'mbtcp.unit_id': 1, 'tcp.len': len + 6 });
  },
  'http-camera': (c, r) => {
    r['ip.src_host'] = c.dev.ip;
    r['ip.dst_host'] = NVR;
    tcpBase(c, r, 80);
    r['http.request.version'] = 'HTTP/1.1';
    if (c.rnd() < 0.6) {
      Object.assign(r, { 'http.response': 1, 'http.content_length': c.int(2000, 60000), 'tcp.len': 1448 });
      r['tcp.srcport'] = 80;
      r['tcp.dstport'] = c.int(30000, 60999);
      if (c.rnd() < c.quirks.html) r['http.file_data'] = html(c, 'Camera snapshot');
    } else {
      Object.assign(r, {
        'http.request.method': 'GET', 'http.request.uri.query': `cam=${c.dev.device}`,
        'http.request.full_uri': `http://${NVR}/api/heartbeat?cam=${c.dev.device}`, 'tcp.len': c.int(90, 160),
      });
    }
  },
};

function dns(c: Ctx, r: Row): void {
  r['ip.src_host'] = c.dev.ip;
  r['ip.dst_host'] = GATEWAY;
  Object.assign(r, {
    'udp.port': 53, 'udp.stream': c.int(0, 40), 'udp.time_delta': +(c.rnd() * 0.5).toFixed(6),
    'dns.qry.name.len': c.pick(['11', '15', '22']), 'dns.qry.qu': 0, 'dns.qry.type': 1, 'dns.retransmission': 0,
  });
}

const ATTACKER = (a: EdgeAttack): string => `192.168.0.${170 + EDGE_ATTACK_TYPES.indexOf(a)}`;

const ATTACK: Record<EdgeAttack, (c: Ctx, r: Row) => void> = {
  DDoS_UDP: (c, r) => {
    Object.assign(r, { 'udp.port': c.int(1, 65535), 'udp.stream': c.int(1000, 1000000), 'udp.time_delta': +(c.rnd() * 0.0002).toFixed(7) });
  },
  DDoS_ICMP: (c, r) => {
    Object.assign(r, { 'icmp.checksum': c.int(0, 65535), 'icmp.seq_le': c.int(1, 65535), 'icmp.transmit_timestamp': 0, 'icmp.unused': 0 });
  },
  DDoS_TCP: (c, r) => {
    Object.assign(r, { 'tcp.srcport': c.int(1024, 65535), 'tcp.dstport': c.pick([80, 502, 1883]), 'tcp.connection.syn': 1, 'tcp.flags': 2, 'tcp.len': 0, 'tcp.checksum': c.int(0, 65535) });
  },
  DDoS_HTTP: (c, r) => {
    tcpBase(c, r, 80);
    Object.assign(r, { 'http.request.method': 'GET', 'http.request.version': 'HTTP/1.1', 'http.request.full_uri': `http://${c.dev.ip}/`, 'tcp.len': c.int(100, 300) });
  },
  SQL_injection: (c, r) => {
    tcpBase(c, r, 80);
    const q = c.pick(["id=1' OR '1'='1' -- ", 'id=1 UNION SELECT user,password FROM users#', "id=1' AND sleep(5)#"]);
    Object.assign(r, {
      'http.request.method': c.pick(['GET', 'POST']), 'http.request.version': 'HTTP/1.1', 'http.request.uri.query': q,
      'http.request.full_uri': `http://${c.dev.ip}/dvwa/vulnerabilities/sqli/?${q}`,
      'http.referer': `http://${DVWA}/dvwa/vulnerabilities/sqli/`, 'tcp.len': c.int(400, 700),
    });
  },
  XSS: (c, r) => {
    tcpBase(c, r, 80);
    const q = c.pick(['name=<script>alert("xss")</script>', 'name=<img src=x onerror="alert(1)">', 'q=<svg onload=alert(document.cookie),1>']);
    Object.assign(r, {
      'http.request.method': 'GET', 'http.request.version': 'HTTP/1.1', 'http.request.uri.query': q,
      'http.request.full_uri': `http://${c.dev.ip}/dvwa/vulnerabilities/xss_r/?${q}`,
      'http.referer': `http://${DVWA}/dvwa/vulnerabilities/xss_r/`, 'tcp.len': c.int(450, 800),
    });
    if (c.rnd() < c.quirks.html) r['http.file_data'] = html(c, 'Reflected XSS');
  },
  Uploading: (c, r) => {
    tcpBase(c, r, 80);
    Object.assign(r, {
      'http.request.method': 'POST', 'http.request.version': 'HTTP/1.1', 'http.content_length': c.int(10000, 1000000),
      'http.request.full_uri': `http://${c.dev.ip}/dvwa/vulnerabilities/upload/`, 'http.referer': `http://${DVWA}/dvwa/vulnerabilities/upload/`,
      'tcp.len': 1448,
    });
  },
  Password: (c, r) => {
    tcpBase(c, r, 80);
    const q = `username=admin&password=${c.hex(4)}&Login=Login`;
    Object.assign(r, {
      'http.request.method': 'GET', 'http.request.version': 'HTTP/1.1', 'http.request.uri.query': q,
      'http.request.full_uri': `http://${c.dev.ip}/dvwa/vulnerabilities/brute/?${q}`, 'http.content_length': c.int(60, 90), 'tcp.len': c.int(600, 700),
    });
  },
  Vulnerability_scanner: (c, r) => {
    tcpBase(c, r, 80);
    const path = c.pick(['/.git/config', '/admin.php', '/cgi-bin/test.cgi', '/wp-login.php', '/server-status']);
    Object.assign(r, {
      'http.request.method': c.pick(['GET', 'HEAD', 'OPTIONS', 'PROPFIND']), 'http.request.version': 'HTTP/1.0',
      'http.request.full_uri': `http://${c.dev.ip}${path}`, 'http.response': c.rnd() < 0.5 ? 1 : 0, 'tcp.len': c.int(150, 400),
    });
    if (r['http.response'] === 1 && c.rnd() < c.quirks.html) r['http.file_data'] = html(c, '404 Not Found');
  },
  Backdoor: (c, r) => {
    tcpBase(c, r, 4444);
    r['tcp.len'] = c.int(20, 200);
  },
  Port_Scanning: (c, r) => {
    Object.assign(r, { 'tcp.srcport': c.int(40000, 65535), 'tcp.dstport': c.int(1, 1024), 'tcp.connection.syn': 1, 'tcp.flags': 2, 'tcp.len': 0, 'tcp.seq': 0, 'tcp.checksum': c.int(0, 65535) });
    if (c.rnd() < 0.5) {
      Object.assign(r, { 'tcp.connection.syn': 0, 'tcp.connection.rst': 1, 'tcp.flags': 20, 'tcp.flags.ack': 1, 'ip.src_host': c.dev.ip, 'ip.dst_host': ATTACKER('Port_Scanning') });
    }
  },
  Ransomware: (c, r) => {
    tcpBase(c, r, 445);
    r['tcp.len'] = c.int(1000, 1448);
  },
  MITM: (c, r) => {
    Object.assign(r, { 'arp.opcode': c.pick([1, 2, 2]), 'arp.hw.size': 6, 'arp.src.proto_ipv4': GATEWAY, 'arp.dst.proto_ipv4': c.dev.ip });
  },
  Fingerprinting: (c, r) => {
    Object.assign(r, {
      'tcp.srcport': c.int(40000, 65535), 'tcp.dstport': c.pick([22, 80, 443, 502, 1883]), 'tcp.flags': c.pick([2, 18, 41]),
      'tcp.connection.syn': 1, 'tcp.connection.synack': c.pick([0, 1]), 'tcp.len': 0, 'tcp.options': '020405b40402080a',
      'icmp.checksum': c.int(0, 65535), 'icmp.seq_le': c.int(1, 20),
    });
  },
};

function quirkRates(q: EdgeGeneratorOptions['quirks']): EdgeQuirks {
  if (q === undefined || q === false) return NO_QUIRKS;
  if (q === true) return EDGE_QUIRK_RATES;
  return { ...NO_QUIRKS, ...q };
}

/** The records (without the header), with the device and class of each. */
export function* generateEdgeRecords(opts: EdgeGeneratorOptions): Generator<EdgeGeneratedRecord> {
  check(opts);
  const rnd = mulberry32(opts.seed);
  const plan = edgeDevicePlan(opts);
  const quirks = quirkRates(opts.quirks);
  const weight = (a: EdgeAttack): number => opts.attackWeights?.[a] ?? 1;
  const int = (a: number, b: number) => a + Math.floor(rnd() * (b - a + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const hex = (bytes: number) => Array.from({ length: bytes }, () => int(0, 255).toString(16).padStart(2, '0')).join('');
  const seqs = new Array<number>(plan.length).fill(0);
  let clockUs = 11 * 3600 * 1e6; // the capture day starts at 11:00 (times are "2021 HH:MM:SS")

  for (let i = 0; i < opts.rows; i++) {
    const dev = plan[Math.floor(rnd() * plan.length)]!;
    const total = dev.attacks.reduce((s, a) => s + weight(a), 0);
    let cls: EdgeClass = 'Normal';
    if (rnd() < opts.attackFraction && total > 0) {
      let x = rnd() * total;
      cls = dev.attacks.find((a) => (x -= weight(a)) < 0) ?? dev.attacks[dev.attacks.length - 1]!;
    }
    const c: Ctx = { rnd, int, pick, hex, quirks, dev, seq: seqs[dev.device - 1]!++ };
    const r: Row = {};
    if (cls === 'Normal') {
      if (rnd() < 0.05) dns(c, r);
      else NORMAL[dev.type](c, r);
      clockUs += int(1000, 50000);
    } else {
      r['ip.src_host'] = ATTACKER(cls);
      r['ip.dst_host'] = dev.ip;
      ATTACK[cls](c, r);
      clockUs += cls.startsWith('DDoS') ? int(5, 200) : int(100, 5000);
    }
    r['Attack_label'] = cls === 'Normal' ? 0 : 1;
    r['Attack_type'] = cls;
    r['frame.time'] = frameTime(clockUs);

    const fields = EDGE_IIOTSET_HEADER.map((col) => {
      const v = r[col];
      const zero = rnd() < quirks.zeroPointZero;
      if (v === undefined) return zero ? '0.0' : '0';
      if (typeof v === 'string') return zero && col === 'dns.qry.name.len' ? `${v}.0` : v;
      if (col === 'Attack_label') return String(v);
      return Number.isInteger(v) && zero ? `${v}.0` : String(v);
    });
    const shifted = (cls === 'DDoS_UDP' || cls === 'MITM') && rnd() < quirks.shifted;
    if (opts.onlyDevice !== undefined && opts.onlyDevice !== dev.device) continue;
    yield { device: dev.device, attackType: cls, fields: shifted ? [String(r['ip.src_host']), ...fields] : fields, shifted };
  }
}

function frameTime(us: number): string {
  const day = 24 * 3600 * 1e6;
  const t = us % day;
  const h = Math.floor(t / 3.6e9);
  const m = Math.floor((t % 3.6e9) / 6e7);
  const s = Math.floor((t % 6e7) / 1e6);
  const frac = String(Math.floor(t % 1e6)).padStart(6, '0');
  const p = (n: number) => String(n).padStart(2, '0');
  return ` 2021 ${p(h)}:${p(m)}:${p(s)}.${frac}000 `;
}

/** CSV records as text, header first, each without a line terminator. */
export function* generateEdgeRows(opts: EdgeGeneratorOptions): Generator<string> {
  yield EDGE_IIOTSET_HEADER.join(',');
  for (const r of generateEdgeRecords(opts)) yield csvLine(r.fields);
}
