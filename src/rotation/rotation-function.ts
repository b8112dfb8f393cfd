import * as path from 'path';
import { Annotations, CfnResource, Duration, Lazy, Names, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, IDependable } from 'constructs';
import { RotationStrategy } from './rotation';
import { createSecuredFunction, placementHash } from './secured-function';
import { propError } from '../errors';
import { secretArnForPolicies, viaSecretsManagerFor } from '../grants/grants-policy';
import { SecretGrants } from '../grants/secret-grants';
import { CustomerManagedKey } from '../keys/customer-managed-key';
import { DatabaseEngine, DEFAULT_EXCLUDE_CHARACTERS, DEFAULT_PASSWORD_LENGTH, PasswordPolicy } from '../secrets/types';

/** Properties of a `RotationFunction`. */
export interface RotationFunctionProps {
  /** The database engine it rotates. MySQL and MariaDB share one handler. */
  readonly engine: DatabaseEngine;

  /** The rotation strategy. */
  readonly strategy: RotationStrategy;

  /** The VPC the function runs in (the database's). */
  readonly vpc: ec2.IVpc;

  /**
   * Where in the VPC the function runs.
   *
   * @default - the private subnets with egress, else the isolated ones
   */
  readonly vpcSubnets?: ec2.SubnetSelection;

  /**
   * The function's security groups.
   *
   * @default - one security group whose egress allows only TCP 443 to Secrets
   * Manager (its interface endpoint when `secretsManagerEndpoint` or
   * `createSecretsManagerEndpoint` is set, else any IPv4 address) and,
   * per rotated secret, the database's port (to its security group when the
   * rotation names the `database`, else to the VPC's CIDR)
   */
  readonly securityGroups?: ec2.ISecurityGroup[];

  /**
   * The password policy of the secrets it rotates.
   *
   * @default - 32 characters, without space, quotes, backslash, slash and @
   */
  readonly passwordPolicy?: PasswordPolicy;

  /**
   * Whether TLS to the database is required (never a silent fallback).
   *
   * @default true
   */
  readonly requireTls?: boolean;

  /**
   * A CA bundle file inside the function to trust, besides the RDS CAs.
   *
   * @default - the RDS CAs and Node's trust store
   */
  readonly tlsCaFile?: string;

  /**
   * How many rotations may run at once. Secrets Manager retries throttled
   * rotations.
   *
   * @default 10
   */
  readonly reservedConcurrentExecutions?: number;

  /**
   * How long one rotation step may take. The connect and statement timeouts
   * of the handler (`ROTATION_CONNECT_TIMEOUT_MS`, `ROTATION_STATEMENT_TIMEOUT_MS`)
   * are derived from it, and the handler fails a step with its own message
   * shortly before it, so a slow database never ends a step silently.
   *
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;

  /**
   * How long the function's logs are kept.
   *
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Create the Secrets Manager interface endpoint in the function's subnets.
   * Without it, the subnets need a route to Secrets Manager (a NAT gateway or
   * an existing endpoint): the function calls the Secrets Manager API.
   *
   * @default false
   */
  readonly createSecretsManagerEndpoint?: boolean;

  /**
   * The VPC's Secrets Manager interface endpoint, when it has one: the
   * function's security group then reaches Secrets Manager through it only
   * (TCP 443 to the endpoint's security groups, which are opened to the
   * function), instead of TCP 443 to any IPv4 address. Secrets Manager has
   * no AWS-managed prefix list, so without an endpoint no narrower rule
   * exists. The endpoint must have private DNS enabled (the default), and an
   * imported endpoint must be imported with its security groups. With your
   * own `securityGroups`, no rule is added: allow TCP 443 to the endpoint
   * yourself.
   *
   * @default - no endpoint: HTTPS to any IPv4 address (the Secrets Manager
   * API through a NAT gateway), unless `createSecretsManagerEndpoint`
   */
  readonly secretsManagerEndpoint?: ec2.IInterfaceVpcEndpoint;

