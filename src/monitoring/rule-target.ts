/**
 * The EventBridge target of every monitoring rule: the alert topic, with a
 * readable JSON message. Unlike `aws-events-targets.SnsTopic`, it adds no
 * unconditioned `sns:Publish` for `events.amazonaws.com` to the topic
 * policy: the monitoring construct names its exact rules there.
 *
 * Internal module: not exported from the package index.
 */
import * as events from 'aws-cdk-lib/aws-events';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AlertKind, runbookLink } from './alerts';

export class AlertTopicTarget implements events.IRuleTarget {
  constructor(private readonly topic: sns.ITopic, private readonly input: events.RuleTargetInput) {}

  public bind(): events.RuleTargetConfig {
    return { arn: this.topic.topicArn, input: this.input };
  }
}

const field = events.EventField.fromPath;

/**
 * The message of an alert: what it is, where its runbook is, and the fields
 * of the event that say who did what to which resource. A field the event
 * lacks is left empty.
 */
export function alertMessage(runbookUrl: string, alert: AlertKind, fields: Record<string, string>): events.RuleTargetInput {
  const resolved: Record<string, string> = {};
  for (const [name, path] of Object.entries(fields)) resolved[name] = field(path);
  return events.RuleTargetInput.fromObject({
    alert: alert.name,
    summary: alert.summary,
    runbook: runbookLink(runbookUrl, alert),
    account: events.EventField.account,
    region: events.EventField.region,
    time: events.EventField.time,
    ...resolved,
  });
}

/** The event fields of each kind of alert. */
export const MESSAGE_FIELDS = {
  kmsCall: {
    eventName: '$.detail.eventName',
    principal: '$.detail.userIdentity.arn',
    keyId: '$.detail.requestParameters.keyId',
    aliasName: '$.detail.requestParameters.aliasName',
    errorCode: '$.detail.errorCode',
    sourceIPAddress: '$.detail.sourceIPAddress',
  },
  secretCall: {
    eventName: '$.detail.eventName',
    principal: '$.detail.userIdentity.arn',
    secretId: '$.detail.requestParameters.secretId',
    newKmsKeyId: '$.detail.requestParameters.kmsKeyId',
    errorCode: '$.detail.errorCode',
    sourceIPAddress: '$.detail.sourceIPAddress',
  },
  rotation: {
    eventName: '$.detail.eventName',
    secretId: '$.detail.additionalEventData.SecretId',
  },
  overdue: {
    secretId: '$.detail.resourceId',
    configRule: '$.detail.configRuleName',
    compliance: '$.detail.newEvaluationResult.complianceType',
  },
};
