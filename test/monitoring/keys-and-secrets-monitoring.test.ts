import { CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ENV, fixture, Fixture, logicalId, one, postgres, resources, rotatedSecret } from './fixture';
import { CustomerManagedKey, DatabaseEngine, ManagedSecret, Rotation, RotationFunction, RotationSchedule, RotationStrategy } from '../../src';
import { KeysAndSecretsMonitoring } from '../../src/monitoring';

const RUNBOOK = 'https://github.com/cdk-kms-secrets/cdk-kms-secrets/blob/main/docs/monitoring.md';
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const ref = (id: string) => ({ Ref: id });
const partition = { Ref: 'AWS::Partition' };

/** A generated secret name, as CloudFormation makes it: `<LogicalId>-<random>`, read from the ARN. */
function generatedName(secretId: string) {
  const resourceName = { 'Fn::Select': [6, { 'Fn::Split': [':', ref(secretId)] }] };
  return { 'Fn::Join': ['-', [0, 1].map(i => ({ 'Fn::Select': [i, { 'Fn::Split': ['-', resourceName] }] }))] };
}

function rule(stack: Stack, id: RegExp) {
  return one(stack, 'AWS::Events::Rule', id).Properties;
}

function alarm(stack: Stack, id: RegExp) {
  return one(stack, 'AWS::CloudWatch::Alarm', id).Properties;
}