  /**
   * The key of the function's log group, dead-letter queue and environment.
   * Pass a key of its own to keep the function's data apart from the
   * stack's secrets.
   *
   * @default - the stack's default key, `CustomerManagedKey.forStack(this)`
   */
  readonly encryptionKey?: CustomerManagedKey;
}

/** Secrets whose permissions one managed policy holds; keeps each policy under the 6,144-character limit. */
const SECRETS_PER_POLICY = 20;
/** A role holds at most 10 managed policies (default quota); one is the logging/network policy. */
const MAX_SECRET_POLICIES = 9;
const HANDLER_ASSET: Record<DatabaseEngine, string> = {
  [DatabaseEngine.POSTGRES]: 'postgres',
  [DatabaseEngine.MYSQL]: 'mysql',
  [DatabaseEngine.MARIADB]: 'mysql',
};

/** Lambda's limit on the total size of a function's environment variables (names and values). */
const ENVIRONMENT_LIMIT_BYTES = 4096;
/** The variable the handler reads endpoints of attached secrets from (src/rotation/runtime/config.ts). */
const PINNED_ENDPOINTS_VARIABLE = 'ROTATION_PINNED_ENDPOINTS';
/** The longest RDS endpoint address: a 63-character identifier, `.cluster-ro-` and 12 characters, the region, `.rds.amazonaws.com.cn`. */
const MAX_ENDPOINT_ADDRESS = 63 + 12 + 12 + 1 + 14 + 21;

interface PinnedEndpoint {
  readonly secret: secretsmanager.ISecret;
  readonly endpoint: rds.Endpoint;
  /** Upper bound of the entry's deployed size in the variable. */
  readonly bytes: number;
}

interface RotatedSecret {
  readonly secret: secretsmanager.ISecret;
  readonly key: kms.IKey;
  readonly masterSecret?: secretsmanager.ISecret;
}

/**
 * The Lambda function that rotates database secrets: one per engine,
 * strategy and network placement per stack, shared by every secret that
 * uses it (`RotationFunction.shared`), or created explicitly to share it
 * across stacks.
 *
 * - Node.js handler written in TypeScript, bundled at build time; TLS
 *   required by default; passwords generated in the function.
 * - Its role has no AWS managed policy and no inline policy: customer-managed
 *   policies allow exactly DescribeSecret, GetSecretValue, PutSecretValue and
 *   UpdateSecretVersionStage on the secrets it rotates, `kms:Decrypt` and
 *   `kms:GenerateDataKey` on their keys only through Secrets Manager and only
 *   for those secrets, and GetSecretValue on master secrets.
 * - A KMS-encrypted log group with retention, reserved concurrency, a
 *   KMS-encrypted dead-letter queue, a place in the VPC, and an invoke
 *   permission for Secrets Manager limited to this account.
 */
export class RotationFunction extends Construct implements iam.IGrantable {
  /**
   * The stack's shared function for these properties: created on first use,
   * reused by every later secret with the same engine, strategy, network
   * placement and password policy.
   * @param scope any construct of the stack whose shared function is wanted.
   * @param props the engine, strategy, network placement and password policy that identify the function.
   */
  public static shared(scope: Construct, props: RotationFunctionProps): RotationFunction {
    const stack = Stack.of(scope);
    const id = `RotationFunction${props.engine === DatabaseEngine.MARIADB ? 'mysql' : props.engine}${props.strategy === RotationStrategy.SINGLE_USER ? 'SingleUser' : 'AlternatingUsers'}${placementOf(stack, props)}`;
    const existing = stack.node.tryFindChild(id);
    if (existing instanceof RotationFunction) return existing;
    return new RotationFunction(stack, id, props);
  }

