/**
 * Metrics for the inspection endpoint's `/metrics`, in the Prometheus text exposition format (version 0.0.4):
 * one `# HELP` and `# TYPE` line per metric name, then its samples, `name{label="value"} number`. Services
 * describe their counters as `Sample`s; `processSamples` adds the process's own (memory, CPU, event-loop delay).
 * No client library: the format is a few lines, and nothing else here needs one.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { TextBody } from './inspection-server';

export interface Sample {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`; counters end in `_total` */
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  value: number;
  labels?: Record<string, string>;
}

export const prometheusContentType = 'text/plain; version=0.0.4; charset=utf-8';

const nameRe = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelRe = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value: backslash, double quote and newline escaped. */
const labelValue = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
/** HELP text: backslash and newline escaped. */
const helpText = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const num = (v: number): string => (Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v));

/**
 * The exposition text of `samples`, grouped by name in first-seen order. A bad metric or label name, or one
 * name given two types, is a bug in the caller and throws.
 */
export function renderPrometheus(samples: readonly Sample[]): string {
  const byName = new Map<string, { help: string; type: Sample['type']; lines: string[] }>();
  for (const s of samples) {
    if (!nameRe.test(s.name)) throw new Error(`metric name "${s.name}" is not a Prometheus name`);
    let entry = byName.get(s.name);
    if (!entry) byName.set(s.name, (entry = { help: s.help, type: s.type, lines: [] }));
    else if (entry.type !== s.type) throw new Error(`metric ${s.name} is both a ${entry.type} and a ${s.type}`);
    const labels = Object.entries(s.labels ?? {});
    for (const [k] of labels) if (!labelRe.test(k)) throw new Error(`label name "${k}" of ${s.name} is not a Prometheus label name`);
    const text = labels.length ? `{${labels.map(([k, v]) => `${k}="${labelValue(v)}"`).join(',')}}` : '';
    entry.lines.push(`${s.name}${text} ${num(s.value)}`);
  }
  const out: string[] = [];
  for (const [name, e] of byName) out.push(`# HELP ${name} ${helpText(e.help)}`, `# TYPE ${name} ${e.type}`, ...e.lines);
  return out.length ? `${out.join('\n')}\n` : '';
}

/** One metric with several labelled samples: its name, help and type written once. */
export const family = (name: string, help: string, type: Sample['type'], samples: ReadonlyArray<{ labels: Record<string, string>; value: number }>): Sample[] =>
  samples.map(({ labels, value }) => ({ name, help, type, value, labels }));

/** `renderPrometheus` as an inspection response. */
export const metricsBody = (samples: readonly Sample[]): TextBody => new TextBody(renderPrometheus(samples), prometheusContentType);

let loopDelay: IntervalHistogram | undefined;

/** Start measuring the event-loop delay (once per process; services call it when they build their routes). */
export function watchEventLoop(): void {
  if (loopDelay) return;
  loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
}

/** The process: resident memory, heap, CPU seconds, uptime, event-loop delay (p50/p99/max since `watchEventLoop`). */
export function processSamples(): Sample[] {
  watchEventLoop();
  const loop = loopDelay!;
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  const delay = (q: number): number => (loop.count ? loop.percentile(q) / 1e9 : 0);
  return [
    { name: 'process_resident_memory_bytes', help: 'Resident memory size in bytes.', type: 'gauge', value: mem.rss },
    { name: 'nodejs_heap_used_bytes', help: 'V8 heap in use, bytes.', type: 'gauge', value: mem.heapUsed },
    { name: 'nodejs_external_memory_bytes', help: 'Memory of C++ objects bound to JavaScript (buffers, WebAssembly), bytes.', type: 'gauge', value: mem.external },
    { name: 'process_cpu_seconds_total', help: 'User and system CPU time spent, seconds.', type: 'counter', value: (cpu.user + cpu.system) / 1e6 },
    { name: 'process_uptime_seconds', help: 'Seconds since the process started.', type: 'gauge', value: process.uptime() },
    ...family('nodejs_eventloop_delay_seconds', 'Event-loop delay since the service started, by quantile.', 'gauge', [
      { labels: { quantile: '0.5' }, value: delay(50) },
      { labels: { quantile: '0.99' }, value: delay(99) },
      { labels: { quantile: '1' }, value: loop.count ? loop.max / 1e9 : 0 },
    ]),
  ];
}
