/**
 * What the provisioning function needs from an engine beyond the rotation
 * adapter (`src/rotation/runtime/engine.ts`), which it reuses for connecting
 * (verified TLS, timeouts), looking users up, setting passwords and test
 * logins. Each engine implements it in one file (`postgres-admin.ts`,
 * `mysql-admin.ts`) with the adapter's own statement runners, so errors are
 * built the same way and never echo a statement that holds a password.
 */
import type { EngineAdapter } from '../../../rotation/runtime/engine';
import type { PrivilegeFamily } from '../privileges';

export interface GrantSpec {
  readonly username: string;
  /** MySQL/MariaDB account host part; `%` when absent. */
  readonly userHost?: string;
  readonly database: string;
  /** Canonical privileges from the allowlist (`normalizePrivileges`). */
  readonly privileges: readonly string[];
}

export interface CreateUserSpec extends GrantSpec {
  readonly password: string;
  /** MySQL/MariaDB: create the account with `REQUIRE SSL`. */
  readonly requireTls: boolean;
}

/** `code` of the DbError `createUser` throws when the user exists already (another request created it meanwhile). */
export const USER_EXISTS = 'USER_EXISTS';

export interface UserAdmin<C = unknown> {
  readonly family: PrivilegeFamily;
  readonly engine: EngineAdapter<C>;
  /** The database the master user connects to for `database` (PostgreSQL grants on the tables of the database it is connected to). */
  masterDatabase(database: string): string | undefined;
  /** The database a test login of the user connects to. */
  loginDatabase(database: string): string | undefined;
  databaseExists(conn: C, database: string): Promise<boolean>;
  /**
   * Create the user with its password and grant the privileges. PostgreSQL:
   * in one transaction (nothing is left on failure). Throws a DbError with
   * code `USER_EXISTS` if the user exists.
   */
  createUser(conn: C, spec: CreateUserSpec): Promise<void>;
  /** Give an existing user the password (PostgreSQL: and LOGIN): adoption, on explicit request only. */
  adoptUser(conn: C, username: string, password: string, userHost?: string): Promise<void>;
  /** Grant the privileges (idempotent). */
  grant(conn: C, spec: GrantSpec): Promise<void>;
  /** Revoke the privileges; `remaining` are those the user keeps (implied grants such as schema USAGE stay for them). */
  revoke(conn: C, spec: GrantSpec, remaining: readonly string[]): Promise<void>;
  /** Revoke the privileges and drop the user; a user that still owns objects is an error. */
  dropUser(conn: C, spec: GrantSpec): Promise<void>;
}
