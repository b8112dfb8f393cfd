/**
 * Every KMS and Secrets Manager action (the same action data the key policy
 * uses, and the Secrets Manager list checked against the Service
 * Authorization Reference), with the deployed rule that watches it or the
 * reason in code why none does.
 */
import { fixture, resources, rotatedSecret } from './fixture';
import { CustomerManagedKey } from '../../src';
import { KMS_ACTIONS } from '../../src/keys/kms-actions';
import { KeysAndSecretsMonitoring } from '../../src/monitoring';
import { ActionCoverage, kmsCoverage, secretsManagerCoverage } from '../../src/monitoring/coverage';
import { SECRETS_MANAGER_ACTIONS } from '../../src/monitoring/secretsmanager-actions';
import { referenceActions } from '../support/iam-data';

const reference = referenceActions('secretsmanager');

describe('Secrets Manager action data', () => {
  test('lists exactly the actions of the Service Authorization Reference, with their access level and resource', () => {
    const expected = Object.values(reference)
      .map(a => ({ name: `secretsmanager:${a.name}`, accessLevel: a.accessLevel.split(',')[0].trim(), secretResource: (a.resourceTypes ?? []).some(r => r.name === 'Secret') }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
    expect(SECRETS_MANAGER_ACTIONS).toEqual(expected);
  });
});

/** A stack with a watched key and rotated secret: rule logical ID -> (event source, event names). */
function deployedRules(): Array<{ id: string; eventSource: string; eventNames: string[] }> {
  const f = fixture();
  new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { keys: [new CustomerManagedKey(f.stack, 'Key')], secrets: [rotatedSecret(f, 'Db')] });
  return Object.entries(resources(f.stack, 'AWS::Events::Rule'))
    .filter(([id]) => !/Tamper/.test(id))
    .map(([id, r]) => {
      const detail = r.Properties.EventPattern.detail;
      return { id, eventSource: detail.eventSource?.[0], eventNames: detail.eventName ?? [] };
    });
}

describe('watch coverage: every management API has a rule, or a reason in code', () => {
  const rules = deployedRules();
  const rulesWatching = (c: ActionCoverage) => {
    const [service, name] = c.action.split(':');
    return rules.filter(r => r.eventSource === `${service}.amazonaws.com` && r.eventNames.includes(name)).map(r => r.id.replace(/[0-9A-F]{8}$/, ''));
  };
  const table = [...kmsCoverage(), ...secretsManagerCoverage()].map(c => ({
    action: c.action,
    watchedBy: rulesWatching(c),
    alerts: c.alerts.map(a => a.name),
    reason: c.reason,
  }));

  test('covers every action of KMS_ACTIONS and SECRETS_MANAGER_ACTIONS, once', () => {
    expect(table.map(t => t.action)).toEqual([...KMS_ACTIONS.map(a => a.name), ...SECRETS_MANAGER_ACTIONS.map(a => a.name)]);
  });

  test.each(table)('$action', entry => {
    if (entry.alerts.length > 0) {
      // Watched: a deployed rule of each alert matches its event, and no reason is needed.
      expect(entry.watchedBy.map(id => id.replace(/^Monitoring/, '').replace(/[A-Z]?$/, ''))).toEqual(expect.arrayContaining(entry.alerts));
      expect(entry.reason).toBeUndefined();
    } else {
      // Not watched: no rule matches it, and the code says why.
      expect(entry.watchedBy).toEqual([]);
      expect(entry.reason?.length ?? 0).toBeGreaterThan(20);
    }
  });

  test('every management action (KMS admin-write and admin-multi-region; Secrets Manager Write, Permissions management and Tagging on a secret) is watched or reasoned, and the actions the issue names are watched', () => {
    const management = [
      ...KMS_ACTIONS.filter(a => a.role === 'admin-write' || a.role === 'admin-multi-region').map(a => a.name),
      'kms:CreateGrant',
      ...SECRETS_MANAGER_ACTIONS.filter(a => a.secretResource && a.accessLevel !== 'Read').map(a => a.name),
    ];
    const byAction = new Map(table.map(t => [t.action, t]));
    for (const name of management) {
      const entry = byAction.get(name)!;
      expect({ name, ok: entry.watchedBy.length > 0 || entry.reason !== undefined }).toEqual({ name, ok: true });
    }
    const named = [
      'kms:UpdateAlias', 'kms:CreateAlias', 'kms:ReplicateKey', 'kms:UpdatePrimaryRegion', 'kms:DisableKeyRotation', 'kms:TagResource', 'kms:UntagResource',
      'kms:RevokeGrant', 'kms:EnableKey', 'kms:CreateGrant', 'kms:DeleteAlias', 'kms:DisableKey', 'kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion',
      'secretsmanager:CancelRotateSecret', 'secretsmanager:RotateSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage',
      'secretsmanager:RemoveRegionsFromReplication', 'secretsmanager:StopReplicationToReplica', 'secretsmanager:RestoreSecret',
    ];
    for (const name of named) expect({ name, watchedBy: byAction.get(name)!.watchedBy.length > 0 }).toEqual({ name, watchedBy: true });
    // CancelKeyDeletion "is fine": deliberately not watched, with its reason.
    expect(byAction.get('kms:CancelKeyDeletion')!.reason).toMatch(/ScheduleKeyDeletion/);
  });
});
