import { CfnResource, Stack } from 'aws-cdk-lib';
import { CfnKey, CfnReplicaKey } from 'aws-cdk-lib/aws-kms';
import { NagRuleCompliance } from 'cdk-nag';
import { keyPolicyOf, statementsOf } from './util';
import { normalizeStatement } from '../../keys/normalize';

/**
 * KeysAndSecrets-KMS1: a key-policy statement that allows both management
 * and use of the key (`kms:*`, `*`, `KMS:*`, `kms:*Key*` or any other
 * spelling or wildcard whose expansion covers both), or one the role model
 * cannot judge: `NotAction`, `NotPrincipal`, `NotResource`, or an action
 * KMS does not have. Judged by the same normalizer as `CustomerManagedKey`.
 * aws-cdk-lib's default key policy allows `kms:*` to the account root.
 */
export default Object.defineProperty((node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof CfnKey) && !(node instanceof CfnReplicaKey)) return NagRuleCompliance.NOT_APPLICABLE;
  const stack = Stack.of(node);
  const bad = statementsOf(keyPolicyOf(node)).some(s => {
    const { statement } = normalizeStatement(s, stack);
    if (!statement) return s.Effect !== 'Deny' || s.NotPrincipal !== undefined || s.NotAction !== undefined;
    if (statement.effect !== 'Allow') return false;
    const roles = new Set(statement.actions.map(a => a.role));
    return roles.has('user') && (roles.has('admin-write') || roles.has('admin-multi-region') || roles.has('denied'));
  });
  return bad ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
}, 'name', { value: 'KMS1' });
