import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { fixture, Fixture, rotatedSecret } from './fixture';
import { CustomerManagedKey } from '../../src';
import { KeysAndSecretsMonitoring, KeysAndSecretsMonitoringProps } from '../../src/monitoring';
import { checkCompliance, describeFindings, PACK_NAMES, unexpectedFindings } from '../support/compliance';

/**
 * Zero findings from the four nag packs and zero cfn-lint errors or
 * warnings for each option set. The rotated secrets bring a rotation
 * function, whose two documented IAM5 findings (README, "Findings we cannot
 * fix") are the only ones `unexpectedFindings` lets through; the monitoring
 * itself adds none.
 */
describe('compliance: the four nag packs and cfn-lint', () => {
  const optionSets: Array<[string, (f: Fixture) => KeysAndSecretsMonitoringProps]> = [
    ['default: keys and rotated secrets', f => ({ keys: [new CustomerManagedKey(f.stack, 'Key')], secrets: [rotatedSecret(f, 'Db')] })],
    ['with the dashboard', f => ({ keys: [new CustomerManagedKey(f.stack, 'Key')], secrets: [rotatedSecret(f, 'Db')], dashboard: true })],
    ['with email and HTTPS subscriptions and a key passed in', f => ({
      secrets: [rotatedSecret(f, 'Db'), rotatedSecret(f, 'Named', 7, 'payments/db')],
      encryptionKey: new CustomerManagedKey(f.stack, 'AlertKey', { alias: 'alerts' }),
      emails: ['security@example.com'],
      httpsEndpoints: ['https://hooks.example.com/alerts'],
    })],
    ['replica regions, a failure topic and named topic administrators', f => {
      const admin = new iam.Role(f.stack, 'Admin', { assumedBy: new iam.AccountRootPrincipal() });
      return {
        keys: [new CustomerManagedKey(f.stack, 'Key', { multiRegion: true })],
        replicaRegions: ['us-east-1'],
        failureTopic: new sns.Topic(f.stack, 'Pager', { masterKey: new CustomerManagedKey(f.stack, 'PagerKey'), enforceSSL: true }),
        topicAdministrators: [admin],
      };
    }],
    ['watchScope, dashboard, no usage alarms, imported secrets', f => {
      const team = new Construct(f.stack, 'Team');
      new CustomerManagedKey(team, 'Key');
      rotatedSecret(f, 'Db');
      return {
        watchScope: f.stack,
        secrets: [secretsmanager.Secret.fromSecretNameV2(f.stack, 'Legacy', 'legacy/api-token')],
        dashboard: true,
        usageAnomalyAlarms: false,
      };
    }],
  ];

  test.each(optionSets)('%s', (_name, build) => {
    const f = fixture();
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', build(f));
    const report = checkCompliance(f.stack);
    expect(Object.keys(report.nag)).toEqual(expect.arrayContaining([...PACK_NAMES]));
    expect(describeFindings(unexpectedFindings(report.all))).toBe('');
    expect(report.cfnLint).toEqual([]);
  });

  test('keys only (no rotation function): not a single finding, not even the documented ones', () => {
    const f = fixture();
    new KeysAndSecretsMonitoring(f.stack, 'Monitoring', { keys: [new CustomerManagedKey(f.stack, 'Key')], dashboard: true, emails: ['security@example.com'] });
    expect(describeFindings(checkCompliance(f.stack).all)).toBe('');
  });
});
