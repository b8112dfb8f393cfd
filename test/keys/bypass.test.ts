/**
 * The bypasses an outside review found in the key-policy role model (issue
 * #11), each tried again with the same ordinary aws-cdk-lib call. Each one
 * either fails at synth with the library's error form, or synthesizes a
 * policy in which IAM evaluation denies the escalation.
 */
import { App, ArnFormat, Aws, CfnParameter, CliCredentialsStackSynthesizer, Fn, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { CustomerManagedKey, CustomerManagedKeyProps, KeyOperation } from '../../src';
import {
  allowPolicy, arnOf, CfnResource, CfnTemplate, Decision, keyPolicyOf, kmsRequestContext, logicalIdOf, PolicyDocumentJson, simulate, TEST_STACK_ENV,
} from '../support/iam-eval';

const ERROR_FORM = /^\[cdk-kms-secrets\] [A-Za-z.]+: .+ Fix: .+/s;
const KMS_ALL = allowPolicy('kms:*');
const OTHER_ACCOUNT = '222222222222';

interface Fixture {
  readonly stack: Stack;
  readonly admin: iam.Role;
  readonly app: iam.Role;
}

function fixture(): Fixture {
  const stack = new Stack(new App(), 'KeyStack', { env: TEST_STACK_ENV });
  const admin = new iam.Role(stack, 'Admin', { roleName: 'key-admin', assumedBy: new iam.AccountRootPrincipal() });
  const app = new iam.Role(stack, 'App', { roleName: 'app', assumedBy: new iam.AccountRootPrincipal() });
  return { stack, admin, app };
}

function key(f: Fixture, props: Partial<CustomerManagedKeyProps> = {}): CustomerManagedKey {
  return new CustomerManagedKey(f.stack, 'Key', { administrators: [f.admin], users: [f.app], ...props });
}

/** Roles with a RoleName resolve to that name, so `role/app` is the App role however it is written. */
const NAMED_ROLES = {
  extraResolvers: {
    'AWS::IAM::Role': {
      ref: (id: string, r: CfnResource) => r.Properties?.RoleName ?? id,
      attributes: { Arn: (id: string, r: CfnResource) => `arn:aws:iam::111111111111:role/${r.Properties?.RoleName ?? id}` },
    },
  },
};

function evaluate(f: Fixture, k: CustomerManagedKey) {
  const template = Template.fromStack(f.stack).toJSON() as CfnTemplate;
  const keyArn = arnOf(template, logicalIdOf(k));
  const keyPolicy: PolicyDocumentJson = keyPolicyOf(template, logicalIdOf(k), NAMED_ROLES);
  type Extra = { identityPolicies?: PolicyDocumentJson[]; context?: Record<string, string | string[]> };
  const decide = (principalArn: string, action: string, extra: Extra = {}): Promise<Decision> =>
    simulate({
      principalArn,
      action,
      resourceArn: keyArn,
      resourcePolicy: keyPolicy,
      identityPolicies: extra.identityPolicies ?? [],
      context: extra.context ?? kmsRequestContext({ principalArn }),
    });
  return { keyPolicy, decide };
}

const ADMIN_ARN = 'arn:aws:iam::111111111111:role/key-admin';
const APP_ARN = 'arn:aws:iam::111111111111:role/app';

function expectLibraryError(build: () => unknown, message: RegExp): void {
  let error: Error | undefined;
  try {
    build();
  } catch (e) {
    error = e as Error;
  }
  expect(error?.message).toMatch(ERROR_FORM);
  expect(error?.message).toMatch(message);
}

describe('action names in any case, wildcards anywhere', () => {
  test.each([
    ['kms:decrypt', 'kms:putkeypolicy'],
    ['KMS:*'],
    ['kms:*Key*'],
    ['*'],
    ['kms:*'],
    ['kms:?ut*', 'kms:Decrypt'],
  ])('key.grant(app, %s, ...) is refused: it would manage and use', (...actions) => {
    const f = fixture();
    const k = key(f);
    expectLibraryError(() => k.grant(f.app, ...actions), /CustomerManagedKey\.grant\.actions: .*covers both management actions/);
  });

  test('an action KMS does not have is an error naming it', () => {
    const f = fixture();
    const k = key(f);
    expectLibraryError(() => k.grant(f.app, 'kms:Decrpyt'), /'kms:Decrpyt', which AWS KMS does not have/);
    expectLibraryError(() => k.addToResourcePolicy(new iam.PolicyStatement({ actions: ['s3:*'], principals: [f.app], resources: ['*'] })),
      /addToResourcePolicy: .*'s3:\*', which matches no KMS action/);
  });

  test('a lower-case usage grant lands as the canonical action, and the user still cannot manage', async () => {
    const f = fixture();
    const k = key(f, { users: [] });
    k.grant(f.app, 'kms:decrypt');
    const { keyPolicy, decide } = evaluate(f, k);
    expect(JSON.stringify(keyPolicy)).toContain('"kms:Decrypt"');
    expect(JSON.stringify(keyPolicy)).not.toContain('kms:decrypt');
    expect(await decide(APP_ARN, 'kms:Decrypt')).toBe('Allowed');
    // The key policy alone gives it no management (with IAM kms:* it would be the account's IAM
    // administrator, the documented delegation of allowAccountToAdminister).
    expect(await decide(APP_ARN, 'kms:PutKeyPolicy')).toBe('ImplicitlyDenied');
  });

  test('a usage wildcard in the middle (kms:Re*crypt*) is expanded to exactly the usage actions it matches', () => {
    const f = fixture();
    const k = key(f, { users: [] });
    k.grant(f.app, 'kms:Re*crypt*');
    const { keyPolicy } = evaluate(f, k);
    const use = keyPolicy.Statement.find(s => s.Effect === 'Allow' && JSON.stringify(s.Principal).includes('role/app'))!;
    expect(use.Action).toEqual(['kms:ReEncryptFrom', 'kms:ReEncryptTo']);
  });
});

describe('NotAction, NotPrincipal and NotResource are refused', () => {
  test.each([
    ['NotAction', (f: Fixture) => new iam.PolicyStatement({ notActions: ['kms:PutKeyPolicy'], principals: [new iam.AccountPrincipal(OTHER_ACCOUNT)], resources: ['*'] }), /uses NotAction.*Fix: List the actions/],
    ['NotPrincipal', (f: Fixture) => new iam.PolicyStatement({ actions: ['kms:Decrypt'], notPrincipals: [f.admin], resources: ['*'] }), /uses NotPrincipal.*Fix: Name the principals/],
    ['NotResource', (f: Fixture) => new iam.PolicyStatement({ actions: ['kms:Decrypt'], principals: [f.app], notResources: ['arn:aws:kms:eu-west-1:111111111111:key/x'] }), /uses NotResource/],
  ])('%s', (_name, statement, message) => {
    const f = fixture();
    const k = key(f);
    expectLibraryError(() => k.addToResourcePolicy(statement(f)), message);
  });
});

describe('Principal "*" needs a positive, literal bound', () => {
  const star = (conditions: Record<string, Record<string, unknown>>) => new iam.PolicyStatement({
    actions: ['kms:Decrypt'],
    principals: [new iam.AnyPrincipal()],
    resources: ['*'],
    conditions: { ...conditions, StringEquals: { ...(conditions.StringEquals ?? {}), 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
  });

  test.each([
    ['StringLike aws:PrincipalAccount "*"', { StringLike: { 'aws:PrincipalAccount': '*' } }],
    ['StringNotEquals aws:PrincipalAccount <this account>', { StringNotEquals: { 'aws:PrincipalAccount': '111111111111' } }],
    ['StringEquals with a wildcard value', { StringEquals: { 'aws:PrincipalAccount': '1111*' } }],
    ['StringEqualsIfExists', { StringEqualsIfExists: { 'aws:PrincipalAccount': '111111111111' } }],
    ['ForAllValues:StringEquals', { 'ForAllValues:StringEquals': { 'aws:PrincipalAccount': ['111111111111'] } }],
    ['an organization ID that is not one', { StringEquals: { 'aws:PrincipalOrgID': '*' } }],
    ['a key that does not bound', { StringEquals: { 'aws:PrincipalTag/team': 'payments' } }],
  ])('%s does not bound', (_name, conditions) => {
    const f = fixture();
    expectLibraryError(() => key(f).addToResourcePolicy(star(conditions)), /allows Principal "\*" without a positive, literal account or organization bound/);
  });

  test.each([
    ['a literal account', { StringEquals: { 'aws:PrincipalAccount': '111111111111' } }],
    ['this stack\'s account (Aws.ACCOUNT_ID)', { StringEquals: { 'kms:CallerAccount': Aws.ACCOUNT_ID } }],
    ['an organization', { 'ForAnyValue:StringEquals': { 'aws:PrincipalOrgID': ['o-a1b2c3d4e5'] } }],
  ])('%s bounds, and another account is denied under IAM evaluation', async (_name, conditions) => {
    const f = fixture();
    const k = key(f);
    k.addToResourcePolicy(star(conditions));
    const { decide } = evaluate(f, k);
    const foreign = `arn:aws:iam::${OTHER_ACCOUNT}:role/intruder`;
    const context = { ...kmsRequestContext({ principalArn: foreign, viaService: 'secretsmanager' }), 'aws:PrincipalOrgID': 'o-zzzzzzzzzz' };
    expect(await decide(foreign, 'kms:Decrypt', { identityPolicies: [KMS_ALL], context })).not.toBe('Allowed');
  });
});

describe('one role written two ways is one principal', () => {
  test.each([
    ['Role.fromRoleArn', (s: Stack) => iam.Role.fromRoleArn(s, 'Same', 'arn:aws:iam::111111111111:role/key-admin')],
    ['Role.fromRoleArn with a path', (s: Stack) => iam.Role.fromRoleArn(s, 'Same', 'arn:aws:iam::111111111111:role/ops/key-admin')],
    ['Role.fromRoleName', (s: Stack) => iam.Role.fromRoleName(s, 'Same', 'key-admin')],
    ['ArnPrincipal in another case', (_s: Stack) => new iam.ArnPrincipal('arn:aws:iam::111111111111:role/Key-Admin')],
    ['PrincipalWithConditions', (s: Stack) => new iam.PrincipalWithConditions(iam.Role.fromRoleName(s, 'Same', 'key-admin'), { Bool: { 'aws:SecureTransport': 'true' } })],
  ])('new Role(...) as administrator and %s as user is refused', (_name, same) => {
    const f = fixture();
    expectLibraryError(() => new CustomerManagedKey(f.stack, 'Key', {
      administrators: [f.admin], users: [same(f.stack)], allowAccountToAdminister: false,
    }), /is both an administrator \(CustomerManagedKey\.administrators\) and a user \(CustomerManagedKey\.users\)/);
  });

  test('an assumed-role session is refused: a Deny for one session would not hold for the role', () => {
    const f = fixture();
    expectLibraryError(() => new CustomerManagedKey(f.stack, 'Key', { administrators: [new iam.ArnPrincipal('arn:aws:sts::111111111111:assumed-role/key-admin/alice')] }),
      /CustomerManagedKey\.administrators: names the assumed-role session .*Fix: Name the role itself/);
  });

  test('a role without a name and a reference to it through roleName or roleArn are one principal', () => {
    const f = fixture();
    const unnamed = new iam.Role(f.stack, 'Unnamed', { assumedBy: new iam.AccountRootPrincipal() });
    expectLibraryError(() => new CustomerManagedKey(f.stack, 'K1', { administrators: [unnamed], users: [iam.Role.fromRoleName(f.stack, 'ByName', unnamed.roleName)] }), /is both an administrator/);
    expectLibraryError(() => new CustomerManagedKey(f.stack, 'K2', { administrators: [unnamed], users: [iam.Role.fromRoleArn(f.stack, 'ByArn', unnamed.roleArn)] }), /is both an administrator/);
  });

  test('a role of another stack is recognised through a reference written in the key\'s stack', () => {
    const app = new App();
    const roles = new Stack(app, 'Roles', { env: TEST_STACK_ENV });
    const keys = new Stack(app, 'Keys', { env: TEST_STACK_ENV });
    const admin = new iam.Role(roles, 'Admin', { assumedBy: new iam.AccountRootPrincipal() });
    expectLibraryError(() => new CustomerManagedKey(keys, 'Key', { administrators: [admin], users: [iam.Role.fromRoleArn(keys, 'Again', admin.roleArn)] }), /is both an administrator/);
  });
});

describe('a principal with conditions', () => {
  const range = { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } };

  test('an administrator with an IP condition is denied use from everywhere; a plain administrator beside it does not crash', async () => {
    const f = fixture();
    const other = new iam.Role(f.stack, 'Other', { roleName: 'other-admin', assumedBy: new iam.AccountRootPrincipal() });
    const k = new CustomerManagedKey(f.stack, 'Key', { administrators: [new iam.PrincipalWithConditions(f.admin, range), other], users: [f.app] });
    const { keyPolicy, decide } = evaluate(f, k);
    const deny = keyPolicy.Statement.find(s => s.Sid === 'AdministratorsNeverUseKey')!;
    expect(deny.Condition).toBeUndefined();
    const outside = { ...kmsRequestContext({ principalArn: ADMIN_ARN }), 'aws:SourceIp': '198.51.100.7' };
    const inside = { ...kmsRequestContext({ principalArn: ADMIN_ARN }), 'aws:SourceIp': '203.0.113.7' };
    expect(await decide(ADMIN_ARN, 'kms:Decrypt', { identityPolicies: [KMS_ALL], context: outside })).toBe('ExplicitlyDenied');
    expect(await decide(ADMIN_ARN, 'kms:Decrypt', { identityPolicies: [KMS_ALL], context: inside })).toBe('ExplicitlyDenied');
    // Its management holds only inside the range; the plain administrator is not narrowed by it.
    expect(await decide(ADMIN_ARN, 'kms:PutKeyPolicy', { context: inside })).toBe('Allowed');
    expect(await decide(ADMIN_ARN, 'kms:PutKeyPolicy', { context: outside })).not.toBe('Allowed');
    expect(await decide('arn:aws:iam::111111111111:role/other-admin', 'kms:PutKeyPolicy', { context: outside })).toBe('Allowed');
  });

  test('its Allow is a statement of its own, never shared with another principal', () => {
    const f = fixture();
    const other = new iam.Role(f.stack, 'Other', { assumedBy: new iam.AccountRootPrincipal() });
    const k = new CustomerManagedKey(f.stack, 'Key', { administrators: [new iam.PrincipalWithConditions(f.admin, range), other] });
    const allows = evaluate(f, k).keyPolicy.Statement.filter(s => s.Effect === 'Allow' && s.Sid?.startsWith('AdministratorsManageKey'));
    expect(allows).toHaveLength(2);
    for (const s of allows) expect(Object.values(s.Principal as Record<string, unknown>).flat()).toHaveLength(1);
  });
});

describe('users are denied every management action, grant cleanup included', () => {
  test.each(['kms:RevokeGrant', 'kms:RetireGrant', 'kms:ImportKeyMaterial', 'kms:DeleteImportedKeyMaterial', 'kms:GetParametersForImport', 'kms:ScheduleKeyDeletion'])(
    'a user with IAM kms:* is explicitly denied %s', async action => {
      const f = fixture();
      const { decide } = evaluate(f, key(f));
      expect(await decide(APP_ARN, action, { identityPolicies: [KMS_ALL] })).toBe('ExplicitlyDenied');
    });
});

describe('exact grants of management actions', () => {
  test('grant(role, kms:TagResource) grants exactly that, and denies the role every use', async () => {
    const f = fixture();
    const tagger = new iam.Role(f.stack, 'Tagger', { roleName: 'tagger', assumedBy: new iam.AccountRootPrincipal() });
    const k = key(f);
    k.grant(tagger, 'kms:TagResource');
    const { keyPolicy, decide } = evaluate(f, k);
    const own = keyPolicy.Statement.filter(s => s.Effect === 'Allow' && JSON.stringify(s.Principal).includes('role/tagger'));
    expect(own.map(s => [s.Action].flat())).toEqual([['kms:TagResource']]);
    const taggerArn = 'arn:aws:iam::111111111111:role/tagger';
    expect(await decide(taggerArn, 'kms:TagResource')).toBe('Allowed');
    expect(await decide(taggerArn, 'kms:PutKeyPolicy')).toBe('ImplicitlyDenied');
    expect(await decide(taggerArn, 'kms:ScheduleKeyDeletion')).toBe('ImplicitlyDenied');
    expect(await decide(taggerArn, 'kms:Decrypt', { identityPolicies: [KMS_ALL] })).toBe('ExplicitlyDenied');
  });

  test('alias.grant(role, kms:CreateAlias) goes through the same exact path', () => {
    const f = fixture();
    const k = key(f);
    const alias = new kms.Alias(f.stack, 'Alias', { aliasName: 'alias/payments', targetKey: k });
    const ops = new iam.Role(f.stack, 'Ops', { roleName: 'ops', assumedBy: new iam.AccountRootPrincipal() });
    alias.grant(ops, 'kms:CreateAlias');
    const own = evaluate(f, k).keyPolicy.Statement.filter(s => s.Effect === 'Allow' && JSON.stringify(s.Principal).includes('role/ops'));
    expect(own.map(s => [s.Action].flat())).toEqual([['kms:CreateAlias']]);
  });

  test('a user granted a management action is refused', () => {
    const f = fixture();
    expectLibraryError(() => key(f).grant(f.app, 'kms:tagresource'), /is both an administrator \(CustomerManagedKey\.grant\) and a user/);
  });
});

describe('service principals are bound to this account', () => {
  const serviceContext = (service: string, sourceAccount: string) => ({ 'aws:SourceAccount': sourceAccount, 'aws:PrincipalServiceName': service, 'aws:SecureTransport': 'true' });

  test.each([
    ['users: [logs]', (f: Fixture) => key(f, { users: [new iam.ServicePrincipal('logs.amazonaws.com')] }), 'logs.amazonaws.com'],
    ['grantDecrypt(s3)', (f: Fixture) => {
      const k = key(f);
      k.grantDecrypt(new iam.ServicePrincipal('s3.amazonaws.com'));
      return k;
    }, 's3.amazonaws.com'],
  ])('%s: the service acting for another account is denied, for this one allowed', async (_name, build, service) => {
    const f = fixture();
    const k = build(f);
    const { keyPolicy, decide } = evaluate(f, k);
    const own = keyPolicy.Statement.filter(s => s.Effect === 'Allow' && JSON.stringify(s.Principal).includes(service) && JSON.stringify(s.Action).includes('kms:Decrypt'));
    expect(own.length).toBeGreaterThan(0);
    for (const s of own) expect(s.Condition?.StringEquals?.['aws:SourceAccount']).toBe('111111111111');
    expect(await decide(service, 'kms:Decrypt', { context: serviceContext(service, OTHER_ACCOUNT) })).toBe('ImplicitlyDenied');
    expect(await decide(service, 'kms:Decrypt', { context: serviceContext(service, '111111111111') })).toBe('Allowed');
  });

  test('a service principal with its own aws:SourceArn condition keeps it, without a second bound', () => {
    const f = fixture();
    const k = key(f);
    k.addToResourcePolicy(new iam.PolicyStatement({
      actions: ['kms:Decrypt'],
      principals: [new iam.ServicePrincipal('logs.amazonaws.com')],
      resources: ['*'],
      conditions: { ArnLike: { 'aws:SourceArn': 'arn:aws:logs:eu-west-1:111111111111:*' } },
    }));
    const own = evaluate(f, k).keyPolicy.Statement.find(s => JSON.stringify(s.Principal).includes('logs.amazonaws.com'))!;
    expect(own.Condition).toEqual({ ArnLike: { 'aws:SourceArn': 'arn:aws:logs:eu-west-1:111111111111:*' } });
  });

  test('a service and a role in one statement are split, so the role is not narrowed by the service\'s bound', async () => {
    const f = fixture();
    const k = key(f, { users: [] });
    k.addToResourcePolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], principals: [new iam.ServicePrincipal('s3.amazonaws.com'), f.app], resources: ['*'] }));
    const { decide } = evaluate(f, k);
    expect(await decide(APP_ARN, 'kms:Decrypt')).toBe('Allowed');
    expect(await decide('s3.amazonaws.com', 'kms:Decrypt', { context: serviceContext('s3.amazonaws.com', OTHER_ACCOUNT) })).toBe('ImplicitlyDenied');
  });
});

