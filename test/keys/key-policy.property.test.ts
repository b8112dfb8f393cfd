/**
 * Property test of the key-policy role model: for random role configurations
 * and random extra grants, a `CustomerManagedKey` either refuses the
 * configuration (naming the problem) or synthesizes a key policy in which
 * administrators and users stay separated, nobody gets `kms:*`, the key stays
 * manageable, and the account never uses the key directly.
 *
 * The expected behaviour is modelled here independently of src/keys (the
 * action lists are spelled out again on purpose), and principals are compared
 * by their resolved JSON (`iam-eval` resolves the template in TEST_ENV).
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as fc from 'fast-check';
import { CustomerManagedKey, KeyOperation } from '../../src';
import {
  CfnTemplate, keyPolicyOf, logicalIdOf, PolicyStatementJson, resolveIntrinsics, TEST_ENV, TEST_STACK_ENV,
} from '../support/iam-eval';

const NUM_RUNS = 1000;

/** What the runs exercised (shrinking runs included): built keys, refused configurations, refused grants. */
const coverage = { built: 0, refused: 0, grantsRefused: 0 };

// ---- The role model, restated ----------------------------------------------

/** Every action that uses the key or hands its use to others: administrators are denied all of them. */
const CRYPTO = [
  'kms:CreateGrant', 'kms:Decrypt', 'kms:DeriveSharedSecret', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyPair',
  'kms:GenerateDataKeyPairWithoutPlaintext', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:GenerateMac', 'kms:ReEncryptFrom',
  'kms:ReEncryptTo', 'kms:Sign', 'kms:Verify', 'kms:VerifyMac',
];
/** Usage actions that are not denied to administrators (no key material is used). */
const IS_USAGE = (a: string) => CRYPTO.includes(a) || a === 'kms:GetPublicKey';
/** Actions that change the key. */
const ADMIN_WRITE = [
  'kms:CancelKeyDeletion', 'kms:CreateAlias', 'kms:DeleteAlias', 'kms:DisableKey', 'kms:DisableKeyRotation', 'kms:EnableKey',
  'kms:EnableKeyRotation', 'kms:PutKeyPolicy', 'kms:ReplicateKey', 'kms:RotateKeyOnDemand', 'kms:ScheduleKeyDeletion',
  'kms:TagResource', 'kms:UntagResource', 'kms:UpdateAlias', 'kms:UpdateKeyDescription', 'kms:UpdatePrimaryRegion',
];
const OPERATION_ACTIONS: Partial<Record<KeyOperation, string[]>> = {
  [KeyOperation.ENCRYPT]: [
    'kms:Encrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyPair', 'kms:GenerateDataKeyPairWithoutPlaintext',
    'kms:GenerateDataKeyWithoutPlaintext', 'kms:ReEncryptTo',
  ],
  [KeyOperation.DECRYPT]: ['kms:Decrypt', 'kms:ReEncryptFrom'],
  [KeyOperation.GENERATE_DATA_KEY]: ['kms:GenerateDataKey'],
};
const USER_OPERATIONS = [KeyOperation.ENCRYPT, KeyOperation.DECRYPT, KeyOperation.GENERATE_DATA_KEY];
const SERVICE_USER_USAGE = ['kms:CreateGrant'];
const ROOT = `arn:aws:iam::${TEST_ENV.account}:root`;

// ---- The principal pool ------------------------------------------------------

type PrincipalSpec =
  | { readonly kind: 'role'; readonly id: string }
  | { readonly kind: 'arn'; readonly arn: string }
  | { readonly kind: 'service'; readonly service: string }
  | { readonly kind: 'root' };

/** Distinct principals; the first NAMED_COUNT are named IAM principals (may administer). */
const POOL: PrincipalSpec[] = [
  { kind: 'role', id: 'R0' },
  { kind: 'role', id: 'R1' },
  { kind: 'role', id: 'R2' },
  { kind: 'arn', arn: `arn:aws:iam::${TEST_ENV.account}:role/A0` },
  { kind: 'arn', arn: `arn:aws:iam::${TEST_ENV.account}:role/team/A1` },
  { kind: 'arn', arn: `arn:aws:iam::${TEST_ENV.account}:user/U0` },
  { kind: 'service', service: 's3.amazonaws.com' },
  { kind: 'service', service: 'logs.eu-west-1.amazonaws.com' },
];
const NAMED_COUNT = 6;
/** Grantees of extra grants: the pool, plus the account root (valid only through a service). */
const GRANTEES: PrincipalSpec[] = [...POOL, { kind: 'root' }];
const isNamed = (i: number) => GRANTEES[i].kind === 'role' || GRANTEES[i].kind === 'arn';

