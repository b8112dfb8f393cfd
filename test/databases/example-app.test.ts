/**
 * What examples/app.ts (`npm run example`) shows in its templates: every
 * secret on a key of the app, the storage key lets RDS create its grants via
 * RDS only (IAM evaluation), and every application secret's rotation
 * schedule DependsOn the database, its attachment and its DatabaseUser.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as rds from 'aws-cdk-lib/aws-rds';
import { buildApp, DataStack, KeysStack } from '../../examples/app';
import { allowPolicy, arnOf, CfnTemplate, keyPolicyOf, kmsRequestContext, logicalIdOf, simulate } from '../support/iam-eval';

const app = buildApp(undefined, { report: false });
const keys = app.node.findChild('PaymentsKeys') as KeysStack;
const data = app.node.findChild('PaymentsData') as DataStack;
const keysTemplate = Template.fromStack(keys).toJSON() as CfnTemplate;
const dataTemplate = Template.fromStack(data).toJSON() as CfnTemplate;
type R = { Type: string; Properties?: any; DependsOn?: string | string[] };
const dataResources = dataTemplate.Resources as Record<string, R>;
const idIn = (stack: Stack, c: any) => stack.getLogicalId(c.node.defaultChild ?? c);

test('every secret of the app is on a customer-managed key of the app (the payments key)', () => {
  const secrets = Object.entries(dataResources).filter(([, r]) => r.Type === 'AWS::SecretsManager::Secret');
  expect(secrets.length).toBe(3); // the master, payments_app, reporting
  for (const [, s] of secrets) {
    expect(JSON.stringify(s.Properties.KmsKeyId)).toContain(`PaymentsKeys:ExportsOutputFnGetAtt${idIn(keys, keys.key)}Arn`);
  }
  const instance = Object.values(dataResources).find(r => r.Type === 'AWS::RDS::DBInstance')!;
  expect(JSON.stringify(instance.Properties.KmsKeyId)).toContain(idIn(keys, keys.key));
  expect(instance.Properties.StorageEncrypted).toBe(true);
});

test.each(['PaymentsApp', 'Reporting'])('the %s user\'s rotation schedule DependsOn the database, its attachment and its DatabaseUser', id => {
  const user = data.database.applicationUsers.find(u => u.secret.node.id === `${id}Secret`)!;
  const schedule = dataResources[idIn(data, user.rotationSchedule)];
  const dbId = idIn(data, data.node.findChild('PaymentsDb'));
  expect([schedule.DependsOn].flat()).toEqual(expect.arrayContaining([dbId, idIn(data, user.attachment), idIn(data, user.user.resource)]));
  expect(dataResources[idIn(data, user.user.resource)].Type).toBe('Custom::DatabaseUser');
});

test('one user rotates single-user and one alternating with the master secret', () => {
  const strategies = data.database.applicationUsers.map(u => u.strategy).sort();
  expect(strategies).toEqual(['alternating-users', 'single-user']);
});

test('a Lambda reader reads the application user\'s secret', () => {
  const fn = Object.values(dataResources).find(r => r.Type === 'AWS::Lambda::Function' && /Parameters-and-Secrets/i.test(JSON.stringify(r.Properties.Layers ?? '')));
  expect(fn).toBeDefined();
});

test.each([
  ['kms:CreateGrant', 'rds', true],
  ['kms:Decrypt', 'rds', true],
  ['kms:CreateGrant', 'ec2', false],
  ['kms:Decrypt', 'ec2', false],
  ['kms:Decrypt', undefined, false],
] as Array<[string, string | undefined, boolean]>)('the storage key: %s through %s by the deploying role is %s', async (action, via, allowed) => {
  const principalArn = 'arn:aws:iam::111111111111:role/cdk-hnb659fds-cfn-exec-role-111111111111-eu-west-1';
  const decision = await simulate({
    principalArn,
    action,
    resourceArn: arnOf(keysTemplate, logicalIdOf(keys.key)),
    resourcePolicy: keyPolicyOf(keysTemplate, logicalIdOf(keys.key)),
    identityPolicies: [allowPolicy('kms:*')],
    context: { ...kmsRequestContext({ principalArn, viaService: via }), ...(action === 'kms:CreateGrant' ? { 'kms:GrantIsForAWSResource': 'true' } : {}) },
  });
  expect(decision === 'Allowed').toBe(allowed);
});

test('the database is a real rds.DatabaseInstance in a VPC the app creates', () => {
  expect(data.node.findChild('PaymentsDb')).toBeInstanceOf(rds.DatabaseInstance);
  expect(Object.values(dataResources).filter(r => r.Type === 'AWS::EC2::VPC')).toHaveLength(1);
});

test('network: no security group of the example is open to the world, but the user-creation function\'s 443 for CloudFormation\'s S3 response URL (cfn-guard EC2_SECURITY_GROUP_EGRESS_OPEN_TO_WORLD)', () => {
  const open = (rule: Record<string, unknown>) => rule.CidrIp === '0.0.0.0/0' || rule.CidrIpv6 === '::/0';
  const findings: string[] = [];
  for (const [id, r] of Object.entries(dataResources)) {
    if (r.Type === 'AWS::EC2::SecurityGroup') {
      for (const rule of (r.Properties.SecurityGroupEgress ?? []) as Array<Record<string, unknown>>) {
        if (open(rule)) findings.push(`${id} ${rule.IpProtocol}:${rule.FromPort ?? '*'} ${rule.Description}`);
      }
    }
    if (r.Type === 'AWS::EC2::SecurityGroupEgress' && open(r.Properties)) findings.push(`${JSON.stringify(r.Properties.GroupId)} ${r.Properties.FromPort}`);
  }
  expect(findings).toEqual([expect.stringMatching(/^DatabaseUserFunctionpostgres[0-9A-F]+SecurityGroup[0-9A-F]+ tcp:443 CloudFormation's pre-signed S3 response URL \(HTTPS\)$/)]);
  // The rotation functions reach Secrets Manager through the VPC's endpoint.
  const endpointGroups = Object.entries(dataResources).filter(([, r]) => r.Type === 'AWS::EC2::VPCEndpoint' && r.Properties.VpcEndpointType === 'Interface')
    .flatMap(([, r]) => (r.Properties.SecurityGroupIds as unknown[]).map(g => JSON.stringify(g)));
  const rotationGroups = Object.entries(dataResources).filter(([, r]) => r.Type === 'AWS::EC2::SecurityGroup' && /^Rotation function/.test(r.Properties.GroupDescription)).map(([id]) => id);
  expect(rotationGroups).toHaveLength(2);
  for (const g of rotationGroups) {
    const https = Object.values(dataResources).filter(r => r.Type === 'AWS::EC2::SecurityGroupEgress' && r.Properties.FromPort === 443
      && JSON.stringify(r.Properties.GroupId) === JSON.stringify({ 'Fn::GetAtt': [g, 'GroupId'] }));
    expect(https.map(r => JSON.stringify(r.Properties.DestinationSecurityGroupId))).toEqual(endpointGroups);
  }
});
