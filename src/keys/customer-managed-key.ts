import { CfnResource, Duration, RemovalPolicy, Stack, Token, TokenComparison } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import {
  applyRoles, assertOperations, grantConditions, isServicePrincipal, usageStatements,
} from './key-roles';
import { hasPositiveCondition, identitiesOfJson } from './normalize';
import { expandActions, KeyPolicyBuilder, SID } from './policy-builder';
import {
  actionsFor, adminActions, isAdminWriteAction, isCryptoAction, KeyOperation, PENDING_WINDOW_DAYS, ROTATION_PERIOD_DAYS,
  USAGE_KEY_SPECS,
} from './roles';
import {
  AccountAccess, EnvelopeEncryptionGrantOptions, KeyGrantOptions, KeyRolesProps, KeyUseGrantOptions, StorageEncryptionOptions,
} from './types';
import { propError } from '../errors';
import { combineGrants, identityGrantee } from '../grants/grants-policy';

/** Properties of a `CustomerManagedKey`. */
export interface CustomerManagedKeyProps extends KeyRolesProps {
  /**
   * An alias for the key, with or without the `alias/` prefix.
   *
   * @default - no alias
   */
  readonly alias?: string;

  /**
   * A description of the key: what it protects and who owns it.
   *
   * @default - no description
   */
  readonly description?: string;

  /**
   * The kind of key material.
   *
   * @default KeySpec.SYMMETRIC_DEFAULT
   */
  readonly keySpec?: kms.KeySpec;

  /**
   * What the key is for. Must match `keySpec`.
   *
   * @default KeyUsage.ENCRYPT_DECRYPT
   */
  readonly keyUsage?: kms.KeyUsage;

  /**
   * Whether KMS rotates the key material automatically. Only symmetric
   * encryption keys can rotate.
   *
   * @default - true for symmetric keys, false otherwise
   */
  readonly enableKeyRotation?: boolean;

  /**
   * How often the key material rotates, between 90 and 2560 days.
   *
   * @default - 365 days (the KMS default)
   */
  readonly rotationPeriod?: Duration;

  /**
   * How long a key waits, after it is scheduled for deletion, before it is
   * deleted: between 7 and 30 days.
   *
   * @default Duration.days(30)
   */
  readonly pendingWindow?: Duration;

  /**
   * What happens to the key when it is removed from the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * Whether the key is a multi-Region primary key, which
   * `CustomerManagedKeyReplica` can replicate to other regions.
   *
   * @default false
   */
  readonly multiRegion?: boolean;

  /**
   * Whether the key is enabled.
   *
   * @default true
   */
  readonly enabled?: boolean;

  /**
   * Make this key its stack's default key (`CustomerManagedKey.forStack`):
   * the `ManagedSecret`s, `RotationFunction`s and `KeysAndSecretsMonitoring`
   * of the stack that are not given a key then use it, so the stack has this
   * one key. Create it before any of them; a stack has at most one default key.
   *
   * @default false
   */
  readonly stackDefault?: boolean;
}

const OWNER = 'CustomerManagedKey';

/**
 * A KMS customer-managed key whose key policy separates administrators, who
 * manage the key and are denied its use, from users, who use it and are
 * denied its management.
 *
 * - The account root never gets `kms:*`. By default it gets the
 *   administrative actions only, so the key can never be locked out.
 * - Every grant, including those aws-cdk-lib makes through `kms.IKey`
 *   (`bucket.grantRead(role)` calls `grantDecrypt`), lands in the key policy
 *   where it works under that separation. Grants with the same actions and
 *   conditions share one statement.
 * - Bad configurations (a lockout, a principal in two roles, an unbounded
 *   `Principal: "*"`, a policy over 32 KB, impossible rotation or key-spec
 *   settings) fail at synth time with an error that names the property.
 *
 * Pass it anywhere aws-cdk-lib takes a `kms.IKey`.
 *
 * @example
 * declare const adminRole: iam.IRole;
 * declare const appRole: iam.IRole;
 * const key = new CustomerManagedKey(this, 'Key', {
 *   alias: 'payments',
 *   administrators: [adminRole],
 *   users: [appRole],
 * });
 */
export class CustomerManagedKey extends kms.Key {
  /**
   * Whether `x` is a `CustomerManagedKey`.
   * @param x any value; true also for a key of another copy of this library.
   */
  public static isCustomerManagedKey(x: any): x is CustomerManagedKey {
    return typeof x === 'object' && x !== null && (x as Record<symbol, unknown>)[CMK_SYMBOL] === true;
  }

  /**
   * The default key of the stack that `scope` is in: the key that
   * `ManagedSecret`, `RotationFunction` and `KeysAndSecretsMonitoring` use
   * when they are not given one, so that a stack has one key unless asked
   * for more. It is the key created with `stackDefault: true` in that stack,
   * or else a `CustomerManagedKey` created on first use with the defaults
   * (account administers, use only through services or by named
   * principals, rotation on, retained, 30-day deletion window), at the
   * stack's root with the ID `CdkKmsSecretsDefaultKey`.
   *
   * Per stack (a nested stack has its own): a construct in another stack
   * gets that stack's default key, never this one.
   *
   * @param scope any construct of the stack
   */
  public static forStack(scope: Construct): CustomerManagedKey {
    const stack = Stack.of(scope);
    const existing = (stack as unknown as Record<symbol, CustomerManagedKey | undefined>)[DEFAULT_KEY_SYMBOL];
    if (existing) return existing;
    return new CustomerManagedKey(stack, DEFAULT_KEY_ID, {
      description: 'Default key of cdk-kms-secrets for this stack: encrypts the secrets, rotation functions and monitoring topic not given a key',
      stackDefault: true,
    });
  }

