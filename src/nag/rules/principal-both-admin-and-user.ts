import { CfnResource, Stack } from 'aws-cdk-lib';
import { CfnKey, CfnReplicaKey } from 'aws-cdk-lib/aws-kms';
import { NagRuleCompliance } from 'cdk-nag';
import { keyPolicyOf, statementsOf } from './util';
import { hasPositiveCondition, normalizeStatement } from '../../keys/normalize';

/**
 * KeysAndSecrets-KMS2: a principal that is both an administrator (allowed an
 * action that changes the key) and a user (allowed a cryptographic action)
 * of the same key. Principals are compared by the normalizer's identity, so
 * a role written as a reference in one statement and as its ARN (with a path,
 * in another case, or as an assumed-role session) in another is one
 * principal; actions are compared in any case with every wildcard expanded.
 * The account root and "*" count as users only where their use is not
 * limited to a service (a positive `kms:ViaService` condition); "*" as an
 * administrator conflicts with every user.
 */
export default Object.defineProperty((node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof CfnKey) && !(node instanceof CfnReplicaKey)) return NagRuleCompliance.NOT_APPLICABLE;
  const stack = Stack.of(node);
  const admins = new Set<string>();
  const users = new Set<string>();
  for (const s of statementsOf(keyPolicyOf(node))) {
    const { statement } = normalizeStatement(s, stack);
    if (!statement || statement.effect !== 'Allow') continue;
    const roles = new Set(statement.actions.map(a => a.role));
    const viaService = hasPositiveCondition(statement.conditions, 'kms:ViaService');
    for (const p of statement.principals) {
      if (roles.has('admin-write') || roles.has('admin-multi-region')) admins.add(p.key);
      if (roles.has('user') && !((p.kind === 'account' || p.kind === 'star') && viaService)) users.add(p.key);
    }
  }
  // Principal "*" as an administrator manages as every principal: it conflicts with any user.
  const conflict = [...admins].some(p => users.has(p)) || (admins.has('*') && users.size > 0);
  return conflict ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
}, 'name', { value: 'KMS2' });
