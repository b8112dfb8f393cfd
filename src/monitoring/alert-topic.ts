/**
 * The one SNS topic every alert goes to: encrypted with a
 * `CustomerManagedKey`, SSL enforced, and open to exactly the EventBridge
 * rules and CloudWatch alarms of the monitoring construct.
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
import { ArnFormat, Names, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { CustomerManagedKey } from '../keys/customer-managed-key';

export interface AlertTopicOptions {
  readonly encryptionKey?: CustomerManagedKey;
  readonly emails: string[];
  readonly httpsEndpoints: string[];
}

export interface AlertTopic {
  readonly topic: sns.Topic;
  readonly key: CustomerManagedKey;
}

export function createAlertTopic(scope: Construct, options: AlertTopicOptions): AlertTopic {
  const stack = Stack.of(scope);
  const key = options.encryptionKey ?? new CustomerManagedKey(scope, 'AlertKey', {
    description: `Encrypts the alert topic of ${scope.node.path}`,
  });
  // The topic is named so that the key policy can name its ARN: the key
  // policy cannot reference the topic, which already references the key.
  const topicName = Names.uniqueResourceName(scope, { maxLength: 200, separator: '-' }) + '-alerts';
  const topicArn = stack.formatArn({ service: 'sns', resource: topicName, arnFormat: ArnFormat.NO_RESOURCE_NAME });
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

  options.emails.forEach(email => topic.addSubscription(new subscriptions.EmailSubscription(email)));
  options.httpsEndpoints.forEach(url => topic.addSubscription(new subscriptions.UrlSubscription(url, { protocol: sns.SubscriptionProtocol.HTTPS })));
  return { topic, key };
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
