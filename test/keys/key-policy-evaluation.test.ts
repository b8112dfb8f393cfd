/**
 * IAM evaluation of the synthesized key policy: what a principal can actually
 * do with a `CustomerManagedKey`, decided by iam-simulate from the key policy
 * and the principal's identity policies (with the KMS rule that identity
 * policies only count where the key policy allows the account).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CustomerManagedKey, CustomerManagedKeyProps, KeyOperation } from '../../src';
import {
  allowPolicy, arnOf, CfnTemplate, Decision, identityPoliciesOf, keyPolicyOf, kmsRequestContext, logicalIdOf, PolicyDocumentJson,
  resolveIntrinsics, simulate, TEST_ENV, TEST_STACK_ENV,
} from '../support/iam-eval';

const OTHER = `arn:aws:iam::${TEST_ENV.account}:role/Other`;
const FOREIGN_OTHER = 'arn:aws:iam::222222222222:role/Other';
const PARTNER = 'arn:aws:iam::222222222222:role/Partner';
const KMS_ALL = allowPolicy('kms:*');

interface Fixture {
  readonly stack: Stack;
  readonly admin: iam.Role;
  readonly app: iam.Role;
  readonly key: CustomerManagedKey;
}

/**
 * A stack with roles `Admin` and `App`, and a key that `Admin` administers and
 * `App` uses. `props` may be a function of the stack, to pass more of its roles.
 */
function fixture(props: Partial<CustomerManagedKeyProps> | ((stack: Stack) => Partial<CustomerManagedKeyProps>) = {}): Fixture {
  const stack = new Stack(new App(), 'KeyStack', { env: TEST_STACK_ENV });
  const admin = new iam.Role(stack, 'Admin', { assumedBy: new iam.AccountRootPrincipal() });
  const app = new iam.Role(stack, 'App', { assumedBy: new iam.AccountRootPrincipal() });
  const extra = typeof props === 'function' ? props(stack) : props;
  const key = new CustomerManagedKey(stack, 'Key', { administrators: [admin], users: [app], ...extra });
  return { stack, admin, app, key };
}

/** A role of the fixture's stack that is neither administrator nor user. */
function role(stack: Stack, id: string): iam.Role {
  return new iam.Role(stack, id, { assumedBy: new iam.AccountRootPrincipal() });
}

/** The synthesized template, and a `decide` that evaluates requests against the key. */
function evaluate(f: Fixture) {
  const template = Template.fromStack(f.stack).toJSON() as CfnTemplate;
  const keyId = logicalIdOf(f.key);
  const keyArn = arnOf(template, keyId);
  const keyPolicy = keyPolicyOf(template, keyId);
  const arnOfRole = (r: iam.IRole) => arnOf(template, logicalIdOf(r));
  const decide = (request: {
    principalArn: string;
    action: string;
    identityPolicies?: Array<PolicyDocumentJson | { name: string; policy: unknown }>;
    viaService?: string;
    encryptionContext?: Record<string, string>;
  }): Promise<Decision> => simulate({
    principalArn: request.principalArn,
    action: request.action,
    resourceArn: keyArn,
    identityPolicies: request.identityPolicies ?? [],
    resourcePolicy: keyPolicy,
    context: kmsRequestContext(request),
  });
  /** Evaluates a request by a role of the stack, with the identity policies the template attaches to it. */
  const decideForRole = (r: iam.IRole, action: string, extra: { viaService?: string; encryptionContext?: Record<string, string> } = {}) =>
    decide({ principalArn: arnOfRole(r), action, identityPolicies: identityPoliciesOf(template, logicalIdOf(r)), ...extra });
  return { template, keyArn, keyPolicy, arnOfRole, decide, decideForRole };
}

describe('administrators manage the key and never use it', () => {
  const f = fixture();
  const { decide, arnOfRole } = evaluate(f);
  const admin = arnOfRole(f.admin);

  test.each(['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:DescribeKey'])('the admin is allowed %s by the key policy alone', async action => {
    expect(await decide({ principalArn: admin, action })).toBe('Allowed');
  });

  test.each(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:CreateGrant', 'kms:ReEncryptFrom'])(
    'the admin is explicitly denied %s even with an identity policy allowing kms:* on *', async action => {
      expect(await decide({ principalArn: admin, action, identityPolicies: [KMS_ALL] })).toBe('ExplicitlyDenied');
    });
});

