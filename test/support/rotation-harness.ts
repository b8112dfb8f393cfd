/**
 * Drives the rotation Lambda handlers (src/rotation/runtime) the way Secrets
 * Manager does, against the real services of scripts/services.sh:
 * PostgreSQL 15 / MariaDB over verified TLS (or their TLS-less twins) and
 * moto's Secrets Manager, which the handler reaches with its real AWS SDK
 * client through AWS_ENDPOINT_URL_SECRETS_MANAGER.
 *
 * Every harness gets its own database, users and secrets (unique names), so
 * tests never share state and any number of harnesses may run at once.
 *
 * How it differs from Secrets Manager (see also the README of the runtime):
 * - Rotation is enabled with `RotateSecret` (RotationRules only, no Lambda
 *   ARN) on a secret created WITHOUT a value, then the first value is put.
 *   moto 5.2.1 sets RotationEnabled only through RotateSecret; on a secret
 *   that already has a version and no Lambda ARN it would immediately stage a
 *   value-less (or copied) version as AWSCURRENT, and with a Lambda ARN it
 *   needs moto's Lambda (Docker). Creating the secret empty avoids both.
 * - Secrets Manager creates version <token> with AWSPENDING (and no value)
 *   before calling createSecret; moto cannot hold a version without a value,
 *   so the harness calls createSecret with a token that does not exist yet
 *   (the handler allows that only at createSecret).
 * - A failed step is retried right away, up to `maxAttempts` times (Secrets
 *   Manager retries with back-off, and a failed rotation is retried later
 *   with the same token).
 * - moto lets PutSecretValue overwrite the value of a version that has
 *   AWSPENDING (Secrets Manager rejects a different value for an existing
 *   version with ResourceExistsException).
 */
