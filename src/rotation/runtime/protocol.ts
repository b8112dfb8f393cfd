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
import { ConnectOptions, DbError, DbSecret, EngineAdapter, engineFamily, errorMessage, LoginTarget } from './engine';
import { replaceMembers } from './json-fields';
import { generatePassword, passwordSatisfiesPolicy } from './password';
import { PinnedDatabase, pinnedDatabase, Tag, TAG_PREFIX } from './target';

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
      pin: undefined as unknown as PinnedDatabase,
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
  /** The database fixed at deploy time (the secret's tags; its endpoint may be in the function's configuration). */
  pin: PinnedDatabase;
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
  if (run.step !== 'finishSecret') {
    // finishSecret only moves labels: it sends no credential anywhere.
    // Keyed by the ARN DescribeSecret returned, never by a value the caller or the secret names.
    run.pin = pinnedDatabase(run.arn, described.tags, run.deps.config.strategy === 'alternating-users', run.deps.config.pinnedEndpoints.get(run.arn));
    if (!run.deps.engine.engines.includes(run.pin.engine)) {
      throw new Error(
        `Secret ${run.arn} is tagged ${TAG_PREFIX}engine=${JSON.stringify(run.pin.engine)}, but this function rotates ${run.deps.engine.engines.join(', ')} secrets: ` +
        'rotate it with the rotation function of its engine (ManagedSecret.addRotation picks it from the credentials\' engine).');
    }
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
  const currentText = await readCurrent(run);
  const current = parseSecret(run, currentText, AWSCURRENT);
  checkClaims(run, current, AWSCURRENT);

  if (run.versions[run.token]?.includes(AWSPENDING)) {
    // A retry (or a concurrent run) of this step already stored the value; Secrets Manager's own
    // pre-registered version has no value yet (GetSecretValue fails with ResourceNotFoundException).
    const existing = await readOptional(run, AWSPENDING, run.token);
    if (existing !== undefined) {
      checkClaims(run, parseSecret(run, existing, AWSPENDING), AWSPENDING);
      return 'reused-existing-pending';
    }
  }

  const username = config.strategy === 'alternating-users' ? alternateUsername(current.username) : current.username;
  const stale = await stalePendingPassword(run, username);
  const password = stale ?? generatePassword(config.password);
  run.redactor.add(password);
  // Only the fields rotation owns change; every other byte of AWSCURRENT is kept (types and spelling included).
  const pending = replaceMembers(currentText, { username, password });
  try {
    await run.deps.secrets.send(new PutSecretValueCommand({
      SecretId: run.arn,
      ClientRequestToken: run.token,
      SecretString: pending,
      VersionStages: [AWSPENDING],
    }));
  } catch (err) {
    // A concurrent createSecret stored a different value under this token first: use that one.
    if (errorName(err) === 'ResourceExistsException') {
      const existing = await readOptional(run, `version ${run.token}`, run.token);
      if (existing !== undefined) {
        checkClaims(run, parseSecret(run, existing, AWSPENDING), AWSPENDING);
        return 'reused-concurrent-pending';
      }
    }
    throw sdkError(run, `storing version ${run.token} as AWSPENDING`, err);
  }
  // A version's value never changes once stored: the next steps need not read it again.
  remember(run, run.token, pending);
  return stale !== undefined ? 'created-reusing-stale-pending-password' : 'created';
}

/**
 * The password of an AWSPENDING version left by an earlier rotation that
 * failed after (or during) its setSecret, if it is for the same user and
 * database and already logs in: then it is the password the database has, and
 * keeping it staged keeps the working credential retrievable. A stale password
 * that does not log in is never carried over: anyone who may write the secret
 * can stage an AWSPENDING version, and the database must never be given a
 * password that someone chose.
 */
