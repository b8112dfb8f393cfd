/**
 * The Secrets Manager rotation protocol, written once for every engine.
 *
 * Secrets Manager calls the function four times per rotation, with the same
 * ClientRequestToken (the id of the new version) and these steps:
 *
 *   createSecret  store the new credential as version <token>, staged AWSPENDING
 *   setSecret     make the database accept it (change the password / create the clone user)
 *   testSecret    log in with it
 *   finishSecret  move AWSCURRENT to version <token> (AWSPREVIOUS follows automatically)
 *
 * Any step may be retried, run twice at once, or run after a crash half-way
 * through an earlier attempt: every step is idempotent and re-reads the state
 * it needs from Secrets Manager and the database. A step that cannot complete
 * throws an Error with a clear message (Secrets Manager retries it). Neither
 * logs nor error messages ever contain a password or a secret value.
 */
import {
  DescribeSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { RotationConfig } from './config';
import { ConnectOptions, DbError, DbSecret, EngineAdapter, errorMessage, LoginTarget } from './engine';
import { generatePassword, passwordSatisfiesPolicy } from './password';

export const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof STEPS)[number];

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';

export interface RotationEvent {
  readonly SecretId: string;
  readonly ClientRequestToken: string;
  readonly Step: string;
}

/** The part of Powertools' Logger the protocol uses. */
export interface RotationLogger {
  info(message: string, attributes: Record<string, unknown>): void;
  warn(message: string, attributes: Record<string, unknown>): void;
  error(message: string, attributes: Record<string, unknown>): void;
}

export interface RotationDeps {
  readonly secrets: SecretsManagerClient;
  readonly engine: EngineAdapter;
  readonly config: RotationConfig;
  readonly logger: RotationLogger;
}

/** The error every failed step throws (its message is already free of secret values). */
export class RotationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RotationError';
  }
}

/** `name` <-> `name_clone`. */
export function alternateUsername(username: string): string {
  return username.endsWith('_clone') ? username.slice(0, -'_clone'.length) : `${username}_clone`;
}

/**
 * Runs one step of one rotation. Resolves when the step is done (or was
 * already done); rejects with a `RotationError` otherwise.
 */
export async function rotate(event: RotationEvent, deps: RotationDeps): Promise<void> {
  const started = Date.now();
  const fields: Record<string, unknown> = {
    step: asString(event?.Step),
    secretArn: asString(event?.SecretId),
    token: asString(event?.ClientRequestToken),
    engine: deps.engine.name,
    strategy: deps.config.strategy,
  };
  const redactor = new Redactor();
  try {
    const step = checkEvent(event);
    deps.logger.info('rotation step started', { ...fields });
    const run: Run = {
      deps,
      step,
      token: event.ClientRequestToken,
      arn: event.SecretId,
      versions: {},
      redactor,
      fields,
      connect: { tls: deps.config.tls, connectTimeoutMs: deps.config.connectTimeoutMs, statementTimeoutMs: deps.config.statementTimeoutMs },
    };
    const outcome = await runStep(run);
    deps.logger.info('rotation step succeeded', { ...fields, outcome, durationMs: Date.now() - started });
  } catch (err) {
    const message = redactor.redact(errorMessage(err));
    deps.logger.error('rotation step failed', {
      ...fields,
      outcome: 'failed',
      durationMs: Date.now() - started,
      errorKind: err instanceof DbError ? err.kind : undefined,
      error: message,
    });
    throw new RotationError(message);
  }
}

// ---------------------------------------------------------------------------

interface Run {
  readonly deps: RotationDeps;
  readonly step: RotationStep;
  readonly token: string;
  /** The secret's ARN once DescribeSecret answered (the event's SecretId before). */
  arn: string;
  /** VersionIdsToStages as of the step's DescribeSecret. */
  versions: Record<string, string[]>;
  readonly redactor: Redactor;
  readonly fields: Record<string, unknown>;
  readonly connect: ConnectOptions;
}

