import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CustomerManagedKey, CustomerManagedKeyReplica, KeyOperation } from '../../src';
import { checkCompliance, describeFindings } from '../support/compliance';

function primaryAndReplicaStacks() {
  const app = new App();
  const primaryStack = new Stack(app, 'Primary', { env: { account: '111111111111', region: 'eu-west-1' } });
  const replicaStack = new Stack(app, 'Replica', { env: { account: '111111111111', region: 'eu-central-1' }, crossRegionReferences: true });
  return { app, primaryStack, replicaStack };
}

describe('CustomerManagedKeyReplica', () => {
  test('the replica gets the same role model in its own key policy', () => {
    const { primaryStack, replicaStack } = primaryAndReplicaStacks();
    const primary = new CustomerManagedKey(primaryStack, 'Key', { multiRegion: true });
    const admin = new iam.Role(replicaStack, 'Admin', { assumedBy: new iam.AccountRootPrincipal() });
    const user = new iam.Role(replicaStack, 'User', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const replica = new CustomerManagedKeyReplica(replicaStack, 'Replica', {
      primaryKey: primary,
      primaryKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab',
      administrators: [admin],
      users: [user],
      alias: 'payments',
    });
    replica.grantUse(new iam.ArnPrincipal('arn:aws:iam::111111111111:role/reader'), { operations: [KeyOperation.DECRYPT], viaService: 'secretsmanager' });
    const t = Template.fromStack(replicaStack);
    t.hasResourceProperties('AWS::KMS::ReplicaKey', {
      PrimaryKeyArn: 'arn:aws:kms:eu-west-1:111111111111:key/mrk-1234abcd12ab34cd56ef1234567890ab',
      PendingWindowInDays: 30,
    });
    t.hasResource('AWS::KMS::ReplicaKey', { DeletionPolicy: 'Retain' });
    t.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/payments' });
    const [resource] = Object.values(t.findResources('AWS::KMS::ReplicaKey'));
    const sids = (resource.Properties.KeyPolicy.Statement as Array<{ Sid: string; Action: string[] }>).map(s => s.Sid);
    expect(sids).toEqual(['AccountAdministersKey', 'AdministratorsManageKey', 'AdministratorsNeverUseKey', 'UsersUseKey', 'UsersNeverManageKey', 'UsersUseKey2']);
    const adminActions = resource.Properties.KeyPolicy.Statement[1].Action as string[];
    expect(adminActions).toEqual(expect.arrayContaining(['kms:ReplicateKey', 'kms:UpdatePrimaryRegion']));
    expect(describeFindings(checkCompliance(replicaStack).all)).toBe('');
  });

  test('the primary key must be multi-Region', () => {
    const { primaryStack, replicaStack } = primaryAndReplicaStacks();
    const primary = new CustomerManagedKey(primaryStack, 'Key');
    expect(() => new CustomerManagedKeyReplica(replicaStack, 'Replica', { primaryKey: primary }))
      .toThrow(/CustomerManagedKeyReplica\.primaryKey: Primary\/Key is not a multi-Region key\. Fix: Create the primary key with `multiRegion: true`/);
  });

  test('the replica must be in another region', () => {
    const { primaryStack } = primaryAndReplicaStacks();
    const primary = new CustomerManagedKey(primaryStack, 'Key', { multiRegion: true });
    expect(() => new CustomerManagedKeyReplica(primaryStack, 'Replica', { primaryKey: primary }))
      .toThrow(/is in the same region \(eu-west-1\) as the replica/);
  });

  test('a replica with a lockout configuration is refused', () => {
    const { primaryStack, replicaStack } = primaryAndReplicaStacks();
    const primary = new CustomerManagedKey(primaryStack, 'Key', { multiRegion: true });
    expect(() => new CustomerManagedKeyReplica(replicaStack, 'Replica', { primaryKey: primary, allowAccountToAdminister: false }))
      .toThrow(/CustomerManagedKeyReplica\.allowAccountToAdminister: is false and `administrators` is empty/);
  });
});
