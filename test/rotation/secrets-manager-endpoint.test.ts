/**
 * Issue #17, network: the functions that talk to a database reach Secrets
 * Manager through the VPC's interface endpoint when they are given it
 * (`secretsManagerEndpoint`), with no egress to 0.0.0.0/0 (cfn-guard's
 * EC2_SECURITY_GROUP_EGRESS_OPEN_TO_WORLD); an endpoint that could not carry
 * the calls is refused at synth time.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import {
  CustomerManagedKey, DatabaseEngine, DatabaseUser, ManagedDatabase, ManagedSecret, MasterUser, Rotation, RotationFunction, RotationStrategy,
} from '../../src';
import { TEST_STACK_ENV } from '../support/iam-eval';

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

function world() {
  const stack = new Stack(new App(), 'Net', { env: TEST_STACK_ENV });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const endpointGroup = new ec2.SecurityGroup(stack, 'EndpointGroup', { vpc, allowAllOutbound: false });
  const endpoint = vpc.addInterfaceEndpoint('SecretsManager', { service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, open: false, securityGroups: [endpointGroup] });
  const database = ec2.SecurityGroup.fromSecurityGroupId(stack, 'DatabaseSg', 'sg-0db', { mutable: true });
  return { stack, vpc, endpoint, endpointGroup, database };
}

const postgres = { engine: DatabaseEngine.POSTGRES, host: 'db.example.internal', username: 'app', dbname: 'payments' };

function resources(stack: Stack): Record<string, Resource> {
  return Template.fromStack(stack).toJSON().Resources;
}

/** Every egress rule of a security group: inline and `AWS::EC2::SecurityGroupEgress` resources. */
function egressOf(stack: Stack, groupLogicalId: string): Array<Record<string, any>> {
  const all = resources(stack);
  const inline = (all[groupLogicalId].Properties.SecurityGroupEgress ?? []) as Array<Record<string, any>>;
  const separate = Object.values(all)
    .filter(r => r.Type === 'AWS::EC2::SecurityGroupEgress' && JSON.stringify(r.Properties.GroupId) === JSON.stringify({ 'Fn::GetAtt': [groupLogicalId, 'GroupId'] }))
    .map(r => r.Properties);
  return [...inline, ...separate];
}

function groupOf(stack: Stack, fn: { connections: ec2.Connections }): string {
  return stack.getLogicalId(fn.connections.securityGroups[0].node.defaultChild as ec2.CfnSecurityGroup);
}

/** A PostgreSQL instance on the stack's key, with a library-rotated master user. */
function postgresInstance(stack: Stack, vpc: ec2.IVpc) {
  const master = MasterUser.libraryRotated(stack, 'Master', { engine: DatabaseEngine.POSTGRES });
  const instance = new rds.DatabaseInstance(stack, 'Instance', {
    engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17_5 }),
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    credentials: master.credentials,
    databaseName: 'payments',
    storageEncryptionKey: CustomerManagedKey.forStack(stack),
  });
  return { master, instance };
}

const openToWorld = (rule: Record<string, any>) => rule.CidrIp === '0.0.0.0/0' || rule.CidrIpv6 === '::/0';

