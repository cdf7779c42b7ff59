/**
 * A device's training window (DeviceState.window), kept in chunks: each chunk holds the features of consecutive
 * readings one after the other (a reading's `features` numbers, then the next's), oldest first, up to
 * CHUNK_NUMBERS numbers a chunk. One array a reading cost ~36 bytes besides its numbers (~56 bytes a reading of 2
 * features in all, against 16 in a chunk); one flat array for the whole window would be copied whole at every
 * batch, into V8's large-object space once it passes 128 KiB (16,384 numbers: 1,000 readings of 17 features).
 * A chunk stays small (8 KiB), a batch copies only the window's last chunk (to append) and first (to drop), and
 * a window written one array a reading (before 2026-12-04) is already valid: chunks of one reading each.
 */

/** Numbers a chunk holds at most (whole readings: fewer when `features` does not divide it; one reading at least). */
export const CHUNK_NUMBERS = 1024;

/** The chunks holding `chunks`' readings then `rows`, the newest `keep` of them (`count`: the readings in `chunks`). */
export function slideChunks(chunks: readonly (readonly number[])[], count: number, rows: readonly (readonly number[])[], keep: number): number[][] {
  const out = chunks.slice() as number[][];
  if (rows.length === 0) return out;
  const features = rows[0]!.length;
  const per = Math.max(1, Math.floor(CHUNK_NUMBERS / Math.max(1, features))); // readings a chunk
  let i = Math.max(0, rows.length - keep); // rows beyond `keep` would be dropped at once
  let excess = count + rows.length - i - keep;
  const last = out[out.length - 1];
  if (last && features > 0 && last.length / features < per && i < rows.length) {
    const take = rows.slice(i, i + per - last.length / features);
    out[out.length - 1] = last.concat(...take);
    i += take.length;
  }
  for (; i < rows.length; i += per) out.push(([] as number[]).concat(...rows.slice(i, i + per)));
  while (excess > 0 && out.length > 0) {
    const n = features > 0 ? out[0]!.length / features : 0;
    if (n <= excess) {
      out.shift();
      excess -= n;
    } else {
      out[0] = out[0]!.slice(excess * features);
      excess = 0;
    }
  }
  return out;
}

/** The numbers of readings `from` to `to` - 1 of a chunked window, flat. */
export function readingsOf(chunks: readonly (readonly number[])[], features: number, from: number, to: number): number[] {
  const out: number[] = [];
  let at = 0; // the first reading of the chunk
  for (const c of chunks) {
    const n = features > 0 ? c.length / features : 0;
    const a = Math.max(from, at);
    const b = Math.min(to, at + n);
    for (let k = (a - at) * features; k < (b - at) * features; k++) out.push(c[k]!);
    at += n;
    if (at >= to) break;
  }
  return out;
}

/** The numbers a chunked window holds (its readings × their features). */
export const numbersOf = (chunks: readonly (readonly number[])[]): number => chunks.reduce((n, c) => n + c.length, 0);
