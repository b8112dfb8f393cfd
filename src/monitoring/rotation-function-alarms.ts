/**
 * Alarms on a rotation function: any error, any throttle, and a run close to
 * its timeout. Rotation runs rarely, so a single five-minute period is
 * enough evidence, and no data means nothing happened (not breaching).
 *
 * Internal module: not exported from the package index.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { ALERTS, alarmDescription } from './alerts';

/** Lambda's default timeout, for functions created without one. */
const LAMBDA_DEFAULT_TIMEOUT = Duration.seconds(3);
export const FUNCTION_ALARM_PERIOD = Duration.minutes(5);

export interface RotationFunctionAlarmOptions {
  readonly runbookUrl: string;
  /** The duration alarm fires at this share of the timeout (0-1]. */
  readonly durationThreshold: number;
}

/** The timeout of a function, when this app knows it. */
export function knownTimeout(fn: lambda.IFunction): Duration | undefined {
  return fn instanceof lambda.Function ? fn.timeout ?? LAMBDA_DEFAULT_TIMEOUT : undefined;
}

export function rotationFunctionAlarms(scope: Construct, fn: lambda.IFunction, options: RotationFunctionAlarmOptions): cloudwatch.Alarm[] {
  const common = {
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  };
  const alarms = [
    new cloudwatch.Alarm(scope, 'Errors', {
      ...common,
      metric: fn.metricErrors({ period: FUNCTION_ALARM_PERIOD, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      alarmDescription: alarmDescription(options.runbookUrl, ALERTS.rotationFunctionErrors, `${fn.node.path} returned at least one error in 5 minutes: a rotation step failed.`),
    }),
    new cloudwatch.Alarm(scope, 'Throttles', {
      ...common,
      metric: fn.metricThrottles({ period: FUNCTION_ALARM_PERIOD, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      alarmDescription: alarmDescription(options.runbookUrl, ALERTS.rotationFunctionThrottles, `${fn.node.path} was throttled at least once in 5 minutes: rotations are waiting or failing.`),
    }),
  ];
  const timeout = knownTimeout(fn);
  if (timeout) {
    const threshold = Math.floor(timeout.toMilliseconds() * options.durationThreshold);
    alarms.push(new cloudwatch.Alarm(scope, 'Duration', {
      ...common,
      metric: fn.metricDuration({ period: FUNCTION_ALARM_PERIOD, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold,
      alarmDescription: alarmDescription(options.runbookUrl, ALERTS.rotationFunctionDuration, `${fn.node.path} ran ${threshold} ms or longer (${Math.round(options.durationThreshold * 100)}% of its ${timeout.toHumanString()} timeout).`),
    }));
  }
  return alarms;
}