describe('users use the key and never manage it', () => {
  const f = fixture();
  const { decide, arnOfRole } = evaluate(f);
  const app = arnOfRole(f.app);

  test.each(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'])('the user is allowed %s with no identity policy (the key policy names it)', async action => {
    expect(await decide({ principalArn: app, action })).toBe('Allowed');
  });

  test.each(['kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy', 'kms:DisableKey', 'kms:CreateAlias'])(
    'the user is explicitly denied %s even with an identity policy allowing kms:*', async action => {
      expect(await decide({ principalArn: app, action, identityPolicies: [KMS_ALL] })).toBe('ExplicitlyDenied');
    });
});

describe('the account administers the key but never uses it', () => {
  const f = fixture();
  const { decide } = evaluate(f);

  test.each(['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:CreateGrant'])(
    'an unlisted principal of the account with identity kms:* is denied %s', async action => {
      expect(await decide({ principalArn: OTHER, action, identityPolicies: [KMS_ALL] })).toBe('ImplicitlyDenied');
    });

  test('an unlisted principal of the account with identity kms:* can PutKeyPolicy and ScheduleKeyDeletion (no lockout)', async () => {
    expect(await decide({ principalArn: OTHER, action: 'kms:PutKeyPolicy', identityPolicies: [KMS_ALL] })).toBe('Allowed');
    expect(await decide({ principalArn: OTHER, action: 'kms:ScheduleKeyDeletion', identityPolicies: [KMS_ALL] })).toBe('Allowed');
  });

  test('without an identity policy the unlisted principal cannot PutKeyPolicy: the account statement delegates to IAM', async () => {
    expect(await decide({ principalArn: OTHER, action: 'kms:PutKeyPolicy' })).toBe('ImplicitlyDenied');
  });
});

describe('allowAccountToAdminister: false', () => {
  // CloudFormation deploys as the administrator: CreateKey needs it to be able to PutKeyPolicy.
  const f = fixture(stack => ({ allowAccountToAdminister: false, deploymentRole: iam.Role.fromRoleArn(stack, 'Deployer', stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: 'Admin' })) }));
  const { decide, arnOfRole } = evaluate(f);

  test('an unlisted principal of the account cannot PutKeyPolicy, even with identity kms:*', async () => {
    expect(await decide({ principalArn: OTHER, action: 'kms:PutKeyPolicy', identityPolicies: [KMS_ALL] })).toBe('ImplicitlyDenied');
  });

  test('the admin still can', async () => {
    expect(await decide({ principalArn: arnOfRole(f.admin), action: 'kms:PutKeyPolicy' })).toBe('Allowed');
  });
});

describe('principals of another account', () => {
  test('a foreign principal with identity kms:* is denied Decrypt (and PutKeyPolicy)', async () => {
    const { decide } = evaluate(fixture());
    expect(await decide({ principalArn: FOREIGN_OTHER, action: 'kms:Decrypt', identityPolicies: [KMS_ALL] })).toBe('ImplicitlyDenied');
    expect(await decide({ principalArn: FOREIGN_OTHER, action: 'kms:PutKeyPolicy', identityPolicies: [KMS_ALL] })).toBe('ImplicitlyDenied');
  });

  describe('after grantDecrypt to a partner role of the other account', () => {
    const f = fixture();
    f.key.grantDecrypt(new iam.ArnPrincipal(PARTNER));
    const { decide, keyArn } = evaluate(f);
    const partnerIdentity = allowPolicy('kms:Decrypt', keyArn);

    test('the partner role, with an identity policy allowing kms:Decrypt on the key, can Decrypt', async () => {
      expect(await decide({ principalArn: PARTNER, action: 'kms:Decrypt', identityPolicies: [partnerIdentity] })).toBe('Allowed');
    });

    test('the partner role still needs its own account\'s identity policy', async () => {
      expect(await decide({ principalArn: PARTNER, action: 'kms:Decrypt' })).toBe('ImplicitlyDenied');
    });

    test('the partner role cannot manage the key, even with identity kms:*', async () => {
      // Grantees are not in the users' Deny (only the users-style properties
      // are, to keep the policy small), so either denial is right here.
      expect(await decide({ principalArn: PARTNER, action: 'kms:PutKeyPolicy', identityPolicies: [KMS_ALL] })).not.toBe('Allowed');
      expect(await decide({ principalArn: PARTNER, action: 'kms:ScheduleKeyDeletion', identityPolicies: [KMS_ALL] })).not.toBe('Allowed');
    });

    test('another role of that account is still denied Decrypt', async () => {
      expect(await decide({ principalArn: FOREIGN_OTHER, action: 'kms:Decrypt', identityPolicies: [KMS_ALL] })).toBe('ImplicitlyDenied');
    });
  });
});

