/**
 * One key per stack unless asked: `CustomerManagedKey.forStack` is the key of
 * every ManagedSecret, RotationFunction and monitoring topic not given one;
 * a key given explicitly (or a key of its own) is still honoured; the
 * default is per stack; the shared key's policy stays small in the default
 * mode (the per-secret grants merge) and strict mode still names each
 * principal for its own secret, under IAM evaluation.
 */
import { App, NestedStack, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  AccountAccess, CustomerManagedKey, DatabaseEngine, KeysAndSecretsMonitoring, ManagedSecret, Rotation, RotationFunction, RotationStrategy,
} from '../../src';
import {
  allowPolicy, arnOf, CfnResource, CfnTemplate, Decision, identityPoliciesOf, keyPolicyOf, kmsRequestContext, logicalIdOf, simulate, TEST_STACK_ENV,
} from '../support/iam-eval';

const ERROR_FORM = /^\[cdk-kms-secrets\] [A-Za-z.]+: .+ Fix: .+/s;
const postgres = (username: string) => ({ engine: DatabaseEngine.POSTGRES, host: 'db.cluster-abc.eu-west-1.rds.amazonaws.com', username, dbname: 'app' });

function newStack(app = new App(), id = 'Payments') {
  const stack = new Stack(app, id, { env: TEST_STACK_ENV });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-12345678', availabilityZones: ['eu-west-1a', 'eu-west-1b'], privateSubnetIds: ['subnet-11111111', 'subnet-22222222'],
  });
  return { app, stack, vpc };
}

