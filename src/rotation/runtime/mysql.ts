/**
 * MySQL 8 / MariaDB 10.11 adapter (mysql2).
 *
 * - TLS with a verified certificate by default. mysql2 only checks the host
 *   name when `verifyIdentity: true` is set (and `rejectUnauthorized` alone
 *   does not), so both are set; never a plaintext fallback.
 * - Values go through mysql2's client-side escaping (`?` placeholders). The
 *   session's `NO_BACKSLASH_ESCAPES` SQL mode, under which that escaping is
 *   not safe, is switched off for our own connections.
 * - The certificate must name the host connected to, IP addresses included:
 *   mysql2 sends no server name for an IP, and Node then checks the
 *   certificate against "localhost". The socket is opened here and carries
 *   its host, which Node checks instead (IP SANs for an IP).
 * - Every statement is bounded by the statement timeout: on timeout the
 *   socket is destroyed (a graceful close waits for the server). A password
 *   change given up that way may still be running on the server (waiting for
 *   a lock): statements that set passwords carry a marker, and the next
 *   attempt cancels (`KILL QUERY`) any still running before setting again.
 * - Accounts are `'user'@'<userHost>'`, `'%'` unless the secret says otherwise.
 * - Changing one's own password uses `SET PASSWORD` (MariaDB) or
 *   `ALTER USER USER()` (MySQL): MariaDB requires the CREATE USER privilege for
 *   `ALTER USER` even on one's own account.
 * - Alternating users: the clone is created with `CREATE USER IF NOT EXISTS`
 *   and gets every grant of the current user (`SHOW GRANTS` replayed with the
 *   grantee replaced), plus its `REQUIRE SSL`/`X509` setting.
 */
import { connect as tcpConnect, isIP, Socket } from 'net';
import { Connection, createConnection, RowDataPacket } from 'mysql2/promise';
import {
  closeWithin, CloneUserSpec, ConnectOptions, DbError, EngineAdapter, errorCode, errorMessage, isNetworkErrorCode, isTlsErrorCode,
  LoginTarget, statementTimeoutMessage, tlsFailedMessage, tlsUnsupportedMessage, UserOptions,
} from './engine';

export interface MysqlConnection {
  readonly conn: Connection;
  readonly target: LoginTarget;
  readonly flavor: 'mariadb' | 'mysql';
  /** The account the server matched the login to (`CURRENT_USER()`). */
  readonly account: { readonly user: string; readonly host: string };
  readonly statementTimeoutMs: number;
}

const DEFAULT_USER_HOST = '%';
/** Leads every statement that sets a password, so that an abandoned one can be found in the process list. */
export const PASSWORD_MARKER = '/* cdk-kms-secrets-rotation:set-password */';

/** errno of "access denied" and "account locked" (MySQL 3118, MariaDB 4151: mysql2 names the latter after an unrelated MySQL error). */
const AUTH_ERRNOS = new Set([1044, 1045, 1698, 3118, 4151, 1251]);