describe('lockout, really', () => {
  test('allowAccountToAdminister false without the deploying role among administrators is refused, naming the property', () => {
    const f = fixture();
    expectLibraryError(() => key(f, { allowAccountToAdminister: false }),
      /CustomerManagedKey\.administrators: does not include the role CloudFormation deploys the stack with \(arn:\$\{AWS::Partition\}:iam::111111111111:role\/cdk-hnb659fds-cfn-exec-role-111111111111-eu-west-1\)/);
  });

  test('the DefaultStackSynthesizer\'s execution role among the administrators, written by ARN, is accepted', () => {
    const f = fixture();
    const exec = iam.Role.fromRoleArn(f.stack, 'Exec', 'arn:aws:iam::111111111111:role/cdk-hnb659fds-cfn-exec-role-111111111111-eu-west-1');
    expect(() => new CustomerManagedKey(f.stack, 'Key', { administrators: [f.admin, exec], allowAccountToAdminister: false })).not.toThrow();
  });

  test('deploymentRole becomes an administrator', async () => {
    const f = fixture();
    const deployer = iam.Role.fromRoleArn(f.stack, 'Deployer', 'arn:aws:iam::111111111111:role/deployer');
    const k = key(f, { allowAccountToAdminister: false, deploymentRole: deployer });
    const { decide } = evaluate(f, k);
    expect(await decide('arn:aws:iam::111111111111:role/deployer', 'kms:PutKeyPolicy')).toBe('Allowed');
  });

  test('a synthesizer that does not name its deploying role needs deploymentRole', () => {
    const stack = new Stack(new App(), 'Cli', { env: TEST_STACK_ENV, synthesizer: new CliCredentialsStackSynthesizer() });
    const admin = new iam.Role(stack, 'Admin', { assumedBy: new iam.AccountRootPrincipal() });
    expectLibraryError(() => new CustomerManagedKey(stack, 'Key', { administrators: [admin], allowAccountToAdminister: false }),
      /CustomerManagedKey\.deploymentRole: is not set, and the stack's synthesizer \(CliCredentialsStackSynthesizer\)/);
  });

  test('an explicit Deny of PutKeyPolicy to the only administrator is a lockout, found at synth', () => {
    const f = fixture();
    const k = key(f, { allowAccountToAdminister: false, deploymentRole: f.admin });
    k.addToResourcePolicy(new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: ['kms:put*'], principals: [iam.Role.fromRoleName(f.stack, 'Again', 'key-admin')], resources: ['*'] }));
    expect(() => Template.fromStack(f.stack)).toThrow(/no principal that can call kms:PutKeyPolicy.*denied it/s);
  });
});