  /** Whether this key is its stack's default key (`forStack`). */
  public readonly stackDefault: boolean;
  /** What the key is for. */
  public readonly keyUsage: kms.KeyUsage;
  /** The kind of key material. */
  public readonly keySpec: kms.KeySpec;
  /** Whether the key is a multi-Region primary key. */
  public readonly multiRegion: boolean;
  /** The role properties the key was created with, for replicas to reuse. */
  public readonly roles: KeyRolesProps;
  /** Whether the account may use the key through AWS services, or only the principals its policy names. */
  public readonly accountAccess: AccountAccess;

  /**
   * While above zero, aws-cdk-lib's account-wide delegations through Secrets
   * Manager are not written (ManagedSecret names its principals instead).
   * @internal
   */
  public _namedSecretsOnly = 0;

  private readonly builder: KeyPolicyBuilder;
  /** Services given `allowStorageEncryptionBy` explicitly. */
  private readonly storageServices = new Set<string>();
  /** Stacks whose grantees the key policy names (the key's stack depends on them), and those granted through a service (they depend on it). */
  private readonly namedStacks = new Set<Stack>();
  private readonly delegatedStacks = new Set<Stack>();

  /**
   * @param scope the construct the key belongs to.
   * @param id the key's construct ID, unique within `scope`.
   * @param props the key's roles (administrators, users, service users), usage and options.
   */
  constructor(scope: Construct, id: string, props: CustomerManagedKeyProps = {}) {
    const keySpec = props.keySpec ?? kms.KeySpec.SYMMETRIC_DEFAULT;
    const keyUsage = props.keyUsage ?? kms.KeyUsage.ENCRYPT_DECRYPT;
    validateKeyProps(props, keySpec, keyUsage);
    const accountUse = (props.accountAccess ?? AccountAccess.VIA_SERVICES) === AccountAccess.VIA_SERVICES;
    const builder = new KeyPolicyBuilder(scope, props.multiRegion ?? false, accountUse);
    const symmetric = keySpec === kms.KeySpec.SYMMETRIC_DEFAULT;

    super(scope, id, {
      policy: builder.document,
      alias: props.alias,
      description: props.description,
      keySpec,
      keyUsage,
      enableKeyRotation: props.enableKeyRotation ?? symmetric,
      rotationPeriod: props.rotationPeriod,
      pendingWindow: props.pendingWindow ?? Duration.days(PENDING_WINDOW_DAYS.max),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      multiRegion: props.multiRegion,
      enabled: props.enabled,
    });
    Object.defineProperty(this, CMK_SYMBOL, { value: true });
    this.stackDefault = props.stackDefault ?? false;
    if (this.stackDefault) {
      const stack = Stack.of(this);
      const existing = (stack as unknown as Record<symbol, CustomerManagedKey | undefined>)[DEFAULT_KEY_SYMBOL];
      if (existing) {
        throw propError(OWNER, 'stackDefault', `stack ${stack.node.path} already has a default key, ${existing.node.path}${existing.node.id === DEFAULT_KEY_ID ? ' (created when a construct that was not given a key took the default)' : ''}.`, 'Create the key with stackDefault: true before any ManagedSecret, RotationFunction or KeysAndSecretsMonitoring without a key, or pass this key to them explicitly (encryptionKey).');
      }
      Object.defineProperty(stack, DEFAULT_KEY_SYMBOL, { value: this });
    }
    this.builder = builder;
    this.keyUsage = keyUsage;
    this.keySpec = keySpec;
    this.multiRegion = props.multiRegion ?? false;
    this.roles = props;
    this.accountAccess = props.accountAccess ?? AccountAccess.VIA_SERVICES;
    // Grants made through aws-cdk-lib's KeyGrants must land in the key policy:
    // with separated roles, an identity policy alone can never use this key.
    (this as unknown as { trustAccountIdentities: boolean }).trustAccountIdentities = false;

    applyRoles(this, OWNER, builder, props, keyUsage);
    // Drop-in: an RDS database (or its Performance Insights, or its RDS-managed master secret) on this
    // key gets the statements RDS needs, found again whenever the policy is built.
    builder.addLazyStatements(() => this.detectedServiceStatements());
    this.node.addValidation({
      validate: () => [
        ...builder.validate('Name at least one principal in `administrators`, or leave `allowAccountToAdminister` at its default (true).', this.sizeFix()),
        ...this.identityOnlyGrants(),
        ...this.policyReplaced(),
        ...this.strictStorageWithoutPrincipals(),
      ],
    });
    // L1 paths (s3.BucketGrants.fromBucket(cfnBucket), the SQS/SNS/DynamoDB traits) reach the
    // CfnKey; its resource-policy trait is this key, so they land in the key policy too.
    iam.ResourceWithPolicies.register(this, 'AWS::KMS::Key', { forResource: () => this });
  }

