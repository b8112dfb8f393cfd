import { App, CfnParameter, Duration, SecretValue, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as rds from 'aws-cdk-lib/aws-rds';
import { CfnSecret } from 'aws-cdk-lib/aws-secretsmanager';
import {
  CustomerManagedKey, DatabaseEngine, ManagedSecret, ManagedSecretProps, Rotation, RotationFunction, RotationSchedule, RotationStrategy,
} from '../../src';
import { checkCompliance, describeFindings, unexpectedFindings } from '../support/compliance';

const ENV = { account: '111111111111', region: 'eu-west-1' };

function fixture() {
  const app = new App();
  const stack = new Stack(app, 'Secrets', { env: ENV });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-12345678',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    privateSubnetIds: ['subnet-11111111', 'subnet-22222222'],
  });
  const database = ec2.SecurityGroup.fromSecurityGroupId(stack, 'DatabaseSg', 'sg-12345678', { mutable: true });
  return { app, stack, vpc, database };
}

const postgres = { engine: DatabaseEngine.POSTGRES, host: 'payments.cluster-abc.eu-west-1.rds.amazonaws.com', username: 'app', dbname: 'payments' };

describe('ManagedSecret', () => {
  test('database credentials: generated password, CMK, retained, resource policy that blocks public policies', () => {
    const { stack } = fixture();
    new ManagedSecret(stack, 'Db', { credentials: postgres });
    const t = Template.fromStack(stack);
    t.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Retain',
      Properties: {
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CdkKmsSecretsDefaultKey'), 'Arn'] },
        GenerateSecretString: {
          SecretStringTemplate: JSON.stringify({ engine: 'postgres', host: postgres.host, port: 5432, username: 'app', dbname: 'payments' }),
          GenerateStringKey: 'password',
          PasswordLength: 32,
          ExcludeCharacters: ' "\'\\/@',
          RequireEachIncludedType: true,
        },
      },
    });
    t.hasResourceProperties('AWS::SecretsManager::ResourcePolicy', {
      BlockPublicPolicy: true,
      ResourcePolicy: {
        Statement: [{
          Sid: 'DenyOtherAccounts',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'secretsmanager:*',
          Condition: { StringNotEquals: { 'aws:PrincipalAccount': '111111111111' } },
        }],
      },
    });
    // The key is a CustomerManagedKey: separated roles, Secrets Manager may use it for the account.
    const [key] = Object.values(t.findResources('AWS::KMS::Key'));
    const sids = (key.Properties.KeyPolicy.Statement as Array<{ Sid: string }>).map(s => s.Sid);
    expect(sids[0]).toBe('AccountAdministersKey');
    expect(sids).toContain('AccountUsesKeyOnlyViaService');
    expect(JSON.stringify(t.toJSON())).not.toMatch(/"password"\s*:/);
  });

  test('a secret value from SSM or a NoEcho parameter', () => {
    const { stack } = fixture();
    const param = new CfnParameter(stack, 'ApiToken', { noEcho: true });
    new ManagedSecret(stack, 'Token', { secretValue: SecretValue.cfnParameter(param) });
    Template.fromStack(stack).hasResourceProperties('AWS::SecretsManager::Secret', { SecretString: { Ref: 'ApiToken' } });
  });

  test('a key passed in is used, and replicas each get their own key', () => {
    const { stack } = fixture();
    const key = new CustomerManagedKey(stack, 'SharedKey');
    const replicaKey = kms.Key.fromKeyArn(stack, 'ReplicaKey', 'arn:aws:kms:eu-central-1:111111111111:key/mrk-1234');
    new ManagedSecret(stack, 'Db', { credentials: postgres, encryptionKey: key, replicaRegions: [{ region: 'eu-central-1', encryptionKey: replicaKey }] });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::KMS::Key', 1);
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      ReplicaRegions: [{ Region: 'eu-central-1', KmsKeyId: 'arn:aws:kms:eu-central-1:111111111111:key/mrk-1234' }],
    });
  });

  test('the password policy is shared by generation and rotation', () => {
    const { stack, vpc } = fixture();
    const secret = new ManagedSecret(stack, 'Db', {
      credentials: postgres,
      passwordPolicy: { length: 48, excludeCharacters: '"@/\\' },
      rotation: Rotation.postgresSingleUser({ vpc }),
    });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ PasswordLength: 48, ExcludeCharacters: '"@/\\' }) });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ROTATION_PASSWORD_LENGTH: '48', ROTATION_EXCLUDE_CHARACTERS: '"@/\\' }) },
    });
    expect(secret.rotatedBy?.passwordPolicy).toEqual({ length: 48, excludeCharacters: '"@/\\' });
  });
});

