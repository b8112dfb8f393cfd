/**
 * The catalog of alerts `KeysAndSecretsMonitoring` raises: one entry per
 * kind, with the anchor of its runbook in docs/monitoring.md. Every
 * notification (an EventBridge message or an alarm description) names its
 * alert and links its runbook, so whoever is paged knows what to do.
 *
 * Internal module: not exported from the package index.
 */

/** Where the runbooks live unless `runbookUrl` says otherwise. */
export const DEFAULT_RUNBOOK_URL = 'https://github.com/cdk-kms-secrets/cdk-kms-secrets/blob/main/docs/monitoring.md';

export interface AlertKind {
  /** A short, stable name, used in messages and alarm descriptions. */
  readonly name: string;
  /** What happened, in one sentence. */
  readonly summary: string;
  /** The heading anchor of the runbook in docs/monitoring.md. */
  readonly anchor: string;
}

export const ALERTS = {
  keyChange: {
    name: 'KmsKeyChange',
    summary: 'A watched KMS key was disabled, scheduled for deletion, given a new key policy, granted, or lost an alias.',
    anchor: 'kmskeychange',
  },
  secretChange: {
    name: 'SecretChange',
    summary: 'A watched secret was deleted, or its resource policy was replaced or deleted.',
    anchor: 'secretchange',
  },
  secretKeyChange: {
    name: 'SecretKeyChange',
    summary: 'The KMS key of a watched secret was changed (UpdateSecret with KmsKeyId).',
    anchor: 'secretkeychange',
  },
  kmsKeyConfigChange: {
    name: 'KmsKeyConfigChange',
    summary: 'A watched KMS key was re-enabled, lost automatic rotation, had its key material imported or deleted, or had a grant revoked.',
    anchor: 'kmskeyconfigchange',
  },
  kmsAliasChange: {
    name: 'KmsAliasChange',
    summary: 'An alias was created for, or re-pointed to or away from, a watched KMS key.',
    anchor: 'kmsaliaschange',
  },
  kmsMultiRegionChange: {
    name: 'KmsMultiRegionChange',
    summary: 'A watched multi-Region KMS key was replicated to a region, or its primary region was changed.',
    anchor: 'kmsmultiregionchange',
  },
  kmsTagChange: {
    name: 'KmsTagChange',
    summary: 'The tags of a watched KMS key (which ABAC policies may read) were changed.',
    anchor: 'kmstagchange',
  },
  secretValueChange: {
    name: 'SecretValueChange',
    summary: 'A new value or staging label was written to a watched secret by someone other than its rotation function.',
    anchor: 'secretvaluechange',
  },
  secretRotationChange: {
    name: 'SecretRotationChange',
    summary: 'The rotation of a watched secret was cancelled, reconfigured or started by hand.',
    anchor: 'secretrotationchange',
  },
  secretReplicationChange: {
    name: 'SecretReplicationChange',
    summary: 'A watched secret was replicated to a new region, or a replica was removed or promoted to a standalone secret.',
    anchor: 'secretreplicationchange',
  },
  secretConfigChange: {
    name: 'SecretConfigChange',
    summary: 'A watched secret was restored from deletion, or its tags (which ABAC policies may read) were changed.',
    anchor: 'secretconfigchange',
  },
  monitoringTampered: {
    name: 'MonitoringTampered',
    summary: 'Someone changed the monitoring itself: a rule disabled, deleted or re-targeted, an alarm deleted or silenced, the alert topic, its subscriptions, its key or the dead-letter queue changed.',
    anchor: 'monitoringtampered',
  },
  replicaRegionEvent: {
    name: 'ReplicaRegionEvent',
    summary: 'An administrative action on a watched replica key or secret in another region, forwarded to this region.',
    anchor: 'replicaregionevent',
  },
  rotationFailed: {
    name: 'RotationFailed',
    summary: 'Secrets Manager reported a failed or abandoned rotation of a watched secret.',
    anchor: 'rotationfailed',
  },
  rotationOverdue: {
    name: 'RotationOverdue',
    summary: 'A watched secret has not rotated within its schedule plus the grace period (AWS Config secretsmanager-secret-periodic-rotation).',
    anchor: 'rotationoverdue',
  },
  rotationFunctionErrors: {
    name: 'RotationFunctionErrors',
    summary: 'A rotation function returned an error.',
    anchor: 'rotationfunctionerrors',
  },
  rotationFunctionThrottles: {
    name: 'RotationFunctionThrottles',
    summary: 'A rotation function was throttled.',
    anchor: 'rotationfunctionthrottles',
  },
  rotationFunctionDuration: {
    name: 'RotationFunctionDuration',
    summary: 'A rotation function ran close to its timeout.',
    anchor: 'rotationfunctionduration',
  },
  usageSpike: {
    name: 'UsageSpike',
    summary: 'KMS or Secrets Manager API calls of the account rose above their anomaly-detection band.',
    anchor: 'usagespike',
  },
  deliveryFailed: {
    name: 'AlertDeliveryFailed',
    summary: 'EventBridge could not deliver an alert to the alert topic.',
    anchor: 'alertdeliveryfailed',
  },
  deadLettered: {
    name: 'AlertDeadLettered',
    summary: 'An alert could not be delivered and is waiting in the dead-letter queue.',
    anchor: 'alertdeadlettered',
  },
} as const satisfies Record<string, AlertKind>;

/** The runbook link of an alert. */
export function runbookLink(base: string, alert: AlertKind): string {
  return `${base}#${alert.anchor}`;
}

/** The description of an alarm: what it means and where its runbook is. */
export function alarmDescription(base: string, alert: AlertKind, what: string): string {
  return `[cdk-kms-secrets] ${alert.name}: ${what} Runbook: ${runbookLink(base, alert)}`;
}