// ---- Configurations ------------------------------------------------------------

type GrantSpec =
  | { readonly method: 'grantDecrypt' | 'grantEncryptDecrypt'; readonly grantee: number }
  | { readonly method: 'grantAdmin'; readonly grantee: number }
  | {
    readonly method: 'grantUse';
    readonly grantee: number;
    readonly operations: KeyOperation[];
    readonly viaService?: string;
    readonly encryptionContext?: Record<string, string>;
    readonly callerAccount?: string;
  };

interface Config {
  readonly administrators: number[];
  readonly users: number[];
  readonly encryptors: number[];
  readonly decryptors: number[];
  readonly serviceUsers: number[];
  readonly allowAccountToAdminister?: boolean;
  readonly multiRegion?: boolean;
  readonly viaServices?: string[];
  readonly callerAccounts?: string[];
  readonly requiredEncryptionContextKeys?: string[];
  readonly grants: GrantSpec[];
}

const indices = (n: number) => [...Array(n).keys()];
const namedIdx = indices(NAMED_COUNT);
const poolIdx = indices(POOL.length);
const granteeIdx = indices(GRANTEES.length);
const SERVICES = ['secretsmanager', 's3', 'rds.eu-west-1.amazonaws.com'];
const ACCOUNTS = [TEST_ENV.account, '333333333333'];

const grantArb: fc.Arbitrary<GrantSpec> = fc.oneof(
  fc.record({ method: fc.constantFrom('grantDecrypt' as const, 'grantEncryptDecrypt' as const), grantee: fc.constantFrom(...granteeIdx) }),
  { weight: 1, arbitrary: fc.record({ method: fc.constant('grantAdmin' as const), grantee: fc.constantFrom(...namedIdx) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      method: fc.constant('grantUse' as const),
      grantee: fc.constantFrom(...granteeIdx),
      operations: fc.subarray(USER_OPERATIONS, { minLength: 1 }),
      viaService: fc.constantFrom(...SERVICES, 'lambda'),
      encryptionContext: fc.constantFrom<Record<string, string>>({ tenant: 'acme' }, { app: 'billing' }, { app: 'billing', tenant: 'acme' }),
      callerAccount: fc.constantFrom(...ACCOUNTS),
    }, { requiredKeys: ['method', 'grantee', 'operations'] }),
  },
);

const configArb: fc.Arbitrary<Config> = fc.record({
  // Mostly disjoint administrators and users, so most runs get past the constructor.
  separated: fc.boolean(),
  administrators: fc.subarray(namedIdx, { maxLength: 3 }),
  users: fc.subarray(poolIdx, { maxLength: 3 }),
  encryptors: fc.subarray(namedIdx, { maxLength: 2 }),
  decryptors: fc.subarray(namedIdx, { maxLength: 2 }),
  serviceUsers: fc.subarray(poolIdx, { maxLength: 2 }),
  allowAccountToAdminister: fc.option(fc.boolean(), { nil: undefined }),
  multiRegion: fc.option(fc.boolean(), { nil: undefined }),
  viaServices: fc.option(fc.subarray(SERVICES), { nil: undefined }),
  callerAccounts: fc.option(fc.subarray(ACCOUNTS), { nil: undefined }),
  requiredEncryptionContextKeys: fc.option(fc.subarray(['app', 'tenant']), { nil: undefined }),
  grants: fc.array(grantArb, { maxLength: 4 }),
}, { requiredKeys: ['separated', 'administrators', 'users', 'encryptors', 'decryptors', 'serviceUsers', 'grants'] })
  .map(({ separated, ...c }) => {
    if (!separated) return c;
    const admin = (i: number) => c.administrators.includes(i);
    return {
      ...c,
      users: c.users.filter(i => !admin(i)),
      encryptors: c.encryptors.filter(i => !admin(i)),
      decryptors: c.decryptors.filter(i => !admin(i)),
      serviceUsers: c.serviceUsers.filter(i => !admin(i)),
    };
  });

// ---- Expected outcome ------------------------------------------------------------

