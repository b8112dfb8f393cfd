/**
 * Which monitoring alert watches each KMS and Secrets Manager action, or why
 * none does. The event rules read their event names from here, so the
 * coverage a reviewer reads is the coverage deployed; a test walks every
 * action of `KMS_ACTIONS` and `SECRETS_MANAGER_ACTIONS` (the same data the
 * key policy and its normalizer use) and fails on one that is neither
 * watched nor given a reason.
 *
 * Internal module: not exported from the package index.
 */
import { AlertKind, ALERTS } from './alerts';
import { SECRETS_MANAGER_ACTIONS } from './secretsmanager-actions';
import { KMS_ACTIONS, KmsActionRole } from '../keys/kms-actions';

/** How one action is watched: by the rules of these alerts, or not at all, for a reason. */
export interface ActionCoverage {
  /** The action (`kms:DisableKey`). */
  readonly action: string;
  /** The alerts whose rules match its CloudTrail event. */
  readonly alerts: readonly AlertKind[];
  /** Why no rule watches it, when none does. */
  readonly reason?: string;
}

const KMS_WATCHED: Readonly<Record<string, AlertKind>> = {
  'kms:CreateGrant': ALERTS.keyChange,
  'kms:DeleteAlias': ALERTS.keyChange,
  'kms:DisableKey': ALERTS.keyChange,
  'kms:PutKeyPolicy': ALERTS.keyChange,
  'kms:ScheduleKeyDeletion': ALERTS.keyChange,
  'kms:EnableKey': ALERTS.kmsKeyConfigChange,
  'kms:DisableKeyRotation': ALERTS.kmsKeyConfigChange,
  'kms:ImportKeyMaterial': ALERTS.kmsKeyConfigChange,
  'kms:DeleteImportedKeyMaterial': ALERTS.kmsKeyConfigChange,
  'kms:RevokeGrant': ALERTS.kmsKeyConfigChange,
  'kms:CreateAlias': ALERTS.kmsAliasChange,
  'kms:UpdateAlias': ALERTS.kmsAliasChange,
  'kms:ReplicateKey': ALERTS.kmsMultiRegionChange,
  'kms:UpdatePrimaryRegion': ALERTS.kmsMultiRegionChange,
  'kms:TagResource': ALERTS.kmsTagChange,
  'kms:UntagResource': ALERTS.kmsTagChange,
};

/** Why an action of each role is not watched, unless it has its own reason below. */
const KMS_ROLE_REASON: Readonly<Record<KmsActionRole, string>> = {
  'admin-read': 'Reads the key\'s configuration and changes nothing.',
  'admin-write': '',
  'admin-multi-region': '',
  'user': 'Uses the key material; usage is not management. Its volume is watched per account by the UsageSpike alarms (Decrypt, GenerateDataKey, Encrypt), not per call.',
  'denied': 'Denied to every principal of the key policy.',
  'no-key-resource': 'Has no key resource, so its event names no watched key and a rule cannot be scoped to one.',
};

const KMS_REASON: Readonly<Record<string, string>> = {
  'kms:CancelKeyDeletion': 'Undoes a ScheduleKeyDeletion, which already alerted (KmsKeyChange); the key stays disabled until EnableKey, which alerts (KmsKeyConfigChange).',
  'kms:EnableKeyRotation': 'Makes the key stronger; turning rotation off is watched (DisableKeyRotation).',
  'kms:RotateKeyOnDemand': 'Adds new key material; the old material keeps decrypting, so nothing is lost or opened.',
  'kms:UpdateKeyDescription': 'The description drives no policy or caller; it only informs people.',
  'kms:GetParametersForImport': 'Only hands out a wrapping key; the ImportKeyMaterial that would use it is watched (KmsKeyConfigChange).',
  'kms:RetireGrant': 'Called routinely by AWS services retiring the grants they created, as the grant\'s retiring principal; the administrators\' way to remove a grant, RevokeGrant, is watched (KmsKeyConfigChange).',
  'kms:SynchronizeMultiRegionKey': 'Called only by KMS itself, through its service-linked role, to copy shared properties to replicas; ReplicateKey and UpdatePrimaryRegion are watched (KmsMultiRegionChange).',
};