describe('EventBridge rules: sources, detail types, event names, scoping', () => {
  function build(f: Fixture) {
    const key = new CustomerManagedKey(f.stack, 'Key', { alias: 'payments' });
    const imported = kms.Key.fromKeyArn(f.stack, 'Imported', 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    const generated = rotatedSecret(f, 'Db');
    const named = rotatedSecret(f, 'Named', 7, 'payments/db');
    const byName = secretsmanager.Secret.fromSecretNameV2(f.stack, 'ByName', 'legacy/api-token');
    const complete = secretsmanager.Secret.fromSecretCompleteArn(f.stack, 'Complete', 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:billing-AbCdEf');
    const monitoring = new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { keys: [key, imported], secrets: [generated, named, byName, complete] });
    return { key, imported, generated, named, byName, complete, monitoring };
  }

  test('KMS: the five management events, scoped by detail.resources.ARN to the watched keys and the keys of watched secrets', () => {
    const f = fixture();
    build(f);
    const s = f.stack;
    expect(rule(s, /^MonitoringKmsKeyChange/).EventPattern).toEqual({
      'source': ['aws.kms'],
      'detail-type': ['AWS API Call via CloudTrail'],
      'detail': {
        eventSource: ['kms.amazonaws.com'],
        eventName: ['CreateGrant', 'DeleteAlias', 'DisableKey', 'PutKeyPolicy', 'ScheduleKeyDeletion'],
        resources: {
          ARN: [
            arnOf(logicalId(s, 'AWS::KMS::Key', /^Key[0-9A-F]{8}$/)),
            'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
            // Db and Named share the stack's default key: listed once.
            arnOf(logicalId(s, 'AWS::KMS::Key', /^CdkKmsSecretsDefaultKey/)),
          ],
        },
      },
    });
  });

  test('Secrets Manager API calls: scoped by requestParameters.secretId to the ARN, the ARN without suffix and the name', () => {
    const f = fixture();
    build(f);
    const s = f.stack;
    const db = logicalId(s, 'AWS::SecretsManager::Secret', /^Db[0-9A-F]{8}$/);
    const named = logicalId(s, 'AWS::SecretsManager::Secret', /^Named[0-9A-F]{8}$/);
    const partialArn = (name: unknown) => ({ 'Fn::Join': ['', ['arn:', partition, ':secretsmanager:eu-west-1:111111111111:secret:', name]] });
    const secretIds = [
      ref(db), partialArn(generatedName(db)), generatedName(db),
      ref(named), { 'Fn::Join': ['', ['arn:', partition, ':secretsmanager:eu-west-1:111111111111:secret:payments/db']] }, 'payments/db',
      // Imported by name: no full ARN, so the ARN is matched by prefix.
      { prefix: { 'Fn::Join': ['', ['arn:', partition, ':secretsmanager:eu-west-1:111111111111:secret:legacy/api-token-']] } },
      { 'Fn::Join': ['', ['arn:', partition, ':secretsmanager:eu-west-1:111111111111:secret:legacy/api-token']] }, 'legacy/api-token',
      'arn:aws:secretsmanager:eu-west-1:111111111111:secret:billing-AbCdEf', 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:billing', 'billing',
    ];
    expect(rule(s, /^MonitoringSecretChange/).EventPattern).toEqual({
      'source': ['aws.secretsmanager'],
      'detail-type': ['AWS API Call via CloudTrail'],
      'detail': {
        eventSource: ['secretsmanager.amazonaws.com'],
        eventName: ['DeleteResourcePolicy', 'DeleteSecret', 'PutResourcePolicy'],
        requestParameters: { secretId: secretIds },
      },
    });
    expect(rule(s, /^MonitoringSecretKeyChange/).EventPattern).toEqual({
      'source': ['aws.secretsmanager'],
      'detail-type': ['AWS API Call via CloudTrail'],
      'detail': {
        eventSource: ['secretsmanager.amazonaws.com'],
        eventName: ['UpdateSecret'],
        requestParameters: { secretId: secretIds, kmsKeyId: [{ exists: true }] },
      },
    });
  });

  test('rotation failures: service events, scoped by additionalEventData.SecretId (always the full ARN)', () => {
    const f = fixture();
    build(f);
    const s = f.stack;
    expect(rule(s, /^MonitoringRotationFailed/).EventPattern).toEqual({
      'source': ['aws.secretsmanager'],
      'detail-type': ['AWS Service Event via CloudTrail'],
      'detail': {
        eventSource: ['secretsmanager.amazonaws.com'],
        eventName: ['RotationAbandoned', 'RotationFailed'],
        additionalEventData: {
          SecretId: [
            ref(logicalId(s, 'AWS::SecretsManager::Secret', /^Db[0-9A-F]{8}$/)),
            ref(logicalId(s, 'AWS::SecretsManager::Secret', /^Named[0-9A-F]{8}$/)),
            { prefix: { 'Fn::Join': ['', ['arn:', partition, ':secretsmanager:eu-west-1:111111111111:secret:legacy/api-token-']] } },
            'arn:aws:secretsmanager:eu-west-1:111111111111:secret:billing-AbCdEf',
          ],
        },
      },
    });
  });

  test('rotation overdue: one periodic Config rule per limit (interval + 2 days, 90 days when unknown) and a rule on its compliance changes', () => {
    const f = fixture();
    build(f);
    const s = f.stack;
    const configRules = resources(s, 'AWS::Config::ConfigRule');
    const limits = Object.values(configRules).map(r => r.Properties.InputParameters);
    expect(limits.sort((a, b) => Number(a.maxDaysSinceRotation) - Number(b.maxDaysSinceRotation))).toEqual([{ maxDaysSinceRotation: '9' }, { maxDaysSinceRotation: '32' }, { maxDaysSinceRotation: '90' }]);
    const rule32 = one(s, 'AWS::Config::ConfigRule', /^MonitoringRotationOverdueCheck32Days/);
    expect(rule32.Properties).toEqual({
      Description: 'cdk-kms-secrets: a secret that has not rotated for more than 32 days is NON_COMPLIANT',
      InputParameters: { maxDaysSinceRotation: '32' },
      MaximumExecutionFrequency: 'TwentyFour_Hours',
      Scope: { ComplianceResourceTypes: ['AWS::SecretsManager::Secret'] },
      Source: { Owner: 'AWS', SourceIdentifier: 'SECRETSMANAGER_SECRET_PERIODIC_ROTATION' },
    });
    expect(rule(s, /^MonitoringRotationOverdue32Days/).EventPattern).toEqual({
      'source': ['aws.config'],
      'detail-type': ['Config Rules Compliance Change'],
      'detail': {
        messageType: ['ComplianceChangeNotification'],
        configRuleName: [ref(rule32.logicalId)],
        resourceType: ['AWS::SecretsManager::Secret'],
        resourceId: [ref(logicalId(s, 'AWS::SecretsManager::Secret', /^Db[0-9A-F]{8}$/))],
        newEvaluationResult: { complianceType: ['NON_COMPLIANT'] },
      },
    });
    expect(rule(s, /^MonitoringRotationOverdue90Days/).EventPattern.detail.resourceId).toEqual([
      { prefix: { 'Fn::Join': ['', ['arn:', partition, ':secretsmanager:eu-west-1:111111111111:secret:legacy/api-token-']] } },
      'arn:aws:secretsmanager:eu-west-1:111111111111:secret:billing-AbCdEf',
    ]);
  });

  test('a secret of this app without rotation gets no overdue check; rotationOverdueCheck: false turns them off', () => {
    const f = fixture();
    const unrotated = new ManagedSecret(f.stack, 'Unrotated', { credentials: postgres });
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { secrets: [unrotated] });
    Template.fromStack(f.stack).resourceCountIs('AWS::Config::ConfigRule', 0);

    const g = fixture();
    new KeysAndSecretsMonitoring(g.stack, 'Monitoring', { secrets: [rotatedSecret(g, 'Db')], rotationOverdueCheck: false });
    Template.fromStack(g.stack).resourceCountIs('AWS::Config::ConfigRule', 0);
  });

  test('hour-based and custom schedules: rate(12 hours) -> 3 days with the default grace; a cron schedule -> 90 days', () => {
    const f = fixture();
    const hourly = rotatedSecret(f, 'Hourly');
    (hourly.node.findChild('RotationSchedule') as secretsmanager.CfnRotationSchedule).rotationRules = { scheduleExpression: 'rate(12 hours)' };
    const cron = new ManagedSecret(f.stack, 'Cron', {
      credentials: { ...postgres, username: 'cron' },
      rotation: Rotation.postgresSingleUser({ vpc: f.vpc, schedule: RotationSchedule.expression('cron(0 4 ? * SUN *)') }),
    });
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { secrets: [hourly, cron], rotationGracePeriod: Duration.days(2.5) });
    const limits = Object.values(resources(f.stack, 'AWS::Config::ConfigRule')).map(r => r.Properties.InputParameters.maxDaysSinceRotation).sort();
    expect(limits).toEqual(['3', '90']);
  });

  test('every alerting rule targets the topic with a message naming the alert, its runbook and the event fields', () => {
    const f = fixture();
    build(f);
    const s = f.stack;
    const topic = logicalId(s, 'AWS::SNS::Topic', /^MonitoringAlertTopic/);
    const dlq = logicalId(s, 'AWS::SQS::Queue', /^MonitoringDeadLetterQueue/);
    const expectations: Array<[RegExp, string, Record<string, string>]> = [
      [/^MonitoringKmsKeyChange/, 'kmskeychange', { 'detail-requestParameters-keyId': '$.detail.requestParameters.keyId', 'detail-requestParameters-aliasName': '$.detail.requestParameters.aliasName', 'detail-userIdentity-arn': '$.detail.userIdentity.arn' }],
      [/^MonitoringSecretChange/, 'secretchange', { 'detail-requestParameters-secretId': '$.detail.requestParameters.secretId', 'detail-errorCode': '$.detail.errorCode' }],
      [/^MonitoringSecretKeyChange/, 'secretkeychange', { 'detail-requestParameters-kmsKeyId': '$.detail.requestParameters.kmsKeyId' }],
      [/^MonitoringRotationFailed/, 'rotationfailed', { 'detail-additionalEventData-SecretId': '$.detail.additionalEventData.SecretId' }],
      [/^MonitoringRotationOverdue32Days/, 'rotationoverdue', { 'detail-resourceId': '$.detail.resourceId', 'detail-newEvaluationResult-complianceType': '$.detail.newEvaluationResult.complianceType' }],
    ];
    for (const [id, anchor, paths] of expectations) {
      const targets = rule(s, id).Targets;
      expect(targets).toHaveLength(1);
      expect(targets[0].Arn).toEqual(ref(topic));
      expect(targets[0].RoleArn).toBeUndefined();
      expect(targets[0].DeadLetterConfig).toEqual({ Arn: arnOf(dlq) });
      expect(targets[0].InputTransformer.InputPathsMap).toEqual(expect.objectContaining({ account: '$.account', region: '$.region', time: '$.time', ...paths }));
      const template = targets[0].InputTransformer.InputTemplate as string;
      expect(template).toContain(`"runbook":"${RUNBOOK}#${anchor}"`);
    }
    // Only alerting rules exist without a dashboard: 5 KMS, 5 Secrets Manager, 2 value-change groups
    // (the shared rotation function's secrets, and the imported ones), rotation failed, 3 overdue, 5 self-protection.
    const all = Object.values(resources(s, 'AWS::Events::Rule'));
    expect(all).toHaveLength(21);
    // ES4000: every target of every rule has a dead-letter queue.
    for (const r of all) for (const t of r.Properties.Targets) expect(t.DeadLetterConfig).toEqual({ Arn: arnOf(dlq) });
  });

  test('hundreds of keys and secrets are split so that every event pattern stays under 2,048 characters', () => {
    const f = fixture();
    const keys = Array.from({ length: 60 }, (_, i) => kms.Key.fromKeyArn(f.stack, `K${i}`, `arn:aws:kms:eu-west-1:111111111111:key/${String(i).padStart(8, '0')}-12ab-34cd-56ef-1234567890ab`));
    const secrets = Array.from({ length: 40 }, (_, i) => secretsmanager.Secret.fromSecretCompleteArn(f.stack, `S${i}`, `arn:aws:secretsmanager:eu-west-1:111111111111:secret:tenant-${i}/database/credentials-AbCdEf`));
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { keys, secrets, rotationOverdueCheck: false });
    const rules = Object.entries(resources(f.stack, 'AWS::Events::Rule'));
    const kmsRules = rules.filter(([id]) => id.startsWith('MonitoringKmsKeyChange'));
    const secretRules = rules.filter(([id]) => id.startsWith('MonitoringSecretChange'));
    expect(kmsRules.length).toBeGreaterThan(1);
    expect(secretRules.length).toBeGreaterThan(1);
    for (const [, r] of rules) expect(JSON.stringify(r.Properties.EventPattern).length).toBeLessThanOrEqual(2048);
    // Nothing is lost in the split.
    expect(kmsRules.flatMap(([, r]) => r.Properties.EventPattern.detail.resources.ARN)).toHaveLength(60);
    expect(secretRules.flatMap(([, r]) => r.Properties.EventPattern.detail.requestParameters.secretId)).toHaveLength(120);
    // One delivery-failure alarm per 5 alerting rules (two metrics each).
    const deliveryAlarms = resources(f.stack, 'AWS::CloudWatch::Alarm', /^MonitoringAlertDeliveryFailed/);
    expect(Object.keys(deliveryAlarms)).toHaveLength(Math.ceil(rules.length / 5));
  });
});

