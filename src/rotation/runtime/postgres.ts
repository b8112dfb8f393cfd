/**
 * PostgreSQL adapter (node-postgres).
 *
 * - TLS with a verified certificate by default (`ssl: { rejectUnauthorized: true, ca? }`;
 *   node-postgres checks the host name too), never a plaintext fallback.
 * - Identifiers and literals are quoted by node-postgres' `escapeIdentifier`
 *   and `escapeLiteral` (which handles quotes and backslashes with `E''`).
 * - When the server stores SCRAM-SHA-256 verifiers (`password_encryption`),
 *   the verifier is computed here and only the verifier is sent, so the
 *   plaintext password never appears in the statement text (server logs with
 *   `log_statement`, `pg_stat_statements`, `pg_stat_activity`).
 * - Alternating users: the clone is a new LOGIN role that is a member of the
 *   current role (`GRANT current TO clone`), so it inherits its privileges.
 *   Objects must be owned by a shared role for both users to manage them.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'crypto';
import { Client, escapeIdentifier, escapeLiteral } from 'pg';
import {
  closeWithin, CloneUserSpec, ConnectOptions, DbError, EngineAdapter, errorCode, errorMessage, isNetworkErrorCode, isTlsErrorCode,
  LoginTarget, statementTimeoutMessage, tlsFailedMessage, tlsUnsupportedMessage,
} from './engine';

export interface PgConnection {
  readonly client: Client;
  readonly target: LoginTarget;
  readonly statementTimeoutMs: number;
  passwordEncryption?: string;
}

const DEFAULT_DATABASE = 'postgres';
const SCRAM_ITERATIONS = 4096;

export const postgresEngine: EngineAdapter<PgConnection> = {
  name: 'postgres',
  engines: ['postgres', 'postgresql', 'aurora-postgresql'],

  async connect(target: LoginTarget, options: ConnectOptions): Promise<PgConnection> {
    const { tls } = options;
    const client = new Client({
      host: target.host,
      port: target.port,
      user: target.username,
      password: target.password,
      database: target.dbname ?? DEFAULT_DATABASE,
      ssl: tls.required ? { rejectUnauthorized: true, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) } : false,
      connectionTimeoutMillis: options.connectTimeoutMs,
      statement_timeout: options.statementTimeoutMs,
      query_timeout: options.statementTimeoutMs + 1_000,
      application_name: 'cdk-kms-secrets-rotation',
    });
    // A server-side disconnect after connect() emits 'error'; the pending query rejects anyway.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      await closeWithin(() => client.end(), () => destroy(client));
      throw connectError(err, target, options);
    }
    return { client, target, statementTimeoutMs: options.statementTimeoutMs };
  },

  async close(conn: PgConnection): Promise<void> {
    await closeWithin(() => conn.client.end(), () => destroy(conn.client));
  },

  async setPassword(conn: PgConnection, username: string, password: string): Promise<void> {
    const secret = await passwordLiteral(conn, password);
    await run(conn, `ALTER ROLE ${escapeIdentifier(username)} WITH PASSWORD ${secret}`, `setting the password of role "${username}"`);
  },

  async userExists(conn: PgConnection, username: string): Promise<boolean> {
    const result = await query<{ exists: boolean }>(conn, 'SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1', [username], 'looking up the role');
    return result.length > 0;
  },

  async cloneUser(conn: PgConnection, spec: CloneUserSpec): Promise<void> {
    const source = await query<{ rolcreatedb: boolean; rolcreaterole: boolean }>(
      conn, 'SELECT rolcreatedb, rolcreaterole FROM pg_catalog.pg_roles WHERE rolname = $1', [spec.from], 'reading the current role');
    if (source.length === 0) {
      throw new DbError('sql', `cannot clone role "${spec.from}": it does not exist`);
    }
    const attributes = ['LOGIN', source[0].rolcreatedb ? 'CREATEDB' : undefined, source[0].rolcreaterole ? 'CREATEROLE' : undefined]
      .filter(a => a !== undefined).join(' ');
    const secret = await passwordLiteral(conn, spec.password);
    try {
      await run(conn, `CREATE ROLE ${escapeIdentifier(spec.to)} WITH ${attributes} PASSWORD ${secret}`, `creating role "${spec.to}"`);
    } catch (err) {
      // A concurrent invocation created it first (duplicate_object, or unique_violation on pg_authid).
      if (!(err instanceof DbError) || (err.code !== '42710' && err.code !== '23505')) {
        throw err;
      }
      await run(conn, `ALTER ROLE ${escapeIdentifier(spec.to)} WITH ${attributes} PASSWORD ${secret}`, `setting the password of role "${spec.to}"`);
    }
    await run(conn, `GRANT ${escapeIdentifier(spec.from)} TO ${escapeIdentifier(spec.to)}`, `granting role "${spec.from}" to "${spec.to}"`);
  },

  async testLogin(target: LoginTarget, options: ConnectOptions): Promise<void> {
    const conn = await postgresEngine.connect(target, options);
    try {
      const rows = await query<{ user: string }>(conn, 'SELECT current_user AS "user"', [], 'running a test query');
      if (rows[0]?.user !== target.username) {
        throw new DbError('other', `test login as "${target.username}" is connected as "${rows[0]?.user}"`);
      }
    } finally {
      await postgresEngine.close(conn);
    }
  },
};

/** The SQL literal for a password: a SCRAM verifier when the server uses SCRAM, else the quoted password. */
export async function passwordLiteral(conn: PgConnection, password: string): Promise<string> {
  if (conn.passwordEncryption === undefined) {
    const rows = await query<{ password_encryption: string }>(conn, 'SHOW password_encryption', [], 'reading password_encryption');
    conn.passwordEncryption = rows[0]?.password_encryption ?? '';
  }
  // SASLprep is the identity on printable ASCII, so the verifier matches what the server would compute.
  if (conn.passwordEncryption === 'scram-sha-256' && /^[\x20-\x7e]+$/.test(password)) {
    return escapeLiteral(scramSha256Verifier(password));
  }
  return escapeLiteral(password);
}

