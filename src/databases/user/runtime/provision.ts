/**
 * Creates (and on request drops) database users for CloudFormation
 * (`Custom::DatabaseUser`), engine-independent: the engine is a `UserAdmin`.
 *
 * Where credentials go: only to an endpoint pinned for the master secret in
 * the function's configuration (`DATABASE_USER_ENDPOINTS`). The request's
 * `Host`/`Port` must be one of them (they are in the request so that a new
 * endpoint updates the resource); the `host`/`port` fields of either secret
 * are never read.
 *
 * Create: log in as the master user (`AWSCURRENT` of the master secret) to
 * that endpoint; the database must exist. If the user (`AWSCURRENT` of the
 * user secret) does not exist, create it with that password and grant the
 * privileges (PostgreSQL: one transaction). If it exists, its password must
 * log in: it is then kept, and the privileges granted; otherwise the request
 * fails, changing nothing, unless `AdoptExistingUser` (then its password is
 * set to the secret's). Finally the user logs in. The master user itself is
 * never the user created.
 *
 * Update: the same with the new properties, on the user the secret holds now
 * (after an alternating-users rotation, `<name>_clone`: the pair `<name>` and
 * `<name>_clone` is one user here). Privileges no longer listed are revoked.
 * A password is never changed unless it does not log in and adoption was
 * asked for: after the first rotation the password belongs to rotation.
 *
 * Delete: nothing, unless `DropOnDelete` (RemovalPolicy.DESTROY): then the
 * pair is dropped after revoking the privileges. A resource whose creation
 * failed is never dropped: it may be someone else's user.
 *
 * No password is ever logged or returned: messages are built by the adapters
 * without the statements, and scrubbed of every password read.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { CreateUserSpec, GrantSpec, USER_EXISTS, UserAdmin } from './admin';
import { ProvisioningConfig } from './config';
import { ConnectOptions, DbError, errorMessage, LoginTarget, withConnection } from '../../../rotation/runtime/engine';
import { Redactor, RotationLogger } from '../../../rotation/runtime/protocol';
import { normalizePrivileges, PrivilegeFamily } from '../privileges';

/** Physical resource id of a created (or accepted) user: `user:<name>`. */
export const USER_ID_PREFIX = 'user:';
/** Physical resource id of a request that failed before any user was ours. */
export const NO_USER_ID_PREFIX = 'no-user:';

/** The part of Powertools' Logger used (the rotation protocol's). */
export type ProvisionLogger = RotationLogger;

export interface ProvisionDeps {
  readonly secrets: SecretsManagerClient;
  readonly admin: UserAdmin;
  readonly config: ProvisioningConfig;
  readonly logger: ProvisionLogger;
  readonly redactor: Redactor;
}

export interface ProvisionResult {
  readonly physicalResourceId: string;
  readonly data: Record<string, string>;
}

export class ProvisionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProvisionError';
  }
}

/** The resource's properties, validated. */
export interface UserRequest {
  readonly engine: string;
  readonly userSecretArn: string;
  readonly masterSecretArn: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly privileges: string[];
  readonly adopt: boolean;
  readonly drop: boolean;
}

interface Credentials {
  readonly username: string;
  readonly password: string;
}

const ENGINES: Record<PrivilegeFamily, readonly string[]> = {
  postgres: ['postgres'],
  mysql: ['mysql', 'mariadb'],
};