async function runStep(run: Run): Promise<string> {
  const described = await describe(run);
  run.arn = described.arn;
  run.fields.secretArn = described.arn;
  run.versions = described.versions;
  if (!described.rotationEnabled) {
    throw new Error(`Rotation is not enabled for secret ${run.arn} (DescribeSecret: RotationEnabled is not true); enable rotation on the secret before invoking its rotation function.`);
  }

  const stages = run.versions[run.token];
  if (stages?.includes(AWSCURRENT)) {
    // A retry of a rotation that already finished.
    if (run.step === 'finishSecret' && stages.includes(AWSPENDING)) {
      await removePending(run);
      return 'already-current; AWSPENDING removed';
    }
    run.deps.logger.info('version is already AWSCURRENT: nothing to do', { ...run.fields });
    return 'already-current';
  }
  if (stages === undefined) {
    // Secrets Manager creates version <token> with AWSPENDING (and no value) before calling createSecret.
    // Only createSecret may see it missing (the local test harness cannot pre-register it).
    if (run.step !== 'createSecret') {
      throw new Error(`Secret ${run.arn} has no version ${run.token}: ${run.step} works on the version createSecret stores. Was this rotation started with another ClientRequestToken?`);
    }
  } else if (!stages.includes(AWSPENDING)) {
    throw new Error(
      `Version ${run.token} of secret ${run.arn} is neither AWSPENDING nor AWSCURRENT (its stages: ${stages.join(', ') || 'none'}): ` +
      'it belongs to an abandoned or superseded rotation; start a new rotation.');
  }

  switch (run.step) {
    case 'createSecret':
      return createSecret(run);
    case 'setSecret':
      return setSecret(run);
    case 'testSecret':
      return testSecret(run);
    case 'finishSecret':
      return finishSecret(run);
  }
}

// --- createSecret ----------------------------------------------------------

async function createSecret(run: Run): Promise<string> {
  const { config } = run.deps;
  const current = await readSecret(run, AWSCURRENT, { VersionStage: AWSCURRENT });
  if (config.strategy === 'alternating-users' && current.masterarn === undefined) {
    throw new Error(`AWSCURRENT of secret ${run.arn} has no "masterarn" field: the alternating-users strategy needs the ARN of a master user's secret to create and update the other user.`);
  }

  if (run.versions[run.token]?.includes(AWSPENDING)) {
    // A retry (or a concurrent run) of this step already stored the value; Secrets Manager's own
    // pre-registered version has no value yet (GetSecretValue fails with ResourceNotFoundException).
    const existing = await readOptional(run, AWSPENDING, { VersionId: run.token, VersionStage: AWSPENDING });
    if (existing !== undefined) {
      parseSecret(run, existing, AWSPENDING);
      return 'reused-existing-pending';
    }
  }

  const username = config.strategy === 'alternating-users' ? alternateUsername(current.username) : current.username;
  const stale = await stalePendingPassword(run, current, username);
  const password = stale ?? generatePassword(config.password);
  run.redactor.add(password);
  const pending: DbSecret = { ...current, username, password };
  try {
    await run.deps.secrets.send(new PutSecretValueCommand({
      SecretId: run.arn,
      ClientRequestToken: run.token,
      SecretString: JSON.stringify(pending),
      VersionStages: [AWSPENDING],
    }));
  } catch (err) {
    // A concurrent createSecret stored a different value under this token first: use that one.
    if (errorName(err) === 'ResourceExistsException') {
      const existing = await readOptional(run, `version ${run.token}`, { VersionId: run.token });
      if (existing !== undefined) {
        parseSecret(run, existing, AWSPENDING);
        return 'reused-concurrent-pending';
      }
    }
    throw sdkError(run, `storing version ${run.token} as AWSPENDING`, err);
  }
  return stale !== undefined ? 'created-reusing-stale-pending-password' : 'created';
}

/**
 * The password of an AWSPENDING version left by an earlier rotation that
 * failed after (or during) its setSecret, if it is for the same user and
 * server. That password may already be set in the database (single user: the
 * only one that works): keeping it in the new AWSPENDING version keeps the
 * working credential retrievable and lets setSecret finish.
 */
async function stalePendingPassword(run: Run, current: DbSecret, username: string): Promise<string | undefined> {
  const staleId = Object.keys(run.versions)
    .find(id => id !== run.token && run.versions[id].includes(AWSPENDING) && !run.versions[id].includes(AWSCURRENT));
  if (staleId === undefined) {
    return undefined;
  }
  let stale: DbSecret;
  try {
    stale = await readSecret(run, `AWSPENDING (stale version ${staleId})`, { VersionId: staleId, VersionStage: AWSPENDING });
  } catch (err) {
    run.deps.logger.warn('stale AWSPENDING version is unreadable; generating a new password', { ...run.fields, staleVersion: staleId, error: run.redactor.redact(errorMessage(err)) });
    return undefined;
  }
  const reusable = stale.username === username && targetMismatch(stale, current) === undefined
    && passwordSatisfiesPolicy(stale.password, run.deps.config.password);
  if (!reusable) {
    run.deps.logger.info('stale AWSPENDING version is for another user, server or password policy; generating a new password', { ...run.fields, staleVersion: staleId });
    return undefined;
  }
  run.deps.logger.info('reusing the password of the stale AWSPENDING version (it may already be set in the database)', { ...run.fields, staleVersion: staleId });
  return stale.password;
}

