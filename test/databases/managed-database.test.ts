/**
 * ManagedDatabase on an RDS instance, Aurora PostgreSQL and Aurora MySQL: the
 * master user (library-rotated or RDS-managed), application users with their
 * attachments, deploy-time creation and ordering, the rotation function's
 * network, the proxy, and the errors for bad input.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as rds from 'aws-cdk-lib/aws-rds';
import { database, Kind, vpcOf } from './fixture';
import {
  CustomerManagedKey, DatabaseEngine, KeysAndSecretsMonitoring, ManagedDatabase, ManagedSecret, MasterUser, Rotation, RotationStrategy,
} from '../../src';
import { TEST_STACK_ENV } from '../support/iam-eval';

type Resources = Record<string, { Type: string; Properties?: any; DependsOn?: string | string[] }>;
const resourcesOf = (stack: Stack) => Template.fromStack(stack).toJSON().Resources as Resources;
const idOf = (stack: Stack, c: { node: { defaultChild?: unknown } } | unknown) => stack.getLogicalId(((c as any).node.defaultChild ?? c) as any);
const dependsOn = (r: { DependsOn?: string | string[] }) => [r.DependsOn ?? []].flat();

const KINDS: Kind[] = ['postgres-instance', 'mysql-instance', 'mariadb-instance', 'aurora-postgres', 'aurora-mysql'];

describe.each(KINDS)('%s with a library-rotated master and two application users', kind => {
  const w = database(kind);
  const app = w.database.addUser('App', { username: 'payments_app' });
  const reporting = w.database.addUser('Reporting', { username: 'reporting', strategy: RotationStrategy.ALTERNATING_USERS });
  const resources = resourcesOf(w.stack);
  const dbConstruct = (w.instance ?? w.cluster)!;
  const dbId = idOf(w.stack, dbConstruct);
  const keyId = idOf(w.stack, w.key);

  test('every secret is on the app\'s key', () => {
    const secrets = Object.values(resources).filter(r => r.Type === 'AWS::SecretsManager::Secret');
    expect(secrets).toHaveLength(3);
    for (const s of secrets) expect(s.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
  });

  test('the master secret has no placeholder host, is attached to the database, and rotates after it', () => {
    const master = resources[idOf(w.stack, w.master.secret!)];
    expect(master.Properties.GenerateSecretString.SecretStringTemplate).not.toMatch(/host/);
    const schedule = resources[idOf(w.stack, w.master.secret!.node.findChild('RotationSchedule'))];
    const attachment = idOf(w.stack, w.master.secret!.node.findChild('Attachment'));
    expect(dependsOn(schedule)).toEqual(expect.arrayContaining([dbId, attachment]));
  });

  test.each(['App', 'Reporting'])('the %s secret takes host, port, dbname and engine from the database (no placeholder, no cycle)', id => {
    const user = id === 'App' ? app : reporting;
    const secret = resources[idOf(w.stack, user.secret)];
    const text = JSON.stringify(secret.Properties.GenerateSecretString.SecretStringTemplate);
    const endpointAttr = w.instance ? 'Endpoint.Address' : 'Endpoint.Address';
    expect(text).toContain(JSON.stringify([dbId, endpointAttr]).slice(1, -1));
    expect(text).toContain('\\"dbname\\":\\"payments\\"');
    expect(text).toContain(`\\"engine\\":\\"${w.master.engine}\\"`);
    // The database never depends on an application secret (that would be the cycle of F3004).
    expect(JSON.stringify(resources[dbId])).not.toContain(idOf(w.stack, user.secret));
  });

  test.each(['App', 'Reporting'])('the %s rotation schedule DependsOn the database, its attachment and the DatabaseUser', id => {
    const user = id === 'App' ? app : reporting;
    const schedule = resources[idOf(w.stack, user.rotationSchedule)];
    expect(dependsOn(schedule)).toEqual(expect.arrayContaining([
      dbId, idOf(w.stack, user.attachment), idOf(w.stack, user.user.resource),
    ]));
    const attachment = resources[idOf(w.stack, user.attachment)];
    expect(attachment.Properties.SecretId).toEqual({ Ref: idOf(w.stack, user.secret) });
    expect(attachment.Properties.TargetType).toBe(w.instance ? 'AWS::RDS::DBInstance' : 'AWS::RDS::DBCluster');
  });

  test('the users are created by the DatabaseUser custom resource, the alternating one knows its master', () => {
    const users = Object.values(resources).filter(r => r.Type === 'Custom::DatabaseUser');
    expect(users).toHaveLength(2);
    expect(reporting.secret.credentials?.masterSecret).toBe(w.master.secret);
    expect(app.secret.credentials?.masterSecret).toBeUndefined();
  });

  test('the database is opened to the rotation functions on its real port, and the endpoint is pinned in the function', () => {
    const ingress = Object.values(resources).filter(r => r.Type === 'AWS::EC2::SecurityGroupIngress' && /Rotation/.test(r.Properties.Description ?? ''));
    expect(ingress.length).toBeGreaterThan(0);
    // A literal (the engine's port here), so the nag packs can judge the rule.
    for (const r of ingress) expect(r.Properties.FromPort).toBe(w.database.port);
    expect(w.database.port).toBe(w.master.engine === DatabaseEngine.POSTGRES ? 5432 : 3306);
    const functions = Object.values(resources).filter(r => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.ROTATION_STRATEGY);
    expect(functions).toHaveLength(2); // single-user and alternating-users, shared by the master and the users
    for (const f of functions) expect(JSON.stringify(f.Properties.Environment.Variables.ROTATION_PINNED_ENDPOINTS)).toContain(dbId);
  });

  test('the storage key policy lets RDS create its grants through RDS only', () => {
    const policy = resources[keyId].Properties.KeyPolicy.Statement as Array<{ Sid: string; Condition: unknown }>;
    expect(policy.find(s => s.Sid === 'AccountCreatesGrantsForAwsResourcesViaService')?.Condition).toEqual({
      StringEquals: { 'kms:ViaService': 'rds.eu-west-1.amazonaws.com', 'kms:CallerAccount': '111111111111' },
      Bool: { 'kms:GrantIsForAWSResource': 'true' },
    });
  });
});

describe('an RDS-managed master user', () => {
  const w = database('postgres-instance', true);
  const app = w.database.addUser('App', { username: 'payments_app', strategy: RotationStrategy.ALTERNATING_USERS });
  const resources = resourcesOf(w.stack);
  const dbId = idOf(w.stack, w.instance);

  test('RDS manages the password on our key; no MasterUserPassword, no aws-cdk-lib secret', () => {
    const db = resources[dbId].Properties;
    expect(db.ManageMasterUserPassword).toBe(true);
    expect(db.MasterUserSecret).toEqual({ KmsKeyId: { 'Fn::GetAtt': [idOf(w.stack, w.key), 'Arn'] } });
    expect(db.MasterUserPassword).toBeUndefined();
    expect(db.MasterUsername).toBe('postgres');
    expect(Object.values(resources).filter(r => r.Type === 'AWS::SecretsManager::Secret')).toHaveLength(1);
  });

  test('its rotation is a managed schedule (no function) after the database', () => {
    const schedule = resources[idOf(w.stack, w.database.masterRotationSchedule)];
    expect(schedule.Properties.SecretId).toEqual({ 'Fn::GetAtt': [dbId, 'MasterUserSecret.SecretArn'] });
    expect(schedule.Properties.RotationLambdaARN).toBeUndefined();
    expect(schedule.Properties.RotationRules).toEqual({ ScheduleExpression: 'rate(30 days)' });
    // Ordered after the database by its SecretId (a DependsOn would repeat it: cfn-lint W3005).
    expect(dependsOn(schedule)).not.toContain(dbId);
  });

  test('the key lets the account encrypt RDS\'s rds!... secrets through Secrets Manager only', () => {
    const policy = resources[idOf(w.stack, w.key)].Properties.KeyPolicy.Statement as Array<{ Sid: string; Condition: any; Action: unknown }>;
    const viaSm = policy.filter(s => s.Condition?.StringEquals?.['kms:ViaService'] === 'secretsmanager.eu-west-1.amazonaws.com' && s.Condition?.StringLike);
    expect(viaSm.map(s => s.Condition.StringLike)).toContainEqual({ 'kms:EncryptionContext:SecretARN': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:eu-west-1:111111111111:secret:rds!*']] } });
  });

  test('an alternating application user rotates with the RDS-managed master secret', () => {
    const tags = resources[idOf(w.stack, app.secret)].Properties.Tags as Array<{ Key: string; Value: unknown }>;
    expect(tags).toContainEqual({ Key: 'cdk-kms-secrets:rotation:masterarn', Value: { 'Fn::GetAtt': [dbId, 'MasterUserSecret.SecretArn'] } });
  });

  test('credentials of MasterUser.rdsManaged on a database no ManagedDatabase manages fail at synth', () => {
    const stack = new Stack(new App(), 'Unbound', { env: TEST_STACK_ENV });
    const key = new CustomerManagedKey(stack, 'Key');
    new rds.DatabaseInstance(stack, 'Db', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17_5 }),
      vpc: vpcOf(stack),
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      storageEncryptionKey: key,
      credentials: MasterUser.rdsManaged({ encryptionKey: key }).credentials,
    });
    expect(() => Template.fromStack(stack)).toThrow(/MasterUser.rdsManaged.credentials: were given to a database that no ManagedDatabase manages/);
  });
});

describe('behind an RDS Proxy', () => {
  test('each single-user secret becomes an auth entry of the proxy, which may read it', () => {
    const w = database('postgres-instance');
    const proxy = w.instance!.addProxy('Proxy', { secrets: [w.master.secret!], vpc: w.vpc });
    const app = w.database.addUser('App', { username: 'payments_app' });
    w.database.useProxy(proxy);
    const later = w.database.addUser('Later', { username: 'later_app' });
    const resources = resourcesOf(w.stack);
    const cfn = Object.values(resources).find(r => r.Type === 'AWS::RDS::DBProxy')!;
    const arns = (cfn.Properties.Auth as Array<{ SecretArn: unknown }>).map(a => a.SecretArn);
    expect(arns).toEqual([
      { Ref: idOf(w.stack, w.master.secret) }, { Ref: idOf(w.stack, app.secret) }, { Ref: idOf(w.stack, later.secret) },
    ]);
    const proxyRole = idOf(w.stack, proxy.node.findChild('IAMRole'));
    const readers = Object.values(resources).filter(r => (r.Type === 'AWS::IAM::ManagedPolicy' || r.Type === 'AWS::IAM::Policy')
      && JSON.stringify(r.Properties.Roles ?? []).includes(proxyRole) && JSON.stringify(r.Properties.PolicyDocument).includes('secretsmanager:GetSecretValue'));
    const text = JSON.stringify(readers);
    expect(text).toContain(idOf(w.stack, app.secret));
    expect(text).toContain(idOf(w.stack, later.secret));
  });

  test('alternating users behind a proxy are refused, before or after useProxy', () => {
    const w = database('postgres-instance');
    const proxy = w.instance!.addProxy('Proxy', { secrets: [w.master.secret!], vpc: w.vpc });
    w.database.addUser('Alt', { username: 'alt', strategy: RotationStrategy.ALTERNATING_USERS });
    expect(() => w.database.useProxy(proxy)).toThrow(/addUser.strategy: 'alt' rotates with alternating users.*RDS Proxy.*Fix: Use RotationStrategy.SINGLE_USER/s);
    const v = database('postgres-instance');
    v.database.useProxy(v.instance!.addProxy('Proxy', { secrets: [v.master.secret!], vpc: v.vpc }));
    expect(() => v.database.addUser('Alt', { username: 'alt', strategy: RotationStrategy.ALTERNATING_USERS })).toThrow(/alternating users.*RDS Proxy/s);
  });
});

describe('bad input: clear synth-time errors', () => {
  const base = () => {
    const stack = new Stack(new App(), 'Bad', { env: TEST_STACK_ENV });
    const key = new CustomerManagedKey(stack, 'Key');
    return { stack, key, vpc: vpcOf(stack) };
  };
  const instance = (b: ReturnType<typeof base>, props: Partial<rds.DatabaseInstanceProps>) => new rds.DatabaseInstance(b.stack, 'Db', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17_5 }),
    vpc: b.vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    storageEncryptionKey: b.key,
    ...props,
  });

  test('neither or both of instance and cluster', () => {
    const b = base();
    const master = MasterUser.rdsManaged({ encryptionKey: b.key });
    expect(() => new ManagedDatabase(b.stack, 'M', { masterUser: master, databaseName: 'p' })).toThrow(/ManagedDatabase.instance: and `cluster` are neither given/);
  });

  test('a master user of another engine (wrong engine for the strategy)', () => {
    const b = base();
    const master = MasterUser.libraryRotated(b.stack, 'Master', { engine: DatabaseEngine.MYSQL, encryptionKey: b.key });
    const db = instance(b, { credentials: master.credentials });
    expect(() => new ManagedDatabase(b.stack, 'M', { instance: db, masterUser: master, databaseName: 'p' })).toThrow(/masterUser: is a mysql master user, and the instance runs postgres.*Fix: Create the MasterUser with engine DatabaseEngine.POSTGRES/s);
  });

  test('an engine the library does not rotate', () => {
    const b = base();
    const master = MasterUser.rdsManaged({ encryptionKey: b.key });
    const db = new rds.DatabaseInstance(b.stack, 'Db', {
      engine: rds.DatabaseInstanceEngine.sqlServerEx({ version: rds.SqlServerEngineVersion.VER_16 }),
      vpc: b.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      storageEncryptionKey: b.key,
      credentials: master.credentials,
    });
    expect(() => new ManagedDatabase(b.stack, 'M', { instance: db, masterUser: master, databaseName: 'p' })).toThrow(/instance: runs sqlserver-ex, which this library does not rotate/);
  });

  test('storage not on a customer-managed key', () => {
    const b = base();
    const master = MasterUser.rdsManaged({ encryptionKey: b.key });
    const db = instance(b, { storageEncryptionKey: undefined, storageEncrypted: true, credentials: master.credentials });
    expect(() => new ManagedDatabase(b.stack, 'M', { instance: db, masterUser: master, databaseName: 'p' })).toThrow(/instance: stores its data on the AWS-managed key aws\/rds.*Fix: Pass `storageEncryptionKey: key`/s);
  });

  test('the database created with other credentials (an aws-cdk-lib secret on the AWS-managed key)', () => {
    const b = base();
    const master = MasterUser.libraryRotated(b.stack, 'Master', { engine: DatabaseEngine.POSTGRES, encryptionKey: b.key });
    const db = instance(b, { credentials: rds.Credentials.fromGeneratedSecret('postgres') });
    expect(() => new ManagedDatabase(b.stack, 'M', { instance: db, masterUser: master, databaseName: 'p' })).toThrow(/masterUser: .*Master is not the master secret of .*Db.*Fix: Create the database with `credentials: masterUser.credentials`/s);
    const c = base();
    const rdsManaged = MasterUser.rdsManaged({ encryptionKey: c.key });
    const db2 = instance(c, { credentials: rds.Credentials.fromGeneratedSecret('postgres') });
    expect(() => new ManagedDatabase(c.stack, 'M', { instance: db2, masterUser: rdsManaged, databaseName: 'p' })).toThrow(/masterUser: is RDS-managed, and .*Db has a secret of its own/);
  });

  test('a master user name that is not the database\'s', () => {
    const b = base();
    const master = MasterUser.rdsManaged({ encryptionKey: b.key, username: 'dba' });
    const db = instance(b, { credentials: MasterUser.rdsManaged({ encryptionKey: b.key }).credentials });
    expect(() => new ManagedDatabase(b.stack, 'M', { instance: db, masterUser: master, databaseName: 'p' })).toThrow(/masterUser: is 'dba', and the instance was created with master user 'postgres'/);
  });

  test('application users: the master\'s name, a duplicate, a bad database name', () => {
    const w = database('postgres-instance');
    expect(() => w.database.addUser('A', { username: 'postgres' })).toThrow(/addUser.username: 'postgres' is the master user/);
    w.database.addUser('B', { username: 'b' });
    expect(() => w.database.addUser('C', { username: 'b' })).toThrow(/addUser.username: 'b' is already a user/);
    const b = base();
    const master = MasterUser.rdsManaged({ encryptionKey: b.key });
    const db = instance(b, { credentials: master.credentials });
    expect(() => new ManagedDatabase(b.stack, 'M', { instance: db, masterUser: master, databaseName: 'pay-ments; drop' })).toThrow(/databaseName: 'pay-ments; drop' is not a database name/);
  });

  test('a proxy with a role of its own is refused with what to do', () => {
    const w = database('postgres-instance');
    const role = new iam.Role(w.stack, 'ProxyRole', { assumedBy: new iam.ServicePrincipal('rds.amazonaws.com') });
    const proxy = w.instance!.addProxy('Proxy', { secrets: [w.master.secret!], vpc: w.vpc, role });
    expect(() => w.database.useProxy(proxy)).toThrow(/useProxy.proxy: .*was given a role of its own.*Fix: Leave the proxy's `role` out/s);
  });

  test('a library-rotated secret without host cannot rotate unattached', () => {
    const b = base();
    const secret = new ManagedSecret(b.stack, 'S', { encryptionKey: b.key, credentials: { engine: DatabaseEngine.POSTGRES, username: 'u' } });
    expect(() => secret.addRotation(Rotation.postgresSingleUser({ vpc: b.vpc }))).toThrow(/ManagedSecret.credentials.host: is not set, and the rotation of .* has no database endpoint to pin instead/);
  });
});

test('a database created on another port: the rules, the secrets and the pinned endpoints use it', () => {
  const w = database('postgres-instance', false, 6543);
  const app = w.database.addUser('App', { username: 'payments_app' });
  const resources = resourcesOf(w.stack);
  expect(w.database.port).toBe(6543);
  const ingress = Object.values(resources).filter(r => r.Type === 'AWS::EC2::SecurityGroupIngress' && /Rotation/.test(r.Properties.Description ?? ''));
  expect(ingress.length).toBeGreaterThan(0);
  for (const r of ingress) expect([r.Properties.FromPort, r.Properties.ToPort]).toEqual([6543, 6543]);
  expect(JSON.stringify(resources[idOf(w.stack, app.secret)].Properties.GenerateSecretString.SecretStringTemplate)).toContain('\\"port\\":6543');
  expect(JSON.stringify(resources)).not.toMatch(/"FromPort":5432/);
});

test('the rotation egress rule uses the database\'s real port, not the credentials\' port (#17)', () => {
  const stack = new Stack(new App(), 'Port', { env: TEST_STACK_ENV });
  const key = new CustomerManagedKey(stack, 'Key');
  const vpc = vpcOf(stack);
  const master = new ManagedSecret(stack, 'Master', { encryptionKey: key, credentials: { engine: DatabaseEngine.POSTGRES, username: 'postgres' } });
  const db = new rds.DatabaseInstance(stack, 'Db', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17_5 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    storageEncryptionKey: key,
    port: 6543,
    credentials: rds.Credentials.fromSecret(master),
  });
  // No `database`: the function's own egress rule to the VPC, on the endpoint's port.
  master.addRotation(Rotation.postgresSingleUser({ vpc, databaseEndpoint: db.instanceEndpoint }));
  const t = Template.fromStack(stack);
  const port = { 'Fn::GetAtt': [stack.getLogicalId(db.node.defaultChild as any), 'Endpoint.Port'] };
  t.hasResourceProperties('AWS::EC2::SecurityGroupEgress', Match.objectLike({
    GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RotationFunction'), 'GroupId'] }, FromPort: port, ToPort: port,
  }));
  expect(JSON.stringify(t.toJSON())).not.toMatch(/"FromPort":5432/);
});

test('ManagedSecret with `database: instance`: the rule names the instance\'s port as a number (judgeable by the packs), never the credentials\' port', () => {
  const stack = new Stack(new App(), 'Literal', { env: TEST_STACK_ENV });
  const key = new CustomerManagedKey(stack, 'Key');
  const vpc = vpcOf(stack);
  const master = new ManagedSecret(stack, 'Master', { encryptionKey: key, credentials: { engine: DatabaseEngine.POSTGRES, username: 'postgres', port: 5432 } });
  const db = new rds.DatabaseInstance(stack, 'Db', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17_5 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    storageEncryptionKey: key,
    port: 6543,
    credentials: rds.Credentials.fromSecret(master),
  });
  master.addRotation(Rotation.postgresSingleUser({ vpc, database: db }));
  Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 6543, ToPort: 6543, GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DbSecurityGroup'), 'GroupId'] } });
});

test('KeysAndSecretsMonitoring watches the RDS-managed master secret it finds below its scope (rotation events and alarms by its ARN)', () => {
  const w = database('postgres-instance', true);
  const monitoring = new KeysAndSecretsMonitoring(w.stack, 'Monitoring', { watchScope: w.stack, encryptionKey: w.key });
  expect(monitoring.watchedSecrets).toContain(w.database.masterSecret);
  const resources = resourcesOf(w.stack);
  const watching = Object.values(resources).filter(r => (r.Type === 'AWS::Events::Rule' || r.Type === 'AWS::CloudWatch::Alarm')
    && JSON.stringify(r.Properties).includes('MasterUserSecret.SecretArn'));
  expect(watching.length).toBeGreaterThan(0);
});

test.each(['postgres-instance', 'aurora-mysql'] as Kind[])('%s: the DatabaseUser is ordered after the database without repeating a dependency its attributes make (cfn-lint W3005)', kind => {
  const w = database(kind);
  const u = w.database.addUser('App', { username: 'payments_app' });
  const resources = resourcesOf(w.stack);
  const user = resources[idOf(w.stack, u.user.resource)];
  const dbId = idOf(w.stack, (w.instance ?? w.cluster)!);
  expect(JSON.stringify(user.Properties)).toContain(dbId); // the endpoint's attributes
  expect(dependsOn(user)).not.toContain(dbId);
  if (w.cluster) {
    const writer = Object.entries(resources).find(([, r]) => r.Type === 'AWS::RDS::DBInstance')![0];
    expect(dependsOn(user)).toContain(writer); // the writer instance must be up, nothing references it
  }
});