describe('rotation', () => {
  test('a rotation schedule that depends on the invoke permission and the secret policy', () => {
    const { stack, vpc, database } = fixture();
    new ManagedSecret(stack, 'Db', {
      credentials: postgres,
      rotation: Rotation.postgresSingleUser({ vpc, database, schedule: RotationSchedule.after(Duration.days(7)), window: Duration.hours(2) }),
    });
    const t = Template.fromStack(stack);
    t.hasResource('AWS::SecretsManager::RotationSchedule', {
      Properties: {
        SecretId: { Ref: Match.stringLikeRegexp('^Db') },
        RotationLambdaARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RotationFunctionpostgresSingleUser'), 'Arn'] },
        RotateImmediatelyOnUpdate: true,
        RotationRules: { ScheduleExpression: 'rate(7 days)', Duration: '2h' },
      },
      DependsOn: Match.arrayWith([Match.stringLikeRegexp('InvokedBySecretsManager'), Match.stringLikeRegexp('SecretsPolicy1')]),
    });
    // The database's security group lets the function in on the secret's port.
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: 'sg-12345678', FromPort: 5432, ToPort: 5432, IpProtocol: 'tcp' });
  });

  test('the rotation function: newest Node.js, in the VPC, reserved concurrency, DLQ, encrypted logs, TLS required', () => {
    const { stack, vpc } = fixture();
    new ManagedSecret(stack, 'Db', { credentials: postgres, rotation: Rotation.postgresSingleUser({ vpc }) });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Handler: 'index.handler',
      ReservedConcurrentExecutions: 10,
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] } },
      VpcConfig: { SubnetIds: ['subnet-11111111', 'subnet-22222222'], SecurityGroupIds: Match.anyValue() },
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('Logs') } },
      Environment: {
        Variables: {
          ROTATION_STRATEGY: 'single-user',
          ROTATION_PASSWORD_LENGTH: '32',
          ROTATION_EXCLUDE_CHARACTERS: ' "\'\\/@',
          ROTATION_REQUIRE_TLS: 'true',
          NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
        },
      },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365, KmsKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue() });
    t.hasResourceProperties('AWS::Lambda::Permission', { Principal: 'secretsmanager.amazonaws.com', SourceAccount: '111111111111', Action: 'lambda:InvokeFunction' });
  });

  test('the secret is tagged with its database, which the function trusts instead of the secret value', () => {
    const { stack, vpc } = fixture();
    const master = new ManagedSecret(stack, 'Master', { credentials: { ...postgres, username: 'postgres' } });
    const db = new ManagedSecret(stack, 'Db', { credentials: { ...postgres, port: 6432, masterSecret: master }, rotation: Rotation.postgresAlternatingUsers({ vpc }) });
    const t = Template.fromStack(stack);
    const secret = t.findResources('AWS::SecretsManager::Secret')[stack.getLogicalId(db.node.defaultChild as CfnSecret)];
    expect(secret.Properties.Tags).toEqual(expect.arrayContaining([
      { Key: 'cdk-kms-secrets:rotation:engine', Value: 'postgres' },
      { Key: 'cdk-kms-secrets:rotation:host', Value: postgres.host },
      { Key: 'cdk-kms-secrets:rotation:port', Value: '6432' },
      { Key: 'cdk-kms-secrets:rotation:username', Value: 'app' },
      { Key: 'cdk-kms-secrets:rotation:dbname', Value: 'payments' },
      { Key: 'cdk-kms-secrets:rotation:masterarn', Value: { Ref: stack.getLogicalId(master.node.defaultChild as CfnSecret) } },
    ]));
    // The master secret itself is not rotated here: no pin.
    const masterTags = t.findResources('AWS::SecretsManager::Secret')[stack.getLogicalId(master.node.defaultChild as CfnSecret)].Properties.Tags;
    expect(masterTags).toBeUndefined();
  });

  test('a user name that cannot be a tag value is refused when rotation pins it', () => {
    const { stack, vpc } = fixture();
    expect(() => new ManagedSecret(stack, 'Db', { credentials: { ...postgres, username: 'app$1' }, rotation: Rotation.postgresSingleUser({ vpc }) }))
      .toThrow(/^\[cdk-kms-secrets\] ManagedSecret\.credentials\.username: 'app\$1' cannot be a Secrets Manager tag value/);
  });

  test('network and configuration: egress only to the database port and 443, environment under the stack\'s key, ArnEquals on ec2:Vpc', () => {
    const { stack, vpc, database } = fixture();
    new ManagedSecret(stack, 'Db', { credentials: postgres, rotation: Rotation.postgresSingleUser({ vpc, database }) });
    const t = Template.fromStack(stack);
    const [sg] = Object.values(t.findResources('AWS::EC2::SecurityGroup'));
    expect(sg.Properties.SecurityGroupEgress).toEqual([
      { CidrIp: '0.0.0.0/0', Description: 'Secrets Manager API (HTTPS)', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
    ]);
    t.hasResourceProperties('AWS::EC2::SecurityGroupEgress', { DestinationSecurityGroupId: 'sg-12345678', FromPort: 5432, ToPort: 5432, IpProtocol: 'tcp' });
    t.resourceCountIs('AWS::EC2::SecurityGroupEgress', 1);
    // One key in the stack: the secret's (the stack's default) also encrypts the function's environment, logs and queue.
    t.resourceCountIs('AWS::KMS::Key', 1);
    const [fnKey] = Object.keys(t.findResources('AWS::KMS::Key', { Properties: { Description: Match.stringLikeRegexp('^Default key of cdk-kms-secrets') } }));
    t.hasResourceProperties('AWS::Lambda::Function', { KmsKeyArn: { 'Fn::GetAtt': [fnKey, 'Arn'] } });
    const statements = Object.values(t.findResources('AWS::IAM::ManagedPolicy')).flatMap(p => p.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>);
    const eni = statements.find(st => JSON.stringify(st.Action).includes('ec2:CreateNetworkInterface'))!;
    expect(Object.keys(eni.Condition as object)).toEqual(['ArnEquals']);
    const keyPolicy = JSON.stringify(t.findResources('AWS::KMS::Key')[fnKey].Properties.KeyPolicy);
    expect(keyPolicy).toMatch(/kms:Decrypt.*lambda\.eu-west-1\.amazonaws\.com/);
  });

  test('without a database, the function may reach the secret\'s port within the VPC CIDR only', () => {
    const app = new App();
    const stack = new Stack(app, 'S', { env: ENV });
    const vpc = new ec2.Vpc(stack, 'Vpc', { ipAddresses: ec2.IpAddresses.cidr('10.20.0.0/16'), natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    new ManagedSecret(stack, 'Db', { credentials: postgres, rotation: Rotation.postgresSingleUser({ vpc }) });
    const t = Template.fromStack(stack);
    const sgs = Object.values(t.findResources('AWS::EC2::SecurityGroup', { Properties: { GroupDescription: Match.stringLikeRegexp('^Rotation function') } }));
    expect(sgs).toHaveLength(1);
    expect(sgs[0].Properties.SecurityGroupEgress).toEqual([
      { CidrIp: '0.0.0.0/0', Description: 'Secrets Manager API (HTTPS)', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
      { CidrIp: { 'Fn::GetAtt': [stack.getLogicalId(vpc.node.defaultChild as ec2.CfnVPC), 'CidrBlock'] }, Description: 'Rotation of S/Db: the database', FromPort: 5432, IpProtocol: 'tcp', ToPort: 5432 },
    ]);
  });

  test('the role: no AWS managed policy, no inline policy, exactly the secret permissions', () => {
    const { stack, vpc } = fixture();
    const master = new ManagedSecret(stack, 'Master', { credentials: { ...postgres, username: 'postgres' } });
    new ManagedSecret(stack, 'Db', { credentials: { ...postgres, masterSecret: master }, rotation: Rotation.postgresAlternatingUsers({ vpc }) });
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::IAM::Policy', 0);
    const [role] = Object.values(t.findResources('AWS::IAM::Role'));
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
    const policies = Object.values(t.findResources('AWS::IAM::ManagedPolicy')).map(p => p.Properties.PolicyDocument.Statement);
    const secretsPolicy = policies.find(s => s[0].Sid === 'RotateExactlyTheseSecrets')!;
    expect(secretsPolicy).toEqual([
      {
        Sid: 'RotateExactlyTheseSecrets',
        Effect: 'Allow',
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        Resource: [{ Ref: Match.stringLikeRegexp('^Db') }].map(() => expect.objectContaining({ Ref: expect.stringMatching(/^Db/) })),
      },
      {
        Sid: 'UseKeyOnlyViaSecretsManagerForTheseSecrets1',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^CdkKmsSecretsDefaultKey/), 'Arn'] },
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com', 'kms:EncryptionContext:SecretARN': [{ Ref: expect.stringMatching(/^Db/) }] } },
      },
      { Sid: 'ReadMasterSecrets', Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: [{ Ref: expect.stringMatching(/^Master/) }] },
      {
        Sid: 'DecryptMasterSecret1',
        Effect: 'Allow',
        Action: 'kms:Decrypt',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^CdkKmsSecretsDefaultKey/), 'Arn'] },
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com', 'kms:EncryptionContext:SecretARN': { Ref: expect.stringMatching(/^Master/) } } },
      },
    ]);
    expect(JSON.stringify(policies)).not.toContain('GetRandomPassword');
  });

  test('one shared function per engine, strategy and placement; a separate one for another strategy', () => {
    const { stack, vpc } = fixture();
    const master = new ManagedSecret(stack, 'Master', { credentials: { ...postgres, username: 'postgres' } });
    for (let i = 0; i < 5; i++) {
      new ManagedSecret(stack, `Single${i}`, { credentials: { ...postgres, username: `app${i}` }, rotation: Rotation.postgresSingleUser({ vpc }) });
    }
    new ManagedSecret(stack, 'Alt', { credentials: { ...postgres, masterSecret: master }, rotation: Rotation.postgresAlternatingUsers({ vpc }) });
    new ManagedSecret(stack, 'My', { credentials: { ...postgres, engine: DatabaseEngine.MARIADB, port: 3306 }, rotation: Rotation.mysqlSingleUser({ vpc }) });
    Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 3);
  });

  test('an explicit RotationFunction can be shared across stacks', () => {
    const { app, stack, vpc } = fixture();
    const other = new Stack(app, 'Other', { env: ENV });
    const fn = new RotationFunction(stack, 'Shared', { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc });
    new ManagedSecret(other, 'Db', { credentials: postgres, rotation: Rotation.postgresSingleUser({ vpc, rotationFunction: fn }) });
    Template.fromStack(other).resourceCountIs('AWS::Lambda::Function', 0);
    Template.fromStack(other).hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationLambdaARN: { 'Fn::ImportValue': Match.anyValue() } });
    expect(() => app.synth()).not.toThrow();
  });

  test('a custom rotation uses your function, with an invoke permission limited to the account', () => {
    const { stack } = fixture();
    const fn = lambda.Function.fromFunctionArn(stack, 'Mine', 'arn:aws:lambda:eu-west-1:111111111111:function:my-rotation');
    new ManagedSecret(stack, 'Token', { rotation: Rotation.custom({ function: fn, schedule: RotationSchedule.expression('cron(0 4 ? * SUN *)') }) });
    const t = Template.fromStack(stack);
    t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      RotationLambdaARN: 'arn:aws:lambda:eu-west-1:111111111111:function:my-rotation',
      RotationRules: { ScheduleExpression: 'cron(0 4 ? * SUN *)' },
    });
    t.hasResourceProperties('AWS::Lambda::Permission', { Principal: 'secretsmanager.amazonaws.com', SourceAccount: '111111111111' });
  });

  test('the Secrets Manager interface endpoint can be created with the function', () => {
    const { stack } = fixture();
    const vpc = new ec2.Vpc(stack, 'Own', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    new RotationFunction(stack, 'Fn', { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc, createSecretsManagerEndpoint: true });
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceName: 'com.amazonaws.eu-west-1.secretsmanager', VpcEndpointType: 'Interface', PrivateDnsEnabled: true });
  });

  test('150 rotated PostgreSQL secrets: one rotation function, under 500 resources', () => {
    const { stack, vpc } = fixture();
    const key = new CustomerManagedKey(stack, 'Key');
    for (let i = 0; i < 150; i++) {
      new ManagedSecret(stack, `Db${i}`, { encryptionKey: key, credentials: { ...postgres, username: `app${i}` }, rotation: Rotation.postgresSingleUser({ vpc }) });
    }
    const t = Template.fromStack(stack);
    t.resourceCountIs('AWS::Lambda::Function', 1);
    t.resourceCountIs('AWS::SecretsManager::RotationSchedule', 150);
    const resources = Object.keys(t.toJSON().Resources).length;
    expect(resources).toBeLessThan(500);
    expect(resources).toBeLessThanOrEqual(150 * 3 + 25);
    // Each managed policy stays under IAM's 6,144-character limit.
    for (const p of Object.values(t.findResources('AWS::IAM::ManagedPolicy'))) {
      expect(JSON.stringify(p.Properties.PolicyDocument).length).toBeLessThan(6144);
    }
  });
});

