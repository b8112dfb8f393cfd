/**
 * IAM evaluation of the alert topic's policy (iam-simulate, as the key and
 * grant tests do): `sns:*` in an identity policy does not let a key user
 * subscribe, change or delete the topic; an administrator of the alert key
 * and the deployment role can; only this account's monitoring rules and
 * alarms can publish.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { CustomerManagedKey } from '../../src';
import { KeysAndSecretsMonitoring } from '../../src/monitoring';
import { allowPolicy, CfnTemplate, logicalIdOf, PolicyDocumentJson, resolveIntrinsics, ResolveOptions, simulate, TEST_ENV, TEST_STACK_ENV } from '../support/iam-eval';

const { account, region } = TEST_ENV;
const OTHER_ACCOUNT = '222222222222';

/** Physical names of the monitoring's resources in TEST_ENV: they are literal in the template. */
const MONITORING_RESOLVERS: ResolveOptions = {
  extraResolvers: {
    'AWS::SNS::Topic': { ref: (_id, r) => `arn:aws:sns:${region}:${account}:${r.Properties!.TopicName}` },
    'AWS::Events::Rule': { attributes: { Arn: (_id, r) => `arn:aws:events:${region}:${account}:rule/${r.Properties!.Name}` } },
    'AWS::CloudWatch::Alarm': { attributes: { Arn: (_id, r) => `arn:aws:cloudwatch:${region}:${account}:alarm:${r.Properties!.AlarmName}` } },
  },
};

/** The resolved policy of an `AWS::SNS::Topic` (from the `AWS::SNS::TopicPolicy` that lists it). */
function topicPolicyOf(template: CfnTemplate, topicLogicalId: string): PolicyDocumentJson {
  const policies = Object.values(template.Resources ?? {}).filter(r =>
    r.Type === 'AWS::SNS::TopicPolicy' && (r.Properties?.Topics as unknown[]).some(t => JSON.stringify(t) === JSON.stringify({ Ref: topicLogicalId })));
  if (policies.length !== 1) throw new Error(`expected one policy for topic ${topicLogicalId}, found ${policies.length}`);
  return resolveIntrinsics(template, policies[0].Properties!.PolicyDocument, MONITORING_RESOLVERS);
}

function build() {
  const stack = new Stack(new App(), 'Monitored', { env: TEST_STACK_ENV });
  const admin = new iam.Role(stack, 'SecurityAdmin', { assumedBy: new iam.AccountRootPrincipal() });
  const user = new iam.Role(stack, 'App', { assumedBy: new iam.AccountRootPrincipal() });
  const watched = new CustomerManagedKey(stack, 'Key', { users: [user] });
  const alertKey = new CustomerManagedKey(stack, 'AlertKey', { administrators: [admin] });
  const monitoring = new KeysAndSecretsMonitoring(stack, 'Monitoring', { keys: [watched], encryptionKey: alertKey });
  const template = Template.fromStack(stack).toJSON() as CfnTemplate;
  const topicId = logicalIdOf(monitoring.topic);
  const topicArn = resolveIntrinsics<string>(template, { Ref: topicId }, MONITORING_RESOLVERS);
  const policy = topicPolicyOf(template, topicId);
  const arn = (c: iam.Role) => `arn:aws:iam::${account}:role/${logicalIdOf(c)}`;
  const ruleArn = resolveIntrinsics<string>(template, { 'Fn::GetAtt': [logicalIdOf(monitoring.rules[0]), 'Arn'] }, MONITORING_RESOLVERS);
  const alarmArn = resolveIntrinsics<string>(template, { 'Fn::GetAtt': [logicalIdOf(monitoring.alarms[0]), 'Arn'] }, MONITORING_RESOLVERS);
  return { topicArn, policy, admin: arn(admin), user: arn(user), ruleArn, alarmArn };
}

const ADMIN_CALLS = ['sns:Subscribe', 'sns:SetTopicAttributes', 'sns:RemovePermission', 'sns:AddPermission', 'sns:DeleteTopic', 'sns:Unsubscribe', 'sns:SetSubscriptionAttributes'];

describe('the alert topic policy, evaluated', () => {
  const f = build();
  const asRole = (principalArn: string, action: string) => simulate({
    principalArn,
    action,
    resourceArn: f.topicArn,
    identityPolicies: [allowPolicy('sns:*')],
    resourcePolicy: f.policy,
    context: { 'aws:PrincipalArn': principalArn, 'aws:PrincipalAccount': account, 'aws:SecureTransport': 'true' },
  });

  test.each(ADMIN_CALLS)('a key user with sns:* in IAM is explicitly denied %s', async action => {
    expect(await asRole(f.user, action)).toBe('ExplicitlyDenied');
  });

  test.each(ADMIN_CALLS)('an administrator of the alert key (with sns:* in IAM) is allowed %s', async action => {
    expect(await asRole(f.admin, action)).toBe('Allowed');
  });

  test('the CDK bootstrap\'s CloudFormation execution role (deployments) is allowed to change the topic', async () => {
    const deployer = `arn:aws:iam::${account}:role/cdk-hnb659fds-cfn-exec-role-${account}-${region}`;
    expect(await asRole(deployer, 'sns:SetTopicAttributes')).toBe('Allowed');
    expect(await asRole(deployer, 'sns:DeleteTopic')).toBe('Allowed');
  });

  test('a key user with sns:* cannot publish a fake (or no) alert either', async () => {
    expect(await asRole(f.user, 'sns:Publish')).toBe('ExplicitlyDenied');
  });

  const publish = (service: string, sourceAccount: string, sourceArn: string) => simulate({
    principalArn: service,
    action: 'sns:Publish',
    resourceArn: f.topicArn,
    resourcePolicy: f.policy,
    context: { 'aws:SourceAccount': sourceAccount, 'aws:SourceArn': sourceArn, 'aws:SecureTransport': 'true' },
  });

  test('EventBridge may publish for a monitoring rule of this account, and CloudWatch for a monitoring alarm', async () => {
    expect(await publish('events.amazonaws.com', account, f.ruleArn)).toBe('Allowed');
    expect(await publish('cloudwatch.amazonaws.com', account, f.alarmArn)).toBe('Allowed');
  });

  test('EventBridge of another account cannot publish, not even naming a rule of the same name', async () => {
    const foreignRule = f.ruleArn.replace(`:${account}:`, `:${OTHER_ACCOUNT}:`);
    expect(await publish('events.amazonaws.com', OTHER_ACCOUNT, foreignRule)).toBe('ExplicitlyDenied');
    expect(await publish('events.amazonaws.com', OTHER_ACCOUNT, f.ruleArn)).toBe('ExplicitlyDenied');
  });

  test('another rule or alarm of this account cannot publish', async () => {
    expect(await publish('events.amazonaws.com', account, `arn:aws:events:${region}:${account}:rule/not-monitoring`)).toBe('ExplicitlyDenied');
    expect(await publish('cloudwatch.amazonaws.com', account, `arn:aws:cloudwatch:${region}:${account}:alarm:not-monitoring`)).toBe('ExplicitlyDenied');
  });
});