describe('grantUse with viaService', () => {
  const f = fixture();
  const reader = role(f.stack, 'Reader');
  f.key.grantUse(reader, { operations: [KeyOperation.DECRYPT], viaService: 'secretsmanager' });
  const { decideForRole } = evaluate(f);

  test('Decrypt through Secrets Manager in the key\'s region is allowed', async () => {
    expect(await decideForRole(reader, 'kms:Decrypt', { viaService: 'secretsmanager.eu-west-1.amazonaws.com' })).toBe('Allowed');
  });

  test('Decrypt called directly is denied', async () => {
    expect(await decideForRole(reader, 'kms:Decrypt')).toBe('ImplicitlyDenied');
  });

  test('Decrypt through another service is denied', async () => {
    expect(await decideForRole(reader, 'kms:Decrypt', { viaService: 's3.eu-west-1.amazonaws.com' })).toBe('ImplicitlyDenied');
  });

  test('Decrypt through Secrets Manager in another region is denied', async () => {
    expect(await decideForRole(reader, 'kms:Decrypt', { viaService: 'secretsmanager.us-east-1.amazonaws.com' })).toBe('ImplicitlyDenied');
  });

  test('Encrypt is not granted, even through the service', async () => {
    expect(await decideForRole(reader, 'kms:Encrypt', { viaService: 'secretsmanager.eu-west-1.amazonaws.com' })).toBe('ImplicitlyDenied');
  });
});

describe('grantGenerateDataKey with an encryption context', () => {
  const f = fixture();
  const producer = role(f.stack, 'Producer');
  f.key.grantGenerateDataKey(producer, { encryptionContext: { tenant: 'acme' } });
  const { decideForRole } = evaluate(f);

  test('GenerateDataKey with tenant=acme is allowed', async () => {
    expect(await decideForRole(producer, 'kms:GenerateDataKey', { encryptionContext: { tenant: 'acme' } })).toBe('Allowed');
  });

  test('GenerateDataKey with tenant=acme and another pair is allowed (the condition names one key)', async () => {
    expect(await decideForRole(producer, 'kms:GenerateDataKey', { encryptionContext: { tenant: 'acme', purpose: 'x' } })).toBe('Allowed');
  });

  test('GenerateDataKey with tenant=other is denied', async () => {
    expect(await decideForRole(producer, 'kms:GenerateDataKey', { encryptionContext: { tenant: 'other' } })).toBe('ImplicitlyDenied');
  });

  test('GenerateDataKey with no encryption context is denied', async () => {
    expect(await decideForRole(producer, 'kms:GenerateDataKey')).toBe('ImplicitlyDenied');
  });

  test('Decrypt is denied, even with tenant=acme', async () => {
    expect(await decideForRole(producer, 'kms:Decrypt', { encryptionContext: { tenant: 'acme' } })).toBe('ImplicitlyDenied');
  });

  test('Encrypt is denied, even with tenant=acme', async () => {
    expect(await decideForRole(producer, 'kms:Encrypt', { encryptionContext: { tenant: 'acme' } })).toBe('ImplicitlyDenied');
  });
});