  /**
   * aws-cdk-lib's `KeyGrants` for this key: every method goes through this
   * key's own grant methods (`decrypt` is `grantDecrypt`, `actions` is
   * `grant`, `admin` is `grantAdmin`), so the key-level narrowing and the
   * role model apply however a grant is written.
   */
  public get grants(): kms.KeyGrants {
    const grants = kms.KeyGrants.fromKey(this, false);
    Object.assign(grants, {
      actions: (grantee: iam.IGrantable, ...actions: string[]) => this.grant(grantee, ...actions),
      admin: (grantee: iam.IGrantable) => this.grantAdmin(grantee),
      decrypt: (grantee: iam.IGrantable) => this.grantDecrypt(grantee),
      encrypt: (grantee: iam.IGrantable) => this.grantEncrypt(grantee),
      encryptDecrypt: (grantee: iam.IGrantable) => this.grantEncryptDecrypt(grantee),
      sign: (grantee: iam.IGrantable) => this.grantSign(grantee),
      verify: (grantee: iam.IGrantable) => this.grantVerify(grantee),
      signVerify: (grantee: iam.IGrantable) => this.grantSignVerify(grantee),
      generateMac: (grantee: iam.IGrantable) => this.grantGenerateMac(grantee),
      verifyMac: (grantee: iam.IGrantable) => this.grantVerifyMac(grantee),
    });
    return grants;
  }

  /**
   * Allow a principal to use the key for the given operations, optionally
   * only through a service, with an encryption context, or from an account.
   *
   * The grant lands in the key policy (merged with grants that have the same
   * actions and conditions). A grantee in another stack that passes
   * `viaService` is written as an account delegation conditioned on the
   * service, plus an identity policy, so the key's stack never depends on the
   * grantee's; without `viaService`, the key's stack depends on the grantee's
   * (and it is an error if the grantee's stack already depends on the key's).
   * @param grantee the principal allowed to use the key.
   * @param options the operations, and optionally the service, encryption context or account that narrow the grant.
   */
  public grantUse(grantee: iam.IGrantable, options: KeyUseGrantOptions): iam.Grant {
    assertOperations(`${OWNER}.grantUse`, this.keyUsage, options.operations);
    return this.placeUsageGrant(grantee, actionsFor(options.operations), options);
  }

  /**
   * Allow a principal to generate data keys (`kms:GenerateDataKey`, no
   * plaintext `Encrypt`): the fast path of envelope encryption.
   * @param grantee the principal allowed to generate data keys.
   * @param options the service, encryption context or account that narrow the grant (none by default).
   */
  public grantGenerateDataKey(grantee: iam.IGrantable, options: KeyGrantOptions = {}): iam.Grant {
    return this.grantUse(grantee, { ...options, operations: [KeyOperation.GENERATE_DATA_KEY] });
  }

  /**
   * Envelope encryption: allow exactly `kms:GenerateDataKey` (no plaintext
   * `Encrypt`, no `GenerateDataKey*` variants) and `kms:Decrypt`, each only
   * with the given encryption context.
   * @param grantee the principal allowed to generate and decrypt data keys.
   * @param options the encryption context every request must carry (required, not empty).
   */
  public grantEnvelopeEncryption(grantee: iam.IGrantable, options: EnvelopeEncryptionGrantOptions): iam.Grant {
    if (this.keyUsage !== kms.KeyUsage.ENCRYPT_DECRYPT) {
      throw propError(`${OWNER}.grantEnvelopeEncryption`, 'keyUsage', `is ${this.keyUsage}; envelope encryption needs an ENCRYPT_DECRYPT key.`, 'Use a symmetric ENCRYPT_DECRYPT key.');
    }
    if (!options.encryptionContext || Object.keys(options.encryptionContext).length === 0) {
      throw propError(`${OWNER}.grantEnvelopeEncryption`, 'encryptionContext', 'is required and must not be empty: without it any data key of this key could be decrypted.', "Pass the context your data keys are bound to, for example { tenant: 'acme' }.");
    }
    return this.placeUsageGrant(grantee, ['kms:Decrypt', 'kms:GenerateDataKey'], options);
  }

  /**
   * Allow a principal to decrypt (kms.IKey). Use `grantUse` to narrow it.
   * @param grantee the principal allowed to decrypt.
   */
  public grantDecrypt(grantee: iam.IGrantable): iam.Grant {
    return this.grantUse(grantee, { operations: [KeyOperation.DECRYPT] });
  }

  /**
   * Allow a principal to encrypt and generate data keys (kms.IKey). Use `grantUse` to narrow it.
   * @param grantee the principal allowed to encrypt.
   */
  public grantEncrypt(grantee: iam.IGrantable): iam.Grant {
    return this.grantUse(grantee, { operations: [KeyOperation.ENCRYPT] });
  }

  /**
   * Allow a principal to encrypt and decrypt (kms.IKey). Use `grantUse` to narrow it.
   * @param grantee the principal allowed to encrypt and decrypt.
   */
  public grantEncryptDecrypt(grantee: iam.IGrantable): iam.Grant {
    return this.grantUse(grantee, { operations: [KeyOperation.ENCRYPT, KeyOperation.DECRYPT] });
  }

  /**
   * Allow a principal to sign (kms.IKey, SIGN_VERIFY keys).
   * @param grantee the principal allowed to sign.
   */
  public grantSign(grantee: iam.IGrantable): iam.Grant {
    return this.grantUse(grantee, { operations: [KeyOperation.SIGN] });
  }

  /**
   * Allow a principal to verify (kms.IKey, SIGN_VERIFY keys).
   * @param grantee the principal allowed to verify signatures.
   */
  public grantVerify(grantee: iam.IGrantable): iam.Grant {
    return this.grantUse(grantee, { operations: [KeyOperation.VERIFY] });
  }

  /**
   * Allow a principal to sign and verify (kms.IKey, SIGN_VERIFY keys).
   * @param grantee the principal allowed to sign and verify.
   */
  public grantSignVerify(grantee: iam.IGrantable): iam.Grant {
    return this.grantUse(grantee, { operations: [KeyOperation.SIGN, KeyOperation.VERIFY] });
  }

