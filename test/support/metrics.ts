/**
 * A strict reader of the Prometheus text format as /metrics serves it: every line is a `# HELP`, a `# TYPE`
 * (counter or gauge) or a sample of a metric whose TYPE came before; anything else throws with the line.
 */
export interface Scrape {
  /** the value of `name` with exactly these labels (undefined when absent) */
  get(name: string, labels?: Record<string, string>): number | undefined;
  /** every sample of `name`, with its labels */
  all(name: string): Array<{ labels: Record<string, string>; value: number }>;
  types: Map<string, string>;
}

const sampleRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/gy;

export function parsePrometheus(text: string): Scrape {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n').slice(0, -1)) {
    let m: RegExpExecArray | null;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line))) {
      if (helps.has(m[1]!)) throw new Error(`second HELP for ${m[1]}`);
      helps.add(m[1]!);
    } else if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$/.exec(line))) {
      if (types.has(m[1]!)) throw new Error(`second TYPE for ${m[1]}`);
      types.set(m[1]!, m[2]!);
    } else if ((m = sampleRe.exec(line))) {
      const [, name, rawLabels, rawValue] = m;
      if (!types.has(name!)) throw new Error(`sample before the TYPE of ${name}: ${line}`);
      const labels: Record<string, string> = {};
      if (rawLabels) {
        labelRe.lastIndex = 0;
        let consumed = 0;
        let l: RegExpExecArray | null;
        while ((l = labelRe.exec(rawLabels))) {
          labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
          consumed = labelRe.lastIndex;
        }
        if (consumed !== rawLabels.length) throw new Error(`malformed labels: ${line}`);
      }
      const value = rawValue === '+Inf' ? Infinity : rawValue === '-Inf' ? -Infinity : Number(rawValue);
      if (Number.isNaN(value) && rawValue !== 'NaN') throw new Error(`malformed value: ${line}`);
      samples.push({ name: name!, labels, value });
    } else {
      throw new Error(`not a Prometheus text line: ${JSON.stringify(line)}`);
    }
  }
  const same = (a: Record<string, string>, b: Record<string, string>) => {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
  };
  return {
    types,
    get: (name, labels = {}) => samples.find((s) => s.name === name && same(s.labels, labels))?.value,
    all: (name) => samples.filter((s) => s.name === name).map(({ labels, value }) => ({ labels, value })),
  };
}
