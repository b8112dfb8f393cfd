import { CfnResource, Stack } from 'aws-cdk-lib';
import { CfnKey, CfnReplicaKey } from 'aws-cdk-lib/aws-kms';
import { NagRuleCompliance } from 'cdk-nag';
import { keyPolicyOf, statementsOf } from './util';
import { normalizeStatement } from '../../keys/normalize';
import { LOCKOUT_ACTION } from '../../keys/roles';

/**
 * KeysAndSecrets-KMS4: a key policy with no administrator: no principal is
 * allowed `kms:PutKeyPolicy` (in any spelling or wildcard) without also being
 * denied it by a Deny (with or without conditions: `Bool aws:SecureTransport
 * true` always holds), so the key can never be managed again (a lockout).
 */
export default Object.defineProperty((node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof CfnKey) && !(node instanceof CfnReplicaKey)) return NagRuleCompliance.NOT_APPLICABLE;
  const stack = Stack.of(node);
  const allowed = new Set<string>();
  const denied = new Set<string>();
  for (const s of statementsOf(keyPolicyOf(node))) {
    const { statement } = normalizeStatement(s, stack);
    if (!statement || !statement.actions.some(a => a.name === LOCKOUT_ACTION)) continue;
    if (statement.effect === 'Allow') statement.principals.forEach(p => allowed.add(p.key));
    // A Deny counts whatever its condition (one that always holds locks out as surely).
    else statement.principals.forEach(p => denied.add(p.key));
  }
  const manageable = !denied.has('*') && [...allowed].some(p => !denied.has(p));
  return manageable ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}, 'name', { value: 'KMS4' });
