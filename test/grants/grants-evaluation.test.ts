/**
 * IAM evaluation of the secret grants: what a grantee can actually do with a
 * secret, decided by iam-simulate from the identity policies, the secret's
 * resource policy and the key policy together.
 *
 * A read of a secret is two requests, and both must be allowed:
 * 1. `secretsmanager:GetSecretValue` by the caller, on the secret: the
 *    caller's identity policies plus the secret's resource policy (same
 *    account: either allows, unless a Deny; another account: both must).
 * 2. `kms:Decrypt` that Secrets Manager makes on the caller's behalf: the
 *    caller's identity policies plus the key policy, with
 *    `kms:ViaService = secretsmanager.<region>.amazonaws.com`,
 *    `kms:CallerAccount = <caller's account>` and the encryption context
 *    `SecretARN = <secret ARN>` (and `SecretVersionId`).
 * A write is `PutSecretValue` plus the mediated `kms:GenerateDataKey`.
 */
import type { SimulationIdentityPolicy } from '@cloud-copilot/iam-simulate';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CustomerManagedKey, KeyOperation, ManagedSecret, SecretGrants } from '../../src';
import {
  accountOfArn, allowPolicy, arnOf, CfnTemplate, Decision, identityPoliciesOf, keyPolicyOf, kmsRequestContext, logicalIdOf,
  PolicyDocumentJson, resolveIntrinsics, secretPolicyOf, simulate, TEST_ENV, TEST_STACK_ENV,
} from '../support/iam-eval';

type IdentityPolicies = Array<SimulationIdentityPolicy | PolicyDocumentJson>;

const SECRETS_MANAGER = `secretsmanager.${TEST_ENV.region}.amazonaws.com`;
const PARTNER_ACCOUNT = '222222222222';
const PARTNER = `arn:aws:iam::${PARTNER_ACCOUNT}:role/Partner`;
const PARTNER_OTHER = `arn:aws:iam::${PARTNER_ACCOUNT}:role/Other`;
const THIRD_PARTY = 'arn:aws:iam::333333333333:role/Intruder';
const EVERYTHING = allowPolicy(['secretsmanager:*', 'kms:*']);
const VERSION_ID = 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111';

/** The request context of a Secrets Manager call by `principalArn` on `secretArn`. */
function secretsRequestContext(principalArn: string, secretArn: string, version: { stage?: string; id?: string } = {}): Record<string, string> {
  return {
    'aws:PrincipalArn': principalArn,
    'aws:PrincipalAccount': accountOfArn(principalArn),
    'aws:SecureTransport': 'true',
    'secretsmanager:SecretId': secretArn,
    ...(version.stage !== undefined ? { 'secretsmanager:VersionStage': version.stage } : {}),
    ...(version.id !== undefined ? { 'secretsmanager:VersionId': version.id } : {}),
  };
}

interface SecretsCall {
  readonly principalArn: string;
  readonly secretArn: string;
  readonly identityPolicies?: IdentityPolicies;
  /** The secret's resource policy. @default - none */
  readonly resourcePolicy?: PolicyDocumentJson;
  /** The `VersionStage` the request names. @default - none */
  readonly versionStage?: string;
  /** The `VersionId` the request names. @default - none */
  readonly versionId?: string;
}

/** A Secrets Manager action by a caller on a secret. */
function secretsDecision(action: string, call: SecretsCall): Promise<Decision> {
  return simulate({
    principalArn: call.principalArn,
    action,
    resourceArn: call.secretArn,
    identityPolicies: call.identityPolicies ?? [],
    resourcePolicy: call.resourcePolicy,
    context: secretsRequestContext(call.principalArn, call.secretArn, { stage: call.versionStage, id: call.versionId }),
  });
}

interface KmsCall {
  readonly principalArn: string;
  readonly keyArn: string;
  readonly keyPolicy: PolicyDocumentJson;
  readonly identityPolicies?: IdentityPolicies;
  /** The service the call comes through. @default - Secrets Manager in the test region */
  readonly viaService?: string | null;
  /** The encryption context. @default - none */
  readonly encryptionContext?: Record<string, string>;
}