/** Parses and checks the properties; every problem at once. */
export function parseRequest(family: PrivilegeFamily, properties: Record<string, unknown> | undefined): UserRequest {
  const p = properties ?? {};
  const problems: string[] = [];
  const text = (name: string): string => {
    const value = p[name];
    if (typeof value !== 'string' || value === '') {
      problems.push(`${name} is missing`);
      return '';
    }
    return value;
  };
  const flag = (name: string): boolean => {
    const value = p[name];
    if (value === undefined || value === 'false' || value === false) return false;
    if (value === 'true' || value === true) return true;
    problems.push(`${name} is ${JSON.stringify(value)}, not true or false`);
    return false;
  };
  const engine = text('Engine');
  if (engine !== '' && !ENGINES[family].includes(engine)) {
    problems.push(`Engine ${JSON.stringify(engine)} is not one this function creates users for (${ENGINES[family].join(', ')})`);
  }
  const userSecretArn = text('UserSecretArn');
  const masterSecretArn = text('MasterSecretArn');
  for (const [name, arn] of [['UserSecretArn', userSecretArn], ['MasterSecretArn', masterSecretArn]]) {
    if (arn !== '' && !arn.startsWith('arn:')) problems.push(`${name} is not an ARN`);
  }
  const host = text('Host');
  const portText = String(p.Port ?? '');
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) problems.push(`Port ${JSON.stringify(p.Port)} is not a TCP port`);
  const database = text('DatabaseName');
  if (database.length > 64 || database.includes('\0')) problems.push('DatabaseName is longer than 64 characters or holds a NUL character');
  const requested = typeof p.Privileges === 'string' ? p.Privileges.split(',') : [];
  const { privileges, refused } = normalizePrivileges(family, requested);
  if (refused.length > 0) problems.push(`Privileges ${JSON.stringify(refused)} are not allowed`);
  if (privileges.length === 0 && refused.length === 0) problems.push('Privileges is empty');
  const adopt = flag('AdoptExistingUser');
  const drop = flag('DropOnDelete');
  if (problems.length > 0) throw new ProvisionError(`The Custom::DatabaseUser properties are invalid: ${problems.join('; ')}.`);
  return { engine, userSecretArn, masterSecretArn, host, port, database, privileges, adopt, drop };
}

/** Runs one CloudFormation request. */
export async function provision(event: CloudFormationCustomResourceEvent, deps: ProvisionDeps): Promise<ProvisionResult> {
  const { admin } = deps;
  if (event.RequestType === 'Delete') {
    return deleteUser(event.PhysicalResourceId, event.ResourceProperties, deps);
  }
  const request = parseRequest(admin.family, event.ResourceProperties);
  pinnedEndpoint(request, deps.config);
  const [master, user] = await Promise.all([readCredentials(request.masterSecretArn, 'master', deps), readCredentials(request.userSecretArn, 'user', deps)]);
  checkUsername(admin.family, user.username);
  if (user.username === master.username) {
    throw new ProvisionError(`The user secret names the master user "${master.username}": a DatabaseUser never creates, adopts or changes the master user.`);
  }

  // The pair of names this resource owns: `<base>` and `<base>_clone` (alternating-users rotation).
  let base = user.username;
  if (event.RequestType === 'Update' && event.PhysicalResourceId.startsWith(USER_ID_PREFIX)) {
    const previous = event.PhysicalResourceId.slice(USER_ID_PREFIX.length);
    if (user.username === previous || user.username === `${previous}_clone`) base = previous;
  }
  const pair = [base, `${base}_clone`];

  await withMaster(request, request.database, master, deps, async conn => {
    if (!await admin.databaseExists(conn, request.database)) {
      throw new ProvisionError(`The database "${request.database}" does not exist on ${request.host}:${request.port}; nothing was changed. Create it first (for example the instance's databaseName).`);
    }
    const spec: CreateUserSpec = {
      username: user.username,
      password: user.password,
      database: request.database,
      privileges: request.privileges,
      requireTls: deps.config.tls.required,
    };
    let created = false;
    if (!await admin.engine.userExists(conn, user.username)) {
      try {
        await admin.createUser(conn, spec);
        created = true;
        deps.logger.info('user created', { username: user.username, database: request.database, privileges: request.privileges });
      } catch (err) {
        if (!(err instanceof DbError && err.code === USER_EXISTS)) throw err;
        deps.logger.info('user was created by a concurrent request', { username: user.username });
      }
    }
    if (!created) {
      if (await logsIn(request, user, deps)) {
        deps.logger.info('user exists and its secret logs in: password kept', { username: user.username });
      } else if (request.adopt) {
        await admin.adoptUser(conn, user.username, user.password);
        deps.logger.warn('user existed with another password: adopted (AdoptExistingUser), its password is now the secret\'s', { username: user.username });
      } else {
        throw new ProvisionError(`The user "${user.username}" exists on ${request.host}:${request.port} and the password in ${request.userSecretArn} does not log in as it; nothing was changed. ` +
          'It may belong to someone else: use another username, or set adoptExistingUser: true to give it the secret\'s password.');
      }
    }
    // Every existing name of the pair gets the privileges (and loses those no longer listed).
    const members: string[] = [];
    for (const name of pair) {
      if (name === user.username || await admin.engine.userExists(conn, name)) members.push(name);
    }
    for (const name of members) {
      if (!(created && name === user.username)) await admin.grant(conn, grantSpec(name, request));
    }
    if (event.RequestType === 'Update') {
      await revokeRemoved(event.OldResourceProperties, request, members, master, conn, deps);
    }
  });

  // The user logs in with the secret's password: proof that the first rotation will.
  if (!await logsIn(request, user, deps)) {
    throw new ProvisionError(`The user "${user.username}" does not log in with the password in ${request.userSecretArn} after it was created or checked.`);
  }
  return { physicalResourceId: `${USER_ID_PREFIX}${base}`, data: { Username: base } };
}