function reader(stack: Stack, id: string): lambda.Function {
  return new lambda.Function(stack, id, { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {}') });
}

function keyIdsOf(stack: Stack): string[] {
  return Object.keys(Template.fromStack(stack).findResources('AWS::KMS::Key'));
}

describe('one key per stack', () => {
  test('secrets, a rotation function, a Lambda reader and the monitoring topic, none given a key: one AWS::KMS::Key', () => {
    const { stack, vpc } = newStack();
    const rotated = new ManagedSecret(stack, 'Db', { credentials: postgres('app'), rotation: Rotation.postgresSingleUser({ vpc }) });
    const token = new ManagedSecret(stack, 'ApiToken');
    token.addLambdaReader(reader(stack, 'Consumer'));
    const monitoring = new KeysAndSecretsMonitoring(stack, 'Monitoring', { watchScope: stack });

    const key = CustomerManagedKey.forStack(stack);
    expect(keyIdsOf(stack)).toEqual([logicalIdOf(key)]);
    expect(key.node.path).toBe('Payments/CdkKmsSecretsDefaultKey');
    expect(key.stackDefault).toBe(true);
    for (const k of [rotated.key, token.key, rotated.rotatedBy!.key, monitoring.encryptionKey]) expect(k).toBe(key);
    // Every encrypted resource of the stack names that key.
    const t = Template.fromStack(stack);
    const keyArn = { 'Fn::GetAtt': [logicalIdOf(key), 'Arn'] };
    t.allResourcesProperties('AWS::SecretsManager::Secret', { KmsKeyId: keyArn });
    t.hasResourceProperties('AWS::Lambda::Function', { KmsKeyArn: keyArn });
    t.allResourcesProperties('AWS::Logs::LogGroup', { KmsKeyId: keyArn });
    t.allResourcesProperties('AWS::SQS::Queue', { KmsMasterKeyId: keyArn });
    t.allResourcesProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn });
    expect(() => (stack.node.root as App).synth()).not.toThrow();
  });

  test('the report no longer flags "keys that each protect a single secret"', () => {
    const { app, stack } = newStack();
    for (let i = 0; i < 3; i++) new ManagedSecret(stack, `Secret${i}`);
    expect(keyIdsOf(stack)).toHaveLength(1);
    // The cost module's rule: more than one key with exactly one secret.
    const perKey = new Map<string, number>();
    for (const r of Object.values(Template.fromStack(stack).findResources('AWS::SecretsManager::Secret'))) {
      const k = JSON.stringify(r.Properties.KmsKeyId);
      perKey.set(k, (perKey.get(k) ?? 0) + 1);
    }
    expect([...perKey.values()]).toEqual([3]);
    expect(() => app.synth()).not.toThrow();
  });

  test('opt-out: a key given to each gives separate keys, and the default key is never created', () => {
    const { stack, vpc } = newStack();
    const secretKey = new CustomerManagedKey(stack, 'SecretKey');
    const functionKey = new CustomerManagedKey(stack, 'FunctionKey');
    const alertKey = new CustomerManagedKey(stack, 'AlertKey');
    const fn = new RotationFunction(stack, 'Rotation', { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc, encryptionKey: functionKey });
    const db = new ManagedSecret(stack, 'Db', { encryptionKey: secretKey, credentials: postgres('app'), rotation: Rotation.postgresSingleUser({ vpc, rotationFunction: fn }) });
    const m = new KeysAndSecretsMonitoring(stack, 'Monitoring', { secrets: [db], encryptionKey: alertKey });
    expect(db.key).toBe(secretKey);
    expect(fn.key).toBe(functionKey);
    expect(m.encryptionKey).toBe(alertKey);
    expect(keyIdsOf(stack).sort()).toEqual([alertKey, functionKey, secretKey].map(logicalIdOf).sort());
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { KmsKeyArn: { 'Fn::GetAtt': [logicalIdOf(functionKey), 'Arn'] } });
  });

  test('RotationFunction.shared with an encryptionKey is another function than the default one (the key is part of its placement)', () => {
    const { stack, vpc } = newStack();
    const own = new CustomerManagedKey(stack, 'Own');
    const props = { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc };
    const byDefault = RotationFunction.shared(stack, props);
    const withKey = RotationFunction.shared(stack, { ...props, encryptionKey: own });
    expect(withKey).not.toBe(byDefault);
    expect(RotationFunction.shared(stack, { ...props, encryptionKey: own })).toBe(withKey);
    expect(byDefault.key).toBe(CustomerManagedKey.forStack(stack));
    expect(withKey.key).toBe(own);
  });

  test('RotationFunction refuses a key that is not a CustomerManagedKey', () => {
    const { stack, vpc } = newStack();
    const plain = new kms.Key(stack, 'Plain');
    expect(() => new RotationFunction(stack, 'Fn', { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc, encryptionKey: plain as CustomerManagedKey }))
      .toThrow(/RotationFunction\.encryptionKey: is not a CustomerManagedKey.*Fix: /);
  });

  test('stackDefault: the user\'s key becomes the stack\'s key (one key, with its alias and administrators)', () => {
    const { stack, vpc } = newStack();
    const admin = new iam.Role(stack, 'Admin', { assumedBy: new iam.AccountRootPrincipal() });
    const key = new CustomerManagedKey(stack, 'PaymentsKey', { alias: 'payments', administrators: [admin], stackDefault: true });
    const db = new ManagedSecret(stack, 'Db', { credentials: postgres('app'), rotation: Rotation.postgresSingleUser({ vpc }) });
    const m = new KeysAndSecretsMonitoring(stack, 'Monitoring', { watchScope: stack });
    expect(CustomerManagedKey.forStack(db)).toBe(key);
    expect([db.key, db.rotatedBy!.key, m.encryptionKey]).toEqual([key, key, key]);
    expect(keyIdsOf(stack)).toEqual([logicalIdOf(key)]);
  });

  test.each([
    ['a second stackDefault key', (s: Stack) => {
      new CustomerManagedKey(s, 'First', { stackDefault: true });
      new CustomerManagedKey(s, 'Second', { stackDefault: true });
    }, /CustomerManagedKey\.stackDefault: stack Payments already has a default key, Payments\/First\..*Fix: /],
    ['a stackDefault key after a secret took the default', (s: Stack) => {
      new ManagedSecret(s, 'Early');
      new CustomerManagedKey(s, 'Late', { stackDefault: true });
    }, /CustomerManagedKey\.stackDefault: stack Payments already has a default key, Payments\/CdkKmsSecretsDefaultKey \(created when a construct that was not given a key took the default\)\. Fix: Create the key with stackDefault: true before/],
  ])('refused: %s', (_name, build, message) => {
    const { stack } = newStack();
    let error: Error | undefined;
    try {
      build(stack);
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(ERROR_FORM);
    expect(error?.message).toMatch(message);
  });
});

