/**
 * Benchmark 2: key-policy capacity.
 *
 * How many distinct grantee roles (`iam.Role`s of the key's stack, each given
 * `grantDecrypt`) one key policy holds before the 32 KB KMS limit:
 *
 * - ours: a `CustomerManagedKey`, measured with `estimatedPolicySize()` after
 *   every grant; then synthesis at the capacity must pass and one grant more
 *   must fail with a clear error;
 * - aws-cdk-lib `kms.Key` with the same grants, measured by the resolved JSON
 *   size of the synthesized key policy (what it really does with same-account
 *   roles), plus the same with grantees of another account, whose grants do
 *   land in the key policy, with and without `@aws-cdk/aws-iam:minimizePolicies`;
 * - a pure "one statement per grant" policy, built statement by statement.
 *
 * Sizes are `JSON.stringify` lengths with every CloudFormation intrinsic
 * replaced by a string as long as its likely value, with the library's own
 * estimator (`estimatePolicySize`, the one `estimatedPolicySize()` uses): a role ARN is
 * `arn:aws-iso-b:iam::123456789012:role/` plus the name CloudFormation will
 * generate (stack name + '-' + logical ID + 13-character suffix, at most 64).
 */
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { BenchResult, Goal, int, ratio, table } from './report';
import { msSince, round } from './stats';
import { CustomerManagedKey } from '../src';
import { estimatedRoleArnLength, estimatePolicySize } from '../src/keys/policy-builder';
import { KEY_POLICY_MAX_BYTES } from '../src/keys/roles';

/** Two stack names: a typical one, and one long enough that every generated role name hits the 64-character cap. */
const SCENARIOS = [
  { id: 'typical', stackName: 'PaymentsServiceStack', label: 'typical names (stack `PaymentsServiceStack`, roles `AppRole<i>`)' },
  { id: 'worstCase', stackName: 'PaymentsServiceProductionEuWest1ApplicationStack', label: 'worst case (every role ARN at the 64-character name cap)' },
] as const;
type ScenarioId = typeof SCENARIOS[number]['id'];

type Template = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

/** The size of a resolved policy document with its intrinsics at their likely length (the library's own estimator). */
function estimatedJsonSize(stackName: string, resolved: unknown): number {
  return estimatePolicySize(stackName, resolved);
}

function newStack(stackName: string, context: Record<string, unknown> = {}): { app: App; stack: Stack } {
  const app = new App({ context });
  return { app, stack: new Stack(app, stackName) };
}

