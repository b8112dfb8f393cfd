/**
 * The contract between the engine-independent rotation protocol
 * (`protocol.ts`) and one database engine. An adapter knows how to connect
 * (always over verified TLS unless explicitly disabled), change a password,
 * create a user with the privileges of another one, and test a login. It knows
 * nothing about Secrets Manager, staging labels or steps.
 *
 * A new engine is one file implementing `EngineAdapter`, plus a two-line
 * `<engine>-handler.ts`.
 */

/** The JSON document stored in a rotated secret (the RDS secret format). */
export interface DbSecret {
  /** `postgres`, `mysql`, `mariadb`, ... (checked against `EngineAdapter.engines`). */
  readonly engine: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  /** Database to connect to; the engine's default when absent. */
  readonly dbname?: string;
  /** ARN of the secret of a user that may create users and change passwords (alternating users). */
  readonly masterarn?: string;
  /** MySQL/MariaDB only: the host part of the account (`'user'@'<userHost>'`), `%` when absent. */
  readonly userHost?: string;
  /** Any other field is kept as is from one version to the next. */
  readonly [field: string]: unknown;
}

/** Credentials to log in with: a `DbSecret`, or a master secret (which may lack host/port/engine). */
export interface LoginTarget {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly dbname?: string;
}

export interface TlsConfig {
  /**
   * Require TLS with a verified server certificate (chain and host name).
   * There is never a fallback to plaintext: a server without TLS is an error.
   * `false` (only through `ROTATION_REQUIRE_TLS=false`) connects in plaintext.
   */
  readonly required: boolean;
  /** PEM CA bundle to trust (from `ROTATION_TLS_CA_FILE`); Node's trust store when absent. */
  readonly ca?: string;
  /** Where `ca` was read from, for error messages. */
  readonly caFile?: string;
}

/**
 * Values of a secret's `engine` field that name the same database, by family.
 * A secret pinned (tagged) to one value may hold any value of its family:
 * RDS's SecretTargetAttachment writes `postgres`, `mysql` or `mariadb` (for
 * Aurora clusters too), while the console, hand-written secrets and AWS's
 * reference rotation functions also use `aurora-postgresql` and
 * `aurora-mysql`; `aurora` is Aurora MySQL version 1. MySQL and MariaDB are
 * distinct families: a MariaDB database holding a secret pinned to `mysql`
 * (or the reverse) is a deployment mistake, refused like any other change of
 * database. Where a credential goes never depends on this field.
 */
export const ENGINE_FAMILIES: ReadonlyArray<readonly string[]> = [
  ['postgres', 'postgresql', 'aurora-postgresql'],
  ['mysql', 'aurora-mysql', 'aurora'],
  ['mariadb'],
];

/** The family (every equivalent value) of an `engine` value, lower case; undefined when unknown. */
export function engineFamily(engine: string): readonly string[] | undefined {
  const lower = engine.toLowerCase();
  return ENGINE_FAMILIES.find(f => f.includes(lower));
}

export interface ConnectOptions {
  readonly tls: TlsConfig;
  /** Time allowed to open a connection (TCP + TLS + authentication). */
  readonly connectTimeoutMs: number;
  /** Time allowed for one statement. */
  readonly statementTimeoutMs: number;
}

/** Host part (MySQL) and other account details of a user. */
export interface UserOptions {
  /** MySQL/MariaDB account host part; `%` when absent. Ignored by PostgreSQL. */
  readonly userHost?: string;
}

export interface CloneUserSpec extends UserOptions {
  /** The user whose privileges the new user gets. */
  readonly from: string;
  /** The user to create. */
  readonly to: string;
  readonly password: string;
}

/**
 * Why a connection or statement failed:
 * - `auth`: the server refused these credentials (wrong password, login disabled, account locked);
 * - `tls`: TLS was required and could not be established or verified (never retried without TLS);
 * - `network`: the server could not be reached in time (down, unreachable, refused);
 * - `timeout`: a statement did not finish within `ROTATION_STATEMENT_TIMEOUT_MS` (the connection is destroyed);
 * - `sql`: a statement failed;
 * - `other`: anything else.
 */
export type DbErrorKind = 'auth' | 'tls' | 'network' | 'timeout' | 'sql' | 'other';

/**
 * An error from an adapter. Its message never contains a password (adapters
 * build it themselves instead of passing driver errors through, because some
 * drivers echo the failing SQL, password included).
 */
export class DbError extends Error {
  public readonly kind: DbErrorKind;
  /** The driver/server error code (SQLSTATE, MySQL error name/number, errno), if any. */
  public readonly code?: string;

  constructor(kind: DbErrorKind, message: string, code?: string) {
    super(message);
    this.name = 'DbError';
    this.kind = kind;
    this.code = code;
  }
}

