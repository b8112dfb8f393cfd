import { CfnResource } from 'aws-cdk-lib';
import { CfnManagedPolicy, CfnPolicy, CfnRole, CfnUser, CfnGroup } from 'aws-cdk-lib/aws-iam';
import { NagRuleCompliance } from 'cdk-nag';
import { allowsAny, asArray, resolve, statementsOf, StatementJson } from './util';

const SENSITIVE = ['secretsmanager:GetSecretValue', 'kms:Decrypt'];

function onEverything(s: StatementJson): boolean {
  return allowsAny(s, SENSITIVE) && asArray(s.Resource as string | string[]).some(r => r === '*');
}

/**
 * KeysAndSecrets-IAM1: an IAM policy that allows `secretsmanager:GetSecretValue`
 * or `kms:Decrypt` (directly or through a wildcard action) on `Resource: "*"`:
 * every secret, every key.
 */
export default Object.defineProperty((node: CfnResource): NagRuleCompliance => {
  const documents = policyDocumentsOf(node);
  if (documents === undefined) return NagRuleCompliance.NOT_APPLICABLE;
  const bad = documents.some(d => statementsOf(resolve(node, d)).some(onEverything));
  return bad ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
}, 'name', { value: 'IAM1' });

/** The policy documents of an IAM policy, or the inline ones of a role, user or group. */
function policyDocumentsOf(node: CfnResource): unknown[] | undefined {
  if (node instanceof CfnPolicy || node instanceof CfnManagedPolicy) return [node.policyDocument];
  if (node instanceof CfnRole || node instanceof CfnUser || node instanceof CfnGroup) {
    const inline = resolve(node, node.policies) as Array<{ policyDocument: unknown }> | undefined;
    return asArray(inline).map(p => p.policyDocument);
  }
  return undefined;
}
