/**
 * A streaming RFC-4180 CSV parser (no dependency) and the matching encoder.
 *
 * Contract:
 * - Fields are separated by `,`; records end at LF, CRLF or a lone CR outside quotes.
 * - A field that starts with `"` is quoted: it may hold commas, CR, LF and `""` (one literal quote). Physical lines
 *   are therefore not records; `line` is the 1-based physical line on which a record starts (CRLF, LF and a lone CR
 *   each count as one line break, inside quotes too).
 * - Lenient, never throws on content: a `"` inside an unquoted field is literal (`ab"c`), and text after a closing
 *   quote is appended literally (`"ab"c` → `abc`).
 * - A blank line is a record with one empty field (`['']`); callers decide whether to skip it.
 * - An unterminated quote at end of input yields the record so far (the open field holds everything after its
 *   quote) flagged `error: 'unterminated quoted field'`.
 * - A UTF-8 byte-order mark at the very start is dropped. Chunks may split anything: a `""` pair, a CRLF, a
 *   multi-byte UTF-8 character (Buffers are decoded with a StringDecoder).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

export interface CsvRecord {
  fields: string[];
  /** first physical line of the record, 1-based */
  line: number;
  /** present only when the input ended inside a quoted field */
  error?: 'unterminated quoted field';
}

const COMMA = 44;
const QUOTE = 34;
const CR = 13;
const LF = 10;

const enum State {
  FieldStart,
  Unquoted,
  Quoted,
  /** saw a `"` inside a quoted field: either the first half of `""` or the closing quote */
  QuoteSeen,
}

/** Incremental parser: `push` chunks, then `end`. Each returns the records completed so far. */
export class CsvParser {
  private state = State.FieldStart;
  private field = '';
  private fields: string[] = [];
  private line = 1;
  private recordLine = 1;
  private inRecord = false;
  private afterCR = false;
  private started = false;

  push(chunk: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    const s = chunk;
    const n = s.length;
    let i = 0;
    if (!this.started && n > 0) {
      this.started = true;
      if (s.charCodeAt(0) === 0xfeff) i = 1;
    }
    while (i < n) {
      const c = s.charCodeAt(i);
      if (this.afterCR) {
        this.afterCR = false;
        if (c === LF) {
          // second half of a CRLF: the line was already counted at the CR
          if (this.state === State.Quoted) this.field += '\n';
          i++;
          continue;
        }
      }
      if (!this.inRecord) {
        this.inRecord = true;
        this.recordLine = this.line;
      }
      switch (this.state) {
        case State.Quoted: {
          if (c === QUOTE) {
            this.state = State.QuoteSeen;
            i++;
          } else if (c === CR) {
            this.field += '\r';
            this.line++;
            this.afterCR = true;
            i++;
          } else if (c === LF) {
            this.field += '\n';
            this.line++;
            i++;
          } else {
            let j = i + 1;
            while (j < n) {
              const d = s.charCodeAt(j);
              if (d === QUOTE || d === CR || d === LF) break;
              j++;
            }
            this.field += s.slice(i, j);
            i = j;
          }
          break;
        }
        case State.QuoteSeen:
          if (c === QUOTE) {
            this.field += '"';
            this.state = State.Quoted;
            i++;
          } else {
            // the quote closed the field; whatever follows is handled as unquoted text (lenient)
            this.state = State.Unquoted;
          }
          break;
        default: {
          if (c === COMMA) {
            this.fields.push(this.field);
            this.field = '';
            this.state = State.FieldStart;
            i++;
          } else if (c === CR || c === LF) {
            out.push(this.finishRecord());
            this.line++;
            this.afterCR = c === CR;
            i++;
          } else if (c === QUOTE && this.state === State.FieldStart) {
            this.state = State.Quoted;
            i++;
          } else {
            let j = i + 1;
            while (j < n) {
              const d = s.charCodeAt(j);
              if (d === COMMA || d === CR || d === LF) break;
              j++;
            }
            this.field += s.slice(i, j);
            this.state = State.Unquoted;
            i = j;
          }
        }
      }
    }
    return out;
  }

  end(): CsvRecord[] {
    const out: CsvRecord[] = [];
    if (this.state === State.Quoted) {
      const fields = [...this.fields, this.field];
      out.push({ fields, line: this.recordLine, error: 'unterminated quoted field' });
    } else if (this.inRecord) {
      out.push(this.finishRecord());
    }
    this.reset();
    return out;
  }

  private finishRecord(): CsvRecord {
    this.fields.push(this.field);
    const record = { fields: this.fields, line: this.recordLine };
    this.fields = [];
    this.field = '';
    this.state = State.FieldStart;
    this.inRecord = false;
    return record;
  }

  private reset(): void {
    this.state = State.FieldStart;
    this.field = '';
    this.fields = [];
    this.line = 1;
    this.recordLine = 1;
    this.inRecord = false;
    this.afterCR = false;
    this.started = false;
  }
}

export type CsvSource = string | Readable | AsyncIterable<string | Buffer | Uint8Array> | Iterable<string>;

/**
 * Records from a file path, a Node Readable, or any (async) iterable of string/Buffer chunks.
 * The file is read lazily; an I/O error (missing file) rejects the iteration.
 */
export async function* parseCsv(source: CsvSource): AsyncGenerator<CsvRecord> {
  const chunks = typeof source === 'string' ? createReadStream(source) : source;
  const parser = new CsvParser();
  const decoder = new StringDecoder('utf8');
  for await (const chunk of chunks as AsyncIterable<string | Buffer | Uint8Array>) {
    const text = typeof chunk === 'string' ? chunk : decoder.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    if (text.length > 0) yield* parser.push(text);
  }
  const rest = decoder.end();
  if (rest.length > 0) yield* parser.push(rest);
  yield* parser.end();
}

/** All records of a string, synchronously (tests, small inputs). */
export function parseCsvText(text: string): CsvRecord[] {
  const parser = new CsvParser();
  return [...parser.push(text), ...parser.end()];
}

const NEEDS_QUOTES = /[",\r\n]/;

/** One record as CSV text, without a line terminator; fields with `,`, `"`, CR or LF are quoted, `"` doubled. */
export function csvLine(fields: readonly string[]): string {
  return fields.map((f) => (NEEDS_QUOTES.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',');
}
