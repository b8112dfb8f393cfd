import { CfnResource, Stack } from 'aws-cdk-lib';
import { CfnRotationSchedule, CfnSecret } from 'aws-cdk-lib/aws-secretsmanager';
import { NagRuleCompliance } from 'cdk-nag';
import { resolve } from './util';

/** The interval of a rotation schedule in days, or undefined for a cron expression. */
function intervalDays(node: CfnRotationSchedule): number | undefined {
  const rules = resolve(node, node.rotationRules) as { automaticallyAfterDays?: number; scheduleExpression?: string } | undefined;
  if (rules?.automaticallyAfterDays !== undefined) return rules.automaticallyAfterDays;
  const rate = /^rate\((\d+) (hours?|days?)\)$/.exec(rules?.scheduleExpression ?? '');
  if (rate) return rate[2].startsWith('hour') ? Number(rate[1]) / 24 : Number(rate[1]);
  return undefined;
}

/**
 * KeysAndSecrets-SM2: a secret without a rotation schedule, or rotated less
 * often than every `maxDays` days (90 by default). Cron schedules are taken
 * as compliant: their interval is not computed.
 */
export function secretRotationRule(maxDays: number) {
  return Object.defineProperty((node: CfnResource): NagRuleCompliance => {
    if (!(node instanceof CfnSecret)) return NagRuleCompliance.NOT_APPLICABLE;
    const stack = Stack.of(node);
    const ref = JSON.stringify(stack.resolve(node.ref));
    const schedules = stack.node.findAll().filter((c): c is CfnRotationSchedule => c instanceof CfnRotationSchedule
      && JSON.stringify(stack.resolve(c.secretId)) === ref);
    if (schedules.length === 0) return NagRuleCompliance.NON_COMPLIANT;
    const days = schedules.map(intervalDays);
    return days.every(d => d === undefined || d <= maxDays) ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
  }, 'name', { value: 'SM2' });
}