  /**
   * Allow a principal to generate MACs (kms.IKey, HMAC keys).
   * @param grantee the principal allowed to generate MACs.
   */
  public grantGenerateMac(grantee: iam.IGrantable): iam.Grant {
    return this.grantUse(grantee, { operations: [KeyOperation.GENERATE_MAC] });
  }

  /**
   * Allow a principal to verify MACs (kms.IKey, HMAC keys).
   * @param grantee the principal allowed to verify MACs.
   */
  public grantVerifyMac(grantee: iam.IGrantable): iam.Grant {
    return this.grantUse(grantee, { operations: [KeyOperation.VERIFY_MAC] });
  }

  /**
   * Make a principal an administrator: the administrative actions, and an
   * explicit Deny of every cryptographic action. It must be a named IAM
   * principal that is not already a user.
   * @param grantee a named IAM principal (a role or user, not a service or `*`) that is not a user of the key.
   */
  public grantAdmin(grantee: iam.IGrantable): iam.Grant {
    return this.adminGrant(grantee, adminActions(this.multiRegion), `${OWNER}.grantAdmin`);
  }

  /**
   * Allow exactly the given actions (any case; wildcards are expanded
   * against every KMS action). Usage actions are placed like `grantUse`;
   * management actions are granted exactly as asked, in a statement of their
   * own, and make the grantee an administrator (denied every use): only
   * `grantAdmin` gives the whole administrator set. A mix of both is an error.
   * @param grantee the principal the actions are granted to.
   * @param actions KMS actions, in any case, wildcards allowed; all management or all usage actions, not both.
   */
  public grant(grantee: iam.IGrantable, ...actions: string[]): iam.Grant {
    const label = `${OWNER}.grant`;
    const expanded = expandActions(actions, label);
    if (expanded.some(isAdminWriteAction)) {
      if (expanded.some(isCryptoAction)) {
        throw propError(label, 'actions', `${actions.join(', ')} covers both management actions (${expanded.filter(isAdminWriteAction).slice(0, 4).join(', ')}) and usage actions (${expanded.filter(isCryptoAction).slice(0, 4).join(', ')}).`, 'Administrators manage and users use: call grantAdmin() or grant() with management actions, and grantUse() with usage actions, for different principals.');
      }
      return this.adminGrant(grantee, expanded, label);
    }
    return this.placeUsageGrant(grantee, expanded, {});
  }

  /**
   * Add a statement to the key policy. Statements are checked against the
   * role model (no `kms:*`, no unbounded `Principal: "*"`, no principal that
   * both manages and uses the key) and merged when they differ only in
   * principals.
   * @param statement the key-policy statement; refused with our error if it breaks the role model.
   * @param _allowNoOp ignored (kms.IKey's signature): a statement is always added or refused.
   */
  public addToResourcePolicy(statement: iam.PolicyStatement, _allowNoOp?: boolean): iam.AddToResourcePolicyResult {
    this.builder.addStatement(statement, `${OWNER}.addToResourcePolicy`);
    return { statementAdded: true, policyDependable: this.builder.document };
  }

  /**
   * Let an AWS service encrypt the storage of the resources it creates with
   * this key (for example `'rds'`, for `storageEncryptionKey` of an RDS
   * instance or Aurora cluster), for callers of this account only and only
   * through that service in the key's region: `kms:DescribeKey`, `Encrypt`,
   * `Decrypt`, `ReEncrypt*` and `GenerateDataKey`/`GenerateDataKeyWithoutPlaintext`
   * with `kms:ViaService` and `kms:CallerAccount`, and `kms:CreateGrant`
   * only for a grant to an AWS resource (`kms:GrantIsForAWSResource`), which
   * is how the service keeps using the key after the call. The statements
   * pass the same checks as every other grant (a principal named here becomes
   * a user, never an administrator).
   *
   * An `rds.DatabaseInstance` or `rds.DatabaseCluster` whose
   * `storageEncryptionKey` (or `performanceInsightEncryptionKey`) is this key
   * gets this for `rds` without the call: the key finds them in the app.
  *
  * @param service the AWS service that encrypts its storage with this key (today `rds`).
  * @param options who may make the service create its grants (needed on a strict key).
   */
  public allowStorageEncryptionBy(service: string, options: StorageEncryptionOptions = {}): void {
    const label = `${OWNER}.allowStorageEncryptionBy`;
    if (this.keyUsage !== kms.KeyUsage.ENCRYPT_DECRYPT || this.keySpec !== kms.KeySpec.SYMMETRIC_DEFAULT) {
      throw propError(label, 'service', `this is a ${this.keySpec} ${this.keyUsage} key; AWS services encrypt storage only with symmetric ENCRYPT_DECRYPT keys.`, 'Use a CustomerManagedKey with the default key spec and usage.');
    }
    if (Token.isUnresolved(service) || !/^[a-z0-9-]+(\.[a-z0-9-]+\.amazonaws\.com(\.cn)?)?$/.test(service)) {
      throw propError(label, 'service', `'${service}' is not an AWS service name.`, "Pass the service's name, for example 'rds' (or its endpoint, rds.eu-west-1.amazonaws.com).");
    }
    const principals = options.principals ?? [];
    if (principals.length === 0 && this.accountAccess === AccountAccess.NONE) {
      throw propError(label, 'principals', `is empty, and the key's accountAccess is AccountAccess.NONE: nothing is delegated to the account, so no caller could ask ${service} to use the key.`, 'Name the principals that create the encrypted resources (the role CloudFormation deploys with, and any role that restores or copies snapshots), or use AccountAccess.VIA_SERVICES.');
    }
    this.storageServices.add(service.split('.')[0]);
    for (const s of this.storageStatements(service, principals.length > 0 ? principals : [new iam.AccountRootPrincipal()], label)) {
      this.builder.addStatement(s, label);
    }
  }

