/**
 * MySQL 8 / MariaDB: creating application users (mysql2, through the
 * rotation adapter's connection and statement runners).
 *
 * - Accounts are `'user'@'%'`; with TLS required they are created
 *   `REQUIRE SSL` (rotation's alternating users copy that to the clone).
 * - Statements are written with mysql2's `escape` for the account and
 *   backtick quoting for the database, and run without placeholders: a `?`
 *   in a database or user name can never be taken for one.
 * - In a database-level GRANT, `_` and `%` are wildcards: they are escaped,
 *   so `my_app` never also grants on `myXapp`.
 * - DDL is not transactional here: `CREATE USER` and the grants are separate
 *   statements, and a failure in between is completed by the next attempt
 *   (the user then exists and logs in, and the grants are re-applied).
 */
import { escape } from 'mysql2';
import { DbError } from '../../../rotation/runtime/engine';
import { mysqlEngine, MysqlConnection, PASSWORD_MARKER, run, select } from '../../../rotation/runtime/mysql';
import { ALLOWED_PRIVILEGES } from '../privileges';
import { USER_EXISTS, UserAdmin } from './admin';

const DEFAULT_USER_HOST = '%';

export const mysqlAdmin: UserAdmin<MysqlConnection> = {
  family: 'mysql',
  engine: mysqlEngine,

  masterDatabase: () => undefined,
  loginDatabase: () => undefined,

  async databaseExists(c, database) {
    const rows = await select(c, 'SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [database], 'looking up the database');
    return Number((rows[0] as { n: number | string }).n) > 0;
  },

  async createUser(c, spec) {
    const account = accountLiteral(spec.username, spec.userHost);
    try {
      await run(c, `${PASSWORD_MARKER} CREATE USER ${account} IDENTIFIED BY ${escape(spec.password)}${spec.requireTls ? ' REQUIRE SSL' : ''}`, [],
        `creating ${account}`);
    } catch (err) {
      // ER_CANNOT_USER (1396): the account exists.
      if (err instanceof DbError && err.code === 'ER_CANNOT_USER') {
        throw new DbError('sql', `${account} exists`, USER_EXISTS);
      }
      throw err;
    }
    await mysqlAdmin.grant(c, spec);
  },

  async adoptUser(c, username, password, userHost) {
    await mysqlEngine.setPassword(c, username, password, { userHost: userHost ?? DEFAULT_USER_HOST });
  },

  async grant(c, spec) {
    const account = accountLiteral(spec.username, spec.userHost);
    await run(c, `GRANT ${privilegeList(spec.privileges)} ON ${databasePattern(spec.database)}.* TO ${account}`, [], `granting privileges to ${account}`);
  },

  async revoke(c, spec) {
    const account = accountLiteral(spec.username, spec.userHost);
    // One at a time: a REVOKE of a privilege the account lacks fails, and must not stop the others.
    for (const privilege of spec.privileges) {
      await run(c, `REVOKE ${privilegeList([privilege])} ON ${databasePattern(spec.database)}.* FROM ${account}`, [], `revoking ${privilege} from ${account}`)
        .catch((err: unknown) => {
          // ER_NONEXISTING_GRANT (1141): it did not have it.
          if (!(err instanceof DbError && err.code === 'ER_NONEXISTING_GRANT')) throw err;
        });
    }
  },

  async dropUser(c, spec) {
    // DROP USER removes the account's grants with it.
    const account = accountLiteral(spec.username, spec.userHost);
    await run(c, `DROP USER IF EXISTS ${account}`, [], `dropping ${account}`);
  },
};

/** `'user'@'host'` as an escaped literal. */
function accountLiteral(username: string, userHost?: string): string {
  return `${escape(username)}@${escape(userHost ?? DEFAULT_USER_HOST)}`;
}

/** A database name in a GRANT: backticks (doubled inside), and `_`, `%` and `\` escaped (wildcards there). */
export function databasePattern(database: string): string {
  return '`' + database.replace(/`/g, '``').replace(/[\\_%]/g, c => `\\${c}`) + '`';
}

function privilegeList(privileges: readonly string[]): string {
  const unknown = privileges.filter(p => !ALLOWED_PRIVILEGES.mysql.includes(p));
  if (unknown.length > 0 || privileges.length === 0) {
    // The handler validates first; this is the last line of defence, since keywords are written into the statement.
    throw new DbError('other', `refusing privileges outside the allowlist: ${unknown.join(', ') || '(none given)'}`);
  }
  return privileges.join(', ');
}
