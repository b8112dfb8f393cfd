/**
 * The DatabaseUser construct: its template (the custom resource, the shared
 * provisioning function and how it is secured), its role under IAM
 * evaluation, the nag packs and cfn-lint, and bad input.
 */
import { App, CfnResource, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { DatabaseEngine, DatabaseUser, DatabaseUserProps, ManagedSecret, Rotation } from '../../../src';
import { cfnLint, checkCompliance, describeFindings, unexpectedFindings } from '../../support/compliance';
import { accountOfArn, arnOf, CfnTemplate, identityPoliciesOf, keyPolicyOf, kmsRequestContext, logicalIdOf, simulate, TEST_ENV, TEST_STACK_ENV } from '../../support/iam-eval';

const SECRETS_MANAGER = `secretsmanager.${TEST_ENV.region}.amazonaws.com`;

function fixture(engine = DatabaseEngine.POSTGRES) {
  const stack = new Stack(new App(), 'Users', { env: TEST_STACK_ENV });
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
    vpcId: 'vpc-12345678',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    privateSubnetIds: ['subnet-11111111', 'subnet-22222222'],
  });
  const database = ec2.SecurityGroup.fromSecurityGroupId(stack, 'DatabaseSg', 'sg-12345678', { mutable: true });
  const endpoint = new rds.Endpoint('payments.cluster-abc.eu-west-1.rds.amazonaws.com', engine === DatabaseEngine.POSTGRES ? 5432 : 3306);
  const credentials = { engine, host: endpoint.hostname, username: 'postgres', dbname: 'payments' };
  const master = new ManagedSecret(stack, 'Master', { credentials, rotation: rotationFor(engine, vpc, database) });
  const app = new ManagedSecret(stack, 'App', { credentials: { ...credentials, username: 'payments_app' }, rotation: rotationFor(engine, vpc, database) });
  const props: DatabaseUserProps = { engine, masterSecret: master, userSecret: app, endpoint, databaseName: 'payments', vpc, database };
  return { stack, vpc, database, endpoint, master, app, props };
}

function rotationFor(engine: DatabaseEngine, vpc: ec2.IVpc, database: ec2.IConnectable): Rotation {
  return engine === DatabaseEngine.POSTGRES ? Rotation.postgresSingleUser({ vpc, database }) : Rotation.mysqlSingleUser({ vpc, database });
}

function functionRoleId(template: CfnTemplate): string {
  const roles = Object.entries(template.Resources ?? {}).filter(([id, r]) => r.Type === 'AWS::IAM::Role' && id.startsWith('DatabaseUserFunction'));
  expect(roles).toHaveLength(1);
  return roles[0][0];
}