async function stalePendingPassword(run: Run, username: string): Promise<string | undefined> {
  const staleId = Object.keys(run.versions)
    .find(id => id !== run.token && run.versions[id].includes(AWSPENDING) && !run.versions[id].includes(AWSCURRENT));
  if (staleId === undefined) {
    return undefined;
  }
  let stale: DbSecret;
  try {
    stale = parseSecret(run, await readValue(run, `AWSPENDING (stale version ${staleId})`, staleId), `AWSPENDING (stale version ${staleId})`);
    checkClaims(run, stale, `AWSPENDING (stale version ${staleId})`);
  } catch (err) {
    run.deps.logger.warn('stale AWSPENDING version is unreadable or not for this database; generating a new password', { ...run.fields, staleVersion: staleId, error: run.redactor.redact(errorMessage(err)) });
    return undefined;
  }
  if (stale.username !== username || !passwordSatisfiesPolicy(stale.password, run.deps.config.password)) {
    run.deps.logger.info('stale AWSPENDING version is for another user or password policy; generating a new password', { ...run.fields, staleVersion: staleId });
    return undefined;
  }
  try {
    await run.deps.engine.testLogin(at(run, stale), run.connect);
  } catch (err) {
    run.deps.logger.info('stale AWSPENDING password does not log in; generating a new password', { ...run.fields, staleVersion: staleId, error: run.redactor.redact(errorMessage(err)) });
    return undefined;
  }
  run.deps.logger.info('reusing the password of the stale AWSPENDING version (it is the one the database has)', { ...run.fields, staleVersion: staleId });
  return stale.password;
}

// --- setSecret -------------------------------------------------------------

async function setSecret(run: Run): Promise<string> {
  const current = parseSecret(run, await readCurrent(run), AWSCURRENT);
  const pending = await readSecret(run, AWSPENDING, run.token);
  checkClaims(run, current, AWSCURRENT);
  checkClaims(run, pending, AWSPENDING);
  checkPendingUser(run, current, pending);

  let pendingFailure: string;
  try {
    await run.deps.engine.testLogin(at(run, pending), run.connect);
    return 'already-set';
  } catch (err) {
    if (!(err instanceof DbError && err.kind === 'auth')) {
      throw withContext('setSecret cannot check the AWSPENDING credentials', err);
    }
    pendingFailure = err.message;
  }

  return run.deps.config.strategy === 'single-user'
    ? setSingleUser(run, current, pending, pendingFailure)
    : setAlternatingUsers(run, current, pending, pendingFailure);
}

/** AWSPREVIOUS, when it exists, is valid, and is for `username`; else undefined. */
async function previousOf(run: Run, username: string, password: string): Promise<DbSecret | undefined> {
  const id = Object.keys(run.versions).find(v => run.versions[v].includes(AWSPREVIOUS));
  if (id === undefined) {
    return undefined;
  }
  try {
    const previous = await readSecret(run, AWSPREVIOUS, id);
    checkClaims(run, previous, AWSPREVIOUS);
    return previous.username === username && previous.password !== password ? previous : undefined;
  } catch (err) {
    run.deps.logger.warn(`ignoring ${AWSPREVIOUS}`, { ...run.fields, error: run.redactor.redact(errorMessage(err)) });
    return undefined;
  }
}

async function setSingleUser(run: Run, current: DbSecret, pending: DbSecret, pendingFailure: string): Promise<string> {
  const { engine } = run.deps;
  // If an earlier rotation failed after changing the password but before finishSecret, the
  // database may still have the AWSPREVIOUS password (after a manual relabelling) or the pending one (checked above).
  const labels = [AWSCURRENT];
  const failures = [`${AWSPENDING}: ${pendingFailure}`];
  let candidate: DbSecret | undefined = current;
  let label = AWSCURRENT;
  while (candidate !== undefined) {
    let conn: unknown;
    try {
      conn = await engine.connect(at(run, candidate), run.connect);
    } catch (err) {
      if (!(err instanceof DbError && err.kind === 'auth')) {
        throw withContext(`setSecret cannot connect with the ${label} credentials`, err);
      }
      failures.push(`${label}: ${err.message}`);
      if (label !== AWSCURRENT) break;
      candidate = await previousOf(run, current.username, current.password);
      label = AWSPREVIOUS;
      if (candidate !== undefined) labels.push(AWSPREVIOUS);
      continue;
    }
    try {
      if (label !== AWSCURRENT) {
        run.deps.logger.warn(`the ${AWSCURRENT} password does not work; logged in with ${label}`, { ...run.fields });
      }
      await reconcile(run, conn, pending.username);
      await engine.setPassword(conn, pending.username, pending.password, { userHost: run.pin.userHost });
    } finally {
      await engine.close(conn);
    }
    return label === AWSCURRENT ? 'password-set' : `password-set (logged in with ${label})`;
  }
  throw new Error(
    `setSecret cannot log in as "${current.username}" with the ${labels.join(', ')} or ${AWSPENDING} password, ` +
    `so it cannot change the password: ${failures.join('; ')}`);
}