const endpoint = (s: string) => (s.includes('.') ? s : `${s}.${TEST_ENV.region}.amazonaws.com`);
const ERRORS = {
  lockout: /allowAccountToAdminister: is false and `administrators` is empty/,
  conflict: /is both an administrator .* and a user .* of this key/,
  viaService: /viaService: '[^']+' is not one of the key's `viaServices`/,
  callerAccount: /callerAccount: '[^']+' is not one of the key's `callerAccounts`/,
  accountDirect: /would let every principal of the account use this key directly/,
};
type ErrorKind = keyof typeof ERRORS;

/** An error a configuration or grant must throw: its kind, and what its message must name. */
interface ExpectedError {
  readonly kind: ErrorKind;
  readonly mentions: string[];
}

/** How an error message names a principal of the pool: the construct path of a role, else its ARN. */
function nameOf(i: number): string {
  const spec = GRANTEES[i];
  return spec.kind === 'role' ? `KeyStack/${spec.id}` : spec.kind === 'arn' ? spec.arn : spec.kind;
}

/** The error the constructor must throw, if any. */
function constructionError(c: Config): ExpectedError | undefined {
  if (c.allowAccountToAdminister === false && c.administrators.length === 0) {
    return { kind: 'lockout', mentions: ['CustomerManagedKey.allowAccountToAdminister', 'administrators'] };
  }
  const userProps = ['users', 'encryptors', 'decryptors', 'serviceUsers'] as const;
  for (const property of userProps) {
    const clash = c[property].find(i => c.administrators.includes(i));
    if (clash !== undefined) {
      return { kind: 'conflict', mentions: [nameOf(clash), 'CustomerManagedKey.administrators', `CustomerManagedKey.${property}`] };
    }
  }
  return undefined;
}

/** The error a grant must throw given the administrators and users so far, if any. */
function grantError(c: Config, g: GrantSpec, admins: Set<number>, users: Set<number>): ExpectedError | undefined {
  if (g.method === 'grantAdmin') {
    return users.has(g.grantee) ? { kind: 'conflict', mentions: [nameOf(g.grantee), 'CustomerManagedKey.grantAdmin'] } : undefined;
  }
  const spec = GRANTEES[g.grantee];
  const options: { viaService?: string; callerAccount?: string } = g.method === 'grantUse' ? g : {};
  const keyServices = (c.viaServices ?? []).map(endpoint);
  if (options.viaService !== undefined && spec.kind !== 'service' && keyServices.length > 0 && !keyServices.includes(endpoint(options.viaService))) {
    return { kind: 'viaService', mentions: [`'${options.viaService}'`, ...keyServices] };
  }
  const accounts = c.callerAccounts ?? [];
  if (options.callerAccount !== undefined && accounts.length > 0 && !accounts.includes(options.callerAccount)) {
    return { kind: 'callerAccount', mentions: [`'${options.callerAccount}'`, ...accounts] };
  }
  if (admins.has(g.grantee)) return { kind: 'conflict', mentions: [nameOf(g.grantee), 'CustomerManagedKey.grantUse'] };
  if (spec.kind === 'root' && options.viaService === undefined && keyServices.length === 0) {
    return { kind: 'accountDirect', mentions: ['viaService'] };
  }
  return undefined;
}

/** Asserts that `e` is the expected error: the right problem, naming what is wrong. */
function expectError(e: unknown, expected: ExpectedError): void {
  const message = (e as Error).message;
  expect(message).toMatch(ERRORS[expected.kind]);
  for (const m of expected.mentions) expect(message).toContain(m);
}

function grantActions(g: GrantSpec): string[] {
  const ops = g.method === 'grantDecrypt' ? [KeyOperation.DECRYPT]
    : g.method === 'grantEncryptDecrypt' ? [KeyOperation.ENCRYPT, KeyOperation.DECRYPT]
      : g.method === 'grantUse' ? g.operations : [];
  return ops.flatMap(op => OPERATION_ACTIONS[op]!);
}

// ---- Building and reading the key policy -------------------------------------------

function principalOf(stack: Stack, spec: PrincipalSpec): iam.IPrincipal {
  switch (spec.kind) {
    case 'role': return (stack.node.tryFindChild(spec.id) as iam.Role | undefined)
      ?? new iam.Role(stack, spec.id, { assumedBy: new iam.AccountRootPrincipal() });
    case 'arn': return new iam.ArnPrincipal(spec.arn);
    case 'service': return new iam.ServicePrincipal(spec.service);
    case 'root': return new iam.AccountRootPrincipal();
  }
}