describe('a rotation function given the VPC\'s Secrets Manager endpoint', () => {
  test('egress: 443 to the endpoint\'s security group and the database port, nothing to 0.0.0.0/0; the endpoint admits it; it runs after the endpoint', () => {
    const { stack, vpc, endpoint, endpointGroup, database } = world();
    const secret = new ManagedSecret(stack, 'Db', { credentials: postgres, rotation: Rotation.postgresSingleUser({ vpc, database, secretsManagerEndpoint: endpoint }) });
    const fn = secret.rotationFunction!;
    const group = groupOf(stack, fn);
    const endpointGroupId = { 'Fn::GetAtt': [stack.getLogicalId(endpointGroup.node.defaultChild as ec2.CfnSecurityGroup), 'GroupId'] };
    const egress = egressOf(stack, group);
    expect(egress.filter(openToWorld)).toEqual([]);
    expect(egress).toEqual(expect.arrayContaining([
      expect.objectContaining({ DestinationSecurityGroupId: endpointGroupId, FromPort: 443, ToPort: 443, IpProtocol: 'tcp' }),
      expect.objectContaining({ DestinationSecurityGroupId: 'sg-0db', FromPort: 5432, ToPort: 5432, IpProtocol: 'tcp' }),
    ]));
    expect(egress).toHaveLength(2);
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: endpointGroupId,
      SourceSecurityGroupId: { 'Fn::GetAtt': [group, 'GroupId'] },
      FromPort: 443,
      ToPort: 443,
    });
    const fnResource = resources(stack)[stack.getLogicalId(fn.function.node.defaultChild as ec2.CfnSecurityGroup)];
    expect(fnResource.DependsOn).toEqual(expect.arrayContaining([stack.getLogicalId(endpoint.node.defaultChild as ec2.CfnVPCEndpoint)]));
  });

  test('without an endpoint the one HTTPS rule is to any IPv4 address (Secrets Manager has no managed prefix list): the default is unchanged', () => {
    const { stack, vpc, database } = world();
    const secret = new ManagedSecret(stack, 'Db', { credentials: postgres, rotation: Rotation.postgresSingleUser({ vpc, database }) });
    const egress = egressOf(stack, groupOf(stack, secret.rotationFunction!));
    expect(egress.filter(openToWorld)).toEqual([{ CidrIp: '0.0.0.0/0', Description: 'Secrets Manager API (HTTPS)', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 }]);
  });

  test('secrets given the endpoint share one function; a secret without it gets another (the endpoint is part of the placement)', () => {
    const { stack, vpc, endpoint, database } = world();
    const a = new ManagedSecret(stack, 'A', { credentials: { ...postgres, username: 'a' }, rotation: Rotation.postgresSingleUser({ vpc, database, secretsManagerEndpoint: endpoint }) });
    const b = new ManagedSecret(stack, 'B', { credentials: { ...postgres, username: 'b' }, rotation: Rotation.postgresSingleUser({ vpc, database, secretsManagerEndpoint: endpoint }) });
    const c = new ManagedSecret(stack, 'C', { credentials: { ...postgres, username: 'c' }, rotation: Rotation.postgresSingleUser({ vpc, database }) });
    expect(a.rotationFunction).toBe(b.rotationFunction);
    expect(c.rotationFunction).not.toBe(a.rotationFunction);
    // The function without an endpoint keeps the ID it had before the option existed.
    const d = RotationFunction.shared(new Stack(new App(), 'Other', { env: TEST_STACK_ENV }), { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc: ec2.Vpc.fromVpcAttributes(stack, 'Same', { vpcId: 'vpc-1', availabilityZones: ['a'], privateSubnetIds: ['s'] }) });
    expect(c.rotationFunction!.node.id.replace(/[0-9A-F]{8}$/, '')).toBe(d.node.id.replace(/[0-9A-F]{8}$/, ''));
  });

  test('an imported endpoint with its security group works the same way', () => {
    const { stack, vpc, database } = world();
    const imported = ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(stack, 'Imported', {
      vpcEndpointId: 'vpce-0123',
      port: 443,
      securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'ImportedGroup', 'sg-0endpoint')],
    });
    const fn = new RotationFunction(stack, 'Fn', { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc, secretsManagerEndpoint: imported });
    fn.connections.allowTo(database, ec2.Port.tcp(5432));
    const egress = egressOf(stack, groupOf(stack, fn));
    expect(egress.filter(openToWorld)).toEqual([]);
    expect(egress).toEqual(expect.arrayContaining([expect.objectContaining({ DestinationSecurityGroupId: 'sg-0endpoint', FromPort: 443 })]));
  });

  test('with the caller\'s own security groups, the rules go on them (egress) and on the endpoint (ingress)', () => {
    const { stack, vpc, endpoint, endpointGroup } = world();
    const mine = new ec2.SecurityGroup(stack, 'Mine', { vpc, allowAllOutbound: false });
    new RotationFunction(stack, 'Fn', { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc, securityGroups: [mine], secretsManagerEndpoint: endpoint });
    const mineId = stack.getLogicalId(mine.node.defaultChild as ec2.CfnSecurityGroup);
    const endpointGroupId = { 'Fn::GetAtt': [stack.getLogicalId(endpointGroup.node.defaultChild as ec2.CfnSecurityGroup), 'GroupId'] };
    expect(egressOf(stack, mineId)).toEqual([expect.objectContaining({ DestinationSecurityGroupId: endpointGroupId, FromPort: 443 })]);
    Template.fromStack(stack).hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: endpointGroupId, SourceSecurityGroupId: { 'Fn::GetAtt': [mineId, 'GroupId'] }, FromPort: 443 });
  });

  test('an imported endpoint security group: a warning that an immutable import gets no ingress rule', () => {
    const { stack, vpc } = world();
    const imported = ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(stack, 'Imported', {
      vpcEndpointId: 'vpce-0123', port: 443, securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'Closed', 'sg-0closed', { mutable: false })],
    });
    new RotationFunction(stack, 'Fn', { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc, secretsManagerEndpoint: imported });
    Annotations.fromStack(stack).hasWarning('/Net/Fn/Function', Match.stringLikeRegexp('Net/Closed is imported; if it was imported with `mutable: false`, no ingress rule is added'));
  });
});

