/**
 * The storage key of an RDS database: RDS may create its grants and use the
 * key, through RDS only, for this account only; nothing else gets in.
 * Judged under IAM evaluation of the synthesized key policy.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import { AccountAccess, CustomerManagedKey } from '../../src';
import { allowPolicy, arnOf, CfnTemplate, keyPolicyOf, kmsRequestContext, logicalIdOf, simulate, TEST_STACK_ENV } from '../support/iam-eval';

const DEPLOYER = 'arn:aws:iam::111111111111:role/cdk-hnb659fds-cfn-exec-role-111111111111-eu-west-1';
const OTHER_ACCOUNT_ROLE = 'arn:aws:iam::222222222222:role/Attacker';

function postgresInstance(stack: Stack, key: CustomerManagedKey, extra: Partial<rds.DatabaseInstanceProps> = {}) {
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  return new rds.DatabaseInstance(stack, 'Db', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    storageEncryptionKey: key,
    credentials: rds.Credentials.fromPassword('master', { unsafeUnwrap: () => '{{resolve:ssm-secure:/x}}' } as never),
    ...extra,
  });
}

async function decide(template: CfnTemplate, key: CustomerManagedKey, action: string, principalArn: string, ctx: Record<string, string | string[]> = {}, via: string | null = 'rds') {
  return simulate({
    principalArn,
    action,
    resourceArn: arnOf(template, logicalIdOf(key)),
    resourcePolicy: keyPolicyOf(template, logicalIdOf(key)),
    // The caller's own IAM policy allows everything on KMS (an administrator, CloudFormation's execution role).
    identityPolicies: [allowPolicy('kms:*')],
    context: { ...kmsRequestContext({ principalArn, viaService: via ?? undefined }), ...ctx },
  });
}

const GRANT_FOR_RESOURCE = { 'kms:GrantIsForAWSResource': 'true' };
/** The request context KMS sends with an action: GrantIsForAWSResource only on CreateGrant. */
const ctxFor = (action: string, ctx: Record<string, string> = {}) => action === 'kms:CreateGrant' ? { ...GRANT_FOR_RESOURCE, ...ctx } : ctx;

describe('a CustomerManagedKey as the storage key of rds.DatabaseInstance (drop-in, no call needed)', () => {
  const stack = new Stack(new App(), 'Storage', { env: TEST_STACK_ENV });
  const key = new CustomerManagedKey(stack, 'Key');
  postgresInstance(stack, key);
  const template = Template.fromStack(stack).toJSON() as CfnTemplate;

  test.each(['kms:CreateGrant', 'kms:DescribeKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:Decrypt', 'kms:Encrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey'])(
    'the deploying role, through RDS, may %s', async action => {
      expect(await decide(template, key, action, DEPLOYER, action === 'kms:CreateGrant' ? GRANT_FOR_RESOURCE : {})).toBe('Allowed');
    });

  test('CreateGrant without kms:GrantIsForAWSResource is refused, even through RDS', async () => {
    expect(await decide(template, key, 'kms:CreateGrant', DEPLOYER, { 'kms:GrantIsForAWSResource': 'false' })).not.toBe('Allowed');
    expect(await decide(template, key, 'kms:CreateGrant', DEPLOYER)).not.toBe('Allowed');
  });

  test.each(['kms:CreateGrant', 'kms:Decrypt', 'kms:GenerateDataKey'])('%s through another service (ec2, secretsmanager) or directly is refused', async action => {
    for (const via of ['ec2', 'secretsmanager', null]) {
      expect(await decide(template, key, action, DEPLOYER, ctxFor(action), via)).not.toBe('Allowed');
    }
  });

  // DescribeKey is left out: the account's administrators may describe the key anyway (AccountAdministersKey).
  test.each(['kms:CreateGrant', 'kms:Decrypt', 'kms:GenerateDataKey'])('%s from another account, even through RDS, is refused', async action => {
    expect(await decide(template, key, action, OTHER_ACCOUNT_ROLE, ctxFor(action))).not.toBe('Allowed');
    // A caller whose CallerAccount is another account: the condition must hold on its own.
    expect(await decide(template, key, action, DEPLOYER, ctxFor(action, { 'kms:CallerAccount': '222222222222' }))).not.toBe('Allowed');
  });

  test('no management action comes with it', () => {
    const statements = keyPolicyOf(template, logicalIdOf(key)).Statement.filter(s => /Storage|GrantsForAwsResourcesViaService/.test(s.Sid ?? ''));
    expect(statements).toHaveLength(2);
    for (const s of statements) for (const a of [s.Action].flat()) expect(['kms:CreateGrant', 'kms:DescribeKey', 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo']).toContain(a);
  });

  test('the statements are exactly: use through rds for this account, and CreateGrant only for AWS resources', () => {
    const statements = keyPolicyOf(template, logicalIdOf(key)).Statement;
    const use = statements.find(s => s.Sid === 'AccountEncryptsStorageViaService')!;
    expect(use.Action).toEqual(['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptFrom', 'kms:ReEncryptTo']);
    expect(use.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'rds.eu-west-1.amazonaws.com', 'kms:CallerAccount': '111111111111' } });
    const grant = statements.find(s => s.Sid === 'AccountCreatesGrantsForAwsResourcesViaService')!;
    expect(grant.Action).toBe('kms:CreateGrant');
    expect(grant.Condition).toEqual({
      StringEquals: { 'kms:ViaService': 'rds.eu-west-1.amazonaws.com', 'kms:CallerAccount': '111111111111' },
      Bool: { 'kms:GrantIsForAWSResource': 'true' },
    });
  });
});

