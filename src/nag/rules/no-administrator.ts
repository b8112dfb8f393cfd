import { CfnResource } from 'aws-cdk-lib';
import { CfnKey, CfnReplicaKey } from 'aws-cdk-lib/aws-kms';
import { NagRuleCompliance } from 'cdk-nag';
import { allowsAny, principalsOf, resolve, statementsOf } from './util';
import { LOCKOUT_ACTION } from '../../keys/roles';

/**
 * KeysAndSecrets-KMS4: a key policy with no administrator statement: no
 * principal may call `kms:PutKeyPolicy`, so the key can never be managed
 * again (a lockout).
 */
export default Object.defineProperty((node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof CfnKey) && !(node instanceof CfnReplicaKey)) return NagRuleCompliance.NOT_APPLICABLE;
  const manageable = statementsOf(resolve(node, node.keyPolicy)).some(s => allowsAny(s, [LOCKOUT_ACTION]) && principalsOf(s).length > 0);
  return manageable ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}, 'name', { value: 'KMS4' });