describe('DatabaseUser', () => {
  test('a Custom::DatabaseUser with the endpoint from the props and the secrets by ARN', () => {
    const f = fixture();
    const user = new DatabaseUser(f.stack, 'User', f.props);
    const t = Template.fromStack(f.stack);
    t.hasResourceProperties('Custom::DatabaseUser', {
      ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseUserFunctionpostgres.*Function'), 'Arn'] },
      Engine: 'postgres',
      UserSecretArn: { Ref: logicalIdOf(f.app.node.defaultChild as secretsmanager.CfnSecret) },
      MasterSecretArn: { Ref: logicalIdOf(f.master.node.defaultChild as secretsmanager.CfnSecret) },
      Host: 'payments.cluster-abc.eu-west-1.rds.amazonaws.com',
      Port: '5432',
      DatabaseName: 'payments',
      Privileges: 'CONNECT,SELECT,INSERT,UPDATE,DELETE',
      AdoptExistingUser: 'false',
      DropOnDelete: 'false',
      ServiceTimeout: '600',
    });
    expect(user.username).toBe('payments_app');
    expect(user.privileges).toEqual(['CONNECT', 'SELECT', 'INSERT', 'UPDATE', 'DELETE']);
  });

  test('the provisioning function: in the VPC, reserved concurrency, DLQ, encrypted environment and logs with retention, endpoint pinned', () => {
    const f = fixture();
    new DatabaseUser(f.stack, 'User', f.props);
    const t = Template.fromStack(f.stack);
    const fns = t.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('database users') } });
    expect(Object.keys(fns)).toHaveLength(1);
    const fn = Object.values(fns)[0].Properties;
    expect(fn.VpcConfig.SubnetIds).toEqual(['subnet-11111111', 'subnet-22222222']);
    expect(fn.ReservedConcurrentExecutions).toBeGreaterThan(0);
    expect(fn.DeadLetterConfig.TargetArn).toBeDefined();
    // No key given: the stack's default key (one key per stack), as the rotation functions.
    expect(JSON.stringify(fn.KmsKeyArn)).toMatch(/CdkKmsSecretsDefaultKey.*Arn/);
    expect(fn.Environment.Variables.ROTATION_REQUIRE_TLS).toBe('true');
    const pinned = JSON.stringify(fn.Environment.Variables.DATABASE_USER_ENDPOINTS);
    expect(pinned).toContain('payments.cluster-abc.eu-west-1.rds.amazonaws.com:5432');
    t.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: Match.stringLikeRegexp('^/cdk-kms-secrets/database-user/'), RetentionInDays: 365, KmsKeyId: Match.anyValue() });
    // The database's security group is opened to the function on the endpoint's port.
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: 'sg-12345678', FromPort: 5432, ToPort: 5432, SourceSecurityGroupId: Match.anyValue() });
  });

  test('one function per stack, VPC placement and engine family, shared by every user; the database opened once', () => {
    const f = fixture();
    new DatabaseUser(f.stack, 'User', f.props);
    const second = new ManagedSecret(f.stack, 'Reports', { credentials: { engine: DatabaseEngine.POSTGRES, host: f.endpoint.hostname, username: 'reports' }, rotation: rotationFor(DatabaseEngine.POSTGRES, f.vpc, f.database) });
    new DatabaseUser(f.stack, 'Reports User', { ...f.props, userSecret: second, privileges: ['connect', 'select'] });
    const mysqlMaster = new ManagedSecret(f.stack, 'MysqlMaster', { credentials: { engine: DatabaseEngine.MARIADB, host: 'm.example', username: 'admin' }, rotation: rotationFor(DatabaseEngine.MARIADB, f.vpc, f.database) });
    const mysqlApp = new ManagedSecret(f.stack, 'MysqlApp', { credentials: { engine: DatabaseEngine.MARIADB, host: 'm.example', username: 'app' }, rotation: rotationFor(DatabaseEngine.MARIADB, f.vpc, f.database) });
    new DatabaseUser(f.stack, 'Mysql User', { ...f.props, engine: DatabaseEngine.MARIADB, masterSecret: mysqlMaster, userSecret: mysqlApp, endpoint: new rds.Endpoint('m.example', 3306) });
    const t = Template.fromStack(f.stack);
    const fns = t.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('database users') } });
    expect(Object.values(fns).map(r => r.Properties.Description).sort()).toEqual([
      'Creates mysql database users for CloudFormation; cdk-kms-secrets',
      'Creates postgres database users for CloudFormation; cdk-kms-secrets',
    ]);
    const ingress = t.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { Description: Match.stringLikeRegexp('Creation of database users') } });
    expect(Object.values(ingress).map(r => r.Properties.FromPort).sort()).toEqual([3306, 5432]);
  });

  test('ordering: the user is created after its permissions and the database; a rotation can wait for it', () => {
    const f = fixture();
    const user = new DatabaseUser(f.stack, 'User', f.props);
    // `resource` is what a rotation schedule depends on.
    f.app.rotationSchedule!.node.addDependency(user.resource);
    const t = Template.fromStack(f.stack).toJSON() as CfnTemplate;
    const cr = Object.entries(t.Resources!).find(([, r]) => r.Type === 'Custom::DatabaseUser')!;
    const dependsOn = (cr[1] as { DependsOn?: string[] }).DependsOn ?? [];
    expect(dependsOn.some(d => /^DatabaseUserFunction.*SecretsPolicy1/.test(d))).toBe(true);
    // The function itself through the ServiceToken's GetAtt (a DependsOn would repeat it: cfn-lint W3005).
    expect(JSON.stringify((cr[1] as { Properties: unknown }).Properties)).toMatch(/DatabaseUserFunction.*Function[0-9A-F]{8}","Arn"/);
    const schedule = Object.values(t.Resources!).find(r => r.Type === 'AWS::SecretsManager::RotationSchedule'
      && JSON.stringify(r.Properties).includes(logicalIdOf(f.app.node.defaultChild as secretsmanager.CfnSecret))) as { DependsOn?: string[] };
    expect(schedule.DependsOn).toContain(cr[0]);
  });

  test('IAM evaluation: the role reads exactly the two secrets, and decrypts only through Secrets Manager for them', async () => {
    const f = fixture();
    const other = new ManagedSecret(f.stack, 'Other', { encryptionKey: f.app.key, credentials: { engine: DatabaseEngine.POSTGRES, host: 'x', username: 'other' }, rotation: rotationFor(DatabaseEngine.POSTGRES, f.vpc, f.database) });
    new DatabaseUser(f.stack, 'User', f.props);
    const t = Template.fromStack(f.stack).toJSON() as CfnTemplate;
    const roleId = functionRoleId(t);
    const principalArn = arnOf(t, roleId);
    // The logging-and-network policy names the dead-letter queue (which iam-eval does not resolve) and nothing of Secrets Manager or KMS.
    const logging = Object.entries(t.Resources!).find(([id, r]) => r.Type === 'AWS::IAM::ManagedPolicy' && id.startsWith('DatabaseUserFunction') && id.includes('LoggingAndNetworkPolicy'))!;
    expect(JSON.stringify(logging[1].Properties)).not.toMatch(/secretsmanager:|kms:/);
    const withoutLogging = JSON.parse(JSON.stringify(t)) as CfnTemplate;
    delete (withoutLogging.Resources as Record<string, unknown>)[logging[0]];
    const identityPolicies = identityPoliciesOf(withoutLogging, roleId);
    const secretArn = (s: ManagedSecret) => arnOf(t, logicalIdOf(s.node.defaultChild as secretsmanager.CfnSecret));
    const secretsCall = (action: string, arn: string) => simulate({
      principalArn,
      action,
      resourceArn: arn,
      identityPolicies,
      context: { 'aws:PrincipalArn': principalArn, 'aws:PrincipalAccount': accountOfArn(principalArn), 'aws:SecureTransport': 'true', 'secretsmanager:SecretId': arn },
    });
    expect(await secretsCall('secretsmanager:GetSecretValue', secretArn(f.app))).toBe('Allowed');
    expect(await secretsCall('secretsmanager:GetSecretValue', secretArn(f.master))).toBe('Allowed');
    expect(await secretsCall('secretsmanager:GetSecretValue', secretArn(other))).toBe('ImplicitlyDenied');
    for (const action of ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage', 'secretsmanager:TagResource', 'secretsmanager:DescribeSecret']) {
      expect(await secretsCall(action, secretArn(f.app))).toBe('ImplicitlyDenied');
    }
    const keyId = logicalIdOf(f.app.key.node.defaultChild as CfnResource);
    const kmsCall = (viaService: string | undefined, context: Record<string, string>) => simulate({
      principalArn,
      action: 'kms:Decrypt',
      resourceArn: arnOf(t, keyId),
      identityPolicies,
      resourcePolicy: keyPolicyOf(t, keyId),
      context: kmsRequestContext({ principalArn, viaService, encryptionContext: context }),
    });
    expect(await kmsCall(SECRETS_MANAGER, { SecretARN: secretArn(f.app) })).toBe('Allowed');
    expect(await kmsCall(SECRETS_MANAGER, { SecretARN: secretArn(other) })).toBe('ImplicitlyDenied');
    expect(await kmsCall(undefined, { SecretARN: secretArn(f.app) })).toBe('ImplicitlyDenied');
    expect(await kmsCall(`s3.${TEST_ENV.region}.amazonaws.com`, { SecretARN: secretArn(f.app) })).toBe('ImplicitlyDenied');
  });

  test.each([DatabaseEngine.POSTGRES, DatabaseEngine.MYSQL])('the four nag packs, ours and cfn-lint: no finding beyond the two documented (%s)', engine => {
    const f = fixture(engine);
    new DatabaseUser(f.stack, 'User', { ...f.props, removalPolicy: RemovalPolicy.DESTROY });
    const report = checkCompliance(f.stack);
    expect(describeFindings(unexpectedFindings(report.all))).toBe('');
  });

  test('works with a real rds.DatabaseInstance: endpoint from it, ordered after it and the rules that open it', () => {
    const stack = new Stack(new App(), 'Rds', { env: TEST_STACK_ENV });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
    const master = new ManagedSecret(stack, 'Master', { credentials: { engine: DatabaseEngine.POSTGRES, host: 'set-by-the-attachment.invalid', username: 'postgres' } });
    const db = new rds.DatabaseInstance(stack, 'Db', { engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 }), vpc, credentials: rds.Credentials.fromSecret(master) });
    const app = new ManagedSecret(stack, 'App', { credentials: { engine: DatabaseEngine.POSTGRES, host: 'x', username: 'payments_app' } });
    const user = new DatabaseUser(stack, 'User', { engine: DatabaseEngine.POSTGRES, masterSecret: master, userSecret: app, endpoint: db.instanceEndpoint, databaseName: 'payments', vpc, database: db });
    const t = Template.fromStack(stack);
    const dbId = logicalIdOf(db.node.defaultChild as rds.CfnDBInstance);
    t.hasResourceProperties('Custom::DatabaseUser', { Host: { 'Fn::GetAtt': [dbId, 'Endpoint.Address'] }, Port: { 'Fn::GetAtt': [dbId, 'Endpoint.Port'] } });
    // After the database through the endpoint's GetAtt, after the rules that open it explicitly, and no DependsOn that
    // repeats a reference (cfn-lint W3005).
    const cr = Object.values(t.findResources('Custom::DatabaseUser'))[0] as { DependsOn: string[] };
    const ingress = Object.keys(t.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { Description: Match.stringLikeRegexp('Creation of database users') } }));
    const egress = Object.keys(t.findResources('AWS::EC2::SecurityGroupEgress', { Properties: { Description: Match.stringLikeRegexp('Creation of database users') } }));
    expect(ingress).toHaveLength(1);
    expect(egress).toHaveLength(1);
    expect(cr.DependsOn).toEqual(expect.arrayContaining([...ingress, ...egress]));
    expect(cr.DependsOn).not.toContain(dbId);
    const crId = logicalIdOf(user.resource.node.defaultChild as CfnResource);
    expect(cfnLint(t.toJSON(), [TEST_ENV.region]).filter(x => x.resource === crId)).toEqual([]);
  });

  test('encryptionKey: the provisioning function uses it instead of a key of its own', () => {
    const f = fixture();
    new DatabaseUser(f.stack, 'User', { ...f.props, encryptionKey: f.app.key });
    const t = Template.fromStack(f.stack);
    expect(Object.keys(t.findResources('AWS::KMS::Key')).filter(id => id.startsWith('DatabaseUserFunction'))).toEqual([]);
    const fn = Object.values(t.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('database users') } }))[0];
    expect(fn.Properties.KmsKeyArn).toEqual({ 'Fn::GetAtt': [logicalIdOf(f.app.key.node.defaultChild as CfnResource), 'Arn'] });
  });

  describe('bad input names the property and the fix', () => {
    const cases: Array<[string, (f: ReturnType<typeof fixture>) => Partial<DatabaseUserProps>, RegExp]> = [
      ['a privilege outside the allowlist', () => ({ privileges: ['SELECT', 'SUPERUSER'] }), /DatabaseUser\.privileges: 'SUPERUSER' is not allowed for PostgreSQL.*Fix: Use only/],
      ['ALL PRIVILEGES on MySQL', () => ({ engine: DatabaseEngine.MYSQL, privileges: ['ALL PRIVILEGES'] }), /DatabaseUser\.privileges: 'ALL PRIVILEGES' is not allowed for MySQL\/MariaDB/],
      ['a MySQL privilege on PostgreSQL', () => ({ privileges: ['CREATE VIEW'] }), /'CREATE VIEW' is not allowed for PostgreSQL/],
      ['an injection in a privilege', () => ({ privileges: ['SELECT ON *.* TO x; --'] }), /DatabaseUser\.privileges/],
      ['no privileges', () => ({ privileges: [] }), /DatabaseUser\.privileges: is empty/],
      ['the master secret as user secret', f => ({ userSecret: f.master }), /DatabaseUser\.userSecret: is the master secret/],
      ['an engine other than the user secret\'s', () => ({ engine: DatabaseEngine.MYSQL }), /DatabaseUser\.engine: is mysql but .* holds postgres credentials/],
      ['an empty database name', () => ({ databaseName: '' }), /DatabaseUser\.databaseName/],
      ['a removal policy that cannot apply', () => ({ removalPolicy: RemovalPolicy.SNAPSHOT }), /DatabaseUser\.removalPolicy: snapshot is not supported/],
    ];
    test.each(cases)('%s', (_name, override, message) => {
      const f = fixture();
      expect(() => new DatabaseUser(f.stack, 'User', { ...f.props, ...override(f) })).toThrow(message);
    });
  });
});
