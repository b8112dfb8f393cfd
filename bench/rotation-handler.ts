/**
 * Benchmark 3: the rotation handler.
 *
 * For each engine (postgres on PostgreSQL 15, mysql on MariaDB, both over
 * verified TLS) and strategy (single-user, alternating-users), full rotation
 * cycles (createSecret, setSecret, testSecret, finishSecret) of one secret in
 * moto's Secrets Manager, driven by the test harness
 * (test/support/rotation-harness.ts) the way Secrets Manager drives them.
 *
 * The code under test is the real bundle, `assets/rotation/runtime/<engine>-handler/index.js`,
 * loaded once in this process and invoked step by step: a warm Lambda
 * container. The harness's invariant checks (extra logins after every step)
 * are off while timing; the end state is checked after the timed rotations.
 *
 * Beside ours, in the same run: AWS's reference rotation functions (Python,
 * vendored in bench/reference/, run by bench/reference/driver.py through
 * bench/reference-rotation.ts) on harnesses of their own, same servers,
 * same moto, taking turns with ours; the goal of issue #17 is ours ≤ 0.8× the
 * reference's time inside the handler. Without Python or its packages the
 * reference is reported as not measured, and the rest runs as before.
 *
 * Also: each bundle's size, and its module load time in a fresh `node`
 * process that can resolve nothing but the AWS SDK (as in the Lambda
 * runtime): a proxy for the cold-start cost of the code.
 */
import { execFileSync } from 'child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import type { SecretsManagerRotationEvent } from 'aws-lambda';
import { REFERENCE_VARIANTS, ReferenceDriver, ReferenceStart, startReference } from './reference-rotation';
import { BenchResult, Goal, kb, ms, ratio, table } from './report';
import { median, msSince, percentile, round, summarize, Summary } from './stats';
import type { EngineName, RotationHarness, Strategy } from '../test/support/rotation-harness';

const ROOT = resolve(__dirname, '..');
/** Timed rotations per engine and strategy (the brief asks for at least 20), after one untimed warm-up rotation. */
const ROTATIONS = 25;
const LOAD_RUNS = 10;
const MAX_CYCLE_MS = 1000;
const MAX_ASSET_KB = 500;
const MAX_SM_CALLS = 10;
/** Issue #17: in-handler time at most this times that of AWS's reference rotation functions. */
const TARGET_RATIO = 0.8;
/** The upstream commit of the vendored reference functions (bench/reference/README.md). */
const REFERENCE_COMMIT = 'b4b8eca63e1f61bbcfb18c291b640f4fc3b0deb8';

const ENGINES: ReadonlyArray<{ engine: EngineName; server: string }> = [
  { engine: 'postgres', server: 'PostgreSQL 15' },
  { engine: 'mysql', server: 'MariaDB' },
];
const STRATEGIES: readonly Strategy[] = ['single-user', 'alternating-users'];

type HarnessModule = typeof import('../test/support/rotation-harness');
type Handler = (event: SecretsManagerRotationEvent) => Promise<void>;

function assetPath(engine: EngineName): string {
  return join(ROOT, 'assets', 'rotation', 'runtime', `${engine}-handler`, 'index.js');
}

/**
 * The harness, loaded outside jest: test/support/services.ts (which it
 * imports) picks jest's global `describe` at load time, so a stand-in is
 * put there first. Nothing of jest is used.
 */
function loadHarness(): HarnessModule {
  const globals = globalThis as unknown as Record<string, unknown>;
  globals.describe ??= () => undefined;
  if (process.env.KMSSEC_SERVICES !== '1') {
    throw new Error('the rotation benchmark needs PostgreSQL, MariaDB and moto: run it with `npm run bench` (scripts/with-services.sh)');
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../test/support/rotation-harness') as HarnessModule;
}

/**
 * Swallows the handler's JSON log lines (Powertools writes one per call) while
 * `fn` runs, so they are still produced (their cost is part of the cycle) but
 * not printed. Returns how many there were.
 */
async function withLogsSwallowed<T>(harness: HarnessModule, fn: () => Promise<T>): Promise<{ result: T; lines: number }> {
  let lines = 0;
  const restore = harness.interceptRotationLogs(captured => {
    lines += captured.length;
  });
  try {
    const result = await fn();
    return { result, lines };
  } finally {
    restore();
  }
}

/**
 * Counts the Secrets Manager calls of the handler, and the time spent in
 * them: the bundles keep the AWS SDK external, so they use this process's
 * SecretsManagerClient class; the harness's own calls (setup, checks) are
 * made with `paused` set.
 */
const smCalls = { count: 0, ms: 0, paused: false, byCommand: {} as Record<string, number> };
function countSecretsManagerCalls(): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sdk = require('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager');
  const proto = sdk.SecretsManagerClient.prototype as unknown as { send: (...args: unknown[]) => Promise<unknown>; __counted?: boolean };
  if (proto.__counted) return;
  const original = proto.send;
  proto.send = function (this: unknown, ...args: unknown[]) {
    if (smCalls.paused) return original.apply(this, args);
    smCalls.count++;
    const name = (args[0] as { constructor: { name: string } }).constructor.name.replace(/Command$/, '');
    smCalls.byCommand[name] = (smCalls.byCommand[name] ?? 0) + 1;
    const t0 = process.hrtime.bigint();
    const settle = () => {
      smCalls.ms += msSince(t0);
    };
    const result = original.apply(this, args);
    result.then(settle, settle);
    return result;
  };
  proto.__counted = true;
}

