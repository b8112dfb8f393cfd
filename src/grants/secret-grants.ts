import { CfnMapping, Duration, Stack, Token } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { combineGrants, consumerOf, identityGrantee, secretArnForPolicies, viaSecretsManagerFor } from './grants-policy';
import { propError } from '../errors';
import { CustomerManagedKey } from '../keys/customer-managed-key';
import { AccountAccess } from '../keys/types';

/** Options of a read grant. */
export interface SecretReadOptions {
  /**
   * Allow reading only these version stages (for example `AWSCURRENT`), with
   * a `secretsmanager:VersionStage` condition. Readers must then name the
   * stage in each request (`VersionStage=AWSCURRENT`; with the Lambda
   * extension, `&versionStage=AWSCURRENT`): a request without a stage
   * carries no `secretsmanager:VersionStage` and is denied.
   *
   * @default - any stage
   */
  readonly versionStages?: string[];
}

/** Options of the cached runtime read of a secret by a Lambda function. */
export interface LambdaSecretReaderOptions extends SecretReadOptions {
  /**
   * How long the AWS Parameters and Secrets Lambda Extension caches the
   * secret. Between 1 second and 300 seconds; a rotated value is seen at
   * most this late.
   *
   * @default Duration.minutes(5)
   */
  readonly cacheTtl?: Duration;

  /**
   * How many secrets and parameters the extension caches.
   *
   * @default 1000
   */
  readonly cacheSize?: number;

  /**
   * The environment variable that tells the function which secret to read.
   *
   * @default 'SECRET_ARN'
   */
  readonly environmentVariable?: string;

  /**
   * Who gets the read grant: the function's role, when the function was given
   * an immutable view of it (`Role.fromRoleArn(..., { mutable: false })`).
   *
   * @default - the function
   */
  readonly grantee?: iam.IGrantable;

  /**
   * Whether to add the extension as a Lambda layer. Set it to false for a
   * container-image function whose image already contains the extension
   * (copied from the layer into `/opt/extensions`): the grant, the cache
   * settings and the secret's ARN are still set. A container-image function
   * cannot take a layer, so it is refused without this.
   *
   * @default true (no second layer is added to a function that already has the extension)
   */
  readonly extensionLayer?: boolean;
}

/** Where an ECS reader tells the container which secret to read, and the cache TTL. */
export enum EcsSecretLocation {
  /** Environment variables of the container (`SECRET_ARN`, `SECRET_CACHE_TTL_SECONDS`). */
  ENVIRONMENT = 'ENVIRONMENT',
  /**
   * Docker labels of the container, with the same names, read by the
   * application from the task metadata endpoint
   * (`$ECS_CONTAINER_METADATA_URI_V4`, its `DockerLabels`): no environment
   * variable at all, for packs that flag any (AwsSolutions-ECS2).
   */
  DOCKER_LABELS = 'DOCKER_LABELS',
  /** Nowhere: only the grant (the application knows the secret by its name). */
  NONE = 'NONE',
}

/** Options of the cached runtime read of a secret by an ECS (or Fargate) task. */
export interface EcsSecretReaderOptions extends SecretReadOptions {
  /**
   * How long the application's caching client may keep the value, written
   * to `cacheTtlEnvironmentVariable` in whole seconds. Between 1 second and
   * 1 hour; a rotated value is seen at most this late.
   *
   * @default Duration.minutes(5)
   */
  readonly cacheTtl?: Duration;

  /**
   * The environment variable that tells the container which secret to read
   * (its ARN, never its value).
   *
   * @default 'SECRET_ARN'
   */
  readonly environmentVariable?: string;

  /**
   * The environment variable that holds the cache TTL in seconds, shared by
   * every secret the container reads.
   *
   * @default 'SECRET_CACHE_TTL_SECONDS'
   */
  readonly cacheTtlEnvironmentVariable?: string;

  /**
   * Where the secret's ARN and the TTL go (the names are
   * `environmentVariable` and `cacheTtlEnvironmentVariable` either way).
   *
   * @default EcsSecretLocation.ENVIRONMENT
   */
  readonly location?: EcsSecretLocation;
}