/** Whether the template's resources depend on each other in a cycle (Ref, Fn::GetAtt, DependsOn). */
function dependencyCycle(template: Record<string, any>): string[] | undefined {
  const resources = template.Resources as Record<string, any>;
  const deps = (node: unknown, out: Set<string>): Set<string> => {
    if (Array.isArray(node)) {node.forEach(n => deps(n, out));} else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'Ref' && typeof v === 'string' && v in resources) out.add(v);
        else if (k === 'Fn::GetAtt' && Array.isArray(v) && v[0] in resources) out.add(v[0]);
        else deps(v, out);
      }
    }
    return out;
  };
  const edges = new Map(Object.entries(resources).map(([id, r]) => [id, deps(r.Properties, new Set<string>([...(r.DependsOn ?? [])].flat()))]));
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path, id];
    state.set(id, 'visiting');
    for (const next of edges.get(id) ?? []) {
      const cycle = visit(next, [...path, id]);
      if (cycle) return cycle;
    }
    state.set(id, 'done');
    return undefined;
  };
  for (const id of edges.keys()) {
    const cycle = visit(id, []);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('a secret attached to its RDS database (host written after deploy)', () => {
  function attachedFixture() {
    const app = new App();
    const stack = new Stack(app, 'Attached', { env: ENV });
    const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const secret = new ManagedSecret(stack, 'Master', {
      credentials: { engine: DatabaseEngine.POSTGRES, host: 'set-by-the-rds-secret-attachment.invalid', username: 'postgres' },
    });
    return { app, stack, vpc, secret };
  }
  const newInstance = (stack: Stack, vpc: ec2.IVpc, secret: ManagedSecret, id = 'Database') => new rds.DatabaseInstance(stack, id, {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    credentials: rds.Credentials.fromSecret(secret),
  });

  test('the function\'s configuration pins the instance\'s endpoint, the tags name no host, the schedule waits for the attachment, no cycle', () => {
    const { stack, vpc, secret } = attachedFixture();
    const instance = newInstance(stack, vpc, secret);
    secret.addRotation(Rotation.postgresSingleUser({ vpc, database: instance }));
    const t = Template.fromStack(stack);
    const secretId = stack.getLogicalId(secret.node.defaultChild as CfnSecret);
    const instanceId = stack.getLogicalId(instance.node.defaultChild as rds.CfnDBInstance);
    const tags = t.toJSON().Resources[secretId].Properties.Tags as Array<{ Key: string }>;
    expect(tags).toEqual(expect.arrayContaining([
      { Key: 'cdk-kms-secrets:rotation:engine', Value: 'postgres' },
      { Key: 'cdk-kms-secrets:rotation:endpoint', Value: 'rotation-function' },
      { Key: 'cdk-kms-secrets:rotation:username', Value: 'postgres' },
    ]));
    expect(tags.map(tag => tag.Key)).not.toEqual(expect.arrayContaining(['cdk-kms-secrets:rotation:host']));
    expect(tags.map(tag => tag.Key)).not.toEqual(expect.arrayContaining(['cdk-kms-secrets:rotation:port']));
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          ROTATION_PINNED_ENDPOINTS: {
            'Fn::Join': ['', ['{"', { Ref: secretId }, '":"', { 'Fn::GetAtt': [instanceId, 'Endpoint.Address'] }, ':', { 'Fn::GetAtt': [instanceId, 'Endpoint.Port'] }, '"}']],
          },
        }),
      },
    });
    expect(JSON.stringify(t.toJSON())).not.toMatch(/ROTATION_PINNED_ENDPOINTS[^}]*set-by-the-rds-secret-attachment/);
    const [attachmentId] = Object.keys(t.findResources('AWS::SecretsManager::SecretTargetAttachment'));
    t.hasResource('AWS::SecretsManager::RotationSchedule', { DependsOn: Match.arrayWith([attachmentId]) });
    expect(dependencyCycle(t.toJSON())).toBeUndefined();
  });

  test('a secret without attachment keeps its host in the tags and the function has no pinned endpoints', () => {
    const { stack, vpc } = fixture();
    new ManagedSecret(stack, 'Db', { credentials: postgres, rotation: Rotation.postgresSingleUser({ vpc }) });
    const t = Template.fromStack(stack);
    const [fn] = Object.values(t.findResources('AWS::Lambda::Function'));
    expect(fn.Properties.Environment.Variables.ROTATION_PINNED_ENDPOINTS).toBeUndefined();
  });

  test('an explicit databaseEndpoint is pinned the same way', () => {
    const { stack, vpc } = fixture();
    new ManagedSecret(stack, 'Db', {
      credentials: postgres,
      rotation: Rotation.postgresSingleUser({ vpc, databaseEndpoint: new rds.Endpoint('db.abc.eu-west-1.rds.amazonaws.com', 5433) }),
    });
    const t = Template.fromStack(stack);
    const [fn] = Object.values(t.findResources('AWS::Lambda::Function'));
    expect(JSON.stringify(fn.Properties.Environment.Variables.ROTATION_PINNED_ENDPOINTS)).toContain('db.abc.eu-west-1.rds.amazonaws.com:5433');
  });

  test('attached, but the rotation does not name the database: refused with the fix', () => {
    const { stack, vpc, secret } = attachedFixture();
    newInstance(stack, vpc, secret);
    expect(() => secret.addRotation(Rotation.postgresSingleUser({ vpc }))).toThrow(
      /^\[cdk-kms-secrets\] ManagedSecret\.rotation\.database: Attached\/Master is attached to a database \(Attached\/Master\/Attachment\), which writes its host after deploy.*Pass `database`/s);
  });

  test('attached after addRotation: a synth-time error', () => {
    const { stack, vpc, secret } = attachedFixture();
    secret.addRotation(Rotation.postgresSingleUser({ vpc }));
    newInstance(stack, vpc, secret);
    expect(() => Template.fromStack(stack)).toThrow(/Attached\/Master was attached to a database after addRotation.*Call addRotation after creating the database/s);
  });

  test('the function\'s 4 KB environment: a clear error when pinned endpoints would not fit', () => {
    const { stack, vpc } = fixture();
    const rotationFunction = new RotationFunction(stack, 'Shared', { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc });
    const add = (i: number) => new ManagedSecret(stack, `Db${i}`, {
      credentials: postgres,
      rotation: Rotation.postgresSingleUser({ vpc, rotationFunction, databaseEndpoint: new rds.Endpoint(`db${i}.abc.eu-west-1.rds.amazonaws.com`, 5432) }),
    });
    let fitted = 0;
    let error: Error | undefined;
    for (let i = 0; i < 40 && !error; i++) {
      try {
        add(i);
        fitted++;
      } catch (err) {
        error = err as Error;
      }
    }
    expect(fitted).toBeGreaterThanOrEqual(10);
    expect(error?.message).toMatch(/^\[cdk-kms-secrets\] RotationFunction\.environment: pinning the endpoint of Secrets\/Db\d+ would bring the environment of Secrets\/Shared to \d+ bytes .* over Lambda's 4096.*another RotationFunction/s);
    // What was accepted fits once deployed, with the longest names AWS can give: the name CloudFormation generates for
    // each secret (logical ID, dash, 12 characters) in the longest partition, and 123-character RDS endpoint addresses.
    const t = Template.fromStack(stack);
    const [fn] = Object.values(t.findResources('AWS::Lambda::Function'));
    const vars = fn.Properties.Environment.Variables as Record<string, unknown>;
    const secretIds = Array.from({ length: fitted }, (_, i) => stack.getLogicalId(stack.node.findChild(`Db${i}`).node.defaultChild as CfnSecret));
    const entries = secretIds.map(id => `"arn:aws-us-gov:secretsmanager:eu-west-1:111111111111:secret:${id}-${'x'.repeat(12)}-AbCdEf":"${'h'.repeat(123)}:65535"`);
    const size = Object.entries(vars).reduce((n, [k, v]) => n + k.length + (k === 'ROTATION_PINNED_ENDPOINTS' ? `{${entries.join(',')}}`.length : String(v).length), 0);
    expect(size).toBeLessThanOrEqual(4096);
    expect(size).toBeGreaterThan(4096 - 300);
    expect(size).toBeLessThanOrEqual(4096);
  });

  test('a function of another stack cannot pin an endpoint', () => {
    const { app, stack, vpc } = fixture();
    const other = new Stack(app, 'Functions', { env: ENV });
    const otherVpc = ec2.Vpc.fromVpcAttributes(other, 'Vpc', { vpcId: 'vpc-12345678', availabilityZones: ['eu-west-1a'], privateSubnetIds: ['subnet-11111111'] });
    const rotationFunction = new RotationFunction(other, 'Shared', { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc: otherVpc });
    expect(() => new ManagedSecret(stack, 'Db', {
      credentials: postgres,
      rotation: Rotation.postgresSingleUser({ vpc, rotationFunction, databaseEndpoint: new rds.Endpoint('db.abc.eu-west-1.rds.amazonaws.com', 5432) }),
    })).toThrow(/^\[cdk-kms-secrets\] RotationFunction\.databaseEndpoint: Secrets\/Db is in stack Secrets and Functions\/Shared in Functions/);
  });
});