  /** The Lambda function. */
  public readonly function: lambda.Function;
  /** Its execution role. */
  public readonly role: iam.Role;
  /** The key of its log group, dead-letter queue and environment (the stack's default key unless one was given). */
  public readonly key: CustomerManagedKey;
  /** Its log group. */
  public readonly logGroup: logs.LogGroup;
  /** Its dead-letter queue. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The engine it rotates. */
  public readonly engine: DatabaseEngine;
  /** The strategy it implements. */
  public readonly strategy: RotationStrategy;
  /** The password policy it applies. */
  public readonly passwordPolicy: PasswordPolicy;
  /** Its network connections (security groups). */
  public readonly connections: ec2.Connections;
  /** The VPC it runs in. */
  public readonly vpc: ec2.IVpc;
  /** The permission that lets Secrets Manager (of this account only) invoke it. */
  public readonly invokePermission: lambda.CfnPermission;
  /** The principal to grant to: its role. */
  public readonly grantPrincipal: iam.IPrincipal;

  private readonly rotated: RotatedSecret[] = [];
  private readonly pinnedEndpoints: PinnedEndpoint[] = [];
  private readonly fixedEnvironmentBytes: number;
  private readonly policies = new Map<string, iam.CfnManagedPolicy>();

  /**
   * @param scope the construct the function belongs to.
   * @param id the function's construct ID, unique within `scope`.
   * @param props the engine, strategy, network placement and password policy.
   */
  constructor(scope: Construct, id: string, props: RotationFunctionProps) {
    super(scope, id);
    this.engine = props.engine;
    this.strategy = props.strategy;
    this.passwordPolicy = validatePasswordPolicy('RotationFunction', props.passwordPolicy);
    const concurrency = props.reservedConcurrentExecutions ?? 10;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw propError('RotationFunction', 'reservedConcurrentExecutions', `${concurrency} is not a positive whole number.`, 'Use at least 1 (10 by default).');
    }
    const timeout = props.timeout ?? Duration.seconds(30);
    if (timeout.toSeconds() < 5 || timeout.toSeconds() > 900) {
      throw propError('RotationFunction', 'timeout', `${timeout.toHumanString()} is outside 5 seconds to 15 minutes.`, 'Use Duration.seconds(30) or similar.');
    }

    const givenKey = props.encryptionKey as unknown;
    if (givenKey !== undefined && !CustomerManagedKey.isCustomerManagedKey(givenKey)) {
      throw propError('RotationFunction', 'encryptionKey', 'is not a CustomerManagedKey: the function grants the log service, SQS and Lambda on it through the role model.', 'Pass a CustomerManagedKey, or leave encryptionKey out to share the stack\'s key.');
    }
    this.key = props.encryptionKey ?? CustomerManagedKey.forStack(this);
    // Statements wait at most this long, connections a little less; a step fails with the handler's
    // own message before Lambda ends it (the handler keeps a margin of its own, see lambda.ts).
    const statementTimeoutMs = Math.min(15_000, Math.max(1_000, Math.floor((timeout.toMilliseconds() - 2_000) / 4)));
    const connectTimeoutMs = Math.min(5_000, statementTimeoutMs);

