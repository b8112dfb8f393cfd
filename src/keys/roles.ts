/**
 * The key-policy role model, as data.
 *
 * Every statement a `CustomerManagedKey` writes comes from one of these action
 * sets, so the separation of duties can be read, tested and reused (by the
 * `KeysAndSecretsChecks` nag rules) from one place. Actions are spelled out:
 * no wildcards, so a reviewer sees exactly what each role can do.
 *
 * Internal module: not exported from the package index.
 */
import * as kms from 'aws-cdk-lib/aws-kms';
import { kmsAction, KMS_ACTIONS, kmsActionsIn } from './kms-actions';

/** Read-only management actions: administrators may describe the key (users get `kms:DescribeKey` too). */
export const ADMIN_READ_ACTIONS: readonly string[] = kmsActionsIn('admin-read');

/**
 * Management actions that change the key, its grants or its key material
 * (including `RevokeGrant`, `RetireGrant` and the EXTERNAL-origin import
 * actions). Users are explicitly denied these.
 */
export const ADMIN_WRITE_ACTIONS: readonly string[] = kmsActionsIn('admin-write');

/** Management actions that exist only for multi-Region keys. */
export const MULTI_REGION_ADMIN_ACTIONS: readonly string[] = kmsActionsIn('admin-multi-region');

/** Actions nobody in a key policy may call (KMS's own, see kms-actions.ts): users are denied them too. */
export const DENIED_ACTIONS: readonly string[] = kmsActionsIn('denied');

/** The action that keeps a key manageable: someone must always hold it. */
export const LOCKOUT_ACTION = 'kms:PutKeyPolicy';

/**
 * Every action that uses key material, or hands usage to someone else
 * (CreateGrant). Administrators are explicitly denied all of these.
 */
export const CRYPTO_ACTIONS: readonly string[] = kmsActionsIn('user');

/** Actions that accept an encryption context, so `kms:EncryptionContext:*` conditions apply. */
export const ENCRYPTION_CONTEXT_ACTIONS: readonly string[] = KMS_ACTIONS.filter(a => a.encryptionContext).map(a => a.name);

/**
 * What a service user (an AWS service acting for a principal) may do:
 * create and list grants for AWS resources only. Revoking grants is
 * management (users are denied it); the services retire the grants they
 * made as each grant's retiring principal.
 */
export const SERVICE_USER_ACTIONS: readonly string[] = ['kms:CreateGrant', 'kms:ListGrants'];

/** A cryptographic operation that can be granted on a key. */
export enum KeyOperation {
  /** `kms:Encrypt`, `kms:ReEncryptTo` and the data-key generation actions. */
  ENCRYPT = 'ENCRYPT',
  /** `kms:Decrypt` and `kms:ReEncryptFrom`. */
  DECRYPT = 'DECRYPT',
  /** `kms:GenerateDataKey` only: envelope encryption without a plaintext `Encrypt`. */
  GENERATE_DATA_KEY = 'GENERATE_DATA_KEY',
  /** `kms:Sign` (SIGN_VERIFY keys). */
  SIGN = 'SIGN',
  /** `kms:Verify` and `kms:GetPublicKey` (SIGN_VERIFY keys). */
  VERIFY = 'VERIFY',
  /** `kms:GenerateMac` (HMAC keys). */
  GENERATE_MAC = 'GENERATE_MAC',
  /** `kms:VerifyMac` (HMAC keys). */
  VERIFY_MAC = 'VERIFY_MAC',
  /** `kms:DeriveSharedSecret` and `kms:GetPublicKey` (KEY_AGREEMENT keys). */
  DERIVE_SHARED_SECRET = 'DERIVE_SHARED_SECRET',
}