type Who = 'ours' | 'reference';

/** What one invocation of a handler (ours or the reference) reports. */
interface Invocation {
  readonly ms: number;
  readonly smCalls: number;
  readonly smMs: number;
  readonly byCommand: Record<string, number>;
  /** The reference only: database connection attempts with / without TLS, and Secrets Manager stand-ins. */
  readonly tlsConnects?: number;
  readonly plainConnects?: number;
  readonly plainConnectsOk?: number;
  readonly clientMs?: number;
  readonly injected?: number;
  readonly logLines?: number;
}

interface CycleResult {
  readonly engine: EngineName;
  readonly strategy: Strategy;
  /** Secrets Manager calls made by the handler per timed rotation (median), and per command over all timed rotations. */
  readonly smCallsPerRotation: number;
  readonly smCallsByCommand: Record<string, number>;
  /** Time inside the handler per rotation (sum of the four invocations), and each rotation's, in order (ms, 0.1 ms). */
  readonly handler: Summary;
  readonly handlerSamples: number[];
  /** Of it, the time inside Secrets Manager calls (median per rotation), and the rest (database work, TLS, code). */
  readonly smMsPerRotation: number;
  readonly otherMsPerRotation: number;
  /** The whole rotation as the harness drives it (handler time plus the harness's own work between steps). */
  readonly cycle: Summary;
  readonly firstCycleMs: number;
  readonly steps: Record<string, Summary>;
  readonly logLines: number;
  readonly finalUser: string;
}

interface ReferenceCycleResult extends CycleResult {
  readonly variant: string;
  /** Database connection attempts per rotation (median): with TLS verified against the test CA, and without TLS (the reference's fallback), and how many of those without TLS logged in (should be 0). */
  readonly tlsConnectsPerRotation: number;
  readonly plainConnectsPerRotation: number;
  readonly plainConnectsOk: number;
  /** Time per rotation (median) in creating boto3 clients (one per invocation; part of the handler time). */
  readonly clientMsPerRotation: number;
  /** Times per rotation the driver stood in for Secrets Manager's value-less AWSPENDING version (should be 1: createSecret). */
  readonly injectedPerRotation: number;
}

/** One side of the comparison: a harness of its own (database, users, secrets) and its handler. */
class Contestant {
  readonly stepTimes: Record<string, number[]>;
  readonly handlerPerRotation: number[] = [];
  readonly callsPerRotation: number[] = [];
  readonly smMsPerRotation: number[] = [];
  readonly cycles: number[] = [];
  readonly byCommand: Record<string, number> = {};
  readonly extras: Array<Required<Pick<Invocation, 'tlsConnects' | 'plainConnects' | 'plainConnectsOk' | 'clientMs' | 'injected'>>> = [];
  firstCycleMs = 0;
  logLines = 0;
  private timing = false;
  private current = { handlerMs: 0, calls: 0, smMs: 0, tls: 0, plain: 0, plainOk: 0, clientMs: 0, injected: 0 };

  constructor(
    harness: HarnessModule,
    readonly who: Who,
    readonly h: RotationHarness,
    invoke: (event: SecretsManagerRotationEvent, env: Readonly<Record<string, string | undefined>>) => Promise<Invocation>,
  ) {
    this.stepTimes = Object.fromEntries(harness.STEPS.map(s => [s, []]));
    h.checkInvariant = false;
    h.invoker = async (event, env) => {
      const inv = await invoke(event, env);
      const c = this.current;
      c.handlerMs += inv.ms;
      c.calls += inv.smCalls;
      c.smMs += inv.smMs;
      c.tls += inv.tlsConnects ?? 0;
      c.plain += inv.plainConnects ?? 0;
      c.plainOk += inv.plainConnectsOk ?? 0;
      c.clientMs += inv.clientMs ?? 0;
      c.injected += inv.injected ?? 0;
      this.logLines += inv.logLines ?? 0;
      if (this.timing) {
        this.stepTimes[event.Step].push(inv.ms);
        for (const [k, v] of Object.entries(inv.byCommand)) this.byCommand[k] = (this.byCommand[k] ?? 0) + v;
      }
    };
  }