/**
 * Least-privilege grants on a Secrets Manager secret and its KMS key, for
 * our `ManagedSecret` and for any `ISecret` plus `IKey` (including imported
 * ones, where aws-cdk-lib drops the key part).
 *
 * - Read: `GetSecretValue` and `DescribeSecret` on exactly that secret
 *   (`-??????` for a secret known only by name), and `kms:Decrypt` on its
 *   key only through Secrets Manager and only for that secret
 *   (`kms:EncryptionContext:SecretARN`).
 * - Write: `PutSecretValue` and `DescribeSecret`, and `kms:GenerateDataKey`
 *   and `kms:Decrypt` scoped the same way. No read.
 * - Rotate: `RotateSecret` and `DescribeSecret`. No read, no key.
 *
 * Identity statements go into one customer-managed policy per grantee role
 * (no inline policy); other principals get them through their own policy.
 * A grantee of another account gets the secret's resource policy and the
 * key policy written here, and `ManagedSecret.crossAccountIdentityPolicy`
 * is the identity policy for that account to attach.
 */
export class SecretGrants {
  /**
   * For a key with accountAccess NONE: name the grantee in its key policy for
   * this secret, through Secrets Manager only. Does nothing for other keys.
   * @internal
   */
  public static _strictKeyUse(grantee: iam.IGrantable, secret: secretsmanager.ISecret, key: kms.IKey, actions: string[], owner: string): void {
    if (!CustomerManagedKey.isCustomerManagedKey(key) || key.accountAccess !== AccountAccess.NONE) return;
    key._grantThroughSecretsManager(grantee, actions, strictSecretPattern(grantContext(owner, secret, key, grantee)), owner);
  }

