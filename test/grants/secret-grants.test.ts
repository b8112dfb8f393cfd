import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CustomerManagedKey, DatabaseEngine, ManagedSecret, Rotation, SecretGrants } from '../../src';
import { checkCompliance, describeFindings, unexpectedFindings } from '../support/compliance';

const ENV = { account: '111111111111', region: 'eu-west-1' };
const credentials = { engine: DatabaseEngine.POSTGRES, host: 'db.internal', username: 'app' };

function fixture() {
  const app = new App();
  const stack = new Stack(app, 'Grants', { env: ENV });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-12345678', availabilityZones: ['eu-west-1a'], privateSubnetIds: ['subnet-11111111'] });
  const secret = new ManagedSecret(stack, 'Db', { credentials, rotation: Rotation.postgresSingleUser({ vpc }) });
  const role = new iam.Role(stack, 'Consumer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  return { app, stack, vpc, secret, role };
}

type PolicyStatementJson = { Action: string | string[]; Resource: unknown; Condition?: unknown; Effect: string };

function grantsPolicyOf(stack: Stack, roleId: string): PolicyStatementJson[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::ManagedPolicy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp(`^${roleId}`) }] } });
  const [policy] = Object.values(policies);
  return policy.Properties.PolicyDocument.Statement;
}

const SECRET_REF = { Ref: expect.stringMatching(/^Db[0-9A-F]{8}$/) };
const KEY_ARN = { 'Fn::GetAtt': [expect.stringMatching(/^CdkKmsSecretsDefaultKey/), 'Arn'] };
const VIA_SM = 'secretsmanager.eu-west-1.amazonaws.com';

describe('read', () => {
  test('exactly that secret, and its key only through Secrets Manager for it, in a customer-managed policy', () => {
    const { stack, secret, role } = fixture();
    secret.grantRead(role);
    expect(grantsPolicyOf(stack, 'Consumer')).toEqual([
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: SECRET_REF },
      { Effect: 'Allow', Action: 'secretsmanager:DescribeSecret', Resource: SECRET_REF },
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: KEY_ARN,
        Condition: { StringEquals: { 'kms:ViaService': VIA_SM, 'kms:EncryptionContext:SecretARN': SECRET_REF } },
      },
    ]);
    // No inline policy, and nothing added to the key policy for the reader.
    Template.fromStack(stack).resourceCountIs('AWS::IAM::Policy', 0);
    const [key] = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key', { Properties: { Description: Match.stringLikeRegexp('^Default key of cdk-kms-secrets') } }));
    expect(JSON.stringify(key.Properties.KeyPolicy)).not.toContain('Consumer');
  });

  test('version stages become a secretsmanager:VersionStage condition', () => {
    const { stack, secret, role } = fixture();
    secret.grantRead(role, ['AWSCURRENT']);
    expect(grantsPolicyOf(stack, 'Consumer')[0]).toEqual({
      Effect: 'Allow',
      Action: 'secretsmanager:GetSecretValue',
      Resource: SECRET_REF,
      Condition: { StringEquals: { 'secretsmanager:VersionStage': ['AWSCURRENT'] } },
    });
  });

  test('an imported secret and key: the key part is kept (aws-cdk-lib drops it)', () => {
    const { stack, role } = fixture();
    const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Imported', 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:payments-AbCdEf');
    const key = kms.Key.fromKeyArn(stack, 'ImportedKey', 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    SecretGrants.read(role, secret, key);
    expect(grantsPolicyOf(stack, 'Consumer')).toEqual(expect.arrayContaining([
      {
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab',
        Condition: { StringEquals: { 'kms:ViaService': VIA_SM, 'kms:EncryptionContext:SecretARN': 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:payments-AbCdEf' } },
      },
    ]));
  });

  test('a secret known by name: the -?????? suffix, and StringLike on the context', () => {
    const { stack, role } = fixture();
    const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'ByName', 'payments');
    const key = kms.Key.fromKeyArn(stack, 'ImportedKey', 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab');
    SecretGrants.read(role, secret, key);
    const statements = grantsPolicyOf(stack, 'Consumer');
    const suffixed = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:eu-west-1:111111111111:secret:payments-??????']] };
    expect(statements[0].Resource).toEqual(suffixed);
    expect(statements[2].Condition).toEqual({ StringEquals: { 'kms:ViaService': VIA_SM }, StringLike: { 'kms:EncryptionContext:SecretARN': suffixed } });
  });
});

