/**
 * Adversarial property test of the key-policy gate (issue #11): fast-check
 * writes statements from a grammar an attacker would use (actions in random
 * case, wildcards in any position, every condition operator on the bounding
 * keys, each principal spelled several ways, conditions on principals) and
 * adds them through every path that reaches a key policy: the constructor's
 * roles, grant(), grantUse(), grantDecrypt(), addToResourcePolicy(),
 * aws-cdk-lib's KeyGrants (`key.grants`) and kms.Alias.grant().
 *
 * For each case, either the construct refuses at synth with the library's
 * error form, or IAM evaluation of the synthesized key policy shows:
 * (1) no principal both manages the key through the key policy and uses it;
 * (2) a role named by no path never uses the key directly, even with IAM kms:*;
 * (3) a principal of another account that no path names never does anything, even with IAM kms:*
 *     (Principal "*" never lets another account in);
 * (4) a named administrator is explicitly denied every use, a `users` member
 *     every management action, even with IAM kms:*.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as fc from 'fast-check';
import { CustomerManagedKey, KeyOperation } from '../../src';
import { KMS_ACTIONS } from '../../src/keys/kms-actions';
import {
  allowPolicy, arnOf, CfnResource, CfnTemplate, Decision, keyPolicyOf, kmsRequestContext, logicalIdOf, simulate, TEST_STACK_ENV,
} from '../support/iam-eval';

const NUM_RUNS = Number(process.env.KMSSEC_ADVERSARIAL_RUNS ?? 2000);
const ERROR_FORM = /^\[cdk-kms-secrets\] [A-Za-z.]+: .+ Fix: .+/s;
const ACCOUNT = '111111111111';
const FOREIGN = '222222222222';
const KMS_ALL = allowPolicy('kms:*');

/** The roles of the game: `adm` administers, `usr` uses, `out` is used by grants, `ghost` is never named. */
const ROLES = ['adm', 'usr', 'out'] as const;
type RoleName = typeof ROLES[number];
const arnOfRole = (name: string, account = ACCOUNT) => `arn:aws:iam::${account}:role/${name}`;
const GHOST = arnOfRole('ghost');
/** A role of another account that paths may name explicitly (a cross-account grant is allowed), and one they never name. */
const FOREIGN_ROLE = arnOfRole('partner', FOREIGN);
const FOREIGN_GHOST = arnOfRole('intruder', FOREIGN);

const USE_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:CreateGrant', 'kms:ReEncryptFrom'];
const MANAGE_ACTIONS = ['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:RevokeGrant', 'kms:TagResource', 'kms:DisableKey'];

// ---- The grammar ----------------------------------------------------------------------------------

type Spelling = 'construct' | 'fromRoleArn' | 'fromRoleArnPath' | 'fromRoleName' | 'arnPrincipal' | 'upperCase' | 'session' | 'withConditions';
type PrincipalSpec =
  | { readonly kind: 'role'; readonly role: RoleName; readonly spelling: Spelling }
  | { readonly kind: 'star' }
  | { readonly kind: 'account' }
  | { readonly kind: 'foreign' }
  | { readonly kind: 'service' };

const spellingArb = fc.constantFrom<Spelling>('construct', 'fromRoleArn', 'fromRoleArnPath', 'fromRoleName', 'arnPrincipal', 'upperCase', 'session', 'withConditions');
const principalArb: fc.Arbitrary<PrincipalSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('role' as const), role: fc.constantFrom(...ROLES), spelling: spellingArb }) },
  fc.constant({ kind: 'star' as const }),
  fc.constant({ kind: 'account' as const }),
  fc.constant({ kind: 'foreign' as const }),
  fc.constant({ kind: 'service' as const }),
);

/** An action as an attacker writes it: any case, a wildcard anywhere, or a blanket one. */
const actionArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(fc.constantFrom(...KMS_ACTIONS.map(a => a.name)), fc.nat(), fc.nat(), fc.constantFrom('*', '?', '', '', 'case', 'case')).map(([name, i, j, op]) => mutate(name, i, j, op)) },
  fc.constantFrom('kms:*', '*', 'KMS:*', 'kms:*Key*', 'kms:Re*', 'kms:Generate*', 'kms:*Grant', 'kms:Decrypt?', 'kms:Nope', 's3:GetObject'),
);

