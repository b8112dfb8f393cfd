/**
 * Integration test: a CustomerManagedKey with separated roles.
 * Deployed, it proves that KMS accepts the policy (no lockout, no unbounded
 * principal), that rotation is on, and that the role statements are in force.
 * `npm test` verifies the synthesized snapshot offline; `npx projen integ:deploy`
 * deploys it to the current AWS account.
 */
import { ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CustomerManagedKey } from '../src';

const app = new App();
const stack = new Stack(app, 'CdkKmsSecretsKeyInteg');
const admin = new iam.Role(stack, 'KeyAdmin', { assumedBy: new iam.AccountRootPrincipal() });
const user = new iam.Role(stack, 'KeyUser', { assumedBy: new iam.AccountRootPrincipal() });
const key = new CustomerManagedKey(stack, 'Key', {
  alias: 'cdk-kms-secrets-integ',
  description: 'cdk-kms-secrets integ test key',
  administrators: [admin],
  users: [user],
});

const integ = new IntegTest(app, 'CustomerManagedKeyTest', { testCases: [stack] });

integ.assertions
  .awsApiCall('KMS', 'describeKey', { KeyId: key.keyId })
  .expect(ExpectedResult.objectLike({ KeyMetadata: { KeyState: 'Enabled', KeyManager: 'CUSTOMER', KeyUsage: 'ENCRYPT_DECRYPT' } }));

integ.assertions
  .awsApiCall('KMS', 'getKeyRotationStatus', { KeyId: key.keyId })
  .expect(ExpectedResult.objectLike({ KeyRotationEnabled: true }));

// The policy KMS holds must be ours: administrators denied use, users denied management.
integ.assertions
  .awsApiCall('KMS', 'getKeyPolicy', { KeyId: key.keyId, PolicyName: 'default' })
  .expect(ExpectedResult.objectLike({
    Policy: Match.stringLikeRegexp('"Sid"\\s*:\\s*"AdministratorsNeverUseKey"[\\s\\S]*"Sid"\\s*:\\s*"UsersNeverManageKey"'),
  }));

app.synth();