  /** The statements of `allowStorageEncryptionBy` for some principals (the account by default). */
  private storageStatements(
    service: string, principals: iam.IPrincipal[], label: string, encryptionContextLike?: Record<string, string>,
  ): iam.PolicyStatement[] {
    const account = Stack.of(this).account;
    const statements: iam.PolicyStatement[] = [];
    for (const principal of principals) {
      const named = !(principal instanceof iam.AccountRootPrincipal);
      const sid = named ? 'UsersEncryptStorageViaService' : 'AccountEncryptsStorageViaService';
      const conditions = grantConditions(this, label, this.roles, principal, { viaService: service, callerAccount: account });
      if (encryptionContextLike) {
        conditions.withContext = { ...conditions.withContext, StringLike: encryptionContextLike };
      }
      statements.push(...usageStatements(STORAGE_ACTIONS, principal, conditions, sid, true));
      statements.push(new iam.PolicyStatement({
        sid: named ? 'UsersCreateGrantsForAwsResourcesViaService' : 'AccountCreatesGrantsForAwsResourcesViaService',
        actions: ['kms:CreateGrant'],
        principals: [principal],
        resources: ['*'],
        conditions: { ...conditions.withoutContext, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      }));
    }
    return statements;
  }

  /**
   * RDS resources of the app that use this key: the databases and Performance
   * Insights stored with it get `allowStorageEncryptionBy('rds')` for the
   * account; an RDS-managed master secret on it (`MasterUserSecret.KmsKeyId`)
   * gets encryption through Secrets Manager for RDS's `rds!...` secrets only.
   * On a key with accountAccess NONE, nothing is added here (the account gets
   * nothing): call `allowStorageEncryptionBy` with `principals`.
   */
  private detectedServiceStatements(): Array<[iam.PolicyStatement, string]> {
    if (this.accountAccess === AccountAccess.NONE) return [];
    return this.rdsStatements();
  }

  /** A strict key used by an RDS database without `allowStorageEncryptionBy('rds', { principals })`: RDS could not use it. */
  private strictStorageWithoutPrincipals(): string[] {
    if (this.accountAccess !== AccountAccess.NONE || this.storageServices.has('rds')) return [];
    const users = this.rdsUsers();
    if (users.length === 0) return [];
    return [propError(`${OWNER}.allowStorageEncryptionBy`, 'principals', `the key's accountAccess is AccountAccess.NONE, and ${users.join(', ')} use it through RDS: nothing lets a caller ask RDS to use it, so creating the database would fail.`, "Call key.allowStorageEncryptionBy('rds', { principals: [deployRole] }) with the role CloudFormation deploys with (and any role that restores snapshots), or use AccountAccess.VIA_SERVICES.").message];
  }

  /** The paths of the RDS resources of the app that use this key. */
  private rdsUsers(): string[] {
    const mine = (v: unknown) => typeof v === 'string' && (v === this.keyArn || v === this.keyId);
    const out: string[] = [];
    for (const c of this.node.root.node.findAll()) {
      if (!CfnResource.isCfnResource(c)) continue;
      if (c.cfnResourceType !== 'AWS::RDS::DBInstance' && c.cfnResourceType !== 'AWS::RDS::DBCluster') continue;
      const l1 = c as unknown as { kmsKeyId?: unknown; performanceInsightsKmsKeyId?: unknown; masterUserSecret?: { kmsKeyId?: unknown } };
      if (mine(l1.kmsKeyId) || mine(l1.performanceInsightsKmsKeyId) || mine(l1.masterUserSecret?.kmsKeyId)) out.push(c.node.path);
    }
    return out;
  }

  private rdsStatements(): Array<[iam.PolicyStatement, string]> {
    const mine = (v: unknown) => typeof v === 'string' && (v === this.keyArn || v === this.keyId);
    let storage = false;
    let managedSecret = false;
    for (const c of this.node.root.node.findAll()) {
      if (!CfnResource.isCfnResource(c)) continue;
      if (c.cfnResourceType !== 'AWS::RDS::DBInstance' && c.cfnResourceType !== 'AWS::RDS::DBCluster') continue;
      const l1 = c as unknown as { kmsKeyId?: unknown; performanceInsightsKmsKeyId?: unknown; masterUserSecret?: { kmsKeyId?: unknown } };
      if (mine(l1.kmsKeyId) || mine(l1.performanceInsightsKmsKeyId)) storage = true;
      if (mine(l1.masterUserSecret?.kmsKeyId)) managedSecret = true;
    }
    const label = `${OWNER} (used by an RDS database)`;
    const out: Array<[iam.PolicyStatement, string]> = [];
    const account = [new iam.AccountRootPrincipal()];
    if (storage) out.push(...this.storageStatements('rds', account, label).map(s => [s, label] as [iam.PolicyStatement, string]));
    if (managedSecret) {
      const stack = Stack.of(this);
      const rdsSecrets = { 'kms:EncryptionContext:SecretARN': `arn:${stack.partition}:secretsmanager:${stack.region}:${stack.account}:secret:rds!*` };
      for (const s of this.storageStatements('secretsmanager', account, label, rdsSecrets)) {
        // Secrets Manager needs no grant of its own: only the use statements.
        if (!s.actions.includes('kms:CreateGrant')) out.push([s, label]);
      }
    }
    return out;
  }

  /**
   * Identity statements in this key's stack that allow a use of this key
   * (not through a service) to a role the key policy does not name: they do
   * nothing, since the key policy delegates no direct use to the account.
   * `KeyGrants.fromKey(key)` with aws-cdk-lib's default trust writes exactly
   * these, and so does a hand-written `role.addToPolicy(...)`.
   */
  private identityOnlyGrants(): string[] {
    const stack = Stack.of(this);
    const keyArn = JSON.stringify(stack.resolve(this.keyArn));
    const errors: string[] = [];
    for (const c of stack.node.findAll()) {
      if (!(c instanceof iam.CfnPolicy) && !(c instanceof iam.CfnManagedPolicy)) continue;
      const doc = stack.resolve(c.policyDocument) as { Statement?: Array<Record<string, any>> } | undefined;
      const roles = (stack.resolve(c.roles) ?? []) as unknown[];
      for (const st of doc?.Statement ?? []) {
        const resources = [st.Resource].flat().map(r => JSON.stringify(r));
        if (st.Effect !== 'Allow' || !resources.includes(keyArn)) continue;
        const use = [st.Action ?? []].flat().filter((a: string) => isCryptoAction(a));
        const viaService = hasPositiveCondition(st.Condition, 'kms:ViaService');
        if (use.length === 0 || viaService) continue;
        for (const role of roles) {
          const ids = identitiesOfJson({ AWS: roleArnOf(role, stack) }, { stack });
          if (ids.some(i => this.builder.roleOfIdentity(i.key) === 'user')) continue;
          errors.push(`[cdk-kms-secrets] CustomerManagedKey: the identity policy ${c.node.path} allows ${use.join(', ')} on this key to ${ids.map(i => i.display).join(', ')}, which the key policy does not name, so the grant does nothing (the key delegates no direct use to the account; KeyGrants.fromKey(key) with aws-cdk-lib's default trust writes such identity-only grants). Fix: grant through the key (key.grantDecrypt(role), key.grants.decrypt(role), key.grantUse(role, ...)), or pass viaService.`);
        }
      }
    }
    return errors;
  }

  /** What to do when the key policy is full: in strict mode, each secret costs statements of its own. */
  private sizeFix(): string | undefined {
    if (this.accountAccess !== AccountAccess.NONE) return undefined;
    const shared = this.stackDefault ? ' This is the stack\'s default key (stackDefault), shared by every ManagedSecret, RotationFunction and monitoring of the stack not given a key.' : '';
    return `With accountAccess NONE the key policy names each principal for each secret (the deploying role once per secret, each reader once per secret it reads; about 38 secrets with one reader each fit one key).${shared} Give groups of secrets keys of their own (ManagedSecret encryptionKey: a CustomerManagedKey per group), or use AccountAccess.VIA_SERVICES, whose grants do not grow the key policy.`;
  }

  /** An escape hatch (`cfnKey.keyPolicy = ...`, an Aspect, `addPropertyOverride('KeyPolicy', ...)`) that bypasses the role model. */
  private policyReplaced(): string[] {
    const cfn = this.node.defaultChild as kms.CfnKey;
    const overrides = (cfn as unknown as { rawOverrides?: { Properties?: Record<string, unknown> } }).rawOverrides?.Properties ?? {};
    const overridden = Object.keys(overrides).some(k => k === 'KeyPolicy' || k.startsWith('KeyPolicy.'));
    if (cfn.keyPolicy === this.builder.document && !overridden) return [];
    return [`[cdk-kms-secrets] CustomerManagedKey: the CfnKey's KeyPolicy was replaced or overridden (${overridden ? 'addPropertyOverride' : 'keyPolicy set'}), which would bypass the role model and every check on it. Fix: add statements with addToResourcePolicy() or the grant methods, or use a plain kms.Key if you must write the policy by hand.`];
  }

  /** The key policy's estimated size in bytes (tokens counted at their likely length). */
  public estimatedPolicySize(): number {
    return this.builder.estimatedSize();
  }

  /**
   * Strict mode (`accountAccess: NONE`): let a named principal use the key
   * through Secrets Manager only, and only for secrets whose ARN matches
   * `secretArnPattern` (a literal ARN, or `...:secret:<name>-??????`).
   * Internal: ManagedSecret, SecretGrants and RotationFunction call it.
   * @internal
   */
  public _grantThroughSecretsManager(grantee: iam.IGrantable, actions: string[], secretArnPattern: string, label: string): void {
    const principal = grantee.grantPrincipal;
    const keyStack = Stack.of(this);
    const granteeStack = iam.principalIsOwnedResource(principal) ? Stack.of(principal) : undefined;
    if (granteeStack && granteeStack !== keyStack) {
      // Its identity policy names the secret (its stack depends on the key's); the key policy would name it (the reverse).
      throw propError(label, 'grantee', `${principal} is in stack ${granteeStack.stackName}, not the key's stack ${keyStack.stackName}; with accountAccess NONE the key policy must name it while its own policy names the secret: a dependency cycle.`, 'Put the grantee in the key\'s stack, or grant iam.Role.fromRoleArn(this, id, \'arn:aws:iam::<account>:role/<name>\') with a literal ARN (give the role a fixed roleName), or use AccountAccess.VIA_SERVICES on this key.');
    }
    const narrowing = grantConditions(this, OWNER, this.roles, principal, { viaService: 'secretsmanager' }).withoutContext;
    this.builder.addStatement(new iam.PolicyStatement({
      sid: 'NamedPrincipalsUseKeyOnlyViaSecretsManager',
      actions,
      principals: [principal],
      resources: ['*'],
      conditions: { ...narrowing, StringLike: { 'kms:EncryptionContext:SecretARN': secretArnPattern } },
    }), label);
  }

  private placeUsageGrant(grantee: iam.IGrantable, actions: string[], options: KeyGrantOptions): iam.Grant {
    const principal = grantee.grantPrincipal;
    if (this._namedSecretsOnly > 0 && this.builder.identitiesOf(principal).some(i => i.kind === 'account')) {
      // aws-cdk-lib's Secret delegates to the account; in strict mode ManagedSecret names its principals instead.
      return iam.Grant.drop(grantee, 'accountAccess NONE: the secret\'s principals are named in the key policy');
    }
    const keyStack = Stack.of(this);
    const granteeStack = iam.principalIsOwnedResource(principal) ? Stack.of(principal) : undefined;
    const crossStack = granteeStack !== undefined && granteeStack !== keyStack;
    const sameAccount = !crossStack || Token.compareStrings(granteeStack.account, keyStack.account) !== TokenComparison.DIFFERENT;

    if (crossStack && sameAccount && options.viaService !== undefined) {
      if (this.namedStacks.has(granteeStack)) throw this.cycle(granteeStack, keyStack);
      this.delegatedStacks.add(granteeStack);
      // Delegate to the account, only through the service and only for callers
      // of this account, and let the grantee's identity policy pick the grantee.
      const account = new iam.AccountRootPrincipal();
      const delegated = grantConditions(this, OWNER, this.roles, account, { ...options, callerAccount: options.callerAccount ?? keyStack.account });
      for (const s of usageStatements(actions, account, delegated, SID.accountViaService)) {
        this.builder.addStatement(s, `${OWNER}.grantUse`);
      }
      const identity = grantConditions(this, OWNER, this.roles, principal, options);
      return combineGrants(usageStatements(actions, principal, identity, 'unused').map(s => iam.Grant.addToPrincipal({
        grantee: identityGrantee(grantee), actions: s.actions, resourceArns: [this.keyArn], conditions: s.conditions,
      })));
    }

    if (crossStack && this.delegatedStacks.has(granteeStack)) throw this.cycle(granteeStack, keyStack);
    if (crossStack) this.namedStacks.add(granteeStack);
    if (crossStack && granteeStack.dependencies.includes(keyStack)) {
      throw propError(`${OWNER}.grantUse`, 'viaService', `the grantee ${principal} is in stack ${granteeStack.stackName}, which already depends on the key's stack ${keyStack.stackName}; naming it in the key policy would create a dependency cycle.`, 'Pass `viaService` (the grant then becomes an identity policy plus a service-scoped account delegation), or grant from a principal in the key\'s stack.');
    }
    const conditions = grantConditions(this, OWNER, this.roles, principal, options);
    const sid = this.builder.isNamedPrincipal(principal) ? SID.users
      : isServicePrincipal(this, principal) ? SID.services : SID.accountViaService;
    const grant = combineGrants(usageStatements(actions, principal, conditions, sid).map(s => this.liveGrant(grantee, s, `${OWNER}.grantUse`)));
    if (crossStack && !sameAccount) {
      // A grantee of another account also needs its own identity policy, in its own stack (as kms.Key writes).
      return grant.combine(iam.Grant.addToPrincipal({ grantee: identityGrantee(grantee), actions, resourceArns: [this.keyArn] }));
    }
    return grant;
  }

  /** A grant that would make the key's stack and the grantee's depend on each other. */
  private cycle(granteeStack: Stack, keyStack: Stack): Error {
    return propError(`${OWNER}.grantUse`, 'viaService', `grantees in stack ${granteeStack.stackName} are granted both through a service (their identity policies name the key, so that stack depends on ${keyStack.stackName}) and without one (the key policy names them, so ${keyStack.stackName} depends on that stack): a dependency cycle.`, 'Grant every principal of that stack with `viaService` (grantUse), or none of them.');
  }

  /** Management actions for a named principal: checked like `administrators`, in a statement of its own. */
  private adminGrant(grantee: iam.IGrantable, actions: string[], label: string): iam.Grant {
    const principal = grantee.grantPrincipal;
    if (!this.builder.isNamedPrincipal(principal)) {
      // The same check and message as the administrators property.
      this.builder.addAdministrators([principal], label, actions);
    }
    // With the principal, so its own conditions (PrincipalWithConditions) are the statement's.
    return this.liveGrant(grantee, new iam.PolicyStatement({ sid: SID.admins, actions, resources: ['*'], principals: [principal] }), label);
  }

  /**
   * A grant whose statement is live in the key policy: the Grant's
   * `principalStatement` is the very statement the key policy is built from
   * at synth (for the grantee), so conditions or actions added to it later
   * (as `ec2.Volume.grantAttachVolume` does) reach the key policy, and are
   * judged again there. No identity policy is written: the key policy names
   * the grantee, which is all KMS needs in the key's account.
   */
  private liveGrant(grantee: iam.IGrantable, statement: iam.PolicyStatement, label: string): iam.Grant {
    const principal = grantee.grantPrincipal;
    let live: iam.PolicyStatement | undefined;
    const recorder: iam.IPrincipal = {
      get grantPrincipal() { return recorder; },
      assumeRoleAction: principal.assumeRoleAction,
      policyFragment: principal.policyFragment,
      principalAccount: principal.principalAccount,
      addToPrincipalPolicy: (st: iam.PolicyStatement) => { live = st; return { statementAdded: true, policyDependable: this }; },
    };
    const grant = iam.Grant.addToPrincipal({
      grantee: { grantPrincipal: recorder },
      actions: statement.actions,
      resourceArns: [this.keyArn],
      conditions: statement.conditions,
    });
    live!.sid = statement.sid;
    this.builder.addStatement(live!, label, false, [principal]);
    return grant;
  }
}

/** The ARN of a role that a policy's `Roles` lists by name ({ Ref: Role } or a literal name). */
function roleArnOf(role: unknown, stack: Stack): unknown {
  if (typeof role === 'string') return `arn:aws:iam::${Token.isUnresolved(stack.account) ? '{ACCOUNT}' : stack.account}:role/${role}`;
  const ref = (role as { Ref?: unknown } | undefined)?.Ref;
  return typeof ref === 'string' ? { 'Fn::GetAtt': [ref, 'Arn'] } : role;
}

const CMK_SYMBOL = Symbol.for('cdk-kms-secrets.CustomerManagedKey');
const DEFAULT_KEY_SYMBOL = Symbol.for('cdk-kms-secrets.CustomerManagedKey.stackDefault');
const DEFAULT_KEY_ID = 'CdkKmsSecretsDefaultKey';

/** What a service encrypting storage (RDS, EBS...) calls besides CreateGrant and DescribeKey. */
const STORAGE_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo'];

/** A Duration in whole days, checked before aws-cdk-lib's own conversion can fail with its message. */
function wholeDays(prop: string, d: Duration): number {
  if (d.isUnresolved()) {
    throw propError(OWNER, prop, 'is a token; the number of days must be known at synth.', 'Pass a literal Duration, for example Duration.days(30).');
  }
  const hours = d.toHours({ integral: false });
  if (!Number.isInteger(hours / 24)) {
    throw propError(OWNER, prop, `${d.toHumanString()} is not a whole number of days.`, `Use Duration.days(${Math.round(hours / 24)}) or another whole number of days.`);
  }
  return hours / 24;
}

/** kms.KeyProps a JavaScript or Python caller may pass, which this key does not honour, with what to use instead. */
const BASE_PROPS_REFUSED: Record<string, string> = {
  admins: 'Use `administrators`: kms.Key grants `admins` through IAM policies, which this key\'s policy does not delegate to, and without the Deny of use.',
  policy: 'Use `administrators`, `users`, `encryptors`, `decryptors` and `serviceUsers`, and addToResourcePolicy() for any other statement: the key policy is built from the role model.',
  trustAccountIdentities: 'Leave it out: this key never lets IAM policies alone use it (see `accountAccess`).',
};

function validateKeyProps(props: CustomerManagedKeyProps, keySpec: kms.KeySpec, keyUsage: kms.KeyUsage): void {
  for (const [prop, fix] of Object.entries(BASE_PROPS_REFUSED)) {
    if ((props as Record<string, unknown>)[prop] !== undefined) {
      throw propError(OWNER, prop, 'is a kms.KeyProps property that CustomerManagedKey does not honour.', fix);
    }
  }
  const specs = USAGE_KEY_SPECS[keyUsage] ?? [];
  if (!specs.includes(keySpec)) {
    throw propError(OWNER, 'keyUsage', `${keyUsage} is not possible with key spec ${keySpec}.`, `For ${keyUsage} use one of ${specs.join(', ')}; or change keyUsage to match ${keySpec}.`);
  }
  const symmetric = keySpec === kms.KeySpec.SYMMETRIC_DEFAULT;
  if (props.enableKeyRotation === true && !symmetric) {
    const kind = keySpec.startsWith('HMAC') ? 'HMAC' : 'asymmetric';
    throw propError(OWNER, 'enableKeyRotation', `KMS cannot rotate ${kind} keys (${keySpec}).`, 'Leave enableKeyRotation unset for this key spec, or use KeySpec.SYMMETRIC_DEFAULT.');
  }
  if (props.rotationPeriod !== undefined) {
    if (!symmetric || props.enableKeyRotation === false) {
      throw propError(OWNER, 'rotationPeriod', 'is set but the key does not rotate.', 'Remove rotationPeriod, or use a symmetric key with rotation enabled.');
    }
    const days = wholeDays('rotationPeriod', props.rotationPeriod);
    if (days < ROTATION_PERIOD_DAYS.min || days > ROTATION_PERIOD_DAYS.max) {
      throw propError(OWNER, 'rotationPeriod', `${days} days is outside the ${ROTATION_PERIOD_DAYS.min}-${ROTATION_PERIOD_DAYS.max} days KMS allows.`, `Use a Duration between Duration.days(${ROTATION_PERIOD_DAYS.min}) and Duration.days(${ROTATION_PERIOD_DAYS.max}).`);
    }
  }
  if (props.pendingWindow !== undefined) {
    const days = wholeDays('pendingWindow', props.pendingWindow);
    if (days < PENDING_WINDOW_DAYS.min || days > PENDING_WINDOW_DAYS.max) {
      throw propError(OWNER, 'pendingWindow', `${days} days is outside the ${PENDING_WINDOW_DAYS.min}-${PENDING_WINDOW_DAYS.max} days KMS allows.`, `Use a Duration between Duration.days(${PENDING_WINDOW_DAYS.min}) and Duration.days(${PENDING_WINDOW_DAYS.max}).`);
    }
  }
  if (props.alias !== undefined && !Token.isUnresolved(props.alias)) {
    const name = props.alias.startsWith('alias/') ? props.alias : `alias/${props.alias}`;
    if (name.startsWith('alias/aws/') || !/^alias\/[a-zA-Z0-9:/_-]+$/.test(name)) {
      throw propError(OWNER, 'alias', `'${props.alias}' is not a valid customer alias.`, 'Use letters, digits, /, _, - and :, and do not start with aws/ (reserved for AWS-managed keys).');
    }
  }
}
