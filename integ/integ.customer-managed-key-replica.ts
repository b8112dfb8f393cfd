/**
 * Integration test: a multi-Region CustomerManagedKey and its replica in
 * another region, each with a key policy from the same role model.
 * `npm test` verifies the synthesized snapshot offline; `npx projen
 * integ:deploy` deploys it (us-east-1 and us-west-2).
 */
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CustomerManagedKey, CustomerManagedKeyReplica } from '../src';

const app = new App();
const primaryStack = new Stack(app, 'CdkKmsSecretsKeyPrimaryInteg', { env: { region: 'us-east-1' } });
const replicaStack = new Stack(app, 'CdkKmsSecretsKeyReplicaInteg', { env: { region: 'us-west-2' }, crossRegionReferences: true });

const primary = new CustomerManagedKey(primaryStack, 'Key', {
  description: 'cdk-kms-secrets integ multi-Region primary key',
  multiRegion: true,
  administrators: [new iam.Role(primaryStack, 'KeyAdmin', { assumedBy: new iam.AccountRootPrincipal() })],
});
const replica = new CustomerManagedKeyReplica(replicaStack, 'Replica', {
  primaryKey: primary,
  description: 'cdk-kms-secrets integ replica',
  administrators: [new iam.Role(replicaStack, 'ReplicaAdmin', { assumedBy: new iam.AccountRootPrincipal() })],
  users: [new iam.Role(replicaStack, 'ReplicaUser', { assumedBy: new iam.AccountRootPrincipal() })],
});
replicaStack.addDependency(primaryStack);

// The assertions run in the replica's region, where its key lives.
const assertions = new Stack(app, 'CdkKmsSecretsKeyReplicaAssertions', { env: { region: 'us-west-2' } });
const integ = new IntegTest(app, 'CustomerManagedKeyReplicaTest', { testCases: [primaryStack, replicaStack], assertionStack: assertions });

// The replica exists in its own region, as a replica of our primary key.
integ.assertions
  .awsApiCall('KMS', 'describeKey', { KeyId: replica.keyArn })
  .expect(ExpectedResult.objectLike({
    KeyMetadata: { KeyState: 'Enabled', KeyManager: 'CUSTOMER', MultiRegion: true, MultiRegionConfiguration: { MultiRegionKeyType: 'REPLICA' } },
  }));

// Its key policy is ours: administrators denied use, users denied management.
integ.assertions
  .awsApiCall('KMS', 'getKeyPolicy', { KeyId: replica.keyArn, PolicyName: 'default' })
  .expect(ExpectedResult.objectLike({
    Policy: Match.stringLikeRegexp('"Sid"\\s*:\\s*"AdministratorsNeverUseKey"[\\s\\S]*"Sid"\\s*:\\s*"UsersNeverManageKey"'),
  }));

app.synth();