// --- setSecret -------------------------------------------------------------

async function setSecret(run: Run): Promise<string> {
  const current = await readSecret(run, AWSCURRENT, { VersionStage: AWSCURRENT });
  const pending = await readSecret(run, AWSPENDING, { VersionId: run.token, VersionStage: AWSPENDING });
  checkPending(run, current, pending);

  let pendingFailure: string;
  try {
    await run.deps.engine.testLogin(pending, run.connect);
    return 'already-set';
  } catch (err) {
    if (!(err instanceof DbError && err.kind === 'auth')) {
      throw withContext('setSecret cannot check the AWSPENDING credentials', err);
    }
    pendingFailure = err.message;
  }

  return run.deps.config.strategy === 'single-user'
    ? setSingleUser(run, current, pending, pendingFailure)
    : setAlternatingUsers(run, current, pending);
}

async function setSingleUser(run: Run, current: DbSecret, pending: DbSecret, pendingFailure: string): Promise<string> {
  const { engine } = run.deps;
  // If an earlier rotation failed after changing the password but before finishSecret, the
  // database may still have the AWSPREVIOUS password (after a manual relabelling) or the pending one (checked above).
  const candidates: Array<[string, DbSecret]> = [[AWSCURRENT, current]];
  const previous = await readOptionalSecret(run, AWSPREVIOUS);
  if (previous !== undefined && previous.username === current.username && targetMismatch(previous, current) === undefined
    && previous.password !== current.password) {
    candidates.push([AWSPREVIOUS, previous]);
  }
  const failures = [`${AWSPENDING}: ${pendingFailure}`];
  for (const [label, credentials] of candidates) {
    let conn: unknown;
    try {
      conn = await engine.connect(credentials, run.connect);
    } catch (err) {
      if (err instanceof DbError && err.kind === 'auth') {
        failures.push(`${label}: ${err.message}`);
        continue;
      }
      throw withContext(`setSecret cannot connect with the ${label} credentials`, err);
    }
    try {
      if (label !== AWSCURRENT) {
        run.deps.logger.warn(`the ${AWSCURRENT} password does not work; logged in with ${label}`, { ...run.fields });
      }
      await setAndConfirm(run, pending, password => engine.setPassword(conn, pending.username, password, { userHost: pending.userHost }));
    } finally {
      await engine.close(conn);
    }
    return label === AWSCURRENT ? 'password-set' : `password-set (logged in with ${label})`;
  }
  throw new Error(
    `setSecret cannot log in as "${current.username}" with the ${candidates.map(c => c[0]).join(', ')} or ${AWSPENDING} password, ` +
    `so it cannot change the password: ${failures.join('; ')}`);
}

async function setAlternatingUsers(run: Run, current: DbSecret, pending: DbSecret): Promise<string> {
  const { engine } = run.deps;
  const master = await readMaster(run, current, pending);
  let conn: unknown;
  try {
    conn = await engine.connect(master, run.connect);
  } catch (err) {
    throw withContext(`setSecret cannot log in as the master user "${master.username}" (secret ${current.masterarn})`, err);
  }
  try {
    const user = { userHost: pending.userHost };
    if (await engine.userExists(conn, pending.username, user)) {
      await setAndConfirm(run, pending, password => engine.setPassword(conn, pending.username, password, user));
      await engine.syncPrivileges?.(conn, { from: current.username, to: pending.username, ...user });
      return 'password-set';
    }
    let first = true;
    await setAndConfirm(run, pending, async password => {
      if (first) {
        first = false;
        await engine.cloneUser(conn, { from: current.username, to: pending.username, password, ...user });
      } else {
        await engine.setPassword(conn, pending.username, password, user);
      }
    });
    return 'user-cloned';
  } finally {
    await engine.close(conn);
  }
}