/** A KMS action on a key (by default made by Secrets Manager on the caller's behalf). */
function kmsDecision(action: string, call: KmsCall): Promise<Decision> {
  return simulate({
    principalArn: call.principalArn,
    action,
    resourceArn: call.keyArn,
    identityPolicies: call.identityPolicies ?? [],
    resourcePolicy: call.keyPolicy,
    context: kmsRequestContext({
      principalArn: call.principalArn,
      viaService: call.viaService === null ? undefined : call.viaService ?? SECRETS_MANAGER,
      encryptionContext: call.encryptionContext,
    }),
  });
}

/** The encryption context Secrets Manager sends to KMS for a version of a secret. */
function secretContext(secretArn: string): Record<string, string> {
  return { SecretARN: secretArn, SecretVersionId: VERSION_ID };
}

function newStack(id: string): Stack {
  return new Stack(new App(), id, { env: TEST_STACK_ENV });
}

function newRole(stack: Stack, id: string): iam.Role {
  return new iam.Role(stack, id, { assumedBy: new iam.AccountRootPrincipal() });
}

/** The synthesized template, and the resolved ARNs and policies of a managed secret and its roles. */
function synth(stack: Stack) {
  const template = Template.fromStack(stack).toJSON() as CfnTemplate;
  const secretOf = (secret: ManagedSecret) => {
    const id = logicalIdOf(secret);
    const keyId = logicalIdOf(secret.key);
    return {
      arn: arnOf(template, id),
      policy: secretPolicyOf(template, id),
      keyArn: arnOf(template, keyId),
      keyPolicy: keyPolicyOf(template, keyId),
    };
  };
  const roleOf = (r: iam.IRole) => {
    const id = logicalIdOf(r);
    return { arn: arnOf(template, id), identity: identityPoliciesOf(template, id) };
  };
  return { template, secretOf, roleOf };
}

/**
 * Whether `principal` gets the value of `secret`: GetSecretValue, and the
 * Decrypt Secrets Manager makes for it with the secret's context.
 */
async function readDecisions(
  principal: { arn: string; identity: IdentityPolicies },
  secret: { arn: string; policy?: PolicyDocumentJson; keyArn: string; keyPolicy: PolicyDocumentJson },
): Promise<{ get: Decision; decrypt: Decision }> {
  const get = await secretsDecision('secretsmanager:GetSecretValue', {
    principalArn: principal.arn, secretArn: secret.arn, identityPolicies: principal.identity, resourcePolicy: secret.policy,
  });
  const decrypt = await kmsDecision('kms:Decrypt', {
    principalArn: principal.arn,
    keyArn: secret.keyArn,
    keyPolicy: secret.keyPolicy,
    identityPolicies: principal.identity,
    encryptionContext: secretContext(secret.arn),
  });
  return { get, decrypt };
}

