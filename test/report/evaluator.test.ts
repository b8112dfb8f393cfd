/**
 * The report's own IAM evaluator against the dev-only simulator
 * (`@cloud-copilot/iam-simulate`, through test/support/iam-eval.ts) on
 * generated requests: random key policies, secret policies and identity
 * policies built from the statements, principals and condition operators
 * our policies and aws-cdk-lib's use, random callers and request contexts.
 * Every disagreement is a failure, listed with the request.
 */
import { allowedContextKeysForRequest } from '@cloud-copilot/iam-simulate';
import { evaluate, EvalPolicy, EvalRequest } from '../../src/report/evaluator';
import { Decision, PolicyDocumentJson, simulate } from '../support/iam-eval';

const ACCT = '111111111111';
const OTHER = '222222222222';
const KEY = `arn:aws:kms:eu-west-1:${ACCT}:key/k1`;
const SECRET = `arn:aws:secretsmanager:eu-west-1:${ACCT}:secret:s1-AbCdEf`;
const ROLES = [`arn:aws:iam::${ACCT}:role/App`, `arn:aws:iam::${ACCT}:role/Admin`, `arn:aws:iam::${OTHER}:role/Partner`];

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
/* eslint-disable no-bitwise */
function rng(seed: number) {
  let a = seed;
  const next = () => {
    a |= 0; a = (a + 0x6D2B79F5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const some = <T>(xs: readonly T[], max = 2): T[] => [...new Set(Array.from({ length: 1 + Math.floor(next() * max) }, () => pick(xs)))];
  return { next, pick, some };
}

type R = ReturnType<typeof rng>;

const KMS_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey', 'kms:CreateGrant', 'kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion'];
const KMS_PATTERNS = [...KMS_ACTIONS, 'kms:*', 'kms:Generate*', 'kms:Re*', 'kms:Describe*', 'KMS:decrypt', 'kms:*Key*'];
const SM_ACTIONS = ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:RotateSecret', 'secretsmanager:DeleteSecret', 'secretsmanager:PutResourcePolicy'];
const SM_PATTERNS = [...SM_ACTIONS, 'secretsmanager:*', 'secretsmanager:Get*', 'secretsmanager:*Secret*'];

function condition(r: R, kms: boolean): Record<string, Record<string, unknown>> | undefined {
  if (r.next() < 0.35) return undefined;
  const choices: Array<() => [string, string, unknown]> = [
    () => [r.pick(['StringEquals', 'StringNotEquals', 'StringEqualsIfExists']), 'aws:PrincipalAccount', r.pick([ACCT, OTHER, [ACCT, OTHER]])],
    () => [r.pick(['ArnLike', 'ArnEquals', 'StringLike', 'ArnNotLike', 'StringNotLike']), 'aws:PrincipalArn', r.pick([ROLES[0], `arn:aws:iam::${ACCT}:role/*`, 'arn:aws:iam::*:role/Partner', ROLES[1]])],
    () => ['Bool', 'aws:SecureTransport', r.pick(['true', 'false'])],
    () => ['Null', 'aws:SourceAccount', r.pick(['true', 'false'])],
  ];
  if (kms) {
    choices.push(
      () => [r.pick(['StringEquals', 'StringLike', 'StringNotEquals']), 'kms:ViaService', r.pick(['secretsmanager.eu-west-1.amazonaws.com', 'sqs.eu-west-1.amazonaws.com', '*.eu-west-1.amazonaws.com'])],
      () => [r.pick(['StringEquals', 'StringNotEquals']), 'kms:CallerAccount', r.pick([ACCT, OTHER])],
      () => ['StringEquals', 'kms:EncryptionContext:SecretARN', r.pick([SECRET, `${SECRET}x`])],
      () => [r.pick(['ForAllValues:StringEquals', 'ForAnyValue:StringEquals']), 'kms:EncryptionContextKeys', r.pick([['SecretARN'], ['SecretARN', 'SecretVersionId'], ['aws:logs:arn']])],
      () => ['Bool', 'kms:GrantIsForAWSResource', r.pick(['true', 'false'])],
    );
  } else {
    choices.push(() => [r.pick(['StringEquals', 'StringNotEquals']), 'secretsmanager:VersionStage', r.pick(['AWSCURRENT', 'AWSPENDING'])]);
  }
  const out: Record<string, Record<string, unknown>> = {};
  for (const make of r.some(choices, 2)) {
    const [op, key, value] = make();
    out[op] = { ...out[op], [key]: value };
  }
  return out;
}

function principal(r: R): unknown {
  return r.pick<unknown>([
    '*', { AWS: ROLES[0] }, { AWS: ROLES[1] }, { AWS: ROLES[2] }, { AWS: `arn:aws:iam::${ACCT}:root` }, { AWS: `arn:aws:iam::${OTHER}:root` },
    { AWS: [ROLES[0], ROLES[2]] }, { Service: 'logs.eu-west-1.amazonaws.com' },
  ]);
}

function policy(r: R, kms: boolean, resourcePolicy: boolean): PolicyDocumentJson {
  const n = 1 + Math.floor(r.next() * 3);
  return {
    Version: '2012-10-17',
    Statement: Array.from({ length: n }, () => {
      const effect = r.next() < 0.25 ? 'Deny' : 'Allow';
      const resource = resourcePolicy ? '*' : r.pick(kms ? ['*', KEY, 'arn:aws:kms:eu-west-1:111111111111:key/*', 'arn:aws:kms:*:*:key/other'] : ['*', SECRET, 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:s1-??????', 'arn:aws:secretsmanager:*:*:secret:x-*']);
      const c = condition(r, kms);
      return {
        Effect: effect as 'Allow' | 'Deny',
        ...(resourcePolicy ? { Principal: principal(r) as any } : {}),
        Action: r.some(kms ? KMS_PATTERNS : SM_PATTERNS, 3),
        Resource: resource,
        ...(c ? { Condition: c } : {}),
      };
    }),
  };
}

async function context(r: R, action: string, resource: string): Promise<Record<string, string | string[]>> {
  const [service, name] = action.split(':');
  const allowed = new Set((await allowedContextKeysForRequest(service, name, resource, false, undefined)).map(k => k.toLowerCase()));
  const ctx: Record<string, string | string[]> = { 'aws:SecureTransport': r.pick(['true', 'false']) };
  if (service === 'kms') {
    if (r.next() < 0.5 && allowed.has('kms:viaservice')) {
      ctx['kms:ViaService'] = r.pick(['secretsmanager.eu-west-1.amazonaws.com', 'sqs.eu-west-1.amazonaws.com']);
      ctx['aws:ViaAWSService'] = 'true';
    }
    if (r.next() < 0.5 && allowed.has('kms:encryptioncontext:${encryptioncontextkey}')) {
      ctx['kms:EncryptionContext:SecretARN'] = r.pick([SECRET, `${SECRET}x`]);
      ctx['kms:EncryptionContextKeys'] = ['SecretARN'];
    }
    if (r.next() < 0.5 && allowed.has('kms:grantisforawsresource')) ctx['kms:GrantIsForAWSResource'] = r.pick(['true', 'false']);
  } else if (r.next() < 0.5 && allowed.has('secretsmanager:versionstage')) {
    ctx['secretsmanager:VersionStage'] = r.pick(['AWSCURRENT', 'AWSPENDING']);
  }
  return ctx;
}

interface Case {
  readonly request: EvalRequest;
  readonly sim: Parameters<typeof simulate>[0];
}

async function generate(seed: number, n: number): Promise<Case[]> {
  const r = rng(seed);
  const out: Case[] = [];
  for (let i = 0; i < n; i++) {
    const kms = r.next() < 0.6;
    const principalArn = r.pick(ROLES);
    const action = r.pick(kms ? KMS_ACTIONS : SM_ACTIONS);
    const resource = kms ? KEY : SECRET;
    const resourcePolicy = r.next() < 0.9 || kms ? policy(r, kms, true) : undefined;
    const identityPolicies = r.next() < 0.8 ? [policy(r, kms, false)] : [];
    const ctx = await context(r, action, resource);
    const fullContext = { ...ctx, 'aws:PrincipalArn': principalArn, 'aws:PrincipalAccount': principalArn.split(':')[4], ...(kms ? { 'kms:CallerAccount': principalArn.split(':')[4] } : {}) };
    out.push({
      request: {
        principal: { arn: principalArn, account: principalArn.split(':')[4] },
        action,
        resource,
        resourceAccount: ACCT,
        context: ctx,
        identityPolicies: identityPolicies as EvalPolicy[],
        resourcePolicy: resourcePolicy as EvalPolicy | undefined,
        mode: kms ? 'kms' : 'resource',
      },
      sim: { principalArn, action, resourceArn: resource, identityPolicies, resourcePolicy, context: fullContext },
    });
  }
  return out;
}

const N = 1200;

test.each([20260101, 7])(`the evaluator agrees with iam-simulate on ${N} generated requests (seed %d)`, async (seed) => {
  const cases = await generate(seed, N);
  const disagreements: string[] = [];
  const counts: Record<string, number> = {};
  for (const c of cases) {
    const ours = evaluate(c.request);
    const theirs: Decision = await simulate(c.sim);
    counts[theirs] = (counts[theirs] ?? 0) + 1;
    if (ours !== theirs) {
      disagreements.push(`ours ${ours}, simulator ${theirs}: ${c.sim.principalArn} ${c.sim.action} ${JSON.stringify(c.sim.context)}\n  resource policy ${JSON.stringify(c.sim.resourcePolicy)}\n  identity ${JSON.stringify(c.sim.identityPolicies)}`);
    }
  }
  expect(disagreements.slice(0, 5)).toEqual([]);
  expect(disagreements.length).toBe(0);
  // The generator must exercise every outcome, not only "denied".
  expect(counts.Allowed).toBeGreaterThan(100);
  expect(counts.ExplicitlyDenied).toBeGreaterThan(100);
  expect(counts.ImplicitlyDenied).toBeGreaterThan(100);
});

test('NotAction, NotPrincipal, NotResource and unknown operators are not understood, never guessed', () => {
  const base = { principal: { arn: ROLES[0], account: ACCT }, action: 'kms:Decrypt', resource: KEY, resourceAccount: ACCT, mode: 'kms' as const };
  const allowAll = { Statement: [{ Effect: 'Allow', Principal: { AWS: ROLES[0] }, Action: 'kms:*', Resource: '*' }] };
  expect(evaluate({ ...base, resourcePolicy: allowAll })).toBe('Allowed');
  for (const extra of [
    { Effect: 'Deny', Principal: '*', NotAction: 'kms:Encrypt', Resource: '*' },
    { Effect: 'Deny', NotPrincipal: { AWS: ROLES[1] }, Action: 'kms:Decrypt', Resource: '*' },
    { Effect: 'Deny', Principal: '*', Action: 'kms:Decrypt', NotResource: KEY },
    { Effect: 'Deny', Principal: '*', Action: 'kms:Decrypt', Resource: '*', Condition: { DateGreaterThan: { 'aws:CurrentTime': '2020-01-01T00:00:00Z' } } },
    { Effect: 'Deny', Principal: '*', Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'aws:PrincipalTag/team': '${aws:username}' } } },
  ]) {
    expect(evaluate({ ...base, resourcePolicy: { Statement: [...allowAll.Statement, extra] } })).toBe('NotUnderstood');
  }
  // A NotAction statement whose Action list cannot match is irrelevant.
  expect(evaluate({ ...base, resourcePolicy: { Statement: [...allowAll.Statement, { Effect: 'Deny', Principal: '*', Action: 's3:*', NotResource: 'x' }] } })).toBe('Allowed');
});
