/**
 * Timing and summary helpers shared by the benchmarks.
 *
 * Times are in milliseconds, measured with `process.hrtime.bigint()` (a
 * monotonic clock). Percentiles use the nearest-rank method on the sorted
 * samples, so p50 of an even count is the lower middle value; `median` is
 * the usual mean of the two middle values.
 */

/** Milliseconds elapsed since `start` (a `process.hrtime.bigint()` value). */
export function msSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Runs `fn` once and returns its result with the elapsed milliseconds. */
export function timeSync<T>(fn: () => T): { readonly result: T; readonly ms: number } {
  const start = process.hrtime.bigint();
  const result = fn();
  return { result, ms: msSince(start) };
}

/** Awaits `fn` once and returns its result with the elapsed milliseconds. */
export async function timeAsync<T>(fn: () => Promise<T>): Promise<{ readonly result: T; readonly ms: number }> {
  const start = process.hrtime.bigint();
  const result = await fn();
  return { result, ms: msSince(start) };
}

function sorted(samples: readonly number[]): number[] {
  if (samples.length === 0) {
    throw new Error('no samples');
  }
  return [...samples].sort((a, b) => a - b);
}

export function median(samples: readonly number[]): number {
  const s = sorted(samples);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The p-th percentile (0 < p <= 100), nearest-rank method. */
export function percentile(samples: readonly number[], p: number): number {
  const s = sorted(samples);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length, Math.max(1, rank)) - 1];
}

/** Summary of a set of timings, kept in the JSON results. */
export interface Summary {
  readonly runs: number;
  readonly median: number;
  readonly p95: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

export function summarize(samples: readonly number[]): Summary {
  const s = sorted(samples);
  return {
    runs: s.length,
    median: round(median(s)),
    p95: round(percentile(s, 95)),
    min: round(s[0]),
    max: round(s[s.length - 1]),
    mean: round(s.reduce((a, b) => a + b, 0) / s.length),
  };
}

/** Rounds to `digits` decimals (3 by default) for the JSON results. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
