/**
 * Who can read a secret, in the default mode and in the strict mode
 * (`accountAccess: AccountAccess.NONE`), decided by IAM evaluation of the
 * identity policies, the secret's resource policy and the key policy.
 *
 * Default: the key lets the account use it through Secrets Manager (what
 * aws-cdk-lib's Secret writes), so any principal whose IAM policy allows
 * `secretsmanager:GetSecretValue` and `kms:Decrypt` (AdministratorAccess,
 * PowerUserAccess) reads every secret on the key.
 * Strict: only principals the key policy names, each for its own secrets.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { AccountAccess, CustomerManagedKey, CustomerManagedKeyProps, KeyOperation, ManagedSecret, Rotation, SecretGrants } from '../../src';
import {
  allowPolicy, arnOf, CfnResource, CfnTemplate, Decision, identityPoliciesOf, keyPolicyOf, kmsRequestContext, logicalIdOf, simulate, TEST_STACK_ENV,
} from '../support/iam-eval';

const ERROR_FORM = /^\[cdk-kms-secrets\] [A-Za-z.]+: .+ Fix: .+/s;
const ADMINISTRATOR_ACCESS = allowPolicy('*');
const RESOLVERS = {
  extraResolvers: {
    'AWS::IAM::Role': {
      ref: (id: string, r: CfnResource) => r.Properties?.RoleName ?? id,
      attributes: { Arn: (id: string, r: CfnResource) => `arn:aws:iam::111111111111:role/${r.Properties?.RoleName ?? id}` },
    },
    'AWS::SecretsManager::Secret': {
      ref: (id: string, r: CfnResource) => `arn:aws:secretsmanager:eu-west-1:111111111111:secret:${r.Properties?.Name ?? id}-AbCdEf`,
    },
  },
};
const secretArn = (name: string) => `arn:aws:secretsmanager:eu-west-1:111111111111:secret:${name}-AbCdEf`;

function world(props: Partial<CustomerManagedKeyProps>) {
  const stack = new Stack(new App(), 'Vault', { env: TEST_STACK_ENV });
  const admin = new iam.Role(stack, 'Admin', { roleName: 'key-admin', assumedBy: new iam.AccountRootPrincipal() });
  const reader = new iam.Role(stack, 'Reader', { roleName: 'reader', assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const key = new CustomerManagedKey(stack, 'Key', { administrators: [admin], ...props });
  const db = new ManagedSecret(stack, 'Db', { secretName: 'payments/db', encryptionKey: key });
  const other = new ManagedSecret(stack, 'Other', { secretName: 'payments/other', encryptionKey: key });
  db.grantRead(reader);
  return { stack, key, db, other, reader };
}

/** The Decrypt that Secrets Manager makes for `principalArn` reading `secret`. */
async function decryptThroughSecretsManager(w: ReturnType<typeof world>, principalArn: string, secret: string, identity: 'template' | 'admin'): Promise<Decision> {
  const template = Template.fromStack(w.stack).toJSON() as CfnTemplate;
  const identityPolicies = identity === 'admin' ? [ADMINISTRATOR_ACCESS] : identityPoliciesOf(template, logicalIdOf(w.reader), RESOLVERS);
  return simulate({
    principalArn,
    action: 'kms:Decrypt',
    resourceArn: arnOf(template, logicalIdOf(w.key)),
    resourcePolicy: keyPolicyOf(template, logicalIdOf(w.key), RESOLVERS),
    identityPolicies,
    context: kmsRequestContext({ principalArn, viaService: 'secretsmanager', encryptionContext: { SecretARN: secretArn(secret) } }),
  });
}

const ACCOUNT_ADMIN = 'arn:aws:iam::111111111111:role/ops-with-administrator-access';
const READER = 'arn:aws:iam::111111111111:role/reader';

describe('default (AccountAccess.VIA_SERVICES): the account reads through Secrets Manager', () => {
  test('any principal with AdministratorAccess can decrypt every secret on the key', async () => {
    const w = world({});
    expect(await decryptThroughSecretsManager(w, ACCOUNT_ADMIN, 'payments/db', 'admin')).toBe('Allowed');
    expect(await decryptThroughSecretsManager(w, ACCOUNT_ADMIN, 'payments/other', 'admin')).toBe('Allowed');
  });
});