/**
 * Alternating users: before the master's rights are used, the user whose
 * privileges the other user gets must prove itself: AWSCURRENT's credentials
 * log in (or AWSPREVIOUS's, for the same user, when AWSCURRENT's password was
 * overwritten). A value that names a user but cannot log in as it changes nothing.
 */
async function proveCurrentUser(run: Run, current: DbSecret): Promise<void> {
  const failures: string[] = [];
  for (const [label, load] of [
    [AWSCURRENT, async () => current],
    [AWSPREVIOUS, async () => previousOf(run, current.username, current.password)],
  ] as const) {
    const candidate = await load();
    if (candidate === undefined) continue;
    try {
      await run.deps.engine.testLogin(at(run, candidate), run.connect);
      if (label !== AWSCURRENT) {
        run.deps.logger.warn(`the ${AWSCURRENT} password does not work; ${label} proved the user`, { ...run.fields });
      }
      return;
    } catch (err) {
      if (!(err instanceof DbError && err.kind === 'auth')) {
        throw withContext(`setSecret cannot check the ${label} credentials of "${current.username}"`, err);
      }
      failures.push(`${label}: ${err.message}`);
    }
  }
  throw new Error(
    `setSecret: the credentials of "${current.username}" in AWSCURRENT (and AWSPREVIOUS) do not log in, so nothing proves that ` +
    `user's credentials belong to secret ${run.arn}; refusing to use the master user's rights: ${failures.join('; ')}`);
}

async function setAlternatingUsers(run: Run, current: DbSecret, pending: DbSecret, _pendingFailure: string): Promise<string> {
  const { engine } = run.deps;
  await proveCurrentUser(run, current);
  const master = await readMaster(run, current, pending);
  let conn: unknown;
  try {
    conn = await engine.connect(master, run.connect);
  } catch (err) {
    throw withContext(`setSecret cannot log in as the master user "${master.username}" (secret ${run.pin.masterArn})`, err);
  }
  try {
    const user = { userHost: run.pin.userHost };
    await reconcile(run, conn, pending.username);
    if (await engine.userExists(conn, pending.username, user)) {
      await engine.setPassword(conn, pending.username, pending.password, user);
      await engine.syncPrivileges?.(conn, { from: current.username, to: pending.username, ...user });
      return 'password-set';
    }
    await engine.cloneUser(conn, { from: current.username, to: pending.username, password: pending.password, ...user });
    return 'user-cloned';
  } finally {
    await engine.close(conn);
  }
}

/** Cancels password changes an earlier, timed-out attempt left running on the server (engines that can). */
async function reconcile(run: Run, conn: unknown, username: string): Promise<void> {
  const cancelled = await run.deps.engine.cancelAbandoned?.(conn, username, { userHost: run.pin.userHost }) ?? 0;
  if (cancelled > 0) {
    run.deps.logger.warn('cancelled password changes left running by an earlier timed-out attempt', { ...run.fields, cancelled });
  }
}