describe('alarms: metric, statistic, threshold, period, evaluation periods, action', () => {
  test('a rotation function: errors >= 1, throttles >= 1, maximum duration >= 80% of its timeout, each over one 5-minute period', () => {
    const f = fixture();
    const secret = rotatedSecret(f, 'Db');
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { secrets: [secret] });
    const s = f.stack;
    const fn = logicalId(s, 'AWS::Lambda::Function', /^RotationFunction/);
    const topic = logicalId(s, 'AWS::SNS::Topic', /^MonitoringAlertTopic/);
    const common = {
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: ref(fn) }],
      Period: 300,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [ref(topic)],
      // Named with the monitoring's prefix, which the self-protection rule matches.
      AlarmName: expect.stringMatching(/^Monitored-Monitoring-29968EFC-RotationFunction\w+-(Errors|Throttles|Duration)$/),
    };
    expect(alarm(s, /Errors[0-9A-F]{8}$/)).toEqual({ ...common, MetricName: 'Errors', Statistic: 'Sum', Threshold: 1, AlarmDescription: expect.stringMatching(/^\[cdk-kms-secrets\] RotationFunctionErrors: .* Runbook: .*#rotationfunctionerrors$/) });
    expect(alarm(s, /Throttles[0-9A-F]{8}$/)).toEqual({ ...common, MetricName: 'Throttles', Statistic: 'Sum', Threshold: 1, AlarmDescription: expect.stringContaining('#rotationfunctionthrottles') });
    expect(alarm(s, /Duration[0-9A-F]{8}$/)).toEqual({ ...common, MetricName: 'Duration', Statistic: 'Maximum', Threshold: 24000, AlarmDescription: expect.stringContaining('80% of its 30 seconds timeout') });
  });

  test('durationAlarmPercent moves the duration threshold; an imported function (timeout unknown) gets no duration alarm', () => {
    const f = fixture();
    const fn = new RotationFunction(f.stack, 'Fn', { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc: f.vpc, timeout: Duration.minutes(2) });
    const imported = lambda.Function.fromFunctionArn(f.stack, 'Imported', 'arn:aws:lambda:eu-west-1:111111111111:function:legacy-rotation');
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { rotationFunctions: [fn.function, imported], durationAlarmPercent: 50 });
    const durations = Object.values(resources(f.stack, 'AWS::CloudWatch::Alarm')).filter(a => a.Properties.MetricName === 'Duration');
    expect(durations.map(a => a.Properties.Threshold)).toEqual([60000]);
    const errors = Object.values(resources(f.stack, 'AWS::CloudWatch::Alarm')).filter(a => a.Properties.MetricName === 'Errors');
    expect(errors.map(a => a.Properties.Dimensions[0].Value)).toEqual([ref(logicalId(f.stack, 'AWS::Lambda::Function', /^FnFunction/)), 'legacy-rotation']);
  });

  test('usage spikes: an anomaly detector and a 3-of-3 five-minute alarm above a 3-deviation band, per KMS operation and GetSecretValue', () => {
    const f = fixture();
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { secrets: [rotatedSecret(f, 'Db')] });
    const s = f.stack;
    const topic = logicalId(s, 'AWS::SNS::Topic', /^MonitoringAlertTopic/);
    const cases: Array<[string, string, string]> = [
      ['KmsDecrypt', 'KMS', 'Decrypt'],
      ['KmsGenerateDataKey', 'KMS', 'GenerateDataKey'],
      ['KmsEncrypt', 'KMS', 'Encrypt'],
      ['SecretsManagerGetSecretValue', 'Secrets Manager', 'GetSecretValue'],
    ];
    expect(Object.keys(resources(s, 'AWS::CloudWatch::AnomalyDetector'))).toHaveLength(4);
    for (const [id, service, operation] of cases) {
      const detector = one(s, 'AWS::CloudWatch::AnomalyDetector', new RegExp(`^MonitoringUsageSpikes${id}Model`));
      expect(detector.Properties).toEqual({
        SingleMetricAnomalyDetector: {
          Namespace: 'AWS/Usage',
          MetricName: 'CallCount',
          Dimensions: [{ Name: 'Service', Value: service }, { Name: 'Type', Value: 'API' }, { Name: 'Resource', Value: operation }, { Name: 'Class', Value: 'None' }],
          Stat: 'Sum',
        },
      });
      const a = one(s, 'AWS::CloudWatch::Alarm', new RegExp(`^MonitoringUsageSpikes${id}Spike`));
      expect(a.DependsOn).toContain(detector.logicalId);
      expect(a.Properties).toEqual({
        AlarmName: `Monitored-Monitoring-29968EFC-UsageSpikes-${id}Spike`,
        ComparisonOperator: 'GreaterThanUpperThreshold',
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        TreatMissingData: 'notBreaching',
        ThresholdMetricId: 'expr_1',
        AlarmActions: [ref(topic)],
        AlarmDescription: expect.stringContaining('#usagespike'),
        Metrics: [
          { Id: 'expr_1', Expression: 'ANOMALY_DETECTION_BAND(m0, 3)', Label: 'Anomaly Detection Band', ReturnData: true },
          {
            Id: 'm0',
            Label: `${service} ${operation} calls`,
            ReturnData: true,
            MetricStat: {
              Metric: {
                Namespace: 'AWS/Usage',
                MetricName: 'CallCount',
                Dimensions: [{ Name: 'Class', Value: 'None' }, { Name: 'Resource', Value: operation }, { Name: 'Service', Value: service }, { Name: 'Type', Value: 'API' }],
              },
              Period: 300,
              Stat: 'Sum',
            },
          },
        ],
      });
    }
  });

  test('anomalyBandWidth sets the band; usageAnomalyAlarms: false removes detectors and alarms; only keys -> only the KMS ones', () => {
    const f = fixture();
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { keys: [new CustomerManagedKey(f.stack, 'Key')], anomalyBandWidth: 4.5 });
    const spikes = Object.values(resources(f.stack, 'AWS::CloudWatch::Alarm', /UsageSpikes/));
    expect(spikes).toHaveLength(3);
    for (const a of spikes) expect(a.Properties.Metrics[0].Expression).toBe('ANOMALY_DETECTION_BAND(m0, 4.5)');

    const g = fixture();
    new KeysAndSecretsMonitoring(g.stack, 'Monitoring', { keys: [new CustomerManagedKey(g.stack, 'Key')], usageAnomalyAlarms: false });
    Template.fromStack(g.stack).resourceCountIs('AWS::CloudWatch::AnomalyDetector', 0);
    expect(Object.keys(resources(g.stack, 'AWS::CloudWatch::Alarm', /UsageSpikes/))).toHaveLength(0);
  });

  test('alert delivery: FailedInvocations and InvocationsFailedToBeSentToDlq of every alerting rule, summed, 5 rules per alarm; >= 1 in 5 minutes alarms', () => {
    const f = fixture();
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { keys: [new CustomerManagedKey(f.stack, 'Key')] });
    const s = f.stack;
    const topic = ref(logicalId(s, 'AWS::SNS::Topic', /^MonitoringAlertTopic/));
    const opsItem = { 'Fn::Join': ['', ['arn:', partition, ':ssm:eu-west-1:111111111111:opsitem:1#CATEGORY=Security']] };
    // 5 KMS rules and 5 self-protection rules: two alarms. Rules are named literally, with the prefix.
    const first = alarm(s, /^MonitoringAlertDeliveryFailed1/);
    expect(Object.keys(resources(s, 'AWS::CloudWatch::Alarm', /^MonitoringAlertDeliveryFailed/))).toHaveLength(2);
    const metric = (id: string, metricName: string, ruleName: string) => ({
      Id: id, ReturnData: false, MetricStat: { Metric: { Namespace: 'AWS/Events', MetricName: metricName, Dimensions: [{ Name: 'RuleName', Value: ruleName }] }, Period: 300, Stat: 'Sum' },
    });
    const kmsRules = ['KmsKeyChange', 'KmsKeyConfigChange', 'KmsAliasChange', 'KmsMultiRegionChange', 'KmsTagChange'].map(n => `Monitored-Monitoring-29968EFC-${n}`);
    expect(first).toEqual({
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
      AlarmName: 'Monitored-Monitoring-29968EFC-AlertDeliveryFailed1',
      // The alert topic, and a path that needs neither topic nor key: an OpsItem.
      AlarmActions: [topic, opsItem],
      AlarmDescription: expect.stringContaining('#alertdeliveryfailed'),
      Metrics: [
        { Id: 'expr_1', Expression: 'SUM([r0,d0,r1,d1,r2,d2,r3,d3,r4,d4])', Label: 'Failed alert deliveries', ReturnData: true },
        ...kmsRules.flatMap((n, i) => [metric(`r${i}`, 'FailedInvocations', n), metric(`d${i}`, 'InvocationsFailedToBeSentToDlq', n)]),
      ],
    });
    for (const n of kmsRules) expect(Object.values(resources(s, 'AWS::Events::Rule')).map(r => r.Properties.Name)).toContain(n);
  });

  test('dead letters: the encrypted queue and its archive, and an alarm on their depth that notifies the topic, an OpsItem and the failureTopic', () => {
    const f = fixture();
    const failureTopic = new sns.Topic(f.stack, 'Pager', { masterKey: new CustomerManagedKey(f.stack, 'PagerKey') });
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { keys: [new CustomerManagedKey(f.stack, 'Key')], failureTopic });
    const s = f.stack;
    const key = logicalId(s, 'AWS::KMS::Key', /^CdkKmsSecretsDefaultKey/);
    const queue = one(s, 'AWS::SQS::Queue', /^MonitoringDeadLetterQueue/);
    const archive = one(s, 'AWS::SQS::Queue', /^MonitoringDeadLetterArchive/);
    expect(queue.Properties).toEqual({
      QueueName: 'Monitored-Monitoring-29968EFC-dlq',
      KmsMasterKeyId: arnOf(key),
      MessageRetentionPeriod: 1209600,
      RedrivePolicy: { deadLetterTargetArn: arnOf(archive.logicalId), maxReceiveCount: 10 },
    });
    expect(archive.Properties).toEqual({ QueueName: 'Monitored-Monitoring-29968EFC-dlq-archive', KmsMasterKeyId: arnOf(key), MessageRetentionPeriod: 1209600 });
    const pager = ref(logicalId(s, 'AWS::SNS::Topic', /^Pager/));
    const depth = alarm(s, /^MonitoringAlertDeadLettered/);
    expect(depth.AlarmActions).toEqual([ref(logicalId(s, 'AWS::SNS::Topic', /^MonitoringAlertTopic/)), expect.objectContaining({ 'Fn::Join': expect.anything() }), pager]);
    expect(depth.Metrics[0]).toEqual({ Id: 'expr_1', Expression: 'SUM([queue, archive])', Label: 'Undelivered alerts', ReturnData: true });
    const stat = (m: any) => [m.MetricStat.Metric.MetricName, m.MetricStat.Stat, m.MetricStat.Metric.Dimensions[0].Value];
    expect(depth.Metrics.slice(1).map(stat)).toEqual([
      ['ApproximateNumberOfMessagesVisible', 'Maximum', { 'Fn::GetAtt': [queue.logicalId, 'QueueName'] }],
      ['ApproximateNumberOfMessagesVisible', 'Maximum', { 'Fn::GetAtt': [archive.logicalId, 'QueueName'] }],
    ]);
    expect(depth.Threshold).toBe(1);
    // Only the failure alarms reach the failure topic, and its policy lets exactly them publish.
    for (const a of Object.values(resources(s, 'AWS::CloudWatch::Alarm'))) {
      expect(a.Properties.AlarmActions.some((x: unknown) => JSON.stringify(x) === JSON.stringify(pager))).toBe(/AlertDe/.test(a.Properties.AlarmName));
    }
    const pagerPolicy = one(s, 'AWS::SNS::TopicPolicy', /^PagerPolicy/).Properties.PolicyDocument.Statement;
    const failureAlarms = Object.keys(resources(s, 'AWS::CloudWatch::Alarm', /^MonitoringAlertDe/));
    expect(pagerPolicy).toEqual([expect.objectContaining({
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: 'sns:Publish',
      Condition: { StringEquals: { 'aws:SourceAccount': ENV.account }, ArnEquals: { 'aws:SourceArn': failureAlarms.map(arnOf) } },
    })]);
    // The queue lets EventBridge send only for these rules, SNS only for this topic.
    const queuePolicy = one(s, 'AWS::SQS::QueuePolicy', /^MonitoringDeadLetterQueuePolicy/).Properties.PolicyDocument.Statement as Array<Record<string, any>>;
    const rules = Object.keys(resources(s, 'AWS::Events::Rule'));
    const fromEvents = queuePolicy.filter(st => st.Principal?.Service === 'events.amazonaws.com');
    expect(fromEvents.map(st => st.Condition.ArnEquals['aws:SourceArn']).sort()).toEqual(rules.map(arnOf).sort());
  });

  test('failureOpsItems: false leaves the failure alarms with the topic only', () => {
    const f = fixture();
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { keys: [new CustomerManagedKey(f.stack, 'Key')], failureOpsItems: false });
    const topic = ref(logicalId(f.stack, 'AWS::SNS::Topic', /^MonitoringAlertTopic/));
    expect(alarm(f.stack, /^MonitoringAlertDeadLettered/).AlarmActions).toEqual([topic]);
  });

  test('every alarm notifies the topic; only the failure alarms also open an OpsItem', () => {
    const f = fixture();
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { secrets: [rotatedSecret(f, 'Db')], dashboard: true });
    const topic = ref(logicalId(f.stack, 'AWS::SNS::Topic', /^MonitoringAlertTopic/));
    const alarms = Object.entries(resources(f.stack, 'AWS::CloudWatch::Alarm'));
    // 3 function alarms, 4 usage spikes, 3 delivery-failure alarms (12 rules + 5 self-protection + ...), 1 dead letters.
    const failure = alarms.filter(([id]) => /^MonitoringAlertDe/.test(id));
    expect(alarms.length - failure.length).toBe(3 + 4);
    expect(failure.length).toBeGreaterThanOrEqual(2);
    for (const [id, a] of alarms) {
      expect(a.Properties.AlarmActions[0]).toEqual(topic);
      expect(a.Properties.AlarmActions).toHaveLength(/^MonitoringAlertDe/.test(id) ? 2 : 1);
      expect(a.Properties.ActionsEnabled).not.toBe(false);
    }
  });
});