describe('strict (AccountAccess.NONE): only principals the key policy names', () => {
  const deploymentRole = new iam.ArnPrincipal('arn:aws:iam::111111111111:role/deployer');

  test('the key policy delegates no use to the account', () => {
    const w = world({ accountAccess: AccountAccess.NONE, deploymentRole: undefined });
    const policy = JSON.stringify(keyPolicyOf(Template.fromStack(w.stack).toJSON() as CfnTemplate, logicalIdOf(w.key), RESOLVERS));
    expect(policy).not.toContain('AccountUsesKeyOnlyViaService');
    expect(policy).toContain('NamedPrincipalsUseKeyOnlyViaSecretsManager');
  });

  test('AdministratorAccess no longer reads any secret; the reader reads its own and no other', async () => {
    const w = world({ accountAccess: AccountAccess.NONE });
    expect(await decryptThroughSecretsManager(w, ACCOUNT_ADMIN, 'payments/db', 'admin')).toBe('ImplicitlyDenied');
    expect(await decryptThroughSecretsManager(w, READER, 'payments/db', 'template')).toBe('Allowed');
    expect(await decryptThroughSecretsManager(w, READER, 'payments/other', 'template')).toBe('ImplicitlyDenied');
    // Even with AdministratorAccess, the reader reaches only what the key policy names for it.
    expect(await decryptThroughSecretsManager(w, READER, 'payments/other', 'admin')).toBe('ImplicitlyDenied');
  });

  test('the deploying role may encrypt the secrets CloudFormation creates, through Secrets Manager only', async () => {
    const w = world({ accountAccess: AccountAccess.NONE, deploymentRole });
    const template = Template.fromStack(w.stack).toJSON() as CfnTemplate;
    const keyPolicy = keyPolicyOf(template, logicalIdOf(w.key), RESOLVERS);
    const deployer = 'arn:aws:iam::111111111111:role/deployer';
    const request = (viaService?: string) => simulate({
      principalArn: deployer,
      action: 'kms:GenerateDataKey',
      resourceArn: arnOf(template, logicalIdOf(w.key)),
      resourcePolicy: keyPolicy,
      identityPolicies: [ADMINISTRATOR_ACCESS],
      context: kmsRequestContext({ principalArn: deployer, viaService, encryptionContext: { SecretARN: secretArn('payments/db') } }),
    });
    expect(await request('secretsmanager')).toBe('Allowed');
    expect(await request(undefined)).toBe('ImplicitlyDenied');
  });

  test('the rotation function is named for the secrets it rotates', () => {
    const stack = new Stack(new App(), 'Vault', { env: TEST_STACK_ENV });
    const key = new CustomerManagedKey(stack, 'Key', { accountAccess: AccountAccess.NONE });
    const vpc = new ec2.Vpc(stack, 'Vpc');
    new ManagedSecret(stack, 'Db', {
      secretName: 'payments/db',
      encryptionKey: key,
      credentials: { username: 'app', engine: 'postgres', host: 'db.internal', port: 5432 } as never,
      rotation: Rotation.postgresSingleUser({ vpc }),
    });
    const policy = keyPolicyOf(Template.fromStack(stack).toJSON() as CfnTemplate, logicalIdOf(key), RESOLVERS);
    const named = policy.Statement.filter(s => s.Sid?.startsWith('NamedPrincipalsUseKeyOnlyViaSecretsManager'));
    expect(named.map(s => s.Condition?.StringLike?.['kms:EncryptionContext:SecretARN'])).toEqual(expect.arrayContaining(['arn:aws:secretsmanager:eu-west-1:111111111111:secret:payments/db-??????']));
    expect(JSON.stringify(named)).toMatch(/RotationFunction|Rotation/);
  });

  test.each([
    ['a ManagedSecret without a literal secretName', (s: Stack, key: CustomerManagedKey) => new ManagedSecret(s, 'Unnamed', { encryptionKey: key }),
      /ManagedSecret\.secretName: is required: the encryptionKey's accountAccess is AccountAccess\.NONE/],
    ['an aws-cdk-lib Secret on the key (it delegates to the account)', (s: Stack, key: CustomerManagedKey) => new secretsmanager.Secret(s, 'Plain', { encryptionKey: key }),
      /accountAccess` is AccountAccess\.NONE.*Fix: .*ManagedSecret/],
    ['a grantUse through a service to the account', (_s: Stack, key: CustomerManagedKey) => key.grantUse(new iam.AccountRootPrincipal(), { operations: [KeyOperation.DECRYPT], viaService: 's3' }),
      /accountAccess` is AccountAccess\.NONE/],
    ['a read of an imported secret known only by name', (s: Stack, key: CustomerManagedKey) => SecretGrants.read(new iam.Role(s, 'R', { assumedBy: new iam.AccountRootPrincipal() }), secretsmanager.Secret.fromSecretNameV2(s, 'ByName', 'team/db'), key),
      /SecretGrants\.read\.secret: is encrypted with a key whose accountAccess is AccountAccess\.NONE/],
    ['the deploying role also an administrator', (s: Stack) => {
      const deployer = new iam.ArnPrincipal('arn:aws:iam::111111111111:role/deployer');
      const key = new CustomerManagedKey(s, 'Key2', { accountAccess: AccountAccess.NONE, allowAccountToAdminister: false, deploymentRole: deployer });
      return new ManagedSecret(s, 'Db2', { secretName: 'x', encryptionKey: key });
    }, /is both an administrator .* and a user \(ManagedSecret\.encryptionKey\)/],
  ])('refused: %s', (_name, build, message) => {
    const stack = new Stack(new App(), 'Vault', { env: TEST_STACK_ENV });
    const key = new CustomerManagedKey(stack, 'Key', { accountAccess: AccountAccess.NONE });
    let error: Error | undefined;
    try {
      build(stack, key);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(ERROR_FORM);
    expect(error?.message).toMatch(message);
  });

  test('cross-stack: a reader role of another stack is refused (a cycle); the same role imported by its literal ARN is named', () => {
    const app = new App();
    const vault = new Stack(app, 'Vault', { env: TEST_STACK_ENV });
    const apps = new Stack(app, 'Apps', { env: TEST_STACK_ENV });
    const key = new CustomerManagedKey(vault, 'Key', { accountAccess: AccountAccess.NONE });
    const db = new ManagedSecret(vault, 'Db', { secretName: 'payments/db', encryptionKey: key });
    const reader = new iam.Role(apps, 'Reader', { roleName: 'reader', assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    expect(() => db.grantRead(reader)).toThrow(/\[cdk-kms-secrets\] SecretGrants\.read\.grantee: .* is in stack Apps, not the key's stack Vault; with accountAccess NONE .* a dependency cycle\. Fix: .*literal ARN/);
    db.grantRead(iam.Role.fromRoleArn(apps, 'ReaderByArn', 'arn:aws:iam::111111111111:role/reader'));
    expect(() => app.synth()).not.toThrow();
    expect(JSON.stringify(Template.fromStack(vault).toJSON())).toContain('arn:aws:iam::111111111111:role/reader');
  });

  test('capacity: readers of distinct secrets, each named with its secret, until the 32 KB key policy is full', () => {
    const stack = new Stack(new App(), 'Vault', { env: TEST_STACK_ENV });
    const key = new CustomerManagedKey(stack, 'Key', { accountAccess: AccountAccess.NONE, deploymentRole: new iam.ArnPrincipal('arn:aws:iam::111111111111:role/deployer') });
    let n = 0;
    while (key.estimatedPolicySize() < 32 * 1024 && n < 500) {
      const secret = new ManagedSecret(stack, `S${n}`, { secretName: `app/secret-${n}`, encryptionKey: key });
      secret.grantRead(new iam.Role(stack, `R${n}`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
      n++;
    }
    // Each secret costs the deployer's and one reader's statement: measured, and documented in the README.
    expect(n).toBeGreaterThan(20);
    expect(n).toBeLessThan(120);
    console.log(`strict mode: ${n - 1} secrets with one reader each fit one key policy`);
  });
});