describe('per stack: a construct never takes another stack\'s key', () => {
  test('two stacks of one app each get their own key; no cross-stack reference', () => {
    const app = new App();
    const a = newStack(app, 'StackA');
    const b = newStack(app, 'StackB');
    const inA = new ManagedSecret(a.stack, 'Db', { credentials: postgres('a'), rotation: Rotation.postgresSingleUser({ vpc: a.vpc }) });
    const inB = new ManagedSecret(b.stack, 'Db', { credentials: postgres('b'), rotation: Rotation.postgresSingleUser({ vpc: b.vpc }) });
    expect(inA.key).not.toBe(inB.key);
    expect(Stack.of(inA.key)).toBe(a.stack);
    expect(Stack.of(inB.key)).toBe(b.stack);
    expect(Stack.of(inB.rotatedBy!.key)).toBe(b.stack);
    const assembly = app.synth();
    for (const name of ['StackA', 'StackB']) {
      const template = JSON.stringify(assembly.getStackByName(name).template);
      expect(template).not.toContain('Fn::ImportValue');
      expect(Object.values(assembly.getStackByName(name).template.Resources as Record<string, CfnResource>).filter(r => r.Type === 'AWS::KMS::Key')).toHaveLength(1);
    }
    expect(b.stack.dependencies).toEqual([]);
  });

  test('a nested stack has its own default key', () => {
    const { stack } = newStack();
    const nested = new NestedStack(stack, 'Nested');
    const outer = new ManagedSecret(stack, 'Outer');
    const inner = new ManagedSecret(nested, 'Inner');
    expect(Stack.of(inner.key)).toBe(nested);
    expect(inner.key).not.toBe(outer.key);
  });
});

