/**
 * aws-cdk-lib's kms.Key behaviour, restated in our words and run on both
 * kms.Key and CustomerManagedKey (issue #12). Each case asserts either that
 * the subclass behaves as the base class does, or the intended difference
 * (the error we throw, the statement we write instead). The README's table
 * of intended differences lists the same cases.
 */
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { CustomerManagedKey } from '../../src';
import {
  allowPolicy, arnOf, CfnTemplate, Decision, identityPoliciesOf, keyPolicyOf, kmsRequestContext, logicalIdOf, simulate, TEST_STACK_ENV,
} from '../support/iam-eval';

type Make = (s: Stack, props?: kms.KeyProps) => kms.Key;
const BASE: Make = (s, props) => new kms.Key(s, 'Key', props);
const OURS: Make = (s, props) => new CustomerManagedKey(s, 'Key', props as never);
const KINDS: Array<[string, Make]> = [['kms.Key', BASE], ['CustomerManagedKey', OURS]];

function world(make: Make, props?: kms.KeyProps) {
  const stack = new Stack(new App(), 'S', { env: TEST_STACK_ENV });
  const role = new iam.Role(stack, 'Role', { assumedBy: new iam.AccountRootPrincipal() });
  const key = make(stack, props);
  return { stack, role, key };
}

function keyResource(stack: Stack): Record<string, any> {
  return Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key'))[0];
}

async function decide(w: ReturnType<typeof world>, action: string, identity: 'template' | 'kms-all' = 'template'): Promise<Decision> {
  const t = Template.fromStack(w.stack).toJSON() as CfnTemplate;
  const principalArn = arnOf(t, logicalIdOf(w.role));
  return simulate({
    principalArn,
    action,
    resourceArn: arnOf(t, logicalIdOf(w.key)),
    resourcePolicy: keyPolicyOf(t, logicalIdOf(w.key)),
    identityPolicies: identity === 'kms-all' ? [allowPolicy('kms:*')] : identityPoliciesOf(t, logicalIdOf(w.role)),
    context: kmsRequestContext({ principalArn }),
  });
}

describe.each(KINDS)('%s: the same as kms.Key', (_name, make) => {
  test('an alias, and a second with addAlias', () => {
    const w = world(make, { alias: 'payments' });
    w.key.addAlias('alias/payments-b');
    const aliases = Object.values(Template.fromStack(w.stack).findResources('AWS::KMS::Alias')).map(a => a.Properties.AliasName).sort();
    expect(aliases).toEqual(['alias/payments', 'alias/payments-b']);
  });

  test('description, enabled, multi-Region and key spec are passed through', () => {
    const w = world(make, { description: 'd', enabled: false, multiRegion: true });
    expect(keyResource(w.stack).Properties).toMatchObject({ Description: 'd', Enabled: false, MultiRegion: true });
  });

  test('retained when removed from the stack, by default', () => {
    expect(keyResource(world(make).stack).DeletionPolicy).toBe('Retain');
  });

  test('a key usage that does not fit the key spec is refused', () => {
    expect(() => world(make, { keySpec: kms.KeySpec.HMAC_256 })).toThrow();
  });

  test('rotation on an HMAC key is refused', () => {
    expect(() => world(make, { keySpec: kms.KeySpec.HMAC_256, keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC, enableKeyRotation: true })).toThrow();
  });

  test('a rotation period outside 90-2560 days, and a pending window outside 7-30 days, are refused', () => {
    expect(() => world(make, { rotationPeriod: Duration.days(30) })).toThrow();
    expect(() => world(make, { pendingWindow: Duration.days(5) })).toThrow();
  });

  test.each(['grantDecrypt', 'grantEncrypt', 'grantEncryptDecrypt'] as const)('%s lets the role use the key (IAM evaluation)', async method => {
    const w = world(make);
    w.key[method](w.role);
    const action = method === 'grantEncrypt' ? 'kms:Encrypt' : 'kms:Decrypt';
    expect(await decide(w, action)).toBe('Allowed');
  });

  test('key.grants.decrypt is the same grant as grantDecrypt', async () => {
    const w = world(make);
    w.key.grants.decrypt(w.role);
    expect(await decide(w, 'kms:Decrypt')).toBe('Allowed');
  });

  test('grantAdmin lets the role manage the key', async () => {
    const w = world(make);
    w.key.grantAdmin(w.role);
    expect(await decide(w, 'kms:PutKeyPolicy')).toBe('Allowed');
  });

  test('a sign/verify key: grantSignVerify', async () => {
    const w = world(make, { keySpec: kms.KeySpec.ECC_NIST_P256, keyUsage: kms.KeyUsage.SIGN_VERIFY });
    w.key.grantSignVerify(w.role);
    expect(await decide(w, 'kms:Sign')).toBe('Allowed');
  });

  test('fromKeyArn returns an IKey', () => {
    const s = new Stack(new App(), 'S', { env: TEST_STACK_ENV });
    const Kind = make === BASE ? kms.Key : CustomerManagedKey;
    expect(Kind.fromKeyArn(s, 'I', 'arn:aws:kms:eu-west-1:111111111111:key/abc').keyId).toBe('abc');
  });
});