describe('bad configurations fail at synth time with the property and the fix', () => {
  const cases: Array<[string, (f: ReturnType<typeof fixture>) => void, RegExp]> = [
    ['a plaintext secret value', f => new ManagedSecret(f.stack, 'S', { secretValue: SecretValue.unsafePlainText('hunter2') }),
      /ManagedSecret\.secretValue: is plaintext.*Fix: Use SecretValue\.ssmSecure/],
    ['credentials and a secret value', f => new ManagedSecret(f.stack, 'S', { credentials: postgres, secretValue: SecretValue.ssmSecure('/x') }),
      /secretValue: and `credentials` are both set/],
    ['a password shorter than 16', f => new ManagedSecret(f.stack, 'S', { passwordPolicy: { length: 8 } }),
      /ManagedSecret\.passwordPolicy\.length: 8 is outside 16-128/],
    ['excluding every digit', f => new ManagedSecret(f.stack, 'S', { passwordPolicy: { excludeCharacters: '0123456789' } }),
      /passwordPolicy\.excludeCharacters: excludes every lowercase letter, uppercase letter or digit/],
    ['an invalid user name', f => new ManagedSecret(f.stack, 'S', { credentials: { ...postgres, username: 'app; drop table x' } }),
      /ManagedSecret\.credentials\.username: 'app; drop table x' is not a valid database user name/],
    ['a port out of range', f => new ManagedSecret(f.stack, 'S', { credentials: { ...postgres, port: 70000 } }),
      /credentials\.port: 70000 is not a TCP port/],
    ['rotation without credentials', f => new ManagedSecret(f.stack, 'S', { rotation: Rotation.postgresSingleUser({ vpc: f.vpc }) }),
      /ManagedSecret\.credentials: is required for single-user rotation/],
    ['a PostgreSQL rotation for a MySQL secret', f => new ManagedSecret(f.stack, 'S', { credentials: { ...postgres, engine: DatabaseEngine.MYSQL }, rotation: Rotation.postgresSingleUser({ vpc: f.vpc }) }),
      /rotation\.engine: a postgres rotation cannot rotate a mysql secret.*Rotation\.mysql/],
    ['alternating users without a master secret', f => new ManagedSecret(f.stack, 'S', { credentials: postgres, rotation: Rotation.postgresAlternatingUsers({ vpc: f.vpc }) }),
      /credentials\.masterSecret: is required for alternating-users rotation/],
    ['a schedule under 4 hours', () => RotationSchedule.after(Duration.hours(2)),
      /RotationSchedule\.after\.interval: 2 hours is outside the 4 hours to 1,000 days/],
    ['a schedule over 1,000 days', () => RotationSchedule.after(Duration.days(1001)),
      /1001 days is outside the 4 hours to 1,000 days/],
    ['a rate expression under 4 hours', () => RotationSchedule.expression('rate(3 hours)'),
      /'rate\(3 hours\)' is outside the 4 hours to 1,000 days/],
    ['a malformed expression', () => RotationSchedule.expression('every sunday'),
      /'every sunday' is neither rate\(N hours\|days\) nor a six-field cron/],
    ['a window longer than the schedule', f => new ManagedSecret(f.stack, 'S', { credentials: postgres, rotation: Rotation.postgresSingleUser({ vpc: f.vpc, schedule: RotationSchedule.after(Duration.hours(6)), window: Duration.hours(8) }) }),
      /rotation\.window: 8 hours is not shorter than the rotation interval/],
    ['a window over 24 hours', f => new ManagedSecret(f.stack, 'S', { credentials: postgres, rotation: Rotation.postgresSingleUser({ vpc: f.vpc, window: Duration.hours(30) }) }),
      /rotation\.window: 1 day 6 hours is not 1 to 24 whole hours/],
    ['a rotation function of another engine', f => {
      const fn = new RotationFunction(f.stack, 'Fn', { engine: DatabaseEngine.MYSQL, strategy: RotationStrategy.SINGLE_USER, vpc: f.vpc });
      new ManagedSecret(f.stack, 'S', { credentials: postgres, rotation: Rotation.postgresSingleUser({ vpc: f.vpc, rotationFunction: fn }) });
    }, /rotation\.rotationFunction: Secrets\/Fn rotates mysql secrets \(single-user\), not postgres/],
    ['a second rotation', f => {
      const s = new ManagedSecret(f.stack, 'S', { credentials: postgres, rotation: Rotation.postgresSingleUser({ vpc: f.vpc }) });
      s.addRotation(Rotation.postgresSingleUser({ vpc: f.vpc }));
    }, /ManagedSecret\.rotation: Secrets\/S already rotates/],
    ['zero reserved concurrency', f => new RotationFunction(f.stack, 'Fn', { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc: f.vpc, reservedConcurrentExecutions: 0 }),
      /RotationFunction\.reservedConcurrentExecutions: 0 is not a positive whole number/],
  ];

  test.each(cases)('%s', (_name, build, message) => {
    expect(() => build(fixture())).toThrow(message);
  });
});