import { AsyncLocalStorage } from 'async_hooks';
import { randomBytes, randomUUID } from 'crypto';
import { readFileSync } from 'fs';
import {
  CreateSecretCommand, DeleteSecretCommand, DescribeSecretCommand, GetSecretValueCommand, ListSecretVersionIdsCommand, PutSecretValueCommand,
  RotateSecretCommand, SecretsManagerClient, UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import type { SecretsManagerRotationEvent } from 'aws-lambda';
import { Connection, RowDataPacket } from 'mysql2/promise';
import { Client, escapeIdentifier, escapeLiteral } from 'pg';
import { mysqlConnect, pgConnect, requireServices, ServiceEnv, TestServer } from './services';
import type { DbSecret, EngineAdapter } from '../../src/rotation/runtime/engine';
import { createHandler, RotationHandler, SERVICE_NAME } from '../../src/rotation/runtime/lambda';
import { mysqlEngine } from '../../src/rotation/runtime/mysql';
import { handler as mysqlHandler } from '../../src/rotation/runtime/mysql-handler';
import { postgresEngine } from '../../src/rotation/runtime/postgres';
import { handler as postgresHandler } from '../../src/rotation/runtime/postgres-handler';
import { RotationStep, STEPS } from '../../src/rotation/runtime/protocol';
import { ENDPOINT_IN_FUNCTION, TAGS } from '../../src/rotation/runtime/target';

export type EngineName = 'postgres' | 'mysql';
export type Strategy = 'single-user' | 'alternating-users';
export { STEPS };
export type { RotationStep };

export const ENGINES: readonly EngineName[] = ['postgres', 'mysql'];
export const STRATEGIES: readonly Strategy[] = ['single-user', 'alternating-users'];

/** Every ROTATION_* variable the handler reads; the harness sets all of them before each invocation. */
const ROTATION_ENV_KEYS = [
  'ROTATION_STRATEGY', 'ROTATION_PASSWORD_LENGTH', 'ROTATION_EXCLUDE_CHARACTERS', 'ROTATION_REQUIRE_TLS', 'ROTATION_TLS_CA_FILE',
  'ROTATION_CONNECT_TIMEOUT_MS', 'ROTATION_STATEMENT_TIMEOUT_MS', 'ROTATION_EXCLUDE_UPPERCASE', 'ROTATION_EXCLUDE_LOWERCASE',
  'ROTATION_EXCLUDE_NUMBERS', 'ROTATION_EXCLUDE_PUNCTUATION', 'ROTATION_REQUIRE_EACH_INCLUDED_TYPE', 'ROTATION_PINNED_ENDPOINTS',
];

/** The host a secret attached to an RDS database holds until the attachment writes the real one (integ/integ.managed-secret-rotation.ts). */
export const ATTACHMENT_PLACEHOLDER_HOST = 'set-by-the-rds-secret-attachment.invalid';

// ---------------------------------------------------------------------------
// Log capture: the handler's Powertools logs (JSON lines on stdout/stderr)
// ---------------------------------------------------------------------------

const capturedLogs: string[] = [];
let restoreWrites: (() => void) | undefined;

/**
 * Intercepts the handler's log lines (Powertools writes one JSON object per
 * call, tagged with our service name) on stdout and stderr: each is handed to
 * `onLines`, and printed only when `show` is set; anything else (jest's
 * console output, ...) passes through. Returns the function that restores the
 * streams.
 */
export function interceptRotationLogs(onLines: (lines: string[]) => void, show = false): () => void {
  const patch = (stream: NodeJS.WriteStream) => {
    const original = stream.write;
    stream.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : undefined;
      if (text !== undefined && text.startsWith('{') && text.includes(`"service":"${SERVICE_NAME}"`)) {
        onLines(text.split('\n').filter(line => line !== ''));
        if (!show) {
          const callback = rest.find(r => typeof r === 'function') as (() => void) | undefined;
          callback?.();
          return true;
        }
      }
      return (original as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof stream.write;
    return () => {
      stream.write = original;
    };
  };
  const undo = [patch(process.stdout), patch(process.stderr)];
  return () => undo.forEach(u => u());
}

/**
 * Captures (and hides) the handler's log lines for the suite: call once at the
 * top of a describe block. Set KMSSEC_SHOW_ROTATION_LOGS=1 to see them too.
 */
export function captureRotationLogs(): void {
  beforeAll(() => {
    restoreWrites = interceptRotationLogs(lines => capturedLogs.push(...lines), process.env.KMSSEC_SHOW_ROTATION_LOGS === '1');
  });
  afterAll(() => {
    restoreWrites?.();
    restoreWrites = undefined;
  });
}

/** Adds log lines produced elsewhere (e.g. by a child process running the bundle) to the captured ones. */
export function recordRotationLogs(lines: readonly string[]): void {
  capturedLogs.push(...lines);
}

/** Every log line captured so far (all harnesses of this test file). */
export function rotationLogs(): readonly string[] {
  return capturedLogs;
}

// ---------------------------------------------------------------------------

export interface HarnessOptions {
  readonly engine: EngineName;
  readonly strategy: Strategy;
  /** Use the TLS-less server instead of the TLS one (the handler still requires TLS unless told otherwise). */
  readonly serverWithoutTls?: boolean;
  /** Base of the user name (a unique suffix is added). */
  readonly username?: string;
  /** The initial password (random hex by default). */
  readonly password?: string;
  /** ROTATION_* variables on top of the defaults (strategy, CA file); `undefined` unsets one. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Alternating users: what the secret's `masterarn` points at. */
  readonly master?: 'valid' | 'missing' | 'not-json' | 'no-password' | 'none';
  /** Leave rotation disabled on the secret (DescribeSecret RotationEnabled absent). */
  readonly rotationDisabled?: boolean;
  /** Create the secret without the tags that fix its database (as a secret not made by ManagedSecret). */
  readonly withoutPinTags?: boolean;
  /** Further tags of the rotated secret (besides the database tags ManagedSecret gives it). */
  readonly extraTags?: ReadonlyArray<{ Key: string; Value: string }>;
  /** Alternating users: leave host and port out of the master secret (the shape of RDS-managed master secrets). */
  readonly masterWithoutHost?: boolean;
  /**
   * The secret is created like one attached to an RDS database by a
   * SecretTargetAttachment (what ManagedSecret.addRotation does for it): its
   * first value has the placeholder host, its tags name no host or port
   * (`endpoint` = `rotation-function`), and the function's configuration
   * pins its endpoint (`ROTATION_PINNED_ENDPOINTS`). `attach()` then writes
   * the real host and port, as Secrets Manager does for the attachment.
   */
  readonly attached?: boolean;
  /**
   * The `engine` the secret is pinned to (its engine tag, what ManagedSecret
   * writes from the credentials' engine) and the `engine` of its first value.
   * Default: `postgres` / `mariadb` for both.
   */
  readonly engineValues?: { readonly tag: string; readonly value: string };
  /** Initial value of the rotated secret as JSON text (the harness's fields are filled in where it has `$HOST` etc.). */
  readonly rawValue?: (value: DbSecret) => string;
}

/** Hooks into a whole rotation (between and around steps). */
export interface RotateOptions {
  /** ClientRequestToken (a new UUID by default). */
  readonly token?: string;
  /** Invocations per step before the rotation is given up (Secrets Manager retries too). Default 3. */
  readonly maxAttempts?: number;
  /** Stop right after this step succeeded, as if the function had crashed before reporting success. */
  readonly crashAfter?: RotationStep;
  readonly beforeStep?: (step: RotationStep) => Promise<void> | void;
  readonly afterStep?: (step: RotationStep) => Promise<void> | void;
  /** After a failed attempt, before the next one (e.g. to bring the database back). */
  readonly afterFailure?: (step: RotationStep, attempt: number, error: Error) => Promise<void> | void;
}

/** Faults injected inside invocations (they make the harness use createHandler with wrapped dependencies). */
export interface Faults {
  /** Before each Secrets Manager call of the handler; throw to make the call fail. */
  beforeSdk?: (command: string, input: Record<string, unknown>, step: RotationStep) => Promise<void> | void;
  /** After each successful Secrets Manager call of the handler; throw to simulate a crash after it. */
  afterSdk?: (command: string, input: Record<string, unknown>, step: RotationStep) => Promise<void> | void;
  /** Before each database operation of the handler (`connect`, `setPassword`, `testLogin`, ...). */
  beforeDb?: (operation: string, step: RotationStep) => Promise<void> | void;
}

export interface RotationRun {
  readonly token: string;
  /** Failed attempts, in order: `step#attempt: message`. */
  readonly failures: readonly string[];
}

export class RotationFailed extends Error {
  constructor(public readonly step: RotationStep, public readonly token: string, public readonly failures: readonly string[]) {
    super(`rotation ${token} failed at ${step}: ${failures[failures.length - 1]}`);
    this.name = 'RotationFailed';
  }
}

export class SimulatedCrash extends Error {
  constructor(public readonly step: RotationStep, public readonly token: string) {
    super(`simulated crash after ${step} of rotation ${token}`);
    this.name = 'SimulatedCrash';
  }
}

export interface Snapshot {
  readonly versions: Record<string, string[]>;
  readonly current: DbSecret;
  readonly pending?: DbSecret;
  readonly previous?: DbSecret;
  readonly currentLogsIn: boolean;
  readonly pendingLogsIn?: boolean;
  readonly previousLogsIn?: boolean;
}

const stepContext = new AsyncLocalStorage<RotationStep>();

let servicesEnv: ServiceEnv | undefined;
function services(): ServiceEnv {
  servicesEnv ??= requireServices();
  // The handler's own SDK client (created on its first invocation) goes to moto.
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = servicesEnv.motoEndpoint;
  return servicesEnv;
}

let adminClient: SecretsManagerClient | undefined;
/** The harness's own Secrets Manager client (to set up and inspect secrets), pointed at moto. */
export function secretsClient(): SecretsManagerClient {
  adminClient ??= new SecretsManagerClient({ endpoint: services().motoEndpoint });
  return adminClient;
}

export class RotationHarness {
  /** Creates the database, users and secrets of one test case. */
  static async setup(options: HarnessOptions): Promise<RotationHarness> {
    const harness = new RotationHarness(options, services());
    await harness.create();
    return harness;
  }

  public readonly id = randomBytes(3).toString('hex');
  public readonly engine: EngineName;
  public readonly strategy: Strategy;
  /** User name in the initial AWSCURRENT. */
  public readonly username: string;
  public readonly dbname: string;
  public readonly masterUsername: string;
  public readonly initialPassword: string;
  public readonly masterPassword = randomBytes(16).toString('hex');
  public readonly host: string;
  public readonly port: number;
  public readonly tlsServer: boolean;
  public secretArn = '';
  public masterArn = '';
  /** Faults injected inside the next invocations; set and clear freely. */
  public faults: Faults = {};
  /**
   * Whether `rotate` asserts the invariant (a credential that logs in is
   * retrievable) after every step and every failed attempt. Tests switch it
   * off while they deliberately lock every credential out.
   */
  public checkInvariant = true;
  /** Snapshots taken by the invariant checks of `rotate`, in order. */
  public readonly checkpoints: Array<{ readonly step: RotationStep; readonly event: 'done' | 'failed'; readonly snapshot: Snapshot }> = [];
  /**
   * Runs an invocation elsewhere instead of in this process (e.g. the bundled
   * index.js in a child process); gets the event and the ROTATION_* settings.
   */
  public invoker?: (event: SecretsManagerRotationEvent, env: Readonly<Record<string, string | undefined>>) => Promise<void>;
  /** Messages of every error a handler invocation threw. */
  public readonly errors: string[] = [];
  /** ROTATION_* environment of the invocations (tests may change it between invocations). */
  public env: Record<string, string | undefined>;

  private readonly svc: ServiceEnv;
  private readonly options: HarnessOptions;
  private readonly ca: string;
  private faultHandler?: RotationHandler;
  private readonly passwordsSeen = new Set<string>();

  private constructor(options: HarnessOptions, svc: ServiceEnv) {
    this.options = options;
    this.svc = svc;
    this.engine = options.engine;
    this.strategy = options.strategy;
    this.username = `${options.username ?? 'app'}_${this.id}`;
    this.dbname = `rot_${this.id}`;
    this.masterUsername = `master_${this.id}`;
    this.initialPassword = options.password ?? randomBytes(16).toString('hex');
    this.tlsServer = options.serverWithoutTls !== true;
    const db = options.engine === 'postgres' ? svc.pg : svc.mysql;
    this.host = db.host;
    this.port = this.tlsServer ? db.port : db.noTlsPort;
    this.ca = readFileSync(svc.caFile, 'utf8');
    this.env = {
      ROTATION_STRATEGY: options.strategy,
      ROTATION_TLS_CA_FILE: svc.caFile,
      ...options.env,
    };
    this.passwordsSeen.add(this.initialPassword);
    this.passwordsSeen.add(this.masterPassword);
  }

  /** The user the alternating strategy switches to first (`<username>_clone`). */
  get cloneUsername(): string {
    return `${this.username}_clone`;
  }

  // --- driving the handler ---------------------------------------------------

  /** One invocation of the handler, as Secrets Manager makes it. */
  async invoke(step: string, token: string): Promise<void> {
    if (this.invoker) {
      const event = { SecretId: this.secretArn, ClientRequestToken: token, Step: step } as SecretsManagerRotationEvent;
      const env = Object.fromEntries(ROTATION_ENV_KEYS.map(key => [key, this.env[key]]));
      try {
        await this.invoker(event, env);
      } catch (err) {
        this.errors.push((err as Error).message);
        throw err;
      }
      return;
    }
    for (const key of ROTATION_ENV_KEYS) {
      if (this.env[key] === undefined) {
        delete process.env[key];
      } else {
        process.env[key] = this.env[key];
      }
    }
    const handler = this.handler();
    const event = { SecretId: this.secretArn, ClientRequestToken: token, Step: step } as SecretsManagerRotationEvent;
    try {
      // The handler reads process.env synchronously when called: set above, nothing can interleave.
      await stepContext.run(step as RotationStep, () => handler(event));
    } catch (err) {
      this.errors.push((err as Error).message);
      throw err;
    }
  }

  /** A whole rotation: the four steps in order, each retried up to `maxAttempts` times. */
  async rotate(options: RotateOptions = {}): Promise<RotationRun> {
    const token = options.token ?? randomUUID();
    const maxAttempts = options.maxAttempts ?? 3;
    const failures: string[] = [];
    for (const step of STEPS) {
      await options.beforeStep?.(step);
      for (let attempt = 1; ; attempt++) {
        try {
          await this.invoke(step, token);
          break;
        } catch (err) {
          failures.push(`${step}#${attempt}: ${(err as Error).message}`);
          await this.checkpoint(step, 'failed');
          if (attempt >= maxAttempts) {
            throw new RotationFailed(step, token, failures);
          }
          await options.afterFailure?.(step, attempt, err as Error);
        }
      }
      await this.checkpoint(step, 'done');
      await options.afterStep?.(step);
      if (options.crashAfter === step) {
        throw new SimulatedCrash(step, token);
      }
    }
    return { token, failures };
  }

  private async checkpoint(step: RotationStep, event: 'done' | 'failed'): Promise<void> {
    if (this.checkInvariant) {
      this.checkpoints.push({ step, event, snapshot: await this.assertRetrievableLogin() });
    }
  }

  private handler(): RotationHandler {
    const { beforeSdk, afterSdk, beforeDb } = this.faults;
    if (!beforeSdk && !afterSdk && !beforeDb) {
      // The very handler Lambda runs.
      return this.engine === 'postgres' ? postgresHandler : mysqlHandler;
    }
    if (!this.faultHandler) {
      const faults = () => this.faults;
      const client = new SecretsManagerClient({});
      client.middlewareStack.add((next, context) => async (args) => {
        const step = stepContext.getStore()!;
        const input = (args.input ?? {}) as Record<string, unknown>;
        await faults().beforeSdk?.(context.commandName ?? '', input, step);
        const result = await next(args);
        await faults().afterSdk?.(context.commandName ?? '', input, step);
        return result;
      }, { step: 'initialize', name: 'rotationHarnessFaults' });
      const engine = (this.engine === 'postgres' ? postgresEngine : mysqlEngine) as EngineAdapter<unknown>;
      const wrapped: EngineAdapter<unknown> = { ...engine };
      for (const operation of ['connect', 'setPassword', 'userExists', 'cloneUser', 'syncPrivileges', 'testLogin'] as const) {
        const original = engine[operation] as ((...args: unknown[]) => Promise<unknown>) | undefined;
        if (original) {
          (wrapped as unknown as Record<string, unknown>)[operation] = async (...args: unknown[]) => {
            await faults().beforeDb?.(operation, stepContext.getStore()!);
            return original.apply(engine, args);
          };
        }
      }
      this.faultHandler = createHandler(wrapped, { secrets: client });
    }
    return this.faultHandler;
  }

  // --- Secrets Manager state ---------------------------------------------------

  async versionsToStages(): Promise<Record<string, string[]>> {
    const out = await secretsClient().send(new DescribeSecretCommand({ SecretId: this.secretArn }));
    return Object.fromEntries(Object.entries(out.VersionIdsToStages ?? {}).map(([id, stages]) => [id, [...(stages ?? [])].sort()]));
  }

  /** The value staged `stage`, or undefined when no version has it. */
  async getStage(stage: string): Promise<DbSecret | undefined> {
    try {
      const out = await secretsClient().send(new GetSecretValueCommand({ SecretId: this.secretArn, VersionStage: stage }));
      return this.remember(JSON.parse(out.SecretString!) as DbSecret);
    } catch (err) {
      if ((err as Error).name === 'ResourceNotFoundException') {
        return undefined;
      }
      throw err;
    }
  }

  async getVersion(versionId: string): Promise<DbSecret> {
    const out = await secretsClient().send(new GetSecretValueCommand({ SecretId: this.secretArn, VersionId: versionId }));
    return this.remember(JSON.parse(out.SecretString!) as DbSecret);
  }

  /** Stores a new version as AWSCURRENT (AWSCURRENT's version becomes AWSPREVIOUS), bypassing the handler. */
  async putCurrent(value: DbSecret): Promise<string> {
    this.remember(value);
    const token = randomUUID();
    await secretsClient().send(new PutSecretValueCommand({
      SecretId: this.secretArn, ClientRequestToken: token, SecretString: JSON.stringify(value), VersionStages: ['AWSCURRENT'],
    }));
    return token;
  }

  /** Moves a staging label, as an operator would with the console/CLI. */
  async moveStage(stage: string, to: string | undefined, from: string | undefined): Promise<void> {
    await secretsClient().send(new UpdateSecretVersionStageCommand({
      SecretId: this.secretArn, VersionStage: stage, MoveToVersionId: to, RemoveFromVersionId: from,
    }));
  }

  /** The versions holding `stage` (should be at most one). */
  async versionsWith(stage: string): Promise<string[]> {
    const versions = await this.versionsToStages();
    return Object.keys(versions).filter(id => versions[id].includes(stage));
  }

  /** Labels, values and which credentials log in right now. */
  async snapshot(): Promise<Snapshot> {
    const versions = await this.versionsToStages();
    const current = await this.getStage('AWSCURRENT');
    if (!current) {
      throw new Error(`secret ${this.secretArn} has no AWSCURRENT`);
    }
    const pending = await this.getStage('AWSPENDING');
    const previous = await this.getStage('AWSPREVIOUS');
    return {
      versions,
      current,
      pending,
      previous,
      currentLogsIn: await this.canLogin(current),
      pendingLogsIn: pending ? await this.canLogin(pending) : undefined,
      previousLogsIn: previous ? await this.canLogin(previous) : undefined,
    };
  }

  /**
   * The invariant of every test: a credential that logs in is retrievable,
   * AWSCURRENT or (during the window of a single-user rotation) AWSPENDING.
   */
  async assertRetrievableLogin(): Promise<Snapshot> {
    const snap = await this.snapshot();
    if (!snap.currentLogsIn && !snap.pendingLogsIn) {
      throw new Error(`invariant broken: neither AWSCURRENT ("${snap.current.username}") nor AWSPENDING logs in; versions ${JSON.stringify(snap.versions)}`);
    }
    return snap;
  }

  /**
   * The end state of a converged rotation: exactly one AWSCURRENT, which logs
   * in, no AWSPENDING left, and (when given) AWSCURRENT is version `token`.
   */
  async assertConverged(token?: string): Promise<Snapshot> {
    const snap = await this.snapshot();
    const current = Object.keys(snap.versions).filter(id => snap.versions[id].includes('AWSCURRENT'));
    const pending = Object.keys(snap.versions).filter(id => snap.versions[id].includes('AWSPENDING'));
    expect(current).toHaveLength(1);
    if (token !== undefined) {
      expect(current[0]).toBe(token);
    }
    expect(pending).toEqual([]);
    expect(snap.currentLogsIn).toBe(true);
    return snap;
  }

  // --- database access (as the test's superuser or as a secret's user) ---------

  /** Whether `secret`'s credentials log in right now (false only for an authentication refusal). */
  async canLogin(secret: Pick<DbSecret, 'username' | 'password'> & Partial<DbSecret>): Promise<boolean> {
    this.remember(secret);
    try {
      await this.asUser(secret, async () => undefined);
      return true;
    } catch (err) {
      const e = err as { code?: string; errno?: number };
      // PostgreSQL: invalid_password, NOLOGIN. MySQL/MariaDB: access denied (MariaDB answers 1698 instead of 1045
      // for about one login in five of a user that does not exist), account locked (MySQL 3118, MariaDB 4151).
      if (e.code === '28P01' || e.code === '28000' || [1044, 1045, 1698, 3118, 4151].includes(e.errno ?? 0)) {
        return false;
      }
      (err as Error).message += ` [code ${e.code}, errno ${e.errno}]`;
      throw err;
    }
  }

  /** Whether `secret`'s user can read the test table (the privilege every user of the test gets). */
  async canSelect(secret: Pick<DbSecret, 'username' | 'password'>): Promise<boolean> {
    return this.asUser(secret, async (q) => {
      const rows = await q(this.engine === 'postgres' ? 'SELECT count(*)::int AS n FROM items' : `SELECT COUNT(*) AS n FROM ${this.mysqlDb()}.items`);
      return Number(rows[0].n) === 3;
    });
  }

  /** Runs SQL as the server's superuser (postgres / root), in the test database for PostgreSQL. */
  async admin(sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
    if (this.engine === 'postgres') {
      const client = await this.pgConnect(this.svc.pg.user, this.svc.pg.password, this.dbname);
      try {
        return (await client.query(sql, params)).rows;
      } finally {
        await client.end();
      }
    }
    const conn = await this.mysqlConnect(this.svc.mysql.user, this.svc.mysql.password);
    try {
      const [rows] = await conn.query<RowDataPacket[]>(sql, params);
      return Array.isArray(rows) ? rows : [];
    } finally {
      await conn.end();
    }
  }

  /** Blocks or allows logins of a user: `ALTER ROLE ... NOLOGIN` / `ALTER USER ... ACCOUNT LOCK`. */
  async setLoginAllowed(username: string, allowed: boolean): Promise<void> {
    if (this.engine === 'postgres') {
      await this.admin(`ALTER ROLE ${escapeIdentifier(username)} ${allowed ? 'LOGIN' : 'NOLOGIN'}`);
    } else {
      await this.admin(`ALTER USER ?@'%' ACCOUNT ${allowed ? 'UNLOCK' : 'LOCK'}`, [username]);
    }
  }

  /** Sets a user's password directly in the database. */
  async setDbPassword(username: string, password: string): Promise<void> {
    this.passwordsSeen.add(password);
    if (this.engine === 'postgres') {
      await this.admin(`ALTER ROLE ${escapeIdentifier(username)} PASSWORD ${escapeLiteral(password)}`);
    } else {
      await this.admin("ALTER USER ?@'%' IDENTIFIED BY ?", [username, password]);
    }
  }

  /**
   * Holds a lock that makes every password change of `username` wait
   * (PostgreSQL: an open transaction that updated its role; MariaDB: a read
   * lock on mysql.global_priv). Logins keep working. Returns the release.
   */
  async holdPasswordLock(username: string): Promise<() => Promise<void>> {
    if (this.engine === 'postgres') {
      const client = await this.pgConnect(this.svc.pg.user, this.svc.pg.password, this.dbname);
      await client.query('BEGIN');
      await client.query(`ALTER ROLE ${escapeIdentifier(username)} CONNECTION LIMIT -1`);
      return async () => {
        await client.query('ROLLBACK');
        await client.end();
      };
    }
    const conn = await this.mysqlConnect(this.svc.mysql.user, this.svc.mysql.password);
    await conn.query('LOCK TABLES mysql.global_priv READ');
    return async () => {
      await conn.query('UNLOCK TABLES');
      await conn.end();
    };
  }

  /** MariaDB: threads still running a statement that sets a password (marked by the handler). */
  async runningPasswordChanges(): Promise<number> {
    const rows = await this.admin("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO LIKE '/* cdk-kms-secrets-rotation:set-password */%'");
    return Number(rows[0].n);
  }

  /** Creates a user that has nothing to do with the secret (same privileges as the secret's user); returns its credentials. */
  async createBystander(): Promise<{ username: string; password: string }> {
    const username = `bystander_${this.id}`;
    const password = randomBytes(16).toString('hex');
    this.passwordsSeen.add(password);
    if (this.engine === 'postgres') {
      await this.admin(`CREATE ROLE ${escapeIdentifier(username)} LOGIN PASSWORD ${escapeLiteral(password)}`);
    } else {
      await this.admin("CREATE USER ?@'%' IDENTIFIED BY ?", [username, password]);
    }
    return { username, password };
  }

  async userExists(username: string): Promise<boolean> {
    const rows = this.engine === 'postgres'
      ? await this.admin('SELECT 1 FROM pg_roles WHERE rolname = $1', [username])
      : await this.admin("SELECT 1 FROM mysql.user WHERE User = ? AND Host = '%'", [username]);
    return rows.length > 0;
  }

  /** Names of all roles/users whose name contains this test's id (master included), sorted: to spot stray users. */
  async usersOfThisTest(): Promise<string[]> {
    const rows = this.engine === 'postgres'
      ? await this.admin('SELECT rolname AS name FROM pg_roles WHERE strpos(rolname, $1) > 0 ORDER BY 1', [this.id])
      : await this.admin('SELECT User AS name FROM mysql.user WHERE LOCATE(?, User) > 0 ORDER BY 1', [this.id]);
    return rows.map(r => String(r.name)).sort();
  }

  async tableRowCount(): Promise<number> {
    const rows = await this.admin(this.engine === 'postgres' ? 'SELECT count(*)::int AS n FROM items' : `SELECT COUNT(*) AS n FROM ${this.mysqlDb()}.items`);
    return Number(rows[0].n);
  }

  // --- secrets hygiene -------------------------------------------------------------

  /** Every password this harness has seen: initial, master, and every version of the secret. */
  async allPasswords(): Promise<string[]> {
    if (this.secretArn) {
      const out = await secretsClient().send(new ListSecretVersionIdsCommand({ SecretId: this.secretArn, IncludeDeprecated: true }));
      for (const v of out.Versions ?? []) {
        await this.getVersion(v.VersionId!).catch(() => undefined);
      }
    }
    return [...this.passwordsSeen].filter(p => p.length > 0);
  }

  /** Asserts that no password appears in the captured logs or in any error the handler threw. */
  async assertNoPasswordLeaked(): Promise<void> {
    const passwords = await this.allPasswords();
    const texts = [...rotationLogs(), ...this.errors];
    for (const password of passwords) {
      const leaks = texts.filter(t => t.includes(password) || t.includes(JSON.stringify(password).slice(1, -1)));
      if (leaks.length > 0) {
        throw new Error(`a password of test ${this.id} leaked into ${leaks.length} log line(s)/error(s)`);
      }
    }
  }

  /** Drops the database, users and secrets (best effort). */
  async cleanup(): Promise<void> {
    const users = await this.usersOfThisTest().catch(() => [] as string[]);
    try {
      if (this.engine === 'postgres') {
        const client = await this.pgConnect(this.svc.pg.user, this.svc.pg.password, this.svc.pg.database);
        try {
          await client.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(this.dbname)} WITH (FORCE)`);
          for (const user of users) {
            await client.query(`DROP ROLE IF EXISTS ${escapeIdentifier(user)}`);
          }
        } finally {
          await client.end();
        }
      } else {
        const conn = await this.mysqlConnect(this.svc.mysql.user, this.svc.mysql.password);
        try {
          await conn.query(`DROP DATABASE IF EXISTS ${this.mysqlDb()}`);
          for (const user of users) {
            await conn.query("DROP USER IF EXISTS ?@'%'", [user]);
          }
        } finally {
          await conn.end();
        }
      }
    } catch {
      // The servers are throw-away; a leftover does not affect other tests (unique names).
    }
    for (const arn of [this.secretArn, this.masterArn]) {
      if (arn) {
        await secretsClient().send(new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true })).catch(() => undefined);
      }
    }
  }

  // --- internals -------------------------------------------------------------------

  private remember<T extends { password?: unknown }>(secret: T): T {
    if (typeof secret.password === 'string') {
      this.passwordsSeen.add(secret.password);
    }
    return secret;
  }

  private mysqlDb(): string {
    return '`' + this.dbname + '`';
  }

  private async create(): Promise<void> {
    if (this.engine === 'postgres') {
      await this.createPostgres();
    } else {
      await this.createMysql();
    }
    const sm = secretsClient();
    const base = `rotation-test/${this.engine}/${this.strategy}/${this.id}`;
    const master = this.options.master ?? (this.strategy === 'alternating-users' ? 'valid' : 'none');
    if (master !== 'none') {
      const masterValue = master === 'not-json' ? 'not json {'
        : JSON.stringify({
          engine: this.options.engineValues?.tag ?? (this.engine === 'postgres' ? 'postgres' : 'mariadb'),
          ...(this.options.masterWithoutHost ? {} : { host: this.host, port: this.port }),
          username: this.masterUsername,
          ...(master === 'no-password' ? {} : { password: this.masterPassword }),
        });
      const created = await sm.send(new CreateSecretCommand({ Name: `${base}/master`, SecretString: masterValue }));
      this.masterArn = created.ARN!;
      if (master === 'missing') {
        // An ARN of a secret that does not exist (any more).
        await sm.send(new DeleteSecretCommand({ SecretId: this.masterArn, ForceDeleteWithoutRecovery: true }));
      }
    }
    const value: DbSecret = {
      engine: this.options.engineValues?.tag ?? (this.engine === 'postgres' ? 'postgres' : 'mariadb'),
      host: this.options.attached ? ATTACHMENT_PLACEHOLDER_HOST : this.host,
      port: this.port,
      username: this.username,
      password: this.initialPassword,
      dbname: this.dbname,
      ...(this.masterArn ? { masterarn: this.masterArn } : {}),
    };
    // Created without a value so that RotateSecret (which moto needs to report RotationEnabled) stages nothing.
    // Tagged with the database, as ManagedSecret.addRotation does: the only place the handler takes it from.
    const created = await sm.send(new CreateSecretCommand({ Name: base, Tags: this.options.withoutPinTags ? undefined : this.pinTags(value) }));
    this.secretArn = created.ARN!;
    if (this.options.attached) {
      this.env.ROTATION_PINNED_ENDPOINTS = JSON.stringify({ [this.secretArn]: `${this.host}:${this.port}` });
    }
    if (this.options.rotationDisabled !== true) {
      await this.enableRotation();
    }
    const first = this.options.engineValues ? { ...value, engine: this.options.engineValues.value } : value;
    await sm.send(new PutSecretValueCommand({
      SecretId: this.secretArn, SecretString: this.options.rawValue?.(first) ?? JSON.stringify(first), VersionStages: ['AWSCURRENT'],
    }));
  }

  /** The tags ManagedSecret.addRotation gives a rotated secret (the database fixed at deploy time). */
  pinTags(value: DbSecret): Array<{ Key: string; Value: string }> {
    const tags: Array<{ Key: string; Value: string }> = [
      { Key: TAGS.engine, Value: value.engine },
      ...(this.options.attached ? [{ Key: TAGS.endpoint, Value: ENDPOINT_IN_FUNCTION }] : [
        { Key: TAGS.host, Value: value.host },
        { Key: TAGS.port, Value: String(value.port) },
      ]),
      { Key: TAGS.username, Value: value.username },
    ];
    if (value.dbname !== undefined) tags.push({ Key: TAGS.dbname, Value: value.dbname });
    if (value.masterarn !== undefined) tags.push({ Key: TAGS.masterarn, Value: value.masterarn });
    return tags.concat(this.options.extraTags ?? []);
  }

  /**
   * What Secrets Manager does for an RDS SecretTargetAttachment: a new
   * AWSCURRENT with the database's host, port and engine, and its identifier.
   */
  async attach(): Promise<string> {
    const current = (await this.getStage('AWSCURRENT'))!;
    return this.putCurrent({ ...current, host: this.host, port: this.port, dbInstanceIdentifier: `db-${this.id}` });
  }

  /**
   * Makes the next invocations see Secrets Manager's rule that a version's
   * value never changes: a PutSecretValue with a ClientRequestToken already
   * used (by this harness's invocations) fails with ResourceExistsException,
   * where moto would replace the value.
   */
  emulateImmutableVersions(): void {
    const used = new Set<string>();
    this.faults = {
      ...this.faults,
      beforeSdk: (command, input) => {
        const token = input.ClientRequestToken;
        if (command === 'PutSecretValueCommand' && typeof token === 'string') {
          if (used.has(token)) {
            throw Object.assign(new Error(`You can't modify an existing version, you can only create a new version (${token}).`), { name: 'ResourceExistsException' });
          }
          used.add(token);
        }
      },
    };
  }

  /** RotationEnabled=true in moto: RotateSecret with rules and no Lambda ARN, while the secret has no version. */
  async enableRotation(): Promise<void> {
    await secretsClient().send(new RotateSecretCommand({
      SecretId: this.secretArn, RotationRules: { AutomaticallyAfterDays: 30 }, RotateImmediately: false,
    }));
  }

  private async createPostgres(): Promise<void> {
    const admin = await this.pgConnect(this.svc.pg.user, this.svc.pg.password, this.svc.pg.database);
    try {
      await admin.query(`CREATE DATABASE ${escapeIdentifier(this.dbname)}`);
      await admin.query(`CREATE ROLE ${escapeIdentifier(this.username)} LOGIN PASSWORD ${escapeLiteral(this.initialPassword)}`);
      if (this.strategy === 'alternating-users') {
        // Like an RDS master user: not a superuser, may create roles.
        await admin.query(`CREATE ROLE ${escapeIdentifier(this.masterUsername)} LOGIN CREATEROLE PASSWORD ${escapeLiteral(this.masterPassword)}`);
      }
    } finally {
      await admin.end();
    }
    const db = await this.pgConnect(this.svc.pg.user, this.svc.pg.password, this.dbname);
    try {
      await db.query("CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c')");
      await db.query(`GRANT SELECT ON items TO ${escapeIdentifier(this.username)}`);
    } finally {
      await db.end();
    }
  }

  private async createMysql(): Promise<void> {
    const admin = await this.mysqlConnect(this.svc.mysql.user, this.svc.mysql.password);
    try {
      await admin.query(`CREATE DATABASE ${this.mysqlDb()}`);
      await admin.query(`CREATE TABLE ${this.mysqlDb()}.items (id INT PRIMARY KEY, name VARCHAR(10))`);
      await admin.query(`INSERT INTO ${this.mysqlDb()}.items VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
      await admin.query("CREATE USER ?@'%' IDENTIFIED BY ?", [this.username, this.initialPassword]);
      await admin.query(`GRANT SELECT ON ${this.mysqlDb()}.* TO ?@'%'`, [this.username]);
      if (this.tlsServer) {
        await admin.query("ALTER USER ?@'%' REQUIRE SSL", [this.username]);
      }
      if (this.strategy === 'alternating-users') {
        await admin.query("CREATE USER ?@'%' IDENTIFIED BY ?", [this.masterUsername, this.masterPassword]);
        await admin.query("GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION", [this.masterUsername]);
      }
    } finally {
      await admin.end();
    }
  }

  private async asUser<T>(secret: Pick<DbSecret, 'username' | 'password'>, fn: (q: (sql: string) => Promise<Array<Record<string, unknown>>>) => Promise<T>): Promise<T> {
    if (this.engine === 'postgres') {
      const client = await this.pgConnect(secret.username, secret.password, this.dbname);
      try {
        return await fn(async sql => (await client.query(sql)).rows);
      } finally {
        await client.end();
      }
    }
    const conn = await this.mysqlConnect(secret.username, secret.password);
    try {
      return await fn(async sql => (await conn.query<RowDataPacket[]>(sql))[0]);
    } finally {
      await conn.end();
    }
  }

  private get server(): TestServer {
    return { host: this.host, port: this.port, tls: this.tlsServer, ca: this.ca };
  }

  private pgConnect(user: string, password: string, database: string): Promise<Client> {
    return pgConnect(this.server, user, password, database);
  }

  private mysqlConnect(user: string, password: string): Promise<Connection> {
    return mysqlConnect(this.server, user, password);
  }
}