/**
 * Sets the pending password, then re-reads version <token>: if a concurrent
 * createSecret replaced its value meanwhile (Secrets Manager forbids that;
 * moto, used by the tests, allows it), the database follows the stored value.
 */
async function setAndConfirm(run: Run, pending: DbSecret, set: (password: string) => Promise<void>): Promise<void> {
  let password = pending.password;
  for (let attempt = 0; attempt < 3; attempt++) {
    await set(password);
    const stored = await readSecret(run, `version ${run.token}`, { VersionId: run.token });
    if (stored.password === password) {
      return;
    }
    password = stored.password;
  }
  throw new Error(`setSecret: the value of version ${run.token} keeps changing while its password is being set; retry.`);
}

/** The master user's credentials (alternating users), checked to be for the same server. */
async function readMaster(run: Run, current: DbSecret, pending: DbSecret): Promise<LoginTarget> {
  const masterArn = current.masterarn;
  if (masterArn === undefined) {
    throw new Error(`AWSCURRENT of secret ${run.arn} has no "masterarn" field: the alternating-users strategy needs the ARN of a master user's secret.`);
  }
  let value: string | undefined;
  try {
    value = (await run.deps.secrets.send(new GetSecretValueCommand({ SecretId: masterArn, VersionStage: AWSCURRENT }))).SecretString;
  } catch (err) {
    throw new Error(
      `The master secret ${masterArn} (field "masterarn" of secret ${run.arn}) cannot be read: ${errorName(err)}: ${errorMessage(err)}. ` +
      'The alternating-users strategy logs in as that user to create and update users: check that the secret exists and that ' +
      'the rotation function may read it (secretsmanager:GetSecretValue, and kms:Decrypt on its key).');
  }
  const bad = (problem: string) => new Error(`The master secret ${masterArn} (field "masterarn" of secret ${run.arn}) ${problem}.`);
  if (value === undefined) {
    throw bad('has no SecretString');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    throw bad('is not valid JSON');
  }
  if (!isRecord(raw)) {
    throw bad('is not a JSON object');
  }
  run.redactor.add(raw.password);
  if (!nonEmptyString(raw.username) || !nonEmptyString(raw.password)) {
    throw bad('needs non-empty string fields "username" and "password"');
  }
  if (raw.host !== undefined && (typeof raw.host !== 'string' || raw.host.toLowerCase() !== current.host.toLowerCase())) {
    throw bad(`is for host ${String(raw.host)}, but the secret being rotated is for ${current.host}; refusing to log in elsewhere`);
  }
  if (raw.port !== undefined && Number(raw.port) !== current.port) {
    throw bad(`is for port ${String(raw.port)}, but the secret being rotated is for ${current.port}`);
  }
  if (raw.username === pending.username || raw.username === current.username) {
    throw bad(`is for user "${raw.username}", one of the two rotated users; the master user must be another user`);
  }
  return {
    host: current.host,
    port: current.port,
    username: raw.username,
    password: raw.password,
    dbname: typeof raw.dbname === 'string' && raw.dbname !== '' ? raw.dbname : current.dbname,
  };
}

// --- testSecret ------------------------------------------------------------

async function testSecret(run: Run): Promise<string> {
  const current = await readSecret(run, AWSCURRENT, { VersionStage: AWSCURRENT });
  const pending = await readSecret(run, AWSPENDING, { VersionId: run.token, VersionStage: AWSPENDING });
  checkPending(run, current, pending);
  try {
    await run.deps.engine.testLogin(pending, run.connect);
  } catch (err) {
    throw withContext(`testSecret: the AWSPENDING credentials of "${pending.username}" do not work`, err);
  }
  return 'tested';
}

// --- finishSecret ----------------------------------------------------------

async function finishSecret(run: Run): Promise<string> {
  const currentVersion = Object.keys(run.versions).find(id => run.versions[id].includes(AWSCURRENT));
  if (currentVersion === undefined) {
    throw new Error(`Secret ${run.arn} has no AWSCURRENT version.`);
  }
  try {
    await run.deps.secrets.send(new UpdateSecretVersionStageCommand({
      SecretId: run.arn,
      VersionStage: AWSCURRENT,
      MoveToVersionId: run.token,
      RemoveFromVersionId: currentVersion,
    }));
  } catch (err) {
    // A concurrent finishSecret may have moved it first.
    const again = await describe(run);
    if (!(again.versions[run.token] ?? []).includes(AWSCURRENT)) {
      throw sdkError(run, `moving AWSCURRENT from version ${currentVersion} to ${run.token}`, err);
    }
  }
  await removePending(run);
  return 'finished';
}

