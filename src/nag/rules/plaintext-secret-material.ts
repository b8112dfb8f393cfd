import { CfnResource } from 'aws-cdk-lib';
import { CfnTaskDefinition } from 'aws-cdk-lib/aws-ecs';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnSecret } from 'aws-cdk-lib/aws-secretsmanager';
import { NagRuleCompliance } from 'cdk-nag';
import { isReferenceLike, resolve } from './util';

/**
 * Names of variables that hold credentials: ending in PASSWORD, SECRET,
 * API_KEY, TOKEN... (DB_PASSWORD, STRIPE_SECRET), but not names that only
 * mention them (SECRETS_MANAGER_TTL, DB_SECRET_ARN).
 */
const CREDENTIAL_NAME = /(^|_)(PASSW(OR)?D|PASSPHRASE|SECRET|SECRET_?KEY|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|TOKEN|CREDENTIALS?)$/i;
/** Values that only point at a secret, never hold one. */
const POINTER_VALUE = /^(arn:|\{\{resolve:|\/|[a-z0-9-]+\/[a-z0-9/_+=.@-]+$)/i;

function leaks(name: string, value: unknown): boolean {
  if (!CREDENTIAL_NAME.test(name) || isReferenceLike(value)) return false;
  const text = String(value);
  return text.length > 0 && !POINTER_VALUE.test(text) && !/^(true|false|\d+)$/i.test(text);
}

/**
 * KeysAndSecrets-SM3: secret material in plaintext in the template: a
 * literal `SecretString`, or Lambda or ECS environment variables whose names
 * say credential and whose values are literals (not an ARN, a name or a
 * dynamic reference).
 */
export default Object.defineProperty((node: CfnResource): NagRuleCompliance => {
  if (node instanceof CfnSecret) {
    const value = resolve(node, node.secretString);
    return typeof value === 'string' && !value.startsWith('{{resolve:') ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
  }
  if (node instanceof CfnFunction) {
    const variables = (resolve(node, node.environment)?.variables ?? {}) as Record<string, unknown>;
    return Object.entries(variables).some(([k, v]) => leaks(k, v)) ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
  }
  if (node instanceof CfnTaskDefinition) {
    const containers = (resolve(node, node.containerDefinitions) ?? []) as Array<{ environment?: Array<{ name?: string; value?: unknown }> }>;
    const bad = containers.some(c => (c.environment ?? []).some(e => leaks(e.name ?? '', e.value)));
    return bad ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
  }
  return NagRuleCompliance.NOT_APPLICABLE;
}, 'name', { value: 'SM3' });