const SECRETS_WATCHED: Readonly<Record<string, readonly AlertKind[]>> = {
  'secretsmanager:DeleteResourcePolicy': [ALERTS.secretChange],
  'secretsmanager:DeleteSecret': [ALERTS.secretChange],
  'secretsmanager:PutResourcePolicy': [ALERTS.secretChange],
  // With KmsKeyId: the key changed. Without: a new value (or description) written by hand.
  'secretsmanager:UpdateSecret': [ALERTS.secretKeyChange, ALERTS.secretValueChange],
  'secretsmanager:PutSecretValue': [ALERTS.secretValueChange],
  'secretsmanager:UpdateSecretVersionStage': [ALERTS.secretValueChange],
  'secretsmanager:CancelRotateSecret': [ALERTS.secretRotationChange],
  'secretsmanager:RotateSecret': [ALERTS.secretRotationChange],
  'secretsmanager:ReplicateSecretToRegions': [ALERTS.secretReplicationChange],
  'secretsmanager:RemoveRegionsFromReplication': [ALERTS.secretReplicationChange],
  'secretsmanager:StopReplicationToReplica': [ALERTS.secretReplicationChange],
  'secretsmanager:RestoreSecret': [ALERTS.secretConfigChange],
  'secretsmanager:TagResource': [ALERTS.secretConfigChange],
  'secretsmanager:UntagResource': [ALERTS.secretConfigChange],
};

const READS = 'Reads and changes nothing.';
const SECRETS_REASON: Readonly<Record<string, string>> = {
  'secretsmanager:BatchGetSecretValue': 'Reads values; reading is usage, not management. GetSecretValue volume is watched per account by the UsageSpike alarm.',
  'secretsmanager:GetSecretValue': 'Reads the value; reading is usage, not management. Its volume is watched per account by the UsageSpike alarm.',
  'secretsmanager:CreateSecret': 'Creates a new secret, which is not a watched one (an existing name cannot be taken over: CreateSecret fails on it).',
  'secretsmanager:DescribeSecret': READS,
  'secretsmanager:GetRandomPassword': 'Has no secret resource: it returns random bytes.',
  'secretsmanager:GetResourcePolicy': READS,
  'secretsmanager:ListSecretVersionIds': READS,
  'secretsmanager:ListSecrets': 'Has no secret resource: it lists names.',
  'secretsmanager:ValidateResourcePolicy': 'Checks a policy document and changes nothing (its access level is Permissions management only because it takes a policy).',
};

/** The coverage of every KMS action, in the order of `KMS_ACTIONS`. */
export function kmsCoverage(): ActionCoverage[] {
  return KMS_ACTIONS.map(a => {
    const alert = KMS_WATCHED[a.name];
    if (alert) return { action: a.name, alerts: [alert] };
    const reason = KMS_REASON[a.name] ?? KMS_ROLE_REASON[a.role];
    return { action: a.name, alerts: [], reason: reason || undefined };
  });
}

/** The coverage of every Secrets Manager action, in the order of `SECRETS_MANAGER_ACTIONS`. */
export function secretsManagerCoverage(): ActionCoverage[] {
  return SECRETS_MANAGER_ACTIONS.map(a => {
    const alerts = SECRETS_WATCHED[a.name] ?? [];
    return alerts.length > 0 ? { action: a.name, alerts } : { action: a.name, alerts: [], reason: SECRETS_REASON[a.name] };
  });
}

/** The CloudTrail event names (`DisableKey`) an alert's rules match, sorted. */
export function eventNamesFor(alert: AlertKind): string[] {
  return [...kmsCoverage(), ...secretsManagerCoverage()]
    .filter(c => c.alerts.includes(alert))
    .map(c => c.action.split(':')[1])
    .sort();
}