describe('same-account grants on a ManagedSecret', () => {
  const stack = newStack('GrantsStack');
  const secret = new ManagedSecret(stack, 'Db');
  const sibling = new ManagedSecret(stack, 'Sibling', { encryptionKey: secret.key });
  const reader = newRole(stack, 'Reader');
  const currentReader = newRole(stack, 'CurrentReader');
  const writer = newRole(stack, 'Writer');
  const writerReader = newRole(stack, 'WriterReader');
  const rotator = newRole(stack, 'Rotator');
  secret.grantRead(reader);
  secret.grantRead(currentReader, ['AWSCURRENT']);
  secret.grantWrite(writer);
  secret.grantWrite(writerReader);
  secret.grantRead(writerReader);
  secret.grantRotate(rotator);

  const { secretOf, roleOf } = synth(stack);
  const db = secretOf(secret);
  const sib = secretOf(sibling);

  test('the fixture is what the tests assume: one key for both secrets, and a resource policy on each', () => {
    expect(sib.keyArn).toBe(db.keyArn);
    expect(db.arn).not.toBe(sib.arn);
    expect(db.policy?.Statement.map(s => s.Sid)).toEqual(['DenyOtherAccounts']);
    expect(sib.policy?.Statement.map(s => s.Sid)).toEqual(['DenyOtherAccounts']);
    expect(roleOf(reader).identity).toHaveLength(1);
  });

  describe('a reader (grantRead)', () => {
    const r = roleOf(reader);

    test('gets the value of its secret: GetSecretValue and the Decrypt Secrets Manager makes for it', async () => {
      expect(await readDecisions(r, db)).toEqual({ get: 'Allowed', decrypt: 'Allowed' });
    });

    test('can DescribeSecret', async () => {
      expect(await secretsDecision('secretsmanager:DescribeSecret', { principalArn: r.arn, secretArn: db.arn, identityPolicies: r.identity, resourcePolicy: db.policy }))
        .toBe('Allowed');
    });

    test('is denied the sibling secret (same key), at GetSecretValue and at the Decrypt with the sibling\'s SecretARN', async () => {
      expect(await readDecisions(r, sib)).toEqual({ get: 'ImplicitlyDenied', decrypt: 'ImplicitlyDenied' });
    });

    test('is denied a direct kms:Decrypt (not through Secrets Manager), even with its secret\'s context', async () => {
      expect(await kmsDecision('kms:Decrypt', {
        principalArn: r.arn,
        keyArn: db.keyArn,
        keyPolicy: db.keyPolicy,
        identityPolicies: r.identity,
        viaService: null,
        encryptionContext: secretContext(db.arn),
      })).toBe('ImplicitlyDenied');
    });

    test('is denied a Decrypt through another service with its secret\'s context', async () => {
      expect(await kmsDecision('kms:Decrypt', {
        principalArn: r.arn,
        keyArn: db.keyArn,
        keyPolicy: db.keyPolicy,
        identityPolicies: r.identity,
        viaService: 's3.eu-west-1.amazonaws.com',
        encryptionContext: secretContext(db.arn),
      })).toBe('ImplicitlyDenied');
    });

    test('is denied PutSecretValue, and the GenerateDataKey of a write', async () => {
      expect(await secretsDecision('secretsmanager:PutSecretValue', { principalArn: r.arn, secretArn: db.arn, identityPolicies: r.identity, resourcePolicy: db.policy }))
        .toBe('ImplicitlyDenied');
      expect(await kmsDecision('kms:GenerateDataKey', {
        principalArn: r.arn, keyArn: db.keyArn, keyPolicy: db.keyPolicy, identityPolicies: r.identity, encryptionContext: secretContext(db.arn),
      })).toBe('ImplicitlyDenied');
    });
  });

  describe('a reader of versionStages [AWSCURRENT]', () => {
    const r = roleOf(currentReader);
    const get = (versionStage: string) => secretsDecision('secretsmanager:GetSecretValue', {
      principalArn: r.arn, secretArn: db.arn, identityPolicies: r.identity, resourcePolicy: db.policy, versionStage,
    });

    test('is allowed GetSecretValue of AWSCURRENT', async () => {
      expect(await get('AWSCURRENT')).toBe('Allowed');
    });

    test('is denied GetSecretValue of AWSPREVIOUS and AWSPENDING', async () => {
      expect(await get('AWSPREVIOUS')).toBe('ImplicitlyDenied');
      expect(await get('AWSPENDING')).toBe('ImplicitlyDenied');
    });

    test('is denied a request that names only a VersionId (no VersionStage): the stage condition is not bypassed by version id', async () => {
      expect(await secretsDecision('secretsmanager:GetSecretValue', {
        principalArn: r.arn, secretArn: db.arn, identityPolicies: r.identity, resourcePolicy: db.policy, versionId: VERSION_ID,
      })).toBe('ImplicitlyDenied');
    });

    test('is still denied the sibling secret, even for AWSCURRENT', async () => {
      expect(await secretsDecision('secretsmanager:GetSecretValue', {
        principalArn: r.arn, secretArn: sib.arn, identityPolicies: r.identity, resourcePolicy: sib.policy, versionStage: 'AWSCURRENT',
      })).toBe('ImplicitlyDenied');
    });
  });

  describe('a writer (grantWrite)', () => {
    const w = roleOf(writer);

    test('can PutSecretValue', async () => {
      expect(await secretsDecision('secretsmanager:PutSecretValue', { principalArn: w.arn, secretArn: db.arn, identityPolicies: w.identity, resourcePolicy: db.policy }))
        .toBe('Allowed');
    });

    test('can have Secrets Manager GenerateDataKey with its secret\'s context', async () => {
      expect(await kmsDecision('kms:GenerateDataKey', {
        principalArn: w.arn, keyArn: db.keyArn, keyPolicy: db.keyPolicy, identityPolicies: w.identity, encryptionContext: secretContext(db.arn),
      })).toBe('Allowed');
    });

    test('cannot have Secrets Manager GenerateDataKey for the sibling, nor GenerateDataKey directly', async () => {
      expect(await kmsDecision('kms:GenerateDataKey', {
        principalArn: w.arn, keyArn: db.keyArn, keyPolicy: db.keyPolicy, identityPolicies: w.identity, encryptionContext: secretContext(sib.arn),
      })).toBe('ImplicitlyDenied');
      expect(await kmsDecision('kms:GenerateDataKey', {
        principalArn: w.arn,
        keyArn: db.keyArn,
        keyPolicy: db.keyPolicy,
        identityPolicies: w.identity,
        viaService: null,
        encryptionContext: secretContext(db.arn),
      })).toBe('ImplicitlyDenied');
    });

    test('cannot PutSecretValue on the sibling', async () => {
      expect(await secretsDecision('secretsmanager:PutSecretValue', { principalArn: w.arn, secretArn: sib.arn, identityPolicies: w.identity, resourcePolicy: sib.policy }))
        .toBe('ImplicitlyDenied');
    });

    test('cannot GetSecretValue', async () => {
      expect(await secretsDecision('secretsmanager:GetSecretValue', { principalArn: w.arn, secretArn: db.arn, identityPolicies: w.identity, resourcePolicy: db.policy }))
        .toBe('ImplicitlyDenied');
    });

    test('can GetSecretValue (and have it decrypted) when also granted read', async () => {
      const wr = roleOf(writerReader);
      expect(await readDecisions(wr, db)).toEqual({ get: 'Allowed', decrypt: 'Allowed' });
      expect(await secretsDecision('secretsmanager:PutSecretValue', { principalArn: wr.arn, secretArn: db.arn, identityPolicies: wr.identity, resourcePolicy: db.policy }))
        .toBe('Allowed');
    });
  });

  describe('a rotator (grantRotate)', () => {
    const rot = roleOf(rotator);

    test('can RotateSecret', async () => {
      expect(await secretsDecision('secretsmanager:RotateSecret', { principalArn: rot.arn, secretArn: db.arn, identityPolicies: rot.identity, resourcePolicy: db.policy }))
        .toBe('Allowed');
    });

    test('cannot RotateSecret the sibling', async () => {
      expect(await secretsDecision('secretsmanager:RotateSecret', { principalArn: rot.arn, secretArn: sib.arn, identityPolicies: rot.identity, resourcePolicy: sib.policy }))
        .toBe('ImplicitlyDenied');
    });

    test('cannot GetSecretValue, nor Decrypt (even through Secrets Manager with the secret\'s context)', async () => {
      expect(await readDecisions(rot, db)).toEqual({ get: 'ImplicitlyDenied', decrypt: 'ImplicitlyDenied' });
    });
  });

  test('an ungranted principal of the account with its own identity secretsmanager:* and kms:* reads through Secrets Manager (its IAM decides) but never decrypts directly', async () => {
    const other = `arn:aws:iam::${TEST_ENV.account}:role/Other`;
    // The account's own identity policies are trusted through Secrets Manager (AccountUsesKeyOnlyViaService)...
    expect(await readDecisions({ arn: other, identity: [EVERYTHING] }, db)).toEqual({ get: 'Allowed', decrypt: 'Allowed' });
    // ...but never outside it.
    expect(await kmsDecision('kms:Decrypt', {
      principalArn: other,
      keyArn: db.keyArn,
      keyPolicy: db.keyPolicy,
      identityPolicies: [EVERYTHING],
      viaService: null,
      encryptionContext: secretContext(db.arn),
    })).toBe('ImplicitlyDenied');
  });
});