  /**
   * Allow reading a secret (and decrypting it through Secrets Manager only).
   * @param grantee the principal allowed to read.
   * @param secret the secret, ours or imported.
   * @param key the key that encrypts it (needed for an imported secret, whose key aws-cdk-lib does not know).
   * @param options the version stages the grantee may read.
   */
  public static read(grantee: iam.IGrantable, secret: secretsmanager.ISecret, key?: kms.IKey, options: SecretReadOptions = {}): iam.Grant {
    const ctx = grantContext('SecretGrants.read', secret, key, grantee);
    const stages = options.versionStages;
    if (stages !== undefined && stages.length === 0) {
      throw propError('SecretGrants.read', 'versionStages', 'is empty, which would allow no version.', 'Name at least one stage (for example AWSCURRENT), or leave versionStages out.');
    }
    const statements = [
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [ctx.secretResource],
        conditions: stages ? { StringEquals: { 'secretsmanager:VersionStage': stages } } : undefined,
      }),
      new iam.PolicyStatement({ actions: ['secretsmanager:DescribeSecret'], resources: [ctx.secretResource] }),
      ...keyStatements(ctx, ['kms:Decrypt']),
    ];
    return place(ctx, statements, 'read');
  }

  /**
   * Allow writing new values to a secret (encrypting through Secrets Manager only), without reading it.
   * @param grantee the principal allowed to put new values.
   * @param secret the secret, ours or imported.
   * @param key the key that encrypts it (needed for an imported secret).
   */
  public static write(grantee: iam.IGrantable, secret: secretsmanager.ISecret, key?: kms.IKey): iam.Grant {
    const ctx = grantContext('SecretGrants.write', secret, key, grantee);
    const statements = [
      new iam.PolicyStatement({ actions: ['secretsmanager:DescribeSecret', 'secretsmanager:PutSecretValue'], resources: [ctx.secretResource] }),
      ...keyStatements(ctx, ['kms:Decrypt', 'kms:GenerateDataKey']),
    ];
    return place(ctx, statements, 'write');
  }

  /**
   * Allow starting a rotation of a secret, without reading it.
   * @param grantee the principal allowed to start a rotation.
   * @param secret the secret, ours or imported.
   */
  public static rotate(grantee: iam.IGrantable, secret: secretsmanager.ISecret): iam.Grant {
    const ctx = grantContext('SecretGrants.rotate', secret, undefined, grantee);
    const statements = [new iam.PolicyStatement({ actions: ['secretsmanager:DescribeSecret', 'secretsmanager:RotateSecret'], resources: [ctx.secretResource] })];
    return place(ctx, statements, 'rotate');
  }

  /**
   * Let a Lambda function read a secret at runtime, with caching: grants
   * read, adds the AWS Parameters and Secrets Lambda Extension with a cache
   * TTL, and sets the environment the extension needs plus the secret's ARN
   * (`SECRET_ARN` by default). The function then reads
   * `http://localhost:2773/secretsmanager/get?secretId=$SECRET_ARN` with the
   * header `X-Aws-Parameters-Secrets-Token: $AWS_SESSION_TOKEN`, and a
   * rotated value reaches it within the TTL, without a redeploy.
   *
   * Idempotent per function: several secrets share one extension (each
   * under its own `environmentVariable`; the cache settings are the
   * function's, and a conflicting `cacheTtl` or `cacheSize` is an error),
   * and a function that already has the extension (`paramsAndSecrets`, or
   * the layer added by ARN) gets no second layer. `fn` may be an Alias,
   * Version or SingletonFunction of a function defined in this app; an
   * imported function is refused, and a container-image function too unless
   * its image has the extension (`extensionLayer: false`).
   *
   * @param fn the function that reads the secret at runtime.
   * @param secret the secret, ours or imported.
   * @param key the key that encrypts it (needed for an imported secret).
   * @param options the cache TTL and size, the environment variable's name and the version stages.
   */
  public static readFromLambda(
    fn: lambda.IFunction, secret: secretsmanager.ISecret, key?: kms.IKey, options: LambdaSecretReaderOptions = {},
  ): iam.Grant {
    const owner = 'SecretGrants.readFromLambda';
    const ttl = options.cacheTtl ?? Duration.minutes(5);
    if (ttl.isUnresolved() || ttl.toSeconds() < 1 || ttl.toSeconds() > 300) {
      throw propError(owner, 'cacheTtl', `${ttl.isUnresolved() ? 'a token' : ttl.toHumanString()} is outside the 1-300 seconds the extension allows.`, 'Use a Duration between Duration.seconds(1) and Duration.minutes(5).');
    }
    const size = options.cacheSize ?? 1000;
    if (!Number.isInteger(size) || size < 1 || size > 1000) {
      throw propError(owner, 'cacheSize', `${size} is outside 1-1000.`, 'Use a whole number between 1 and 1000.');
    }
    const target = definedFunction(fn, owner);
    const cfn = target.node.defaultChild as lambda.CfnFunction;
    const image = target.runtime === lambda.Runtime.FROM_IMAGE || target.runtime.name === 'FROM_IMAGE' || cfn.packageType === 'Image';
    const addLayer = options.extensionLayer ?? true;
    if (image && addLayer) {
      throw propError(owner, 'fn', `${target.node.path} is a container-image function, which cannot take a Lambda layer, so the AWS Parameters and Secrets Lambda Extension cannot be added to it.`, 'Copy the extension into the image (from the layer\'s /opt/extensions) and pass `extensionLayer: false`, or read the secret with a caching SDK client in the function and grant it with secret.grantRead(fn), passing the secret\'s ARN in an environment variable.');
    }
    const variable = options.environmentVariable ?? 'SECRET_ARN';
    const stack = Stack.of(target);
    const environment = (stack.resolve(cfn.environment) as { variables?: Record<string, unknown> } | undefined)?.variables ?? {};
    const current = environment[variable];
    const arn = stack.resolve(secret.secretArn);
    if (current !== undefined && JSON.stringify(current) !== JSON.stringify(arn)) {
      throw propError(owner, 'environmentVariable', `${target.node.path} already has ${variable} = ${JSON.stringify(current)}: it reads another secret (or sets the variable itself), and one variable names one secret.`, `Pass another environmentVariable for this secret, for example '${secretVariableName(secret)}'.`);
    }

    const extension = lambda.ParamsAndSecretsLayerVersion.fromVersion(lambda.ParamsAndSecretsVersions.V1_0_103, {
      cacheEnabled: true,
      cacheSize: size,
      secretsManagerTtl: ttl,
    });
    const config = extension._bind(target, target);
    // The cache settings are the extension's, per function: one value each, and a conflict is an error.
    const given: Record<string, boolean> = {
      SECRETS_MANAGER_TTL: options.cacheTtl !== undefined,
      PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE: options.cacheSize !== undefined,
    };
    const missing: Array<[string, string]> = [];
    for (const [name, raw] of Object.entries(config.environmentVars)) {
      const value = String(raw);
      const existing = environment[name];
      if (existing === undefined) {
        missing.push([name, value]);
      } else if (String(existing) !== value && given[name]) {
        const prop = name === 'SECRETS_MANAGER_TTL' ? 'cacheTtl' : 'cacheSize';
        throw propError(owner, prop, `${target.node.path} already runs the extension with ${name} = ${JSON.stringify(existing)}, and this reader asks for ${value}: the extension has one cache per function.`, `Pass the same ${prop} for every secret the function reads, or leave it out to keep the function's.`);
      }
    }

    const grant = SecretGrants.read(options.grantee ?? target, secret, key, options);
    // One extension per function: several secrets share it, and a function that has it (our
    // reader, `paramsAndSecrets`, or the layer added by ARN) gets no second copy.
    if (addLayer && !hasParamsAndSecretsLayer(target)) {
      target.addLayers(lambda.LayerVersion.fromLayerVersionArn(target, 'ParamsAndSecretsExtension', config.arn));
    }
    for (const [name, value] of missing) target.addEnvironment(name, value);
    target.addEnvironment(variable, secret.secretArn);
    return grant;
  }

  /**
   * Let the containers of an ECS (or Fargate) task read a secret at runtime,
   * through a caching Secrets Manager client in the application, so that a
   * rotated value reaches a running task within the cache TTL, with no
   * restart. Grants read to the task role (not the execution role: the value
   * is not injected at start), and sets the container's environment: the
   * secret's ARN (`SECRET_ARN` by default; never the value) and the cache
   * TTL in seconds (`SECRET_CACHE_TTL_SECONDS`) for the client.
   *
   * @param container the container that reads (its task definition's task role is granted)
   * @param secret the secret it reads
   * @param key the secret's key, for the `kms:Decrypt` through Secrets Manager
   * @param options the variables and the cache TTL
   */
  public static readFromEcs(
    container: ecs.ContainerDefinition, secret: secretsmanager.ISecret, key?: kms.IKey, options: EcsSecretReaderOptions = {},
  ): iam.Grant {
    const owner = 'SecretGrants.readFromEcs';
    const ttl = options.cacheTtl ?? Duration.minutes(5);
    if (ttl.isUnresolved() || !Number.isInteger(ttl.toSeconds({ integral: false })) || ttl.toSeconds() < 1 || ttl.toSeconds() > 3600) {
      throw propError(owner, 'cacheTtl', `${ttl.isUnresolved() ? 'a token' : ttl.toHumanString()} is not a whole number of seconds between 1 second and 1 hour.`, 'Use a Duration between Duration.seconds(1) and Duration.hours(1) (5 minutes by default).');
    }
    const variable = options.environmentVariable ?? 'SECRET_ARN';
    const ttlVariable = options.cacheTtlEnvironmentVariable ?? 'SECRET_CACHE_TTL_SECONDS';
    for (const [prop, name] of [['environmentVariable', variable], ['cacheTtlEnvironmentVariable', ttlVariable]]) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw propError(owner, prop, `'${name}' is not an environment variable name.`, 'Use letters, digits and _, not starting with a digit.');
      }
    }
    if (variable === ttlVariable) {
      throw propError(owner, 'cacheTtlEnvironmentVariable', `is the same variable as environmentVariable ('${variable}').`, 'Give the TTL and the secret ARN different variables.');
    }
    const location = options.location ?? EcsSecretLocation.ENVIRONMENT;
    const stack = Stack.of(container);
    const where = location === EcsSecretLocation.DOCKER_LABELS ? 'Docker label' : 'environment variable';
    const existing = location === EcsSecretLocation.DOCKER_LABELS
      ? (container as unknown as { dockerLabels?: Record<string, string> }).dockerLabels ?? {}
      : (container as unknown as { environment?: Record<string, string> }).environment ?? {};
    const current = location === EcsSecretLocation.NONE ? undefined : existing[variable];
    if (current !== undefined && JSON.stringify(stack.resolve(current)) !== JSON.stringify(stack.resolve(secret.secretArn))) {
      throw propError(owner, 'environmentVariable', `${container.node.path} already has the ${where} ${variable} = ${JSON.stringify(stack.resolve(current))}: it reads another secret (or sets it itself), and one name names one secret.`, `Pass another environmentVariable for this secret, for example '${secretVariableName(secret)}'.`);
    }
    const seconds = String(ttl.toSeconds());
    const currentTtl = location === EcsSecretLocation.NONE ? undefined : existing[ttlVariable];
    if (currentTtl !== undefined && currentTtl !== seconds && options.cacheTtl !== undefined) {
      throw propError(owner, 'cacheTtl', `${container.node.path} already has ${ttlVariable} = ${currentTtl}, and this reader asks for ${seconds}: the container has one cache TTL.`, 'Pass the same cacheTtl for every secret the container reads, another cacheTtlEnvironmentVariable, or leave cacheTtl out to keep the container\'s.');
    }
    const grant = SecretGrants.read(container.taskDefinition.taskRole, secret, key, options);
    const set = (name: string, value: string) => location === EcsSecretLocation.DOCKER_LABELS
      ? container.addDockerLabel(name, value)
      : container.addEnvironment(name, value);
    if (location !== EcsSecretLocation.NONE) {
      set(variable, secret.secretArn);
      if (currentTtl === undefined) set(ttlVariable, seconds);
    }
    return grant;
  }
}

