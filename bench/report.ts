/**
 * What every benchmark hands back to `bench/run.ts`, and the Markdown and
 * machine-description helpers they share.
 */
import { cpus } from 'os';

/** A goal of the brief, marked met or not met by the numbers measured. */
export interface Goal {
  readonly goal: string;
  readonly met: boolean;
  /** The measured value(s) the verdict rests on. */
  readonly measured: string;
}

/** One benchmark's outcome: a Markdown section and the numbers behind it. */
export interface BenchResult {
  /** Key in bench/results/latest.json. */
  readonly id: string;
  readonly title: string;
  /** The Markdown body of the section (tables, notes), without the title and goals. */
  readonly markdown: string;
  readonly goals: readonly Goal[];
  /** Every number measured, for bench/results/latest.json. */
  readonly data: unknown;
  readonly seconds?: number;
}

/** A GitHub-flavoured Markdown table; `align` holds 'l' or 'r' per column (right by default after the first). */
export function table(header: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>, align?: string): string {
  const alignment = header.map((_, i) => (align?.[i] ?? (i === 0 ? 'l' : 'r')) === 'l' ? ':---' : '---:');
  const line = (cells: readonly (string | number)[]) => `| ${cells.map(c => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), `|${alignment.join('|')}|`, ...rows.map(line)].join('\n');
}

export function goalsTable(goals: readonly Goal[]): string {
  return table(['Goal', 'Measured', 'Verdict'], goals.map(g => [g.goal, g.measured, g.met ? '✅ met' : '❌ not met']), 'lll');
}

/** Milliseconds with a precision that suits their size. */
export function ms(value: number): string {
  if (value >= 100) return `${Math.round(value).toLocaleString('en-US')} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  if (value >= 1) return `${value.toFixed(2)} ms`;
  return `${(value * 1000).toFixed(1)} µs`;
}

/** A ratio a/b as `1.23×`. */
export function ratio(a: number, b: number): string {
  if (b === 0) return 'n/a';
  const r = a / b;
  return `${r >= 100 ? Math.round(r).toLocaleString('en-US') : r.toFixed(2)}×`;
}

export function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

export function int(value: number): string {
  return value.toLocaleString('en-US');
}

export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly awsCdkLib: string;
  readonly platform: string;
}

export function machine(): Machine {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const cdk = require('aws-cdk-lib/package.json') as { version: string };
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    node: process.version,
    awsCdkLib: cdk.version,
    platform: `${process.platform}-${process.arch}`,
  };
}
