/**
 * The EventBridge target of every monitoring rule: the alert topic, with a
 * readable JSON message. Unlike `aws-events-targets.SnsTopic`, it adds no
 * unconditioned `sns:Publish` for `events.amazonaws.com` to the topic
 * policy: the monitoring construct names its exact rules there. An alert
 * EventBridge cannot deliver (after its 24 hours of retries) goes to the
 * dead-letter queue, which allows exactly this rule to send to it.
 *
 * Internal module: not exported from the package index.
 */
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AlertKind, runbookLink } from './alerts';

export class AlertTopicTarget implements events.IRuleTarget {
  constructor(private readonly topic: sns.ITopic, private readonly input: events.RuleTargetInput, private readonly deadLetterQueue: sqs.IQueue) {}

  public bind(rule: events.IRule): events.RuleTargetConfig {
    targets.addToDeadLetterQueueResourcePolicy(rule, this.deadLetterQueue);
    return { arn: this.topic.topicArn, input: this.input, deadLetterConfig: { arn: this.deadLetterQueue.queueArn } };
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
  /** Self-protection: the call and who made it; which resource depends on the service. */
  tamper: {
    eventName: '$.detail.eventName',
    eventSource: '$.detail.eventSource',
    principal: '$.detail.userIdentity.arn',
    requestParameters: '$.detail.requestParameters',
    errorCode: '$.detail.errorCode',
    sourceIPAddress: '$.detail.sourceIPAddress',
  },
  /** A call in a replica region, forwarded here. */
  replica: {
    eventName: '$.detail.eventName',
    eventSource: '$.detail.eventSource',
    principal: '$.detail.userIdentity.arn',
    resources: '$.detail.resources',
    requestParameters: '$.detail.requestParameters',
    errorCode: '$.detail.errorCode',
    sourceIPAddress: '$.detail.sourceIPAddress',
  },
  overdue: {
    secretId: '$.detail.resourceId',
    configRule: '$.detail.configRuleName',
    compliance: '$.detail.newEvaluationResult.complianceType',
  },
};
