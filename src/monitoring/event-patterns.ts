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
 * - The monitoring's own resources (self-protection): EventBridge calls by
 *   `requestParameters.name` or `.rule`, CloudWatch calls by
 *   `requestParameters.alarmNames` or `.alarmName`, SNS calls by
 *   `requestParameters.topicArn`, or `.subscriptionArn` (`<topicArn>:<id>`,
 *   matched by prefix), SQS calls by `requestParameters.queueUrl`. These
 *   names are literal (the monitoring names its resources), so a rule can
 *   name itself.
 *
 * The event names come from `coverage.ts`, where every KMS and Secrets
 * Manager action is either watched by an alert or given a reason.
 *
 * Internal module: not exported from the package index.
 */
import * as events from 'aws-cdk-lib/aws-events';
import { AlertKind, ALERTS } from './alerts';
import { eventNamesFor } from './coverage';
import { PatternValue } from './scoping';

export const API_CALL = 'AWS API Call via CloudTrail';
export const SERVICE_EVENT = 'AWS Service Event via CloudTrail';

/** KMS management events that weaken or remove a key. */
export const KMS_EVENT_NAMES = eventNamesFor(ALERTS.keyChange);
/** Secrets Manager calls that remove a secret or change who may use it. */
export const SECRET_EVENT_NAMES = eventNamesFor(ALERTS.secretChange);
/** Secrets Manager calls that write a value or move a staging label. */
export const SECRET_VALUE_EVENT_NAMES = eventNamesFor(ALERTS.secretValueChange);
/** Rotation outcomes that need a human. */
export const ROTATION_FAILURE_EVENT_NAMES = ['RotationAbandoned', 'RotationFailed'];
/** The rotation outcome counted on the dashboard. */
export const ROTATION_SUCCESS_EVENT_NAMES = ['RotationSucceeded'];

/** Calls that disable, delete, rewrite or re-target a rule (the monitoring's own). */
export const RULE_TAMPER_EVENT_NAMES = ['DeleteRule', 'DisableRule', 'PutRule', 'PutTargets', 'RemoveTargets'];
/** Calls that delete, silence or rewrite an alarm. */
export const ALARM_TAMPER_EVENT_NAMES = ['DeleteAlarms', 'DisableAlarmActions', 'PutMetricAlarm'];
/** Calls that change who can publish or subscribe to a topic, or delete it. */
export const TOPIC_TAMPER_EVENT_NAMES = ['AddPermission', 'DeleteTopic', 'RemovePermission', 'SetTopicAttributes', 'Subscribe'];
/** Calls that remove or re-filter a subscription. */
export const SUBSCRIPTION_TAMPER_EVENT_NAMES = ['SetSubscriptionAttributes', 'Unsubscribe'];
/** Calls that empty, delete or reconfigure a queue (the dead-letter queues). */
export const QUEUE_TAMPER_EVENT_NAMES = ['DeleteQueue', 'PurgeQueue', 'SetQueueAttributes'];
/** Calls on the monitoring's own keys: every KMS event the watched keys alert on. */
export const KEY_TAMPER_EVENT_NAMES = [...new Set([
  ...KMS_EVENT_NAMES, ...eventNamesFor(ALERTS.kmsKeyConfigChange), ...eventNamesFor(ALERTS.kmsAliasChange),
])].sort();

/** A KMS management event of the given alert, on one of the keys (`detail.resources[].ARN`). */
export function kmsPattern(alert: AlertKind, keyArns: PatternValue[]): events.EventPattern {
  return kmsEventsPattern(eventNamesFor(alert), keyArns);
}

export function kmsEventsPattern(eventNames: string[], keyArns: PatternValue[]): events.EventPattern {
  return {
    source: ['aws.kms'],
    detailType: [API_CALL],
    detail: {
      eventSource: ['kms.amazonaws.com'],
      eventName: eventNames,
      resources: { ARN: keyArns },
    },
  };
}

export function keyChangePattern(keyArns: PatternValue[]): events.EventPattern {
  return kmsPattern(ALERTS.keyChange, keyArns);
}

