/**
 * Bad input that used to synthesize, or fail with aws-cdk-lib's message
 * (issue #12): each fails at synth with the library's error form.
 */
import { App, CfnParameter, Duration, Fn, Lazy, SecretValue, Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CustomerManagedKey, ManagedSecret, Rotation, RotationSchedule } from '../../src';

const ERROR_FORM = /\[cdk-kms-secrets\] [A-Za-z0-9.]+: .+ Fix: .+/s;
const ENV = { account: '111111111111', region: 'eu-west-1' };

function stack(): Stack {
  return new Stack(new App(), 'S', { env: ENV });
}

const cases: Array<[string, (s: Stack) => void, RegExp]> = [
  ['plaintext behind a Lazy token', s => new ManagedSecret(s, 'X', { secretValue: SecretValue.unsafePlainText(Lazy.string({ produce: () => 'hunter2' })) }),
    /ManagedSecret\.secretValue: resolves to plaintext in the template/],
  ['plaintext folded from Fn.join', s => new ManagedSecret(s, 'X', { secretValue: SecretValue.unsafePlainText(Fn.join('', ['hun', 'ter2'])) }),
    /ManagedSecret\.secretValue: (resolves to plaintext|is plaintext)/],
  ['a plaintext secretStringValue (SecretProps, from JavaScript)', s => new ManagedSecret(s, 'X', { secretStringValue: SecretValue.unsafePlainText('hunter2') } as never),
    /ManagedSecret\.secretValue: is plaintext/],
  ['secretObjectValue', s => new ManagedSecret(s, 'X', { secretObjectValue: { a: SecretValue.unsafePlainText('x') } } as never),
    /ManagedSecret\.secretObjectValue: is not honoured/],
  ['secretStringBeta1', s => new ManagedSecret(s, 'X', { secretStringBeta1: secretsmanager.SecretStringValueBeta1.fromToken(Token.asString({ Ref: 'P' })) } as never),
    /ManagedSecret\.secretStringBeta1: is deprecated/],
  ['generateSecretString with credentials', s => new ManagedSecret(s, 'X', { generateSecretString: {}, credentials: { username: 'app', engine: 'postgres', host: 'h' } } as never),
    /ManagedSecret\.generateSecretString: is set together with `credentials`/],
  ['a kms.Key as encryptionKey (from JavaScript)', s => new ManagedSecret(s, 'X', { encryptionKey: new kms.Key(s, 'K') as never }),
    /ManagedSecret\.encryptionKey: is not a CustomerManagedKey/],
  ['an imported key as encryptionKey (from JavaScript or Python)', s => new ManagedSecret(s, 'X', { encryptionKey: kms.Key.fromKeyArn(s, 'K', 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab') as never }),
    /ManagedSecret\.encryptionKey: is not a CustomerManagedKey/],
  ['an alias as encryptionKey (from JavaScript or Python)', s => new ManagedSecret(s, 'X', { encryptionKey: kms.Alias.fromAliasName(s, 'A', 'alias/payments') as never }),
    /ManagedSecret\.encryptionKey: is not a CustomerManagedKey/],
  ['an HMAC key as the secret\'s key', s => new ManagedSecret(s, 'X', { encryptionKey: new CustomerManagedKey(s, 'K', { keySpec: kms.KeySpec.HMAC_256, keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC }) }),
    /ManagedSecret\.encryptionKey: is a HMAC_256 GENERATE_VERIFY_MAC key/],
  ['addReplicaRegion without a key', s => new ManagedSecret(s, 'X').addReplicaRegion('eu-central-1'),
    /ManagedSecret\.replicaRegions: the replica in eu-central-1 has no encryptionKey/],
  ['a replica on alias/aws/secretsmanager', s => new ManagedSecret(s, 'X').addReplicaRegion('eu-central-1', kms.Alias.fromAliasName(s, 'A', 'alias/aws/secretsmanager')),
    /ManagedSecret\.replicaRegions: the replica in eu-central-1 uses an AWS-managed key/],
  ['kms.KeyProps admins on a CustomerManagedKey', s => new CustomerManagedKey(s, 'K', { admins: [new iam.AccountRootPrincipal()] } as never),
    /CustomerManagedKey\.admins: is a kms\.KeyProps property that CustomerManagedKey does not honour.*Fix: Use `administrators`/],
  ['kms.KeyProps policy on a CustomerManagedKey', s => new CustomerManagedKey(s, 'K', { policy: new iam.PolicyDocument() } as never),
    /CustomerManagedKey\.policy: is a kms\.KeyProps property/],
  ['rotationPeriod of 2200 hours (not whole days)', s => new CustomerManagedKey(s, 'K', { rotationPeriod: Duration.hours(2200) }),
    /CustomerManagedKey\.rotationPeriod: 91 days 16 hours is not a whole number of days.*Fix: Use Duration\.days\(92\)/],
  ['pendingWindow of 200 hours', s => new CustomerManagedKey(s, 'K', { pendingWindow: Duration.hours(200) }),
    /CustomerManagedKey\.pendingWindow: 8 days 8 hours is not a whole number of days/],
  ['a token pendingWindow', s => new CustomerManagedKey(s, 'K', { pendingWindow: Duration.days(new CfnParameter(s, 'Days', { type: 'Number' }).valueAsNumber) }),
    /CustomerManagedKey\.pendingWindow: is a token; the number of days must be known at synth.*Fix: Pass a literal Duration/],
  ['an IAM group as an administrator', s => new CustomerManagedKey(s, 'K', { administrators: [new iam.Group(s, 'G')] }),
    /CustomerManagedKey\.administrators: must list named IAM principals|is an IAM group/],
  ['an OrganizationPrincipal as an administrator', s => new CustomerManagedKey(s, 'K', { administrators: [new iam.OrganizationPrincipal('o-a1b2c3d4e5')] }),
    /CustomerManagedKey\.administrators: must list named IAM principals/],
];

describe('bad input fails at synth with the library\'s error', () => {
  test.each(cases)('%s', (_name, build, message) => {
    const s = stack();
    let error: Error | undefined;
    try {
      build(s);
      Template.fromStack(s);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(ERROR_FORM);
    expect(error?.message).toMatch(message);
  });

  test('a secretStringValue that is not plaintext is honoured as the value', () => {
    const s = stack();
    const param = new CfnParameter(s, 'Value', { noEcho: true });
    new ManagedSecret(s, 'X', { secretStringValue: SecretValue.cfnParameter(param) } as never);
    Template.fromStack(s).hasResourceProperties('AWS::SecretsManager::Secret', { SecretString: { Ref: 'Value' } });
  });

  test('generateSecretString is honoured as given', () => {
    const s = stack();
    new ManagedSecret(s, 'X', { generateSecretString: { passwordLength: 40, excludePunctuation: true } } as never);
    Template.fromStack(s).hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: { PasswordLength: 40, ExcludePunctuation: true } });
  });
});

describe('durations of a rotation', () => {
  test.each([
    ['a token interval', (s: Stack) => RotationSchedule.after(Duration.days(new CfnParameter(s, 'D', { type: 'Number' }).valueAsNumber)),
      /RotationSchedule\.after\.interval: is a token; the interval must be known at synth.*Fix: Pass a literal Duration/],
    ['an interval of 90 minutes', () => RotationSchedule.after(Duration.minutes(90)),
      /RotationSchedule\.after\.interval: 1 hour 30 minutes is outside the 4 hours to 1,000 days/],
    ['a token window', (s: Stack) => Rotation.custom({ function: lambda.Function.fromFunctionArn(s, 'F', 'arn:aws:lambda:eu-west-1:111111111111:function:f'), window: Duration.hours(new CfnParameter(s, 'W', { type: 'Number' }).valueAsNumber) } as never),
      /ManagedSecret\.rotation\.window: is a token; the window must be known at synth/],
  ])('%s', (_name, build, message) => {
    const s = stack();
    let error: Error | undefined;
    try {
      const r = build(s);
      if (r instanceof Rotation) new ManagedSecret(s, 'X', { rotation: r });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(ERROR_FORM);
    expect(error?.message).toMatch(message);
  });
});
