import * as path from 'path';
import { Annotations, Duration, Lazy, Names, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { propError } from '../../errors';
import { secretArnForPolicies, viaSecretsManagerFor } from '../../grants/grants-policy';
import { SecretGrants } from '../../grants/secret-grants';
import { CustomerManagedKey } from '../../keys/customer-managed-key';
import { createSecuredFunction, placementHash } from '../../rotation/secured-function';
import { DatabaseEngine } from '../../secrets/types';

/** The variable the handler reads the endpoints each master secret may be used on from (runtime/config.ts). */
export const ENDPOINTS_VARIABLE = 'DATABASE_USER_ENDPOINTS';
/** Lambda's limit on the total size of a function's environment variables (names and values). */
const ENVIRONMENT_LIMIT_BYTES = 4096;
/** Upper bound of one "host:port" entry (the longest RDS endpoint address, a colon, five digits, quotes and a comma). */
const ENDPOINT_ENTRY_BYTES = 123 + 6 + 3;
/** Upper bound of one master secret ARN entry (quotes, colon, brackets). */
const MASTER_ENTRY_BYTES = 'arn:aws-us-gov:secretsmanager:'.length + 14 + 1 + 12 + ':secret:'.length + 512 + 7 + 6;
/** Secrets whose permissions one managed policy holds (as the rotation function). */
const SECRETS_PER_POLICY = 20;
const MAX_SECRET_POLICIES = 9;
const FAMILY: Record<DatabaseEngine, 'postgres' | 'mysql'> = {
  [DatabaseEngine.POSTGRES]: 'postgres',
  [DatabaseEngine.MYSQL]: 'mysql',
  [DatabaseEngine.MARIADB]: 'mysql',
};

/** Properties of the provisioning function (not exported from the package). */
export interface DatabaseUserFunctionProps {
  readonly engine: DatabaseEngine;
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly requireTls?: boolean;
  readonly tlsCaFile?: string;
  /** The key of the log group, DLQ and environment; the stack's default key when absent. */
  readonly encryptionKey?: CustomerManagedKey;
  /** The VPC's Secrets Manager endpoint; HTTPS to any IPv4 address when absent. */
  readonly secretsManagerEndpoint?: ec2.IInterfaceVpcEndpoint;
  /** Where CloudFormation's S3 response URL is reached; any IPv4 address when absent. */
  readonly cloudFormationResponsePeer?: ec2.IPeer;
}

interface PinnedEndpoint {
  readonly master: secretsmanager.ISecret;
  readonly endpoint: rds.Endpoint;
}

/**
 * The Lambda function that creates database users at deploy time
 * (the `Custom::DatabaseUser` resources of `DatabaseUser` call it): one per
 * stack, VPC placement, engine family and TLS setting, shared by every user.
 *
 * Built like the rotation functions (`createSecuredFunction`): in the VPC,
 * reserved concurrency, a KMS-encrypted log group with retention and
 * dead-letter queue, its environment encrypted with its own key, a role with
 * customer-managed policies only. It may read (`GetSecretValue`) exactly the
 * user and master secrets of the users it creates, and decrypt them only
 * through Secrets Manager for those secrets. It writes nothing to Secrets
 * Manager.
 *
 * It answers CloudFormation itself (a Lambda-backed custom resource, no
 * `custom_resources.Provider` framework function): one function, no extra
 * role, nothing for the nag packs to judge beyond what the rotation
 * functions already pass.
 *
 * The endpoints a master secret's credentials may go to are pinned in its
 * configuration (`DATABASE_USER_ENDPOINTS`: master secret ARN -> ["host:port"]):
 * a request naming another endpoint is refused, so neither a writer of a
 * secret nor a principal that can invoke the function can send a password
 * to a host of its choice.
 */
export class DatabaseUserFunction extends Construct {
  /** The stack's function for these properties: created on first use. */
  public static shared(scope: Construct, props: DatabaseUserFunctionProps): DatabaseUserFunction {
    const stack = Stack.of(scope);
    const hash = placementHash(stack, {
      vpc: props.vpc.node.path,
      subnets: props.vpcSubnets ? props.vpc.selectSubnets(props.vpcSubnets).subnetIds : 'default',
      requireTls: props.requireTls ?? true,
      tlsCaFile: props.tlsCaFile,
      // Only when given, so that the functions without one keep their ids.
      ...(props.encryptionKey ? { key: props.encryptionKey.node.path } : {}),
      ...(props.secretsManagerEndpoint ? { secretsManagerEndpoint: props.secretsManagerEndpoint.node.path } : {}),
      // Only when it is not the default, which an explicit `ec2.Peer.anyIpv4()` also is.
      ...(props.cloudFormationResponsePeer && props.cloudFormationResponsePeer.uniqueId !== ec2.Peer.anyIpv4().uniqueId
        ? { cloudFormationResponsePeer: props.cloudFormationResponsePeer.uniqueId } : {}),
    });
    const id = `DatabaseUserFunction${FAMILY[props.engine]}${hash}`;
    const existing = stack.node.tryFindChild(id);
    if (existing instanceof DatabaseUserFunction) return existing;
    return new DatabaseUserFunction(stack, id, props);
  }

  public readonly function: lambda.Function;
  public readonly role: iam.Role;
  public readonly key: CustomerManagedKey;
  public readonly connections: ec2.Connections;
  public readonly family: 'postgres' | 'mysql';
  public readonly requireTls: boolean;

  private readonly secrets: secretsmanager.ISecret[] = [];
  private readonly policies: iam.CfnManagedPolicy[] = [];
  private readonly endpoints: PinnedEndpoint[] = [];
  /** Database (and port) -> the security group rules that open it to the function. */
  private readonly opened = new Map<string, IConstruct[]>();
  private readonly fixedEnvironmentBytes: number;

  constructor(scope: Construct, id: string, props: DatabaseUserFunctionProps) {
    super(scope, id);
    this.family = FAMILY[props.engine];
    this.requireTls = props.requireTls ?? true;
    // One key per stack unless asked: the stack's default key, as the rotation function.
    this.key = props.encryptionKey ?? CustomerManagedKey.forStack(this);
    const timeout = Duration.seconds(60);
    // As the rotation function: statements and connections are bounded well inside the function's timeout.
    const statementTimeoutMs = Math.min(15_000, Math.floor((timeout.toMilliseconds() - 2_000) / 4));
    const environment: Record<string, string> = {
      ROTATION_REQUIRE_TLS: String(this.requireTls),
      ROTATION_CONNECT_TIMEOUT_MS: String(Math.min(5_000, statementTimeoutMs)),
      ROTATION_STATEMENT_TIMEOUT_MS: String(statementTimeoutMs),
      NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
    };
    if (props.tlsCaFile) environment.ROTATION_TLS_CA_FILE = props.tlsCaFile;
    this.fixedEnvironmentBytes = Object.entries(environment).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0)
      + ENDPOINTS_VARIABLE.length + 2;

    const parts = createSecuredFunction(this, {
      key: this.key,
      logGroupName: `/cdk-kms-secrets/database-user/${Names.uniqueResourceName(this, { maxLength: 200 })}`,
      logRetention: logs.RetentionDays.ONE_YEAR,
      roleDescription: `Creates ${this.family} database users at deploy time (cdk-kms-secrets DatabaseUser)`,
      securityGroupDescription: `Database user provisioning ${this.node.path}: reaches the database and Secrets Manager`,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      description: `Creates ${this.family} database users for CloudFormation; cdk-kms-secrets`,
      code: lambda.Code.fromAsset(path.join(__dirname, '..', '..', '..', 'assets', 'databases', 'user', 'runtime', `${this.family}-handler`)),
      timeout,
      // CloudFormation creates independent users in parallel; throttled asynchronous invocations are retried by
      // Lambda with back-off, which must stay well inside the resource's 10-minute ServiceTimeout.
      reservedConcurrentExecutions: 5,
      environment,
      owner: 'DatabaseUser',
      secretsManagerEndpoint: props.secretsManagerEndpoint,
      otherHttps: {
        peer: props.cloudFormationResponsePeer ?? ec2.Peer.anyIpv4(),
        description: 'CloudFormation\'s pre-signed S3 response URL (HTTPS)',
      },
    });
    this.function = parts.function;
    this.role = parts.role;
    this.connections = parts.connections;
    this.function.addEnvironment(ENDPOINTS_VARIABLE, Lazy.string({ produce: () => this.renderEndpoints() }));
  }

  /**
   * Allow the function to create `userSecret`'s user with `masterSecret` on
   * `endpoint`: read both secrets, pin the endpoint for the master secret,
   * open `database` to the function on the endpoint's port (once). Returns
   * what the custom resource must depend on.
   */
  public addUser(
    owner: IConstruct, userSecret: secretsmanager.ISecret, masterSecret: secretsmanager.ISecret, endpoint: rds.Endpoint, database: ec2.IConnectable,
  ): IConstruct[] {
    const stack = Stack.of(this);
    for (const s of [userSecret, masterSecret]) {
      if (Stack.of(s) !== stack) {
        // The function's policy and configuration name the secrets: another stack's would make this one depend on it.
        Annotations.of(owner).addWarningV2('cdk-kms-secrets:databaseUserCrossStack', `${s.node.path} is in another stack than ${this.node.path}: the function's policy refers to it across stacks.`);
      }
    }
    const dependencies: IConstruct[] = [];
    for (const secret of [userSecret, masterSecret]) {
      const known = this.secrets.some(s => JSON.stringify(stack.resolve(s.secretArn)) === JSON.stringify(stack.resolve(secret.secretArn)));
      if (known) continue;
      if (this.secrets.length % SECRETS_PER_POLICY === 0) {
        if (this.policies.length >= MAX_SECRET_POLICIES) {
          throw propError('DatabaseUser', 'userSecret', `${this.node.path} already reads ${this.secrets.length} secrets in ${this.policies.length} managed policies, the most its role can hold.`, 'Create further users in another stack.');
        }
        const chunk = this.policies.length;
        this.policies.push(new iam.CfnManagedPolicy(this, `SecretsPolicy${chunk + 1}`, {
          description: `Reading secrets ${chunk * SECRETS_PER_POLICY + 1} to ${(chunk + 1) * SECRETS_PER_POLICY} of the database users created by ${this.node.path}`,
          roles: [this.role.roleName],
          policyDocument: Lazy.any({ produce: () => ({ Version: '2012-10-17', Statement: this.statementsFor(chunk) }) }),
        }));
      }
      this.secrets.push(secret);
      if (secret.encryptionKey) {
        SecretGrants._strictKeyUse(this.role, secret, secret.encryptionKey, ['kms:Decrypt'], 'DatabaseUser');
      } else {
        Annotations.of(owner).addWarningV2('cdk-kms-secrets:databaseUserSecretKey', `The secret ${secret.node.path} has no known key: the provisioning function gets no kms:Decrypt for it, which works only if it uses aws/secretsmanager. If it is encrypted with a customer-managed key, import it with secretsmanager.Secret.fromSecretAttributes({ secretCompleteArn, encryptionKey }).`);
      }
    }
    dependencies.push(...this.policies);

    const masterId = JSON.stringify(stack.resolve(masterSecret.secretArn));
    const endpointId = JSON.stringify(stack.resolve(endpoint.socketAddress));
    const same = (e: PinnedEndpoint) => JSON.stringify(stack.resolve(e.master.secretArn)) === masterId
      && JSON.stringify(stack.resolve(e.endpoint.socketAddress)) === endpointId;
    if (!this.endpoints.some(same)) {
      this.endpoints.push({ master: masterSecret, endpoint });
      const masters = new Set(this.endpoints.map(e => JSON.stringify(stack.resolve(e.master.secretArn)))).size;
      const total = this.fixedEnvironmentBytes + masters * MASTER_ENTRY_BYTES + this.endpoints.length * ENDPOINT_ENTRY_BYTES;
      if (total > ENVIRONMENT_LIMIT_BYTES) {
        this.endpoints.pop();
        throw propError('DatabaseUser', 'endpoint', `pinning ${endpoint.socketAddress} for ${masterSecret.node.path} would bring the environment of ${this.node.path} to ${total} bytes (estimated from the longest ARN and endpoint AWS can give), over Lambda's ${ENVIRONMENT_LIMIT_BYTES}.`, 'Create users of further databases in another stack or VPC subnet selection (`vpcSubnets`).');
      }
    }

    const databaseId = database instanceof Construct ? database.node.path
      : JSON.stringify(stack.resolve(database.connections.securityGroups.map(sg => sg.securityGroupId)));
    const openedId = `${databaseId}#${JSON.stringify(stack.resolve(endpoint.port))}`;
    let rules = this.opened.get(openedId);
    if (!rules) {
      // The rules aws-cdk-lib adds (an ingress rule on the database's group, an egress rule on the function's) are the
      // new children of those groups: the custom resource depends on exactly them, and on nothing a property already
      // references (the database itself is referenced by the endpoint's GetAtt; a DependsOn on it would repeat that).
      const groups = [...database.connections.securityGroups, ...this.connections.securityGroups].filter(g => g instanceof Construct);
      const before = new Set(groups.flatMap(g => g.node.children));
      database.connections.allowFrom(this.connections, ec2.Port.tcp(endpoint.port), `Creation of database users by ${this.node.path}`);
      rules = groups.flatMap(g => g.node.children).filter(c => !before.has(c));
      this.opened.set(openedId, rules);
    }
    dependencies.push(...rules);
    return dependencies;
  }

  private renderEndpoints(): string {
    const stack = Stack.of(this);
    const byMaster = new Map<string, { master: secretsmanager.ISecret; endpoints: rds.Endpoint[] }>();
    for (const e of this.endpoints) {
      const id = JSON.stringify(stack.resolve(e.master.secretArn));
      const entry = byMaster.get(id) ?? { master: e.master, endpoints: [] };
      entry.endpoints.push(e.endpoint);
      byMaster.set(id, entry);
    }
    return `{${[...byMaster.values()].map(m => `"${m.master.secretArn}":[${m.endpoints.map(e => `"${e.socketAddress}"`).join(',')}]`).join(',')}}`;
  }

  private statementsFor(chunk: number): unknown[] {
    const stack = Stack.of(this);
    const secrets = this.secrets.slice(chunk * SECRETS_PER_POLICY, (chunk + 1) * SECRETS_PER_POLICY);
    const arns = secrets.map(s => secretArnForPolicies('DatabaseUser', s, this));
    const statements: unknown[] = [{
      Sid: 'ReadExactlyTheseSecrets',
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: arns.map(a => a.arn),
    }];
    const byKey = new Map<string, { keyArn: string; exact: string[]; patterns: string[] }>();
    secrets.forEach((s, i) => {
      if (!s.encryptionKey) return;
      const id = JSON.stringify(stack.resolve(s.encryptionKey.keyArn));
      const entry = byKey.get(id) ?? { keyArn: s.encryptionKey.keyArn, exact: [], patterns: [] };
      (arns[i].pattern ? entry.patterns : entry.exact).push(arns[i].arn);
      byKey.set(id, entry);
    });
    let n = 0;
    for (const entry of byKey.values()) {
      for (const [secretArns, pattern] of [[entry.exact, false], [entry.patterns, true]] as const) {
        if (secretArns.length === 0) continue;
        statements.push({
          Sid: `DecryptOnlyViaSecretsManagerForTheseSecrets${++n}`,
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: entry.keyArn,
          Condition: viaSecretsManagerFor(stack.region, secretArns, pattern),
        });
      }
    }
    return statements;
  }
}
