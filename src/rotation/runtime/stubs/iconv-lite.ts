/**
 * A stand-in for `iconv-lite` in the MySQL rotation bundle (esbuild
 * `--alias:iconv-lite=./src/rotation/runtime/stubs/iconv-lite.ts`): the full
 * package is ~480 KB of code tables for charsets the function never uses.
 *
 * mysql2 calls iconv-lite only for charsets that Node's Buffer cannot decode.
 * The function connects with utf8mb4; the one such charset it can still meet
 * is utf8mb3 (mysql2's `cesu8`) in metadata, and utf8mb3 holds only the Basic
 * Multilingual Plane, where CESU-8 and UTF-8 are the same bytes.
 */
import { StringDecoder } from 'string_decoder';

const UTF8_COMPATIBLE = new Set(['cesu8', 'utf8', 'utf-8', 'utf8mb3', 'utf8mb4']);

function check(encoding: string): void {
  if (!UTF8_COMPATIBLE.has(String(encoding).toLowerCase())) {
    throw new Error(`The rotation function does not bundle the ${encoding} charset; connect with utf8mb4.`);
  }
}

export function getDecoder(encoding: string): { write(buffer: Buffer): string; end(): string | undefined } {
  check(encoding);
  const decoder = new StringDecoder('utf8');
  return { write: buffer => decoder.write(buffer), end: () => decoder.end() || undefined };
}

export function getEncoder(encoding: string): { write(text: string): Buffer; end(): Buffer | undefined } {
  check(encoding);
  return { write: text => Buffer.from(text, 'utf8'), end: () => undefined };
}

export function encodingExists(encoding: string): boolean {
  return UTF8_COMPATIBLE.has(String(encoding).toLowerCase());
}