export const mysqlEngine: EngineAdapter<MysqlConnection> = {
  name: 'mysql',
  engines: ['mysql', 'mariadb', 'aurora-mysql', 'aurora'],

  async connect(target: LoginTarget, options: ConnectOptions): Promise<MysqlConnection> {
    const { tls } = options;
    let conn: Connection;
    try {
      conn = await createConnection({
        host: target.host,
        port: target.port,
        stream: () => socketTo(target.host, target.port),
        user: target.username,
        password: target.password,
        ...(target.dbname !== undefined ? { database: target.dbname } : {}),
        ssl: tls.required ? { rejectUnauthorized: true, verifyIdentity: true, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) } : undefined,
        connectTimeout: options.connectTimeoutMs,
        charset: 'utf8mb4',
        multipleStatements: false,
      });
    } catch (err) {
      throw connectError(err, target, options);
    }
    conn.on('error', () => undefined);
    try {
      const [rows] = await conn.query<RowDataPacket[]>({
        sql: 'SELECT VERSION() AS version, CURRENT_USER() AS account, @@SESSION.sql_mode AS sqlMode',
        timeout: options.statementTimeoutMs,
      });
      const sqlMode = String(rows[0].sqlMode ?? '');
      if (/(^|,)NO_BACKSLASH_ESCAPES(,|$)/i.test(sqlMode)) {
        const modes = sqlMode.split(',').filter(m => m.toUpperCase() !== 'NO_BACKSLASH_ESCAPES').join(',');
        await conn.query({ sql: 'SET SESSION sql_mode = ?', timeout: options.statementTimeoutMs }, [modes]);
      }
      const account = String(rows[0].account);
      const at = account.lastIndexOf('@');
      return {
        conn,
        target,
        statementTimeoutMs: options.statementTimeoutMs,
        flavor: /mariadb/i.test(String(rows[0].version)) ? 'mariadb' : 'mysql',
        account: { user: account.slice(0, at), host: account.slice(at + 1) },
      };
    } catch (err) {
      await closeWithin(() => conn.end(), () => conn.destroy());
      if (errorCode(err) === 'PROTOCOL_SEQUENCE_TIMEOUT') {
        throw new DbError('timeout', statementTimeoutMessage('starting the session', `MySQL/MariaDB at ${target.host}:${target.port} as '${target.username}'`, options.statementTimeoutMs), 'PROTOCOL_SEQUENCE_TIMEOUT');
      }
      throw connectError(err, target, options);
    }
  },

  async close(c: MysqlConnection): Promise<void> {
    await closeWithin(() => c.conn.end(), () => c.conn.destroy());
  },

  async setPassword(c: MysqlConnection, username: string, password: string, options?: UserOptions): Promise<void> {
    const host = options?.userHost ?? DEFAULT_USER_HOST;
    const what = `setting the password of '${username}'@'${host}'`;
    if (c.account.user === username && c.account.host === host) {
      // One's own password: no privilege needed this way.
      if (c.flavor === 'mariadb') {
        await run(c, `${PASSWORD_MARKER} SET PASSWORD = PASSWORD(?)`, [password], what);
      } else {
        await run(c, `${PASSWORD_MARKER} ALTER USER USER() IDENTIFIED BY ?`, [password], what);
      }
      return;
    }
    await run(c, `${PASSWORD_MARKER} ALTER USER ?@? IDENTIFIED BY ?`, [username, host, password], what);
  },

  async cancelAbandoned(c: MysqlConnection): Promise<number> {
    // Without the PROCESS privilege a user sees (and may kill) only its own threads: those are the ones that matter
    // (an abandoned change ran as this same user). INFO holds the statement: it is matched, never read out.
    const rows = await select(c,
      "SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER = ? AND COMMAND = 'Query' AND LEFT(INFO, ?) = ?",
      [c.account.user, PASSWORD_MARKER.length, PASSWORD_MARKER], 'looking for abandoned password changes');
    for (const row of rows) {
      await run(c, 'KILL QUERY ?', [Number(row.id)], `cancelling an abandoned password change (thread ${Number(row.id)})`).catch((err: unknown) => {
        // It finished (or was cancelled) meanwhile: ER_NO_SUCH_THREAD.
        if ((err as DbError).code !== 'ER_NO_SUCH_THREAD') throw err;
      });
    }
    return rows.length;
  },

  async userExists(c: MysqlConnection, username: string, options?: UserOptions): Promise<boolean> {
    const rows = await select(c, 'SELECT COUNT(*) AS n FROM mysql.user WHERE User = ? AND Host = ?',
      [username, options?.userHost ?? DEFAULT_USER_HOST], 'looking up the account');
    return Number((rows[0] as { n: number | string }).n) > 0;
  },

  async cloneUser(c: MysqlConnection, spec: CloneUserSpec): Promise<void> {
    const host = spec.userHost ?? DEFAULT_USER_HOST;
    await run(c, `${PASSWORD_MARKER} CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?`, [spec.to, host, spec.password], `creating '${spec.to}'@'${host}'`);
    // IF NOT EXISTS keeps an existing user's password: set it in any case.
    await mysqlEngine.setPassword(c, spec.to, spec.password, { userHost: host });
    await copyPrivileges(c, spec.from, spec.to, host);
  },

  async syncPrivileges(c: MysqlConnection, spec: Omit<CloneUserSpec, 'password'>): Promise<void> {
    await copyPrivileges(c, spec.from, spec.to, spec.userHost ?? DEFAULT_USER_HOST);
  },

  async testLogin(target: LoginTarget, options: ConnectOptions): Promise<void> {
    const c = await mysqlEngine.connect(target, options);
    try {
      await select(c, 'SELECT 1 AS ok', [], 'running a test query');
      if (c.account.user !== target.username) {
        throw new DbError('other', `test login as '${target.username}' was matched to the account '${c.account.user}'@'${c.account.host}'`);
      }
    } finally {
      await mysqlEngine.close(c);
    }
  },
};

