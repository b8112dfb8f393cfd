/**
 * "Rotation overdue" without a Lambda of our own: the AWS Config managed rule
 * `secretsmanager-secret-periodic-rotation` (periodic, every 24 hours) marks
 * a secret NON_COMPLIANT when it has not rotated for more than
 * `maxDaysSinceRotation` days, and an EventBridge rule turns that compliance
 * change, for a watched secret, into an alert.
 *
 * A CloudWatch alarm cannot do this: an alarm evaluates at most a day of
 * data (seven for some period lengths), and rotations are weeks apart. A
 * scheduled DescribeSecret function could, but it is one more Lambda that
 * must itself pass every nag pack (VPC, DLQ, concurrency, encrypted logs).
 *
 * `maxDaysSinceRotation` is the secret's rotation interval plus a grace
 * period, read from its `AWS::SecretsManager::RotationSchedule` when this app
 * defines one (`rate(...)` schedules; for cron schedules and imported secrets
 * the default applies). Secrets with the same limit share one Config rule.
 *
 * Internal module: not exported from the package index.
 */
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as config from 'aws-cdk-lib/aws-config';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface OverdueOptions {
  readonly gracePeriod: Duration;
  readonly unknownScheduleMaxAge: Duration;
}

/**
 * The rotation interval of a secret in days, from a rotation schedule this
 * app defines for it; `undefined` when it has none we can read, and `null`
 * when this app owns the secret and gives it no rotation at all.
 */
export function rotationIntervalDays(secret: secretsmanager.ISecret): number | undefined | null {
  const stack = Stack.of(secret);
  const arn = JSON.stringify(stack.resolve(secret.secretArn));
  const schedules = stack.node.findAll()
    .filter((c): c is secretsmanager.CfnRotationSchedule => c instanceof secretsmanager.CfnRotationSchedule)
    .filter(s => JSON.stringify(stack.resolve(s.secretId)) === arn);
  if (schedules.length === 0) {
    return secret.node.defaultChild instanceof secretsmanager.CfnSecret ? null : undefined;
  }
  const rules = stack.resolve(schedules[0].rotationRules) as { scheduleExpression?: string; automaticallyAfterDays?: number } | undefined;
  const days = rules?.automaticallyAfterDays;
  if (typeof days === 'number') return days;
  const expression = rules?.scheduleExpression;
  if (typeof expression !== 'string' || Token.isUnresolved(expression)) return undefined;
  const rate = /^rate\((\d+) (hour|hours|day|days)\)$/.exec(expression.trim());
  if (!rate) return undefined;
  const n = Number(rate[1]);
  return rate[2].startsWith('hour') ? n / 24 : n;
}

/** The `maxDaysSinceRotation` for a secret, or undefined when it does not rotate. */
export function maxDaysSinceRotation(secret: secretsmanager.ISecret, options: OverdueOptions): number | undefined {
  const interval = rotationIntervalDays(secret);
  if (interval === null) return undefined;
  if (interval === undefined) return Math.ceil(options.unknownScheduleMaxAge.toDays({ integral: false }));
  return Math.ceil(interval + options.gracePeriod.toDays({ integral: false }));
}

/** One periodic Config rule for every secret of the account and region, with this limit. */
export function overdueConfigRule(scope: Construct, days: number): config.ManagedRule {
  return new config.ManagedRule(scope, `RotationOverdueCheck${days}Days`, {
    identifier: config.ManagedRuleIdentifiers.SECRETSMANAGER_SECRET_PERIODIC_ROTATION,
    description: `cdk-kms-secrets: a secret that has not rotated for more than ${days} days is NON_COMPLIANT`,
    inputParameters: { maxDaysSinceRotation: String(days) },
    maximumExecutionFrequency: config.MaximumExecutionFrequency.TWENTY_FOUR_HOURS,
    ruleScope: config.RuleScope.fromResources([config.ResourceType.SECRETS_MANAGER_SECRET]),
  });
}
