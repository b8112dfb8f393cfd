import { CustomResource, Duration, RemovalPolicy, Stack, Token, Tokenization } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ALLOWED_PRIVILEGES, DEFAULT_PRIVILEGES, normalizePrivileges } from './privileges';
import { DatabaseUserFunction } from './provisioning-function';
import { propError } from '../../errors';
import { CustomerManagedKey } from '../../keys/customer-managed-key';
import { ManagedSecret } from '../../secrets/managed-secret';
import { DatabaseEngine } from '../../secrets/types';

const OWNER = 'DatabaseUser';
/** The CloudFormation type of the custom resource. */
const DATABASE_USER_RESOURCE_TYPE = 'Custom::DatabaseUser';

/** Properties of a `DatabaseUser`. */
export interface DatabaseUserProps {
  /** The database engine family (MySQL and MariaDB are created the same way). */
  readonly engine: DatabaseEngine;

  /**
   * Credentials used to create the user: the master user, or another user
   * that may create users and grant the privileges. Only its `username` and
   * `password` are used; its `host` and `port`, if any, are never trusted.
   */
  readonly masterSecret: secretsmanager.ISecret;

  /**
   * The user to create: its `username` and `password` are read from this
   * secret (version `AWSCURRENT`) at deploy time. Its `host` and `port` are
   * never used.
   */
  readonly userSecret: secretsmanager.ISecret;

  /**
   * Where to connect: the database's instance, cluster or proxy endpoint.
   * The provisioning function sends credentials only there (it is pinned in
   * the function's configuration), never to a host or port a secret names.
   */
  readonly endpoint: rds.Endpoint;

  /**
   * The database to grant on (PostgreSQL: the database the table privileges
   * apply to, in its `public` schema, and `CONNECT` on it; MySQL/MariaDB:
   * privileges on `` `databaseName`.* ``). It must exist.
   */
  readonly databaseName: string;

  /**
   * The privileges to grant, from an allowlist (case-insensitive).
   * PostgreSQL: `CONNECT`, `TEMPORARY`, `CREATE` (on the database) and
   * `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `TRUNCATE`, `REFERENCES`,
   * `TRIGGER` (on every table of the `public` schema, now and later).
   * MySQL/MariaDB: `SELECT`, `INSERT`, `UPDATE`, `DELETE`, `CREATE`, `DROP`,
   * `INDEX`, `ALTER`, `REFERENCES`, `CREATE TEMPORARY TABLES`, `LOCK TABLES`,
   * `EXECUTE`, `CREATE VIEW`, `SHOW VIEW`, `CREATE ROUTINE`, `ALTER ROUTINE`,
   * `EVENT`, `TRIGGER`. Never `ALL`, `GRANT OPTION` or server-wide
   * privileges.
   *
   * @default - read and write the data: `SELECT`, `INSERT`, `UPDATE`,
   * `DELETE` (PostgreSQL: and `CONNECT`)
   */
  readonly privileges?: string[];

  /**
   * The VPC the provisioning function runs in (the database's).
   */
  readonly vpc: ec2.IVpc;

  /**
   * Where in the VPC the provisioning function runs.
   *
   * @default - the private subnets with egress, else the isolated ones
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * The database (an RDS instance, cluster or proxy, or any `IConnectable`):
   * its security group is opened to the provisioning function on the
   * endpoint's port, once per function, and the user is created after it.
   */
  readonly database: ec2.IConnectable;

  /**
   * Whether TLS to the database is required (never a silent fallback). On
   * MySQL/MariaDB, a user created with TLS required is also created with
   * `REQUIRE SSL`.
   *
   * @default true
   */
  readonly requireTls?: boolean;

  /**
   * A CA bundle file inside the function to trust for the database's
   * certificate, besides the RDS CAs.
   *
   * @default - the RDS CAs and Node's trust store
   */
  readonly tlsCaFile?: string;

