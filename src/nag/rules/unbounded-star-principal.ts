import { CfnResource } from 'aws-cdk-lib';
import { CfnKey, CfnReplicaKey } from 'aws-cdk-lib/aws-kms';
import { CfnResourcePolicy } from 'aws-cdk-lib/aws-secretsmanager';
import { NagRuleCompliance } from 'cdk-nag';
import { conditionKeys, principalsOf, resolve, statementsOf } from './util';
import { PRINCIPAL_BOUNDING_CONDITION_KEYS } from '../../keys/roles';

/**
 * KeysAndSecrets-KMS3: a key policy or secret resource policy that allows
 * `Principal: "*"` without an account or organization condition, which lets
 * any AWS account in.
 */
export default Object.defineProperty((node: CfnResource): NagRuleCompliance => {
  let document: unknown;
  if (node instanceof CfnKey || node instanceof CfnReplicaKey) document = node.keyPolicy;
  else if (node instanceof CfnResourcePolicy) document = node.resourcePolicy;
  else return NagRuleCompliance.NOT_APPLICABLE;
  const bad = statementsOf(resolve(node, document)).some(s =>
    s.Effect === 'Allow'
    && principalsOf(s).some(p => p === '"*"' || p === 'AWS:"*"')
    && !conditionKeys(s).some(k => PRINCIPAL_BOUNDING_CONDITION_KEYS.includes(k)));
  return bad ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
}, 'name', { value: 'KMS3' });
