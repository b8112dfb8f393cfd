import { CfnResource } from 'aws-cdk-lib';
import { CfnKey, CfnReplicaKey } from 'aws-cdk-lib/aws-kms';
import { NagRuleCompliance } from 'cdk-nag';
import { allowsAny, conditionKeys, isAccountRoot, principalsOf, resolve, statementsOf } from './util';
import { ADMIN_WRITE_ACTIONS, CRYPTO_ACTIONS, MULTI_REGION_ADMIN_ACTIONS } from '../../keys/roles';

/**
 * KeysAndSecrets-KMS2: a principal that is both an administrator (allowed an
 * action that changes the key) and a user (allowed a cryptographic action)
 * of the same key. The account root counts as a user only where its use is
 * not limited to a service (`kms:ViaService`). Uses the key-policy role
 * model of `CustomerManagedKey` (src/keys/roles.ts).
 */
export default Object.defineProperty((node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof CfnKey) && !(node instanceof CfnReplicaKey)) return NagRuleCompliance.NOT_APPLICABLE;
  const statements = statementsOf(resolve(node, node.keyPolicy));
  const admins = new Set<string>();
  const users = new Set<string>();
  for (const s of statements) {
    if (allowsAny(s, [...ADMIN_WRITE_ACTIONS, ...MULTI_REGION_ADMIN_ACTIONS])) principalsOf(s).forEach(p => admins.add(p));
    if (allowsAny(s, CRYPTO_ACTIONS)) {
      for (const p of principalsOf(s)) {
        if (isAccountRoot(p) && conditionKeys(s).includes('kms:ViaService')) continue;
        users.add(p);
      }
    }
  }
  return [...admins].some(p => users.has(p)) ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
}, 'name', { value: 'KMS2' });