  /**
   * The VPC's Secrets Manager interface endpoint: the provisioning
   * function's security group reaches Secrets Manager through it only (see
   * `RotationFunctionProps.secretsManagerEndpoint`). Functions given an
   * endpoint are shared by the users that give the same one.
   *
   * @default - HTTPS to any IPv4 address (the Secrets Manager API through a NAT gateway)
   */
  readonly secretsManagerEndpoint?: ec2.IInterfaceVpcEndpoint;

  /**
   * Where the provisioning function may send its answer to CloudFormation:
   * a pre-signed URL of CloudFormation's S3 bucket in the region, reached
   * on TCP 443 through a NAT gateway or an S3 gateway endpoint. S3 has no
   * fixed addresses in a template, so the default is any IPv4 address;
   * pass the region's S3 managed prefix list
   * (`ec2.Peer.prefixList('pl-...')`, `aws ec2 describe-managed-prefix-lists`)
   * to narrow it. In subnets without a route to S3 the function cannot
   * answer, and the deployment fails after the resource's 10-minute timeout.
   *
   * @default ec2.Peer.anyIpv4()
   */
  readonly cloudFormationResponsePeer?: ec2.IPeer;

  /**
   * The key of the provisioning function's log group, dead-letter queue and
   * environment. Functions given a key are shared by the users that give the
   * same key (it enters the sharing key only when given).
   *
   * @default - the stack's default key, `CustomerManagedKey.forStack(this)`
   */
  readonly encryptionKey?: CustomerManagedKey;

  /**
   * What to do when the user already exists and the user secret's password
   * does not log in: `false` fails the deployment (the user may belong to
   * someone else: its password is never reset silently); `true` sets its
   * password to the secret's (adopts it). A user whose password already
   * matches is always accepted, unchanged.
   *
   * @default false
   */
  readonly adoptExistingUser?: boolean;

  /**
   * What happens to the user when this resource is deleted.
   * `RemovalPolicy.RETAIN` keeps it (its data, objects and grants stay);
   * `RemovalPolicy.DESTROY` drops it (and its `_clone`, if alternating-users
   * rotation created one) after revoking the privileges granted here; a user
   * that still owns objects is then an error, and stays.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A database user created at deploy time from a secret, so that the first
 * rotation of that secret finds it.
 *
 * A `Custom::DatabaseUser` resource, answered by a provisioning function
 * shared per stack, VPC placement and engine family. At create it logs in
 * with the master secret to the endpoint given here (never to a host a
 * secret names), creates the user with the user secret's password if it does
 * not exist, and grants the privileges. An existing user whose password is
 * the secret's is accepted as is; any other existing user fails the
 * deployment unless `adoptExistingUser`. At update it re-applies the
 * privileges and never changes a password (after the first rotation the
 * password belongs to rotation). At delete it keeps the user unless
 * `removalPolicy` is `DESTROY`. Re-runs are idempotent; no password is ever
 * logged or put in an error message.
 */
export class DatabaseUser extends Construct {
  /** The custom resource: depend on it to order the rotation after the user's creation. */
  public readonly resource: CustomResource;

  /** The user name: the literal of a `ManagedSecret`'s credentials, else the name the resource created (a token). */
  public readonly username: string;

  /** The privileges granted, in canonical form. */
  public readonly privileges: string[];

