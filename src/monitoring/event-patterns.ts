/**
 * The EventBridge event patterns of the monitoring rules, as data, each
 * scoped to the watched keys or secrets by the field its event really
 * carries (see docs/monitoring.md, "Scoping"):
 *
 * - KMS management events (`AWS API Call via CloudTrail`): `detail.resources`
 *   lists the key ARN for DisableKey, ScheduleKeyDeletion, PutKeyPolicy and
 *   CreateGrant, and, for DeleteAlias, both the alias ARN and the ARN of the
 *   key it pointed to. `requestParameters.keyId` is whatever the caller
 *   passed (ID, ARN or alias), so it is not used.
 * - Secrets Manager API calls: `detail.requestParameters.secretId`, as the
 *   caller passed it (ARN, ARN without suffix, or name).
 * - Secrets Manager service events (`AWS Service Event via CloudTrail`):
 *   `detail.additionalEventData.SecretId`, always the full ARN.
 * - AWS Config compliance changes: `detail.resourceId`, the secret's ARN.
 *
 * Internal module: not exported from the package index.
 */
import * as events from 'aws-cdk-lib/aws-events';
import { PatternValue } from './scoping';

export const API_CALL = 'AWS API Call via CloudTrail';
export const SERVICE_EVENT = 'AWS Service Event via CloudTrail';

/** KMS management events that weaken or remove a key. */
export const KMS_EVENT_NAMES = ['CreateGrant', 'DeleteAlias', 'DisableKey', 'PutKeyPolicy', 'ScheduleKeyDeletion'];
/** Secrets Manager calls that remove a secret or change who may use it. */
export const SECRET_EVENT_NAMES = ['DeleteResourcePolicy', 'DeleteSecret', 'PutResourcePolicy'];
/** Rotation outcomes that need a human. */
export const ROTATION_FAILURE_EVENT_NAMES = ['RotationAbandoned', 'RotationFailed'];
/** The rotation outcome counted on the dashboard. */
export const ROTATION_SUCCESS_EVENT_NAMES = ['RotationSucceeded'];

export function keyChangePattern(keyArns: PatternValue[]): events.EventPattern {
  return {
    source: ['aws.kms'],
    detailType: [API_CALL],
    detail: {
      eventSource: ['kms.amazonaws.com'],
      eventName: KMS_EVENT_NAMES,
      resources: { ARN: keyArns },
    },
  };
}

export function secretChangePattern(secretIds: PatternValue[]): events.EventPattern {
  return {
    source: ['aws.secretsmanager'],
    detailType: [API_CALL],
    detail: {
      eventSource: ['secretsmanager.amazonaws.com'],
      eventName: SECRET_EVENT_NAMES,
      requestParameters: { secretId: secretIds },
    },
  };
}

/** UpdateSecret only when it changes the key: `requestParameters.kmsKeyId` is present. */
export function secretKeyChangePattern(secretIds: PatternValue[]): events.EventPattern {
  return {
    source: ['aws.secretsmanager'],
    detailType: [API_CALL],
    detail: {
      eventSource: ['secretsmanager.amazonaws.com'],
      eventName: ['UpdateSecret'],
      requestParameters: { secretId: secretIds, kmsKeyId: [{ exists: true }] },
    },
  };
}

export function rotationPattern(eventNames: string[], secretArns: PatternValue[]): events.EventPattern {
  return {
    source: ['aws.secretsmanager'],
    detailType: [SERVICE_EVENT],
    detail: {
      eventSource: ['secretsmanager.amazonaws.com'],
      eventName: eventNames,
      additionalEventData: { SecretId: secretArns },
    },
  };
}

/** A watched secret became NON_COMPLIANT with an overdue-rotation Config rule. */
export function rotationOverduePattern(configRuleName: string, secretArns: PatternValue[]): events.EventPattern {
  return {
    source: ['aws.config'],
    detailType: ['Config Rules Compliance Change'],
    detail: {
      messageType: ['ComplianceChangeNotification'],
      configRuleName: [configRuleName],
      resourceType: ['AWS::SecretsManager::Secret'],
      resourceId: secretArns,
      newEvaluationResult: { complianceType: ['NON_COMPLIANT'] },
    },
  };
}
