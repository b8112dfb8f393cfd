/**
 * The one SNS topic every alert goes to: encrypted with a
 * `CustomerManagedKey`, SSL enforced, and open to exactly the EventBridge
 * rules and CloudWatch alarms of the monitoring construct.
 *
 * The topic policy (`protectTopic`) denies every change of the topic, its
 * permissions and its subscriptions to everyone but named administrators
 * and the CloudFormation execution role of the CDK bootstrap, and
 * `sns:Publish` to everything but the monitoring's own rules and alarms, in
 * this account: an identity policy with `sns:*` cannot override a Deny.
 *
 * The key policy lets `events.amazonaws.com` and `cloudwatch.amazonaws.com`
 * use the key as service users, for envelope encryption only
 * (`kms:GenerateDataKey` and `kms:Decrypt`) and only for this topic
 * (`kms:EncryptionContext:aws:sns:topicArn`). CloudWatch's statement also
 * requires `aws:SourceAccount`; EventBridge's cannot: SNS does not pass the
 * `aws:Source*` keys to KMS for EventBridge deliveries, and a statement that
 * required them would silently drop every alert. The topic policy, which
 * does see them, names the exact rule and alarm ARNs.
 *
 * Internal module: not exported from the package index.
 */
import { ArnFormat, DefaultStackSynthesizer, Fn, Names, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sns_subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CustomerManagedKey } from '../keys/customer-managed-key';

export interface AlertTopicOptions {
  readonly encryptionKey?: CustomerManagedKey;
  readonly emails: string[];
  readonly httpsEndpoints: string[];
  /** Where SNS puts a notification it could not deliver to a subscription. */
  readonly deadLetterQueue: sqs.IQueue;
}

export interface AlertTopic {
  readonly topic: sns.Topic;
  readonly key: CustomerManagedKey;
}

/** The name the alert topic of a monitoring construct gets. */
export function alertTopicName(scope: Construct): string {
  return Names.uniqueResourceName(scope, { maxLength: 200, separator: '-' }) + '-alerts';
}

/** The ARN of a topic of this stack, by name. */
export function topicArnOf(scope: Construct, topicName: string): string {
  return Stack.of(scope).formatArn({ service: 'sns', resource: topicName, arnFormat: ArnFormat.NO_RESOURCE_NAME });
}

/** The key of the alert topic: the one given, or the stack's default key. */
export function alertKey(scope: Construct, encryptionKey?: CustomerManagedKey): CustomerManagedKey {
  return encryptionKey ?? CustomerManagedKey.forStack(scope);
}

export function createAlertTopic(scope: Construct, key: CustomerManagedKey, options: AlertTopicOptions): AlertTopic {
  const stack = Stack.of(scope);
  // The topic is named so that the key policy can name its ARN: the key
  // policy cannot reference the topic, which already references the key.
  const topicName = alertTopicName(scope);
  const topicArn = topicArnOf(scope, topicName);
  const topic = new sns.Topic(scope, 'AlertTopic', {
    topicName,
    displayName: 'cdk-kms-secrets alerts',
    masterKey: key,
    enforceSSL: true,
  });

  const context = { 'aws:sns:topicArn': topicArn };
  key.grantEnvelopeEncryption(new iam.ServicePrincipal('events.amazonaws.com'), { encryptionContext: context });
  key.grantEnvelopeEncryption(new iam.ServicePrincipal('cloudwatch.amazonaws.com', {
    conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
  }), { encryptionContext: context });

  const deadLetterQueue = options.deadLetterQueue;
  options.emails.forEach(email => topic.addSubscription(new sns_subscriptions.EmailSubscription(email, { deadLetterQueue })));
  options.httpsEndpoints.forEach(url => topic.addSubscription(new sns_subscriptions.UrlSubscription(url, {
    protocol: sns.SubscriptionProtocol.HTTPS, deadLetterQueue,
  })));
  return { topic, key };
}