test('a key no database uses gets no RDS statement', () => {
  const stack = new Stack(new App(), 'Plain', { env: TEST_STACK_ENV });
  const key = new CustomerManagedKey(stack, 'Key');
  const sids = keyPolicyOf(Template.fromStack(stack).toJSON() as CfnTemplate, logicalIdOf(key)).Statement.map(s => s.Sid);
  expect(sids).not.toContain('AccountEncryptsStorageViaService');
  expect(sids).not.toContain('AccountCreatesGrantsForAwsResourcesViaService');
});

test('a database in another stack of the app on the key is found too', () => {
  const app = new App();
  const keys = new Stack(app, 'Keys', { env: TEST_STACK_ENV });
  const key = new CustomerManagedKey(keys, 'Key');
  postgresInstance(new Stack(app, 'Data', { env: TEST_STACK_ENV }), key);
  const sids = keyPolicyOf(Template.fromStack(keys).toJSON() as CfnTemplate, logicalIdOf(key)).Statement.map(s => s.Sid);
  expect(sids).toContain('AccountCreatesGrantsForAwsResourcesViaService');
});

test('an Aurora cluster on the key (storage and Performance Insights) gets it once', () => {
  const stack = new Stack(new App(), 'Aurora', { env: TEST_STACK_ENV });
  const key = new CustomerManagedKey(stack, 'Key');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  new rds.DatabaseCluster(stack, 'Cluster', {
    engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    writer: rds.ClusterInstance.serverlessV2('Writer'),
    storageEncryptionKey: key,
  });
  key.allowStorageEncryptionBy('rds'); // explicit and found: still one statement each
  const sids = keyPolicyOf(Template.fromStack(stack).toJSON() as CfnTemplate, logicalIdOf(key)).Statement.map(s => s.Sid);
  expect(sids.filter(s => s === 'AccountCreatesGrantsForAwsResourcesViaService')).toHaveLength(1);
  expect(sids.filter(s => s === 'AccountEncryptsStorageViaService')).toHaveLength(1);
});

describe('allowStorageEncryptionBy: bad input and the role model', () => {
  test('a strict key (accountAccess NONE) needs named principals, and they become users', async () => {
    const stack = new Stack(new App(), 'Strict', { env: TEST_STACK_ENV });
    const deployer = iam.Role.fromRoleArn(stack, 'Deployer', DEPLOYER);
    const key = new CustomerManagedKey(stack, 'Key', { accountAccess: AccountAccess.NONE });
    expect(() => key.allowStorageEncryptionBy('rds')).toThrow(/allowStorageEncryptionBy.principals: is empty.*AccountAccess.NONE.*Fix: Name the principals/s);
    key.allowStorageEncryptionBy('rds', { principals: [deployer] });
    const template = Template.fromStack(stack).toJSON() as CfnTemplate;
    expect(await decide(template, key, 'kms:CreateGrant', DEPLOYER, GRANT_FOR_RESOURCE)).toBe('Allowed');
    expect(await decide(template, key, 'kms:CreateGrant', 'arn:aws:iam::111111111111:role/Other', GRANT_FOR_RESOURCE)).not.toBe('Allowed');
  });

  test('an administrator cannot be named: it would use the key', () => {
    const stack = new Stack(new App(), 'Admin', { env: TEST_STACK_ENV });
    const admin = iam.Role.fromRoleArn(stack, 'Admin', 'arn:aws:iam::111111111111:role/KeyAdmin');
    const key = new CustomerManagedKey(stack, 'Key', { administrators: [admin] });
    expect(() => key.allowStorageEncryptionBy('rds', { principals: [admin] })).toThrow(/both an administrator .* and a user/s);
  });

  test('a service that is not a name, and a key that is not symmetric, are refused', () => {
    const stack = new Stack(new App(), 'Bad', { env: TEST_STACK_ENV });
    const key = new CustomerManagedKey(stack, 'Key');
    expect(() => key.allowStorageEncryptionBy('rds:*')).toThrow(/allowStorageEncryptionBy.service: 'rds:\*' is not an AWS service name/);
    const hmac = new CustomerManagedKey(stack, 'Hmac', { keySpec: 'HMAC_256' as never, keyUsage: 'GENERATE_VERIFY_MAC' as never });
    expect(() => hmac.allowStorageEncryptionBy('rds')).toThrow(/symmetric ENCRYPT_DECRYPT/);
  });

  test('a key limited to other services (viaServices) refuses rds with the grant error', () => {
    const stack = new Stack(new App(), 'Narrow', { env: TEST_STACK_ENV });
    const key = new CustomerManagedKey(stack, 'Key', { viaServices: ['secretsmanager'] });
    expect(() => key.allowStorageEncryptionBy('rds')).toThrow(/viaService: 'rds' is not one of the key's `viaServices`/);
  });
});

test('a strict key (accountAccess NONE) under an RDS database without allowStorageEncryptionBy principals fails the synthesis with what to do', () => {
  const stack = new Stack(new App(), 'StrictDb', { env: TEST_STACK_ENV });
  const key = new CustomerManagedKey(stack, 'Key', { accountAccess: AccountAccess.NONE });
  postgresInstance(stack, key);
  expect(() => Template.fromStack(stack)).toThrow(/allowStorageEncryptionBy.principals: the key's accountAccess is AccountAccess.NONE, and StrictDb\/Db\/Resource use it through RDS.*Fix: Call key.allowStorageEncryptionBy\('rds', \{ principals/s);
  const ok = new Stack(new App(), 'StrictDbOk', { env: TEST_STACK_ENV });
  const okKey = new CustomerManagedKey(ok, 'Key', { accountAccess: AccountAccess.NONE });
  postgresInstance(ok, okKey);
  okKey.allowStorageEncryptionBy('rds', { principals: [iam.Role.fromRoleArn(ok, 'Deployer', DEPLOYER)] });
  expect(() => Template.fromStack(ok)).not.toThrow();
});