describe('requiredEncryptionContextKeys', () => {
  const f = fixture({ requiredEncryptionContextKeys: ['app'] });
  const { decideForRole } = evaluate(f);

  test('Decrypt with the app context key is allowed, whatever its value', async () => {
    expect(await decideForRole(f.app, 'kms:Decrypt', { encryptionContext: { app: 'billing' } })).toBe('Allowed');
    expect(await decideForRole(f.app, 'kms:Decrypt', { encryptionContext: { app: 'orders', tenant: 'acme' } })).toBe('Allowed');
  });

  test('Decrypt without the app context key is denied', async () => {
    expect(await decideForRole(f.app, 'kms:Decrypt')).toBe('ImplicitlyDenied');
    expect(await decideForRole(f.app, 'kms:Decrypt', { encryptionContext: { tenant: 'acme' } })).toBe('ImplicitlyDenied');
  });

  test('Encrypt and GenerateDataKey need it too', async () => {
    expect(await decideForRole(f.app, 'kms:Encrypt', { encryptionContext: { app: 'billing' } })).toBe('Allowed');
    expect(await decideForRole(f.app, 'kms:Encrypt')).toBe('ImplicitlyDenied');
    expect(await decideForRole(f.app, 'kms:GenerateDataKey')).toBe('ImplicitlyDenied');
  });
});

describe('bucket.grantRead on a bucket encrypted with the key (the kms.IKey path)', () => {
  const f = fixture();
  const reader = role(f.stack, 'Reader');
  const bucket = new s3.Bucket(f.stack, 'Bucket', { encryptionKey: f.key });
  bucket.grantRead(reader);
  const { decideForRole, template } = evaluate(f);
  const s3Context = { viaService: 's3.eu-west-1.amazonaws.com', encryptionContext: { 'aws:s3:arn': `${arnOf(template, logicalIdOf(bucket))}/object.txt` } };

  test('the reader can Decrypt with the key (called by S3 for it)', async () => {
    expect(await decideForRole(reader, 'kms:Decrypt', s3Context)).toBe('Allowed');
  });

  test('the reader cannot Encrypt or GenerateDataKey', async () => {
    expect(await decideForRole(reader, 'kms:Encrypt', s3Context)).toBe('ImplicitlyDenied');
    expect(await decideForRole(reader, 'kms:GenerateDataKey', s3Context)).toBe('ImplicitlyDenied');
  });

  test('the reader cannot manage the key with the identity policies the stack gives it', async () => {
    // Not in the users' Deny (a grantee, not a `users` member): either denial is right.
    expect(await decideForRole(reader, 'kms:PutKeyPolicy')).not.toBe('Allowed');
    expect(await decideForRole(reader, 'kms:ScheduleKeyDeletion')).not.toBe('Allowed');
  });
});

/*
 * Regression test for a bug found by this file, now fixed (src/keys/key-roles.ts, applyRoles, the `serviceUsers` loop):
 * the serviceUsers statement (kms:CreateGrant, ListGrants, RevokeGrant with
 * kms:GrantIsForAWSResource) gets none of the key-level narrowing, although
 * `viaServices` "narrows every use of the key by IAM principals" and
 * `callerAccounts` "every use of the key", and CreateGrant is a usage action
 * (administrators are denied it as such). A service user can therefore have
 * any integrated service (EC2/EBS, RDS, ...) create grants, which then use the
 * key outside the key's services and accounts. The two tests below
 * failed until the statement was narrowed like the others.
 */
