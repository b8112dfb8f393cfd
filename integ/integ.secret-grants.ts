/**
 * Integration test: least-privilege grants on a ManagedSecret.
 * Deployed, it proves with IAM's own policy simulator that `grantRead` allows
 * reading and not writing, that `grantWrite` allows writing and not reading,
 * that the key part of a grant works only through Secrets Manager and only
 * for this secret, and that the key policy KMS holds delegates use to the
 * account only through a service. `npm test` verifies the synthesized
 * snapshot offline; `npx projen integ:deploy` deploys it to the current AWS
 * account.
 */
import { ExpectedResult, IApiCall, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Aws, Duration, RemovalPolicies, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CustomerManagedKey, ManagedSecret } from '../src';

const app = new App();
const stack = new Stack(app, 'CdkKmsSecretsGrantsInteg');
const key = new CustomerManagedKey(stack, 'Key', { description: 'cdk-kms-secrets grants integ test key' });
// A plain generated secret: no rotation is needed to test the grants.
const secret = new ManagedSecret(stack, 'Secret', { encryptionKey: key, description: 'cdk-kms-secrets grants integ test secret' });
const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
const writer = new iam.Role(stack, 'Writer', { assumedBy: new iam.AccountRootPrincipal() });
secret.grantRead(reader);
secret.grantWrite(writer);
// A test leaves nothing behind (the library retains keys and secrets by default).
RemovalPolicies.of(stack).destroy();

const integ = new IntegTest(app, 'SecretGrantsTest', { testCases: [stack] });

const GET = 'secretsmanager:GetSecretValue';
const PUT = 'secretsmanager:PutSecretValue';

/**
 * What IAM decides for `role` doing `action` on `resource` (identity policies
 * only: the simulator never reads the key policy). Only the decision is kept
 * in the assertion's output, which CloudFormation limits to 4 KB.
 */
function decision(role: iam.IRole, action: string, resource: string, expected: 'allowed' | 'implicitDeny', context?: Record<string, string>): IApiCall {
  return integ.assertions
    .awsApiCall('IAM', 'simulatePrincipalPolicy', {
      PolicySourceArn: role.roleArn,
      ActionNames: [action],
      ResourceArns: [resource],
      ...(context ? {
        ContextEntries: Object.entries(context).map(([name, value]) => ({
          ContextKeyName: name, ContextKeyType: 'string', ContextKeyValues: [value],
        })),
      } : {}),
    })
    .assertAtPath('EvaluationResults.0.EvalDecision', ExpectedResult.stringLikeRegexp(`^${expected}$`));
}

const viaSecretsManager = {
  'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com`,
  'kms:EncryptionContext:SecretARN': secret.secretArn,
};

// The "allowed" decisions first, each retried until IAM has propagated the
// roles' policies: the "implicitDeny" decisions after them then cannot pass
// only because the policies are not visible yet.
const propagation = { totalTimeout: Duration.minutes(5), interval: Duration.seconds(10) };
const readerMayRead = decision(reader, GET, secret.secretArn, 'allowed').waitForAssertions(propagation);
const writerMayWrite = decision(writer, PUT, secret.secretArn, 'allowed').waitForAssertions(propagation);

readerMayRead
  .next(decision(reader, PUT, secret.secretArn, 'implicitDeny'))
  .next(decision(reader, 'kms:Decrypt', key.keyArn, 'allowed', viaSecretsManager))
  // The key part of the grant: never outside Secrets Manager, never for another secret.
  .next(decision(reader, 'kms:Decrypt', key.keyArn, 'implicitDeny', { 'kms:EncryptionContext:SecretARN': secret.secretArn }))
  .next(decision(reader, 'kms:Decrypt', key.keyArn, 'implicitDeny', { ...viaSecretsManager, 'kms:EncryptionContext:SecretARN': `${secret.secretArn}-other` }))
  .next(decision(reader, 'kms:GenerateDataKey', key.keyArn, 'implicitDeny', viaSecretsManager));

writerMayWrite
  .next(decision(writer, GET, secret.secretArn, 'implicitDeny'))
  .next(decision(writer, 'kms:GenerateDataKey', key.keyArn, 'allowed', viaSecretsManager));

// The key policy KMS holds lets the account use the key only through a
// service (which is why the identity policies above are enough).
integ.assertions
  .awsApiCall('KMS', 'getKeyPolicy', { KeyId: key.keyId, PolicyName: 'default' })
  .expect(ExpectedResult.objectLike({
    // Match (not ExpectedResult) inside objectLike; KMS may return the policy pretty-printed.
    Policy: Match.stringLikeRegexp('"Sid"\\s*:\\s*"AccountUsesKeyOnlyViaService"'),
  }));

app.synth();