/** `user`@`host` as SHOW GRANTS prints it (backticks, a backtick doubled). */
export function quoteAccount(user: string, host: string): string {
  const q = (s: string) => '`' + s.replace(/`/g, '``') + '`';
  return `${q(user)}@${q(host)}`;
}

/**
 * One line of `SHOW GRANTS FOR from` rewritten for `to`; `undefined` for the
 * `GRANT USAGE ON *.*` line (nothing to copy; it carries the password hash).
 * Throws for a line whose grantee cannot be found where expected.
 */
export function rewriteGrant(line: string, fromAccount: string, toAccount: string): string | undefined {
  if (line.startsWith(`GRANT USAGE ON *.* TO ${fromAccount}`)) {
    return undefined;
  }
  // MariaDB lists the default role; MySQL 8 with partial_revokes lists REVOKE lines.
  if ((line.startsWith('SET DEFAULT ROLE ') && line.endsWith(` FOR ${fromAccount}`))
    || (line.startsWith('REVOKE ') && line.endsWith(` FROM ${fromAccount}`))) {
    return line.slice(0, line.length - fromAccount.length) + toAccount;
  }
  const marker = ` TO ${fromAccount}`;
  const at = line.lastIndexOf(marker);
  const rest = at < 0 ? '' : line.slice(at + marker.length);
  if (line.startsWith('GRANT ') && at > 0 && (rest === '' || /^ (WITH|REQUIRE|AS) /.test(rest)) && !/IDENTIFIED/i.test(rest)) {
    return line.slice(0, at) + ` TO ${toAccount}` + rest;
  }
  const shown = line.replace(/IDENTIFIED .*/i, 'IDENTIFIED ...');
  throw new DbError('sql', `cannot copy the grant "${shown}" to ${toAccount}: its grantee is not ${fromAccount} in a form this function understands`);
}

async function copyPrivileges(c: MysqlConnection, from: string, to: string, host: string): Promise<void> {
  const fromAccount = quoteAccount(from, host);
  const toAccount = quoteAccount(to, host);
  const rows = await select(c, 'SHOW GRANTS FOR ?@?', [from, host], `reading the grants of '${from}'@'${host}'`);
  for (const row of rows) {
    const line = String(Object.values(row)[0]);
    const grant = rewriteGrant(line, fromAccount, toAccount);
    if (grant !== undefined) {
      // The line comes from the server and is replayed as is: no placeholders (a `?` in it must stay a `?`).
      await run(c, grant, [], `copying a grant of '${from}'@'${host}' to '${to}'@'${host}'`);
    }
  }
  const tls = await select(c, 'SELECT ssl_type AS sslType FROM mysql.user WHERE User = ? AND Host = ?', [from, host], 'reading the TLS requirement');
  const sslType = String((tls[0] as { sslType?: string } | undefined)?.sslType ?? '').toUpperCase();
  if (sslType === 'ANY') {
    await run(c, 'ALTER USER ?@? REQUIRE SSL', [to, host], `requiring TLS for '${to}'@'${host}'`);
  } else if (sslType === 'X509') {
    await run(c, 'ALTER USER ?@? REQUIRE X509', [to, host], `requiring X509 for '${to}'@'${host}'`);
  } else if (sslType === 'SPECIFIED') {
    throw new DbError('sql', `'${from}'@'${host}' requires a specific client certificate (REQUIRE ISSUER/SUBJECT/CIPHER); the alternating-users strategy cannot copy that`);
  }
}

export async function select(c: MysqlConnection, sql: string, params: unknown[], what: string): Promise<RowDataPacket[]> {
  try {
    const [rows] = await c.conn.query<RowDataPacket[]>({ sql, timeout: c.statementTimeoutMs }, params);
    return rows;
  } catch (err) {
    throw statementError(err, c, what);
  }
}

/** Runs a statement that may carry a password: its error never echoes the statement. */
export async function run(c: MysqlConnection, sql: string, params: unknown[], what: string): Promise<void> {
  try {
    await c.conn.query({ sql, timeout: c.statementTimeoutMs }, params);
  } catch (err) {
    throw statementError(err, c, what);
  }
}

/**
 * A TCP socket to host:port for mysql2, carrying its host: Node's TLS then
 * checks the certificate against it (for an IP, its IP SANs) instead of the
 * "localhost" it falls back to when mysql2 gives no server name (it gives
 * none for IP addresses).
 */
function socketTo(host: string, port: number): Socket {
  const socket = tcpConnect({ host, port });
  socket.setNoDelay(true);
  if (isIP(host) !== 0) {
    // tls.connect: `servername || host || socket._host || 'localhost'`; net leaves `_host` null for IP addresses.
    (socket as unknown as { _host: string })._host = host;
  }
  return socket;
}

function statementError(err: unknown, c: MysqlConnection, what: string): DbError {
  const code = errorCode(err);
  const errno = (err as { errno?: number }).errno;
  const where = `${c.flavor === 'mariadb' ? 'MariaDB' : 'MySQL'} at ${c.target.host}:${c.target.port} as '${c.target.username}'`;
  if (code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
    // mysql2 gave up waiting; the server may still run the statement. The socket is destroyed (not ended: that waits for the server).
    c.conn.destroy();
    return new DbError('timeout', statementTimeoutMessage(what, where, c.statementTimeoutMs), code);
  }
  if (isNetworkErrorCode(code)) {
    return new DbError('network', `${what} on ${where} failed: the connection was lost (${code})`, code);
  }
  // mysql2 errors carry the full SQL (`sql`) and parse errors quote it (`near '...'`): never pass either on.
  const detail = errno === 1064 ? 'syntax error (details withheld: the statement may hold a password)'
    : String((err as { sqlMessage?: string }).sqlMessage ?? errorMessage(err));
  return new DbError('sql', `${what} on ${where} failed: ${code ?? ''}${errno ? ` (${errno})` : ''}: ${detail}`, code);
}

function connectError(err: unknown, target: LoginTarget, options: ConnectOptions): DbError {
  const code = errorCode(err);
  const errno = (err as { errno?: number }).errno;
  const message = errorMessage(err);
  const { host, port, username } = target;
  if (code === 'HANDSHAKE_NO_SSL_SUPPORT') {
    return new DbError('tls', tlsUnsupportedMessage('MySQL/MariaDB', host, port), 'TLS_UNSUPPORTED');
  }
  if (errno !== undefined && AUTH_ERRNOS.has(errno)) {
    return new DbError('auth', `cannot log in to MySQL/MariaDB at ${host}:${port} as '${username}': ${message} (errno ${errno})`, code);
  }
  if (isTlsErrorCode(code)) {
    return new DbError('tls', tlsFailedMessage('MySQL/MariaDB', host, port, options.tls, message), code);
  }
  if (isNetworkErrorCode(code)) {
    return new DbError('network', `cannot reach MySQL/MariaDB at ${host}:${port}: ${code}: ${message}`, code);
  }
  return new DbError('other', `cannot connect to MySQL/MariaDB at ${host}:${port} as '${username}': ${code ? `${code}: ` : ''}${message}`, code);
}