/** A Secrets Manager API call of the given alert on one of the secrets (`requestParameters.secretId`). */
export function secretCallPattern(alert: AlertKind, secretIds: PatternValue[]): events.EventPattern {
  return {
    source: ['aws.secretsmanager'],
    detailType: [API_CALL],
    detail: {
      eventSource: ['secretsmanager.amazonaws.com'],
      eventName: eventNamesFor(alert),
      requestParameters: { secretId: secretIds },
    },
  };
}

export function secretChangePattern(secretIds: PatternValue[]): events.EventPattern {
  return secretCallPattern(ALERTS.secretChange, secretIds);
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

/**
 * A value or staging label written to one of the secrets (PutSecretValue,
 * UpdateSecretVersionStage, UpdateSecret without a new key), by a caller
 * that is not one of `rotationRoleArns`. A Lambda function's calls carry its
 * role in `userIdentity.sessionContext.sessionIssuer.arn`; a caller without
 * a session issuer (an IAM user, the root user) always matches: an
 * `anything-but` alone would not match a missing field.
 */
export function secretValueChangePattern(secretIds: PatternValue[], rotationRoleArns: PatternValue[]): events.EventPattern {
  const detail: Record<string, unknown> = {
    eventSource: ['secretsmanager.amazonaws.com'],
    eventName: SECRET_VALUE_EVENT_NAMES,
    requestParameters: { secretId: secretIds, kmsKeyId: [{ exists: false }] },
  };
  if (rotationRoleArns.length > 0) {
    const issuer = (match: unknown) => ({ userIdentity: { sessionContext: { sessionIssuer: { arn: [match] } } } });
    detail.$or = [issuer({ exists: false }), issuer({ 'anything-but': rotationRoleArns })];
  }
  return { source: ['aws.secretsmanager'], detailType: [API_CALL], detail };
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

/** EventBridge calls on the named rules (`name` for most calls, `rule` for the target calls); names or `{ prefix }` matches. */
export function rulesTamperPattern(ruleNames: unknown[]): events.EventPattern {
  return {
    source: ['aws.events'],
    detailType: [API_CALL],
    detail: {
      eventSource: ['events.amazonaws.com'],
      eventName: RULE_TAMPER_EVENT_NAMES,
      $or: [{ requestParameters: { name: ruleNames } }, { requestParameters: { rule: ruleNames } }],
    },
  };
}

/** CloudWatch calls on the named alarms (`alarmNames` is a list; PutMetricAlarm has `alarmName`). */
export function alarmsTamperPattern(alarmNames: unknown[]): events.EventPattern {
  return {
    source: ['aws.cloudwatch'],
    detailType: [API_CALL],
    detail: {
      eventSource: ['monitoring.amazonaws.com'],
      eventName: ALARM_TAMPER_EVENT_NAMES,
      $or: [{ requestParameters: { alarmNames } }, { requestParameters: { alarmName: alarmNames } }],
    },
  };
}

/** SNS calls on the topics, or on a subscription to one (its ARN is `<topicArn>:<id>`). */
export function topicsTamperPattern(topicArns: string[]): events.EventPattern {
  return {
    source: ['aws.sns'],
    detailType: [API_CALL],
    detail: {
      eventSource: ['sns.amazonaws.com'],
      $or: [
        { eventName: TOPIC_TAMPER_EVENT_NAMES, requestParameters: { topicArn: topicArns } },
        { eventName: SUBSCRIPTION_TAMPER_EVENT_NAMES, requestParameters: { subscriptionArn: topicArns.map(arn => ({ prefix: `${arn}:` })) } },
      ],
    },
  };
}

/** SQS calls on the queues, by URL (`{ suffix: '/<account>/<name>' }` matches every endpoint form). */
export function queuesTamperPattern(queueUrls: unknown[]): events.EventPattern {
  return {
    source: ['aws.sqs'],
    detailType: [API_CALL],
    detail: {
      eventSource: ['sqs.amazonaws.com'],
      eventName: QUEUE_TAMPER_EVENT_NAMES,
      requestParameters: { queueUrl: queueUrls },
    },
  };
}