/** The actions each operation grants. DescribeKey is added to every usage grant. */
export const OPERATION_ACTIONS: Record<KeyOperation, readonly string[]> = {
  [KeyOperation.ENCRYPT]: [
    'kms:Encrypt',
    'kms:GenerateDataKey',
    'kms:GenerateDataKeyPair',
    'kms:GenerateDataKeyPairWithoutPlaintext',
    'kms:GenerateDataKeyWithoutPlaintext',
    'kms:ReEncryptTo',
  ],
  [KeyOperation.DECRYPT]: ['kms:Decrypt', 'kms:ReEncryptFrom'],
  [KeyOperation.GENERATE_DATA_KEY]: ['kms:GenerateDataKey'],
  [KeyOperation.SIGN]: ['kms:Sign'],
  [KeyOperation.VERIFY]: ['kms:GetPublicKey', 'kms:Verify'],
  [KeyOperation.GENERATE_MAC]: ['kms:GenerateMac'],
  [KeyOperation.VERIFY_MAC]: ['kms:VerifyMac'],
  [KeyOperation.DERIVE_SHARED_SECRET]: ['kms:DeriveSharedSecret', 'kms:GetPublicKey'],
};

/** Which operations each key usage supports. */
export const USAGE_OPERATIONS: Record<string, readonly KeyOperation[]> = {
  [kms.KeyUsage.ENCRYPT_DECRYPT]: [KeyOperation.ENCRYPT, KeyOperation.DECRYPT, KeyOperation.GENERATE_DATA_KEY],
  [kms.KeyUsage.SIGN_VERIFY]: [KeyOperation.SIGN, KeyOperation.VERIFY],
  [kms.KeyUsage.GENERATE_VERIFY_MAC]: [KeyOperation.GENERATE_MAC, KeyOperation.VERIFY_MAC],
  [kms.KeyUsage.KEY_AGREEMENT]: [KeyOperation.DERIVE_SHARED_SECRET],
};

/** The operations a `users` entry gets, per key usage: everything that usage supports. */
export function userOperations(keyUsage: kms.KeyUsage): readonly KeyOperation[] {
  return USAGE_OPERATIONS[keyUsage];
}

/** Which key specs each usage accepts (from the KMS developer guide, "key spec reference"). */
export const USAGE_KEY_SPECS: Record<string, readonly string[]> = {
  [kms.KeyUsage.ENCRYPT_DECRYPT]: ['SYMMETRIC_DEFAULT', 'RSA_2048', 'RSA_3072', 'RSA_4096', 'SM2'],
  [kms.KeyUsage.SIGN_VERIFY]: [
    'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1', 'SM2',
    'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87', 'ECC_NIST_EDWARDS25519',
  ],
  [kms.KeyUsage.GENERATE_VERIFY_MAC]: ['HMAC_224', 'HMAC_256', 'HMAC_384', 'HMAC_512'],
  [kms.KeyUsage.KEY_AGREEMENT]: ['ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'SM2'],
};

/** All the actions an administrator is allowed, for a key that is or isn't multi-Region. */
export function adminActions(multiRegion: boolean): string[] {
  return [...ADMIN_READ_ACTIONS, ...ADMIN_WRITE_ACTIONS, ...(multiRegion ? MULTI_REGION_ADMIN_ACTIONS : [])].sort();
}

/** The actions a named user is explicitly denied: every action that changes the key, and KMS's own. */
export function userDeniedActions(): string[] {
  return [...ADMIN_WRITE_ACTIONS, ...MULTI_REGION_ADMIN_ACTIONS, ...DENIED_ACTIONS].sort();
}

/** The actions of a set of operations, deduplicated and sorted. */
export function actionsFor(operations: readonly KeyOperation[]): string[] {
  return [...new Set(operations.flatMap(op => OPERATION_ACTIONS[op]))].sort();
}

/** Whether an action is a cryptographic (usage) action, whatever its case. */
export function isCryptoAction(action: string): boolean {
  return kmsAction(action)?.role === 'user';
}

/** Whether an action changes the key (an administrative write, multi-Region included, or KMS's own), whatever its case. */
export function isAdminWriteAction(action: string): boolean {
  const role = kmsAction(action)?.role;
  return role === 'admin-write' || role === 'admin-multi-region' || role === 'denied';
}

/** The documented maximum size of a key policy, in bytes. */
export const KEY_POLICY_MAX_BYTES = 32 * 1024;

/** Rotation period bounds, in days. */
export const ROTATION_PERIOD_DAYS = { min: 90, max: 2560 } as const;

/** Pending deletion window bounds, in days. */
export const PENDING_WINDOW_DAYS = { min: 7, max: 30 } as const;
