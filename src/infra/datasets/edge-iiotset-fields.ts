/**
 * Readers of Edge-IIoTset field text, as the real files write it: numbers ("0", "0.0", "1e3", "0x1f"), one-hot
 * categories in canonical form, `frame.time` in its two spellings (see edge-iiotset.ts), and the hash that
 * assigns a row to a device by its source address.
 */

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^0[xX][0-9a-fA-F]+$/;

/** A finite number from text ("0", "0.0", "1e3", "0x1f"); null for empty or anything else. */
export function parseNumber(text: string): number | null {
  const s = text.trim();
  if (!NUMBER.test(s)) return null;
  const v = Number(s);
  return Number.isFinite(v) ? v : null;
}

/** A one-hot category: trimmed; numeric text in canonical form ("0.0" → "0", "1.50" → "1.5"). */
export function canonicalCategory(text: string): string {
  const s = text.trim();
  const v = parseNumber(s);
  return v === null ? s : String(v);
}

const YEAR_TIME = /^(\d{4})\s+(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?$/;

/** frame.time → epoch ms, or null when it cannot be read (see edge-iiotset.ts's module doc). */
export function parseFrameTime(text: string): number | null {
  const s = text.trim();
  if (s === '') return null;
  const m = YEAR_TIME.exec(s);
  if (m) {
    const [, y, h, mi, se, frac] = m;
    if (Number(h) > 23 || Number(mi) > 59 || Number(se) > 60) return null;
    const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
    return Date.UTC(Number(y), 0, 1) + ((Number(h) * 60 + Number(mi)) * 60 + Number(se)) * 1000 + ms;
  }
  if (!/[A-Za-z-]/.test(s) || /^[\d.]+$/.test(s)) return null; // a bare number is not a date
  const parsed = Date.parse(s.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isFinite(parsed) && parsed >= 0 ? Math.floor(parsed) : null;
}

/** FNV-1a, 32-bit. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