/** The SCRAM-SHA-256 verifier PostgreSQL stores for a password (RFC 5802/7677). */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  const salted = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

export async function query<R extends object>(conn: PgConnection, sql: string, params: unknown[], what: string): Promise<R[]> {
  try {
    const result = await conn.client.query<R>(sql, params);
    return result.rows;
  } catch (err) {
    throw statementError(err, conn, what, false);
  }
}

/** Runs a statement that may carry a password: its error never echoes the statement. */
export async function run(conn: PgConnection, sql: string, what: string): Promise<void> {
  try {
    await conn.client.query(sql);
  } catch (err) {
    throw statementError(err, conn, what, true);
  }
}

/** Destroys the client's socket (node-postgres has no public API for it). */
function destroy(client: Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

function statementError(err: unknown, conn: PgConnection, what: string, sensitive: boolean): DbError {
  const code = errorCode(err);
  const where = `PostgreSQL at ${conn.target.host}:${conn.target.port} as "${conn.target.username}"`;
  // 57014 query_canceled: the server's statement_timeout; "Query read timeout": node-postgres' query_timeout
  // (the server did not answer at all). The server cancelled the statement in the first case; the socket is
  // destroyed in both, so that closing never waits for a server that hangs.
  if (code === '57014' || /Query read timeout/i.test(errorMessage(err))) {
    destroy(conn.client);
    return new DbError('timeout', statementTimeoutMessage(what, where, conn.statementTimeoutMs), code ?? 'QUERY_TIMEOUT');
  }
  if (isNetworkErrorCode(code) || /Connection terminated|timeout/i.test(errorMessage(err))) {
    return new DbError('network', `${what} on ${where} failed: the connection was lost (${code ?? errorMessage(err)})`, code);
  }
  // A syntax error message quotes the statement around the error: never pass it on for a statement with a password.
  const detail = sensitive && code === '42601' ? 'syntax error (details withheld: the statement holds a password)' : errorMessage(err);
  return new DbError('sql', `${what} on ${where} failed: ${code ? `SQLSTATE ${code}: ` : ''}${detail}`, code);
}

function connectError(err: unknown, target: LoginTarget, options: ConnectOptions): DbError {
  const code = errorCode(err);
  const message = errorMessage(err);
  const { host, port, username } = target;
  if (/does not support SSL/i.test(message)) {
    return new DbError('tls', tlsUnsupportedMessage('PostgreSQL', host, port), 'TLS_UNSUPPORTED');
  }
  // 28P01 invalid_password; 28000 invalid_authorization_specification (NOLOGIN, pg_hba reject).
  if (code === '28P01' || code === '28000') {
    return new DbError('auth', `cannot log in to PostgreSQL at ${host}:${port} as "${username}": ${message} (SQLSTATE ${code})`, code);
  }
  if (isTlsErrorCode(code) || /certificate|SSL|TLS/i.test(message)) {
    return new DbError('tls', tlsFailedMessage('PostgreSQL', host, port, options.tls, message), code);
  }
  if (isNetworkErrorCode(code) || /timeout|Connection terminated/i.test(message)) {
    return new DbError('network', `cannot reach PostgreSQL at ${host}:${port}: ${code ? `${code}: ` : ''}${message}`, code);
  }
  return new DbError('other', `cannot connect to PostgreSQL at ${host}:${port} as "${username}": ${code ? `${code}: ` : ''}${message}`, code);
}