describe('the alert topic and its key', () => {
  test('encrypted with the stack\'s default CustomerManagedKey, SSL enforced, publishable only by these rules and alarms of this account, changeable only by deployments', () => {
    const f = fixture();
    const m = new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { keys: [new CustomerManagedKey(f.stack, 'Key')] });
    const s = f.stack;
    const key = logicalId(s, 'AWS::KMS::Key', /^CdkKmsSecretsDefaultKey/);
    const topic = one(s, 'AWS::SNS::Topic', /^MonitoringAlertTopic/);
    expect(topic.Properties).toEqual({ KmsMasterKeyId: arnOf(key), TopicName: 'Monitored-Monitoring-29968EFC-alerts', DisplayName: 'cdk-kms-secrets alerts' });
    expect(m.encryptionKey.node.path).toBe('Monitored/CdkKmsSecretsDefaultKey');
    expect(m.encryptionKey).toBe(CustomerManagedKey.forStack(s));
    const rules = Object.keys(resources(s, 'AWS::Events::Rule'));
    const alarms = Object.keys(resources(s, 'AWS::CloudWatch::Alarm'));
    expect(one(s, 'AWS::SNS::TopicPolicy', /^MonitoringAlertTopicPolicy/).Properties.PolicyDocument.Statement).toEqual([
      {
        Sid: 'AllowPublishThroughSSLOnly',
        Effect: 'Deny',
        Principal: '*',
        Action: 'sns:Publish',
        Resource: ref(topic.logicalId),
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      },
      {
        Sid: 'MonitoringRulesPublish',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: ref(topic.logicalId),
        Condition: { StringEquals: { 'aws:SourceAccount': ENV.account }, ArnEquals: { 'aws:SourceArn': rules.map(arnOf) } },
      },
      {
        Sid: 'MonitoringAlarmsPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Resource: ref(topic.logicalId),
        Condition: { StringEquals: { 'aws:SourceAccount': ENV.account }, ArnEquals: { 'aws:SourceArn': alarms.map(arnOf) } },
      },
      {
        Sid: 'OnlyAdministratorsChangeTopic',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: ['sns:AddPermission', 'sns:DeleteTopic', 'sns:PutDataProtectionPolicy', 'sns:RemovePermission', 'sns:SetSubscriptionAttributes', 'sns:SetTopicAttributes', 'sns:Subscribe', 'sns:Unsubscribe'],
        Resource: ref(topic.logicalId),
        // The new key names no administrators: only deployments (the bootstrap's CloudFormation execution role).
        Condition: { ArnNotLike: { 'aws:PrincipalArn': [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::111111111111:role/cdk-hnb659fds-cfn-exec-role-111111111111-eu-west-1' }] } },
      },
      {
        Sid: 'OnlyMonitoringPublishes',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'sns:Publish',
        Resource: ref(topic.logicalId),
        Condition: { ArnNotEquals: { 'aws:SourceArn': [...rules, ...alarms].map(arnOf) } },
      },
      {
        Sid: 'OnlyThisAccountPublishes',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'sns:Publish',
        Resource: ref(topic.logicalId),
        Condition: { StringNotEquals: { 'aws:SourceAccount': ENV.account } },
      },
    ]);
  });

  test('the key policy: EventBridge and CloudWatch are service users for this topic only, EventBridge and SNS for the dead-letter queue only (GenerateDataKey + Decrypt), CloudWatch only for this account', () => {
    const f = fixture();
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { keys: [new CustomerManagedKey(f.stack, 'Key')] });
    const policy = one(f.stack, 'AWS::KMS::Key', /^CdkKmsSecretsDefaultKey/).Properties.KeyPolicy.Statement as Array<Record<string, any>>;
    const topicArn = { 'Fn::Join': ['', ['arn:', partition, ':sns:eu-west-1:111111111111:Monitored-Monitoring-29968EFC-alerts']] };
    const queueArn = { 'Fn::Join': ['', ['arn:', partition, ':sqs:eu-west-1:111111111111:Monitored-Monitoring-29968EFC-dlq']] };
    expect(policy.map(st => st.Sid)).toEqual(['AccountAdministersKey', 'ServicesUseKey', 'ServicesUseKey2', 'ServicesUseKey3']);
    expect(policy[0].Action).not.toContain('kms:Decrypt');
    expect(policy.slice(1)).toEqual([
      {
        Sid: 'ServicesUseKey',
        Effect: 'Allow',
        Principal: { Service: ['events.amazonaws.com', 'sns.amazonaws.com'] },
        Resource: '*',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Condition: { StringEquals: { 'kms:EncryptionContext:aws:sqs:arn': queueArn } },
      },
      {
        Sid: 'ServicesUseKey2',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Resource: '*',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Condition: { StringEquals: { 'kms:EncryptionContext:aws:sns:topicArn': topicArn } },
      },
      {
        Sid: 'ServicesUseKey3',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Resource: '*',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Condition: { StringEquals: { 'aws:SourceAccount': ENV.account, 'kms:EncryptionContext:aws:sns:topicArn': topicArn } },
      },
    ]);
  });

  test('a key passed as encryptionKey is used and gets the same service-user statements; email and HTTPS subscriptions, each with the dead-letter queue (ES7000)', () => {
    const f = fixture();
    const alertKey = new CustomerManagedKey(f.stack, 'AlertKey', { alias: 'alerts' });
    const m = new KeysAndSecretsMonitoring(f.stack, 'Monitoring', {
      keys: [new CustomerManagedKey(f.stack, 'Key')],
      encryptionKey: alertKey,
      emails: ['security@example.com', 'oncall@example.org'],
      httpsEndpoints: ['https://hooks.example.com/alerts'],
    });
    expect(m.encryptionKey).toBe(alertKey);
    const s = f.stack;
    Template.fromStack(s).resourceCountIs('AWS::KMS::Key', 2);
    expect(one(s, 'AWS::SNS::Topic', /^MonitoringAlertTopic/).Properties.KmsMasterKeyId).toEqual(arnOf(logicalId(s, 'AWS::KMS::Key', /^AlertKey/)));
    const sids = (one(s, 'AWS::KMS::Key', /^AlertKey/).Properties.KeyPolicy.Statement as Array<{ Sid: string }>).map(st => st.Sid);
    expect(sids).toEqual(['AccountAdministersKey', 'ServicesUseKey', 'ServicesUseKey2', 'ServicesUseKey3']);
    const dlq = arnOf(logicalId(s, 'AWS::SQS::Queue', /^MonitoringDeadLetterQueue/));
    const subs = Object.values(resources(s, 'AWS::SNS::Subscription')).map(r => [r.Properties.Protocol, r.Properties.Endpoint, r.Properties.RedrivePolicy]);
    expect(subs).toEqual([
      ['email', 'security@example.com', { deadLetterTargetArn: dlq }],
      ['email', 'oncall@example.org', { deadLetterTargetArn: dlq }],
      ['https', 'https://hooks.example.com/alerts', { deadLetterTargetArn: dlq }],
    ]);
  });
});

describe('watchScope', () => {
  test('finds every CustomerManagedKey, ManagedSecret (its key and rotation function) and RotationFunction; the stack\'s key, shared by the secret, its function and the topic, once', () => {
    const f = fixture();
    const key = new CustomerManagedKey(f.stack, 'Key');
    const secret = rotatedSecret(f, 'Db');
    const nested = new Construct(f.stack, 'Nested');
    const inner = new CustomerManagedKey(nested, 'Inner');
    const m = new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { watchScope: f.stack });
    expect(m.watchedKeys).toEqual(expect.arrayContaining([key, inner, secret.key]));
    expect(m.watchedKeys).toHaveLength(3);
    expect(secret.rotatedBy!.key).toBe(secret.key);
    expect(m.encryptionKey).toBe(secret.key);
    expect(m.watchedSecrets).toEqual([secret]);
    expect(m.watchedRotationFunctions).toEqual([secret.rotatedBy!.function]);
    expect(rule(f.stack, /^MonitoringKmsKeyChange/).EventPattern.detail.resources.ARN).toHaveLength(3);
    expect(() => f.app.synth()).not.toThrow();
  });

  test('a narrower scope finds only what is inside it; explicit resources add to it without duplicates', () => {
    const f = fixture();
    const team = new Construct(f.stack, 'Team');
    const teamKey = new CustomerManagedKey(team, 'Key');
    const other = new CustomerManagedKey(f.stack, 'Other');
    const m = new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { watchScope: team, keys: [teamKey, other] });
    expect(m.watchedKeys).toEqual([teamKey, other]);
  });

  test('a key or secret added to the scope after the monitoring fails the synthesis, naming it', () => {
    const f = fixture();
    new CustomerManagedKey(f.stack, 'Key');
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { watchScope: f.stack });
    new CustomerManagedKey(f.stack, 'LateKey');
    rotatedSecret(f, 'LateSecret');
    let message = '';
    try {
      f.app.synth();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/KeysAndSecretsMonitoring\.watchScope: .* were added to Monitored after Monitored\/Monitoring was created, so they are not watched\. Fix: Create the monitoring after/);
    const listed = /watchScope: (.*) were added/.exec(message)![1].split(', ').sort();
    expect(listed).toEqual([
      // The late secret and its function use the stack's default key, which the monitoring (its alert key) already watches.
      'Monitored/LateKey', 'Monitored/LateSecret',
      expect.stringMatching(/^Monitored\/RotationFunctionpostgresSingleUser\w+\/Function$/),
    ]);
  });
});

