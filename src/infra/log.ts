/**
 * Logs: one line each on stderr, "time level service: message". Counts and names go in the message
 * ("round 7: 8 of 12 updates, 1 rejected"). LOG_LEVEL=debug|info|warn|error (default info).
 */
export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  child(name: string): Logger;
}

const levels = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = keyof typeof levels;

/**
 * A live status line on a terminal (progress): log lines are written above it, and it is redrawn after
 * each, so the two never mix. On a non-terminal stderr it does nothing.
 */
let status = '';
const tty = (): boolean => process.stderr.isTTY === true;
export function setStatusLine(text: string): void {
  if (!tty()) return;
  status = text;
  process.stderr.write(`\r${text}\x1b[K`);
}
export function clearStatusLine(): void {
  if (!tty() || !status) return;
  process.stderr.write('\r\x1b[K');
  status = '';
}
const writeLine = (l: string): void => {
  if (tty() && status) process.stderr.write(`\r\x1b[K${l}\n${status}`);
  else process.stderr.write(`${l}\n`);
};

export function createLogger(name: string, level: Level = (process.env.LOG_LEVEL as Level) || 'info', sink: (line: string) => void = writeLine): Logger {
  const min = levels[level] ?? levels.info;
  const at = (lv: Exclude<Level, 'silent'>) => (msg: string) => {
    if (levels[lv] >= min) sink(`${new Date().toISOString()} ${lv.padEnd(5)} ${name}: ${msg}`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (n) => createLogger(`${name}/${n}`, level, sink) };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silentLogger };