/** The master user's credentials (alternating users), from the master secret fixed at deploy time. */
async function readMaster(run: Run, current: DbSecret, pending: DbSecret): Promise<LoginTarget> {
  const masterArn = run.pin.masterArn!;
  let value: string | undefined;
  try {
    value = (await run.deps.secrets.send(new GetSecretValueCommand({ SecretId: masterArn, VersionStage: AWSCURRENT }))).SecretString;
  } catch (err) {
    throw new Error(
      `The master secret ${masterArn} (of secret ${run.arn}) cannot be read: ${errorName(err)}: ${errorMessage(err)}. ` +
      'The alternating-users strategy logs in as that user to create and update users: check that the secret exists and that ' +
      'the rotation function may read it (secretsmanager:GetSecretValue, and kms:Decrypt on its key).');
  }
  const bad = (problem: string) => new Error(`The master secret ${masterArn} (of secret ${run.arn}) ${problem}.`);
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
  // An RDS-managed master secret has no engine, host or port: the database fixed at deploy time is used in any case.
  if (raw.engine !== undefined && (typeof raw.engine !== 'string' || !(engineFamily(run.pin.engine) ?? [run.pin.engine]).includes(raw.engine.toLowerCase()))) {
    throw bad(`is for engine ${JSON.stringify(raw.engine)}, but the secret being rotated belongs to a ${run.pin.engine} database (fixed at deploy time)`);
  }
  if (raw.host !== undefined && (typeof raw.host !== 'string' || raw.host.toLowerCase() !== run.pin.host.toLowerCase())) {
    throw bad(`is for host ${String(raw.host)}, but the secret being rotated belongs to ${run.pin.host} (fixed at deploy time); refusing to log in elsewhere`);
  }
  if (raw.port !== undefined && Number(raw.port) !== run.pin.port) {
    throw bad(`is for port ${String(raw.port)}, but the secret being rotated belongs to port ${run.pin.port} (fixed at deploy time)`);
  }
  if (raw.username === pending.username || raw.username === current.username) {
    throw bad(`is for user "${raw.username}", one of the two rotated users; the master user must be another user`);
  }
  return {
    host: run.pin.host,
    port: run.pin.port,
    username: raw.username,
    password: raw.password,
    dbname: typeof raw.dbname === 'string' && raw.dbname !== '' ? raw.dbname : run.pin.dbname,
  };
}

// --- testSecret ------------------------------------------------------------