export interface EngineAdapter<C = unknown> {
  /** Short engine name for logs: `postgres`, `mysql`. */
  readonly name: string;
  /** Values of the secret's `engine` field this adapter rotates (lower case). */
  readonly engines: readonly string[];
  /** Open a connection as `target`. Throws a `DbError`. */
  connect(target: LoginTarget, options: ConnectOptions): Promise<C>;
  /** Close a connection within a bounded time (the socket is destroyed if the server does not answer); never throws. */
  close(conn: C): Promise<void>;
  /** Set the password of `username` (the connected user itself, or another user the connected user administers). */
  setPassword(conn: C, username: string, password: string, options?: UserOptions): Promise<void>;
  userExists(conn: C, username: string, options?: UserOptions): Promise<boolean>;
  /** Create `to` (if it does not exist) with password `password` and the privileges of `from`. Idempotent. */
  cloneUser(conn: C, spec: CloneUserSpec): Promise<void>;
  /**
   * Optional: bring an existing `to` up to date with the privileges of `from`
   * (additive, idempotent). Called on rotations that reuse an existing user.
   */
  syncPrivileges?(conn: C, spec: Omit<CloneUserSpec, 'password'>): Promise<void>;
  /**
   * Optional: cancel the password changes of `username` that an earlier attempt
   * gave up on (statement timeout) and that are still running on the server,
   * so that they cannot land later. Returns how many were cancelled.
   */
  cancelAbandoned?(conn: C, username: string, options?: UserOptions): Promise<number>;
  /** Log in as `secret` and run a trivial query, checking who we are. Throws a `DbError`. */
  testLogin(secret: LoginTarget, options: ConnectOptions): Promise<void>;
}

/** Run `fn` with a connection that is always closed afterwards. */
export async function withConnection<C, T>(
  engine: EngineAdapter<C>,
  target: LoginTarget,
  options: ConnectOptions,
  fn: (conn: C) => Promise<T>,
): Promise<T> {
  const conn = await engine.connect(target, options);
  try {
    return await fn(conn);
  } finally {
    await engine.close(conn);
  }
}

/** Message for a server that offers no TLS while TLS is required. */
export function tlsUnsupportedMessage(engine: string, host: string, port: number): string {
  return (
    `TLS is required (ROTATION_REQUIRE_TLS=true) but the ${engine} server at ${host}:${port} does not support it; ` +
    'no plaintext connection was attempted. Enable TLS on the server, or set ROTATION_REQUIRE_TLS=false ' +
    'only if credentials may cross the network unencrypted.'
  );
}

/** Message for a TLS handshake or certificate verification failure. */
export function tlsFailedMessage(engine: string, host: string, port: number, tls: TlsConfig, reason: string): string {
  const trust = tls.caFile
    ? `the CA bundle ${tls.caFile} (ROTATION_TLS_CA_FILE)`
    : "Node's trust store (set ROTATION_TLS_CA_FILE, or NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem in Lambda for the RDS CAs)";
  return `TLS to the ${engine} server at ${host}:${port} failed: ${reason}; the server certificate must chain to ${trust} and name ${host}.`;
}

/** Node's TLS certificate error codes (and the handshake failures around them). */
const TLS_ERROR_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_SIGNATURE_FAILURE', 'CERT_UNTRUSTED',
  'CERT_REJECTED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO', 'HANDSHAKE_SSL_ERROR',
]);

export function isTlsErrorCode(code: unknown): boolean {
  return typeof code === 'string' && (TLS_ERROR_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'));
}

const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'PROTOCOL_CONNECTION_LOST',
]);

export function isNetworkErrorCode(code: unknown): boolean {
  return typeof code === 'string' && NETWORK_ERROR_CODES.has(code);
}

/** The `code` of an unknown error, as a string. */
export function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : undefined;
}

/** The `message` of an unknown error. */
export function errorMessage(err: unknown): string {
  // Not `instanceof Error`: errors from another realm (node core seen from a sandbox) would fail it.
  const message = (err as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : String(err);
}

/** How long a graceful close may take before the socket is destroyed. */
export const CLOSE_GRACE_MS = 300;

/** Resolves when `graceful` does, or after `ms`, calling `destroy` in that case; never rejects. */
export async function closeWithin(graceful: () => Promise<unknown>, destroy: () => void, ms = CLOSE_GRACE_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>(resolve => {
    timer = setTimeout(() => resolve('expired'), ms);
  });
  const outcome = await Promise.race([graceful().then(() => 'closed' as const, () => 'failed' as const), expired]);
  clearTimeout(timer);
  if (outcome !== 'closed') {
    destroy();
  }
}

/** The message of a statement that ran out of time. */
export function statementTimeoutMessage(what: string, where: string, ms: number): string {
  return `${what} on ${where} failed: statement timeout (${ms} ms, ROTATION_STATEMENT_TIMEOUT_MS); the connection was closed`;
}