describe('intended differences of CustomerManagedKey', () => {
  test('the default policy: kms.Key gives the account root kms:*; ours gives it management only', () => {
    const base = JSON.stringify(keyResource(world(BASE).stack).Properties.KeyPolicy);
    const ours = JSON.stringify(keyResource(world(OURS).stack).Properties.KeyPolicy);
    expect(base).toContain('"kms:*"');
    expect(ours).not.toContain('"kms:*"');
    expect(ours).toContain('AccountAdministersKey');
  });

  test('rotation: off by default on kms.Key, on by default on ours (symmetric keys)', () => {
    expect(keyResource(world(BASE).stack).Properties.EnableKeyRotation).toBeUndefined();
    expect(keyResource(world(OURS).stack).Properties.EnableKeyRotation).toBe(true);
  });

  test('grantDecrypt: kms.Key writes an identity policy; ours writes the key policy, naming the role', () => {
    const b = world(BASE);
    b.key.grantDecrypt(b.role);
    expect(JSON.stringify(Template.fromStack(b.stack).findResources('AWS::IAM::Policy'))).toContain('kms:Decrypt');
    const o = world(OURS);
    o.key.grantDecrypt(o.role);
    expect(Template.fromStack(o.stack).findResources('AWS::IAM::Policy')).toEqual({});
    expect(JSON.stringify(keyResource(o.stack).Properties.KeyPolicy)).toContain('UsersUseKey');
  });

  test('an administrator with IAM kms:*: kms.Key lets it decrypt; ours denies it explicitly', async () => {
    const b = world(BASE);
    b.key.grantAdmin(b.role);
    expect(await decide(b, 'kms:Decrypt', 'kms-all')).toBe('Allowed');
    const o = world(OURS);
    o.key.grantAdmin(o.role);
    expect(await decide(o, 'kms:Decrypt', 'kms-all')).toBe('ExplicitlyDenied');
  });

  test('any principal of the account with IAM kms:*: kms.Key lets it decrypt; ours does not', async () => {
    expect(await decide(world(BASE), 'kms:Decrypt', 'kms-all')).toBe('Allowed');
    expect(await decide(world(OURS), 'kms:Decrypt', 'kms-all')).toBe('ImplicitlyDenied');
  });

  test('addToResourcePolicy(kms:* for a role): kms.Key accepts it; ours refuses with our error', () => {
    const st = () => new iam.PolicyStatement({ actions: ['kms:*'], principals: [new iam.ArnPrincipal('arn:aws:iam::111111111111:role/x')], resources: ['*'] });
    expect(() => world(BASE).key.addToResourcePolicy(st())).not.toThrow();
    expect(() => world(OURS).key.addToResourcePolicy(st())).toThrow(/\[cdk-kms-secrets\] CustomerManagedKey\.addToResourcePolicy: .*covers both management actions/);
  });

  test('admins and policy props: honoured by kms.Key; refused by ours with our error', () => {
    const admins = { admins: [new iam.ArnPrincipal('arn:aws:iam::111111111111:role/a')] };
    expect(() => world(BASE, admins)).not.toThrow();
    expect(() => world(OURS, admins)).toThrow(/\[cdk-kms-secrets\] CustomerManagedKey\.admins:/);
    expect(() => world(BASE, { policy: new iam.PolicyDocument() })).not.toThrow();
    expect(() => world(OURS, { policy: new iam.PolicyDocument() })).toThrow(/\[cdk-kms-secrets\] CustomerManagedKey\.policy:/);
  });

  test('errors: kms.Key throws its own message; ours names the property and the fix', () => {
    expect(() => world(OURS, { pendingWindow: Duration.days(5) })).toThrow(/^\[cdk-kms-secrets\] CustomerManagedKey\.pendingWindow: .* Fix: /);
  });

  test('removal policy DESTROY is still honoured when asked', () => {
    expect(keyResource(world(OURS, { removalPolicy: RemovalPolicy.DESTROY }).stack).DeletionPolicy).toBe('Delete');
  });
});
