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
} as const satisfies Record<string, AlertKind>;

/** The runbook link of an alert. */
export function runbookLink(base: string, alert: AlertKind): string {
  return `${base}#${alert.anchor}`;
}

/** The description of an alarm: what it means and where its runbook is. */
export function alarmDescription(base: string, alert: AlertKind, what: string): string {
  return `[cdk-kms-secrets] ${alert.name}: ${what} Runbook: ${runbookLink(base, alert)}`;
}