const asList = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** A principal, or every principal of a statement, as resolved one-entry JSON (`{"AWS":"arn:..."}`). */
function principalKeys(principal: PolicyStatementJson['Principal']): string[] {
  if (principal === undefined) return [];
  if (principal === '*') return ['"*"'];
  return Object.entries(principal).flatMap(([type, values]) => asList(values).map(v => JSON.stringify({ [type]: v })));
}

const actionMatches = (pattern: string, action: string) =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i').test(action);
const statementHas = (s: PolicyStatementJson, action: string) => asList(s.Action).some(p => actionMatches(p, action));
const conditionKeys = (s: PolicyStatementJson) => Object.values(s.Condition ?? {}).flatMap(c => Object.keys(c));

function fail(message: string, detail: unknown): never {
  throw new Error(`${message}\n${JSON.stringify(detail, null, 1)}`);
}

/** Builds the configuration; returns the outcome and, if the key was built, the resolved key policy. */
function run(c: Config) {
  const stack = new Stack(new App(), 'KeyStack', { env: TEST_STACK_ENV });
  const p = (i: number) => principalOf(stack, GRANTEES[i]);
  const expected = constructionError(c);
  let key: CustomerManagedKey;
  try {
    key = new CustomerManagedKey(stack, 'Key', {
      administrators: c.administrators.map(p),
      users: c.users.map(p),
      encryptors: c.encryptors.map(p),
      decryptors: c.decryptors.map(p),
      serviceUsers: c.serviceUsers.map(p),
      allowAccountToAdminister: c.allowAccountToAdminister,
      // Without the account, CloudFormation deploys as one of the administrators.
      deploymentRole: c.allowAccountToAdminister === false && c.administrators.length > 0 ? p(c.administrators[0]) : undefined,
      multiRegion: c.multiRegion,
      viaServices: c.viaServices,
      callerAccounts: c.callerAccounts,
      requiredEncryptionContextKeys: c.requiredEncryptionContextKeys,
    });
  } catch (e) {
    if (expected === undefined) throw new Error(`the constructor threw unexpectedly: ${(e as Error).message}`);
    expectError(e, expected);
    coverage.refused++;
    return undefined;
  }
  if (expected !== undefined) throw new Error(`the constructor did not throw, expected a ${expected.kind} error`);

  const admins = new Set(c.administrators);
  const users = new Set([...c.users, ...c.encryptors, ...c.decryptors, ...c.serviceUsers]);
  /** Usage actions each grantee must end up with (by pool index). */
  const usage = new Map<number, Set<string>>();
  const give = (i: number, actions: string[]) => usage.set(i, new Set([...(usage.get(i) ?? []), ...actions]));
  c.users.forEach(i => give(i, USER_OPERATIONS.flatMap(op => OPERATION_ACTIONS[op]!)));
  c.encryptors.forEach(i => give(i, OPERATION_ACTIONS[KeyOperation.ENCRYPT]!));
  c.decryptors.forEach(i => give(i, OPERATION_ACTIONS[KeyOperation.DECRYPT]!));
  c.serviceUsers.forEach(i => give(i, SERVICE_USER_USAGE));

  for (const [n, g] of c.grants.entries()) {
    const error = grantError(c, g, admins, users);
    const call = () => {
      const grantee = p(g.grantee);
      switch (g.method) {
        case 'grantDecrypt': return key.grantDecrypt(grantee);
        case 'grantEncryptDecrypt': return key.grantEncryptDecrypt(grantee);
        case 'grantAdmin': return key.grantAdmin(grantee);
        case 'grantUse': return key.grantUse(grantee, {
          operations: g.operations, viaService: g.viaService, encryptionContext: g.encryptionContext, callerAccount: g.callerAccount,
        });
      }
    };
    if (error !== undefined) {
      // A refused grant must leave no trace: the checks below run on the policy without it.
      let thrown: unknown;
      try {
        call();
      } catch (e) {
        thrown = e;
      }
      if (thrown === undefined) throw new Error(`grant ${n} (${JSON.stringify(g)}) did not throw, expected a ${error.kind} error`);
      expectError(thrown, error);
      coverage.grantsRefused++;
      continue;
    }
    try {
      call();
    } catch (e) {
      throw new Error(`grant ${n} (${JSON.stringify(g)}) threw unexpectedly: ${(e as Error).message}`);
    }
    if (g.method === 'grantAdmin') {
      admins.add(g.grantee);
    } else {
      if (GRANTEES[g.grantee].kind !== 'root') users.add(g.grantee);
      give(g.grantee, grantActions(g));
    }
  }

  const template = Template.fromStack(stack).toJSON() as CfnTemplate;
  const policy = keyPolicyOf(template, logicalIdOf(key));
  coverage.built++;
  const keyOf = (i: number) => {
    const keys = principalKeys(resolveIntrinsics(template, stack.resolve(p(i).policyFragment.principalJson)));
    if (keys.length !== 1) throw new Error(`principal ${i} resolved to ${keys.length} entries`);
    return keys[0];
  };
  return { policy, admins: [...admins], roleUsers: [...new Set([...c.users, ...c.encryptors, ...c.decryptors, ...c.serviceUsers])], usage, keyOf };
}