test('DatabaseUser: an explicit ec2.Peer.anyIpv4() as response peer is the default (one shared function, not two)', () => {
  const { stack, vpc, database } = world();
  const master = new ManagedSecret(stack, 'Master', { credentials: { ...postgres, username: 'postgres' } });
  const user = (id: string, peer?: ec2.IPeer) => new DatabaseUser(stack, id, {
    engine: DatabaseEngine.POSTGRES,
    masterSecret: master,
    userSecret: new ManagedSecret(stack, `${id}Secret`, { credentials: { ...postgres, username: id.toLowerCase() } }),
    endpoint: new rds.Endpoint('db.example.internal', 5432),
    databaseName: 'payments',
    vpc,
    database,
    cloudFormationResponsePeer: peer,
  });
  user('A');
  user('B', ec2.Peer.anyIpv4());
  Template.fromStack(stack).resourceCountIs('AWS::Lambda::Function', 1);
});

test('an endpoint in a network stack and the function in another: the rules live in the function\'s stack, no dependency cycle', () => {
  const app = new App();
  const network = new Stack(app, 'Network', { env: TEST_STACK_ENV });
  const vpc = new ec2.Vpc(network, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const endpoint = vpc.addInterfaceEndpoint('SecretsManager', { service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, open: false });
  const data = new Stack(app, 'Data', { env: TEST_STACK_ENV });
  const fn = new RotationFunction(data, 'Fn', { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc, secretsManagerEndpoint: endpoint });
  const assembly = app.synth();
  const stackDependencies = (name: string) => assembly.getStackByName(name).dependencies.map(d => d.id).filter(d => !d.endsWith('.assets'));
  expect(stackDependencies('Data')).toEqual(['Network']);
  expect(stackDependencies('Network')).toEqual([]);
  const dataTemplate = Template.fromStack(data);
  dataTemplate.resourceCountIs('AWS::EC2::SecurityGroupIngress', 1);
  dataTemplate.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 443, SourceSecurityGroupId: { 'Fn::GetAtt': [groupOf(data, fn), 'GroupId'] } });
  expect(egressOf(data, groupOf(data, fn)).filter(openToWorld)).toEqual([]);
});

