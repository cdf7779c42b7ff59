/**
 * The Edge-IIoTset schema (Ferrag et al., IEEE Access 2022; DATA.md): its 63 columns in file order, its 15
 * classes, and the usual preprocessing's partition of the columns into dropped, one-hot and numeric ones. The
 * adapter (edge-iiotset.ts) reads files by it; the generator and its file writers write rows by it.
 */

export const EDGE_IIOTSET_HEADER = [
  'frame.time', 'ip.src_host', 'ip.dst_host', 'arp.dst.proto_ipv4', 'arp.opcode', 'arp.hw.size', 'arp.src.proto_ipv4',
  'icmp.checksum', 'icmp.seq_le', 'icmp.transmit_timestamp', 'icmp.unused', 'http.file_data', 'http.content_length',
  'http.request.uri.query', 'http.request.method', 'http.referer', 'http.request.full_uri', 'http.request.version',
  'http.response', 'http.tls_port', 'tcp.ack', 'tcp.ack_raw', 'tcp.checksum', 'tcp.connection.fin', 'tcp.connection.rst',
  'tcp.connection.syn', 'tcp.connection.synack', 'tcp.dstport', 'tcp.flags', 'tcp.flags.ack', 'tcp.len', 'tcp.options',
  'tcp.payload', 'tcp.seq', 'tcp.srcport', 'udp.port', 'udp.stream', 'udp.time_delta', 'dns.qry.name', 'dns.qry.name.len',
  'dns.qry.qu', 'dns.qry.type', 'dns.retransmission', 'dns.retransmit_request', 'dns.retransmit_request_in',
  'mqtt.conack.flags', 'mqtt.conflag.cleansess', 'mqtt.conflags', 'mqtt.hdrflags', 'mqtt.len', 'mqtt.msg_decoded_as',
  'mqtt.msg', 'mqtt.msgtype', 'mqtt.proto_len', 'mqtt.protoname', 'mqtt.topic', 'mqtt.topic_len', 'mqtt.ver', 'mbtcp.len',
  'mbtcp.trans_id', 'mbtcp.unit_id', 'Attack_label', 'Attack_type',
] as const;
export type EdgeColumn = (typeof EDGE_IIOTSET_HEADER)[number];

/** The 15 Attack_type values, in DATA.md order (by row count in the DNN file). */
export const EDGE_IIOTSET_CLASSES = [
  'Normal', 'DDoS_UDP', 'DDoS_ICMP', 'SQL_injection', 'Password', 'Vulnerability_scanner', 'DDoS_TCP', 'DDoS_HTTP',
  'Uploading', 'Backdoor', 'Port_Scanning', 'XSS', 'Ransomware', 'MITM', 'Fingerprinting',
] as const;
export type EdgeClass = (typeof EDGE_IIOTSET_CLASSES)[number];

/** Identity/payload columns dropped before training (addresses and ports leak the class). */
export const EDGE_DROPPED_COLUMNS: readonly EdgeColumn[] = [
  'frame.time', 'ip.src_host', 'ip.dst_host', 'arp.src.proto_ipv4', 'arp.dst.proto_ipv4', 'http.file_data',
  'http.request.full_uri', 'icmp.transmit_timestamp', 'http.request.uri.query', 'tcp.options', 'tcp.payload',
  'tcp.srcport', 'tcp.dstport', 'udp.port', 'mqtt.msg',
];
/** Text columns one-hot encoded. */
export const EDGE_ONE_HOT_COLUMNS: readonly EdgeColumn[] = [
  'http.request.method', 'http.referer', 'http.request.version', 'dns.qry.name.len', 'mqtt.conack.flags',
  'mqtt.protoname', 'mqtt.topic',
];
const LABEL_COLUMNS: readonly EdgeColumn[] = ['Attack_label', 'Attack_type'];
/** The 39 columns kept as numbers, in header order. */
export const EDGE_NUMERIC_COLUMNS: readonly EdgeColumn[] = EDGE_IIOTSET_HEADER.filter(
  (c) => !EDGE_DROPPED_COLUMNS.includes(c) && !EDGE_ONE_HOT_COLUMNS.includes(c) && !LABEL_COLUMNS.includes(c),
);