/** The Lambda function behind an IFunction defined in this app (a Function, its Alias or Version, a SingletonFunction). */
function definedFunction(fn: lambda.IFunction, owner: string): lambda.Function {
  if (fn instanceof lambda.Function) return fn;
  if (fn instanceof lambda.Alias) return definedFunction(fn.version.lambda, owner);
  if (fn instanceof lambda.Version) return definedFunction(fn.lambda, owner);
  const inner = fn instanceof lambda.SingletonFunction ? (fn as unknown as { lambdaFunction?: unknown }).lambdaFunction : undefined;
  if (inner instanceof lambda.Function) return inner;
  throw propError(owner, 'fn', `${fn.node.path} is not a function defined in this app (an imported function, or another IFunction), so it cannot take the extension layer or environment variables here.`, 'Call addLambdaReader where the function is defined, or grant read only with secret.grantRead(role) (SecretGrants.read) and set the extension and the secret\'s ARN where the function is defined.');
}

/** The layer ARNs of the AWS Parameters and Secrets Lambda Extension (x86_64 and arm64), in every partition. */
const PARAMS_AND_SECRETS_LAYER = /:layer:AWS-Parameters-and-Secrets-Lambda-Extension(-Arm64)?:/;

/**
 * Whether the function already has the extension: a layer whose ARN (a
 * literal, or the regional mapping aws-cdk-lib writes for an env-agnostic
 * stack) is the extension's.
 */
