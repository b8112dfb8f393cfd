/**
 * Usage-spike alarms: CloudWatch anomaly detection on the account's API call
 * counts (`AWS/Usage` `CallCount`) for the KMS operations that expose key
 * material and for `GetSecretValue`. These metrics are per account and
 * region, not per key or secret: a spike says "someone is decrypting or
 * reading secrets far more than usual here", and CloudTrail says who.
 *
 * Each metric gets an explicit `AWS::CloudWatch::AnomalyDetector` (the model)
 * and an alarm on `ANOMALY_DETECTION_BAND(m, width)` that fires only above
 * the band, for 3 of 3 five-minute periods.
 *
 * Internal module: not exported from the package index.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { ALERTS, alarmDescription } from './alerts';

export const USAGE_PERIOD = Duration.minutes(5);
export const USAGE_EVALUATION_PERIODS = 3;

export interface UsageMetric {
  readonly id: string;
  readonly service: string;
  readonly resource: string;
}

/** The KMS operations watched for spikes. */
export const KMS_USAGE: UsageMetric[] = [
  { id: 'KmsDecrypt', service: 'KMS', resource: 'Decrypt' },
  { id: 'KmsGenerateDataKey', service: 'KMS', resource: 'GenerateDataKey' },
  { id: 'KmsEncrypt', service: 'KMS', resource: 'Encrypt' },
];

/** The Secrets Manager operation watched for spikes. */
export const SECRETS_USAGE: UsageMetric[] = [
  { id: 'SecretsManagerGetSecretValue', service: 'Secrets Manager', resource: 'GetSecretValue' },
];

export function usageMetric(u: UsageMetric): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/Usage',
    metricName: 'CallCount',
    dimensionsMap: { Service: u.service, Type: 'API', Resource: u.resource, Class: 'None' },
    statistic: cloudwatch.Stats.SUM,
    period: USAGE_PERIOD,
    label: `${u.service} ${u.resource} calls`,
  });
}

export interface UsageAlarmOptions {
  readonly runbookUrl: string;
  /** The band's width in standard deviations. */
  readonly bandWidth: number;
}

export function usageAnomalyAlarm(scope: Construct, u: UsageMetric, options: UsageAlarmOptions): cloudwatch.Alarm {
  const metric = usageMetric(u);
  const detector = new cloudwatch.CfnAnomalyDetector(scope, `${u.id}Model`, {
    singleMetricAnomalyDetector: {
      namespace: metric.namespace,
      metricName: metric.metricName,
      dimensions: Object.entries(metric.dimensions ?? {}).map(([name, value]) => ({ name, value: String(value) })),
      stat: 'Sum',
    },
  });
  const alarm = new cloudwatch.AnomalyDetectionAlarm(scope, `${u.id}Spike`, {
    metric,
    stdDevs: options.bandWidth,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
    evaluationPeriods: USAGE_EVALUATION_PERIODS,
    datapointsToAlarm: USAGE_EVALUATION_PERIODS,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    alarmDescription: alarmDescription(options.runbookUrl, ALERTS.usageSpike, `${u.service} ${u.resource} calls of this account and region were above the anomaly band (${options.bandWidth} standard deviations) for ${USAGE_EVALUATION_PERIODS} of ${USAGE_EVALUATION_PERIODS} five-minute periods.`),
  });
  alarm.node.addDependency(detector);
  return alarm;
}
