import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { RotationFunction } from './rotation-function';
import { RotationSchedule } from './schedule';
import { DatabaseEngine } from '../secrets/types';

/** How a database secret's credentials rotate. */
export enum RotationStrategy {
  /** One user; its password changes in place. Brief failures are possible while clients pick up the new password. */
  SINGLE_USER = 'single-user',
  /** Two users (`user` and `user_clone`) take turns; the previous credential keeps working until the next rotation. */
  ALTERNATING_USERS = 'alternating-users',
}

/** When a rotation runs, shared by every strategy. */
export interface RotationTimingOptions {
  /**
   * How often the secret rotates.
   *
   * @default RotationSchedule.after(Duration.days(30))
   */
  readonly schedule?: RotationSchedule;

  /**
   * How long a rotation window is, 1 to 24 hours (Secrets Manager `Duration`).
   *
   * @default - Secrets Manager's default window
   */
  readonly window?: Duration;

  /**
   * Whether to rotate as soon as the rotation is created or changed.
   *
   * @default true
   */
  readonly rotateImmediately?: boolean;
}

/** Options of the built-in PostgreSQL and MySQL/MariaDB rotations. */
export interface DatabaseRotationOptions extends RotationTimingOptions {
  /** The VPC of the database: the rotation function runs in it. */
  readonly vpc: ec2.IVpc;

  /**
   * Where in the VPC the function runs.
   *
   * @default - the private subnets with egress, else the isolated ones
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * Security groups for the function.
   *
   * @default - one security group created for the shared function
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * The VPC's Secrets Manager interface endpoint: the shared function's
   * security group reaches Secrets Manager through it only, instead of TCP
   * 443 to any IPv4 address (see `RotationFunctionProps.secretsManagerEndpoint`).
   * Not with `rotationFunction` (give the endpoint to that function).
   *
   * @default - HTTPS to any IPv4 address (the Secrets Manager API through a NAT gateway)
   */
  readonly secretsManagerEndpoint?: ec2.IInterfaceVpcEndpoint;

  /**
   * The database (an RDS instance, cluster or proxy, or any `IConnectable`):
   * its ingress rule is opened for the rotation function on the secret's port.
   *
   * @default - no rule is added; open the database to the function yourself
   */
  readonly database?: ec2.IConnectable;

  /**
   * The address and port the function sends this secret's credentials to,
   * pinned in the function's own configuration instead of the secret's tags.
   * For a secret whose host is only known after deployment: one attached to
   * an RDS instance or cluster (`rds.Credentials.fromSecret`, a
   * `SecretTargetAttachment`), whose `host` RDS writes once the database
   * exists. A tag naming the endpoint would be a dependency cycle (the
   * database is created with the secret's password); the function may depend
   * on the database. The function and the secret must be in the same stack.
   *
   * @default - the endpoint of `database` when the secret is attached to it
   * (an RDS instance or cluster); otherwise the credentials' `host` and
   * `port`, pinned in the secret's tags
   */
  readonly databaseEndpoint?: rds.Endpoint;

  /**
   * Whether the function requires TLS to the database. There is never a
   * silent fallback to plaintext: with TLS required, a server that offers
   * none fails the rotation.
   *
   * @default true
   */
  readonly requireTls?: boolean;

  /**
   * A CA bundle file inside the function (for example from a layer) to trust
   * for the database's certificate. The RDS CAs are trusted already: the
   * function sets `NODE_EXTRA_CA_CERTS=/var/runtime/ca-cert.pem`.
   *
   * @default - the RDS CAs and Node's trust store
   */
  readonly tlsCaFile?: string;

  /**
   * An explicit rotation function to use, for example one shared across
   * stacks. It must match the engine and strategy.
   *
   * @default - the stack's shared function for this engine, strategy and network placement
   */
  readonly rotationFunction?: RotationFunction;
}

/** Options of a custom rotation. */
export interface CustomRotationOptions extends RotationTimingOptions {
  /**
   * Your rotation function. It is given permission to be invoked by Secrets
   * Manager (with `SourceAccount`); you grant it what it needs on the secret.
   */
  readonly function: lambda.IFunction;
}

/**
 * A rotation strategy for a `ManagedSecret`: one of the built-in database
 * rotations, run by a shared `RotationFunction`, or your own function.
 */
export class Rotation {
  /**
   * PostgreSQL, one user whose password changes in place.
   * @param options the database, network placement, schedule and TLS settings.
   */
  public static postgresSingleUser(options: DatabaseRotationOptions): Rotation {
    return new Rotation(options, [DatabaseEngine.POSTGRES], RotationStrategy.SINGLE_USER);
  }

  /**
   * PostgreSQL, two users taking turns; needs the credentials' `masterSecret`.
   * @param options the database, network placement, schedule and TLS settings.
   */
  public static postgresAlternatingUsers(options: DatabaseRotationOptions): Rotation {
    return new Rotation(options, [DatabaseEngine.POSTGRES], RotationStrategy.ALTERNATING_USERS);
  }

  /**
   * MySQL or MariaDB, one user whose password changes in place.
   * @param options the database, network placement, schedule and TLS settings.
   */
  public static mysqlSingleUser(options: DatabaseRotationOptions): Rotation {
    return new Rotation(options, [DatabaseEngine.MYSQL, DatabaseEngine.MARIADB], RotationStrategy.SINGLE_USER);
  }

  /**
   * MySQL or MariaDB, two users taking turns; needs the credentials' `masterSecret`.
   * @param options the database, network placement, schedule and TLS settings.
   */
  public static mysqlAlternatingUsers(options: DatabaseRotationOptions): Rotation {
    return new Rotation(options, [DatabaseEngine.MYSQL, DatabaseEngine.MARIADB], RotationStrategy.ALTERNATING_USERS);
  }

  /**
   * Your own rotation function.
   * @param options your rotation function and the schedule.
   */
  public static custom(options: CustomRotationOptions): Rotation {
    return new Rotation(options, [], undefined, options.function);
  }

  /**
   * @param timing the schedule, window and immediacy
   * @param engines the engines this rotation handles (empty for custom)
   * @param strategy the built-in strategy, or undefined for custom
   * @param customFunction the custom function
   */
  private constructor(
    public readonly timing: RotationTimingOptions,
    public readonly engines: DatabaseEngine[],
    public readonly strategy?: RotationStrategy,
    public readonly customFunction?: lambda.IFunction,
  ) {}

  /** The options of a built-in database rotation, or undefined for a custom one. */
  public get databaseOptions(): DatabaseRotationOptions | undefined {
    return this.strategy ? this.timing as DatabaseRotationOptions : undefined;
  }
}