function hasParamsAndSecretsLayer(fn: lambda.Function): boolean {
  const stack = Stack.of(fn);
  const layers = (stack.resolve((fn.node.defaultChild as lambda.CfnFunction).layers) ?? []) as unknown[];
  return layers.some(layer => {
    if (PARAMS_AND_SECRETS_LAYER.test(JSON.stringify(layer))) return true;
    const mapping = (layer as { 'Fn::FindInMap'?: unknown[] } | undefined)?.['Fn::FindInMap']?.[0];
    if (typeof mapping !== 'string') return false;
    const cfnMapping = stack.node.findAll().find(c => c instanceof CfnMapping && stack.resolve(c.logicalId) === mapping);
    if (cfnMapping === undefined) return false;
    const rendered = (cfnMapping as unknown as { _toCloudFormation(): unknown })._toCloudFormation();
    return PARAMS_AND_SECRETS_LAYER.test(JSON.stringify(stack.resolve(rendered)));
  });
}

/** A suggested variable for a second secret: its construct ID, upper snake case, plus _SECRET_ARN. */
function secretVariableName(secret: secretsmanager.ISecret): string {
  return `${secret.node.id.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[^A-Za-z0-9]+/g, '_').toUpperCase()}_SECRET_ARN`;
}

interface GrantContext {
  readonly owner: string;
  readonly secret: secretsmanager.ISecret;
  readonly key?: kms.IKey;
  readonly grantee: iam.IGrantable;
  /** The secret's ARN for an IAM Resource: exact, or `<partial>-??????`. */
  readonly secretResource: string;
  /** Whether the ARN is only known up to the random suffix. */
  readonly partialArn: boolean;
  readonly region: string;
  /** The grantee's account, when it is not the secret's. */
  readonly crossAccount?: string;
}