  /** One whole rotation (the four steps, no retries); the first is the untimed warm-up. */
  async rotate(): Promise<void> {
    this.current = { handlerMs: 0, calls: 0, smMs: 0, tls: 0, plain: 0, plainOk: 0, clientMs: 0, injected: 0 };
    const t0 = process.hrtime.bigint();
    const rotation = await this.h.rotate({ maxAttempts: 1 });
    const took = msSince(t0);
    if (rotation.failures.length > 0) throw new Error(`rotation ${rotation.token} needed retries: ${rotation.failures.join('; ')}`);
    if (!this.timing) {
      this.firstCycleMs = took;
      this.timing = true;
      return;
    }
    const c = this.current;
    this.cycles.push(took);
    this.handlerPerRotation.push(c.handlerMs);
    this.callsPerRotation.push(c.calls);
    this.smMsPerRotation.push(c.smMs);
    this.extras.push({ tlsConnects: c.tls, plainConnects: c.plain, plainConnectsOk: c.plainOk, clientMs: c.clientMs, injected: c.injected });
  }

  /**
   * The end state: one AWSCURRENT that logs in, and no AWSPENDING left
   * (ours removes it); the reference leaves AWSPENDING on the AWSCURRENT
   * version, which Secrets Manager documents as a successful end state too.
   */
  async result(engine: EngineName, strategy: Strategy): Promise<CycleResult> {
    const snap = await this.h.snapshot();
    const pending = Object.entries(snap.versions).filter(([, stages]) => stages.includes('AWSPENDING'));
    const pendingLeft = this.who === 'ours' ? pending : pending.filter(([, stages]) => !stages.includes('AWSCURRENT'));
    if (!snap.currentLogsIn || pendingLeft.length > 0) {
      throw new Error(`${this.who} ${engine}/${strategy}: after ${ROTATIONS + 1} rotations AWSCURRENT ${snap.currentLogsIn ? 'logs in' : 'does not log in'}, ${pendingLeft.length} AWSPENDING left`);
    }
    const smMs = median(this.smMsPerRotation);
    const handler = summarize(this.handlerPerRotation);
    return {
      engine,
      strategy,
      smCallsPerRotation: median(this.callsPerRotation),
      smCallsByCommand: { ...this.byCommand },
      handler,
      handlerSamples: this.handlerPerRotation.map(t => round(t, 1)),
      smMsPerRotation: round(smMs),
      otherMsPerRotation: round(median(this.handlerPerRotation.map((t, i) => t - this.smMsPerRotation[i]))),
      cycle: summarize(this.cycles),
      firstCycleMs: this.firstCycleMs,
      steps: Object.fromEntries(Object.entries(this.stepTimes).map(([step, samples]) => [step, summarize(samples)])),
      logLines: this.logLines,
      finalUser: snap.current.username,
    };
  }
}

/** Our bundle, in this process: the harness's ROTATION_* settings become the Lambda environment of the invocation. */
function oursInvoker(handler: Handler) {
  return async (event: SecretsManagerRotationEvent, env: Readonly<Record<string, string | undefined>>): Promise<Invocation> => {
    for (const [key, value] of Object.entries(env)) {
      if (value === undefined) delete process.env[key]; else process.env[key] = value;
    }
    const before = { count: smCalls.count, ms: smCalls.ms, byCommand: { ...smCalls.byCommand } };
    smCalls.paused = false;
    const t0 = process.hrtime.bigint();
    try {
      await handler(event);
    } finally {
      smCalls.paused = true;
    }
    const took = msSince(t0);
    // A call's time is added when it settles, which is before the handler's promise resolves.
    const byCommand = Object.fromEntries(Object.entries(smCalls.byCommand)
      .map(([k, v]) => [k, v - (before.byCommand[k] ?? 0)]).filter(([, v]) => (v as number) > 0));
    return { ms: took, smCalls: smCalls.count - before.count, smMs: smCalls.ms - before.ms, byCommand };
  };
}

