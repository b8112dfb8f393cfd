/**
 * PostgreSQL: creating application users (node-postgres, through the
 * rotation adapter's connection and statement runners).
 *
 * - The user is a `LOGIN` role created with a SCRAM verifier computed in the
 *   function when the server uses SCRAM (as rotation does): no plaintext
 *   password in server logs or `pg_stat_activity`.
 * - `CREATE ROLE` and the grants run in one transaction: a failure leaves
 *   nothing behind.
 * - Identifiers are quoted with node-postgres' `escapeIdentifier`; privilege
 *   keywords come from the allowlist only.
 * - Table privileges apply to every table of the `public` schema of the
 *   database connected to, and (default privileges of the master user) to
 *   the tables it creates later.
 */
import { escapeIdentifier } from 'pg';
import { DbError } from '../../../rotation/runtime/engine';
import { passwordLiteral, PgConnection, postgresEngine, query, run } from '../../../rotation/runtime/postgres';
import { ALLOWED_PRIVILEGES, POSTGRES_DATABASE_PRIVILEGES, POSTGRES_TABLE_PRIVILEGES } from '../privileges';
import { GrantSpec, USER_EXISTS, UserAdmin } from './admin';

const SCHEMA = 'public';

export const postgresAdmin: UserAdmin<PgConnection> = {
  family: 'postgres',
  engine: postgresEngine,

  masterDatabase: database => database,
  loginDatabase: database => database,

  async databaseExists(conn, database) {
    const rows = await query(conn, 'SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1', [database], 'looking up the database');
    return rows.length > 0;
  },

  async createUser(conn, spec) {
    const secret = await passwordLiteral(conn, spec.password);
    await begin(conn);
    try {
      try {
        await run(conn, `CREATE ROLE ${escapeIdentifier(spec.username)} WITH LOGIN PASSWORD ${secret}`, `creating role "${spec.username}"`);
      } catch (err) {
        // duplicate_object, or unique_violation on pg_authid when another request created it at the same time.
        if (err instanceof DbError && (err.code === '42710' || err.code === '23505')) {
          throw new DbError('sql', `role "${spec.username}" exists`, USER_EXISTS);
        }
        throw err;
      }
      for (const statement of grantStatements(spec, 'GRANT')) {
        await run(conn, statement, `granting privileges to role "${spec.username}"`);
      }
      await run(conn, 'COMMIT', 'committing the new role');
    } catch (err) {
      await run(conn, 'ROLLBACK', 'rolling back').catch(() => undefined);
      throw err;
    }
  },

  async adoptUser(conn, username, password) {
    const secret = await passwordLiteral(conn, password);
    await run(conn, `ALTER ROLE ${escapeIdentifier(username)} WITH LOGIN PASSWORD ${secret}`, `setting the password of role "${username}"`);
  },

  async grant(conn, spec) {
    await inTransaction(conn, grantStatements(spec, 'GRANT'), `granting privileges to role "${spec.username}"`);
  },

  async revoke(conn, spec, remaining) {
    await inTransaction(conn, grantStatements(spec, 'REVOKE', remaining), `revoking privileges of role "${spec.username}"`);
  },

  async dropUser(conn, spec) {
    const statements = [
      ...grantStatements({ ...spec, privileges: ALLOWED_PRIVILEGES.postgres }, 'REVOKE', []),
      `DROP ROLE IF EXISTS ${escapeIdentifier(spec.username)}`,
    ];
    await inTransaction(conn, statements, `dropping role "${spec.username}"`);
  },
};

/**
 * Concurrent GRANTs on the same object fail in PostgreSQL ("tuple concurrently updated"): every transaction of the
 * provisioning function first takes one transaction-level advisory lock, so requests that run at once (CloudFormation
 * retries, duplicate deliveries, several users) take turns. The wait is bounded by the statement timeout.
 */
const ADVISORY_LOCK_KEY = 'cdk-kms-secrets:database-user';

async function begin(conn: PgConnection): Promise<void> {
  await run(conn, 'BEGIN', 'starting a transaction');
  await query(conn, 'SELECT pg_advisory_xact_lock(hashtext($1))', [ADVISORY_LOCK_KEY], 'waiting for other user provisioning on this server');
}

async function inTransaction(conn: PgConnection, statements: readonly string[], what: string): Promise<void> {
  await begin(conn);
  try {
    for (const statement of statements) await run(conn, statement, what);
    await run(conn, 'COMMIT', what);
  } catch (err) {
    await run(conn, 'ROLLBACK', 'rolling back').catch(() => undefined);
    throw err;
  }
}

/**
 * The statements that grant (or revoke) `spec.privileges`. Revoking keeps
 * the implied grants (schema USAGE, sequences) that `remaining` still needs.
 */
export function grantStatements(spec: GrantSpec, verb: 'GRANT' | 'REVOKE', remaining: readonly string[] = []): string[] {
  const user = escapeIdentifier(spec.username);
  const schema = escapeIdentifier(SCHEMA);
  const to = verb === 'GRANT' ? 'TO' : 'FROM';
  const databasePrivileges = spec.privileges.filter(p => POSTGRES_DATABASE_PRIVILEGES.includes(p));
  const tablePrivileges = spec.privileges.filter(p => POSTGRES_TABLE_PRIVILEGES.includes(p));
  const unknown = spec.privileges.filter(p => !ALLOWED_PRIVILEGES.postgres.includes(p));
  if (unknown.length > 0) {
    // The handler validates first; this is the last line of defence, since keywords are written into the statement.
    throw new DbError('other', `refusing privileges outside the allowlist: ${unknown.join(', ')}`);
  }
  const needsSequences = (list: readonly string[]) => list.includes('INSERT') || list.includes('UPDATE');
  const hasTables = (list: readonly string[]) => list.some(p => POSTGRES_TABLE_PRIVILEGES.includes(p));
  const out: string[] = [];
  if (databasePrivileges.length > 0) {
    out.push(`${verb} ${databasePrivileges.join(', ')} ON DATABASE ${escapeIdentifier(spec.database)} ${to} ${user}`);
  }
  if (tablePrivileges.length > 0) {
    const list = tablePrivileges.join(', ');
    if (verb === 'GRANT') out.push(`GRANT USAGE ON SCHEMA ${schema} TO ${user}`);
    out.push(`${verb} ${list} ON ALL TABLES IN SCHEMA ${schema} ${to} ${user}`);
    out.push(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} ${verb} ${list} ON TABLES ${to} ${user}`);
    const sequences = verb === 'GRANT' ? needsSequences(tablePrivileges) : needsSequences(tablePrivileges) && !needsSequences(remaining);
    if (sequences) {
      out.push(`${verb} USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${schema} ${to} ${user}`);
      out.push(`ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} ${verb} USAGE, SELECT ON SEQUENCES ${to} ${user}`);
    }
    if (verb === 'REVOKE' && !hasTables(remaining)) out.push(`REVOKE USAGE ON SCHEMA ${schema} FROM ${user}`);
  }
  return out;
}