function grantContext(owner: string, secret: secretsmanager.ISecret, key: kms.IKey | undefined, grantee: iam.IGrantable): GrantContext {
  if (key && isAwsManagedKey(key)) {
    throw propError(owner, 'key', `${key.keyArn} is an AWS-managed key: its key policy is fixed, so a grant can neither be scoped nor shared.`, 'Encrypt the secret with a CustomerManagedKey (ManagedSecret does), or pass no key for a same-account read of a secret that uses aws/secretsmanager.');
  }
  const stack = Stack.of(secret);
  const { arn: secretResource, pattern: partialArn } = secretArnForPolicies(owner, secret, consumerOf(grantee, secret));
  const account = principalAccountOf(grantee.grantPrincipal);
  // A literal account of the grantee that is not the secret's (also when the secret's stack is env-agnostic).
  const crossAccount = account !== undefined && !Token.isUnresolved(account) && (Token.isUnresolved(stack.account) || account !== stack.account)
    ? account : undefined;
  return { owner, secret, key, grantee, secretResource, partialArn, region: stack.region, crossAccount };
}

function keyStatements(ctx: GrantContext, actions: string[]): iam.PolicyStatement[] {
  if (!ctx.key) return [];
  if (!ctx.crossAccount && CustomerManagedKey.isCustomerManagedKey(ctx.key) && ctx.key.accountAccess === AccountAccess.NONE) {
    // Strict mode: the key delegates nothing to the account, so it names the grantee, for this secret only.
    ctx.key._grantThroughSecretsManager(ctx.grantee, actions, strictSecretPattern(ctx), ctx.owner);
  }
  return [new iam.PolicyStatement({
    actions,
    resources: [ctx.key.keyArn],
    conditions: viaSecretsManagerFor(ctx.region, ctx.secretResource, ctx.partialArn),
  })];
}

/**
 * Writes the identity statements where they work: the grantee role's
 * customer-managed grants policy (never an inline policy), or the
 * principal's own policy; for another account, the secret's resource policy
 * and the key policy, plus the identity policy that account must attach.
 */
function place(ctx: GrantContext, statements: iam.PolicyStatement[], kind: 'read' | 'write' | 'rotate'): iam.Grant {
  if (ctx.crossAccount) {
    return placeCrossAccount(ctx, statements, kind);
  }
  const principal = ctx.grantee.grantPrincipal;
  const grantee = identityGrantee(ctx.grantee);
  const grant = combineGrants(statements.map(s =>
    iam.Grant.addToPrincipal({ grantee, actions: s.actions, resourceArns: s.resources, conditions: s.conditions })));
  if (!grant.success) {
    throw propError(ctx.owner, 'grantee', `${JSON.stringify(Stack.of(ctx.secret).resolve(principal.policyFragment.principalJson))} has no identity policy that this app can add to, so the grant would be silently dropped.`, 'Grant to an IAM role or user of this app, or to Role.fromRoleArn(...) of an existing role; a principal of another account gets the resource and key policies.');
  }
  return grant;
}

/** The account of a principal: its principalAccount, or the account in its ARN. */
function principalAccountOf(principal: iam.IPrincipal): string | undefined {
  if (principal.principalAccount !== undefined) return principal.principalAccount;
  const aws = (principal.policyFragment.principalJson.AWS ?? []) as unknown[];
  const first = aws.length === 1 ? aws[0] : undefined;
  if (typeof first !== 'string' || Token.isUnresolved(first)) return undefined;
  return /^\d{12}$/.test(first) ? first : /^arn:[^:]+:(?:iam|sts)::(\d{12}):/.exec(first)?.[1];
}

