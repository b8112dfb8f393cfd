import * as iam from 'aws-cdk-lib/aws-iam';
import { KeyOperation } from './roles';

/** Whether the account may use a key through AWS services, or only principals the key policy names. */
export enum AccountAccess {
  /**
   * The account may use the key, but only through an AWS service
   * (`kms:ViaService`) and only for callers of the account: how aws-cdk-lib
   * integrations grant (a `Secret` delegates encrypt and decrypt through
   * Secrets Manager to the account). Any principal whose IAM policy allows
   * the service call and `kms:Decrypt` can then use it through that service.
   */
  VIA_SERVICES = 'VIA_SERVICES',
  /**
   * No delegation of use to the account or to "*": only principals named in
   * the key policy can use the key. `ManagedSecret`, `SecretGrants` and the
   * rotation functions then name each reader, writer and rotator in the key
   * policy with the `SecretARN` encryption context of its secrets.
   */
  NONE = 'NONE',
}

/**
 * Who may manage and who may use a key. The key policy is built from these
 * roles; nothing else is trusted.
 */
export interface KeyRolesProps {
  /**
   * Principals that manage the key and never use it. They are allowed the
   * administrative actions (describe, enable/disable, key policy, aliases,
   * tags, rotation, deletion) and explicitly denied every cryptographic
   * action, so no IAM policy, not even `kms:*`, can make them users.
   *
   * Must be named IAM principals (roles, users or their ARNs), never the
   * account root or `*`.
   *
   * @default - none; the account manages the key (see `allowAccountToAdminister`)
   */
  readonly administrators?: iam.IPrincipal[];

  /**
   * Whether the account root gets the administrative actions, so the
   * account's IAM administrators can manage the key and it can never be
   * locked out. The account never gets usage actions.
   *
   * Setting this to `false` requires at least one of `administrators`.
   *
   * @default true
   */
  readonly allowAccountToAdminister?: boolean;

  /**
   * The principal CloudFormation deploys the stack with. With
   * `allowAccountToAdminister: false` it becomes an administrator: CloudFormation's
   * CreateKey refuses a key policy that does not let the deploying principal
   * call `kms:PutKeyPolicy`, so the deploying role must be an administrator:
   * this one, or (when this is not set) the CloudFormation execution role of
   * the stack's `DefaultStackSynthesizer`, which must then be among
   * `administrators`.
   *
   * @default - the DefaultStackSynthesizer's CloudFormation execution role, which must be in `administrators` when `allowAccountToAdminister` is false
   */
  readonly deploymentRole?: iam.IPrincipal;

  /**
   * Whether the account may use the key through AWS services
   * (`VIA_SERVICES`), or only the principals the key policy names (`NONE`,
   * the strict mode: nobody reads a secret on this key with IAM permissions
   * alone, not even an administrator of the account). With `NONE`, every
   * `ManagedSecret` on the key needs a literal `secretName` (the key policy
   * names its ARN pattern without a dependency cycle), and the role that
   * deploys it (`deploymentRole`, or the CloudFormation execution role) is
   * allowed to encrypt and decrypt those secrets through Secrets Manager, so
   * it cannot also be an administrator.
   *
   * @default AccountAccess.VIA_SERVICES
   */
  readonly accountAccess?: AccountAccess;

  /**
   * Principals that use the key with every operation its key usage supports
   * (ENCRYPT_DECRYPT: encrypt, decrypt, re-encrypt, generate data keys;
   * SIGN_VERIFY: sign, verify, get the public key; GENERATE_VERIFY_MAC:
   * generate and verify MACs). They are explicitly denied the
   * administrative actions.
   *
   * @default - none
   */
  readonly users?: iam.IPrincipal[];

  /**
   * Principals that may only encrypt (and generate data keys) with an
   * ENCRYPT_DECRYPT key.
   *
   * @default - none
   */
  readonly encryptors?: iam.IPrincipal[];

  /**
   * Principals that may only decrypt with an ENCRYPT_DECRYPT key.
   *
   * @default - none
   */
  readonly decryptors?: iam.IPrincipal[];

  /**
   * Principals that integrated AWS services act for: they may create, list
   * and revoke grants, only when the grant is for an AWS resource
   * (`kms:GrantIsForAWSResource`).
   *
   * @default - none
   */
  readonly serviceUsers?: iam.IPrincipal[];

  /**
   * Narrow every use of the key by IAM principals to calls made through these
   * AWS services in this key's region (`kms:ViaService`). Give service names
   * such as `secretsmanager` or `s3`, or full endpoints such as
   * `secretsmanager.eu-west-1.amazonaws.com`. Service principals are not
   * narrowed: they call KMS themselves.
   *
   * @default - usage is not narrowed to services
   */
  readonly viaServices?: string[];

  /**
   * Narrow every use of the key to callers from these accounts
   * (`kms:CallerAccount`).
   *
   * @default - usage is not narrowed to accounts
   */
  readonly callerAccounts?: string[];

  /**
   * Encryption-context keys that every encrypt, decrypt, re-encrypt and
   * data-key call must carry (a `Null` condition on
   * `kms:EncryptionContext:<key>`).
   *
   * @default - no encryption context is required
   */
  readonly requiredEncryptionContextKeys?: string[];
}

/** Options that narrow a grant. */
export interface KeyGrantOptions {
  /**
   * Allow the use only through this AWS service in the key's region
   * (`kms:ViaService`): a service name such as `secretsmanager`, or a full
   * endpoint such as `secretsmanager.eu-west-1.amazonaws.com`.
   *
   * A grant with `viaService` to a principal of another stack is written as
   * an account delegation (conditioned on the service and the account) plus an
   * identity policy, so it never makes the key's stack depend on the grantee's.
   *
   * @default - any caller
   */
  readonly viaService?: string;

  /**
   * Allow the use only with exactly this encryption context
   * (`kms:EncryptionContext:<key>` equals `<value>`, on the actions that take
   * a context). Must not be empty.
   *
   * @default - no encryption context condition
   */
  readonly encryptionContext?: { [key: string]: string };

  /**
   * Allow the use only by callers from this account (`kms:CallerAccount`).
   *
   * @default - no account condition
   */
  readonly callerAccount?: string;
}

/** Options for `grantUse`: which operations, and how narrowly. */
export interface KeyUseGrantOptions extends KeyGrantOptions {
  /** The cryptographic operations to allow. Must be supported by the key's usage. */
  readonly operations: KeyOperation[];
}

/** Options for `grantEnvelopeEncryption`. */
export interface EnvelopeEncryptionGrantOptions {
  /**
   * The encryption context every data key must be generated and decrypted
   * with (`kms:EncryptionContext:<key>` equals `<value>`). Required and not
   * empty: it is what keeps one tenant's data keys from another's.
   */
  readonly encryptionContext: { [key: string]: string };

  /**
   * Allow the use only through this AWS service.
   *
   * @default - any caller
   */
  readonly viaService?: string;

  /**
   * Allow the use only by callers from this account.
   *
   * @default - no account condition
   */
  readonly callerAccount?: string;
}

/** Options for `allowStorageEncryptionBy`. */
export interface StorageEncryptionOptions {
  /**
   * The principals that may ask the service to encrypt with this key (create
   * an encrypted database, restore or copy a snapshot). Needed on a key with
   * `accountAccess: AccountAccess.NONE`, where nothing is delegated to the
   * account: name the role CloudFormation deploys with, and any role that
   * restores or copies snapshots.
   *
   * @default - every principal of the key's account whose IAM policy allows the service's API and the KMS actions (the account, through the service only)
   */
  readonly principals?: iam.IPrincipal[];
}