    const environment: Record<string, string> = {
      ROTATION_STRATEGY: props.strategy,
      ROTATION_PASSWORD_LENGTH: String(this.passwordPolicy.length),
      ROTATION_EXCLUDE_CHARACTERS: this.passwordPolicy.excludeCharacters!,
      ROTATION_REQUIRE_TLS: String(props.requireTls ?? true),
      ROTATION_CONNECT_TIMEOUT_MS: String(connectTimeoutMs),
      ROTATION_STATEMENT_TIMEOUT_MS: String(statementTimeoutMs),
      // Node.js in Lambda trusts the RDS CAs only through this file.
      NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
    };
    if (props.tlsCaFile) environment.ROTATION_TLS_CA_FILE = props.tlsCaFile;
    this.fixedEnvironmentBytes = Object.entries(environment).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);

    // Log group, dead-letter queue, role, security group, logging/network policy and the function,
    // secured as every database-facing function of the library (secured-function.ts).
    const parts = createSecuredFunction(this, {
      key: this.key,
      logGroupName: `/cdk-kms-secrets/rotation/${Names.uniqueResourceName(this, { maxLength: 200 })}`,
      logRetention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      roleDescription: `Rotates ${props.engine} secrets (${props.strategy})`,
      securityGroupDescription: `Rotation function ${this.node.path}: reaches the database and Secrets Manager`,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      description: `Rotates ${props.engine} secrets (${props.strategy}); cdk-kms-secrets`,
      code: lambda.Code.fromAsset(path.join(__dirname, '..', '..', 'assets', 'rotation', 'runtime', `${HANDLER_ASSET[props.engine]}-handler`)),
      timeout,
      reservedConcurrentExecutions: concurrency,
      environment,
      createSecretsManagerEndpoint: props.createSecretsManagerEndpoint,
      endpointId: `${id}SecretsManagerEndpoint`,
      secretsManagerEndpoint: props.secretsManagerEndpoint,
      owner: 'RotationFunction',
    });
    this.logGroup = parts.logGroup;
    this.deadLetterQueue = parts.deadLetterQueue;
    this.role = parts.role;
    this.grantPrincipal = this.role;
    this.connections = parts.connections;
    this.vpc = props.vpc;
    this.function = parts.function;
    this.invokePermission = new lambda.CfnPermission(this, 'InvokedBySecretsManager', {
      action: 'lambda:InvokeFunction',
      functionName: this.function.functionArn,
      principal: 'secretsmanager.amazonaws.com',
      sourceAccount: Stack.of(this).account,
    });
  }

  /**
   * Allow this function to rotate a secret: read, write and re-stage exactly
   * that secret, and use its key only through Secrets Manager for it. For
   * alternating users, also read the master secret. Returns the managed
   * policy that holds the permissions, for the rotation schedule to depend on.
   * @param secret the secret this function rotates.
   * @param key the key that encrypts `secret`.
   * @param masterSecret for alternating users, the secret of the user that creates the clone.
   */
  public addSecret(secret: secretsmanager.ISecret, key: kms.IKey, masterSecret?: secretsmanager.ISecret): IDependable {
    const inSameStack = this.rotated.filter(r => Stack.of(r.secret) === Stack.of(secret)).length;
    const needsNewPolicy = inSameStack % SECRETS_PER_POLICY === 0;
    if (needsNewPolicy && this.policies.size >= MAX_SECRET_POLICIES) {
      throw propError('RotationFunction', 'secrets', `${this.node.path} already rotates ${this.rotated.length} secrets in ${this.policies.size} managed policies, the most its role can hold.`, 'Pass another RotationFunction (`rotationFunction`) for further secrets.');
    }
    this.rotated.push({ secret, key, masterSecret });
    // Strict keys (accountAccess NONE) name the rotation role in their key policy, for these secrets only.
    SecretGrants._strictKeyUse(this.role, secret, key, ['kms:Decrypt', 'kms:GenerateDataKey'], 'RotationFunction.addSecret');
    if (masterSecret && !masterSecret.encryptionKey) {
      Annotations.of(secret).addWarningV2('cdk-kms-secrets:masterSecretKey', `The master secret ${masterSecret.node.path} has no known key: the rotation role gets no kms:Decrypt for it, which works only if it uses aws/secretsmanager. If it is encrypted with a customer-managed key, import it with secretsmanager.Secret.fromSecretAttributes({ secretCompleteArn, encryptionKey }).`);
    }
    if (masterSecret?.encryptionKey) SecretGrants._strictKeyUse(this.role, masterSecret, masterSecret.encryptionKey, ['kms:Decrypt'], 'RotationFunction.addSecret');
    // The permissions live in the secret's stack, so a function shared across
    // stacks never makes its own stack depend on the secrets' stacks.
    const stack = Stack.of(secret);
    const entries = this.rotated.filter(r => Stack.of(r.secret) === stack);
    const chunk = Math.floor((entries.length - 1) / SECRETS_PER_POLICY);
    const key_ = `${stack.node.path}#${chunk}`;
    let policy = this.policies.get(key_);
    if (!policy) {
      const scope = stack === Stack.of(this) ? this : permissionsScope(stack, this);
      // One customer-managed policy per 20 secrets, naming exactly those
      // secrets and keys; its document is filled in at synthesis.
      policy = new iam.CfnManagedPolicy(scope, `SecretsPolicy${chunk + 1}`, {
        description: `Rotation of secrets ${chunk * SECRETS_PER_POLICY + 1} to ${(chunk + 1) * SECRETS_PER_POLICY} of stack ${stack.stackName} by ${this.node.path}`,
        roles: [this.role.roleName],
        policyDocument: Lazy.any({ produce: () => ({ Version: '2012-10-17', Statement: this.statementsFor(stack, chunk) }) }),
      });
      this.policies.set(key_, policy);
    }
    return policy;
  }

  /**
   * @internal Pins the endpoint a secret's credentials go to in the
   * function's configuration (`ROTATION_PINNED_ENDPOINTS`: secret ARN ->
   * "host:port"), for secrets whose host is only known after deployment. The
   * function then depends on the database, which depends only on the secret:
   * no cycle.
   */
  public _pinEndpoint(secret: secretsmanager.ISecret, endpoint: rds.Endpoint, secretName?: string): void {
    const stack = Stack.of(this);
    if (Stack.of(secret) !== stack) {
      throw propError('RotationFunction', 'databaseEndpoint', `${secret.node.path} is in stack ${Stack.of(secret).stackName} and ${this.node.path} in ${stack.stackName}: the endpoint is pinned in the function's configuration, which would make the function's stack depend on the database's.`, 'Rotate the secret with a RotationFunction of its own stack (leave `rotationFunction` out to use the shared one).');
    }
    // Upper bound of the deployed ARN: arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-XXXXXX,
    // the name CloudFormation generates being the logical ID, a dash and 12 characters.
    const known = (value: string, fallback: number) => Token.isUnresolved(value) ? fallback : value.length;
    const logicalId = secret.node.defaultChild instanceof CfnResource ? stack.getLogicalId(secret.node.defaultChild) : undefined;
    const nameBytes = secretName !== undefined ? Buffer.byteLength(secretName) : logicalId !== undefined ? logicalId.length + 13 : 512;
    const arnBytes = 'arn:aws-us-gov:secretsmanager:'.length + known(stack.region, 14) + 1 + known(stack.account, 12) + ':secret:'.length + nameBytes + 7;
    // "<arn>":"<host>:<port>",
    const bytes = arnBytes + MAX_ENDPOINT_ADDRESS + 6 + 6;
    if (this.pinnedEndpoints.length === 0) {
      this.function.addEnvironment(PINNED_ENDPOINTS_VARIABLE, Lazy.string({
        produce: () => `{${this.pinnedEndpoints.map(p => `"${p.secret.secretArn}":"${p.endpoint.socketAddress}"`).join(',')}}`,
      }));
    }
    this.pinnedEndpoints.push({ secret, endpoint, bytes });
    const total = this.fixedEnvironmentBytes + PINNED_ENDPOINTS_VARIABLE.length + 2 + this.pinnedEndpoints.reduce((n, p) => n + p.bytes, 0);
    if (total > ENVIRONMENT_LIMIT_BYTES) {
      this.pinnedEndpoints.pop();
      throw propError('RotationFunction', 'environment', `pinning the endpoint of ${secret.node.path} would bring the environment of ${this.node.path} to ${total} bytes (estimated from the longest ARN and RDS endpoint AWS can give), over Lambda's ${ENVIRONMENT_LIMIT_BYTES}; it already pins ${this.pinnedEndpoints.length} attached secrets.`, 'Rotate further attached secrets with another RotationFunction (`rotationFunction`), or give their secrets shorter names (`secretName`).');
    }
  }

  /** The number of secrets this function rotates. */
  public get secretCount(): number {
    return this.rotated.length;
  }

  private statementsFor(stack: Stack, chunk: number): unknown[] {
    const secrets = this.rotated.filter(r => Stack.of(r.secret) === stack).slice(chunk * SECRETS_PER_POLICY, (chunk + 1) * SECRETS_PER_POLICY);
    const statements: unknown[] = [{
      Sid: 'RotateExactlyTheseSecrets',
      Effect: 'Allow',
      Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
      Resource: secrets.map(s => s.secret.secretArn),
    }];
    const byKey = new Map<string, { key: kms.IKey; arns: string[] }>();
    for (const s of secrets) {
      const id = JSON.stringify(stack.resolve(s.key.keyArn));
      const entry = byKey.get(id) ?? { key: s.key, arns: [] };
      entry.arns.push(s.secret.secretArn);
      byKey.set(id, entry);
    }
    [...byKey.values()].forEach((entry, i) => statements.push({
      Sid: `UseKeyOnlyViaSecretsManagerForTheseSecrets${i + 1}`,
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: entry.key.keyArn,
      Condition: viaSecretsManagerFor(stack.region, entry.arns, false),
    }));
    const masterById = new Map<string, secretsmanager.ISecret>();
    for (const s of secrets) {
      if (s.masterSecret) masterById.set(JSON.stringify(stack.resolve(s.masterSecret.secretArn)), s.masterSecret);
    }
    const masters = [...masterById.values()];
    if (masters.length > 0) {
      // The one derivation of a policy ARN: a master imported by name gets its -?????? suffix.
      const arnOfMaster = (m: secretsmanager.ISecret) => secretArnForPolicies('RotationFunction.masterSecret', m, stack);
      statements.push({
        Sid: 'ReadMasterSecrets',
        Effect: 'Allow',
        Action: 'secretsmanager:GetSecretValue',
        Resource: masters.map(m => arnOfMaster(m).arn),
      });
      const masterKeys = masters.filter(m => m.encryptionKey);
      masterKeys.forEach((m, i) => {
        const { arn, pattern } = arnOfMaster(m);
        statements.push({
          Sid: `DecryptMasterSecret${i + 1}`,
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: m.encryptionKey!.keyArn,
          Condition: viaSecretsManagerFor(stack.region, arn, pattern),
        });
      });
    }
    return statements;
  }
}