function checkPolicy(c: Config, built: NonNullable<ReturnType<typeof run>>): void {
  const { policy, admins, roleUsers, usage, keyOf } = built;
  const root = JSON.stringify({ AWS: ROOT });
  const statements = policy.Statement;
  const allows = statements.filter(s => s.Effect === 'Allow');
  const denies = statements.filter(s => s.Effect === 'Deny');
  const allowedTo = (principal: string) => allows.filter(s => principalKeys(s.Principal).includes(principal));
  const deniesAll = (principal: string, actions: string[]) => actions.every(a => denies.some(s =>
    statementHas(s, a) && principalKeys(s.Principal).includes(principal) && s.Condition === undefined && asList(s.Resource).includes('*')));

  // (b) No Allow grants a wildcard action, or everything but some actions.
  for (const s of allows) {
    if (s.NotAction !== undefined || asList(s.Action).some(a => a === '*' || a.toLowerCase() === 'kms:*')) fail('(b) an Allow statement has a wildcard action or NotAction', s);
    if (s.NotPrincipal !== undefined || principalKeys(s.Principal).includes('"*"')) fail('(b) an Allow statement has no named principal', s);
  }

  // (a) Nobody but the account (see (e)) is both allowed to use and allowed to change the key.
  const everyone = new Set(statements.flatMap(s => principalKeys(s.Principal)));
  for (const principal of everyone) {
    if (principal === root) continue;
    const mine = allowedTo(principal);
    const uses = mine.some(s => asList(s.Action).some(IS_USAGE));
    const manages = mine.some(s => ADMIN_WRITE.some(a => statementHas(s, a)));
    if (uses && manages) fail(`(a) ${principal} is allowed both usage and administrative write actions`, mine);
  }

  // (c) Administrators are denied every cryptographic action, unconditionally, and allowed none.
  for (const i of admins) {
    const admin = keyOf(i);
    if (!deniesAll(admin, CRYPTO)) fail(`(c) administrator ${admin} is not denied every crypto action`, denies);
    const used = allowedTo(admin).filter(s => asList(s.Action).some(IS_USAGE));
    if (used.length > 0) fail(`(c) administrator ${admin} is allowed a usage action`, used);
    if (!allowedTo(admin).some(s => statementHas(s, 'kms:PutKeyPolicy') && s.Condition === undefined)) {
      fail(`(c) administrator ${admin} cannot PutKeyPolicy`, allowedTo(admin));
    }
  }

  // (d) Someone (the account, or a named administrator) can always change the key policy.
  const canPut = allows.filter(s => statementHas(s, 'kms:PutKeyPolicy') && s.Condition === undefined)
    .flatMap(s => principalKeys(s.Principal));
  const managers = [...(c.allowAccountToAdminister === false ? [] : [root]), ...admins.map(keyOf)];
  if (!managers.some(m => canPut.includes(m))) fail('(d) nobody can PutKeyPolicy', statements);
  if (c.allowAccountToAdminister !== false && !canPut.includes(root)) fail('(d) the account cannot PutKeyPolicy by default', statements);
  if (c.allowAccountToAdminister === false && canPut.includes(root)) fail('(d) the account can PutKeyPolicy although allowAccountToAdminister is false', statements);

  // (e) The account is never denied (that would deny every principal of it), and uses the key only through a service.
  for (const s of denies) {
    if (principalKeys(s.Principal).some(k => k === root || k === JSON.stringify({ AWS: TEST_ENV.account }) || k === '"*"')) {
      fail('(e) a Deny names the account root or "*"', s);
    }
  }
  for (const s of allowedTo(root)) {
    if (asList(s.Action).some(IS_USAGE) && !conditionKeys(s).includes('kms:ViaService')) fail('(e) the account is allowed to use the key directly', s);
  }

  // (f) Named principals of the users-style properties are denied the management of the key.
  // (Grantees of grant*() are not: src adds only role properties to that Deny, to keep the policy small.)
  for (const i of roleUsers.filter(isNamed)) {
    const user = keyOf(i);
    if (!deniesAll(user, ['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey', 'kms:CreateAlias'])) {
      fail(`(f) user ${user} is not denied PutKeyPolicy/ScheduleKeyDeletion`, denies);
    }
  }

  // (g) Least privilege: every grantee is allowed exactly the usage actions its roles and grants give it.
  for (const [i, actions] of usage) {
    const principal = keyOf(i);
    const allowed = new Set(allowedTo(principal).flatMap(s => asList(s.Action)).filter(IS_USAGE));
    if ([...allowed].sort().join() !== [...actions].sort().join()) {
      fail(`(g) ${principal} is allowed usage ${[...allowed].sort().join(', ')} but was given ${[...actions].sort().join(', ')}`, allowedTo(principal));
    }
  }
  const given = new Set([...usage.keys()].map(keyOf));
  for (const principal of everyone) {
    if (!given.has(principal) && allowedTo(principal).some(s => asList(s.Action).some(IS_USAGE))) {
      fail(`(g) ${principal} is allowed a usage action it was never given`, allowedTo(principal));
    }
  }

  // (h) Key-level narrowing applies to the usage statements of IAM principals.
  // Not to serviceUsers' CreateGrant statement: see the KNOWN BUG tests in
  // key-policy-evaluation.test.ts ("serviceUsers are not narrowed ...").
  const services = (c.viaServices ?? []).map(endpoint);
  const accounts = c.callerAccounts ?? [];
  for (const s of allows) {
    if (!asList(s.Action).some(IS_USAGE) || s.Sid?.startsWith('ServiceUsers')) continue;
    const iamPrincipals = principalKeys(s.Principal).filter(k => k.startsWith('{"AWS"'));
    if (iamPrincipals.length === 0) continue;
    const values = (key: string) => Object.values(s.Condition ?? {})
      .flatMap(cond => asList((cond as Record<string, unknown>)[key] as string | string[] | undefined));
    if (services.length > 0 && (values('kms:ViaService').length === 0 || values('kms:ViaService').some(v => !services.includes(v)))) {
      fail(`(h) a usage statement is not narrowed to the key's viaServices ${services.join(', ')}`, s);
    }
    if (accounts.length > 0 && (values('kms:CallerAccount').length === 0 || values('kms:CallerAccount').some(v => !accounts.includes(v)))) {
      fail(`(h) a usage statement is not narrowed to the key's callerAccounts ${accounts.join(', ')}`, s);
    }
    const takesContext = asList(s.Action).some(a => a !== 'kms:DescribeKey' && a !== 'kms:CreateGrant');
    for (const k of takesContext ? c.requiredEncryptionContextKeys ?? [] : []) {
      const contextKey = `kms:EncryptionContext:${k}`;
      if (s.Condition?.Null?.[contextKey] !== 'false' && values(contextKey).length === 0) {
        fail(`(h) a usage statement does not require the encryption-context key ${k}`, s);
      }
    }
  }
}

describe('CustomerManagedKey key policy, for random role configurations', () => {
  test(`refuses bad configurations and keeps administrators and users apart (${NUM_RUNS} runs)`, () => {
    fc.assert(fc.property(configArb, c => {
      const built = run(c);
      if (built !== undefined) checkPolicy(c, built);
    }), { numRuns: NUM_RUNS });
    // The generator must exercise both paths, or the property proves little.
    expect(coverage.built).toBeGreaterThan(NUM_RUNS / 3);
    expect(coverage.refused).toBeGreaterThan(NUM_RUNS / 20);
    expect(coverage.grantsRefused).toBeGreaterThan(NUM_RUNS / 20);
  });
});
