import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/** The database engines whose credentials we generate and rotate. */
export enum DatabaseEngine {
  /** PostgreSQL (and Aurora PostgreSQL). Default port 5432. */
  POSTGRES = 'postgres',
  /** MySQL (and Aurora MySQL). Default port 3306. */
  MYSQL = 'mysql',
  /** MariaDB. Default port 3306. Rotated by the MySQL rotation function. */
  MARIADB = 'mariadb',
}

/**
 * How passwords are made: used by Secrets Manager when the secret is
 * generated, and by the rotation function when it rotates, so both agree.
 */
export interface PasswordPolicy {
  /**
   * Password length, 16 to 128.
   *
   * @default 32
   */
  readonly length?: number;

  /**
   * Characters never used in a password.
   *
   * @default - space, double quote, single quote, backslash, slash and @, which break connection strings
   */
  readonly excludeCharacters?: string;
}

/**
 * The JSON a database secret holds, except the password, which Secrets
 * Manager generates and which is never in the template.
 */
export interface DatabaseCredentialsTemplate {
  /** The database engine. */
  readonly engine: DatabaseEngine;

  /**
   * The database host name (an endpoint address).
   *
   * Leave it out for a secret attached to a database that does not exist yet
   * (the master secret of an `rds.DatabaseInstance` or `DatabaseCluster`
   * created with `rds.Credentials.fromSecret`): the `SecretTargetAttachment`
   * writes the real host after deploy, and a rotation then needs `database`
   * (or `databaseEndpoint`) to pin it. No placeholder is needed.
   *
   * @default - none: the secret must be attached to a database before it rotates
   */
  readonly host?: string;

  /**
   * The database port.
   *
   * @default - 5432 for PostgreSQL, 3306 for MySQL and MariaDB
   */
  readonly port?: number;

  /** The user whose password this secret holds. */
  readonly username: string;

  /**
   * The database to connect to.
   *
   * @default - the engine's default database
   */
  readonly dbname?: string;

  /**
   * The secret of a user that may change other users' passwords and create
   * users: required by the alternating-users strategy (`masterarn`).
   *
   * @default - none
   */
  readonly masterSecret?: secretsmanager.ISecret;
}

/** A region to replicate a secret to, with the key that encrypts the replica there. */
export interface ManagedSecretReplicaRegion {
  /** The region, for example `eu-central-1`. */
  readonly region: string;

  /**
   * A customer-managed key in that region (for example a
   * `CustomerManagedKeyReplica`'s ARN imported with `kms.Key.fromKeyArn`).
   */
  readonly encryptionKey: kms.IKey;
}

export const DEFAULT_PORTS: Record<DatabaseEngine, number> = {
  [DatabaseEngine.POSTGRES]: 5432,
  [DatabaseEngine.MYSQL]: 3306,
  [DatabaseEngine.MARIADB]: 3306,
};

export const DEFAULT_EXCLUDE_CHARACTERS = ' "\'\\/@';
export const DEFAULT_PASSWORD_LENGTH = 32;
