/**
 * The privileges a `DatabaseUser` may be given, per engine family: one list
 * read by the construct (synth-time validation) and by the provisioning
 * function (which refuses anything else, whatever its event says). Plain
 * TypeScript: no CDK, no driver.
 *
 * PostgreSQL: `CONNECT`, `TEMPORARY` and `CREATE` are granted on the
 * database; `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `TRUNCATE`, `REFERENCES`
 * and `TRIGGER` on every table of its `public` schema, now and (default
 * privileges of the master user) later; `USAGE` on the schema comes with any
 * table privilege, and `USAGE, SELECT` on its sequences with `INSERT` or
 * `UPDATE`.
 *
 * MySQL/MariaDB: the privileges are granted on `` `database`.* ``.
 *
 * Never `ALL`, `GRANT OPTION`, or a server-wide privilege (`SUPER`, `FILE`,
 * `PROCESS`, `CREATE USER`, `CREATEROLE`, ...): an application user gets no
 * right to change other users.
 */

/** Engine families: MySQL and MariaDB share one list. */
export type PrivilegeFamily = 'postgres' | 'mysql';

export const POSTGRES_DATABASE_PRIVILEGES: readonly string[] = ['CONNECT', 'TEMPORARY', 'CREATE'];
export const POSTGRES_TABLE_PRIVILEGES: readonly string[] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER'];

export const ALLOWED_PRIVILEGES: Readonly<Record<PrivilegeFamily, readonly string[]>> = {
  postgres: [...POSTGRES_DATABASE_PRIVILEGES, ...POSTGRES_TABLE_PRIVILEGES],
  mysql: [
    'SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'DROP', 'INDEX', 'ALTER', 'REFERENCES', 'CREATE TEMPORARY TABLES',
    'LOCK TABLES', 'EXECUTE', 'CREATE VIEW', 'SHOW VIEW', 'CREATE ROUTINE', 'ALTER ROUTINE', 'EVENT', 'TRIGGER',
  ],
};

/** The default set: read and write the data, nothing on the schema. PostgreSQL adds CONNECT. */
export const DEFAULT_PRIVILEGES: Readonly<Record<PrivilegeFamily, readonly string[]>> = {
  postgres: ['CONNECT', 'SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  mysql: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
};

/**
 * The privileges in canonical form (upper case, single spaces, no duplicates,
 * in allowlist order), or the list of those that are not allowed.
 */
export function normalizePrivileges(family: PrivilegeFamily, privileges: readonly string[]):
{ readonly privileges: string[]; readonly refused: string[] } {
  const allowed = ALLOWED_PRIVILEGES[family];
  const wanted = new Set<string>();
  const refused: string[] = [];
  for (const p of privileges) {
    const canonical = String(p).trim().replace(/\s+/g, ' ').toUpperCase();
    if (allowed.includes(canonical)) wanted.add(canonical);
    else refused.push(String(p));
  }
  return { privileges: allowed.filter(p => wanted.has(p)), refused };
}