/** The topic actions only administrators (and deployments) may call. */
export const TOPIC_ADMIN_ACTIONS = [
  'sns:AddPermission',
  'sns:DeleteTopic',
  'sns:PutDataProtectionPolicy',
  'sns:RemovePermission',
  'sns:SetSubscriptionAttributes',
  'sns:SetTopicAttributes',
  'sns:Subscribe',
  'sns:Unsubscribe',
];

/**
 * The ARN of the role CloudFormation deploys this stack with, when the stack
 * uses the default synthesizer (the CDK bootstrap's `cfn-exec-role`);
 * undefined otherwise.
 */
export function deploymentRoleArn(scope: Construct): string | undefined {
  const synthesizer = Stack.of(scope).synthesizer;
  if (!(synthesizer instanceof DefaultStackSynthesizer)) return undefined;
  // `${AWS::Partition}`-style placeholders: exactly what Fn::Sub resolves.
  return Fn.sub(synthesizer.cloudFormationExecutionRoleArn);
}

/**
 * The ARNs of principals, for `aws:PrincipalArn`: a role's ARN, or the `AWS`
 * ARNs of another principal. `invalid` builds the error for one without.
 */
export function principalArns(principals: iam.IPrincipal[], invalid: (p: iam.IPrincipal) => Error): string[] {
  return principals.flatMap(p => {
    const role = p as Partial<iam.IRole>;
    if (typeof role.roleArn === 'string') return [role.roleArn];
    const json = p.policyFragment.principalJson;
    if (Object.keys(json).length !== 1 || !json.AWS || json.AWS.length === 0) throw invalid(p);
    return json.AWS;
  });
}

export interface TopicProtection {
  /** Who may change the topic, besides the deployment role. */
  readonly administratorArns: string[];
  /** The rule and alarm ARNs that may publish. */
  readonly publisherArns: string[];
}

/**
 * Denies every change of the topic to everyone but the administrators and
 * the deployment role, and `sns:Publish` to everything but the given
 * publishers of this account. A Deny wins over any Allow, so `sns:*` in an
 * identity policy gains nothing.
 */
export function protectTopic(topic: sns.Topic, protection: TopicProtection): void {
  const stack = Stack.of(topic);
  const deployer = deploymentRoleArn(topic);
  const exempt = [...protection.administratorArns, ...(deployer ? [deployer] : [])];
  topic.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'OnlyAdministratorsChangeTopic',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: TOPIC_ADMIN_ACTIONS,
    resources: [topic.topicArn],
    ...(exempt.length > 0 ? { conditions: { ArnNotLike: { 'aws:PrincipalArn': exempt } } } : {}),
  }));
  topic.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'OnlyMonitoringPublishes',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['sns:Publish'],
    resources: [topic.topicArn],
    conditions: { ArnNotEquals: { 'aws:SourceArn': protection.publisherArns } },
  }));
  topic.addToResourcePolicy(new iam.PolicyStatement({
    sid: 'OnlyThisAccountPublishes',
    effect: iam.Effect.DENY,
    principals: [new iam.AnyPrincipal()],
    actions: ['sns:Publish'],
    resources: [topic.topicArn],
    conditions: { StringNotEquals: { 'aws:SourceAccount': stack.account } },
  }));
}

/**
 * Allows exactly these rules and alarms, of this account, to publish. Call
 * once, after every rule and alarm exists.
 */
export function allowPublishers(topic: sns.Topic, ruleArns: string[], alarmArns: string[]): void {
  const account = Stack.of(topic).account;
  if (ruleArns.length > 0) {
    topic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'MonitoringRulesPublish',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: { StringEquals: { 'aws:SourceAccount': account }, ArnEquals: { 'aws:SourceArn': ruleArns } },
    }));
  }
  if (alarmArns.length > 0) {
    topic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'MonitoringAlarmsPublish',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: { StringEquals: { 'aws:SourceAccount': account }, ArnEquals: { 'aws:SourceArn': alarmArns } },
    }));
  }
}