describe('envelope encryption: key.grantUse with an encryption context', () => {
  const stack = newStack('EnvelopeStack');
  const key = new CustomerManagedKey(stack, 'Key');
  const producer = newRole(stack, 'Producer');
  key.grantUse(producer, { operations: [KeyOperation.GENERATE_DATA_KEY, KeyOperation.DECRYPT], encryptionContext: { tenant: 'acme' } });
  const template = Template.fromStack(stack).toJSON() as CfnTemplate;
  const keyArn = arnOf(template, logicalIdOf(key));
  const keyPolicy = keyPolicyOf(template, logicalIdOf(key));
  const principalArn = arnOf(template, logicalIdOf(producer));
  const identityPolicies = identityPoliciesOf(template, logicalIdOf(producer));
  const direct = (action: string, encryptionContext?: Record<string, string>) =>
    kmsDecision(action, { principalArn, keyArn, keyPolicy, identityPolicies, viaService: null, encryptionContext });

  test('GenerateDataKey with tenant=acme is allowed', async () => {
    expect(await direct('kms:GenerateDataKey', { tenant: 'acme' })).toBe('Allowed');
  });

  test('Decrypt with tenant=acme is allowed', async () => {
    expect(await direct('kms:Decrypt', { tenant: 'acme' })).toBe('Allowed');
  });

  test('GenerateDataKey with tenant=other is denied', async () => {
    expect(await direct('kms:GenerateDataKey', { tenant: 'other' })).toBe('ImplicitlyDenied');
  });

  test('GenerateDataKey and Decrypt with no encryption context are denied', async () => {
    expect(await direct('kms:GenerateDataKey')).toBe('ImplicitlyDenied');
    expect(await direct('kms:Decrypt')).toBe('ImplicitlyDenied');
  });

  test('Encrypt (plaintext in, not granted) is denied even with tenant=acme', async () => {
    expect(await direct('kms:Encrypt', { tenant: 'acme' })).toBe('ImplicitlyDenied');
  });
});

