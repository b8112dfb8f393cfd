/**
 * Integration test: KeysAndSecretsMonitoring watching a CustomerManagedKey, a
 * ManagedSecret and a rotation function, with the dashboard.
 * Deployed, it proves that EventBridge accepts the scoped event patterns and
 * enables the rules, that the rules target the alert topic, that CloudWatch
 * accepts the alarms (with their topic action), that the topic is encrypted
 * with its key, and that the key policy lets EventBridge and CloudWatch use
 * it; that every rule has the dead-letter queue, that the queue is
 * encrypted, and that the self-protection rules are enabled. `npm test` verifies the synthesized snapshot offline;
 * `npx projen integ:deploy` deploys it to the current AWS account.
 */
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { CustomerManagedKey, ManagedSecret } from '../src';
import { KeysAndSecretsMonitoring } from '../src/monitoring';

const app = new App();
const stack = new Stack(app, 'CdkKmsSecretsMonitoringInteg');
const key = new CustomerManagedKey(stack, 'WatchedKey', {
  description: 'cdk-kms-secrets monitoring integ: a watched key',
  removalPolicy: RemovalPolicy.DESTROY,
  pendingWindow: Duration.days(7),
});
const secret = new ManagedSecret(stack, 'WatchedSecret', {
  description: 'cdk-kms-secrets monitoring integ: a watched secret',
  encryptionKey: key,
  removalPolicy: RemovalPolicy.DESTROY,
});
// Stands in for a rotation function: only its metrics are watched here.
const rotation = new lambda.Function(stack, 'RotationStandIn', {
  runtime: lambda.Runtime.NODEJS_22_X,
  handler: 'index.handler',
  code: lambda.Code.fromInline('exports.handler = async () => ({});'),
  timeout: Duration.seconds(30),
});
const alertKey = new CustomerManagedKey(stack, 'AlertKey', {
  description: 'cdk-kms-secrets monitoring integ: encrypts the alert topic',
  removalPolicy: RemovalPolicy.DESTROY,
  pendingWindow: Duration.days(7),
});
const monitoring = new KeysAndSecretsMonitoring(stack, 'Monitoring', {
  keys: [key],
  secrets: [secret],
  rotationFunctions: [rotation],
  encryptionKey: alertKey,
  dashboard: true,
});

const integ = new IntegTest(app, 'KeysAndSecretsMonitoringTest', { testCases: [stack] });

const kmsRule = monitoring.rules.find(r => r.node.id === 'KmsKeyChange')!;
integ.assertions
  .awsApiCall('EventBridge', 'describeRule', { Name: kmsRule.ruleName })
  .expect(ExpectedResult.objectLike({
    State: 'ENABLED',
    EventPattern: Match.serializedJson({
      'source': ['aws.kms'],
      'detail-type': ['AWS API Call via CloudTrail'],
      'detail': Match.objectLike({
        eventName: ['CreateGrant', 'DeleteAlias', 'DisableKey', 'PutKeyPolicy', 'ScheduleKeyDeletion'],
        resources: { ARN: [key.keyArn] },
      }),
    }),
  }));

integ.assertions
  .awsApiCall('EventBridge', 'listTargetsByRule', { Rule: kmsRule.ruleName })
  .expect(ExpectedResult.objectLike({ Targets: Match.arrayWith([Match.objectLike({ Arn: monitoring.topic.topicArn })]) }));

// Every target has the dead-letter queue (checked on the rules of the new alerts and the self-protection ones).
for (const id of ['KmsKeyConfigChange', 'KmsAliasChange', 'SecretValueChange', 'SecretRotationChange', 'TamperRules', 'TamperTopic']) {
  const rule = monitoring.rules.find(r => r.node.id === id)!;
  integ.assertions
    .awsApiCall('EventBridge', 'listTargetsByRule', { Rule: rule.ruleName })
    .expect(ExpectedResult.objectLike({
      Targets: Match.arrayWith([Match.objectLike({
        Arn: monitoring.topic.topicArn,
        DeadLetterConfig: { Arn: monitoring.deadLetterQueue.queueArn },
      })]),
    }));
}