/** Takes AWSPENDING off version <token> (after it became AWSCURRENT), tolerating a concurrent removal. */
async function removePending(run: Run): Promise<void> {
  try {
    await run.deps.secrets.send(new UpdateSecretVersionStageCommand({ SecretId: run.arn, VersionStage: AWSPENDING, RemoveFromVersionId: run.token }));
  } catch (err) {
    const again = await describe(run);
    if ((again.versions[run.token] ?? []).includes(AWSPENDING)) {
      throw sdkError(run, `removing AWSPENDING from version ${run.token}`, err);
    }
  }
}

// --- Secrets Manager access --------------------------------------------------

async function describe(run: Run): Promise<{ arn: string; rotationEnabled: boolean; versions: Record<string, string[]> }> {
  try {
    const out = await run.deps.secrets.send(new DescribeSecretCommand({ SecretId: run.arn }));
    return {
      arn: out.ARN ?? run.arn,
      rotationEnabled: out.RotationEnabled === true,
      versions: Object.fromEntries(Object.entries(out.VersionIdsToStages ?? {}).map(([id, stages]) => [id, stages ?? []])),
    };
  } catch (err) {
    throw sdkError(run, 'DescribeSecret', err);
  }
}

interface VersionSelector {
  readonly VersionId?: string;
  readonly VersionStage?: string;
}

async function readValue(run: Run, label: string, selector: VersionSelector): Promise<string> {
  let value: string | undefined;
  try {
    value = (await run.deps.secrets.send(new GetSecretValueCommand({ SecretId: run.arn, ...selector }))).SecretString;
  } catch (err) {
    throw sdkError(run, `reading ${label}`, err);
  }
  if (value === undefined) {
    throw new Error(`${label} of secret ${run.arn} has no SecretString (binary secrets cannot be rotated by this function).`);
  }
  return value;
}

/** A value, or undefined when that version/stage does not exist or has no value yet. */
async function readOptional(run: Run, label: string, selector: VersionSelector): Promise<string | undefined> {
  try {
    return await readValue(run, label, selector);
  } catch (err) {
    const name = errorName((err as { cause?: unknown }).cause);
    if (name === 'ResourceNotFoundException' || name === 'SecretHasNoValueException') {
      return undefined;
    }
    throw err;
  }
}

async function readSecret(run: Run, label: string, selector: VersionSelector): Promise<DbSecret> {
  return parseSecret(run, await readValue(run, label, selector), label);
}

/** AWSPREVIOUS etc. if present and valid; a broken optional version is only logged. */
async function readOptionalSecret(run: Run, stage: string): Promise<DbSecret | undefined> {
  const value = await readOptional(run, stage, { VersionStage: stage });
  if (value === undefined) {
    return undefined;
  }
  try {
    return parseSecret(run, value, stage);
  } catch (err) {
    run.deps.logger.warn(`ignoring ${stage}`, { ...run.fields, error: run.redactor.redact(errorMessage(err)) });
    return undefined;
  }
}

function parseSecret(run: Run, value: string, label: string): DbSecret {
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    // JSON.parse's message quotes the input: never pass it on.
    throw new Error(`${label} of secret ${run.arn} is not valid JSON.`);
  }
  if (!isRecord(raw)) {
    throw new Error(`${label} of secret ${run.arn} is not a JSON object.`);
  }
  run.redactor.add(raw.password);
  const problems: string[] = [];
  const engine = typeof raw.engine === 'string' ? raw.engine.toLowerCase() : undefined;
  if (engine === undefined || !run.deps.engine.engines.includes(engine)) {
    problems.push(`"engine" must be one of ${run.deps.engine.engines.join(', ')} for this rotation function (it is ${engine === undefined ? 'missing' : JSON.stringify(raw.engine)})`);
  }
  for (const field of ['host', 'username', 'password']) {
    if (!nonEmptyString(raw[field])) {
      problems.push(`"${field}" must be a non-empty string`);
    }
  }
  const port = typeof raw.port === 'string' && /^\d+$/.test(raw.port) ? Number(raw.port) : raw.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push('"port" must be a TCP port number');
  }
  for (const field of ['dbname', 'masterarn', 'userHost']) {
    if (raw[field] !== undefined && !nonEmptyString(raw[field])) {
      problems.push(`"${field}" must be a non-empty string when present`);
    }
  }
  if (problems.length > 0) {
    throw new Error(`${label} of secret ${run.arn} is not a valid database secret: ${problems.join('; ')}.`);
  }
  return { ...raw, port } as DbSecret;
}