describe('a cross-account reader (grantRead to a principal of 222222222222)', () => {
  const stack = newStack('CrossAccountStack');
  const secret = new ManagedSecret(stack, 'Db');
  const sibling = new ManagedSecret(stack, 'Sibling', { encryptionKey: secret.key });
  secret.grantRead(new iam.ArnPrincipal(PARTNER));
  const { template, secretOf } = synth(stack);
  const db = secretOf(secret);
  const sib = secretOf(sibling);
  const document = secret.crossAccountIdentityPolicy(PARTNER_ACCOUNT);
  const partnerIdentity: PolicyDocumentJson = resolveIntrinsics(template, Stack.of(secret).resolve(document?.toJSON()));
  const partner = { arn: PARTNER, identity: [partnerIdentity] };

  const withoutAllows: PolicyDocumentJson = { ...db.policy!, Statement: db.policy!.Statement.filter(s => s.Effect !== 'Allow') };
  const withoutCrossAccountKeyStatement: PolicyDocumentJson = {
    ...db.keyPolicy, Statement: db.keyPolicy.Statement.filter(s => s.Sid !== 'CrossAccountUsesKeyOnlyViaSecretsManager'),
  };

  test('the fixture is what the tests assume: an identity policy for the partner, allows in the resource policy, a key statement', () => {
    expect(document).toBeDefined();
    expect(partnerIdentity.Statement.length).toBeGreaterThan(0);
    expect(db.policy!.Statement.filter(s => s.Effect === 'Allow').length).toBeGreaterThan(0);
    expect(withoutAllows.Statement.map(s => s.Sid)).toEqual(['DenyOtherAccounts']);
    expect(withoutCrossAccountKeyStatement.Statement.length).toBe(db.keyPolicy.Statement.length - 1);
    expect(Object.keys(template.Outputs ?? {}).filter(k => k.startsWith(`DbCrossAccountPolicy${PARTNER_ACCOUNT}`))).toHaveLength(1);
  });

  test('with the resource policy, the key policy and the identity policy from crossAccountIdentityPolicy, the partner gets the value', async () => {
    expect(await readDecisions(partner, db)).toEqual({ get: 'Allowed', decrypt: 'Allowed' });
  });

  test('without the identity policy, the partner gets nothing', async () => {
    expect(await readDecisions({ arn: PARTNER, identity: [] }, db)).toEqual({ get: 'ImplicitlyDenied', decrypt: 'ImplicitlyDenied' });
  });

  test('without the resource policy\'s allows (the deny kept), GetSecretValue is denied', async () => {
    expect(await readDecisions(partner, { ...db, policy: withoutAllows })).toEqual({ get: 'ImplicitlyDenied', decrypt: 'Allowed' });
  });

  test('without the key policy\'s cross-account statement, the mediated Decrypt is denied', async () => {
    expect(await readDecisions(partner, { ...db, keyPolicy: withoutCrossAccountKeyStatement })).toEqual({ get: 'Allowed', decrypt: 'ImplicitlyDenied' });
  });

  test('the partner cannot Decrypt directly, nor PutSecretValue', async () => {
    expect(await kmsDecision('kms:Decrypt', {
      principalArn: PARTNER,
      keyArn: db.keyArn,
      keyPolicy: db.keyPolicy,
      identityPolicies: [partnerIdentity],
      viaService: null,
      encryptionContext: secretContext(db.arn),
    })).toBe('ImplicitlyDenied');
    expect(await secretsDecision('secretsmanager:PutSecretValue', { principalArn: PARTNER, secretArn: db.arn, identityPolicies: [EVERYTHING], resourcePolicy: db.policy }))
      .toBe('ImplicitlyDenied');
  });

  test('the partner is denied the sibling secret: its resource policy still denies the other account, even with identity secretsmanager:*', async () => {
    expect(await secretsDecision('secretsmanager:GetSecretValue', { principalArn: PARTNER, secretArn: sib.arn, identityPolicies: [EVERYTHING], resourcePolicy: sib.policy }))
      .toBe('ExplicitlyDenied');
    // And the identity policy it is given does not cover the sibling's Decrypt.
    expect((await readDecisions(partner, sib)).decrypt).toBe('ImplicitlyDenied');
  });

  test('another principal of 222222222222, with identity secretsmanager:* and kms:*, is denied', async () => {
    expect(await readDecisions({ arn: PARTNER_OTHER, identity: [EVERYTHING] }, db)).toEqual({ get: 'ImplicitlyDenied', decrypt: 'ImplicitlyDenied' });
  });

  test('a principal of 333333333333 is explicitly denied by DenyOtherAccounts, even if the resource policy somehow allowed it', async () => {
    const somehowAllowed: PolicyDocumentJson = {
      ...db.policy!,
      Statement: [...db.policy!.Statement, {
        Sid: 'Mistake', Effect: 'Allow', Principal: { AWS: THIRD_PARTY }, Action: 'secretsmanager:GetSecretValue', Resource: '*',
      }],
    };
    const call = { principalArn: THIRD_PARTY, secretArn: db.arn, identityPolicies: [EVERYTHING] };
    expect(await secretsDecision('secretsmanager:GetSecretValue', { ...call, resourcePolicy: somehowAllowed })).toBe('ExplicitlyDenied');
    // Control: without DenyOtherAccounts that mistake would have let it in.
    const withoutDeny = { ...somehowAllowed, Statement: somehowAllowed.Statement.filter(s => s.Sid !== 'DenyOtherAccounts') };
    expect(await secretsDecision('secretsmanager:GetSecretValue', { ...call, resourcePolicy: withoutDeny })).toBe('Allowed');
  });
});

