/**
 * Runtime readers that pick up a rotation without a redeploy or a restart:
 * `addLambdaReader` (the AWS Parameters and Secrets Lambda Extension),
 * idempotent per function, and `addEcsReader` (a caching SDK client in the
 * task, granted through the task role), with the same grant helpers, judged
 * under IAM evaluation in the default and the strict mode.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AccountAccess, CustomerManagedKey, ManagedSecret, SecretGrants } from '../../src';
import {
  allowPolicy, arnOf, CfnResource, CfnTemplate, Decision, identityPoliciesOf, keyPolicyOf, kmsRequestContext, logicalIdOf, secretPolicyOf, simulate,
  TEST_STACK_ENV,
} from '../support/iam-eval';

const ERROR_FORM = /^\[cdk-kms-secrets\] [A-Za-z.]+: .+ Fix: .+/s;
const EXTENSION_ARN = 'arn:aws:lambda:eu-west-1:133256977650:layer:AWS-Parameters-and-Secrets-Lambda-Extension:12';

function newStack(envAgnostic = false): Stack {
  return new Stack(new App(), 'Readers', envAgnostic ? {} : { env: TEST_STACK_ENV });
}

function zipFunction(stack: Stack, id = 'Fn', props: Partial<lambda.FunctionProps> = {}): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {}'), ...props,
  });
}

function functionProps(stack: Stack, fn: lambda.Function): { Layers?: unknown[]; Environment?: { Variables: Record<string, unknown> } } {
  return Template.fromStack(stack).findResources('AWS::Lambda::Function')[logicalIdOf(fn)].Properties;
}

function errorOf(build: () => unknown): string {
  try {
    build();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

describe('addLambdaReader: one extension per function', () => {
  test.each([['an env-agnostic stack (the layer ARN is a regional mapping)', true], ['a stack with a region (a literal layer ARN)', false]])(
    'two secrets on one function, in %s: one layer, each secret under its own variable, one cache', (_name, envAgnostic) => {
      const stack = newStack(envAgnostic);
      const fn = zipFunction(stack);
      const db = new ManagedSecret(stack, 'Db');
      const token = new ManagedSecret(stack, 'Token');
      db.addLambdaReader(fn);
      token.addLambdaReader(fn, { environmentVariable: 'TOKEN_SECRET_ARN' });
      const props = functionProps(stack, fn);
      expect(props.Layers).toHaveLength(1);
      expect(JSON.stringify(props.Layers)).toMatch(envAgnostic ? /Fn::FindInMap/ : /AWS-Parameters-and-Secrets-Lambda-Extension/);
      const vars = props.Environment!.Variables;
      expect(vars.SECRET_ARN).toEqual({ Ref: logicalIdOf(db) });
      expect(vars.TOKEN_SECRET_ARN).toEqual({ Ref: logicalIdOf(token) });
      expect(vars.SECRETS_MANAGER_TTL).toBe('300');
      expect(vars.PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED).toBe('true');
      // Both grants in the role's one customer-managed policy.
      const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::ManagedPolicy'))
        .flatMap(p => p.Properties.PolicyDocument.Statement as Array<{ Action: string; Resource: unknown }>);
      expect(statements.filter(s => s.Action === 'secretsmanager:GetSecretValue').map(s => s.Resource)).toEqual([{ Ref: logicalIdOf(db) }, { Ref: logicalIdOf(token) }]);
      expect(() => (stack.node.root as App).synth()).not.toThrow();
    });

  test('the same secret twice on one function is the same reader (no error, no second layer or statement)', () => {
    const stack = newStack();
    const fn = zipFunction(stack);
    const db = new ManagedSecret(stack, 'Db');
    db.addLambdaReader(fn);
    const before = JSON.stringify(Template.fromStack(stack).toJSON());
    db.addLambdaReader(fn);
    expect(JSON.stringify(Template.fromStack(stack).toJSON())).toBe(before);
  });

  test('a second secret under the variable of the first is refused, with a variable to use', () => {
    const stack = newStack();
    const fn = zipFunction(stack);
    new ManagedSecret(stack, 'Db').addLambdaReader(fn);
    const message = errorOf(() => new ManagedSecret(stack, 'OrdersDb').addLambdaReader(fn));
    expect(message).toMatch(ERROR_FORM);
    expect(message).toMatch(/SecretGrants\.readFromLambda\.environmentVariable: Readers\/Fn already has SECRET_ARN = .*Fix: Pass another environmentVariable for this secret, for example 'ORDERS_DB_SECRET_ARN'/);
  });

  test('a variable the function sets itself is not overwritten', () => {
    const stack = newStack();
    const fn = zipFunction(stack, 'Fn', { environment: { SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:legacy-AbCdEf' } });
    expect(errorOf(() => new ManagedSecret(stack, 'Db').addLambdaReader(fn))).toMatch(/already has SECRET_ARN = "arn:aws:secretsmanager:.*legacy-AbCdEf"/);
  });

  test('the cache is the function\'s: a second secret keeps its TTL, and a conflicting cacheTtl or cacheSize is refused', () => {
    const stack = newStack();
    const fn = zipFunction(stack);
    new ManagedSecret(stack, 'Db').addLambdaReader(fn, { cacheTtl: Duration.seconds(60) });
    new ManagedSecret(stack, 'Token').addLambdaReader(fn, { environmentVariable: 'TOKEN_ARN' });
    expect(functionProps(stack, fn).Environment!.Variables.SECRETS_MANAGER_TTL).toBe('60');
    new ManagedSecret(stack, 'Same').addLambdaReader(fn, { environmentVariable: 'SAME_ARN', cacheTtl: Duration.seconds(60) });
    const ttl = errorOf(() => new ManagedSecret(stack, 'Other').addLambdaReader(fn, { environmentVariable: 'OTHER_ARN', cacheTtl: Duration.seconds(120) }));
    expect(ttl).toMatch(ERROR_FORM);
    expect(ttl).toMatch(/readFromLambda\.cacheTtl: Readers\/Fn already runs the extension with SECRETS_MANAGER_TTL = "60", and this reader asks for 120/);
    const size = errorOf(() => new ManagedSecret(stack, 'Sized').addLambdaReader(fn, { environmentVariable: 'SIZED_ARN', cacheSize: 10 }));
    expect(size).toMatch(/readFromLambda\.cacheSize: .*PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE = "1000", and this reader asks for 10/);
  });

  test('a function that already has the extension (paramsAndSecrets) gets no second layer, and keeps its settings', () => {
    const stack = newStack(true);
    const fn = zipFunction(stack, 'Fn', {
      paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersion(lambda.ParamsAndSecretsVersions.V1_0_103, {
        cacheSize: 500, secretsManagerTtl: Duration.seconds(30),
      }),
    });
    new ManagedSecret(stack, 'Db').addLambdaReader(fn);
    const props = functionProps(stack, fn);
    expect(props.Layers).toHaveLength(1);
    expect(props.Environment!.Variables.SECRETS_MANAGER_TTL).toBe('30');
    expect(props.Environment!.Variables.PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE).toBe('500');
    expect(fn.node.tryFindChild('ParamsAndSecretsExtension')).toBeUndefined();
  });

  test('a function with the extension layer added by its ARN gets no second layer', () => {
    const stack = newStack();
    const fn = zipFunction(stack, 'Fn', { layers: [lambda.LayerVersion.fromLayerVersionArn(stack, 'Extension', EXTENSION_ARN)] });
    new ManagedSecret(stack, 'Db').addLambdaReader(fn);
    // The arm64 layer counts too; another layer does not.
    const arm = zipFunction(stack, 'Arm', { architecture: lambda.Architecture.ARM_64, layers: [lambda.LayerVersion.fromLayerVersionArn(stack, 'ArmExtension', 'arn:aws:lambda:eu-west-1:133256977650:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:12')] });
    new ManagedSecret(stack, 'ArmDb').addLambdaReader(arm);
    const other = zipFunction(stack, 'Other', { layers: [lambda.LayerVersion.fromLayerVersionArn(stack, 'Insights', 'arn:aws:lambda:eu-west-1:580247275435:layer:LambdaInsightsExtension:38')] });
    new ManagedSecret(stack, 'OtherDb').addLambdaReader(other);
    expect(functionProps(stack, fn).Layers).toEqual([EXTENSION_ARN]);
    expect(functionProps(stack, arm).Layers).toHaveLength(1);
    expect(functionProps(stack, other).Layers).toHaveLength(2);
  });

  test('container-image functions are refused with what to do; extensionLayer: false grants and sets the environment without a layer', () => {
    const stack = newStack();
    const repository = ecr.Repository.fromRepositoryName(stack, 'Repo', 'payments');
    const image = new lambda.DockerImageFunction(stack, 'Image', { code: lambda.DockerImageCode.fromEcr(repository) });
    const fromImage = new lambda.Function(stack, 'FromImage', { runtime: lambda.Runtime.FROM_IMAGE, handler: lambda.Handler.FROM_IMAGE, code: lambda.Code.fromEcrImage(repository) });
    const db = new ManagedSecret(stack, 'Db');
    for (const fn of [image, fromImage]) {
      const message = errorOf(() => db.addLambdaReader(fn));
      expect(message).toMatch(ERROR_FORM);
      expect(message).toMatch(/readFromLambda\.fn: Readers\/\w+ is a container-image function, which cannot take a Lambda layer.*Fix: Copy the extension into the image .* `extensionLayer: false`, or read the secret with a caching SDK client/);
    }
    db.addLambdaReader(image, { extensionLayer: false });
    const props = functionProps(stack, image);
    expect(props.Layers).toBeUndefined();
    expect(props.Environment!.Variables.SECRET_ARN).toEqual({ Ref: logicalIdOf(db) });
    expect(props.Environment!.Variables.SECRETS_MANAGER_TTL).toBe('300');
  });

  test('IFunction: an alias, a version or a SingletonFunction reads through its function; an imported function is refused', () => {
    const stack = newStack();
    const fn = zipFunction(stack);
    const alias = new lambda.Alias(stack, 'Live', { aliasName: 'live', version: fn.currentVersion });
    const db = new ManagedSecret(stack, 'Db');
    db.addLambdaReader(alias);
    new ManagedSecret(stack, 'Token').addLambdaReader(fn.currentVersion, { environmentVariable: 'TOKEN_ARN' });
    const singleton = new lambda.SingletonFunction(stack, 'Singleton', {
      uuid: '6a8b2c1e-0d3f-4e5a-9b7c-1d2e3f4a5b6c', runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('x'),
    });
    new ManagedSecret(stack, 'ForSingleton').addLambdaReader(singleton);
    const imported = lambda.Function.fromFunctionArn(stack, 'Imported', 'arn:aws:lambda:eu-west-1:111111111111:function:legacy');
    const message = errorOf(() => db.addLambdaReader(imported));
    expect(message).toMatch(ERROR_FORM);
    expect(message).toMatch(/readFromLambda\.fn: Readers\/Imported is not a function defined in this app .*Fix: Call addLambdaReader where the function is defined, or grant read only with secret\.grantRead/);

    const props = functionProps(stack, fn);
    expect(props.Layers).toHaveLength(1);
    expect(Object.keys(props.Environment!.Variables)).toEqual(expect.arrayContaining(['SECRET_ARN', 'TOKEN_ARN']));
    const singletonFn = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).find(r => JSON.stringify(r.Properties.Code) === '{"ZipFile":"x"}')!;
    expect(singletonFn.Properties.Layers).toHaveLength(1);
  });
});

describe('addEcsReader: a running task sees a rotation without a restart', () => {
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

  function world(strict: boolean) {
    const stack = newStack();
    const key = new CustomerManagedKey(stack, 'Key', strict ? { accountAccess: AccountAccess.NONE, deploymentRole: new iam.ArnPrincipal('arn:aws:iam::111111111111:role/deployer') } : {});
    const db = new ManagedSecret(stack, 'Db', { secretName: 'payments/db', encryptionKey: key });
    const other = new ManagedSecret(stack, 'Other', { secretName: 'payments/other', encryptionKey: key });
    const task = new ecs.FargateTaskDefinition(stack, 'Task');
    const container = task.addContainer('App', { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/node:22') });
    const grant = db.addEcsReader(container, { cacheTtl: Duration.minutes(2) });
    const taskRole = logicalIdOf(task.taskRole);
    const principalArn = `arn:aws:iam::111111111111:role/${taskRole}`;
    let template: CfnTemplate | undefined;
    return {
      stack,
      key,
      db,
      other,
      task,
      container,
      grant,
      taskRole,
      principalArn,
      /** The synthesized template (the tree is final once it is read). */
      get template(): CfnTemplate {
        template ??= Template.fromStack(stack).toJSON() as CfnTemplate;
        return template;
      },
    };
  }

  function decisions(w: ReturnType<typeof world>, secret: string, identity: 'template' | 'admin' = 'template') {
    const identityPolicies = identity === 'admin' ? [allowPolicy('*')] : identityPoliciesOf(w.template, w.taskRole, RESOLVERS);
    const secretArn = `arn:aws:secretsmanager:eu-west-1:111111111111:secret:${secret}-AbCdEf`;
    const logical = secret === 'payments/db' ? logicalIdOf(w.db) : logicalIdOf(w.other);
    const kms = (viaService: string | undefined): Promise<Decision> => simulate({
      principalArn: w.principalArn,
      action: 'kms:Decrypt',
      resourceArn: arnOf(w.template, logicalIdOf(w.key)),
      resourcePolicy: keyPolicyOf(w.template, logicalIdOf(w.key), RESOLVERS),
      identityPolicies,
      context: kmsRequestContext({ principalArn: w.principalArn, viaService, encryptionContext: { SecretARN: secretArn } }),
    });
    return Promise.all([
      simulate({
        principalArn: w.principalArn,
        action: 'secretsmanager:GetSecretValue',
        resourceArn: secretArn,
        identityPolicies,
        resourcePolicy: secretPolicyOf(w.template, logical, RESOLVERS),
        context: { 'aws:PrincipalArn': w.principalArn, 'aws:PrincipalAccount': '111111111111', 'aws:SecureTransport': 'true', 'secretsmanager:SecretId': secretArn },
      }),
      kms('secretsmanager'),
      kms(undefined),
    ]).then(([get, decrypt, direct]) => ({ get, decrypt, direct }));
  }

  test('the task role (not the execution role) is granted; the container gets the ARN and the TTL, never the value', () => {
    const w = world(false);
    const container = Object.values(Template.fromStack(w.stack).findResources('AWS::ECS::TaskDefinition'))[0].Properties.ContainerDefinitions[0];
    expect(container.Environment).toEqual(expect.arrayContaining([
      { Name: 'SECRET_ARN', Value: { Ref: logicalIdOf(w.db) } },
      { Name: 'SECRET_CACHE_TTL_SECONDS', Value: '120' },
    ]));
    expect(container.Secrets).toBeUndefined();
    expect(w.grant.success).toBe(true);
    const policies = Object.values(Template.fromStack(w.stack).findResources('AWS::IAM::ManagedPolicy'));
    expect(policies.map(p => p.Properties.Roles)).toEqual([[{ Ref: w.taskRole }]]);
    expect(w.task.executionRole).toBeUndefined();
  });

  test('default mode, IAM evaluation: reads exactly this secret, and decrypts only through Secrets Manager', async () => {
    const w = world(false);
    expect(await decisions(w, 'payments/db')).toEqual({ get: 'Allowed', decrypt: 'Allowed', direct: 'ImplicitlyDenied' });
    expect(await decisions(w, 'payments/other')).toEqual({ get: 'ImplicitlyDenied', decrypt: 'ImplicitlyDenied', direct: 'ImplicitlyDenied' });
  });

  test('strict mode (AccountAccess.NONE), IAM evaluation: the task role is named for this secret only; AdministratorAccess reads nothing', async () => {
    const w = world(true);
    expect(await decisions(w, 'payments/db')).toEqual({ get: 'Allowed', decrypt: 'Allowed', direct: 'ImplicitlyDenied' });
    expect((await decisions(w, 'payments/other')).decrypt).toBe('ImplicitlyDenied');
    // Even with AdministratorAccess, the task role decrypts only what the key policy names for it.
    expect((await decisions(w, 'payments/other', 'admin')).decrypt).toBe('ImplicitlyDenied');
    expect(JSON.stringify(keyPolicyOf(w.template, logicalIdOf(w.key), RESOLVERS))).toContain(`role/${w.taskRole}`);
  });

  test('several secrets on one container: each under its own variable, one TTL; conflicts are refused', () => {
    const w = world(false);
    w.db.addEcsReader(w.container); // the same secret again: nothing changes
    w.other.addEcsReader(w.container, { environmentVariable: 'OTHER_SECRET_ARN' });
    const third = new ManagedSecret(w.stack, 'Third', { encryptionKey: w.key, secretName: 'payments/third' });
    expect(errorOf(() => third.addEcsReader(w.container))).toMatch(/readFromEcs\.environmentVariable: Readers\/Task\/App already has SECRET_ARN = .*Fix: Pass another environmentVariable for this secret, for example 'THIRD_SECRET_ARN'/);
    expect(errorOf(() => third.addEcsReader(w.container, { environmentVariable: 'THIRD_ARN', cacheTtl: Duration.minutes(10) })))
      .toMatch(/readFromEcs\.cacheTtl: Readers\/Task\/App already has SECRET_CACHE_TTL_SECONDS = 120, and this reader asks for 600.*Fix: /);
    const env = Object.values(Template.fromStack(w.stack).findResources('AWS::ECS::TaskDefinition'))[0].Properties.ContainerDefinitions[0].Environment;
    expect(env).toEqual(expect.arrayContaining([{ Name: 'OTHER_SECRET_ARN', Value: { Ref: logicalIdOf(w.other) } }, { Name: 'SECRET_CACHE_TTL_SECONDS', Value: '120' }]));
    expect(env.filter((e: { Name: string }) => e.Name === 'SECRET_CACHE_TTL_SECONDS')).toHaveLength(1);
    expect(env.map((e: { Name: string }) => e.Name)).not.toContain('THIRD_ARN');
  });

  test.each([
    ['a TTL over an hour', { cacheTtl: Duration.hours(2) }, /readFromEcs\.cacheTtl: 2 hours is not a whole number of seconds between 1 second and 1 hour/],
    ['a TTL of a fraction of a second', { cacheTtl: Duration.millis(1500) }, /readFromEcs\.cacheTtl: .* is not a whole number of seconds/],
    ['a variable name that is not one', { environmentVariable: 'secret-arn' }, /readFromEcs\.environmentVariable: 'secret-arn' is not an environment variable name/],
    ['the TTL and the ARN in one variable', { cacheTtlEnvironmentVariable: 'SECRET_ARN' }, /readFromEcs\.cacheTtlEnvironmentVariable: is the same variable as environmentVariable/],
  ])('refused: %s', (_name, options, message) => {
    const stack = newStack();
    const task = new ecs.Ec2TaskDefinition(stack, 'Task');
    const container = task.addContainer('App', { image: ecs.ContainerImage.fromRegistry('x'), memoryLimitMiB: 256 });
    const error = errorOf(() => SecretGrants.readFromEcs(container, new ManagedSecret(stack, 'Db'), undefined, options));
    expect(error).toMatch(ERROR_FORM);
    expect(error).toMatch(message);
  });
});
