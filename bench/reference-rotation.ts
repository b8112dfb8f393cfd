/**
 * AWS's reference rotation functions (Python, vendored in bench/reference/),
 * run by bench/reference/driver.py in one warm Python process, for the
 * rotation handler benchmark to time them beside ours in the same run.
 *
 * `startReference` makes the venv (.venv-bench-reference/, gitignored) from
 * bench/reference/requirements.txt when it is missing or was made from other
 * pins, then starts the driver. When Python or its packages cannot be had it
 * resolves with the reason instead, and the benchmark reports the reference
 * as not measured.
 */
import { execFileSync, spawn } from 'child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import { createInterface } from 'readline';
import type { SecretsManagerRotationEvent } from 'aws-lambda';

const ROOT = resolve(__dirname, '..');
const REFERENCE = join(ROOT, 'bench', 'reference');
const VENV = join(ROOT, '.venv-bench-reference');
const REQUIREMENTS = join(REFERENCE, 'requirements.txt');
/** Copy of the requirements the venv was made from. */
const STAMP = join(VENV, 'requirements.installed.txt');

/** The upstream directory of each engine and strategy (MariaDB's variants for our MariaDB server: they differ from MySQL's). */
export const REFERENCE_VARIANTS = {
  'postgres/single-user': 'SecretsManagerRDSPostgreSQLRotationSingleUser',
  'postgres/alternating-users': 'SecretsManagerRDSPostgreSQLRotationMultiUser',
  'mysql/single-user': 'SecretsManagerRDSMariaDBRotationSingleUser',
  'mysql/alternating-users': 'SecretsManagerRDSMariaDBRotationMultiUser',
} as const;

export interface ConnectCounts {
  readonly ok: number;
  readonly failed: number;
}

/** One `lambda_handler(event, None)` call, as the driver reports it. */
export interface ReferenceInvocation {
  readonly ok: boolean;
  /** Time of the call (time.perf_counter around it), ms. */
  readonly ms: number;
  /** Secrets Manager calls by operation name. */
  readonly sm: Record<string, number>;
  /** Time spent in those calls (botocore before-call to after-call), ms. */
  readonly smMs: number;
  /** Time spent in boto3.client(...): the reference makes a new client at every invocation. */
  readonly clientMs: number;
  /** Database connection attempts, with TLS (verified against the test CA) and without. */
  readonly connects: { readonly tls: ConnectCounts; readonly plain: ConnectCounts };
  /** 1 when the driver stood in for Secrets Manager's value-less AWSPENDING version (createSecret). */
  readonly injected: number;
  readonly logLines: number;
  readonly error?: string;
  readonly trace?: string;
}

export interface ReferenceDriver {
  /** Python and library versions, as the driver reported them. */
  readonly versions: Record<string, string>;
  invoke(variant: string, event: SecretsManagerRotationEvent): Promise<ReferenceInvocation>;
  close(): Promise<void>;
}

export type ReferenceStart = { readonly driver: ReferenceDriver } | { readonly notMeasured: string };

function lastLines(text: string, n = 3): string {
  return text.trim().split('\n').slice(-n).join(' / ');
}

function ensureVenv(log: (line: string) => void): string {
  const python = join(VENV, 'bin', 'python');
  const wanted = readFileSync(REQUIREMENTS, 'utf8');
  if (existsSync(python) && existsSync(STAMP) && readFileSync(STAMP, 'utf8') === wanted) return python;
  const base = process.env.KMSSEC_BENCH_PYTHON ?? 'python3';
  log(`making ${VENV} (${base} -m venv, pip install -r bench/reference/requirements.txt)...`);
  rmSync(VENV, { recursive: true, force: true });
  const run = (cmd: string, args: string[]) => {
    try {
      execFileSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      throw new Error(`\`${[cmd, ...args].join(' ')}\` failed: ${lastLines(e.stderr || e.stdout || e.message)}`);
    }
  };
  run(base, ['-m', 'venv', VENV]);
  run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', REQUIREMENTS]);
  writeFileSync(STAMP, wanted);
  return python;
}

/** Makes the venv if needed and starts the driver; never throws. */
export async function startReference(
  env: { readonly motoEndpoint: string; readonly caFile: string }, log: (line: string) => void,
): Promise<ReferenceStart> {
  let python: string;
  try {
    python = ensureVenv(log);
  } catch (err) {
    return { notMeasured: `cannot install the reference functions' Python dependencies: ${(err as Error).message}` };
  }
  const child = spawn(python, [join(REFERENCE, 'driver.py')], {
    cwd: REFERENCE,
    env: {
      ...process.env,
      SECRETS_MANAGER_ENDPOINT: env.motoEndpoint,
      REFERENCE_TLS_CA_FILE: env.caFile,
      AWS_DEFAULT_REGION: process.env.AWS_REGION ?? 'us-east-1',
      PYTHONDONTWRITEBYTECODE: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout });
  const waiting: Array<(line: string | undefined) => void> = [];
  lines.on('line', line => waiting.shift()?.(line));
  const exited = new Promise<void>(done => child.on('exit', () => {
    for (const w of waiting.splice(0)) w(undefined);
    done();
  }));
  child.on('error', () => undefined); // reported through the exit above
  const next = () => new Promise<string | undefined>(done => waiting.push(done));

  const hello = await next();
  if (hello === undefined) {
    return { notMeasured: `the reference driver exited at start: ${lastLines(stderr)}` };
  }
  const versions = (JSON.parse(hello) as { versions: Record<string, string> }).versions;
  let id = 0;
  let queue = Promise.resolve();
  const driver: ReferenceDriver = {
    versions,
    invoke(variant, event) {
      // One request at a time (the harness never overlaps invocations anyway).
      const result = queue.then(async () => {
        const line = next();
        child.stdin.write(JSON.stringify({ id: ++id, variant, event }) + '\n');
        const answer = await line;
        if (answer === undefined) throw new Error(`the reference driver exited: ${lastLines(stderr)}`);
        return JSON.parse(answer) as ReferenceInvocation;
      });
      queue = result.then(() => undefined, () => undefined);
      return result;
    },
    async close() {
      child.stdin.end();
      await Promise.race([exited, new Promise(done => setTimeout(done, 5000))]);
      if (child.exitCode === null) child.kill();
    },
  };
  return { driver };
}