describe('a cross-account reader of a named secret: the key statement is scoped to that name', () => {
  const stack = newStack('NamedCrossAccountStack');
  const secret = new ManagedSecret(stack, 'Db', { secretName: 'partner-db' });
  const sibling = new ManagedSecret(stack, 'Sibling', { encryptionKey: secret.key, secretName: 'partner-db-internal' });
  secret.grantRead(new iam.ArnPrincipal(PARTNER));
  const { secretOf } = synth(stack);
  const db = secretOf(secret);
  const sib = secretOf(sibling);
  // Names, not logical IDs: what Secrets Manager would give these secrets.
  const dbArn = `arn:aws:secretsmanager:${TEST_ENV.region}:${TEST_ENV.account}:secret:partner-db-AbCdEf`;
  const siblingArn = `arn:aws:secretsmanager:${TEST_ENV.region}:${TEST_ENV.account}:secret:partner-db-internal-AbCdEf`;
  const decrypt = (secretArn: string) => kmsDecision('kms:Decrypt', {
    principalArn: PARTNER, keyArn: db.keyArn, keyPolicy: db.keyPolicy, identityPolicies: [EVERYTHING], encryptionContext: secretContext(secretArn),
  });

  test('the mediated Decrypt for the named secret is allowed by the key policy (partner identity kms:*)', async () => {
    expect(sib.keyArn).toBe(db.keyArn);
    expect(await decrypt(dbArn)).toBe('Allowed');
  });

  test('the mediated Decrypt for a sibling whose name only starts with it is denied, even with partner identity kms:*', async () => {
    expect(await decrypt(siblingArn)).toBe('ImplicitlyDenied');
  });
});