  /**
   * @param scope the scope of the construct.
   * @param id the construct ID.
   * @param props the user: see the props' documentation.
   */
  constructor(scope: Construct, id: string, props: DatabaseUserProps) {
    super(scope, id);
    const family = props.engine === DatabaseEngine.POSTGRES ? 'postgres' : 'mysql';
    if (!Object.values(DatabaseEngine).includes(props.engine)) {
      throw propError(OWNER, 'engine', `'${props.engine}' is not a DatabaseEngine.`, 'Use DatabaseEngine.POSTGRES, MYSQL or MARIADB.');
    }
    if (Token.isUnresolved(props.databaseName)) {
      // A token is fine (for example the database's own name attribute); it is checked at deploy time.
    } else if (!/^[^\u0000]{1,63}$/.test(props.databaseName)) {
      throw propError(OWNER, 'databaseName', `'${props.databaseName}' is not a database name (1 to 63 characters, no NUL).`, 'Name the database the user works in, for example the one given to the instance (`databaseName`).');
    }
    const requested = props.privileges ?? [...DEFAULT_PRIVILEGES[family]];
    if (requested.some(p => Token.isUnresolved(p))) {
      throw propError(OWNER, 'privileges', 'contains a token; privileges must be known at synth to be checked.', 'List literal privileges, for example [\'SELECT\', \'INSERT\'].');
    }
    const { privileges, refused } = normalizePrivileges(family, requested);
    if (refused.length > 0) {
      throw propError(OWNER, 'privileges', `${refused.map(p => `'${p}'`).join(', ')} ${refused.length === 1 ? 'is' : 'are'} not allowed for ${family === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'} application users.`, `Use only the allowed privileges (${ALLOWED_PRIVILEGES[family].join(', ')}; see DatabaseUserProps.privileges); never ALL, GRANT OPTION or server-wide privileges.`);
    }
    if (privileges.length === 0) {
      throw propError(OWNER, 'privileges', 'is empty: the user could do nothing.', 'Leave privileges out for the default read/write set, or list at least one.');
    }
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    if (removalPolicy !== RemovalPolicy.RETAIN && removalPolicy !== RemovalPolicy.DESTROY) {
      throw propError(OWNER, 'removalPolicy', `${removalPolicy} is not supported.`, 'Use RemovalPolicy.RETAIN (keep the user, the default) or RemovalPolicy.DESTROY (drop it).');
    }
    if (secretKey(props.userSecret) === secretKey(props.masterSecret)) {
      throw propError(OWNER, 'userSecret', 'is the master secret.', 'Pass the secret of the application user to create as `userSecret`, and the master user\'s as `masterSecret`.');
    }
    const credentials = props.userSecret instanceof ManagedSecret ? props.userSecret.credentials : undefined;
    if (credentials) {
      const credentialsFamily = credentials.engine === DatabaseEngine.POSTGRES ? 'postgres' : 'mysql';
      if (credentialsFamily !== family) {
        throw propError(OWNER, 'engine', `is ${props.engine} but ${props.userSecret.node.path} holds ${credentials.engine} credentials.`, 'Use the engine of the user secret\'s credentials.');
      }
    }
    this.privileges = privileges;

    const fn = DatabaseUserFunction.shared(this, {
      engine: props.engine,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      requireTls: props.requireTls,
      tlsCaFile: props.tlsCaFile,
      encryptionKey: props.encryptionKey,
      secretsManagerEndpoint: props.secretsManagerEndpoint,
      cloudFormationResponsePeer: props.cloudFormationResponsePeer,
    });
    const dependencies = fn.addUser(this, props.userSecret, props.masterSecret, props.endpoint, props.database);

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: fn.function.functionArn,
      resourceType: DATABASE_USER_RESOURCE_TYPE,
      // Longer than the function's timeout and Lambda's two asynchronous retries.
      serviceTimeout: Duration.minutes(10),
      properties: {
        Engine: props.engine,
        UserSecretArn: props.userSecret.secretArn,
        MasterSecretArn: props.masterSecret.secretArn,
        // Pinned in the function too: a request naming another endpoint is refused.
        Host: props.endpoint.hostname,
        Port: Token.isUnresolved(props.endpoint.port) ? Tokenization.stringifyNumber(props.endpoint.port) : String(props.endpoint.port),
        DatabaseName: props.databaseName,
        Privileges: privileges.join(','),
        AdoptExistingUser: String(props.adoptExistingUser ?? false),
        DropOnDelete: String(removalPolicy === RemovalPolicy.DESTROY),
      },
    });
    // The function and the database through the GetAtts of the ServiceToken and the endpoint; explicitly what no
    // property references: the function's secret policies and the security group rules that let it reach the database.
    this.resource.node.addDependency(...dependencies);

    this.username = credentials && !Token.isUnresolved(credentials.username) ? credentials.username : this.resource.getAttString('Username');
  }
}

function secretKey(secret: secretsmanager.ISecret): string {
  return JSON.stringify(Stack.of(secret).resolve(secret.secretArn));
}