function permissionsScope(stack: Stack, fn: RotationFunction): Construct {
  const id = `RotationPermissions${Names.uniqueId(fn)}`;
  return (stack.node.tryFindChild(id) as Construct | undefined) ?? new Construct(stack, id);
}

function placementOf(stack: Stack, props: RotationFunctionProps): string {
  return placementHash(stack, {
    vpc: props.vpc.node.path,
    subnets: props.vpcSubnets ? props.vpc.selectSubnets(props.vpcSubnets).subnetIds : 'default',
    securityGroups: (props.securityGroups ?? []).map(sg => sg.securityGroupId),
    passwordPolicy: validatePasswordPolicy('RotationFunction', props.passwordPolicy),
    requireTls: props.requireTls ?? true,
    tlsCaFile: props.tlsCaFile,
    endpoint: props.createSecretsManagerEndpoint ?? false,
    // Only when given, so the functions without one keep their IDs.
    ...(props.secretsManagerEndpoint ? { secretsManagerEndpoint: props.secretsManagerEndpoint.node.path } : {}),
    // Only when given, so the default keeps the function's ID.
    ...(props.encryptionKey ? { key: props.encryptionKey.node.path } : {}),
  });
}

/** Fills the defaults of a password policy and checks it. */
export function validatePasswordPolicy(owner: string, policy: PasswordPolicy | undefined): PasswordPolicy {
  const length = policy?.length ?? DEFAULT_PASSWORD_LENGTH;
  const excludeCharacters = policy?.excludeCharacters ?? DEFAULT_EXCLUDE_CHARACTERS;
  if (!Number.isInteger(length) || length < 16 || length > 128) {
    throw propError(owner, 'passwordPolicy.length', `${length} is outside 16-128.`, 'Use a whole number between 16 and 128 (32 by default).');
  }
  const printable = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).filter(c => !excludeCharacters.includes(c));
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter(re => printable.some(c => re.test(c)));
  if (classes.length < 3) {
    throw propError(owner, 'passwordPolicy.excludeCharacters', 'excludes every lowercase letter, uppercase letter or digit.', 'Exclude only the punctuation your database or drivers cannot take.');
  }
  return { length, excludeCharacters };
}
