import { App, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ENV, one, resources } from './fixture';
import { CustomerManagedKey } from '../../src';
import { KeysAndSecretsMonitoring, KeysAndSecretsReplicaMonitoring } from '../../src/monitoring';
import { checkCompliance, describeFindings } from '../support/compliance';

const REPLICA_KEY = 'arn:aws:kms:us-east-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab';
const REPLICA_SECRET = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:payments/db-AbCdEf';

function build(replicaRegions = ['us-east-1']) {
  const app = new App();
  const primaryStack = new Stack(app, 'Primary', { env: ENV });
  const primary = new KeysAndSecretsMonitoring(primaryStack, 'Monitoring', { keys: [new CustomerManagedKey(primaryStack, 'Key', { multiRegion: true })], replicaRegions });
  const replicaStack = new Stack(app, 'Replica', { env: { account: ENV.account, region: 'us-east-1' } });
  return { app, primaryStack, primary, replicaStack };
}

describe('KeysAndSecretsReplicaMonitoring', () => {
  test('the replica region\'s rules forward to the primary monitoring\'s bus (literal ARN, a role, a dead-letter queue); the primary alerts on what arrives', () => {
    const { primaryStack, primary, replicaStack } = build();
    const replica = new KeysAndSecretsReplicaMonitoring(replicaStack, 'ReplicaMonitoring', {
      primary,
      keys: [kms.Key.fromKeyArn(replicaStack, 'ReplicaKey', REPLICA_KEY)],
      secrets: [secretsmanager.Secret.fromSecretCompleteArn(replicaStack, 'ReplicaSecret', REPLICA_SECRET)],
    });
    const busArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:eu-west-1:111111111111:event-bus/Primary-Monitoring-F015C432-replicas']] };
    expect(primary.namePrefix).toBe('Primary-Monitoring-F015C432');
    const rules = Object.values(resources(replicaStack, 'AWS::Events::Rule'));
    expect(rules.length).toBe(replica.rules.length);
    expect(rules.length).toBe(5 + 6 + 4);
    const dlq = one(replicaStack, 'AWS::SQS::Queue', /^ReplicaMonitoringDeadLetterQueue/).logicalId;
    for (const r of rules) {
      expect(r.Properties.Targets).toHaveLength(1);
      expect(r.Properties.Targets[0]).toEqual(expect.objectContaining({ Arn: busArn, DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } }, RoleArn: expect.anything() }));
    }
    const kmsRule = one(replicaStack, 'AWS::Events::Rule', /^ReplicaMonitoringKmsKeyChange/).Properties;
    expect(kmsRule.EventPattern.detail.resources).toEqual({ ARN: [REPLICA_KEY] });
    expect(one(replicaStack, 'AWS::Events::Rule', /^ReplicaMonitoringSecretReplicationChange/).Properties.EventPattern.detail.requestParameters.secretId)
      .toEqual([REPLICA_SECRET, 'arn:aws:secretsmanager:us-east-1:111111111111:secret:payments/db', 'payments/db']);
    // The forwarding role may put events on that bus only.
    expect(Object.keys(resources(replicaStack, 'AWS::IAM::Role'))).toHaveLength(1);
    expect(Object.keys(resources(replicaStack, 'AWS::IAM::Policy'))).toHaveLength(0);
    const policies = Object.values(resources(replicaStack, 'AWS::IAM::ManagedPolicy')).flatMap(p => p.Properties.PolicyDocument.Statement);
    expect(policies).toEqual([{ Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn }]);
    // No cross-region reference: the replica stack does not depend on the primary one.
    expect(replicaStack.dependencies).toEqual([]);

    // Primary side: the bus, and one rule on it that sends what arrives from the replica regions to the topic.
    const bus = one(primaryStack, 'AWS::Events::EventBus', /^MonitoringReplicaEvents/);
    expect(bus.Properties.Name).toBe('Primary-Monitoring-F015C432-replicas');
    const onBus = one(primaryStack, 'AWS::Events::Rule', /^MonitoringReplicaRegionEvents/).Properties;
    expect(onBus.EventBusName).toEqual({ Ref: bus.logicalId });
    expect(onBus.EventPattern).toEqual({ account: ['111111111111'], region: ['us-east-1'] });
    expect(onBus.Targets[0].Arn).toEqual({ Ref: one(primaryStack, 'AWS::SNS::Topic', /^MonitoringAlertTopic/).logicalId });
    expect(onBus.Targets[0].InputTransformer.InputTemplate).toContain('#replicaregionevent');

    // Alarms in the replica region: dead letters and lost forwards, each opening an OpsItem.
    const alarms = Object.values(resources(replicaStack, 'AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBe(3);
    for (const a of alarms) expect(JSON.stringify(a.Properties.AlarmActions)).toContain(':opsitem:1#CATEGORY=Security');
  });

  test('the replica stack has no findings in the four packs, our pack and cfn-lint', () => {
    const { primary, replicaStack } = build();
    new KeysAndSecretsReplicaMonitoring(replicaStack, 'ReplicaMonitoring', { primary, keys: [kms.Key.fromKeyArn(replicaStack, 'ReplicaKey', REPLICA_KEY)] });
    expect(describeFindings(checkCompliance(replicaStack).all)).toBe('');
  });

  test('a region the primary does not list, or nothing to watch, fails with the fix', () => {
    const { primary, replicaStack } = build(['us-west-2']);
    expect(() => new KeysAndSecretsReplicaMonitoring(replicaStack, 'R', { primary, keys: [kms.Key.fromKeyArn(replicaStack, 'K', REPLICA_KEY)] }))
      .toThrow(/KeysAndSecretsReplicaMonitoring\.primary: Primary\/Monitoring does not list us-east-1 in its replicaRegions.*Fix: Add 'us-east-1' to the `replicaRegions`/);
    const other = build();
    expect(() => new KeysAndSecretsReplicaMonitoring(other.replicaStack, 'R', { primary: other.primary }))
      .toThrow(/KeysAndSecretsReplicaMonitoring\.keys: nothing to watch/);
    expect(() => build(['eu-west-1'])).toThrow(/KeysAndSecretsMonitoring\.replicaRegions: lists eu-west-1, the region of this monitoring/);
    expect(() => build(['mars-1'])).toThrow(/replicaRegions: 'mars-1' is not a region name/);
  });
});
