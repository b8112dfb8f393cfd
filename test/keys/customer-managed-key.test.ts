import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { CustomerManagedKey, CustomerManagedKeyProps, KeyOperation } from '../../src';
import { checkCompliance, describeFindings } from '../support/compliance';

const ENV = { account: '111111111111', region: 'eu-west-1' };
/** The role CloudFormation deploys with, for keys the account does not administer. */
const DEPLOYER = new iam.ArnPrincipal('arn:aws:iam::111111111111:role/deployer');

interface Fixture {
  readonly app: App;
  readonly stack: Stack;
  readonly admin: iam.Role;
  readonly user: iam.Role;
}

function fixture(): Fixture {
  const app = new App();
  const stack = new Stack(app, 'Keys', { env: ENV });
  const admin = new iam.Role(stack, 'Admin', { assumedBy: new iam.AccountRootPrincipal() });
  const user = new iam.Role(stack, 'User', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  return { app, stack, admin, user };
}

type Statement = { Sid: string; Effect: string; Action: string | string[]; Principal: unknown; Condition?: Record<string, Record<string, unknown>> };

function statements(stack: Stack): Statement[] {
  const keys = Template.fromStack(stack).findResources('AWS::KMS::Key');
  const [key] = Object.values(keys);
  return key.Properties.KeyPolicy.Statement as Statement[];
}

function bySid(stack: Stack, sid: string): Statement {
  const found = statements(stack).find(s => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid} in ${statements(stack).map(s => s.Sid).join(', ')}`);
  return found;
}

const asArray = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

const ACCOUNT_ROOT = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::111111111111:root']] };
const roleArn = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });

describe('CustomerManagedKey defaults', () => {
  test('snapshot of the default key', () => {
    const { stack } = fixture();
    new CustomerManagedKey(stack, 'Key');
    expect(Template.fromStack(stack).findResources('AWS::KMS::Key')).toMatchSnapshot();
  });

  test('rotation on, 30-day pending window, retained, symmetric encrypt/decrypt', () => {
    const { stack } = fixture();
    new CustomerManagedKey(stack, 'Key', { alias: 'payments', description: 'Payments' });
    const t = Template.fromStack(stack);
    t.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        EnableKeyRotation: true,
        PendingWindowInDays: 30,
        Description: 'Payments',
        KeySpec: 'SYMMETRIC_DEFAULT',
        KeyUsage: 'ENCRYPT_DECRYPT',
      }),
    });
    t.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/payments' });
  });

  test('the account root administers the key and never uses it', () => {
    const { stack } = fixture();
    new CustomerManagedKey(stack, 'Key');
    const all = statements(stack);
    expect(all).toHaveLength(1);
    const account = all[0];
    expect(account).toMatchObject({ Sid: 'AccountAdministersKey', Effect: 'Allow', Principal: { AWS: ACCOUNT_ROOT }, Resource: '*' });
    const actions = asArray(account.Action);
    expect(actions).toEqual(expect.arrayContaining(['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion', 'kms:DescribeKey', 'kms:TagResource', 'kms:RotateKeyOnDemand', 'kms:CreateAlias']));
    for (const forbidden of ['kms:*', 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:CreateGrant', 'kms:ReEncryptFrom', 'kms:Sign', 'kms:GenerateMac', 'kms:ReplicateKey']) {
      expect(actions).not.toContain(forbidden);
    }
  });
});

describe('roles', () => {
  test('administrators manage and are explicitly denied every cryptographic action', () => {
    const { stack, admin } = fixture();
    new CustomerManagedKey(stack, 'Key', { administrators: [admin] });
    const allow = bySid(stack, 'AdministratorsManageKey');
    expect(allow).toMatchObject({ Effect: 'Allow', Principal: { AWS: roleArn('AdminC75D2A91') } });
    expect(asArray(allow.Action)).toContain('kms:PutKeyPolicy');
    expect(asArray(allow.Action).some(a => ['kms:Decrypt', 'kms:Encrypt', 'kms:CreateGrant', 'kms:Sign', 'kms:GenerateMac'].includes(a))).toBe(false);
    const deny = bySid(stack, 'AdministratorsNeverUseKey');
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: { AWS: roleArn('AdminC75D2A91') }, Resource: '*' });
    expect(asArray(deny.Action).sort()).toEqual([
      'kms:CreateGrant', 'kms:Decrypt', 'kms:DeriveSharedSecret', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyPair',
      'kms:GenerateDataKeyPairWithoutPlaintext', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:GenerateMac', 'kms:GetPublicKey', 'kms:ReEncryptFrom',
      'kms:ReEncryptTo', 'kms:Sign', 'kms:Verify', 'kms:VerifyMac',
    ]);
  });

  test('multi-Region keys add ReplicateKey and UpdatePrimaryRegion for administrators only', () => {
    const { stack, admin } = fixture();
    new CustomerManagedKey(stack, 'Key', { administrators: [admin], multiRegion: true });
    expect(asArray(bySid(stack, 'AdministratorsManageKey').Action)).toEqual(expect.arrayContaining(['kms:ReplicateKey', 'kms:UpdatePrimaryRegion']));
    expect(asArray(bySid(stack, 'AccountAdministersKey').Action)).toEqual(expect.arrayContaining(['kms:ReplicateKey']));
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', { MultiRegion: true });
  });

  test('users use the key and are explicitly denied its management', () => {
    const { stack, user } = fixture();
    new CustomerManagedKey(stack, 'Key', { users: [user] });
    const use = bySid(stack, 'UsersUseKey');
    expect(use.Principal).toEqual({ AWS: roleArn('User00B015A1') });
    expect(asArray(use.Action)).toEqual([
      'kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyPair', 'kms:GenerateDataKeyPairWithoutPlaintext',
      'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo',
    ]);
    expect(use.Condition).toBeUndefined();
    const deny = bySid(stack, 'UsersNeverManageKey');
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: { AWS: roleArn('User00B015A1') } });
    expect(asArray(deny.Action)).toEqual(expect.arrayContaining(['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:UpdateAlias']));
    expect(asArray(deny.Action)).not.toContain('kms:DescribeKey');
  });

  test('encryptors only encrypt, decryptors only decrypt', () => {
    const { stack, user } = fixture();
    const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    new CustomerManagedKey(stack, 'Key', { encryptors: [user], decryptors: [reader] });
    const all = statements(stack).filter(s => s.Effect === 'Allow' && s.Sid.startsWith('UsersUseKey'));
    const forUser = all.find(s => JSON.stringify(s.Principal).includes('User00B015A1'))!;
    const forReader = all.find(s => JSON.stringify(s.Principal).includes('Reader'))!;
    expect(asArray(forUser.Action)).toContain('kms:Encrypt');
    expect(asArray(forUser.Action)).not.toContain('kms:Decrypt');
    expect(asArray(forReader.Action)).toEqual(['kms:Decrypt', 'kms:DescribeKey', 'kms:ReEncryptFrom']);
  });

  test('HMAC and signing keys give their users the right operations', () => {
    const { stack, user } = fixture();
    new CustomerManagedKey(stack, 'Mac', { keySpec: kms.KeySpec.HMAC_256, keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC, users: [user] });
    const stack2 = new Stack(new App(), 'Sign', { env: ENV });
    const signer = new iam.Role(stack2, 'Signer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    new CustomerManagedKey(stack2, 'Sign', { keySpec: kms.KeySpec.ECC_NIST_P256, keyUsage: kms.KeyUsage.SIGN_VERIFY, users: [signer] });
    expect(asArray(bySid(stack, 'UsersUseKey').Action)).toEqual(['kms:DescribeKey', 'kms:GenerateMac', 'kms:VerifyMac']);
    expect(asArray(bySid(stack2, 'UsersUseKey').Action)).toEqual(['kms:DescribeKey', 'kms:GetPublicKey', 'kms:Sign', 'kms:Verify']);
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: false, KeySpec: 'HMAC_256' });
  });

  test('service users create grants only for AWS resources', () => {
    const { stack, user } = fixture();
    new CustomerManagedKey(stack, 'Key', { serviceUsers: [user] });
    expect(bySid(stack, 'ServiceUsersCreateGrantsForAwsResources')).toMatchObject({
      Effect: 'Allow',
      Action: ['kms:CreateGrant', 'kms:ListGrants'],
      Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    });
  });

  test('key-level narrowing: via service, caller account and required encryption-context keys', () => {
    const { stack, user } = fixture();
    new CustomerManagedKey(stack, 'Key', {
      users: [user],
      viaServices: ['secretsmanager', 's3.eu-west-1.amazonaws.com'],
      callerAccounts: ['111111111111'],
      requiredEncryptionContextKeys: ['tenant'],
    });
    expect(bySid(stack, 'UsersUseKey').Condition).toEqual({
      StringEquals: {
        'kms:ViaService': ['secretsmanager.eu-west-1.amazonaws.com', 's3.eu-west-1.amazonaws.com'],
        'kms:CallerAccount': '111111111111',
      },
      Null: { 'kms:EncryptionContext:tenant': 'false' },
    });
    expect(asArray(bySid(stack, 'UsersUseKey').Action)).not.toContain('kms:DescribeKey');
    // DescribeKey takes no encryption context, so only the service and account narrow it.
    expect(bySid(stack, 'UsersUseKeyWithoutContext').Action).toEqual('kms:DescribeKey');
    expect(bySid(stack, 'UsersUseKeyWithoutContext').Condition).toEqual({
      StringEquals: {
        'kms:ViaService': ['secretsmanager.eu-west-1.amazonaws.com', 's3.eu-west-1.amazonaws.com'],
        'kms:CallerAccount': '111111111111',
      },
    });
  });

  test('allowAccountToAdminister: false leaves only the named administrators', () => {
    const { stack, admin } = fixture();
    new CustomerManagedKey(stack, 'Key', { administrators: [admin], allowAccountToAdminister: false, deploymentRole: DEPLOYER });
    expect(statements(stack).map(s => s.Sid)).toEqual(['AdministratorsManageKey', 'AdministratorsNeverUseKey']);
  });
});

describe('grants', () => {
  test('grantUse with options narrows by service, context and account', () => {
    const { stack, user } = fixture();
    const key = new CustomerManagedKey(stack, 'Key');
    key.grantUse(user, { operations: [KeyOperation.DECRYPT], viaService: 'secretsmanager', encryptionContext: { SecretARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:db' }, callerAccount: '111111111111' });
    expect(bySid(stack, 'UsersUseKey')).toMatchObject({
      Action: ['kms:Decrypt', 'kms:ReEncryptFrom'],
      Principal: { AWS: roleArn('User00B015A1') },
      Condition: {
        StringEquals: {
          'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com',
          'kms:CallerAccount': '111111111111',
          'kms:EncryptionContext:SecretARN': 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:db',
        },
      },
    });
  });

  test('grantGenerateDataKey gives GenerateDataKey only, with the context', () => {
    const { stack, user } = fixture();
    const key = new CustomerManagedKey(stack, 'Key');
    key.grantGenerateDataKey(user, { encryptionContext: { tenant: 'acme' } });
    expect(bySid(stack, 'UsersUseKey')).toMatchObject({
      Action: 'kms:GenerateDataKey',
      Condition: { StringEquals: { 'kms:EncryptionContext:tenant': 'acme' } },
    });
  });

  test('a listed user is denied management; a grantee is only added to the Allow (policy size)', () => {
    const { stack, user } = fixture();
    const grantee = new iam.Role(stack, 'Grantee', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    const key = new CustomerManagedKey(stack, 'Key', { users: [user] });
    key.grantDecrypt(grantee);
    expect(bySid(stack, 'UsersNeverManageKey').Principal).toEqual({ AWS: roleArn('User00B015A1') });
  });

  test('hundreds of grantees with the same grant share one statement', () => {
    const { stack } = fixture();
    const key = new CustomerManagedKey(stack, 'Key');
    for (let i = 0; i < 300; i++) {
      key.grantDecrypt(new iam.ArnPrincipal(`arn:aws:iam::111111111111:role/app-${i}`));
    }
    const decrypt = bySid(stack, 'UsersUseKey');
    expect((decrypt.Principal as { AWS: string[] }).AWS).toHaveLength(300);
    expect(statements(stack)).toHaveLength(2); // account admin, and the one merged grant statement
    expect(key.estimatedPolicySize()).toBeLessThan(32 * 1024);
  });

  test('bucket.grantRead goes through the key (IKey integration) and lands in the key policy', () => {
    const { stack, user } = fixture();
    const key = new CustomerManagedKey(stack, 'Key');
    const bucket = new s3.Bucket(stack, 'Bucket', { encryptionKey: key });
    bucket.grantRead(user);
    const use = bySid(stack, 'UsersUseKey');
    expect(use.Principal).toEqual({ AWS: roleArn('User00B015A1') });
    expect(asArray(use.Action)).toContain('kms:Decrypt');
    expect(asArray(use.Action)).not.toContain('kms:Encrypt');
  });

  test('a queue encrypted with the key (aws-cdk-lib takes it as kms.IKey)', () => {
    const { stack, user } = fixture();
    const key = new CustomerManagedKey(stack, 'Key');
    const queue = new sqs.Queue(stack, 'Queue', { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key });
    queue.grantSendMessages(user);
    Template.fromStack(stack).hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Key'), 'Arn'] } });
    expect(asArray(bySid(stack, 'UsersUseKey').Action)).toEqual(expect.arrayContaining(['kms:Encrypt', 'kms:GenerateDataKey']));
  });

  test('a grant from aws-cdk-lib KeyGrants (key.grants) goes through grantDecrypt: the same statement', () => {
    const { stack, user } = fixture();
    const key = new CustomerManagedKey(stack, 'Key');
    key.grants.decrypt(user);
    expect(bySid(stack, 'UsersUseKey')).toMatchObject({ Principal: { AWS: roleArn('User00B015A1') }, Action: ['kms:Decrypt', 'kms:ReEncryptFrom'] });
  });

  test('a grantee in another stack with viaService: account delegation plus identity policy, no cycle', () => {
    const app = new App();
    const keys = new Stack(app, 'Keys', { env: ENV });
    const apps = new Stack(app, 'Apps', { env: ENV });
    const key = new CustomerManagedKey(keys, 'Key');
    const role = new iam.Role(apps, 'Consumer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    key.grantUse(role, { operations: [KeyOperation.DECRYPT], viaService: 'secretsmanager' });
    const delegation = bySid(keys, 'AccountUsesKeyOnlyViaService');
    expect(delegation).toMatchObject({
      Principal: { AWS: ACCOUNT_ROOT },
      Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com', 'kms:CallerAccount': '111111111111' } },
    });
    Template.fromStack(apps).hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['kms:Decrypt', 'kms:ReEncryptFrom'], Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } } })]) },
    });
    // The identity half is a customer-managed policy, never an inline one.
    Template.fromStack(apps).resourceCountIs('AWS::IAM::Policy', 0);
    expect(keys.dependencies).toHaveLength(0);
    expect(() => app.synth()).not.toThrow();
  });

  test('a grantee in a stack that depends on the key stack, without viaService, is a clear error', () => {
    const app = new App();
    const keys = new Stack(app, 'Keys', { env: ENV });
    const apps = new Stack(app, 'Apps', { env: ENV });
    apps.addDependency(keys);
    const key = new CustomerManagedKey(keys, 'Key');
    const role = new iam.Role(apps, 'Consumer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    expect(() => key.grantDecrypt(role)).toThrow(/dependency cycle.*Fix: Pass `viaService`/);
  });

  test('grantAdmin makes a named administrator; an administrator cannot then be granted use', () => {
    const { stack, admin } = fixture();
    const key = new CustomerManagedKey(stack, 'Key');
    key.grantAdmin(admin);
    expect(bySid(stack, 'AdministratorsNeverUseKey').Principal).toEqual({ AWS: roleArn('AdminC75D2A91') });
    expect(() => key.grantDecrypt(admin)).toThrow(/both an administrator .* and a user/);
  });
});

describe('bad configurations fail at synth time with the property and the fix', () => {
  const cases: Array<[string, (f: Fixture) => void, RegExp]> = [
    ['lockout: no account administration and no administrators', f => new CustomerManagedKey(f.stack, 'Key', { allowAccountToAdminister: false }),
      /CustomerManagedKey\.allowAccountToAdminister: is false and `administrators` is empty.*lockout.*Fix: Name at least one principal/],
    ['a principal both administrator and user', f => new CustomerManagedKey(f.stack, 'Key', { administrators: [f.admin], users: [f.admin] }),
      /is both an administrator .* and a user .*Use two different principals/],
    ['a principal both administrator and decryptor', f => new CustomerManagedKey(f.stack, 'Key', { administrators: [f.user], decryptors: [f.user] }),
      /is both an administrator/],
    ['the account root as an administrator', f => new CustomerManagedKey(f.stack, 'Key', { administrators: [new iam.AccountRootPrincipal()] }),
      /CustomerManagedKey\.administrators: must list named IAM principals.*allowAccountToAdminister/],
    ['the account root as a user', f => new CustomerManagedKey(f.stack, 'Key', { users: [new iam.AccountRootPrincipal()] }),
      /CustomerManagedKey\.users: must list named IAM principals/],
    ['Principal "*" without an account or organization condition', f => new CustomerManagedKey(f.stack, 'Key').addToResourcePolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], principals: [new iam.AnyPrincipal()], resources: ['*'] })),
      /addToResourcePolicy: A key-policy statement allows Principal "\*" without a positive, literal account or organization bound.*aws:PrincipalOrgID/],
    ['a statement allowing kms:*', f => new CustomerManagedKey(f.stack, 'Key').addToResourcePolicy(new iam.PolicyStatement({ actions: ['kms:*'], principals: [f.user], resources: ['*'] })),
      /addToResourcePolicy: A key-policy statement allows kms:\*, which covers both management actions .* and usage actions/],
    ['a statement mixing management and use', f => new CustomerManagedKey(f.stack, 'Key').grant(f.user, 'kms:Decrypt', 'kms:PutKeyPolicy'),
      /CustomerManagedKey\.grant\.actions: kms:Decrypt, kms:PutKeyPolicy covers both management actions/],
    ['rotation period below 90 days', f => new CustomerManagedKey(f.stack, 'Key', { rotationPeriod: Duration.days(30) }),
      /CustomerManagedKey\.rotationPeriod: 30 days is outside the 90-2560 days.*Fix: Use a Duration between Duration.days\(90\)/],
    ['rotation period above 2560 days', f => new CustomerManagedKey(f.stack, 'Key', { rotationPeriod: Duration.days(3000) }),
      /rotationPeriod: 3000 days is outside/],
    ['pending window of 5 days', f => new CustomerManagedKey(f.stack, 'Key', { pendingWindow: Duration.days(5) }),
      /CustomerManagedKey\.pendingWindow: 5 days is outside the 7-30 days/],
    ['pending window of 31 days', f => new CustomerManagedKey(f.stack, 'Key', { pendingWindow: Duration.days(31) }),
      /pendingWindow: 31 days is outside/],
    ['rotation on an asymmetric key', f => new CustomerManagedKey(f.stack, 'Key', { keySpec: kms.KeySpec.RSA_2048, keyUsage: kms.KeyUsage.SIGN_VERIFY, enableKeyRotation: true }),
      /enableKeyRotation: KMS cannot rotate asymmetric keys \(RSA_2048\)/],
    ['rotation on an HMAC key', f => new CustomerManagedKey(f.stack, 'Key', { keySpec: kms.KeySpec.HMAC_256, keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC, enableKeyRotation: true }),
      /KMS cannot rotate HMAC keys/],
    ['a key usage that does not match the key spec', f => new CustomerManagedKey(f.stack, 'Key', { keySpec: kms.KeySpec.HMAC_256 }),
      /CustomerManagedKey\.keyUsage: ENCRYPT_DECRYPT is not possible with key spec HMAC_256.*Fix: For ENCRYPT_DECRYPT use one of SYMMETRIC_DEFAULT/],
    ['a reserved alias', f => new CustomerManagedKey(f.stack, 'Key', { alias: 'aws/secretsmanager' }),
      /alias: 'aws\/secretsmanager' is not a valid customer alias/],
    ['an operation the key usage does not support', f => new CustomerManagedKey(f.stack, 'Key').grantUse(f.user, { operations: [KeyOperation.SIGN] }),
      /grantUse\.operations: SIGN is not possible with a ENCRYPT_DECRYPT key/],
    ['an empty operation list', f => new CustomerManagedKey(f.stack, 'Key').grantUse(f.user, { operations: [] }),
      /operations: is empty/],
    ['an empty encryption context', f => new CustomerManagedKey(f.stack, 'Key').grantGenerateDataKey(f.user, { encryptionContext: {} }),
      /encryptionContext: is empty/],
    ['a grant through a service outside viaServices', f => new CustomerManagedKey(f.stack, 'Key', { viaServices: ['secretsmanager'] }).grantUse(f.user, { operations: [KeyOperation.DECRYPT], viaService: 's3' }),
      /viaService: 's3' is not one of the key's `viaServices`/],
    ['an account-wide usage grant without a service', f => new CustomerManagedKey(f.stack, 'Key').grantDecrypt(new iam.AccountRootPrincipal()),
      /would let every principal of the account use this key directly.*viaService/],
    ['account-wide use through Principal "*" bounded only by an account', f => new CustomerManagedKey(f.stack, 'Key').grantUse(new iam.AnyPrincipal(), { operations: [KeyOperation.DECRYPT], callerAccount: '111111111111' }),
      /would let every principal of the account use this key directly/],
    ['rotation period on a key that does not rotate', f => new CustomerManagedKey(f.stack, 'Key', { enableKeyRotation: false, rotationPeriod: Duration.days(365) }),
      /rotationPeriod: is set but the key does not rotate/],
  ];

  test.each(cases)('%s', (_name, build, message) => {
    const f = fixture();
    expect(() => build(f)).toThrow(message);
  });

  test('a key policy over 32 KB fails validation at synth', () => {
    const { app, stack } = fixture();
    const key = new CustomerManagedKey(stack, 'Key');
    for (let i = 0; i < 400; i++) {
      // Distinct contexts keep these statements from merging.
      key.grantGenerateDataKey(new iam.ArnPrincipal(`arn:aws:iam::111111111111:role/tenant-${i}`), { encryptionContext: { tenant: `tenant-${i}` } });
    }
    expect(() => app.synth()).toThrow(/key policy is about \d+ bytes, over the 32768-byte KMS limit/);
  });
});

describe('compliance: zero findings from the four nag packs and cfn-lint', () => {
  const optionSets: Array<[string, (f: Fixture) => CustomerManagedKeyProps]> = [
    ['default', () => ({})],
    ['administrators and users', f => ({ administrators: [f.admin], users: [f.user], alias: 'payments' })],
    ['narrowed, account not administering', f => ({ administrators: [f.admin], users: [f.user], allowAccountToAdminister: false, deploymentRole: DEPLOYER, viaServices: ['secretsmanager'], callerAccounts: [ENV.account], requiredEncryptionContextKeys: ['tenant'] })],
    ['multi-Region with a custom rotation period', f => ({ administrators: [f.admin], multiRegion: true, rotationPeriod: Duration.days(180) })],
    ['HMAC key', f => ({ keySpec: kms.KeySpec.HMAC_256, keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC, users: [f.user] })],
    ['signing key', f => ({ keySpec: kms.KeySpec.ECC_NIST_P256, keyUsage: kms.KeyUsage.SIGN_VERIFY, users: [f.user], removalPolicy: RemovalPolicy.RETAIN })],
  ];

  test.each(optionSets)('%s', (_name, props) => {
    const f = fixture();
    new CustomerManagedKey(f.stack, 'Key', props(f));
    const report = checkCompliance(f.stack);
    expect(describeFindings(report.all)).toBe('');
  });
});