describe('dashboard', () => {
  test('off by default; when on: alarm states, rotation outcomes, API calls and the rotation functions, plus a target-less success rule', () => {
    const f = fixture();
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { secrets: [rotatedSecret(f, 'Db')] });
    Template.fromStack(f.stack).resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(Object.keys(resources(f.stack, 'AWS::Events::Rule', /RotationSucceeded/))).toHaveLength(0);

    const g = fixture();
    const m = new KeysAndSecretsMonitoring(g.stack, 'Monitoring', { secrets: [rotatedSecret(g, 'Db')], dashboard: true });
    expect(m.dashboard).toBeDefined();
    const success = one(g.stack, 'AWS::Events::Rule', /^MonitoringRotationSucceeded/);
    expect(success.Properties.Targets).toBeUndefined();
    expect(success.Properties.EventPattern.detail.eventName).toEqual(['RotationSucceeded']);
    expect(success.Properties.EventPattern['detail-type']).toEqual(['AWS Service Event via CloudTrail']);
    const body = JSON.stringify(one(g.stack, 'AWS::CloudWatch::Dashboard', /^MonitoringDashboard/).Properties.DashboardBody);
    expect(body).toContain('\\"type\\":\\"alarm\\"');
    for (const a of Object.keys(resources(g.stack, 'AWS::CloudWatch::Alarm'))) expect(body).toContain(`"Fn::GetAtt":["${a}","Arn"]`);
    expect(body).toContain(`\\"TriggeredRules\\",\\"RuleName\\",\\"",{"Ref":"${success.logicalId}"}`);
    expect(body).toContain(`{"Ref":"${logicalId(g.stack, 'AWS::Events::Rule', /^MonitoringRotationFailed/)}"}`);
    expect(body).toContain('\\"AWS/Usage\\",\\"CallCount\\"');
    expect(body).toContain('\\"Rotation functions: maximum duration\\"');
  });
});