/** The reference function of this engine and strategy, in the Python driver. */
function referenceInvoker(driver: ReferenceDriver, variant: string) {
  return async (event: SecretsManagerRotationEvent): Promise<Invocation> => {
    const r = await driver.invoke(variant, event);
    if (!r.ok) throw new Error(`reference ${variant} ${event.Step}: ${r.error}\n${r.trace ?? ''}`);
    return {
      ms: r.ms,
      smCalls: Object.values(r.sm).reduce((a, b) => a + b, 0),
      smMs: r.smMs,
      byCommand: r.sm,
      tlsConnects: r.connects.tls.ok + r.connects.tls.failed,
      plainConnects: r.connects.plain.ok + r.connects.plain.failed,
      plainConnectsOk: r.connects.plain.ok,
      clientMs: r.clientMs,
      injected: r.injected,
      logLines: r.logLines,
    };
  };
}

interface PairResult {
  readonly ours: CycleResult;
  readonly reference?: ReferenceCycleResult;
  /** Why the reference has no figures for this engine and strategy. */
  readonly referenceNotMeasured?: string;
}

/**
 * Ours and the reference, each on a harness of its own (same servers, same
 * moto, same secret shapes), one warm-up rotation each, then ROTATIONS
 * timed rotations each, taking turns (every other round the reference
 * first), so that both see the same load of the shared machine.
 */
async function rotatePair(
  harness: HarnessModule, handlers: Record<EngineName, Handler>, reference: ReferenceStart, engine: EngineName, strategy: Strategy,
): Promise<PairResult> {
  const harnesses: RotationHarness[] = [];
  try {
    const oursH = await harness.RotationHarness.setup({ engine, strategy });
    harnesses.push(oursH);
    const ours = new Contestant(harness, 'ours', oursH, oursInvoker(handlers[engine]));
    let ref: Contestant | undefined;
    let referenceNotMeasured = 'notMeasured' in reference ? reference.notMeasured : undefined;
    const variant = REFERENCE_VARIANTS[`${engine}/${strategy}`];
    if ('driver' in reference) {
      const refH = await harness.RotationHarness.setup({ engine, strategy });
      harnesses.push(refH);
      ref = new Contestant(harness, 'reference', refH, referenceInvoker(reference.driver, variant));
    }
    const refRotate = async () => {
      if (!ref) return;
      try {
        await ref.rotate();
      } catch (err) {
        // A reference that fails is reported, not fatal: ours goes on alone.
        referenceNotMeasured = `the reference failed: ${(err as Error).message.split('\n')[0]}`;
        ref = undefined;
      }
    };
    smCalls.paused = true;
    const { lines } = await withLogsSwallowed(harness, async () => {
      await ours.rotate(); // warm-up: the first invocation creates the SDK client, TLS contexts...
      await refRotate(); // ...and imports the reference module
      for (let i = 0; i < ROTATIONS; i++) {
        if (i % 2 === 0) {
          await ours.rotate();
          await refRotate();
        } else {
          await refRotate();
          await ours.rotate();
        }
      }
    });
    const oursResult = { ...(await ours.result(engine, strategy)), logLines: lines };
    if (!ref) return { ours: oursResult, referenceNotMeasured };
    const r = ref;
    const refResult = await r.result(engine, strategy).catch((err: Error) => {
      referenceNotMeasured = `the reference's end state is wrong: ${err.message}`;
      return undefined;
    });
    if (!refResult) return { ours: oursResult, referenceNotMeasured };
    const extra = (key: keyof Contestant['extras'][number]) => median(r.extras.map(e => e[key]));
    return {
      ours: oursResult,
      reference: {
        ...refResult,
        variant,
        tlsConnectsPerRotation: extra('tlsConnects'),
        plainConnectsPerRotation: extra('plainConnects'),
        plainConnectsOk: r.extras.reduce((a, e) => a + e.plainConnectsOk, 0),
        clientMsPerRotation: round(extra('clientMs')),
        injectedPerRotation: extra('injected'),
      },
    };
  } finally {
    for (const h of harnesses) await h.cleanup();
  }
}

interface LoadResult {
  readonly engine: EngineName;
  readonly bytes: number;
  /** `require(bundle)` inside the child process. */
  readonly require: Summary;
  /** The whole child process (spawn to exit), and the same for an empty `node -e ''`. */
  readonly process: Summary;
  readonly emptyProcess: Summary;
}