describe('compliance: the four nag packs and cfn-lint', () => {
  const optionSets: Array<[string, (f: ReturnType<typeof fixture>) => ManagedSecretProps[]]> = [
    ['a generated secret with a custom rotation', f => [{ rotation: Rotation.custom({ function: lambda.Function.fromFunctionArn(f.stack, 'Mine', 'arn:aws:lambda:eu-west-1:111111111111:function:rotate') }) }]],
    ['PostgreSQL single user', f => [{ credentials: postgres, rotation: Rotation.postgresSingleUser({ vpc: f.vpc, database: f.database }) }]],
    ['PostgreSQL alternating users', f => {
      const master = new ManagedSecret(f.stack, 'Master', { credentials: { ...postgres, username: 'postgres' }, rotation: Rotation.postgresSingleUser({ vpc: f.vpc }) });
      const rotation = Rotation.postgresAlternatingUsers({ vpc: f.vpc, window: Duration.hours(3) });
      return [{ credentials: { ...postgres, masterSecret: master }, rotation }];
    }],
    ['MariaDB single user and MySQL alternating users', f => {
      const master = new ManagedSecret(f.stack, 'Master', { credentials: { ...postgres, engine: DatabaseEngine.MYSQL, username: 'admin' }, rotation: Rotation.mysqlSingleUser({ vpc: f.vpc }) });
      return [
        { credentials: { ...postgres, engine: DatabaseEngine.MARIADB }, rotation: Rotation.mysqlSingleUser({ vpc: f.vpc }) },
        {
          credentials: { ...postgres, engine: DatabaseEngine.MYSQL, masterSecret: master },
          rotation: Rotation.mysqlAlternatingUsers({ vpc: f.vpc }),
        },
      ];
    }],
  ];

  test.each(optionSets)('%s', (_name, build) => {
    const f = fixture();
    const role = new iam.Role(f.stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    build(f).forEach((props, i) => new ManagedSecret(f.stack, `Secret${i}`, props).node.addDependency(role));
    const report = checkCompliance(f.stack);
    expect(describeFindings(unexpectedFindings(report.all))).toBe('');
  });

  test('a secret without rotation is flagged by the packs that require rotation, as it should be', () => {
    const f = fixture();
    new ManagedSecret(f.stack, 'Unrotated', { credentials: postgres });
    expect(checkCompliance(f.stack).all.map(x => x.rule).sort()).toEqual([
      'AwsSolutions-SMG4', 'HIPAA.Security-SecretsManagerRotationEnabled', 'KeysAndSecrets-SM2', 'NIST.800.53.R5-SecretsManagerRotationEnabled',
    ]);
  });

  test('the only findings are the two documented IAM5 wildcards of the logging-and-network policy', () => {
    const f = fixture();
    new ManagedSecret(f.stack, 'Db', { credentials: postgres, rotation: Rotation.postgresSingleUser({ vpc: f.vpc }) });
    const rules = checkCompliance(f.stack).all.map(x => x.rule).sort();
    expect(rules).toEqual([
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::\*\]$/),
      expect.stringMatching(/^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:logs:.*:log-stream:\*\]$/),
    ].sort((a, b) => String(a).localeCompare(String(b))));
    expect(rules).toHaveLength(2);
  });
});