function placeCrossAccount(ctx: GrantContext, statements: iam.PolicyStatement[], kind: 'read' | 'write' | 'rotate'): iam.Grant {
  // Imported lazily: ManagedSecret imports this module.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { ManagedSecret } = require('../secrets/managed-secret') as typeof import('../secrets/managed-secret');
  const secret = ctx.secret;
  if (!(secret instanceof ManagedSecret)) {
    throw propError(ctx.owner, 'secret', `granting to account ${ctx.crossAccount} needs the secret's resource policy, which an imported secret cannot change.`, 'Grant from the stack that defines the ManagedSecret.');
  }
  if (kind !== 'rotate' && !CustomerManagedKey.isCustomerManagedKey(ctx.key)) {
    throw propError(ctx.owner, 'key', `granting to account ${ctx.crossAccount} needs a key policy we can write, and ${ctx.key ? 'this key is not a CustomerManagedKey' : 'the secret has no customer-managed key'}: an AWS-managed key can never be shared with another account.`, 'Encrypt the secret with a CustomerManagedKey.');
  }
  const principal = ctx.grantee.grantPrincipal;
  const secretStatements = statements.filter(s => s.actions.every(a => a.startsWith('secretsmanager:')));
  // Written through Grant.addStatementToResourcePolicy, so the Grant reports success (as Secret's does).
  const grants = secretStatements.map((s, i) => iam.Grant.addStatementToResourcePolicy({
    grantee: ctx.grantee,
    actions: s.actions,
    resourceArns: [ctx.secretResource],
    resource: secret,
    statement: new iam.PolicyStatement({
      sid: `CrossAccount${kind[0].toUpperCase()}${kind.slice(1)}${ctx.crossAccount}${String.fromCharCode(65 + i)}${secret._nextSid()}`,
      actions: s.actions,
      principals: [principal],
      resources: ['*'],
      conditions: s.conditions,
    }),
  }));
  secret._allowAccount(ctx.crossAccount!);
  // The key policy cannot name the secret's ARN (the secret refers to the
  // key: a cycle), so it allows secrets of this account by pattern, through
  // Secrets Manager only; the secret's resource policy picks the one secret.
  const stack = Stack.of(secret);
  const name = secret._literalName;
  const secretPattern = `arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:${name ? `${name}-??????` : '*'}`;
  const keyStatementsForOther = statements.filter(s => s.actions.some(a => a.startsWith('kms:')));
  for (const s of keyStatementsForOther) {
    (ctx.key as CustomerManagedKey).addToResourcePolicy(new iam.PolicyStatement({
      sid: 'CrossAccountUsesKeyOnlyViaSecretsManager',
      actions: s.actions,
      principals: [principal],
      resources: ['*'],
      conditions: {
        StringEquals: { 'kms:ViaService': `secretsmanager.${ctx.region}.amazonaws.com` },
        StringLike: { 'kms:EncryptionContext:SecretARN': secretPattern },
      },
    }));
  }
  // The other account's half: an identity policy for it to attach.
  secret._recordCrossAccountStatements(ctx.crossAccount!, statements);
  return combineGrants(grants);
}

/** The ARN (or `<name>-??????` pattern) a strict key policy may name for the secret without depending on it. */
function strictSecretPattern(ctx: GrantContext): string {
  const pattern = (ctx.secret as { _arnPattern?: string })._arnPattern;
  if (pattern !== undefined) return pattern;
  const arn = ctx.secret.secretFullArn;
  if (arn !== undefined && !Token.isUnresolved(arn)) return arn;
  throw propError(ctx.owner, 'secret', 'is encrypted with a key whose accountAccess is AccountAccess.NONE, so the key policy must name the secret, and this secret has no literal name or complete ARN to name it by.', 'Give the ManagedSecret a literal secretName, import the secret by its complete ARN, or use a key with AccountAccess.VIA_SERVICES.');
}

function isAwsManagedKey(key: kms.IKey): boolean {
  const text = JSON.stringify(Stack.of(key).resolve(key.keyArn));
  return text.includes('alias/aws/') || (key as unknown as { aliasName?: string }).aliasName?.startsWith('alias/aws/') === true;
}