async function revokeRemoved(
  oldProperties: Record<string, unknown> | undefined, request: UserRequest, members: string[], master: Credentials, conn: unknown,
  deps: ProvisionDeps,
): Promise<void> {
  let old: UserRequest;
  try {
    old = parseRequest(deps.admin.family, oldProperties);
  } catch {
    return; // nothing we granted can be known
  }
  if (old.masterSecretArn !== request.masterSecretArn || old.host !== request.host || old.port !== request.port) return;
  const sameDatabase = old.database === request.database;
  const removed = sameDatabase ? old.privileges.filter(p => !request.privileges.includes(p)) : old.privileges;
  if (removed.length === 0) return;
  const revoke = async (c: unknown) => {
    for (const name of members) {
      await deps.admin.revoke(c, { ...grantSpec(name, old), privileges: removed }, sameDatabase ? request.privileges : []);
    }
  };
  if (sameDatabase || deps.admin.masterDatabase(old.database) === undefined) {
    if (sameDatabase || await deps.admin.databaseExists(conn, old.database)) await revoke(conn);
  } else {
    // PostgreSQL grants per database: the old one is reached with a connection of its own (if it still exists).
    const exists = await deps.admin.databaseExists(conn, old.database);
    if (exists) await withMaster(request, old.database, master, deps, revoke);
  }
  deps.logger.info('privileges revoked', { users: members, database: old.database, privileges: removed });
}

async function deleteUser(
  physicalResourceId: string, properties: Record<string, unknown> | undefined, deps: ProvisionDeps,
): Promise<ProvisionResult> {
  const keep = (reason: string, fields: Record<string, unknown> = {}): ProvisionResult => {
    deps.logger.info(`user retained: ${reason}`, fields);
    return { physicalResourceId, data: {} };
  };
  if (!physicalResourceId.startsWith(USER_ID_PREFIX)) return keep('this resource never created or accepted a user', {});
  const base = physicalResourceId.slice(USER_ID_PREFIX.length);
  const request = parseRequest(deps.admin.family, properties);
  if (!request.drop) return keep('RemovalPolicy.RETAIN (the default)', { username: base });
  pinnedEndpoint(request, deps.config);
  const [master, user] = await Promise.all([readCredentials(request.masterSecretArn, 'master', deps), readCredentials(request.userSecretArn, 'user', deps)]);
  if (base === master.username || `${base}_clone` === master.username) {
    throw new ProvisionError(`Refusing to drop "${base}": it is the master user. Nothing was dropped.`);
  }
  // Only the user the secret still names is dropped: a request cannot name another one. After the secret moved to
  // another user (a replacement), the old one is kept.
  if (user.username !== base && user.username !== `${base}_clone`) {
    return keep(`the user secret ${request.userSecretArn} now names "${user.username}", not "${base}" or "${base}_clone"`, { username: base });
  }
  await withMaster(request, request.database, master, deps, async conn => {
    for (const name of [`${base}_clone`, base]) {
      if (await deps.admin.engine.userExists(conn, name)) {
        await deps.admin.dropUser(conn, grantSpec(name, request));
        deps.logger.info('user dropped (RemovalPolicy.DESTROY)', { username: name });
      }
    }
  });
  return { physicalResourceId, data: {} };
}