/** Module load time of each bundle in fresh node processes with only the AWS SDK resolvable (like Lambda). */
function loadTimes(): LoadResult[] {
  const dir = mkdtempSync(join(tmpdir(), 'kmssec-bench-load-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(join(ROOT, 'node_modules', '@aws-sdk'), join(dir, 'node_modules', '@aws-sdk'));
    const env = { ...process.env, NODE_PATH: '' };
    const script = (file: string) => `const t = process.hrtime.bigint(); require(${JSON.stringify(file)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`;
    const timeProcess = (args: string[]) => {
      const t0 = process.hrtime.bigint();
      const out = execFileSync(process.execPath, args, { cwd: dir, env, encoding: 'utf8' });
      return { wall: msSince(t0), out };
    };
    const empty: number[] = [];
    const results = ENGINES.map(({ engine }) => {
      const file = join(dir, engine, 'index.js');
      mkdirSync(join(dir, engine));
      copyFileSync(assetPath(engine), file);
      return { engine, file, require: [] as number[], process: [] as number[] };
    });
    timeProcess(['-e', '']); // warm the file-system cache
    for (let i = 0; i < LOAD_RUNS; i++) {
      empty.push(timeProcess(['-e', '']).wall);
      for (const r of results) {
        const { wall, out } = timeProcess(['-e', script(r.file)]);
        r.require.push(Number(out));
        r.process.push(wall);
      }
    }
    return results.map(r => ({
      engine: r.engine,
      bytes: statSync(assetPath(r.engine)).size,
      require: summarize(r.require),
      process: summarize(r.process),
      emptyProcess: summarize(empty),
    }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Ours / reference round by round (the two rotations of a round run back to back): median and p10 – p90 of those ratios. */
function pairedRatios(ours: CycleResult, reference: CycleResult): number[] {
  return ours.handlerSamples.map((t, i) => t / reference.handlerSamples[i]);
}
function roundRatios(ours: CycleResult, reference: CycleResult): string {
  const r = pairedRatios(ours, reference);
  return `${median(r).toFixed(2)}× (${percentile(r, 10).toFixed(2)} – ${percentile(r, 90).toFixed(2)})`;
}

/** Secrets Manager calls per timed rotation, by command. */
function callsByCommand(c: CycleResult): string {
  return Object.entries(c.smCallsByCommand).map(([k, v]) => `${k} ${(v / ROTATIONS).toFixed(1)}`).join(', ');
}

/** Secrets Manager calls per rotation of the version before #17 (issue #17: 14 single user, 15 alternating users; not re-measurable here). */
const CALLS_BEFORE_17: Record<Strategy, number> = { 'single-user': 14, 'alternating-users': 15 };

interface Previous {
  readonly date: string;
  /** Handler time per rotation: recorded, or (runs before it was recorded) the sum of the four step medians. */
  readonly handlerMs: number;
  readonly handlerRecorded: boolean;
  readonly smCalls?: number;
}

/**
 * The figures of the last full run committed in bench/results/latest.json
 * (what this run is compared with). Before the handler time was recorded,
 * the sum of the four step medians stands for it: each step is timed the
 * same way, inside the handler.
 */
function previousFigures(): Map<string, Previous> {
  const out = new Map<string, Previous>();
  const file = join(ROOT, 'bench', 'results', 'latest.json');
  if (!existsSync(file)) return out;
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8')) as {
      generatedAt?: string;
      benchmarks?: Record<string, { data?: { cycles?: Array<Partial<CycleResult>> } }>;
    };
    for (const c of doc.benchmarks?.rotationHandler?.data?.cycles ?? []) {
      if (!c.engine || !c.strategy || !c.steps) continue;
      const recorded = c.handler?.median;
      const stepsSum = Object.values(c.steps).reduce((a, s) => a + s.median, 0);
      out.set(`${c.engine}/${c.strategy}`, {
        date: (doc.generatedAt ?? '').slice(0, 10),
        handlerMs: recorded ?? stepsSum,
        handlerRecorded: recorded !== undefined,
        smCalls: c.smCallsPerRotation,
      });
    }
  } catch {
    // An unreadable previous result only means there is nothing to compare with.
  }
  return out;
}

export async function run(log: (line: string) => void): Promise<BenchResult> {
  const previous = previousFigures();
  const harness = loadHarness();
  countSecretsManagerCalls();
  // The real bundles, loaded like the Lambda runtime loads them (the AWS SDK resolves from node_modules).
  const handlers = Object.fromEntries(ENGINES.map(({ engine }) => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const bundle = require(assetPath(engine)) as { handler: Handler };
    return [engine, bundle.handler];
  })) as Record<EngineName, Handler>;

  const reference = await startReference({ motoEndpoint: process.env.KMSSEC_MOTO_ENDPOINT!, caFile: process.env.KMSSEC_TLS_CA_FILE! }, log);
  if ('notMeasured' in reference) {
    log(`reference not measured: ${reference.notMeasured}`);
  } else {
    log(`reference functions: ${Object.entries(reference.driver.versions).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  }
  const pairs: PairResult[] = [];
  try {
    for (const { engine } of ENGINES) {
      for (const strategy of STRATEGIES) {
        log(`${engine} ${strategy}: 1 + ${ROTATIONS} rotations${'driver' in reference ? ' each, ours and the reference taking turns' : ''}...`);
        const pair = await rotatePair(harness, handlers, reference, engine, strategy);
        const r = pair.reference;
        log(`  ours: handler median ${ms(pair.ours.handler.median)}; reference: ${r ? `handler median ${ms(r.handler.median)}, ratio ${ratio(pair.ours.handler.median, r.handler.median)}` : `not measured: ${pair.referenceNotMeasured}`}`);
        pairs.push(pair);
      }
    }
  } finally {
    if ('driver' in reference) await reference.driver.close();
  }
  const cycles = pairs.map(p => p.ours);
  log(`module load times (${LOAD_RUNS} fresh node processes per bundle)...`);
  const loads = loadTimes();

  const server = (engine: EngineName) => ENGINES.find(e => e.engine === engine)!.server;
  const cycleTable = table(
    ['Engine (server)', 'Strategy', 'Cycle median', 'Cycle p95', 'min / max', 'First cycle (warm-up)', 'createSecret', 'setSecret', 'testSecret', 'finishSecret'],
    cycles.map(c => [
      `${c.engine} (${server(c.engine)}, TLS)`, c.strategy, ms(c.cycle.median), ms(c.cycle.p95), `${ms(c.cycle.min)} / ${ms(c.cycle.max)}`, ms(c.firstCycleMs),
      ...harness.STEPS.map(s => ms(c.steps[s].median)),
    ]),
    'llrrrrrrrr',
  );
  const prev = (c: CycleResult) => previous.get(`${c.engine}/${c.strategy}`);
  const callsTable = table(
    ['Engine (server)', 'Strategy', 'Secrets Manager calls per rotation', 'before #17', 'by command (per rotation)', 'Handler time per rotation (median)', 'p95',
      'previous run', 'ratio to previous'],
    cycles.map(c => {
      const p = prev(c);
      return [
        `${c.engine} (${server(c.engine)}, TLS)`, c.strategy, String(c.smCallsPerRotation),
        `${CALLS_BEFORE_17[c.strategy]} (${(c.smCallsPerRotation / CALLS_BEFORE_17[c.strategy]).toFixed(2)}×)`,
        callsByCommand(c),
        ms(c.handler.median), ms(c.handler.p95),
        p ? `${ms(p.handlerMs)}${p.handlerRecorded ? '' : ' (sum of step medians)'}, ${p.date}` : '—',
        p ? `${(c.handler.median / p.handlerMs).toFixed(2)}×` : '—',
      ];
    }),
    'llrrlrrrr',
  );

  // Ours against AWS's reference functions, same run, same servers, same moto.
  const notMeasured = (p: PairResult) => `not measured: ${p.referenceNotMeasured}`;
  const referenceTable = table(
    ['Engine (server)', 'Strategy', 'ours: handler median', 'ours: p95', 'ours: min – max', 'reference: handler median', 'reference: p95', 'reference: min – max',
      'ours / reference', 'per round: median (p10 – p90)', `goal ≤ ${TARGET_RATIO}×`],
    pairs.map(({ ours: c, reference: r, ...p }) => [
      `${c.engine} (${server(c.engine)}, TLS)`, c.strategy, ms(c.handler.median), ms(c.handler.p95), `${ms(c.handler.min)} – ${ms(c.handler.max)}`,
      ...(r
        ? [ms(r.handler.median), ms(r.handler.p95), `${ms(r.handler.min)} – ${ms(r.handler.max)}`, ratio(c.handler.median, r.handler.median),
          roundRatios(c, r), c.handler.median <= TARGET_RATIO * r.handler.median ? '✅ met' : '❌ not met']
        : [notMeasured({ ours: c, ...p }), '—', '—', '—', '—', '❌ not measured']),
    ]),
    'llrrrrrrrrl',
  );
  const stepsTable = table(
    ['Engine', 'Strategy', ...harness.STEPS.map(s => `${s}: ours / reference`), 'SM calls: ours / reference', 'time in SM calls: ours / reference', 'rest (DB, TLS, code): ours / reference'],
    pairs.filter(p => p.reference).map(({ ours: c, reference: r }) => [
      c.engine, c.strategy,
      ...harness.STEPS.map(s => `${ms(c.steps[s].median)} / ${ms(r!.steps[s].median)} (${ratio(c.steps[s].median, r!.steps[s].median)})`),
      `${c.smCallsPerRotation} / ${r!.smCallsPerRotation}`,
      `${ms(c.smMsPerRotation)} / ${ms(r!.smMsPerRotation)}`,
      `${ms(c.otherMsPerRotation)} / ${ms(r!.otherMsPerRotation)}`,
    ]),
    'llrrrrrrr',
  );
  const referenceCallsTable = table(
    ['Engine', 'Strategy', 'reference (upstream directory)', 'SM calls by command (per rotation)', 'DB connections per rotation: TLS (verified) / without TLS', 'logins without TLS', 'boto3.client() per rotation'],
    pairs.filter(p => p.reference).map(({ reference: r }) => [
      r!.engine, r!.strategy, `\`${r!.variant}\``, callsByCommand(r!), `${r!.tlsConnectsPerRotation} / ${r!.plainConnectsPerRotation}`, String(r!.plainConnectsOk), ms(r!.clientMsPerRotation),
    ]),
    'lllllrr',
  );
  const loadTable = table(
    ['Bundle', 'Size', 'require() median', 'require() p95', 'node process median', 'empty node process median'],
    loads.map(l => [
      `assets/rotation/runtime/${l.engine}-handler/index.js`, kb(l.bytes), ms(l.require.median), ms(l.require.p95), ms(l.process.median), ms(l.emptyProcess.median),
    ]),
    'lrrrrr',
  );

  const worstP95 = Math.max(...cycles.map(c => c.cycle.p95));
  const referenceGoals: Goal[] = pairs.map(({ ours: c, reference: r, ...p }) => ({
    goal: `${c.engine} ${c.strategy}: in-handler time ≤ ${TARGET_RATIO}× AWS's reference rotation function (issue #17; medians of ${ROTATIONS} rotations each, same run)`,
    met: r !== undefined && c.handler.median <= TARGET_RATIO * r.handler.median,
    measured: r
      ? `${ratio(c.handler.median, r.handler.median)} (ours ${ms(c.handler.median)}, reference ${ms(r.handler.median)}; Secrets Manager calls ${c.smCallsPerRotation} vs ${r.smCallsPerRotation})`
      : notMeasured({ ours: c, ...p }),
  }));
  const goals: Goal[] = [
    {
      goal: `a rotation cycle under 1 s locally (p95 of ${ROTATIONS})`,
      met: worstP95 < MAX_CYCLE_MS,
      measured: cycles.map(c => `${c.engine} ${c.strategy} ${ms(c.cycle.p95)}`).join(', '),
    },
    {
      goal: `at most ${MAX_SM_CALLS} Secrets Manager calls per rotation (warm container)`,
      met: cycles.every(c => c.smCallsPerRotation <= MAX_SM_CALLS),
      measured: cycles.map(c => `${c.engine} ${c.strategy} ${c.smCallsPerRotation}`).join(', '),
    },
    ...referenceGoals,
    {
      goal: `each handler asset under ${MAX_ASSET_KB} KB`,
      met: loads.every(l => l.bytes < MAX_ASSET_KB * 1024),
      measured: loads.map(l => `${l.engine} ${kb(l.bytes)}`).join(', '),
    },
  ];

  const versions = 'driver' in reference ? Object.entries(reference.driver.versions).map(([k, v]) => `${k} ${v}`).join(', ') : '';
  const referenceSection = 'notMeasured' in reference
    ? [`Reference not measured: ${reference.notMeasured}.`]
    : [
      referenceTable,
      '',
      `The reference is AWS's sample rotation functions (aws-samples/aws-secrets-manager-rotation-lambdas at commit ${REFERENCE_COMMIT.slice(0, 7)}, MIT-0), vendored unchanged in bench/reference/ (see its README): ` +
      'PostgreSQL single user / multi user against PostgreSQL 15, and the MariaDB variants (engine `mariadb`, `SET PASSWORD = PASSWORD(...)`, `GRANT ... IDENTIFIED BY`; they differ from the MySQL ones) against MariaDB. ' +
      `They run in one warm Python process (bench/reference/driver.py; ${versions}), which imports each module once and calls \`lambda_handler(event, None)\` for the four steps; its time is that call alone (time.perf_counter), ours the handler's promise (process.hrtime). ` +
      'Each side rotates a secret of its own (same harness, same secret shapes: `masterarn` for multi user, same servers, same moto), one untimed warm-up rotation each, then the timed rotations take turns (every other round the reference first). ' +
      `Handler time is the sum of the four invocations; < 1 means ours is faster. The goal is ours ≤ ${TARGET_RATIO}× the reference (the ratio of the medians), per engine and strategy; "per round" is the ratio of the two rotations of each round (back to back, so under the same load of the shared machine), its median and 10th – 90th percentiles.`,
      '',
      '##### Per step (medians), Secrets Manager calls and where the time goes',
      '',
      stepsTable,
      '',
      '"time in SM calls": the time inside the Secrets Manager calls of a rotation (ours: the SDK client\'s send; the reference: botocore\'s before-call to after-call), median per rotation; "rest" is handler time minus it (database connections with their TLS handshakes, SQL, password generation, code).',
      '',
      referenceCallsTable,
      '',
      'How the reference runs here, and what differs from ours: ' +
      'TLS is on and verified for it too: its one patch, made when the driver loads a module (the vendored files stay as upstream), points the CA file `/etc/pki/tls/cert.pem` (Amazon Linux\'s bundle) at the test CA; PostgreSQL with `sslmode=verify-full`, MariaDB with PyMySQL\'s `ssl={\'ca\': ...}` (hostname checked). ' +
      'The secrets have no `ssl` key, so after a failed TLS login the reference tries again without TLS (its documented fallback): that happens when setSecret first tries the AWSPENDING password, which is not set yet; "logins without TLS" counts the ones that got in (0 = every session that did anything ran over verified TLS). ' +
      'The reference builds a new boto3 client at every invocation (its code does; "boto3.client() per rotation" is that time, part of its handler time), asks Secrets Manager for the password (GetRandomPassword; ours generates it locally), and uses `connect_timeout=5` where ours uses its own timeouts. ' +
      'moto cannot hold the value-less AWSPENDING version Secrets Manager creates before createSecret: the driver adds the token to DescribeSecret\'s answer as AWSPENDING when it is missing (once per rotation, no extra call); ours gets the same situation from the harness (createSecret with a token that does not exist yet). ' +
      'The reference leaves AWSPENDING on the new AWSCURRENT version (a successful end state per the RotateSecret docs); ours removes it. Both end states are checked after the timed rotations.',
    ];

  const markdown = [
    `#### Full rotation cycle (${ROTATIONS} timed rotations each, after one warm-up)`,
    '',
    cycleTable,
    '',
    'The real bundles (`assets/rotation/runtime/<engine>-handler/index.js`) run in the benchmark process, invoked step by step by the test harness as Secrets Manager would (a warm container), against moto\'s Secrets Manager over HTTP and the databases over verified TLS on loopback. ' +
    'A cycle is the four steps of one rotation as the harness drives them (its own work between steps included); step columns are medians of the time inside the handler. Single-user changes the user\'s own password; alternating-users logs in as the master user and flips between `<user>` and `<user>_clone`. ' +
    'Lambda adds its invocation overhead and the network distance to RDS and Secrets Manager.',
    '',
    `#### Ours against AWS's reference rotation functions (time inside the handler per rotation, ${ROTATIONS} rotations each)`,
    '',
    ...referenceSection,
    '',
    '#### Secrets Manager calls and time inside the handler',
    '',
    callsTable,
    '',
    'Calls the handler itself makes (counted on the SDK client class the bundles share with this process), per rotation of a warm container; the harness\'s own calls are not counted. ' +
    'Handler time is the sum of the four invocations (no harness work). "before #17": the calls per rotation of the version before issue #17 (14 single user, 15 alternating users, as the issue measured them). ' +
    '"previous run": the handler time of the last full run committed in bench/results/latest.json (runs from before the handler time was recorded give the sum of their four step medians, timed the same way), and this run\'s ratio to it; ' +
    'both runs are on a shared 2-core machine, so ratios within about ±20% are noise.',
    '',
    `#### Bundle size and module load time (${LOAD_RUNS} fresh processes each)`,
    '',
    loadTable,
    '',
    '`require() median` is the time to load the bundle in a fresh `node` process that can resolve only `@aws-sdk/*` (as the Lambda runtime provides it), measured inside that process: the code\'s share of a cold start. ' +
    '"node process" is the whole child process from spawn to exit, next to an empty `node -e \'\'` for reference.',
  ].join('\n');

  return {
    id: 'rotationHandler',
    title: 'Rotation handler',
    markdown,
    goals,
    data: {
      rotations: ROTATIONS,
      code: 'bundled assets, in-process (warm container)',
      cycles,
      reference: {
        source: `aws-samples/aws-secrets-manager-rotation-lambdas@${REFERENCE_COMMIT}`,
        versions: 'driver' in reference ? reference.driver.versions : undefined,
        notMeasured: 'notMeasured' in reference ? reference.notMeasured : undefined,
        targetRatio: TARGET_RATIO,
        pairs: pairs.map(p => ({
          engine: p.ours.engine,
          strategy: p.ours.strategy,
          ratio: p.reference ? round(p.ours.handler.median / p.reference.handler.median) : undefined,
          roundRatios: p.reference ? summarize(pairedRatios(p.ours, p.reference)) : undefined,
          notMeasured: p.referenceNotMeasured,
          cycle: p.reference,
        })),
      },
      previous: Object.fromEntries(previous),
      bundles: loads,
      medianOfMedians: median(cycles.map(c => c.cycle.median)),
    },
  };
}