describe('write and rotate', () => {
  test('write: put (no read), with GenerateDataKey and Decrypt scoped the same way', () => {
    const { stack, secret, role } = fixture();
    secret.grantWrite(role);
    expect(grantsPolicyOf(stack, 'Consumer')).toEqual([
      { Effect: 'Allow', Action: ['secretsmanager:DescribeSecret', 'secretsmanager:PutSecretValue'], Resource: SECRET_REF },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: KEY_ARN,
        Condition: { StringEquals: { 'kms:ViaService': VIA_SM, 'kms:EncryptionContext:SecretARN': SECRET_REF } },
      },
    ]);
  });

  test('rotate: RotateSecret only, no read and no key', () => {
    const { stack, secret, role } = fixture();
    secret.grantRotate(role);
    expect(grantsPolicyOf(stack, 'Consumer')).toEqual([
      { Effect: 'Allow', Action: ['secretsmanager:DescribeSecret', 'secretsmanager:RotateSecret'], Resource: SECRET_REF },
    ]);
  });
});

describe('envelope encryption', () => {
  test('GenerateDataKey (not *) and Decrypt, each requiring the context', () => {
    const { stack, role } = fixture();
    const key = new CustomerManagedKey(stack, 'DataKey');
    key.grantEnvelopeEncryption(role, { encryptionContext: { tenant: 'acme' } });
    const [resource] = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key', { Properties: { Description: Match.absent() } }));
    const grant = (resource.Properties.KeyPolicy.Statement as Array<{ Sid: string }>).find(s => s.Sid === 'UsersUseKey');
    expect(grant).toEqual({
      Sid: 'UsersUseKey',
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Principal: { AWS: { 'Fn::GetAtt': [expect.stringMatching(/^Consumer/), 'Arn'] } },
      Resource: '*',
      Condition: { StringEquals: { 'kms:EncryptionContext:tenant': 'acme' } },
    });
  });
});

describe('cross-account', () => {
  test('resource policy, key policy and an identity policy for the other account', () => {
    const { stack, secret } = fixture();
    secret.grantRead(new iam.ArnPrincipal('arn:aws:iam::222222222222:role/Partner'));
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      ResourcePolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'DenyOtherAccounts', Condition: { StringNotEquals: { 'aws:PrincipalAccount': ['111111111111', '222222222222'] } } }),
          Match.objectLike({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Principal: { AWS: 'arn:aws:iam::222222222222:role/Partner' } }),
        ]),
      },
    });
    const [key] = Object.values(t.findResources('AWS::KMS::Key', { Properties: { Description: Match.stringLikeRegexp('^Default key of cdk-kms-secrets') } }));
    expect(key.Properties.KeyPolicy.Statement).toEqual(expect.arrayContaining([expect.objectContaining({
      Sid: 'CrossAccountUsesKeyOnlyViaSecretsManager',
      Action: 'kms:Decrypt',
      Principal: { AWS: 'arn:aws:iam::222222222222:role/Partner' },
      Condition: {
        StringEquals: { 'kms:ViaService': VIA_SM },
        StringLike: { 'kms:EncryptionContext:SecretARN': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:eu-west-1:111111111111:secret:*']] } },
      },
    })]));
    const identity = stack.resolve(secret.crossAccountIdentityPolicy('222222222222')!.toJSON());
    expect(identity.Statement.map((s: PolicyStatementJson) => s.Action)).toEqual(['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret', 'kms:Decrypt']);
    expect(Object.keys(t.toJSON().Outputs)).toEqual([expect.stringMatching(/^DbCrossAccountPolicy222222222222/)]);
    expect(secret.crossAccountIdentityPolicy('333333333333')).toBeUndefined();
  });
});

describe('runtime reads with caching: the Lambda extension', () => {
  test('grants read, adds the Parameters and Secrets extension with the TTL, and sets its environment', () => {
    const { stack, secret } = fixture();
    const fn = new lambda.Function(stack, 'Reader', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {}'),
    });
    secret.addLambdaReader(fn, { cacheTtl: Duration.minutes(2) });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Layers: [Match.stringLikeRegexp('^arn:aws:lambda:eu-west-1:\\d+:layer:AWS-Parameters-and-Secrets-Lambda-Extension')],
      Environment: {
        Variables: Match.objectLike({
          PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED: 'true',
          PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE: '1000',
          SECRETS_MANAGER_TTL: '120',
          SECRET_ARN: { Ref: Match.stringLikeRegexp('^Db') },
        }),
      },
    });
    expect(grantsPolicyOf(stack, 'ReaderServiceRole')[0]).toEqual({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: SECRET_REF });
  });
});