describe('SecretGrants.read on imported secrets and keys', () => {
  const IMPORTED_KEY_ARN = `arn:aws:kms:${TEST_ENV.region}:${TEST_ENV.account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
  const secretPrefix = `arn:aws:secretsmanager:${TEST_ENV.region}:${TEST_ENV.account}:secret:`;
  /** The imported key's policy: the account may use it through Secrets Manager (as aws-cdk-lib's Secret sets up). */
  const importedKeyPolicy: PolicyDocumentJson = {
    Version: '2012-10-17',
    Statement: [{
      Sid: 'AccountUsesKeyViaSecretsManager',
      Effect: 'Allow',
      Principal: { AWS: `arn:aws:iam::${TEST_ENV.account}:root` },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: { StringEquals: { 'kms:ViaService': SECRETS_MANAGER } },
    }],
  };

  const stack = newStack('ImportStack');
  const key = kms.Key.fromKeyArn(stack, 'ImportedKey', IMPORTED_KEY_ARN);
  const complete = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Complete', `${secretPrefix}imported-AbCdEf`);
  const byName = secretsmanager.Secret.fromSecretNameV2(stack, 'ByName', 'name');
  const completeReader = newRole(stack, 'CompleteReader');
  const nameReader = newRole(stack, 'NameReader');
  SecretGrants.read(completeReader, complete, key);
  SecretGrants.read(nameReader, byName, key);
  const { roleOf } = synth(stack);

  const reads = (principal: { arn: string; identity: IdentityPolicies }, secretArn: string) =>
    readDecisions(principal, { arn: secretArn, keyArn: IMPORTED_KEY_ARN, keyPolicy: importedKeyPolicy });

  describe('fromSecretCompleteArn + fromKeyArn', () => {
    const r = roleOf(completeReader);

    test('the identity policy alone gives GetSecretValue on that ARN and the mediated Decrypt with its context', async () => {
      expect(await reads(r, `${secretPrefix}imported-AbCdEf`)).toEqual({ get: 'Allowed', decrypt: 'Allowed' });
    });

    test('another ARN (another suffix, another name) is denied at both steps', async () => {
      expect(await reads(r, `${secretPrefix}imported-XyZ123`)).toEqual({ get: 'ImplicitlyDenied', decrypt: 'ImplicitlyDenied' });
      expect(await reads(r, `${secretPrefix}imported2-AbCdEf`)).toEqual({ get: 'ImplicitlyDenied', decrypt: 'ImplicitlyDenied' });
    });

    test('a direct Decrypt is denied', async () => {
      expect(await kmsDecision('kms:Decrypt', {
        principalArn: r.arn,
        keyArn: IMPORTED_KEY_ARN,
        keyPolicy: importedKeyPolicy,
        identityPolicies: r.identity,
        viaService: null,
        encryptionContext: secretContext(`${secretPrefix}imported-AbCdEf`),
      })).toBe('ImplicitlyDenied');
    });
  });

  describe('fromSecretNameV2 (partial ARN, name-??????)', () => {
    const r = roleOf(nameReader);

    test('name-AbCdEf is allowed at both steps', async () => {
      expect(await reads(r, `${secretPrefix}name-AbCdEf`)).toEqual({ get: 'Allowed', decrypt: 'Allowed' });
    });

    test('name-extra-AbCdEf (the secret "name-extra") is denied: ?????? matches exactly six characters', async () => {
      expect(await reads(r, `${secretPrefix}name-extra-AbCdEf`)).toEqual({ get: 'ImplicitlyDenied', decrypt: 'ImplicitlyDenied' });
    });

    test('othername-AbCdEf is denied', async () => {
      expect(await reads(r, `${secretPrefix}othername-AbCdEf`)).toEqual({ get: 'ImplicitlyDenied', decrypt: 'ImplicitlyDenied' });
    });

    test('name-AbCdE (five characters) is denied', async () => {
      expect(await reads(r, `${secretPrefix}name-AbCdE`)).toEqual({ get: 'ImplicitlyDenied', decrypt: 'ImplicitlyDenied' });
    });
  });
});
