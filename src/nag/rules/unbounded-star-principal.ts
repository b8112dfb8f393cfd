import { CfnResource, Stack } from 'aws-cdk-lib';
import { CfnKey, CfnReplicaKey } from 'aws-cdk-lib/aws-kms';
import { CfnResourcePolicy } from 'aws-cdk-lib/aws-secretsmanager';
import { NagRuleCompliance } from 'cdk-nag';
import { keyPolicyOf, principalsOf, resolve, statementsOf } from './util';
import { isBounded } from '../../keys/normalize';

/**
 * KeysAndSecrets-KMS3: a key policy or secret resource policy that allows
 * `Principal: "*"` (or `NotPrincipal`) without a positive, literal account or
 * organization bound (judged by the same normalizer as `CustomerManagedKey`:
 * `StringLike`, `StringNotEquals`, `IfExists` or a wildcard value do not
 * bound), which lets any AWS account in.
 */
export default Object.defineProperty((node: CfnResource): NagRuleCompliance => {
  let document: unknown;
  if (node instanceof CfnKey || node instanceof CfnReplicaKey) document = keyPolicyOf(node);
  else if (node instanceof CfnResourcePolicy) document = resolve(node, node.resourcePolicy);
  else return NagRuleCompliance.NOT_APPLICABLE;
  const stack = Stack.of(node);
  const bad = statementsOf(document).some(s =>
    s.Effect === 'Allow'
    && (s.NotPrincipal !== undefined || principalsOf(s).some(p => p === '"*"' || p === 'AWS:"*"'))
    && (s.NotPrincipal !== undefined || !isBounded(s.Condition, stack)));
  return bad ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
}, 'name', { value: 'KMS3' });