const aliasRule = monitoring.rules.find(r => r.node.id === 'KmsAliasChange')!;
integ.assertions
  .awsApiCall('EventBridge', 'describeRule', { Name: aliasRule.ruleName })
  .expect(ExpectedResult.objectLike({
    State: 'ENABLED',
    EventPattern: Match.serializedJson(Match.objectLike({
      detail: Match.objectLike({ eventName: ['CreateAlias', 'UpdateAlias'], resources: { ARN: [key.keyArn] } }),
    })),
  }));

const tamperRules = monitoring.rules.find(r => r.node.id === 'TamperRules')!;
integ.assertions
  .awsApiCall('EventBridge', 'describeRule', { Name: tamperRules.ruleName })
  .expect(ExpectedResult.objectLike({
    State: 'ENABLED',
    EventPattern: Match.serializedJson(Match.objectLike({
      source: ['aws.events'],
      detail: Match.objectLike({ eventName: ['DeleteRule', 'DisableRule', 'PutRule', 'PutTargets', 'RemoveTargets'] }),
    })),
  }));

integ.assertions
  .awsApiCall('SQS', 'getQueueAttributes', { QueueUrl: monitoring.deadLetterQueue.queueUrl, AttributeNames: ['KmsMasterKeyId', 'MessageRetentionPeriod'] })
  .expect(ExpectedResult.objectLike({ Attributes: { KmsMasterKeyId: alertKey.keyArn, MessageRetentionPeriod: '1209600' } }));

const deadLettered = monitoring.alarms.find(a => a.node.id === 'AlertDeadLettered')!;
integ.assertions
  .awsApiCall('CloudWatch', 'describeAlarms', { AlarmNames: [deadLettered.alarmName] })
  .expect(ExpectedResult.objectLike({ MetricAlarms: [Match.objectLike({ ActionsEnabled: true, Threshold: 1 })] }));

const rotationRule = monitoring.rules.find(r => r.node.id === 'RotationFailed')!;
integ.assertions
  .awsApiCall('EventBridge', 'describeRule', { Name: rotationRule.ruleName })
  .expect(ExpectedResult.objectLike({
    State: 'ENABLED',
    EventPattern: Match.serializedJson(Match.objectLike({
      'detail-type': ['AWS Service Event via CloudTrail'],
      'detail': Match.objectLike({ eventName: ['RotationAbandoned', 'RotationFailed'], additionalEventData: { SecretId: [secret.secretArn] } }),
    })),
  }));

const errorsAlarm = monitoring.alarms.find(a => a.node.id === 'Errors')!;
integ.assertions
  .awsApiCall('CloudWatch', 'describeAlarms', { AlarmNames: [errorsAlarm.alarmName] })
  .expect(ExpectedResult.objectLike({
    MetricAlarms: [Match.objectLike({
      ActionsEnabled: true,
      AlarmActions: [monitoring.topic.topicArn],
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Threshold: 1,
      EvaluationPeriods: 1,
      Period: 300,
    })],
  }));

const decryptSpike = monitoring.alarms.find(a => a.node.id === 'KmsDecryptSpike')!;
integ.assertions
  .awsApiCall('CloudWatch', 'describeAlarms', { AlarmNames: [decryptSpike.alarmName] })
  .expect(ExpectedResult.objectLike({
    MetricAlarms: [Match.objectLike({
      ComparisonOperator: 'GreaterThanUpperThreshold',
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      AlarmActions: [monitoring.topic.topicArn],
    })],
  }));

integ.assertions
  .awsApiCall('SNS', 'getTopicAttributes', { TopicArn: monitoring.topic.topicArn })
  .expect(ExpectedResult.objectLike({ Attributes: Match.objectLike({ KmsMasterKeyId: alertKey.keyArn }) }));

integ.assertions
  .awsApiCall('KMS', 'getKeyPolicy', { KeyId: alertKey.keyId, PolicyName: 'default' })
  .expect(ExpectedResult.objectLike({
    Policy: Match.stringLikeRegexp('"Service"\\s*:\\s*"events.amazonaws.com".*"Service"\\s*:\\s*"cloudwatch.amazonaws.com"'),
  }));

app.synth();