describe('found by the attacker review', () => {
  test.each([
    ['StringNotEquals kms:ViaService', { StringNotEquals: { 'kms:ViaService': 'nothing.eu-west-1.amazonaws.com' } }],
    ['Null kms:ViaService true', { Null: { 'kms:ViaService': 'true' } }],
    ['StringEqualsIfExists kms:ViaService', { StringEqualsIfExists: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } }],
    ['ForAllValues:StringEquals kms:ViaService', { 'ForAllValues:StringEquals': { 'kms:ViaService': ['s3.eu-west-1.amazonaws.com'] } }],
    ['StringEquals kms:ViaService with no value', { StringEquals: { 'kms:ViaService': [] } }],
  ])('account-wide use "through a service" written as %s is refused: it holds for direct calls', (_name, via) => {
    const f = fixture();
    const k = key(f);
    expectLibraryError(() => k.addToResourcePolicy(new iam.PolicyStatement({
      actions: ['kms:Decrypt'],
      principals: [new iam.AnyPrincipal()],
      resources: ['*'],
      conditions: { ...via, StringEquals: { 'aws:PrincipalAccount': '111111111111', ...((via as Record<string, Record<string, unknown>>).StringEquals ?? {}) } },
    })), /would let every principal of the account use this key directly/);
    expectLibraryError(() => k.addToResourcePolicy(new iam.PolicyStatement({
      actions: ['kms:Decrypt'], principals: [new iam.AccountRootPrincipal()], resources: ['*'], conditions: via,
    })), /would let every principal of the account use this key directly/);
  });

  test('management for Principal "*", even bounded to the account, is refused', () => {
    const f = fixture();
    const k = key(f, { users: [] });
    k.grantDecrypt(f.app);
    expectLibraryError(() => k.addToResourcePolicy(new iam.PolicyStatement({
      actions: ['kms:PutKeyPolicy'], principals: [new iam.AnyPrincipal()], resources: ['*'], conditions: { StringEquals: { 'aws:PrincipalAccount': '111111111111' } },
    })), /allows management actions to Principal "\*"/);
  });

  test.each([
    ['StringLike aws:SourceArn "*"', { StringLike: { 'aws:SourceArn': '*' } }],
    ['an encryption context that names no account', { StringEquals: { 'kms:EncryptionContext:purpose': 'x' } }],
    ['aws:SourceAccount under StringNotEquals', { StringNotEquals: { 'aws:SourceAccount': '222222222222' } }],
  ])('a service principal "bound" by %s still gets aws:SourceAccount, so it cannot act for another account', async (_name, conditions) => {
    const f = fixture();
    const k = key(f);
    k.addToResourcePolicy(new iam.PolicyStatement({ actions: ['kms:Decrypt'], principals: [new iam.ServicePrincipal('s3.amazonaws.com')], resources: ['*'], conditions }));
    const { decide } = evaluate(f, k);
    const forOther = { 'aws:SourceAccount': OTHER_ACCOUNT, 'aws:SourceArn': 'arn:aws:s3:::evil-bucket', 'aws:PrincipalServiceName': 's3.amazonaws.com', 'kms:EncryptionContext:purpose': 'x' };
    expect(await decide('s3.amazonaws.com', 'kms:Decrypt', { context: forOther })).toBe('ImplicitlyDenied');
  });

  test('grantUse to a service with an encryption context only is bound to this account too', async () => {
    const f = fixture();
    const k = key(f);
    k.grantUse(new iam.ServicePrincipal('s3.amazonaws.com'), { operations: [KeyOperation.DECRYPT], encryptionContext: { purpose: 'x' } });
    const { decide } = evaluate(f, k);
    expect(await decide('s3.amazonaws.com', 'kms:Decrypt', { context: { 'aws:SourceAccount': OTHER_ACCOUNT, 'aws:PrincipalServiceName': 's3.amazonaws.com', 'kms:EncryptionContext:purpose': 'x' } })).toBe('ImplicitlyDenied');
  });

  test('a Deny of PutKeyPolicy whose condition always holds is a lockout, found at synth', () => {
    const f = fixture();
    const k = key(f);
    k.addToResourcePolicy(new iam.PolicyStatement({ effect: iam.Effect.DENY, actions: ['kms:PutKeyPolicy'], principals: [new iam.AnyPrincipal()], resources: ['*'], conditions: { Bool: { 'aws:SecureTransport': 'true' } } }));
    expect(() => Template.fromStack(f.stack)).toThrow(/no principal that can call kms:PutKeyPolicy/);
  });

  test('replacing or overriding the CfnKey\'s KeyPolicy is refused at synth', () => {
    const f = fixture();
    const k = key(f);
    (k.node.defaultChild as kms.CfnKey).addPropertyOverride('KeyPolicy', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:*', Resource: '*' }] });
    expect(() => Template.fromStack(f.stack)).toThrow(/KeyPolicy was replaced or overridden/);
    const g = fixture();
    const k2 = key(g);
    (k2.node.defaultChild as kms.CfnKey).keyPolicy = { Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111111111111:role/app' }, Action: 'kms:*', Resource: '*' }] };
    expect(() => Template.fromStack(g.stack)).toThrow(/KeyPolicy was replaced or overridden/);
  });

  test('a role ARN written with Fn::Sub (variables or a resource reference) is the same principal', () => {
    const f = fixture();
    expectLibraryError(() => key(f).grantDecrypt(iam.Role.fromRoleArn(f.stack, 'X', Fn.sub('arn:aws:iam::${AWS::AccountId}:role/${N}', { N: 'key-admin' }))),
      /is both an administrator/);
    const g = fixture();
    const unnamed = new iam.Role(g.stack, 'Unnamed', { assumedBy: new iam.AccountRootPrincipal() });
    const k = new CustomerManagedKey(g.stack, 'Key', { administrators: [unnamed] });
    const id = g.stack.getLogicalId(unnamed.node.defaultChild as iam.CfnRole);
    expectLibraryError(() => k.grantDecrypt(new iam.ArnPrincipal(Fn.sub(`arn:aws:iam::\${AWS::AccountId}:role/\${${id}}`))), /is both an administrator/);
  });

  test('a principal whose identity is an unresolved token cannot claim a role', () => {
    const f = fixture();
    const arn = new CfnParameter(f.stack, 'RoleArn').valueAsString;
    expectLibraryError(() => key(f).grantDecrypt(new iam.ArnPrincipal(arn)), /identity cannot be known at synth/);
  });
});

test('an encryption context naming an ARN of this account binds a service, also in an env-agnostic stack (no aws:SourceAccount added)', () => {
  const stack = new Stack(new App(), 'Agnostic');
  const k = new CustomerManagedKey(stack, 'Key');
  const logGroupArn = stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '/app', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  k.grantUse(new iam.ServicePrincipal('logs.amazonaws.com'), { operations: [KeyOperation.ENCRYPT, KeyOperation.DECRYPT], encryptionContext: { 'aws:logs:arn': logGroupArn } });
  const text = JSON.stringify(Template.fromStack(stack).toJSON());
  expect(text).toContain('kms:EncryptionContext:aws:logs:arn');
  expect(text).not.toContain('aws:SourceAccount');
});