async function testSecret(run: Run): Promise<string> {
  const pending = await readSecret(run, AWSPENDING, run.token);
  checkClaims(run, pending, AWSPENDING);
  try {
    await run.deps.engine.testLogin(at(run, pending), run.connect);
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

interface Described {
  readonly arn: string;
  readonly rotationEnabled: boolean;
  readonly versions: Record<string, string[]>;
  readonly tags?: Tag[];
}

async function describe(run: Run): Promise<Described> {
  try {
    const out = await run.deps.secrets.send(new DescribeSecretCommand({ SecretId: run.arn }));
    return {
      arn: out.ARN ?? run.arn,
      rotationEnabled: out.RotationEnabled === true,
      versions: Object.fromEntries(Object.entries(out.VersionIdsToStages ?? {}).map(([id, stages]) => [id, stages ?? []])),
      tags: out.Tags,
    };
  } catch (err) {
    throw sdkError(run, 'DescribeSecret', err);
  }
}

/**
 * The value of AWSCURRENT: the version DescribeSecret names (read once per
 * container); if it names none or several (moto can), whatever GetSecretValue
 * calls AWSCURRENT, uncached.
 */
async function readCurrent(run: Run): Promise<string> {
  const ids = Object.keys(run.versions).filter(v => run.versions[v].includes(AWSCURRENT));
  if (ids.length === 1) {
    return readValue(run, AWSCURRENT, ids[0]);
  }
  let value: string | undefined;
  try {
    value = (await run.deps.secrets.send(new GetSecretValueCommand({ SecretId: run.arn, VersionStage: AWSCURRENT }))).SecretString;
  } catch (err) {
    throw sdkError(run, `reading ${AWSCURRENT}`, err);
  }
  if (value === undefined) {
    throw new Error(`${AWSCURRENT} of secret ${run.arn} has no SecretString (binary secrets cannot be rotated by this function).`);
  }
  return value;
}

/**
 * Values of versions already read by this container. A version's value never
 * changes in Secrets Manager (a different value for an existing version is
 * refused with ResourceExistsException), so a version is read once per warm
 * container, whichever step needs it next. Bounded; entries of other secrets
 * are never returned (the key includes the ARN).
 */
const VALUE_CACHE_SIZE = 32;
const valueCache = new Map<string, string>();

function remember(run: Run, versionId: string, value: string): void {
  valueCache.delete(`${run.arn}\n${versionId}`);
  valueCache.set(`${run.arn}\n${versionId}`, value);
  while (valueCache.size > VALUE_CACHE_SIZE) {
    valueCache.delete(valueCache.keys().next().value as string);
  }
}

/** Forgets every cached version value (for tests that change a stored version's value, which only moto allows). */
export function clearValueCache(): void {
  valueCache.clear();
}

async function readValue(run: Run, label: string, versionId: string): Promise<string> {
  const cached = valueCache.get(`${run.arn}\n${versionId}`);
  if (cached !== undefined) {
    run.redactor.add(passwordOf(cached));
    return cached;
  }
  let value: string | undefined;
  try {
    value = (await run.deps.secrets.send(new GetSecretValueCommand({ SecretId: run.arn, VersionId: versionId }))).SecretString;
  } catch (err) {
    throw sdkError(run, `reading ${label}`, err);
  }
  if (value === undefined) {
    throw new Error(`${label} of secret ${run.arn} has no SecretString (binary secrets cannot be rotated by this function).`);
  }
  remember(run, versionId, value);
  return value;
}

function passwordOf(value: string): unknown {
  try {
    return (JSON.parse(value) as { password?: unknown }).password;
  } catch {
    return undefined;
  }
}

/** A value, or undefined when that version does not exist or has no value yet. */
async function readOptional(run: Run, label: string, versionId: string): Promise<string | undefined> {
  try {
    return await readValue(run, label, versionId);
  } catch (err) {
    const name = errorName((err as { cause?: unknown }).cause);
    if (name === 'ResourceNotFoundException' || name === 'SecretHasNoValueException') {
      return undefined;
    }
    throw err;
  }
}

async function readSecret(run: Run, label: string, versionId: string): Promise<DbSecret> {
  return parseSecret(run, await readValue(run, label, versionId), label);
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

/** Where a credential goes: always the database fixed at deploy time, never the host or port the value names. */
function at(run: Run, secret: DbSecret): LoginTarget {
  return { host: run.pin.host, port: run.pin.port, dbname: run.pin.dbname, username: secret.username, password: secret.password };
}

/**
 * The claims of a version (engine, host, port, dbname, user, master secret,
 * MySQL user host) must be those fixed at deploy time: a version that names
 * another database or user is refused before any credential is used.
 */
function checkClaims(run: Run, secret: DbSecret, label: string): void {
  const { pin } = run;
  const problems: string[] = [];
  const differ = (field: string, claimed: unknown, pinned: unknown) =>
    problems.push(`"${field}" is ${claimed === undefined ? 'absent' : JSON.stringify(claimed)} instead of ${pinned === undefined ? 'absent' : JSON.stringify(pinned)}`);
  const family = engineFamily(pin.engine) ?? [pin.engine];
  if (!family.includes(secret.engine.toLowerCase())) {
    problems.push(`"engine" is ${JSON.stringify(secret.engine)}, not ${family.map(e => JSON.stringify(e)).join(' or ')} (the engine ${JSON.stringify(pin.engine)} fixed at deploy time)`);
  }
  if (secret.host.toLowerCase() !== pin.host.toLowerCase()) differ('host', secret.host, pin.host);
  if (secret.port !== pin.port) differ('port', secret.port, pin.port);
  if (secret.dbname !== pin.dbname) differ('dbname', secret.dbname, pin.dbname);
  if ((secret.userHost ?? '%') !== (pin.userHost ?? '%')) differ('userHost', secret.userHost, pin.userHost);
  const users = run.deps.config.strategy === 'alternating-users' ? [pin.username, alternateUsername(pin.username)] : [pin.username];
  if (!users.includes(secret.username)) {
    problems.push(`"username" is ${JSON.stringify(secret.username)}, not ${users.map(u => JSON.stringify(u)).join(' or ')}`);
  }
  if (run.deps.config.strategy === 'alternating-users' && secret.masterarn !== undefined && secret.masterarn !== pin.masterArn) {
    differ('masterarn', secret.masterarn, pin.masterArn);
  }
  if (problems.length > 0) {
    throw new Error(
      `${label} of secret ${run.arn} does not match the database fixed at deploy time (the secret's ${TAG_PREFIX}* tags): ` +
      `${problems.join('; ')}. Refusing to use any credential: a change of database, server or user is a new deployment, not a new secret value.`);
  }
}

/** The pending version must be for the user this strategy rotates. */
function checkPendingUser(run: Run, current: DbSecret, pending: DbSecret): void {
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

/** Replaces every known password (and its quoted/escaped forms) in a text with ***. */
export class Redactor {
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
