/**
 * The optional dashboard: rotation outcomes, API call volume, the rotation
 * functions, and the state of every alarm.
 *
 * Rotation outcomes are counted by the `TriggeredRules` metric of the
 * rotation-failure rules and of success rules that exist only for the
 * dashboard (they have no target).
 *
 * Internal module: not exported from the package index.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { KMS_USAGE, SECRETS_USAGE, usageMetric } from './usage-anomaly-alarms';

export interface DashboardInputs {
  readonly successRules: events.IRule[];
  readonly failureRules: events.IRule[];
  readonly functions: lambda.IFunction[];
  readonly alarms: cloudwatch.IAlarm[];
  readonly watchesKeys: boolean;
  readonly watchesSecrets: boolean;
}

function triggered(rules: events.IRule[], label: string): cloudwatch.IMetric[] {
  return rules.map((r, i) => new cloudwatch.Metric({
    namespace: 'AWS/Events',
    metricName: 'TriggeredRules',
    dimensionsMap: { RuleName: r.ruleName },
    statistic: cloudwatch.Stats.SUM,
    period: Duration.hours(1),
    label: rules.length > 1 ? `${label} (${i + 1})` : label,
  }));
}

/** A short label: the function's id, or its parent's for a `RotationFunction`'s `Function`. */
function labelOf(fn: lambda.IFunction): string {
  const scope = fn.node.scope;
  return fn.node.id === 'Function' && scope ? scope.node.id : fn.node.id;
}

export function monitoringDashboard(scope: Construct, inputs: DashboardInputs): cloudwatch.Dashboard {
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    defaultInterval: Duration.days(7),
  });
  dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({
    title: 'Alarms',
    alarms: inputs.alarms,
    width: 24,
    height: Math.min(12, 2 + Math.ceil(inputs.alarms.length / 4) * 2),
  }));
  const row: cloudwatch.IWidget[] = [];
  if (inputs.successRules.length + inputs.failureRules.length > 0) {
    row.push(new cloudwatch.GraphWidget({
      title: 'Rotations (per hour)',
      left: [...triggered(inputs.successRules, 'Succeeded'), ...triggered(inputs.failureRules, 'Failed or abandoned')],
      width: 12,
    }));
  }
  const usage = [...(inputs.watchesKeys ? KMS_USAGE : []), ...(inputs.watchesSecrets ? SECRETS_USAGE : [])];
  if (usage.length > 0) {
    row.push(new cloudwatch.GraphWidget({
      title: 'API calls of the account (per 5 minutes)',
      left: usage.map(usageMetric),
      width: 12,
    }));
  }
  if (row.length > 0) dashboard.addWidgets(...row);
  if (inputs.functions.length > 0) {
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Rotation functions: errors and throttles',
        left: inputs.functions.flatMap(fn => [
          fn.metricErrors({ statistic: cloudwatch.Stats.SUM, label: `${labelOf(fn)} errors` }),
          fn.metricThrottles({ statistic: cloudwatch.Stats.SUM, label: `${labelOf(fn)} throttles` }),
        ]),
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Rotation functions: maximum duration',
        left: inputs.functions.map(fn => fn.metricDuration({ statistic: cloudwatch.Stats.MAXIMUM, label: labelOf(fn) })),
        width: 12,
      }),
    );
  }
  return dashboard;
}
