/**
 * kafkajs 2.2.4's internals that src/infra/kafka/kafkajs.ts replaces or calls, and their shapes. Loaded only
 * when the installed kafkajs is that version (`patched`): the replacements copy its internals, so with any
 * other version nothing is replaced and kafkajs runs as shipped.
 */
/** kafkajs's protocol encoder (an internal class: the record must be one for the record batch to take it) */
export interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  readonly buffer: Buffer;
  ensureAvailable(length: number): void;
  writeUVarInt(n: number): KafkajsEncoder;
  writeInt16(n: number): KafkajsEncoder;
  writeInt32(n: number): KafkajsEncoder;
  writeUInt32(n: number): KafkajsEncoder;
  writeInt64(n: number | string | object): KafkajsEncoder;
  writeString(s: string | null | undefined): KafkajsEncoder;
  writeVarInt(n: number): KafkajsEncoder;
  writeInt8(n: number): KafkajsEncoder;
  writeVarLong(n: number | bigint | object): KafkajsEncoder;
  writeVarIntBytes(b: Buffer | string | null | undefined): KafkajsEncoder;
  writeVarIntString(s: string | null | undefined): KafkajsEncoder;
}
export interface KafkajsEncoderClass {
  prototype: KafkajsEncoder;
  sizeOfVarInt(n: number): number;
  sizeOfVarLong(n: number | bigint | object): number;
  sizeOfVarIntBytes(b: Buffer | string | null | undefined): number;
}
/** the installed kafkajs's version, null when it cannot be read */
export const kafkajsVersion: string | null = (() => {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('kafkajs/package.json') as { version: string }).version;
  } catch {
    return null;
  }
})();
/**
 * The replacements copy kafkajs 2.2.4's internals: with any other version (an upgrade that moved or changed
 * them) nothing is replaced, and kafkajs runs as shipped.
 */
export const patched = kafkajsVersion === '2.2.4';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const Encoder = (patched ? require('kafkajs/src/protocol/encoder') : null) as KafkajsEncoderClass;
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const HeaderDecoder = (patched ? require('kafkajs/src/protocol/recordBatch/header/v0/decoder') : null) as (d: KafkajsDecoder) => { key: string; value: Buffer | null };
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const Long = (patched ? require('kafkajs/src/utils/long') : null) as { fromValue(v: unknown): { add(d: unknown): { toString(): string } } };
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const LOG_APPEND_TIME = patched ? (require('kafkajs/src/protocol/timestampTypes') as { LOG_APPEND_TIME: number }).LOG_APPEND_TIME : 1;

/** kafkajs's protocol decoder, the parts a record's decoding uses */
export interface KafkajsDecoder {
  buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarLong(): object;
  readVarIntBytes(): Buffer | null;
  readVarIntArray<T>(reader: (d: KafkajsDecoder) => T): T[];
}
