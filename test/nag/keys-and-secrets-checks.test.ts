import { App, CfnParameter, Duration, SecretValue, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CustomerManagedKey, DatabaseEngine, KeysAndSecretsChecks, ManagedSecret, Rotation, RotationSchedule } from '../../src';

const ENV = { account: '111111111111', region: 'eu-west-1' };

function stack(): Stack {
  return new Stack(new App(), 'Nag', { env: ENV });
}

function violations(s: Stack, props?: { maxRotationDays?: number }): string[] {
  const report = new KeysAndSecretsChecks(undefined, props).validateScope(s);
  return [...new Set(report.violations.map(v => v.ruleName))].sort();
}

const fn = (s: Stack, id: string, environment?: Record<string, string>) => new lambda.Function(s, id, {
  runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {}'), environment,
});

const rawKey = (s: Stack, statements: unknown[], extra: Partial<kms.CfnKeyProps> = {}) => new kms.CfnKey(s, 'Key', {
  enableKeyRotation: true,
  keyPolicy: { Version: '2012-10-17', Statement: statements },
  ...extra,
});
const ADMIN = { Sid: 'Admin', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:role/admin' }, Action: ['kms:PutKeyPolicy', 'kms:DescribeKey'], Resource: '*' };
const rotatedSecret = (s: Stack, after = Duration.days(30)) => {
  const vpc = ec2.Vpc.fromVpcAttributes(s, 'Vpc', { vpcId: 'vpc-1', availabilityZones: ['eu-west-1a'], privateSubnetIds: ['subnet-1'] });
  return new ManagedSecret(s, 'Db', { credentials: { engine: DatabaseEngine.POSTGRES, host: 'h', username: 'app' }, rotation: Rotation.postgresSingleUser({ vpc, schedule: RotationSchedule.after(after) }) });
};

/** One compliant and one non-compliant fixture per rule. */
const RULES: Array<[string, (s: Stack) => void, (s: Stack) => void]> = [
  ['KeysAndSecrets-KMS1',
    s => new CustomerManagedKey(s, 'Key'),
    s => new kms.Key(s, 'Key', { enableKeyRotation: true })],
  ['KeysAndSecrets-KMS2',
    s => rawKey(s, [ADMIN, { Sid: 'Use', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:role/app' }, Action: 'kms:Decrypt', Resource: '*' }]),
    s => rawKey(s, [ADMIN, { Sid: 'Use', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:role/admin' }, Action: 'kms:Decrypt', Resource: '*' }])],
  ['KeysAndSecrets-KMS3',
    s => rawKey(s, [ADMIN, { Sid: 'Org', Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' } } }]),
    s => rawKey(s, [ADMIN, { Sid: 'Anyone', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:Decrypt', Resource: '*' }])],
  ['KeysAndSecrets-KMS4',
    s => rawKey(s, [ADMIN]),
    s => rawKey(s, [{ Sid: 'Use', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:role/app' }, Action: 'kms:Decrypt', Resource: '*' }])],
  ['KeysAndSecrets-KMS5',
    s => rawKey(s, [ADMIN]),
    s => rawKey(s, [ADMIN], { enableKeyRotation: false })],
  ['KeysAndSecrets-SM1',
    s => rotatedSecret(s),
    s => new secretsmanager.Secret(s, 'Plain')],
  ['KeysAndSecrets-SM2',
    s => rotatedSecret(s, Duration.days(90)),
    s => rotatedSecret(s, Duration.days(180))],
  ['KeysAndSecrets-SM3',
    s => fn(s, 'Fn', {
      DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:db-AbCdEf',
      API_TOKEN_PARAM: '/app/token',
      LOG_LEVEL: 'debug',
      PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL: 'info',
      SECRETS_MANAGER_TTL: '300',
    }),
    s => fn(s, 'Fn', { DB_PASSWORD: 'hunter2-correct-horse' })],
  ['KeysAndSecrets-IAM1',
    s => new iam.Role(s, 'R', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), inlinePolicies: { p: new iam.PolicyDocument({ statements: [new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: ['arn:aws:secretsmanager:eu-west-1:111111111111:secret:db-AbCdEf'] })] }) } }),
    s => new iam.ManagedPolicy(s, 'P', { statements: [new iam.PolicyStatement({ actions: ['kms:*'], resources: ['*'] })] })],
  ['KeysAndSecrets-LAMBDA1',
    s => fn(s, 'Fn').addPermission('Sm', { principal: new iam.ServicePrincipal('secretsmanager.amazonaws.com'), sourceAccount: '111111111111' }),
    s => fn(s, 'Fn').addPermission('Sm', { principal: new iam.ServicePrincipal('secretsmanager.amazonaws.com') })],
  ['KeysAndSecrets-SM4',
    s => new secretsmanager.CfnResourcePolicy(s, 'P', { secretId: 'x', blockPublicPolicy: true, resourcePolicy: { Statement: [] } }),
    s => new secretsmanager.CfnResourcePolicy(s, 'P', { secretId: 'x', resourcePolicy: { Statement: [] } })],
];

describe('KeysAndSecretsChecks: one compliant and one non-compliant fixture per rule', () => {
  test('the pack has the 11 rules the fixtures cover', () => {
    expect(new KeysAndSecretsChecks().ruleIdsOfPack.sort()).toEqual(RULES.map(r => r[0]).sort());
  });

  test.each(RULES)('%s', (rule, compliant, nonCompliant) => {
    const good = stack();
    compliant(good);
    expect(violations(good)).not.toContain(rule);
    const bad = stack();
    nonCompliant(bad);
    expect(violations(bad)).toContain(rule);
  });

  test('SM3 also reads ECS task definitions and literal SecretStrings', () => {
    const s = stack();
    const task = new ecs.FargateTaskDefinition(s, 'Task');
    task.addContainer('app', { image: ecs.ContainerImage.fromRegistry('app'), environment: { API_KEY: 'sk_live_1234567890' } });
    expect(violations(s)).toContain('KeysAndSecrets-SM3');
    const s2 = stack();
    new secretsmanager.CfnSecret(s2, 'Literal', { secretString: 'hunter2', kmsKeyId: 'arn:aws:kms:eu-west-1:111111111111:key/1' });
    expect(violations(s2)).toContain('KeysAndSecrets-SM3');
    const s3 = stack();
    new ManagedSecret(s3, 'FromParam', { secretValue: SecretValue.cfnParameter(new CfnParameter(s3, 'P', { noEcho: true })) });
    expect(violations(s3)).not.toContain('KeysAndSecrets-SM3');
  });

  test('the rotation limit is configurable', () => {
    const s = stack();
    rotatedSecret(s, Duration.days(30));
    expect(violations(s, { maxRotationDays: 14 })).toContain('KeysAndSecrets-SM2');
    expect(violations(s, { maxRotationDays: 30 })).not.toContain('KeysAndSecrets-SM2');
    expect(() => new KeysAndSecretsChecks(undefined, { maxRotationDays: 0 })).toThrow(/KeysAndSecretsChecks\.maxRotationDays: 0 is outside 1-1000/);
  });

  test('every finding says what it found and how to fix it', () => {
    const s = stack();
    new kms.Key(s, 'Key');
    const [v] = new KeysAndSecretsChecks().validateScope(s).violations;
    expect(v.description).toMatch(/kms:\*/);
    expect(v.description).toMatch(/Fix: grant administrators the management actions/);
  });
});

describe('why this library exists: the pack on aws-cdk-lib defaults', () => {
  test('kms.Key + Secret + HostedRotation is flagged for kms:*, the root as admin and user, and no CMK-scoped secret policy', () => {
    const s = stack();
    const vpc = ec2.Vpc.fromVpcAttributes(s, 'Vpc', { vpcId: 'vpc-1', availabilityZones: ['eu-west-1a'], privateSubnetIds: ['subnet-1'] });
    const key = new kms.Key(s, 'Key');
    const secret = new secretsmanager.Secret(s, 'Secret', { encryptionKey: key });
    secret.addRotationSchedule('Rotation', { hostedRotation: secretsmanager.HostedRotation.postgreSqlSingleUser({ vpc }) });
    new secretsmanager.Secret(s, 'Default');
    expect(violations(s)).toEqual([
      'KeysAndSecrets-KMS1', // the account root gets kms:*
      'KeysAndSecrets-KMS2', // ... so it is both administrator and user
      'KeysAndSecrets-KMS5', // kms.Key does not rotate by default
      'KeysAndSecrets-SM1', // a Secret without encryptionKey uses aws/secretsmanager
      'KeysAndSecrets-SM2', // ... and has no rotation
      'KeysAndSecrets-SM4', // the resource policy HostedRotation adds does not block public policies
    ]);
  });

  test('our constructs in their default configuration pass the pack', () => {
    const s = stack();
    rotatedSecret(s);
    new CustomerManagedKey(s, 'Other');
    expect(violations(s)).toEqual([]);
  });
});

describe('the pack judges hand-written key policies with the same normalizer as CustomerManagedKey', () => {
  const APP = 'arn:aws:iam::111111111111:role/app';
  test.each([
    ['KeysAndSecrets-KMS1', 'KMS:* in upper case', [ADMIN, { Effect: 'Allow', Principal: { AWS: APP }, Action: 'KMS:*', Resource: '*' }]],
    ['KeysAndSecrets-KMS1', 'a wildcard in the middle (kms:*Key*)', [ADMIN, { Effect: 'Allow', Principal: { AWS: APP }, Action: 'kms:*Key*', Resource: '*' }]],
    ['KeysAndSecrets-KMS1', 'NotAction in an Allow', [ADMIN, { Effect: 'Allow', Principal: { AWS: APP }, NotAction: 'kms:PutKeyPolicy', Resource: '*' }]],
    ['KeysAndSecrets-KMS2', 'one role written by path and in another case', [ADMIN, { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:role/ops/ADMIN' }, Action: 'kms:decrypt', Resource: '*' }]],
    ['KeysAndSecrets-KMS2', 'account-wide use "through a service" with StringNotEquals', [ADMIN, { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:root' }, Action: 'kms:Decrypt', Resource: '*', Condition: { StringNotEquals: { 'kms:ViaService': 'x' } } }, { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:root' }, Action: 'kms:PutKeyPolicy', Resource: '*' }]],
    ['KeysAndSecrets-KMS2', 'Principal "*" as administrator beside a user', [ADMIN, { Effect: 'Allow', Principal: '*', Action: 'kms:PutKeyPolicy', Resource: '*', Condition: { StringEquals: { 'aws:PrincipalAccount': '111111111111' } } }, { Effect: 'Allow', Principal: { AWS: APP }, Action: 'kms:Decrypt', Resource: '*' }]],
    ['KeysAndSecrets-KMS3', 'Principal "*" bounded by StringLike "*"', [ADMIN, { Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Resource: '*', Condition: { StringLike: { 'aws:PrincipalAccount': '*' } } }]],
    ['KeysAndSecrets-KMS3', 'Principal "*" bounded by StringNotEquals', [ADMIN, { Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:Decrypt', Resource: '*', Condition: { StringNotEquals: { 'aws:PrincipalAccount': '111111111111' } } }]],
    ['KeysAndSecrets-KMS4', 'a Deny of kms:Put* whose condition always holds', [ADMIN, { Effect: 'Deny', Principal: '*', Action: 'kms:Put*', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'true' } } }]],
  ])('%s: %s', (rule, _name, statements) => {
    const s = stack();
    rawKey(s, statements as unknown[]);
    expect(violations(s)).toContain(rule);
  });

  test('an override of a CustomerManagedKey\'s KeyPolicy is judged as deployed', () => {
    const s = stack();
    const key = new CustomerManagedKey(s, 'Cmk');
    (key.node.defaultChild as kms.CfnKey).addPropertyOverride('KeyPolicy', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*' }] });
    expect(violations(s)).toEqual(expect.arrayContaining(['KeysAndSecrets-KMS1', 'KeysAndSecrets-KMS3']));
  });
});