describe('placement', () => {
  test('secrets sharing a key add the account delegation once, each principal listed once', () => {
    const { stack, role } = fixture();
    const key = new CustomerManagedKey(stack, 'Shared');
    for (let i = 0; i < 3; i++) new ManagedSecret(stack, `S${i}`, { credentials, encryptionKey: key }).grantRead(role);
    const [resource] = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key', { Properties: { Description: Match.absent() } }));
    const delegations = (resource.Properties.KeyPolicy.Statement as Array<{ Sid: string; Principal: { AWS: unknown } }>).filter(st => st.Sid.startsWith('AccountUsesKeyOnlyViaService'));
    expect(delegations.length).toBeGreaterThan(0);
    for (const d of delegations) expect(Array.isArray(d.Principal.AWS)).toBe(false);
  });

  test('key in one stack, secret and consumers in another: no dependency cycle', () => {
    const app = new App();
    const keys = new Stack(app, 'Keys', { env: ENV });
    const apps = new Stack(app, 'Apps', { env: ENV });
    const key = new CustomerManagedKey(keys, 'Key');
    const secret = new ManagedSecret(apps, 'Db', { credentials, encryptionKey: key });
    const consumer = new iam.Role(apps, 'Consumer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    secret.grantRead(consumer);
    secret.grantWrite(new iam.Role(apps, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
    key.grantEnvelopeEncryption(consumer, { encryptionContext: { tenant: 'acme' }, viaService: 's3' });
    expect(() => app.synth()).not.toThrow();
    expect(apps.dependencies.map(s => s.stackName)).toEqual(['Keys']);
    expect(keys.dependencies).toEqual([]);
  });
});

describe('bad calls fail with the property and the fix', () => {
  const cases: Array<[string, (f: ReturnType<typeof fixture>) => void, RegExp]> = [
    ['a grant on an AWS-managed key', f => SecretGrants.read(f.role, f.secret, kms.Alias.fromAliasName(f.stack, 'Managed', 'alias/aws/secretsmanager')),
      /SecretGrants\.read\.key: .*is an AWS-managed key.*Fix: Encrypt the secret with a CustomerManagedKey/],
    ['a cross-account grant without a CMK', f => {
      const plain = new secretsmanager.Secret(f.stack, 'Plain');
      SecretGrants.read(new iam.ArnPrincipal('arn:aws:iam::222222222222:role/Partner'), plain);
    }, /SecretGrants\.read\.secret: granting to account 222222222222 needs the secret's resource policy/],
    ['a cross-account grant with an imported key', f => {
      const key = kms.Key.fromKeyArn(f.stack, 'K', 'arn:aws:kms:eu-west-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab');
      SecretGrants.read(new iam.ArnPrincipal('arn:aws:iam::222222222222:role/Partner'), f.secret, key);
    }, /SecretGrants\.read\.key: granting to account 222222222222 needs a key policy we can write.*not a CustomerManagedKey/],
    ['an empty envelope-encryption context', f => new CustomerManagedKey(f.stack, 'K').grantEnvelopeEncryption(f.role, { encryptionContext: {} }),
      /grantEnvelopeEncryption\.encryptionContext: is required and must not be empty/],
    ['envelope encryption on a signing key', f => new CustomerManagedKey(f.stack, 'K', { keySpec: kms.KeySpec.ECC_NIST_P256, keyUsage: kms.KeyUsage.SIGN_VERIFY }).grantEnvelopeEncryption(f.role, { encryptionContext: { a: 'b' } }),
      /grantEnvelopeEncryption\.keyUsage: is SIGN_VERIFY/],
    ['an empty version-stage list', f => f.secret.grantRead(f.role, []),
      /SecretGrants\.read\.versionStages: is empty/],
    ['a same-account bare ARN principal, whose policy this app cannot change', f => f.secret.grantRead(new iam.ArnPrincipal('arn:aws:iam::111111111111:role/Elsewhere')),
      /SecretGrants\.read\.grantee: .* has no identity policy that this app can add to/],
    ['a cache TTL over 5 minutes', f => {
      const fn = new lambda.Function(f.stack, 'Fn', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('x') });
      f.secret.addLambdaReader(fn, { cacheTtl: Duration.minutes(10) });
    }, /readFromLambda\.cacheTtl: 10 minutes is outside the 1-300 seconds/],
    ['a cache size of 0', f => {
      const fn = new lambda.Function(f.stack, 'Fn', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('x') });
      f.secret.addLambdaReader(fn, { cacheSize: 0 });
    }, /readFromLambda\.cacheSize: 0 is outside 1-1000/],
    ['a grant of use to an administrator of the key', f => {
      const key = new CustomerManagedKey(f.stack, 'K', { administrators: [f.role] });
      key.grantEnvelopeEncryption(f.role, { encryptionContext: { a: 'b' } });
    }, /is both an administrator .* and a user/],
  ];

  test.each(cases)('%s', (_name, build, message) => {
    expect(() => build(fixture())).toThrow(message);
  });
});

describe('compliance of every helper\'s output', () => {
  test('read, write, rotate, envelope encryption and cross-account: no finding beyond the documented two', () => {
    const { stack, secret, role } = fixture();
    secret.grantRead(role, ['AWSCURRENT']);
    secret.grantWrite(new iam.Role(stack, 'Writer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
    secret.grantRotate(new iam.Role(stack, 'Rotator', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
    new CustomerManagedKey(stack, 'DataKey').grantEnvelopeEncryption(role, { encryptionContext: { tenant: 'acme' } });
    secret.grantRead(new iam.ArnPrincipal('arn:aws:iam::222222222222:role/Partner'));
    expect(describeFindings(unexpectedFindings(checkCompliance(stack).all))).toBe('');
  });
});
