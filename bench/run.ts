/**
 * `npm run bench` (`npx projen bench`): runs every benchmark, prints a Markdown
 * section per benchmark, and writes bench/results/latest.json (every number)
 * and bench/results/latest.md (the tables, for the README to quote).
 *
 * It runs inside `scripts/with-services.sh`, which starts PostgreSQL 15,
 * MariaDB and moto and exports their KMSSEC_* settings. Timings never fail
 * the run: goals are marked met / not met. Only real errors (a benchmark that
 * throws) make it exit non-zero, after the other benchmarks have run.
 *
 * Run a subset while working on one: `... bench/run.ts secrets keys` (ids:
 * secrets, keys, rotation, reads, report); a subset prints but writes no results.
 *
 * The task starts this file with a type-checking ts-node, whose TypeScript
 * program stays in memory (about 700 MB of heap): every major garbage
 * collection of the process then takes about a second, which would distort
 * the synth timings. So once everything has loaded (and type-checked), the
 * benchmarks run in a second process with ts-node --transpile-only, which
 * holds what a CDK app holds.
 */
import { execFileSync, spawn } from 'child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import * as cachedReads from './cached-reads';
import * as keyPolicyCapacity from './key-policy-capacity';
import { BenchResult, goalsTable, machine, table } from './report';
import * as reportOverhead from './report-overhead';
import * as rotationHandler from './rotation-handler';
import * as secretsPerStack from './secrets-per-stack';
import { msSince, round } from './stats';

const ROOT = resolve(__dirname, '..');
const RESULTS = join(ROOT, 'bench', 'results');

type Bench = { run(log: (line: string) => void): Promise<BenchResult> };
const BENCHMARKS: ReadonlyArray<{ readonly key: string; readonly bench: Bench }> = [
  { key: 'secrets', bench: secretsPerStack },
  { key: 'keys', bench: keyPolicyCapacity },
  { key: 'rotation', bench: rotationHandler },
  { key: 'reads', bench: cachedReads },
  { key: 'report', bench: reportOverhead },
];

function log(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

/** The rotation handler bundles: built with `npx projen bundle` when missing or older than their sources. */
function ensureAssets(): void {
  const assets = ['postgres', 'mysql'].map(e => join(ROOT, 'assets', 'rotation', 'runtime', `${e}-handler`, 'index.js'));
  const sources = join(ROOT, 'src', 'rotation', 'runtime');
  const newestSource = Math.max(...listFiles(sources).map(f => statSync(f).mtimeMs));
  const missing = assets.filter(a => !existsSync(a));
  const stale = assets.filter(a => existsSync(a) && statSync(a).mtimeMs < newestSource);
  if (missing.length === 0 && stale.length === 0) return;
  log(`building the rotation handler bundles (npx projen bundle): ${missing.length > 0 ? 'missing' : 'older than src/rotation/runtime'}`);
  execFileSync('npx', ['projen', 'bundle'], { cwd: ROOT, stdio: ['ignore', process.stderr, process.stderr] });
  for (const a of assets) {
    if (!existsSync(a)) throw new Error(`npx projen bundle did not produce ${a}`);
  }
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(d => d.isDirectory() ? listFiles(join(dir, d.name)) : [join(dir, d.name)]);
}

async function main(): Promise<number> {
  const started = process.hrtime.bigint();
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter(w => !BENCHMARKS.some(b => b.key === w));
  if (unknown.length > 0) {
    throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; use ${BENCHMARKS.map(b => b.key).join(', ')}`);
  }
  const selected = wanted.length === 0 ? BENCHMARKS : BENCHMARKS.filter(b => wanted.includes(b.key));
  ensureAssets();

  const host = machine();
  const header = [
    '## Benchmarks',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${host.cpu} (${host.cores} cores, ${host.platform}), Node.js ${host.node}, aws-cdk-lib ${host.awsCdkLib}, by \`npm run bench\`.`,
  ].join('\n');
  console.log(header);

  const results: BenchResult[] = [];
  const failures: Array<{ key: string; error: string }> = [];
  for (const { key, bench } of selected) {
    log(`--- ${key} ---`);
    const t0 = process.hrtime.bigint();
    try {
      const result = await bench.run(line => log(`${key}: ${line}`));
      const seconds = round(msSince(t0) / 1000, 1);
      results.push({ ...result, seconds });
      console.log(`\n${section(result)}`);
      log(`${key} done in ${seconds} s`);
    } catch (err) {
      const error = (err as Error).stack ?? String(err);
      failures.push({ key, error });
      log(`${key} FAILED: ${error}`);
    }
  }

  const totalSeconds = round(msSince(started) / 1000, 1);
  const summary = [
    '### Summary of goals',
    '',
    table(['Benchmark', 'Goal', 'Verdict'], results.flatMap(r => r.goals.map(g => [r.title, g.goal, g.met ? '✅ met' : '❌ not met'])), 'lll'),
    '',
    `Benchmark time: ${totalSeconds} s (${results.map(r => `${r.title.toLowerCase()} ${r.seconds} s`).join(', ')}), not counting the start of the services.`,
  ].join('\n');
  console.log(`\n${summary}`);

  if (failures.length === 0 && selected.length === BENCHMARKS.length) {
    mkdirSync(RESULTS, { recursive: true });
    const json = {
      generatedAt: new Date().toISOString(),
      machine: host,
      totalSeconds,
      benchmarks: Object.fromEntries(results.map(r => [r.id, { title: r.title, seconds: r.seconds, goals: r.goals, data: r.data }])),
    };
    const markdown = [header, ...results.map(section), summary].join('\n\n') + '\n';
    writeAtomically(join(RESULTS, 'latest.json'), JSON.stringify(json, null, 2) + '\n');
    writeAtomically(join(RESULTS, 'latest.md'), markdown);
    log(`wrote ${join('bench', 'results', 'latest.json')} and ${join('bench', 'results', 'latest.md')}`);
  } else if (failures.length === 0) {
    log('a subset ran: bench/results/ left as it was');
  }
  for (const f of failures) {
    console.error(`benchmark ${f.key} failed:\n${f.error}`);
  }
  return failures.length === 0 ? 0 : 1;
}

function section(result: BenchResult): string {
  const goals = result.goals.length > 0 ? ['', '#### Goals', '', goalsTable(result.goals)] : [];
  return [`### ${result.title}`, '', result.markdown, ...goals].join('\n');
}

/** Writes `file` through a `.tmp` sibling (gitignored) so a crash never leaves half a file. */
function writeAtomically(file: string, content: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, file);
}

/** Runs this file again in a lean process (ts-node --transpile-only); resolves with its exit code. */
function relaunch(): Promise<number> {
  const tsNode = require.resolve('ts-node/dist/bin.js');
  const child = spawn(process.execPath, [tsNode, '--transpile-only', '--project', join(ROOT, 'test', 'tsconfig.json'), __filename, ...process.argv.slice(2)], {
    cwd: ROOT,
    env: { ...process.env, KMSSEC_BENCH_WORKER: '1' },
    stdio: 'inherit',
  });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  process.on('SIGTERM', forward('SIGTERM'));
  process.on('SIGINT', forward('SIGINT'));
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}

(process.env.KMSSEC_BENCH_WORKER === '1' ? main() : relaunch()).then(code => {
  process.exitCode = code;
}, err => {
  console.error(err);
  process.exitCode = 1;
});
