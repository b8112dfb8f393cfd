import { CfnResource, Stack } from 'aws-cdk-lib';
import { CfnKey, CfnReplicaKey } from 'aws-cdk-lib/aws-kms';
import { NagRuleCompliance } from 'cdk-nag';
import { resolve, statementsOf } from './util';
import { normalizeStatement } from '../../keys/normalize';

/**
 * KeysAndSecrets-KMS2: a principal that is both an administrator (allowed an
 * action that changes the key) and a user (allowed a cryptographic action)
 * of the same key. Principals are compared by the normalizer's identity, so
 * a role written as a reference in one statement and as its ARN (with a path,
 * in another case, or as an assumed-role session) in another is one
 * principal; actions are compared in any case with every wildcard expanded.
 * The account root and "*" count as users only where their use is not
 * limited to a service (`kms:ViaService`).
 */
export default Object.defineProperty((node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof CfnKey) && !(node instanceof CfnReplicaKey)) return NagRuleCompliance.NOT_APPLICABLE;
  const stack = Stack.of(node);
  const admins = new Set<string>();
  const users = new Set<string>();
  for (const s of statementsOf(resolve(node, node.keyPolicy))) {
    const { statement } = normalizeStatement(s, stack);
    if (!statement || statement.effect !== 'Allow') continue;
    const roles = new Set(statement.actions.map(a => a.role));
    const viaService = Object.values(statement.conditions).some(c => Object.keys(c).some(k => k.toLowerCase() === 'kms:viaservice'));
    for (const p of statement.principals) {
      if (roles.has('admin-write') || roles.has('admin-multi-region')) admins.add(p.key);
      if (roles.has('user') && !((p.kind === 'account' || p.kind === 'star') && viaService)) users.add(p.key);
    }
  }
  return [...admins].some(p => users.has(p)) ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
}, 'name', { value: 'KMS2' });