describe('serviceUsers are narrowed by viaServices and callerAccounts', () => {
  /** CreateGrant made by an integrated service for the caller (for an AWS resource), or directly. */
  const createGrant = (f: Fixture, principalArn: string, viaService: string | undefined, identityPolicies: PolicyDocumentJson[] = []) => {
    const { keyArn, keyPolicy } = evaluate(f);
    return simulate({
      principalArn,
      action: 'kms:CreateGrant',
      resourceArn: keyArn,
      identityPolicies,
      resourcePolicy: keyPolicy,
      context: { ...kmsRequestContext({ principalArn, viaService }), 'kms:GrantIsForAWSResource': viaService === undefined ? 'false' : 'true' },
    });
  };
  const narrowed = fixture(stack => ({ viaServices: ['secretsmanager'], serviceUsers: [role(stack, 'ServiceUser')] }));
  const serviceUser = () => arnOf(evaluate(narrowed).template, logicalIdOf(narrowed.stack.node.findChild('ServiceUser')));

  test('a service user can have Secrets Manager, one of the key\'s services, create a grant', async () => {
    expect(await createGrant(narrowed, serviceUser(), 'secretsmanager')).toBe('Allowed');
  });

  test('a service user cannot create grants directly (not for an AWS resource)', async () => {
    expect(await createGrant(narrowed, serviceUser(), undefined)).toBe('ImplicitlyDenied');
  });

  test('a service user cannot have EC2, not one of the key\'s viaServices, create a grant', async () => {
    expect(await createGrant(narrowed, serviceUser(), 'ec2')).toBe('ImplicitlyDenied');
  });

  test('a service user of an account outside callerAccounts is refused, or cannot create grants', async () => {
    const foreign = 'arn:aws:iam::222222222222:role/ServiceUser';
    let f: Fixture | undefined;
    try {
      f = fixture({ callerAccounts: [TEST_ENV.account], serviceUsers: [new iam.ArnPrincipal(foreign)] });
    } catch (e) {
      expect((e as Error).message).toMatch(/callerAccounts/);
    }
    const outcome = f ? await createGrant(f, foreign, 'secretsmanager', [allowPolicy('kms:CreateGrant')]) : 'refused';
    expect(['refused', 'ImplicitlyDenied']).toContain(outcome);
  });
});

/*
 * Regression test for a bug found by this file, now fixed (src/keys/policy-builder.ts, KeyPolicyBuilder.addStatement): the
 * "account-wide use only through a service" rule is enforced for the account
 * root only. `Principal: "*"` bounded by `kms:CallerAccount` (or
 * `aws:PrincipalOrgID`, ...) passes assertBoundedStar and is not treated as
 * account-wide, so grantUse(new iam.AnyPrincipal(), { callerAccount }) lets
 * every principal of the account (of the organization, for
 * aws:PrincipalOrgID) use the key directly, without even an IAM policy. It
 * lands under the Sid "AccountUsesKeyOnlyViaService", with no kms:ViaService.
 */
describe('Principal "*" bounded to the account', () => {
  test('grantUse(AnyPrincipal, { callerAccount }) is refused, or does not let the account decrypt directly', async () => {
    const f = fixture();
    let refused = false;
    try {
      f.key.grantUse(new iam.AnyPrincipal(), { operations: [KeyOperation.DECRYPT], callerAccount: TEST_ENV.account });
    } catch (e) {
      expect((e as Error).message).toMatch(/viaService/);
      refused = true;
    }
    const outcome = refused ? 'refused' : await evaluate(f).decide({ principalArn: OTHER, action: 'kms:Decrypt' });
    expect(['refused', 'ImplicitlyDenied']).toContain(outcome);
  });

  test('with viaService it lets the account decrypt only through that service', async () => {
    const f = fixture();
    f.key.grantUse(new iam.AnyPrincipal(), { operations: [KeyOperation.DECRYPT], callerAccount: TEST_ENV.account, viaService: 'secretsmanager' });
    const { decide } = evaluate(f);
    expect(await decide({ principalArn: OTHER, action: 'kms:Decrypt', viaService: 'secretsmanager' })).toBe('Allowed');
    expect(await decide({ principalArn: OTHER, action: 'kms:Decrypt' })).toBe('ImplicitlyDenied');
    expect(await decide({ principalArn: FOREIGN_OTHER, action: 'kms:Decrypt', viaService: 'secretsmanager', identityPolicies: [KMS_ALL] })).toBe('ImplicitlyDenied');
  });
});