function grantSpec(username: string, request: UserRequest): GrantSpec {
  return { username, database: request.database, privileges: request.privileges };
}

/** The request's endpoint, if the configuration pins it for the master secret; throws otherwise. */
function pinnedEndpoint(request: UserRequest, config: ProvisioningConfig): void {
  const pinned = config.endpoints.get(request.masterSecretArn) ?? [];
  if (!pinned.some(e => e.host === request.host && e.port === request.port)) {
    throw new ProvisionError(`The endpoint ${request.host}:${request.port} is not pinned for the master secret ${request.masterSecretArn} in this function's configuration ` +
      `(${pinned.length === 0 ? 'no endpoint is' : pinned.map(e => `${e.host}:${e.port}`).join(', ') + ' are'}); no credential was sent anywhere. ` +
      'Create the user with the DatabaseUser construct, which pins the endpoint it is given.');
  }
}

function connectOptions(config: ProvisioningConfig): ConnectOptions {
  return { tls: config.tls, connectTimeoutMs: config.connectTimeoutMs, statementTimeoutMs: config.statementTimeoutMs };
}

async function withMaster<T>(
  request: UserRequest, database: string, master: Credentials, deps: ProvisionDeps, fn: (conn: unknown) => Promise<T>,
): Promise<T> {
  const target: LoginTarget = {
    host: request.host, port: request.port, username: master.username, password: master.password, dbname: deps.admin.masterDatabase(database),
  };
  return withConnection(deps.admin.engine, target, connectOptions(deps.config), fn);
}

/** Whether the user's password logs in: false when the server refuses it, an error when it cannot tell (network, TLS, ...). */
async function logsIn(request: UserRequest, user: Credentials, deps: ProvisionDeps): Promise<boolean> {
  const target: LoginTarget = {
    host: request.host, port: request.port, username: user.username, password: user.password, dbname: deps.admin.loginDatabase(request.database),
  };
  try {
    await deps.admin.engine.testLogin(target, connectOptions(deps.config));
    return true;
  } catch (err) {
    if (err instanceof DbError && err.kind === 'auth') return false;
    // PostgreSQL: authenticated, but no CONNECT on the database yet (42501): the password is right.
    if (err instanceof DbError && err.code === '42501') return true;
    throw err;
  }
}

async function readCredentials(arn: string, which: 'master' | 'user', deps: ProvisionDeps): Promise<Credentials> {
  let text: string | undefined;
  try {
    const out = await deps.secrets.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSCURRENT' }));
    text = out.SecretString;
  } catch (err) {
    throw new ProvisionError(`Cannot read the ${which} secret ${arn} (AWSCURRENT): ${(err as { name?: string }).name ?? 'Error'}: ${errorMessage(err)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new ProvisionError(`The ${which} secret ${arn} does not hold JSON with username and password.`);
  }
  const { username, password } = (value ?? {}) as { username?: unknown; password?: unknown };
  if (typeof password === 'string') deps.redactor.add(password);
  if (typeof username !== 'string' || username === '' || typeof password !== 'string' || password === '') {
    throw new ProvisionError(`The ${which} secret ${arn} has no username or no password (both must be non-empty strings).`);
  }
  return { username, password };
}

function checkUsername(family: PrivilegeFamily, username: string): void {
  const max = family === 'postgres' ? 63 : 80;
  if (username.includes('\0') || Buffer.byteLength(username) > max) {
    throw new ProvisionError(`The username in the user secret is longer than ${max} bytes or holds a NUL character.`);
  }
}

/** Message of an error for CloudFormation and the logs: scrubbed of every password read. */
export function failureMessage(err: unknown, redactor: Redactor): string {
  const message = redactor.redact(errorMessage(err));
  const kind = err instanceof DbError ? ` [${err.kind}]` : '';
  return `${message}${kind}`;
}