function addRoles(stack: Stack, from: number, to: number): iam.Role[] {
  const roles: iam.Role[] = [];
  for (let i = from; i < to; i++) {
    roles.push(new iam.Role(stack, `AppRole${i}`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
  }
  return roles;
}

interface OursCapacity {
  readonly capacity: number;
  readonly baseBytes: number;
  readonly bytesAtCapacity: number;
  readonly bytesPerGrant: number;
  readonly roleArnLength: number;
  /** Statements in the key policy at the capacity (grants merged into one). */
  readonly statementsAtCapacity: number;
  /** The estimate of this benchmark's own estimator, which must match estimatedPolicySize(). */
  readonly crossCheckBytes: number;
  readonly synthAtCapacity: 'ok' | string;
  readonly synthPastCapacity: { readonly threw: boolean; readonly message: string };
  readonly curve: ReadonlyArray<{ readonly grantees: number; readonly bytes: number }>;
  readonly ms: number;
}

/** Grants roles one by one until `estimatedPolicySize()` would pass the limit. */
function oursCapacity(stackName: string): OursCapacity {
  const t0 = process.hrtime.bigint();
  const { stack } = newStack(stackName);
  const key = new CustomerManagedKey(stack, 'Key');
  const baseBytes = key.estimatedPolicySize();
  const curve: Array<{ grantees: number; bytes: number }> = [{ grantees: 0, bytes: baseBytes }];
  let capacity = 0;
  let bytesAtCapacity = baseBytes;
  for (let i = 0; ; i++) {
    const [role] = addRoles(stack, i, i + 1);
    key.grantDecrypt(role);
    const bytes = key.estimatedPolicySize();
    if ((i + 1) % 50 === 0) curve.push({ grantees: i + 1, bytes });
    if (bytes > KEY_POLICY_MAX_BYTES) break;
    capacity = i + 1;
    bytesAtCapacity = bytes;
    if (i > 100_000) throw new Error('no limit reached');
  }
  // Our own estimator on the resolved policy at capacity + 1 must agree with the library's.
  const resolved = stack.resolve((key.node.defaultChild as kms.CfnKey).keyPolicy);
  const crossCheckBytes = estimatedJsonSize(stackName, resolved);
  if (crossCheckBytes !== key.estimatedPolicySize()) {
    throw new Error(`estimator mismatch: bench ${crossCheckBytes} vs estimatedPolicySize() ${key.estimatedPolicySize()}`);
  }
  const ms = msSince(t0);

  // Synthesis at the capacity passes; one grantee more fails with the size error.
  const synthesize = (grantees: number): void => {
    const fresh = newStack(stackName);
    const k = new CustomerManagedKey(fresh.stack, 'Key');
    addRoles(fresh.stack, 0, grantees).forEach(r => k.grantDecrypt(r));
    fresh.app.synth();
  };
  let synthAtCapacity = 'ok';
  try {
    synthesize(capacity);
  } catch (err) {
    synthAtCapacity = (err as Error).message;
  }
  let synthPastCapacity = { threw: false, message: '' };
  try {
    synthesize(capacity + 1);
  } catch (err) {
    synthPastCapacity = { threw: true, message: (err as Error).message };
  }
  const statements = (resolved as { Statement: unknown[] }).Statement.length;
  return {
    capacity,
    baseBytes,
    bytesAtCapacity,
    bytesPerGrant: round((bytesAtCapacity - baseBytes) / capacity, 1),
    roleArnLength: estimatedRoleArnLength(stackName, `AppRole${capacity}`.padEnd(`AppRole${capacity}`.length + 8, 'x')),
    statementsAtCapacity: statements,
    crossCheckBytes,
    synthAtCapacity,
    synthPastCapacity,
    curve,
    ms: round(ms, 1),
  };
}

interface CdkKeyPolicy {
  readonly grantees: number;
  readonly keyPolicyBytes: number;
  readonly keyPolicyStatements: number;
  /** AWS::IAM::Policy resources (the roles' identity policies the grants went to). */
  readonly identityPolicies: number;
}

/** aws-cdk-lib kms.Key + grantDecrypt per same-stack role: where the grants land, and the key policy size. */
function cdkSameAccount(stackName: string, grantees: number): CdkKeyPolicy {
  // Two resources per grantee (role + policy): CDK's 500-resource check is off to measure past it.
  const { app, stack } = newStack(stackName, { '@aws-cdk/core:stackResourceLimit': 0 });
  const key = new kms.Key(stack, 'Key');
  addRoles(stack, 0, grantees).forEach(r => key.grantDecrypt(r));
  const template = app.synth().getStackByName(stack.stackName).template as Template;
  const keyResource = Object.values(template.Resources).find(r => r.Type === 'AWS::KMS::Key')!;
  const policy = keyResource.Properties.KeyPolicy as { Statement: unknown[] };
  return {
    grantees,
    keyPolicyBytes: estimatedJsonSize(stackName, policy),
    keyPolicyStatements: policy.Statement.length,
    identityPolicies: Object.values(template.Resources).filter(r => r.Type === 'AWS::IAM::Policy').length,
  };
}

/**
 * aws-cdk-lib kms.Key + grantDecrypt per role of another account (imported,
 * immutable, ARNs as long as our estimate of a generated role ARN): these
 * grants go into the key policy. Capacity by doubling + binary search on the
 * synthesized key policy size.
 */
function cdkCrossAccount(
  stackName: string, roleArnLength: number, minimize: boolean,
): { capacity: number; baseBytes: number; bytesPerGrant: number; statementsAtCapacity: number } {
  const measure = (grantees: number) => {
    const { app, stack } = newStack(stackName, { '@aws-cdk/aws-iam:minimizePolicies': minimize });
    const key = new kms.Key(stack, 'Key');
    for (let i = 0; i < grantees; i++) {
      const prefix = 'arn:aws:iam::210987654321:role/';
      const name = `AppRole${i}-`.padEnd(roleArnLength - prefix.length, 'x');
      key.grantDecrypt(iam.Role.fromRoleArn(stack, `AppRole${i}`, `${prefix}${name}`, { mutable: false }));
    }
    const template = app.synth().getStackByName(stack.stackName).template as Template;
    const policy = Object.values(template.Resources).find(r => r.Type === 'AWS::KMS::Key')!.Properties.KeyPolicy as { Statement: unknown[] };
    return { bytes: estimatedJsonSize(stackName, policy), statements: policy.Statement.length };
  };
  const base = measure(0).bytes;
  let lo = 0;
  let hi = 16;
  while (measure(hi).bytes <= KEY_POLICY_MAX_BYTES) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (measure(mid).bytes <= KEY_POLICY_MAX_BYTES) lo = mid; else hi = mid;
  }
  const at = measure(lo);
  return { capacity: lo, baseBytes: base, bytesPerGrant: round((at.bytes - base) / Math.max(1, lo), 1), statementsAtCapacity: at.statements };
}

/** A policy of our key's base statements plus one `Allow kms:Decrypt` statement per grantee role. */
function oneStatementPerGrant(stackName: string): { capacity: number; bytesPerGrant: number; baseBytes: number; statementsAtCapacity: number } {
  const { stack } = newStack(stackName);
  const key = new CustomerManagedKey(stack, 'Key');
  const base = stack.resolve((key.node.defaultChild as kms.CfnKey).keyPolicy) as { Statement: unknown[] };
  const baseBytes = estimatedJsonSize(stackName, base);
  const statements = [...base.Statement];
  let capacity = 0;
  let bytes = baseBytes;
  for (let i = 0; ; i++) {
    const [role] = addRoles(stack, i, i + 1);
    statements.push(stack.resolve(new iam.PolicyStatement({ actions: ['kms:Decrypt'], principals: [role], resources: ['*'] }).toStatementJson()));
    const size = estimatedJsonSize(stackName, { ...base, Statement: statements });
    if (size > KEY_POLICY_MAX_BYTES) break;
    capacity = i + 1;
    bytes = size;
  }
  return { capacity, bytesPerGrant: round((bytes - baseBytes) / capacity, 1), baseBytes, statementsAtCapacity: base.Statement.length + capacity };
}

export async function run(log: (line: string) => void): Promise<BenchResult> {
  const data: Record<ScenarioId, unknown> = {} as Record<ScenarioId, unknown>;
  const rows: Array<Array<string | number>> = [];
  const ours: Partial<Record<ScenarioId, OursCapacity>> = {};
  const cdkRows: Array<Array<string | number>> = [];
  for (const scenario of SCENARIOS) {
    log(`${scenario.id}: granting roles until the key policy is full...`);
    const o = oursCapacity(scenario.stackName);
    ours[scenario.id] = o;
    const perGrant = oneStatementPerGrant(scenario.stackName);
    const cross = cdkCrossAccount(scenario.stackName, o.roleArnLength, false);
    const crossMin = cdkCrossAccount(scenario.stackName, o.roleArnLength, true);
    const sameAccount = [1, 100, o.capacity].map(n => cdkSameAccount(scenario.stackName, n));
    log(`  ours ${o.capacity}, one statement per grant ${perGrant.capacity}, aws-cdk-lib cross-account ${cross.capacity} (minimized ${crossMin.capacity})`);
    data[scenario.id] = {
      stackName: scenario.stackName,
      ours: o,
      oneStatementPerGrant: perGrant,
      cdkCrossAccount: cross,
      cdkCrossAccountMinimized: crossMin,
      cdkSameAccount: sameAccount,
    };
    rows.push(
      [scenario.label, 'ours: CustomerManagedKey (merged statement)', int(o.capacity), `${int(o.baseBytes)} B`, `${o.bytesPerGrant} B`,
        ratio(o.capacity, perGrant.capacity), `${o.statementsAtCapacity} statements, ${int(o.bytesAtCapacity)} B`],
      [scenario.label, 'one statement per grant (built)', int(perGrant.capacity), `${int(perGrant.baseBytes)} B`, `${perGrant.bytesPerGrant} B`,
        '1.00×', `${perGrant.statementsAtCapacity} statements`],
      [scenario.label, 'aws-cdk-lib kms.Key, grantees in another account', int(cross.capacity), `${int(cross.baseBytes)} B`, `${cross.bytesPerGrant} B`,
        ratio(cross.capacity, perGrant.capacity), `${cross.statementsAtCapacity} statements`],
      [scenario.label, 'same, with @aws-cdk/aws-iam:minimizePolicies', int(crossMin.capacity), `${int(crossMin.baseBytes)} B`, `${crossMin.bytesPerGrant} B`,
        ratio(crossMin.capacity, perGrant.capacity), `${crossMin.statementsAtCapacity} statements`],
    );
    for (const s of sameAccount) {
      cdkRows.push([scenario.label, int(s.grantees), `${int(s.keyPolicyBytes)} B`, s.keyPolicyStatements, int(s.identityPolicies)]);
    }
  }

  const typical = ours.typical!;
  const worst = ours.worstCase!;
  const errorText = typical.synthPastCapacity.message.split('\n').find(l => l.includes('bytes')) ?? typical.synthPastCapacity.message.split('\n')[0];
  const clearError = typical.synthPastCapacity.threw && /over the \d+-byte KMS limit/.test(typical.synthPastCapacity.message) && typical.synthAtCapacity === 'ok'
    && worst.synthPastCapacity.threw && worst.synthAtCapacity === 'ok';
  const goals: Goal[] = [
    {
      goal: '≥ 300 distinct grantee roles in one key policy',
      met: Math.min(typical.capacity, worst.capacity) >= 300,
      measured: `${typical.capacity} (typical names), ${worst.capacity} (worst case, 64-character role names)`,
    },
    {
      goal: 'a synth-time error before the policy overflows',
      met: clearError,
      measured: `synth passes at ${typical.capacity} grantees and throws at ${typical.capacity + 1}: "${truncate(errorText.trim(), 160)}"`,
    },
  ];

  const markdown = [
    table(['Names', 'Key policy', 'Grantee roles before 32 KB', 'Base policy (no grantee)', 'Bytes per grantee', 'vs one statement per grant', 'At capacity'], rows, 'llrrrrl'),
    '',
    `Limit: ${int(KEY_POLICY_MAX_BYTES)} bytes. Sizes count every role ARN at its likely length (${typical.roleArnLength} characters with typical names, ${worst.roleArnLength} in the worst case) by the rule of \`estimatedPolicySize()\`, ` +
    'which this benchmark re-implements and cross-checks. ours lists each grantee once in a shared `UsersUseKey` statement; "one statement per grant" is our base policy plus an `Allow kms:Decrypt` statement per role; ' +
    'aws-cdk-lib writes such a statement per grant when the grantee is in another account (its roles here have ARNs of the same length); with `@aws-cdk/aws-iam:minimizePolicies` it merges them into one statement too, ' +
    'and then holds a few more grantees than ours only because its base policy (one `kms:*` statement for the account root) is smaller than our role-separated one.',
    '',
    'What aws-cdk-lib `kms.Key` does with the benchmark\'s own case, `grantDecrypt` to roles of the same stack:',
    '',
    table(['Names', 'Grantee roles', 'Key policy', 'Key policy statements', 'AWS::IAM::Policy resources'], cdkRows, 'lrrrr'),
    '',
    'Its key policy does not grow: it allows `kms:*` to the account root and puts every grant into the grantee role\'s identity policy (one AWS::IAM::Policy per role), ' +
    'so the key policy is never the limit, but any principal of the account whose IAM policy allows it can use (and administer) the key. ours puts same-account grants in the key policy, where administrators and users stay separated.',
    '',
    `Past the capacity, synthesis fails: \`${truncate(errorText.trim(), 400)}\``,
  ].join('\n');

  return { id: 'keyPolicyCapacity', title: 'Key-policy capacity', markdown, goals, data };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
