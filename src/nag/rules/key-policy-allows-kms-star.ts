import { CfnResource } from 'aws-cdk-lib';
import { CfnKey, CfnReplicaKey } from 'aws-cdk-lib/aws-kms';
import { NagRuleCompliance } from 'cdk-nag';
import { asArray, resolve, statementsOf } from './util';

/**
 * KeysAndSecrets-KMS1: a key policy that allows `kms:*` (or `*`), which gives
 * one principal both the management and the use of the key. aws-cdk-lib's
 * default key policy does this for the account root.
 */
export default Object.defineProperty((node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof CfnKey) && !(node instanceof CfnReplicaKey)) return NagRuleCompliance.NOT_APPLICABLE;
  const statements = statementsOf(resolve(node, node.keyPolicy));
  const bad = statements.some(s => s.Effect === 'Allow' && asArray(s.Action).some(a => a === '*' || a.toLowerCase() === 'kms:*'));
  return bad ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
}, 'name', { value: 'KMS1' });