describe('bad configurations fail at synth time with the property and the fix', () => {
  const cases: Array<[string, (f: Fixture) => void, RegExp]> = [
    ['nothing to watch', f => new KeysAndSecretsMonitoring(f.stack, 'M'),
      /\[cdk-kms-secrets\] KeysAndSecretsMonitoring\.keys: nothing to watch.*Fix: Pass the keys and secrets to watch, or `watchScope: this`/],
    ['a watchScope that holds nothing yet', f => {
      new KeysAndSecretsMonitoring(f.stack, 'M', { watchScope: f.stack });
      new CustomerManagedKey(f.stack, 'TooLate');
    }, /KeysAndSecretsMonitoring\.watchScope: Monitored holds no CustomerManagedKey, ManagedSecret or RotationFunction \(yet\).*Fix: Create the monitoring after/],
    ['an http:// endpoint', f => new KeysAndSecretsMonitoring(f.stack, 'M', { keys: [new CustomerManagedKey(f.stack, 'K')], httpsEndpoints: ['http://hooks.example.com/alerts'] }),
      /KeysAndSecretsMonitoring\.httpsEndpoints: 'http:\/\/hooks\.example\.com\/alerts' is not an https:\/\/ URL.*Fix: Use an https:\/\/ endpoint/],
    ['an endpoint with user:password@ in it', f => new KeysAndSecretsMonitoring(f.stack, 'M', { keys: [new CustomerManagedKey(f.stack, 'K')], httpsEndpoints: ['https://ops:hunter2@hooks.example.com/alerts'] }),
      /KeysAndSecretsMonitoring\.httpsEndpoints: the endpoint on hooks\.example\.com carries credentials \(user:password@\)(?!.*hunter2).*Fix:/],
    ['an endpoint that is not a URL', f => new KeysAndSecretsMonitoring(f.stack, 'M', { keys: [new CustomerManagedKey(f.stack, 'K')], httpsEndpoints: ['hooks.example.com'] }),
      /httpsEndpoints: 'hooks\.example\.com' is not an https:\/\/ URL/],
    ['a duplicate endpoint', f => new KeysAndSecretsMonitoring(f.stack, 'M', { keys: [new CustomerManagedKey(f.stack, 'K')], httpsEndpoints: ['https://a.example.com/x', 'https://a.example.com/x'] }),
      /httpsEndpoints: 'https:\/\/a\.example\.com\/x' is listed twice/],
    ['a malformed email', f => new KeysAndSecretsMonitoring(f.stack, 'M', { keys: [new CustomerManagedKey(f.stack, 'K')], emails: ['security-at-example.com'] }),
      /KeysAndSecretsMonitoring\.emails: 'security-at-example\.com' is not an email address.*Fix: Give addresses such as/],
    ['a duplicate email (case-insensitive)', f => new KeysAndSecretsMonitoring(f.stack, 'M', { keys: [new CustomerManagedKey(f.stack, 'K')], emails: ['sec@example.com', 'SEC@example.com'] }),
      /emails: 'SEC@example\.com' is listed twice.*Fix: List each address once/],
    ['the same key twice', f => {
      const k = new CustomerManagedKey(f.stack, 'K');
      new KeysAndSecretsMonitoring(f.stack, 'M', { keys: [k, k] });
    }, /KeysAndSecretsMonitoring\.keys: lists Monitored\/K twice/],
    ['a key and an import of it', f => {
      const k = kms.Key.fromKeyArn(f.stack, 'A', 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab');
      const again = kms.Key.fromKeyArn(f.stack, 'B', 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab');
      new KeysAndSecretsMonitoring(f.stack, 'M', { keys: [k, again] });
    }, /keys: lists Monitored\/B twice \(also as Monitored\/A\)/],
    ['the same secret twice', f => {
      const s = rotatedSecret(f, 'S');
      new KeysAndSecretsMonitoring(f.stack, 'M', { secrets: [s, s] });
    }, /KeysAndSecretsMonitoring\.secrets: lists Monitored\/S twice/],
    ['an alias instead of a key', f => {
      const alias = kms.Alias.fromAliasName(f.stack, 'Alias', 'alias/payments');
      new KeysAndSecretsMonitoring(f.stack, 'M', { keys: [alias] });
    }, /KeysAndSecretsMonitoring\.keys: Monitored\/Alias is an alias, not a key: KMS events name the key ARN/],
    ['a key of another region', f => {
      const k = kms.Key.fromKeyArn(f.stack, 'Far', 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab');
      new KeysAndSecretsMonitoring(f.stack, 'M', { keys: [k] });
    }, /KeysAndSecretsMonitoring\.keys: Monitored\/Far is in us-east-1, but this monitoring is in eu-west-1.*Fix: Create a KeysAndSecretsMonitoring in a stack of us-east-1/],
    ['a zero-width anomaly band', f => new KeysAndSecretsMonitoring(f.stack, 'M', { keys: [new CustomerManagedKey(f.stack, 'K')], anomalyBandWidth: 0 }),
      /KeysAndSecretsMonitoring\.anomalyBandWidth: 0 is outside \(0, 10\]/],
    ['a duration threshold over 100%', f => new KeysAndSecretsMonitoring(f.stack, 'M', { keys: [new CustomerManagedKey(f.stack, 'K')], durationAlarmPercent: 150 }),
      /KeysAndSecretsMonitoring\.durationAlarmPercent: 150 is outside \(0, 100\]/],
    ['a grace period over 30 days', f => new KeysAndSecretsMonitoring(f.stack, 'M', { keys: [new CustomerManagedKey(f.stack, 'K')], rotationGracePeriod: Duration.days(45) }),
      /KeysAndSecretsMonitoring\.rotationGracePeriod: 45 days is outside 0 to 30 days/],
    ['a runbook URL over http', f => new KeysAndSecretsMonitoring(f.stack, 'M', { keys: [new CustomerManagedKey(f.stack, 'K')], runbookUrl: 'http://wiki.example.com/runbooks' }),
      /KeysAndSecretsMonitoring\.runbookUrl: 'http:\/\/wiki\.example\.com\/runbooks' is not an https:\/\/ URL/],
  ];

  test.each(cases)('%s', (_name, build, message) => {
    const f = fixture();
    expect(() => {
      build(f);
      f.app.synth();
    }).toThrow(message);
  });
});

describe('the actions the first version did not watch', () => {
  test('KMS: config, alias, multi-Region and tag changes, each scoped by detail.resources.ARN', () => {
    const f = fixture();
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { keys: [new CustomerManagedKey(f.stack, 'Key')] });
    const key = arnOf(logicalId(f.stack, 'AWS::KMS::Key', /^Key[0-9A-F]{8}$/));
    const expected: Array<[RegExp, string[]]> = [
      [/^MonitoringKmsKeyConfigChange/, ['DeleteImportedKeyMaterial', 'DisableKeyRotation', 'EnableKey', 'ImportKeyMaterial', 'RevokeGrant']],
      [/^MonitoringKmsAliasChange/, ['CreateAlias', 'UpdateAlias']],
      [/^MonitoringKmsMultiRegionChange/, ['ReplicateKey', 'UpdatePrimaryRegion']],
      [/^MonitoringKmsTagChange/, ['TagResource', 'UntagResource']],
    ];
    for (const [id, eventName] of expected) {
      expect(rule(f.stack, id).EventPattern).toEqual({
        'source': ['aws.kms'],
        'detail-type': ['AWS API Call via CloudTrail'],
        'detail': { eventSource: ['kms.amazonaws.com'], eventName, resources: { ARN: [key] } },
      });
    }
  });

  test('Secrets Manager: rotation, replication and config changes, scoped by requestParameters.secretId', () => {
    const f = fixture();
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { secrets: [secretsmanager.Secret.fromSecretCompleteArn(f.stack, 'S', 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:billing-AbCdEf')] });
    const ids = ['arn:aws:secretsmanager:eu-west-1:111111111111:secret:billing-AbCdEf', 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:billing', 'billing'];
    const expected: Array<[RegExp, string[]]> = [
      [/^MonitoringSecretRotationChange/, ['CancelRotateSecret', 'RotateSecret']],
      [/^MonitoringSecretReplicationChange/, ['RemoveRegionsFromReplication', 'ReplicateSecretToRegions', 'StopReplicationToReplica']],
      [/^MonitoringSecretConfigChange/, ['RestoreSecret', 'TagResource', 'UntagResource']],
    ];
    for (const [id, eventName] of expected) {
      expect(rule(f.stack, id).EventPattern.detail).toEqual({ eventSource: ['secretsmanager.amazonaws.com'], eventName, requestParameters: { secretId: ids } });
    }
    // An imported secret has no known rotation function: every writer alerts.
    expect(rule(f.stack, /^MonitoringSecretValueChange/).EventPattern.detail).toEqual({
      eventSource: ['secretsmanager.amazonaws.com'],
      eventName: ['PutSecretValue', 'UpdateSecret', 'UpdateSecretVersionStage'],
      requestParameters: { secretId: ids, kmsKeyId: [{ exists: false }] },
    });
  });

  test('SecretValueChange: anyone but the rotation role of the secret, one group per role; callers without a session issuer match too', () => {
    const f = fixture();
    const pg = rotatedSecret(f, 'Db');
    const mysql = new ManagedSecret(f.stack, 'My', {
      credentials: { engine: DatabaseEngine.MYSQL, host: 'db.example.com', username: 'app' },
      rotation: Rotation.mysqlSingleUser({ vpc: f.vpc }),
    });
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { secrets: [pg, mysql] });
    const s = f.stack;
    const issuer = (match: unknown) => ({ userIdentity: { sessionContext: { sessionIssuer: { arn: [match] } } } });
    const roleOf = (secret: ManagedSecret) => arnOf(logicalIdOfConstruct(s, secret.rotatedBy!.role));
    const a = rule(s, /^MonitoringSecretValueChangeA/).EventPattern.detail;
    const b = rule(s, /^MonitoringSecretValueChangeB/).EventPattern.detail;
    expect(a.requestParameters.secretId[0]).toEqual(ref(logicalId(s, 'AWS::SecretsManager::Secret', /^Db[0-9A-F]{8}$/)));
    expect(a.$or).toEqual([issuer({ exists: false }), issuer({ 'anything-but': [roleOf(pg)] })]);
    expect(b.requestParameters.secretId[0]).toEqual(ref(logicalId(s, 'AWS::SecretsManager::Secret', /^My[0-9A-F]{8}$/)));
    expect(b.$or).toEqual([issuer({ exists: false }), issuer({ 'anything-but': [roleOf(mysql)] })]);
    expect(roleOf(pg)).not.toEqual(roleOf(mysql));
  });

  test('self-protection: the monitoring\'s rules, alarms (by name prefix), topic and subscriptions, queues and key', () => {
    const f = fixture();
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { keys: [new CustomerManagedKey(f.stack, 'Key')] });
    const s = f.stack;
    const prefix = [{ prefix: 'Monitored-Monitoring-29968EFC-' }];
    expect(rule(s, /^MonitoringTamperRules/).EventPattern).toEqual({
      'source': ['aws.events'],
      'detail-type': ['AWS API Call via CloudTrail'],
      'detail': {
        eventSource: ['events.amazonaws.com'],
        eventName: ['DeleteRule', 'DisableRule', 'PutRule', 'PutTargets', 'RemoveTargets'],
        $or: [{ requestParameters: { name: prefix } }, { requestParameters: { rule: prefix } }],
      },
    });
    expect(rule(s, /^MonitoringTamperAlarms/).EventPattern).toEqual({
      'source': ['aws.cloudwatch'],
      'detail-type': ['AWS API Call via CloudTrail'],
      'detail': {
        eventSource: ['monitoring.amazonaws.com'],
        eventName: ['DeleteAlarms', 'DisableAlarmActions', 'PutMetricAlarm'],
        $or: [{ requestParameters: { alarmNames: prefix } }, { requestParameters: { alarmName: prefix } }],
      },
    });
    const topic = ref(logicalId(s, 'AWS::SNS::Topic', /^MonitoringAlertTopic/));
    expect(rule(s, /^MonitoringTamperTopic/).EventPattern.detail.$or).toEqual([
      { eventName: ['AddPermission', 'DeleteTopic', 'RemovePermission', 'SetTopicAttributes', 'Subscribe'], requestParameters: { topicArn: [topic] } },
      { eventName: ['SetSubscriptionAttributes', 'Unsubscribe'], requestParameters: { subscriptionArn: [{ prefix: { 'Fn::Join': ['', [topic, ':']] } }] } },
    ]);
    expect(rule(s, /^MonitoringTamperQueues/).EventPattern.detail).toEqual({
      eventSource: ['sqs.amazonaws.com'],
      eventName: ['DeleteQueue', 'PurgeQueue', 'SetQueueAttributes'],
      requestParameters: { queueUrl: [{ suffix: '/111111111111/Monitored-Monitoring-29968EFC-dlq' }, { suffix: '/111111111111/Monitored-Monitoring-29968EFC-dlq-archive' }] },
    });
    const tamperKey = rule(s, /^MonitoringTamperKey/).EventPattern.detail;
    expect(tamperKey.resources).toEqual({ ARN: [arnOf(logicalId(s, 'AWS::KMS::Key', /^CdkKmsSecretsDefaultKey/))] });
    expect(tamperKey.eventName).toEqual(expect.arrayContaining(['DisableKey', 'ScheduleKeyDeletion', 'PutKeyPolicy', 'CreateGrant', 'UpdateAlias', 'DisableKeyRotation']));
    // Every rule and alarm name carries the prefix the tamper rules match, so they watch each other and themselves.
    for (const r of Object.values(resources(s, 'AWS::Events::Rule'))) expect(r.Properties.Name).toMatch(/^Monitored-Monitoring-29968EFC-/);
    for (const a of Object.values(resources(s, 'AWS::CloudWatch::Alarm'))) expect(a.Properties.AlarmName).toMatch(/^Monitored-Monitoring-29968EFC-/);
    for (const r of Object.values(resources(s, 'AWS::Events::Rule', /Tamper/))) {
      expect(r.Properties.Targets[0].InputTransformer.InputTemplate).toContain('#monitoringtampered');
    }
  });

  test('topicAdministrators: the key\'s administrators by default, or the principals given; a principal without an ARN is refused', () => {
    const f = fixture();
    const admin = new iam.Role(f.stack, 'Admin', { assumedBy: new iam.AccountRootPrincipal() });
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { keys: [new CustomerManagedKey(f.stack, 'Key')], encryptionKey: new CustomerManagedKey(f.stack, 'AlertKey', { administrators: [admin] }) });
    const deny = (st: Stack) => (one(st, 'AWS::SNS::TopicPolicy', /^MonitoringAlertTopicPolicy/).Properties.PolicyDocument.Statement as Array<Record<string, any>>)
      .find(x => x.Sid === 'OnlyAdministratorsChangeTopic')!;
    expect(deny(f.stack).Condition.ArnNotLike['aws:PrincipalArn'][0]).toEqual(arnOf(logicalId(f.stack, 'AWS::IAM::Role', /^Admin/)));

    const g = fixture();
    new KeysAndSecretsMonitoring(g.stack, 'Monitoring', { keys: [new CustomerManagedKey(g.stack, 'Key')], topicAdministrators: [new iam.ArnPrincipal('arn:aws:iam::111111111111:role/SecurityAdmin')] });
    expect(deny(g.stack).Condition.ArnNotLike['aws:PrincipalArn'][0]).toBe('arn:aws:iam::111111111111:role/SecurityAdmin');

    const h = fixture();
    expect(() => new KeysAndSecretsMonitoring(h.stack, 'Monitoring', { keys: [new CustomerManagedKey(h.stack, 'Key')], topicAdministrators: [new iam.ServicePrincipal('lambda.amazonaws.com')] }))
      .toThrow(/KeysAndSecretsMonitoring\.topicAdministrators: .*lambda\.amazonaws\.com.* is not an IAM principal with an ARN.*Fix: Name IAM roles or users/);
  });
});

function logicalIdOfConstruct(stack: Stack, c: Construct): string {
  return stack.getLogicalId(c.node.defaultChild as CfnElement);
}