describe('the iam-eval helper never decides by accident', () => {
  const f = fixture();
  const { template, keyPolicy, keyArn, arnOfRole } = evaluate(f);

  test('resolves the template\'s role, key and account intrinsics to TEST_ENV values', () => {
    expect(arnOfRole(f.admin)).toBe(`arn:aws:iam::111111111111:role/${logicalIdOf(f.admin)}`);
    expect(keyArn).toBe(`arn:aws:kms:eu-west-1:111111111111:key/${logicalIdOf(f.key)}`);
    expect(JSON.stringify(keyPolicy)).not.toMatch(/Fn::|"Ref"/);
    expect(JSON.stringify(keyPolicy)).toContain('"arn:aws:iam::111111111111:root"');
  });

  test('throws on an intrinsic it cannot resolve', () => {
    expect(() => resolveIntrinsics(template, { 'Fn::ImportValue': 'x' })).toThrow(/cannot resolve intrinsic Fn::ImportValue/);
    expect(() => resolveIntrinsics(template, { Ref: 'Missing' })).toThrow(/not a resource of the template/);
    expect(() => resolveIntrinsics(template, { Ref: 'AWS::StackName' })).toThrow(/pseudo parameter/);
    expect(() => resolveIntrinsics(template, { 'Fn::GetAtt': [logicalIdOf(f.admin), 'RoleId'] })).toThrow(/cannot resolve Fn::GetAtt/);
  });

  test('throws on a request the simulator rejects, rather than reporting it denied', async () => {
    const allowOther = { Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'kms:Decrypt', Resource: '*' } as const;
    const run = (statement: object, action = 'kms:Decrypt', context = {}) => simulate({
      principalArn: OTHER,
      action,
      resourceArn: keyArn,
      context,
      resourcePolicy: { Version: '2012-10-17', Statement: [statement as PolicyDocumentJson['Statement'][number]] },
    });
    await expect(run(allowOther)).resolves.toBe('Allowed');
    await expect(run(allowOther, 'kms:NoSuchAction')).rejects.toThrow(/rejected/);
    await expect(run({ ...allowOther, Effect: 'Maybe' })).rejects.toThrow(/rejected/);
    await expect(run(allowOther, 'kms:PutKeyPolicy', { 'kms:EncryptionContextKeys': ['a'] })).rejects.toThrow(/do not apply/);
    await expect(run(allowOther, 'kms:PutKeyPolicy', { 'kms:EncryptionContext:a': 'b' })).rejects.toThrow(/do not apply/);
    await expect(simulate({ principalArn: OTHER, action: 'kms:Decrypt', resourceArn: `${keyArn.split(':key/')[0]}:key/*`, resourcePolicy: keyPolicy }))
      .rejects.toThrow(/wildcard/);
  });

  test('throws on a policy iam-simulate accepts but would never match', async () => {
    const allowOther = { Effect: 'Deny', Principal: { AWS: OTHER }, Action: 'kms:Decrypt', Resource: '*' } as const;
    const run = (statement: object) => simulate({
      principalArn: OTHER,
      action: 'kms:Decrypt',
      resourceArn: keyArn,
      resourcePolicy: { Version: '2012-10-17', Statement: [statement as PolicyDocumentJson['Statement'][number]] },
    });
    await expect(run({ ...allowOther, Action: 'kms:Decrpyt' })).rejects.toThrow(/unknown action kms:Decrpyt/);
    await expect(run({ ...allowOther, Condition: { StringEqualz: { 'kms:ViaService': 'x' } } })).rejects.toThrow(/unknown condition operator StringEqualz/);
    await expect(run({ ...allowOther, Condition: { StringEquals: { 'kms:ViaServices': 'x' } } })).rejects.toThrow(/unknown condition key kms:ViaServices/);
    await expect(simulate({
      principalArn: OTHER, action: 'kms:Decrypt', resourceArn: keyArn, resourcePolicy: keyPolicy, identityPolicies: [allowPolicy('kms:Decryp')],
    })).rejects.toThrow(/identityPolicy identity0.*unknown action kms:Decryp/);
  });

  test('evaluates encryption-context keys, which iam-simulate would otherwise drop', async () => {
    const policy: PolicyDocumentJson = {
      Statement: [{ Effect: 'Allow', Principal: { AWS: OTHER }, Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:tenant': 'acme' } } }],
    };
    const run = (encryptionContext?: Record<string, string>) => simulate({
      principalArn: OTHER,
      action: 'kms:Decrypt',
      resourceArn: keyArn,
      resourcePolicy: policy,
      context: kmsRequestContext({ principalArn: OTHER, encryptionContext }),
    });
    expect(await run({ tenant: 'acme' })).toBe('Allowed');
    expect(await run({ tenant: 'other' })).toBe('ImplicitlyDenied');
    expect(await run()).toBe('ImplicitlyDenied');
  });
});