describe('an endpoint that cannot carry the calls is refused at synth time, naming the property and the fix', () => {
  const rotation = (stack: Stack, vpc: ec2.IVpc, endpoint: ec2.IInterfaceVpcEndpoint, extra: Record<string, unknown> = {}) =>
    new RotationFunction(stack, 'Fn', { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc, secretsManagerEndpoint: endpoint, ...extra });

  test('an endpoint of another service', () => {
    const { stack, vpc } = world();
    const kmsEndpoint = vpc.addInterfaceEndpoint('Kms', { service: ec2.InterfaceVpcEndpointAwsService.KMS });
    expect(() => rotation(stack, vpc, kmsEndpoint)).toThrow(/^\[cdk-kms-secrets\] RotationFunction\.secretsManagerEndpoint: Net\/Vpc\/Kms is an endpoint of .*kms.*, not of Secrets Manager\. Fix: Pass the VPC's Secrets Manager endpoint/);
  });

  test('private DNS off (the SDK would resolve the public API, which the group does not reach)', () => {
    const { stack, vpc } = world();
    const endpoint = vpc.addInterfaceEndpoint('NoDns', { service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, privateDnsEnabled: false });
    expect(() => rotation(stack, vpc, endpoint)).toThrow(/secretsManagerEndpoint: Net\/Vpc\/NoDns has private DNS turned off.*Fix: Create the endpoint with `privateDnsEnabled: true`/);
  });

  test('an endpoint in another VPC', () => {
    const { stack, endpoint } = world();
    const other = new ec2.Vpc(stack, 'Other', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    expect(() => rotation(stack, other, endpoint)).toThrow(/secretsManagerEndpoint: Net\/Vpc\/SecretsManager is in another VPC than Net\/Other/);
  });

  test('Secrets Manager\'s FIPS endpoint (the SDK calls the standard name, which its private DNS does not answer)', () => {
    const { stack, vpc } = world();
    const fips = vpc.addInterfaceEndpoint('Fips', { service: new ec2.InterfaceVpcEndpointAwsService('secretsmanager-fips') });
    expect(() => rotation(stack, vpc, fips)).toThrow(/secretsManagerEndpoint: Net\/Vpc\/Fips is Secrets Manager's FIPS endpoint .*Fix: Pass the VPC's standard Secrets Manager endpoint/);
  });

  test('a service name that only contains `.secretsmanager` is not Secrets Manager', () => {
    const { stack, vpc } = world();
    const lookalike = vpc.addInterfaceEndpoint('Lookalike', { service: new ec2.InterfaceVpcEndpointService('com.amazonaws.vpce.eu-west-1.vpce-svc-0.secretsmanager.evil', 443), privateDnsEnabled: true });
    expect(() => rotation(stack, vpc, lookalike)).toThrow(/is an endpoint of com\.amazonaws\.vpce\.eu-west-1\.vpce-svc-0\.secretsmanager\.evil, not of Secrets Manager/);
  });

  test('an endpoint of a VPC with the same construct id in another stack (two environments of one app)', () => {
    const { stack, endpoint } = world();
    const prod = new Stack(stack.node.scope as App, 'Prod', { env: TEST_STACK_ENV });
    const prodVpc = new ec2.Vpc(prod, 'Vpc', { ipAddresses: ec2.IpAddresses.cidr('10.9.0.0/16'), maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    expect(JSON.stringify(prod.resolve(prodVpc.vpcId))).toBe(JSON.stringify(stack.resolve((endpoint.node.defaultChild as ec2.CfnVPCEndpoint).vpcId)));
    expect(() => rotation(prod, prodVpc, endpoint)).toThrow(/secretsManagerEndpoint: Net\/Vpc\/SecretsManager is in another VPC than Prod\/Vpc/);
  });

  test('an imported VPC id that cannot be compared with the endpoint\'s: a warning, not an error', () => {
    const { stack, endpoint } = world();
    const imported = ec2.Vpc.fromVpcAttributes(stack, 'ImportedVpc', { vpcId: 'vpc-0abc', availabilityZones: ['eu-west-1a'], privateSubnetIds: ['subnet-1'] });
    rotation(stack, imported, endpoint);
    Annotations.fromStack(stack).hasWarning('/Net/Vpc/SecretsManager', Match.stringLikeRegexp('cannot be shown to be in Net/ImportedVpc'));
  });

  test('an imported endpoint without security groups', () => {
    const { stack, vpc } = world();
    const bare = ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(stack, 'Bare', { vpcEndpointId: 'vpce-0bare', port: 443 });
    expect(() => rotation(stack, vpc, bare)).toThrow(/secretsManagerEndpoint: Net\/Bare has no security group.*Fix: Import the endpoint with its security groups/);
  });

  test('both an existing endpoint and createSecretsManagerEndpoint', () => {
    const { stack, vpc, endpoint } = world();
    expect(() => rotation(stack, vpc, endpoint, { createSecretsManagerEndpoint: true }))
      .toThrow(/^\[cdk-kms-secrets\] RotationFunction\.createSecretsManagerEndpoint: and secretsManagerEndpoint are both set.*Fix: Pass only `secretsManagerEndpoint`/);
  });

  test('errors name the option the user set: ManagedSecret.rotation and ManagedDatabase', () => {
    const { stack, vpc, database } = world();
    const kmsEndpoint = vpc.addInterfaceEndpoint('Kms', { service: ec2.InterfaceVpcEndpointAwsService.KMS });
    expect(() => new ManagedSecret(stack, 'Db', { credentials: postgres, rotation: Rotation.postgresSingleUser({ vpc, database, secretsManagerEndpoint: kmsEndpoint }) }))
      .toThrow(/^\[cdk-kms-secrets\] ManagedSecret\.rotation\.secretsManagerEndpoint: /);
    const { master, instance } = postgresInstance(stack, vpc);
    expect(() => new ManagedDatabase(stack, 'Payments', { instance, masterUser: master, databaseName: 'payments', secretsManagerEndpoint: kmsEndpoint }))
      .toThrow(/^\[cdk-kms-secrets\] ManagedDatabase\.secretsManagerEndpoint: /);
  });

  test('an endpoint given to a rotation that names its own function', () => {
    const { stack, vpc, endpoint } = world();
    const fn = new RotationFunction(stack, 'Own', { engine: DatabaseEngine.POSTGRES, strategy: RotationStrategy.SINGLE_USER, vpc });
    expect(() => new ManagedSecret(stack, 'Db', { credentials: postgres, rotation: Rotation.postgresSingleUser({ vpc, rotationFunction: fn, secretsManagerEndpoint: endpoint }) }))
      .toThrow(/ManagedSecret\.rotation\.secretsManagerEndpoint: is set together with rotationFunction Net\/Own.*Fix: Pass `secretsManagerEndpoint` to that RotationFunction/);
  });

  test('the DatabaseUser names itself in the error', () => {
    const { stack, vpc, database } = world();
    const kmsEndpoint = vpc.addInterfaceEndpoint('Kms', { service: ec2.InterfaceVpcEndpointAwsService.KMS });
    const master = new ManagedSecret(stack, 'Master', { credentials: { ...postgres, username: 'postgres' } });
    const user = new ManagedSecret(stack, 'User', { credentials: postgres });
    expect(() => new DatabaseUser(stack, 'AppUser', {
      engine: DatabaseEngine.POSTGRES,
      masterSecret: master,
      userSecret: user,
      endpoint: new rds.Endpoint('db.example.internal', 5432),
      databaseName: 'payments',
      vpc,
      database,
      secretsManagerEndpoint: kmsEndpoint,
    })).toThrow(/^\[cdk-kms-secrets\] DatabaseUser\.secretsManagerEndpoint: .* not of Secrets Manager/);
  });
});

describe('ManagedDatabase passes the endpoint to the rotation and user-provisioning functions', () => {
  function managed(responsePeer?: ec2.IPeer) {
    const { stack, vpc, endpoint, endpointGroup } = world();
    const { master, instance } = postgresInstance(stack, vpc);
    const db = new ManagedDatabase(stack, 'Payments', { instance, masterUser: master, databaseName: 'payments', secretsManagerEndpoint: endpoint, cloudFormationResponsePeer: responsePeer });
    db.addUser('App', { username: 'app' });
    db.addUser('Reporting', { username: 'reporting', strategy: RotationStrategy.ALTERNATING_USERS });
    return { stack, endpointGroup };
  }
  const functionGroups = (stack: Stack, description: RegExp) => Object.entries(resources(stack))
    .filter(([, r]) => r.Type === 'AWS::EC2::SecurityGroup' && description.test(r.Properties.GroupDescription))
    .map(([id]) => id);

  test('the rotation functions (single-user and alternating) have no egress to 0.0.0.0/0, only the endpoint and the database port', () => {
    const { stack, endpointGroup } = managed();
    const groups = functionGroups(stack, /^Rotation function/);
    expect(groups).toHaveLength(2);
    for (const g of groups) {
      const egress = egressOf(stack, g);
      expect(egress.filter(openToWorld)).toEqual([]);
      expect(egress.map(r => r.FromPort).sort()).toEqual([443, 5432]);
      expect(egress.find(r => r.FromPort === 443)!.DestinationSecurityGroupId).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(endpointGroup.node.defaultChild as ec2.CfnSecurityGroup), 'GroupId'] });
    }
  });

  test('the user-provisioning function: Secrets Manager through the endpoint, 443 to any IPv4 for CloudFormation\'s S3 response URL only', () => {
    const { stack } = managed();
    const [g] = functionGroups(stack, /^Database user provisioning/);
    const egress = egressOf(stack, g);
    expect(egress.filter(openToWorld)).toEqual([expect.objectContaining({ FromPort: 443, ToPort: 443, Description: 'CloudFormation\'s pre-signed S3 response URL (HTTPS)' })]);
    expect(egress.map(r => r.FromPort).sort()).toEqual([443, 443, 5432]);
  });

  test('with the region\'s S3 prefix list as the response peer, no security group of the library is open to the world', () => {
    const { stack } = managed(ec2.Peer.prefixList('pl-6ea54007'));
    const groups = [...functionGroups(stack, /^Rotation function/), ...functionGroups(stack, /^Database user provisioning/)];
    expect(groups).toHaveLength(3);
    for (const g of groups) expect(egressOf(stack, g).filter(openToWorld)).toEqual([]);
    const [provisioning] = functionGroups(stack, /^Database user provisioning/);
    expect(egressOf(stack, provisioning)).toEqual(expect.arrayContaining([expect.objectContaining({ DestinationPrefixListId: 'pl-6ea54007', FromPort: 443, ToPort: 443 })]));
  });
});