describe('capacity of the shared key', () => {
  test('default mode: 150 rotated secrets and 150 readers add nothing to the key policy (the per-secret grants merge)', () => {
    const app = new App({ context: { '@aws-cdk/core:stackResourceLimit': 0 } });
    const { stack, vpc } = newStack(app);
    const rotation = Rotation.postgresSingleUser({ vpc });
    const first = new ManagedSecret(stack, 'Secret0', { credentials: postgres('app0'), rotation });
    first.addLambdaReader(reader(stack, 'Reader0'));
    const key = first.key;
    const oneSecret = key.estimatedPolicySize();
    const statements = () => (stack.resolve((key.node.defaultChild as kms.CfnKey).keyPolicy) as { Statement: unknown[] }).Statement.length;
    const oneSecretStatements = statements();
    for (let i = 1; i < 150; i++) {
      const s = new ManagedSecret(stack, `Secret${i}`, { credentials: postgres(`app${i}`), rotation });
      s.addLambdaReader(reader(stack, `Reader${i}`));
    }
    expect(key.estimatedPolicySize()).toBe(oneSecret);
    expect(statements()).toBe(oneSecretStatements);
    expect(oneSecret).toBeLessThan(8 * 1024);
    expect(keyIdsOf(stack)).toHaveLength(1);
    expect(() => app.synth()).not.toThrow();
  });

  test('strict mode: the shared key fills up with named principals, and the synthesis fails with our error naming the fix, never a broken deploy', () => {
    const { app, stack } = newStack();
    new CustomerManagedKey(stack, 'Vault', {
      accountAccess: AccountAccess.NONE, stackDefault: true, deploymentRole: new iam.ArnPrincipal('arn:aws:iam::111111111111:role/deployer'),
    });
    for (let i = 0; i < 150; i++) {
      new ManagedSecret(stack, `S${i}`, { secretName: `app/secret-${i}` })
        .grantRead(new iam.Role(stack, `R${i}`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
    }
    expect(() => app.synth()).toThrow(/CustomerManagedKey: the key policy is about \d+ bytes, over the 32768-byte KMS limit\. Fix: With accountAccess NONE the key policy names each principal for each secret.*This is the stack's default key \(stackDefault\).*keys of their own/s);
  });
});

describe('strict mode (AccountAccess.NONE) on the shared key, under IAM evaluation', () => {
  const RESOLVERS = {
    extraResolvers: {
      'AWS::IAM::Role': {
        ref: (id: string, r: CfnResource) => r.Properties?.RoleName ?? id,
        attributes: { Arn: (id: string, r: CfnResource) => `arn:aws:iam::111111111111:role/${r.Properties?.RoleName ?? id}` },
      },
      'AWS::SecretsManager::Secret': {
        ref: (id: string, r: CfnResource) => `arn:aws:secretsmanager:eu-west-1:111111111111:secret:${r.Properties?.Name ?? id}-AbCdEf`,
      },
      'AWS::SQS::Queue': {
        ref: (id: string) => `https://sqs.eu-west-1.amazonaws.com/111111111111/${id}`,
        attributes: { Arn: (id: string) => `arn:aws:sqs:eu-west-1:111111111111:${id}` },
      },
    },
    externalManagedPolicies: {
      'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole': allowPolicy(['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents']),
    },
  };
  const secretArn = (name: string) => `arn:aws:secretsmanager:eu-west-1:111111111111:secret:${name}-AbCdEf`;
  const { app, stack, vpc } = newStack();
  const key = new CustomerManagedKey(stack, 'Vault', {
    accountAccess: AccountAccess.NONE, stackDefault: true, deploymentRole: new iam.ArnPrincipal('arn:aws:iam::111111111111:role/deployer'),
  });
  const db = new ManagedSecret(stack, 'Db', { secretName: 'payments/db', credentials: postgres('app'), rotation: Rotation.postgresSingleUser({ vpc }) });
  const token = new ManagedSecret(stack, 'Token', { secretName: 'payments/token' });
  const consumer = reader(stack, 'Consumer');
  token.addLambdaReader(consumer);
  new KeysAndSecretsMonitoring(stack, 'Monitoring', { watchScope: stack });
  app.synth();
  const template = Template.fromStack(stack).toJSON() as CfnTemplate;
  const keyPolicy = keyPolicyOf(template, logicalIdOf(key), RESOLVERS);
  const keyArn = arnOf(template, logicalIdOf(key));

  /** The Decrypt Secrets Manager makes for the caller (`direct`: the caller's own call, not through a service). */
  function decrypt(principalArn: string, identity: 'admin' | string, secret: string, direct = false): Promise<Decision> {
    return simulate({
      principalArn,
      action: 'kms:Decrypt',
      resourceArn: keyArn,
      resourcePolicy: keyPolicy,
      identityPolicies: identity === 'admin' ? [allowPolicy('*')] : identityPoliciesOf(template, identity, RESOLVERS),
      context: kmsRequestContext({ principalArn, viaService: direct ? undefined : 'secretsmanager', encryptionContext: { SecretARN: secretArn(secret) } }),
    });
  }

  test('one key for the secrets, the rotation function and the topic', () => {
    expect(Object.values(template.Resources!).filter(r => r.Type === 'AWS::KMS::Key')).toHaveLength(1);
    expect(db.key).toBe(key);
    expect(db.rotatedBy!.key).toBe(key);
  });

  test('the Lambda reader decrypts its secret through Secrets Manager only, and not the other secret', async () => {
    const role = logicalIdOf(consumer.role!);
    const arn = `arn:aws:iam::111111111111:role/${role}`;
    expect(await decrypt(arn, role, 'payments/token')).toBe('Allowed');
    expect(await decrypt(arn, role, 'payments/db')).toBe('ImplicitlyDenied');
    expect(await decrypt(arn, role, 'payments/token', true)).toBe('ImplicitlyDenied');
  });

  test('the rotation role decrypts the secret it rotates, not the reader\'s', async () => {
    const role = logicalIdOf(db.rotatedBy!.role);
    const arn = `arn:aws:iam::111111111111:role/${role}`;
    expect(await decrypt(arn, role, 'payments/db')).toBe('Allowed');
    expect(await decrypt(arn, role, 'payments/token')).toBe('ImplicitlyDenied');
    expect(await decrypt(arn, role, 'payments/db', true)).toBe('ImplicitlyDenied');
  });

  test('AdministratorAccess of the account reads neither secret', async () => {
    const admin = 'arn:aws:iam::111111111111:role/ops-with-administrator-access';
    expect(await decrypt(admin, 'admin', 'payments/db')).toBe('ImplicitlyDenied');
    expect(await decrypt(admin, 'admin', 'payments/token')).toBe('ImplicitlyDenied');
  });
});