function mutate(name: string, i: number, j: number, op: string): string {
  const [prefix, action] = name.split(':');
  const a = i % action.length;
  const b = a + (j % (action.length - a));
  if (op === '*') return `${prefix}:${action.slice(0, a)}*${action.slice(b + 1)}`;
  if (op === '?') return `${prefix}:${action.slice(0, a)}?${action.slice(a + 1)}`;
  if (op === 'case') return [...name].map((c, k) => (Math.floor(i / 2 ** (k % 16)) % 2 === 1 ? c.toUpperCase() : c.toLowerCase())).join('');
  return name;
}

const OPERATORS = ['StringEquals', 'StringLike', 'StringNotEquals', 'StringEqualsIfExists', 'ForAnyValue:StringEquals', 'ForAllValues:StringEquals', 'StringNotLike', 'StringEqualsIgnoreCase'];
const BOUND_KEYS = ['aws:PrincipalAccount', 'kms:CallerAccount', 'aws:SourceAccount', 'aws:PrincipalOrgID', 'aws:principalaccount'];
const conditionArb = fc.option(fc.record({
  operator: fc.constantFrom(...OPERATORS),
  key: fc.constantFrom(...BOUND_KEYS),
  value: fc.constantFrom(ACCOUNT, FOREIGN, '*', '1111*', 'o-a1b2c3d4e5', `${ACCOUNT}?`),
  viaService: fc.boolean(),
}), { nil: undefined });

type PathSpec =
  | { readonly path: 'grant'; readonly principal: PrincipalSpec; readonly actions: string[] }
  | { readonly path: 'grantDecrypt' | 'keyGrantsDecrypt'; readonly principal: PrincipalSpec }
  | { readonly path: 'grantUse'; readonly principal: PrincipalSpec; readonly viaService: boolean }
  | { readonly path: 'aliasGrant'; readonly principal: PrincipalSpec; readonly actions: string[] }
  | {
    readonly path: 'addToResourcePolicy';
    readonly effect: 'Allow' | 'Deny';
    readonly principals: PrincipalSpec[];
    readonly actions: string[];
    readonly condition?: { operator: string; key: string; value: string; viaService: boolean };
    readonly not?: 'actions' | 'principals';
  };

const pathArb: fc.Arbitrary<PathSpec> = fc.oneof(
  fc.record({ path: fc.constant('grant' as const), principal: principalArb, actions: fc.array(actionArb, { minLength: 1, maxLength: 3 }) }),
  fc.record({ path: fc.constantFrom('grantDecrypt' as const, 'keyGrantsDecrypt' as const), principal: principalArb }),
  fc.record({ path: fc.constant('grantUse' as const), principal: principalArb, viaService: fc.boolean() }),
  fc.record({ path: fc.constant('aliasGrant' as const), principal: principalArb, actions: fc.array(actionArb, { minLength: 1, maxLength: 2 }) }),
  {
    weight: 3,
    arbitrary: fc.record({
      path: fc.constant('addToResourcePolicy' as const),
      effect: fc.constantFrom<'Allow' | 'Deny'>('Allow', 'Allow', 'Deny'),
      principals: fc.array(principalArb, { minLength: 1, maxLength: 2 }),
      actions: fc.array(actionArb, { minLength: 1, maxLength: 3 }),
      condition: conditionArb,
      not: fc.option(fc.constantFrom<'actions' | 'principals'>('actions', 'principals'), { nil: undefined, freq: 8 }),
    }, { requiredKeys: ['path', 'effect', 'principals', 'actions'] }),
  },
);

interface Case {
  readonly admSpelling: Spelling;
  readonly usrSpelling: Spelling;
  readonly allowAccountToAdminister: boolean;
  readonly paths: PathSpec[];
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  admSpelling: spellingArb,
  usrSpelling: spellingArb,
  allowAccountToAdminister: fc.boolean(),
  paths: fc.array(pathArb, { minLength: 1, maxLength: 3 }),
});

// ---- Building ---------------------------------------------------------------------------------------

function principalOf(stack: Stack, spec: PrincipalSpec, n: number): iam.IPrincipal {
  switch (spec.kind) {
    case 'star': return new iam.AnyPrincipal();
    case 'account': return new iam.AccountRootPrincipal();
    case 'foreign': return new iam.ArnPrincipal(FOREIGN_ROLE);
    case 'service': return new iam.ServicePrincipal('s3.amazonaws.com');
    case 'role': return spell(stack, spec.role, spec.spelling, n);
  }
}