/** Why `other` does not point at the same database as `current`, or undefined. */
function targetMismatch(other: DbSecret, current: DbSecret): string | undefined {
  const where = (s: DbSecret) => `${s.host}:${s.port}/${s.dbname ?? '(default database)'}${s.userHost !== undefined ? ` (user host ${s.userHost})` : ''}`;
  const same = other.host.toLowerCase() === current.host.toLowerCase()
    && other.port === current.port
    && other.dbname === current.dbname
    && other.userHost === current.userHost;
  return same ? undefined : `${where(other)} instead of ${where(current)}`;
}

/** The pending version must be for the same database, and for the user this strategy rotates. */
function checkPending(run: Run, current: DbSecret, pending: DbSecret): void {
  const mismatch = targetMismatch(pending, current);
  if (mismatch !== undefined) {
    throw new Error(`AWSPENDING of secret ${run.arn} points at ${mismatch} (AWSCURRENT); refusing to use credentials for another server or database.`);
  }
  const expected = run.deps.config.strategy === 'alternating-users' ? alternateUsername(current.username) : current.username;
  if (pending.username !== expected) {
    throw new Error(`AWSPENDING of secret ${run.arn} is for user "${pending.username}", but the ${run.deps.config.strategy} strategy expects "${expected}".`);
  }
}

/** `<context>: <message of err>`, keeping the kind of a database error (logged as `errorKind`). */
function withContext(context: string, err: unknown): Error {
  const message = `${context}: ${errorMessage(err)}`;
  return err instanceof DbError ? new DbError(err.kind, message, err.code) : new Error(message);
}

function sdkError(run: Run, what: string, err: unknown): Error {
  const error = new Error(`Secrets Manager: ${what} of secret ${run.arn} failed: ${errorName(err)}: ${errorMessage(err)}`);
  // Kept for readOptional's ResourceNotFoundException check; not logged.
  Object.defineProperty(error, 'cause', { value: err, enumerable: false });
  return error;
}

// --- helpers -----------------------------------------------------------------

function checkEvent(event: RotationEvent): RotationStep {
  if (event === null || typeof event !== 'object') {
    throw new Error('The rotation event is not an object with SecretId, ClientRequestToken and Step.');
  }
  for (const field of ['SecretId', 'ClientRequestToken', 'Step'] as const) {
    if (!nonEmptyString(event[field])) {
      throw new Error(`The rotation event has no ${field}.`);
    }
  }
  if (!(STEPS as readonly string[]).includes(event.Step)) {
    throw new Error(`Unknown rotation step ${JSON.stringify(event.Step.slice(0, 64))}: expected one of ${STEPS.join(', ')}.`);
  }
  return event.Step as RotationStep;
}

function errorName(err: unknown): string {
  return (err as { name?: unknown } | undefined)?.name as string ?? 'Error';
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Removes every password seen during the invocation from a message, in the
 * forms a driver might echo it (raw, SQL-quoted, backslash-escaped, JSON).
 * A second line of defence: adapters already build their own messages.
 */
const MYSQL_ESCAPES: Record<string, string> = { '\0': '0', '\b': 'b', '\t': 't', '\n': 'n', '\r': 'r', '\x1a': 'Z' };

class Redactor {
  private readonly forms = new Set<string>();

  add(value: unknown): void {
    if (typeof value !== 'string' || value === '') {
      return;
    }
    const mysqlEscaped = value.replace(/[\0\b\t\n\r\x1a"'\\]/g, c => '\\' + (MYSQL_ESCAPES[c] ?? c));
    for (const form of [value, value.replace(/'/g, "''"), value.replace(/\\/g, '\\\\').replace(/'/g, "''"), mysqlEscaped, JSON.stringify(value).slice(1, -1)]) {
      this.forms.add(form);
    }
  }

  redact(text: string): string {
    return [...this.forms].sort((a, b) => b.length - a.length).reduce((t, form) => t.split(form).join('***'), text);
  }
}
