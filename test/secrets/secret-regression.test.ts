/**
 * aws-cdk-lib's secretsmanager.Secret behaviour, restated in our words and
 * run on both Secret and ManagedSecret (issue #12). Each case asserts the
 * same behaviour, or the intended difference (README table).
 */
import { App, CfnParameter, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ManagedSecret } from '../../src';

type Make = (s: Stack, props?: secretsmanager.SecretProps) => secretsmanager.Secret;
const BASE: Make = (s, props) => new secretsmanager.Secret(s, 'Secret', props);
const OURS: Make = (s, props) => new ManagedSecret(s, 'Secret', props as never);
const KINDS: Array<[string, Make]> = [['secretsmanager.Secret', BASE], ['ManagedSecret', OURS]];
const ENV = { account: '111111111111', region: 'eu-west-1' };

function world(make: Make, props?: secretsmanager.SecretProps) {
  const stack = new Stack(new App(), 'S', { env: ENV });
  const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const secret = make(stack, props);
  return { stack, role, secret };
}

function secretResource(stack: Stack): Record<string, any> {
  return Object.values(Template.fromStack(stack).findResources('AWS::SecretsManager::Secret'))[0];
}

function identityText(stack: Stack): string {
  const t = Template.fromStack(stack);
  return JSON.stringify({ ...t.findResources('AWS::IAM::Policy'), ...t.findResources('AWS::IAM::ManagedPolicy') });
}

describe.each(KINDS)('%s: the same as Secret', (_name, make) => {
  test('secretName and description are passed through', () => {
    expect(secretResource(world(make, { secretName: 'app/db', description: 'd' }).stack).Properties).toMatchObject({ Name: 'app/db', Description: 'd' });
  });

  test('generateSecretString is honoured', () => {
    const w = world(make, { generateSecretString: { passwordLength: 48, excludePunctuation: true } });
    expect(secretResource(w.stack).Properties.GenerateSecretString).toMatchObject({ PasswordLength: 48, ExcludePunctuation: true });
  });

  test('a secretStringValue from a NoEcho parameter is the value', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    make(stack, { secretStringValue: SecretValue.cfnParameter(new CfnParameter(stack, 'V', { noEcho: true })) });
    expect(secretResource(stack).Properties.SecretString).toEqual({ Ref: 'V' });
  });

  test('grantRead gives GetSecretValue on exactly this secret', () => {
    const w = world(make);
    w.secret.grantRead(w.role);
    expect(identityText(w.stack)).toContain('secretsmanager:GetSecretValue');
  });

  test('secretValueFromJson is a dynamic reference', () => {
    const w = world(make);
    expect(w.stack.resolve(w.secret.secretValueFromJson('password').unsafeUnwrap())).toMatchObject({ 'Fn::Join': expect.anything() });
  });

  test('addRotationSchedule with a Lambda works', () => {
    const w = world(make);
    const fn = lambda.Function.fromFunctionArn(w.stack, 'Fn', 'arn:aws:lambda:eu-west-1:111111111111:function:rotate');
    w.secret.addRotationSchedule('Rotation', { rotationLambda: fn });
    expect(Object.keys(Template.fromStack(w.stack).findResources('AWS::SecretsManager::RotationSchedule'))).toHaveLength(1);
  });

  test('addToResourcePolicy and denyAccountRootDelete write the resource policy', () => {
    const w = world(make);
    w.secret.denyAccountRootDelete();
    expect(JSON.stringify(Template.fromStack(w.stack).findResources('AWS::SecretsManager::ResourcePolicy'))).toContain('secretsmanager:DeleteSecret');
  });
});

describe('intended differences of ManagedSecret', () => {
  test('encryption: Secret uses aws/secretsmanager; ManagedSecret a customer-managed key', () => {
    expect(secretResource(world(BASE).stack).Properties.KmsKeyId).toBeUndefined();
    expect(secretResource(world(OURS).stack).Properties.KmsKeyId).toBeDefined();
  });

  test('removal: Secret is deleted with the stack; ManagedSecret is retained (unless asked)', () => {
    expect(secretResource(world(BASE).stack).DeletionPolicy).toBe('Delete');
    expect(secretResource(world(OURS).stack).DeletionPolicy).toBe('Retain');
    expect(secretResource(world(OURS, { removalPolicy: RemovalPolicy.DESTROY }).stack).DeletionPolicy).toBe('Delete');
  });

  test('a plaintext value: accepted by Secret; refused by ManagedSecret with our error', () => {
    const v = { secretStringValue: SecretValue.unsafePlainText('hunter2') };
    expect(() => world(BASE, v)).not.toThrow();
    expect(() => world(OURS, v)).toThrow(/\[cdk-kms-secrets\] ManagedSecret\.secretValue: is plaintext/);
  });

  test('secretObjectValue: honoured by Secret; refused by ManagedSecret with our error', () => {
    const v = { secretObjectValue: { a: SecretValue.unsafePlainText('x') } };
    expect(() => world(BASE, v)).not.toThrow();
    expect(() => world(OURS, v)).toThrow(/\[cdk-kms-secrets\] ManagedSecret\.secretObjectValue:/);
  });

  test('grantWrite: Secret also allows UpdateSecret and UpdateSecretVersionStage; ManagedSecret only PutSecretValue (and DescribeSecret)', () => {
    const b = world(BASE);
    b.secret.grantWrite(b.role);
    expect(identityText(b.stack)).toContain('secretsmanager:UpdateSecret');
    const o = world(OURS);
    o.secret.grantWrite(o.role);
    expect(identityText(o.stack)).toContain('secretsmanager:PutSecretValue');
    expect(identityText(o.stack)).not.toContain('secretsmanager:UpdateSecret"');
  });

  test('grants: Secret writes the role\'s default (inline) policy; ManagedSecret one customer-managed policy per role', () => {
    const o = world(OURS);
    o.secret.grantRead(o.role);
    expect(Template.fromStack(o.stack).findResources('AWS::IAM::Policy')).toEqual({});
    expect(Object.keys(Template.fromStack(o.stack).findResources('AWS::IAM::ManagedPolicy')).length).toBeGreaterThan(0);
  });

  test('another account: Secret needs its key given and writes only the resource policy; ManagedSecret writes the resource and key policies and the identity policy document', () => {
    const o = world(OURS);
    const grant = o.secret.grantRead(new iam.AccountPrincipal('222222222222'));
    expect(grant.success).toBe(true);
    expect((o.secret as ManagedSecret).crossAccountIdentityPolicy('222222222222')).toBeDefined();
  });

  test('a resource policy that denies other accounts and blocks public policies, always', () => {
    const text = JSON.stringify(Template.fromStack(world(OURS).stack).findResources('AWS::SecretsManager::ResourcePolicy'));
    expect(text).toContain('DenyOtherAccounts');
    expect(text).toContain('"BlockPublicPolicy":true');
  });
});