function spell(stack: Stack, role: RoleName, spelling: Spelling, n: number): iam.IPrincipal {
  const construct = (stack.node.tryFindChild(role) as iam.Role | undefined)
    ?? new iam.Role(stack, role, { roleName: role, assumedBy: new iam.AccountRootPrincipal() });
  switch (spelling) {
    case 'construct': return construct;
    case 'fromRoleArn': return iam.Role.fromRoleArn(stack, `Arn${n}`, arnOfRole(role));
    case 'fromRoleArnPath': return iam.Role.fromRoleArn(stack, `Path${n}`, `arn:aws:iam::${ACCOUNT}:role/team/${role}`);
    case 'fromRoleName': return iam.Role.fromRoleName(stack, `Name${n}`, role);
    case 'arnPrincipal': return new iam.ArnPrincipal(arnOfRole(role));
    case 'upperCase': return new iam.ArnPrincipal(arnOfRole(role.toUpperCase()));
    case 'session': return new iam.ArnPrincipal(`arn:aws:sts::${ACCOUNT}:assumed-role/${role}/session${n}`);
    case 'withConditions': return new iam.PrincipalWithConditions(construct, { Bool: { 'aws:MultiFactorAuthPresent': 'true' } });
  }
}

/** Builds the case; returns the stack and key, or undefined when refused with the library's error. */
function build(c: Case): { stack: Stack; key: CustomerManagedKey } | undefined {
  const stack = new Stack(new App(), 'KeyStack', { env: TEST_STACK_ENV });
  let n = 0;
  try {
    const adm = spell(stack, 'adm', c.admSpelling, n++);
    const key = new CustomerManagedKey(stack, 'Key', {
      administrators: [adm],
      users: [spell(stack, 'usr', c.usrSpelling, n++)],
      allowAccountToAdminister: c.allowAccountToAdminister,
      deploymentRole: c.allowAccountToAdminister ? undefined : adm,
    });
    const alias = new kms.Alias(stack, 'Alias', { aliasName: 'alias/game', targetKey: key });
    for (const p of c.paths) {
      if (p.path === 'grant') {key.grant(principalOf(stack, p.principal, n++), ...p.actions);} else if (p.path === 'grantDecrypt') {key.grantDecrypt(principalOf(stack, p.principal, n++));} else if (p.path === 'keyGrantsDecrypt') {key.grants.decrypt(principalOf(stack, p.principal, n++));} else if (p.path === 'grantUse') {key.grantUse(principalOf(stack, p.principal, n++), { operations: [KeyOperation.DECRYPT], viaService: p.viaService ? 'secretsmanager' : undefined });} else if (p.path === 'aliasGrant') {alias.grant(principalOf(stack, p.principal, n++), ...p.actions);} else {
        const principals = p.principals.map(s => principalOf(stack, s, n++));
        const conditions = p.condition ? {
          [p.condition.operator]: { [p.condition.key]: p.condition.value },
          ...(p.condition.viaService ? { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com', ...(p.condition.operator === 'StringEquals' ? { [p.condition.key]: p.condition.value } : {}) } } : {}),
        } : undefined;
        let statement: iam.PolicyStatement;
        try {
          statement = new iam.PolicyStatement({
            effect: p.effect === 'Allow' ? iam.Effect.ALLOW : iam.Effect.DENY,
            ...(p.not === 'actions' ? { notActions: p.actions } : { actions: p.actions }),
            ...(p.not === 'principals' ? { notPrincipals: principals } : { principals }),
            resources: ['*'],
            conditions,
          });
        } catch (e) {
          // aws-cdk-lib itself refuses some spellings (a '?' in an action) before any key sees them.
          coverage.refusedByCdk++;
          continue;
        }
        key.addToResourcePolicy(statement);
      }
    }
    Template.fromStack(stack); // runs the validations (lockout, size)
    return { stack, key };
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    if (!ERROR_FORM.test(message) && !/\[cdk-kms-secrets\]/.test(message)) {
      throw new Error(`refused without the library's error form: ${message}`);
    }
    coverage.refused++;
    return undefined;
  }
}

// ---- Judging ------------------------------------------------------------------------------------------

const coverage = { built: 0, refused: 0, refusedByCdk: 0, simulations: 0 };

/** Roles resolve to their RoleName, so every spelling of `adm` is arn:aws:iam::111111111111:role/adm. */
const NAMED_ROLES = {
  extraResolvers: {
    'AWS::IAM::Role': {
      ref: (id: string, r: CfnResource) => r.Properties?.RoleName ?? id,
      attributes: { Arn: (id: string, r: CfnResource) => arnOfRole(r.Properties?.RoleName ?? id) },
    },
  },
};

/**
 * AWS resolves a role ARN in a key policy to the one role it names (names are
 * unique in an account whatever their path or case); the simulator compares
 * ARNs as strings. So every role ARN is written the one way before evaluating.
 */
function canonicalRoleArns<T>(policy: T): T {
  return JSON.parse(JSON.stringify(policy), (_k, v) => typeof v === 'string'
    ? v.replace(/^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/, (_m, account: string, name: string) => `arn:aws:iam::${account}:role/${name.toLowerCase()}`)
    : v);
}

async function judge(c: Case, built: { stack: Stack; key: CustomerManagedKey }): Promise<void> {
  const template = Template.fromStack(built.stack).toJSON() as CfnTemplate;
  const keyArn = arnOf(template, logicalIdOf(built.key));
  const keyPolicy = canonicalRoleArns(keyPolicyOf(template, logicalIdOf(built.key), NAMED_ROLES));
  const decide = async (principalArn: string, action: string, identity: boolean, extra: Record<string, string> = {}): Promise<Decision> => {
    coverage.simulations++;
    return simulate({
      principalArn,
      action,
      resourceArn: keyArn,
      resourcePolicy: keyPolicy,
      identityPolicies: identity ? [KMS_ALL] : [],
      // MFA present, so a principal's own condition (withConditions) holds and its grant counts.
      context: { ...kmsRequestContext({ principalArn }), 'aws:MultiFactorAuthPresent': 'true', ...extra },
    });
  };
  const fail = (what: string) => {
    throw new Error(`${what}\ncase: ${JSON.stringify(c)}\npolicy: ${JSON.stringify(keyPolicy, null, 1)}`);
  };

  for (const role of [...ROLES, 'ghost']) {
    const arn = arnOfRole(role);
    let manages = false;
    for (const a of MANAGE_ACTIONS) if (await decide(arn, a, false) === 'Allowed') manages = true;
    let uses = false;
    for (const a of USE_ACTIONS) if (await decide(arn, a, true) === 'Allowed') uses = true;
    if (manages && uses) fail(`(1) ${role} both manages the key through the key policy and uses it`);
    if (role === 'ghost' && uses) fail('(2) a role named by no path uses the key directly');
  }
  for (const a of [...USE_ACTIONS, ...MANAGE_ACTIONS]) {
    for (const via of [{}, { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com', 'aws:ViaAWSService': 'true' }]) {
      if (await decide(FOREIGN_GHOST, a, true, { ...via, 'aws:PrincipalOrgID': 'o-zzzzzzzzzz' }) === 'Allowed') fail(`(3) a principal of another account that no path names is allowed ${a}`);
    }
  }
  for (const a of USE_ACTIONS) {
    if (await decide(arnOfRole('adm'), a, true) !== 'ExplicitlyDenied') fail(`(4) the administrator is not explicitly denied ${a}`);
  }
  for (const a of MANAGE_ACTIONS) {
    if (await decide(arnOfRole('usr'), a, true) !== 'ExplicitlyDenied') fail(`(4) the user is not explicitly denied ${a}`);
  }
  coverage.built++;
}

describe('the key-policy gate, against generated statements through every path', () => {
  test(`either the library's error, or the invariants hold under IAM evaluation (${NUM_RUNS} cases)`, async () => {
    await fc.assert(fc.asyncProperty(caseArb, async c => {
      const built = build(c);
      if (built) await judge(c, built);
    }), { numRuns: NUM_RUNS, seed: process.env.KMSSEC_SEED ? Number(process.env.KMSSEC_SEED) : undefined });
    // The grammar must reach both outcomes, or the property says little.
    expect(coverage.built).toBeGreaterThan(NUM_RUNS / 10);
    expect(coverage.refused).toBeGreaterThan(NUM_RUNS / 10);
    console.log(`adversarial: ${coverage.built} built and judged (${coverage.simulations} IAM evaluations), ${coverage.refused} refused with the library's error (${coverage.refusedByCdk} statements aws-cdk-lib refused to build)`);
  }, 300_000);
});
