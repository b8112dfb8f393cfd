/**
 * Benchmark 1: rotated secrets per stack.
 *
 * Three ways to rotate N PostgreSQL secrets (single user) in one stack, each
 * synthesized in its own App/Stack:
 *
 * - ours:           N `ManagedSecret`s given no key (they, and the rotation function, share the
 *                   stack's default key, `CustomerManagedKey.forStack`), rotated by
 *                   `Rotation.postgresSingleUser({ vpc })` (one shared `RotationFunction`);
 * - HostedRotation: N `secretsmanager.Secret`s, each with
 *                   `addRotationSchedule('R', { hostedRotation: HostedRotation.postgreSqlSingleUser({ vpc }) })`;
 * - SecretRotation: N `secretsmanager.Secret`s, each with a `SecretRotation`
 *                   (POSTGRES_ROTATION_SINGLE_USER, a SAR nested application).
 *
 * The VPC is imported (`Vpc.fromVpcAttributes`, two private subnets), so it adds
 * no resources. CDK's own 500-resource check is switched off
 * (`@aws-cdk/core:stackResourceLimit: 0`) so that stacks over the limit can still
 * be measured; whether a stack fits is judged here (<= 500 resources and a
 * template <= 1,000,000 bytes, CDK's TEMPLATE_BODY_MAXIMUM_SIZE).
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { BenchResult, Goal, int, kb, ms, ratio, table } from './report';
import { median, msSince, round, summarize, Summary } from './stats';
import { DatabaseEngine, ManagedSecret, Rotation } from '../src';

export const MAX_RESOURCES = 500;
/** CDK's TEMPLATE_BODY_MAXIMUM_SIZE (the 1 MB CloudFormation limit for a template in S3). */
export const MAX_TEMPLATE_BYTES = 1_000_000;
const SIZES = [1, 10, 50, 100, 150];
/** Timed synths per (variant, N); the brief asks for at least 5. */
const RUNS = 11;

type Template = { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }>; Transform?: unknown };

interface Variant {
  readonly id: 'ours' | 'hostedRotation' | 'secretRotation';
  readonly label: string;
  /** How the rotation Lambda functions it deploys are counted. */
  readonly lambdaRule: string;
  /** Adds N rotated secrets to the stack. */
  build(stack: Stack, vpc: ec2.IVpc, n: number, options?: { mutableTarget?: boolean }): void;
  rotationLambdas(template: Template): number;
  /** Resources of the parent stack after the template's transforms are processed (what CloudFormation counts). */
  processedResources(template: Template): number;
  /** The same extra resources as `processedResources` adds, counted in the construct tree (for the quick search). */
  addedByTransform(stack: Stack): number;
}

function resources(template: Template) {
  return Object.values(template.Resources ?? {});
}

const VARIANTS: readonly Variant[] = [
  {
    id: 'ours',
    label: 'ours (ManagedSecret)',
    lambdaRule: 'the AWS::Lambda::Function resources of the template',
    build(stack, vpc, n) {
      // No explicit key: the stack's default key encrypts every secret and the rotation function's data.
      const rotation = Rotation.postgresSingleUser({ vpc });
      for (let i = 0; i < n; i++) {
        new ManagedSecret(stack, `Secret${i}`, {
          credentials: { engine: DatabaseEngine.POSTGRES, host: 'db.cluster-abc.us-east-1.rds.amazonaws.com', username: `app${i}`, dbname: 'app' },
          rotation,
        });
      }
    },
    rotationLambdas: t => resources(t).filter(r => r.Type === 'AWS::Lambda::Function').length,
    processedResources: t => resources(t).length,
    addedByTransform: () => 0,
  },
  {
    id: 'hostedRotation',
    label: 'aws-cdk-lib HostedRotation',
    lambdaRule: 'one Lambda per AWS::SecretsManager::RotationSchedule with HostedRotationLambda (created by the AWS::SecretsManager-2020-07-23 transform)',
    build(stack, vpc, n) {
      for (let i = 0; i < n; i++) {
        const secret = new secretsmanager.Secret(stack, `Secret${i}`);
        secret.addRotationSchedule('R', { hostedRotation: secretsmanager.HostedRotation.postgreSqlSingleUser({ vpc }) });
      }
    },
    rotationLambdas: t => resources(t).filter(r => r.Type === 'AWS::SecretsManager::RotationSchedule' && r.Properties?.HostedRotationLambda !== undefined).length,
    // The transform puts each generated function in a nested stack (an AWS::CloudFormation::Stack) of the processed template.
    processedResources: t => resources(t).length + resources(t).filter(r => r.Type === 'AWS::SecretsManager::RotationSchedule' && r.Properties?.HostedRotationLambda !== undefined).length,
    addedByTransform: stack => stack.node.findAll()
      .filter(c => c instanceof secretsmanager.CfnRotationSchedule && c.hostedRotationLambda !== undefined).length,
  },
  {
    id: 'secretRotation',
    label: 'aws-cdk-lib SecretRotation',
    lambdaRule: 'one Lambda per AWS::Serverless::Application (the SAR rotation app, one per secret)',
    build(stack, vpc, n, options) {
      // The database's security group, imported. Immutable by default, as our variant opens no database
      // ingress either (it would with `database`); `mutableTarget` shows the cost of the ingress rule.
      const sg = ec2.SecurityGroup.fromSecurityGroupId(stack, 'DatabaseSg', 'sg-0123456789abcdef0', { mutable: options?.mutableTarget ?? false });
      const target: ec2.IConnectable = { connections: new ec2.Connections({ securityGroups: [sg], defaultPort: ec2.Port.tcp(5432) }) };
      for (let i = 0; i < n; i++) {
        const secret = new secretsmanager.Secret(stack, `Secret${i}`);
        new secretsmanager.SecretRotation(stack, `R${i}`, {
          application: secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER,
          secret,
          target,
          vpc,
        });
      }
    },
    rotationLambdas: t => resources(t).filter(r => r.Type === 'AWS::Serverless::Application').length,
    // The SAM transform turns each AWS::Serverless::Application into one AWS::CloudFormation::Stack: same count.
    processedResources: t => resources(t).length,
    addedByTransform: () => 0,
  },
];

interface Shape {
  readonly resources: number;
  readonly processedResources: number;
  readonly templateBytes: number;
  readonly rotationLambdas: number;
  /** AWS::KMS::Key resources of the template (the aws-cdk-lib variants use the AWS-managed key: 0). */
  readonly keys: number;
  readonly resourceTypes: Record<string, number>;
}

interface Synth {
  readonly shape: Shape;
  /** Building the construct tree (not part of the synth time the brief asks for; reported for context). */
  readonly constructMs: number;
  /** `app.synth()` of the fresh app. */
  readonly synthMs: number;
}

/** A fresh App with one stack of N rotated secrets (in a temporary outdir, which `dispose` removes). */
function buildApp(variant: Variant, n: number, options?: { mutableTarget?: boolean }): { app: App; stack: Stack; dispose: () => void } {
  const outdir = mkdtempSync(join(tmpdir(), 'kmssec-bench-'));
  const dispose = () => rmSync(outdir, { recursive: true, force: true });
  try {
    const app = new App({ outdir, context: { '@aws-cdk/core:stackResourceLimit': 0 } });
    const stack = new Stack(app, 'RotatedSecrets');
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
      vpcId: 'vpc-0123456789abcdef0',
      availabilityZones: ['us-east-1a', 'us-east-1b'],
      privateSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'],
      privateSubnetRouteTableIds: ['rtb-0aaaaaaaaaaaaaaa1', 'rtb-0aaaaaaaaaaaaaaa2'],
    });
    variant.build(stack, vpc, n, options);
    return { app, stack, dispose };
  } catch (err) {
    dispose();
    throw err;
  }
}

/** Builds a fresh App with one stack of N secrets and synthesizes it. */
function synthOnce(variant: Variant, n: number, options?: { mutableTarget?: boolean }): Synth {
  const t0 = process.hrtime.bigint();
  const { app, stack, dispose } = buildApp(variant, n, options);
  const constructMs = msSince(t0);
  try {
    const t1 = process.hrtime.bigint();
    const assembly = app.synth();
    const synthMs = msSince(t1);
    const template = assembly.getStackByName(stack.stackName).template as Template;
    const resourceTypes: Record<string, number> = {};
    for (const r of resources(template)) {
      resourceTypes[r.Type] = (resourceTypes[r.Type] ?? 0) + 1;
    }
    return {
      constructMs,
      synthMs,
      shape: {
        resources: resources(template).length,
        processedResources: variant.processedResources(template),
        templateBytes: JSON.stringify(template).length,
        rotationLambdas: variant.rotationLambdas(template),
        keys: resourceTypes['AWS::KMS::Key'] ?? 0,
        resourceTypes,
      },
    };
  } finally {
    dispose();
  }
}

interface Fit {
  readonly n: number;
  readonly fits: boolean;
  readonly resources?: number;
  readonly templateBytes?: number;
  /** Why it does not fit: over a limit, or the synth error. */
  readonly reason?: string;
}

/** What the search counts: the synthesized template (CDK's check), or the parent stack after the transforms. */
type Count = 'synthesized' | 'processed';

/** Quick: builds the construct tree (no synth) and counts its CloudFormation resources. */
function probe(variant: Variant, n: number, count: Count): Fit {
  let built: ReturnType<typeof buildApp> | undefined;
  try {
    built = buildApp(variant, n);
    const inTree = built.stack.node.findAll().filter(CfnResource.isCfnResource).length;
    const resourceCount = count === 'synthesized' ? inTree : inTree + variant.addedByTransform(built.stack);
    const over = resourceCount > MAX_RESOURCES;
    const what = count === 'processed' ? 'resources after transform' : 'resources';
    return { n, fits: !over, resources: resourceCount, reason: over ? `${resourceCount} ${what} > ${MAX_RESOURCES}` : undefined };
  } catch (err) {
    // An error while building (e.g. the shared function's role is full) also means "does not fit".
    return { n, fits: false, reason: `error: ${(err as Error).message.split('\n')[0]}` };
  } finally {
    built?.dispose();
  }
}

/**
 * The largest N that fits in one stack: doubling, then binary search with the
 * quick count; the answer is then checked with full synths of N and N+1
 * (same resource count as the template, template under 1 MB, synth passes).
 */
function largestFit(variant: Variant, count: Count = 'synthesized'): { readonly max: Fit; readonly next: Fit; readonly probes: readonly Fit[] } {
  const probes: Fit[] = [];
  const check = (n: number) => {
    const fit = probe(variant, n, count);
    probes.push(fit);
    return fit;
  };
  let lo = check(1);
  if (!lo.fits) {
    throw new Error(`${variant.label}: even one secret does not fit in a stack: ${lo.reason}`);
  }
  let hi = check(64);
  while (hi.fits) {
    lo = hi;
    hi = check(hi.n * 2);
  }
  while (hi.n - lo.n > 1) {
    const mid = check(Math.floor((lo.n + hi.n) / 2));
    if (mid.fits) lo = mid; else hi = mid;
  }
  const full = synthOnce(variant, lo.n).shape;
  const fullCount = count === 'synthesized' ? full.resources : full.processedResources;
  if (fullCount !== lo.resources || full.templateBytes > MAX_TEMPLATE_BYTES) {
    throw new Error(`${variant.label} N=${lo.n}: the synthesized template has ${fullCount} resources and ${full.templateBytes} bytes; the quick count said ${lo.resources}`);
  }
  if (hi.resources !== undefined) {
    const next = synthOnce(variant, hi.n).shape;
    const nextCount = count === 'synthesized' ? next.resources : next.processedResources;
    if (nextCount !== hi.resources) {
      throw new Error(`${variant.label} N=${hi.n}: the synthesized template has ${nextCount} resources; the quick count said ${hi.resources}`);
    }
  }
  return { max: { ...lo, templateBytes: full.templateBytes }, next: hi, probes };
}

interface Timed {
  readonly n: number;
  readonly shape: Shape;
  readonly synth: Summary;
  readonly construct: Summary;
  /** Median synth time divided by N. */
  readonly synthPerSecretMs: number;
  readonly fits: boolean;
}

/** RUNS timed synths of each variant at each N, interleaved (every job once per round) to spread drift. */
function timeAll(sizes: ReadonlyArray<{ variant: Variant; n: number }>): Timed[] {
  const samples = sizes.map(() => ({ synth: [] as number[], construct: [] as number[], shape: undefined as Shape | undefined }));
  const order = sizes.map((_, i) => i);
  for (let pass = 0; pass < RUNS; pass++) {
    // Every other round runs backwards, so that no variant always follows the same one.
    (pass % 2 === 0 ? order : [...order].reverse()).forEach(i => {
      const { variant, n } = sizes[i];
      const s = synthOnce(variant, n);
      samples[i].synth.push(s.synthMs);
      samples[i].construct.push(s.constructMs);
      if (samples[i].shape && samples[i].shape!.templateBytes !== s.shape.templateBytes) {
        throw new Error(`${variant.label} N=${n}: the template changed between runs`);
      }
      samples[i].shape = s.shape;
    });
  }
  return sizes.map(({ n }, i) => {
    const shape = samples[i].shape!;
    return {
      n,
      shape,
      synth: summarize(samples[i].synth),
      construct: summarize(samples[i].construct),
      synthPerSecretMs: round(median(samples[i].synth) / n, 4),
      fits: shape.resources <= MAX_RESOURCES && shape.templateBytes <= MAX_TEMPLATE_BYTES,
    };
  });
}

export async function run(log: (line: string) => void): Promise<BenchResult> {
  // Warm-up: load every module and JIT the hot paths once, untimed.
  for (const v of VARIANTS) synthOnce(v, 10);

  log('searching the largest N per stack...');
  const capacity = Object.fromEntries(VARIANTS.map(v => [v.id, largestFit(v)])) as Record<Variant['id'], ReturnType<typeof largestFit>>;
  // HostedRotation's transform adds a nested stack per secret: also search with that count.
  const processedCapacity = Object.fromEntries(VARIANTS.map(v => [v.id, v.id === 'hostedRotation' ? largestFit(v, 'processed') : capacity[v.id]])) as typeof capacity;
  for (const v of VARIANTS) {
    const c = capacity[v.id];
    log(`  ${v.label}: ${c.max.n} (N=${c.next.n}: ${c.next.reason}); ${c.probes.length} probes; after transform ${processedCapacity[v.id].max.n}`);
  }

  log(`timing ${RUNS} synths of each variant at N = ${SIZES.join(', ')} and at its largest N...`);
  const jobs = [
    ...SIZES.flatMap(n => VARIANTS.map(variant => ({ variant, n }))),
    ...VARIANTS.map(variant => ({ variant, n: capacity[variant.id].max.n })),
  ];
  const timed = timeAll(jobs);
  const at = (id: Variant['id'], n: number, atMax = false) => {
    const index = atMax
      ? SIZES.length * VARIANTS.length + VARIANTS.findIndex(v => v.id === id)
      : jobs.findIndex(j => j.variant.id === id && j.n === n);
    return timed[index];
  };
  const mutableTarget = synthOnce(VARIANTS[2], 1, { mutableTarget: true }).shape;

  // --- tables ----------------------------------------------------------------
  const shapeRows = SIZES.map(n => {
    const [o, h, s] = VARIANTS.map(v => at(v.id, n));
    const fmt = (t: Timed) => `${int(t.shape.resources)}${t.fits ? '' : ' ✗'}`;
    return [
      n,
      fmt(o), fmt(h), `${int(h.shape.processedResources)}${h.shape.processedResources > MAX_RESOURCES ? ' ✗' : ''}`, fmt(s),
      kb(o.shape.templateBytes), kb(h.shape.templateBytes), kb(s.shape.templateBytes),
      o.shape.rotationLambdas, h.shape.rotationLambdas, s.shape.rotationLambdas,
      o.shape.keys, h.shape.keys, s.shape.keys,
      ratio(o.shape.resources, h.shape.processedResources), ratio(o.shape.resources, s.shape.resources),
    ];
  });
  const shapeTable = table(
    ['N', 'ours: resources', 'Hosted: resources', 'Hosted: after transform', 'SecretRotation: resources', 'ours: template', 'Hosted: template', 'SecretRotation: template', 'ours: rotation Lambdas', 'Hosted: rotation Lambdas', 'SecretRotation: rotation Lambdas', 'ours: KMS keys', 'Hosted: KMS keys', 'SecretRotation: KMS keys', 'resources ours/Hosted (after transform)', 'resources ours/SecretRotation'],
    shapeRows,
  );

  const timeRows = SIZES.map(n => {
    const [o, h, s] = VARIANTS.map(v => at(v.id, n));
    return [
      n,
      ms(o.synth.median), ms(h.synth.median), ms(s.synth.median),
      ms(o.synthPerSecretMs), ms(h.synthPerSecretMs), ms(s.synthPerSecretMs),
      ratio(o.synthPerSecretMs, h.synthPerSecretMs), ratio(o.synthPerSecretMs, s.synthPerSecretMs),
      ms(o.construct.median), ms(h.construct.median), ms(s.construct.median),
    ];
  });
  const timeTable = table(
    ['N', 'ours: synth', 'Hosted: synth', 'SecretRotation: synth', 'ours: per secret', 'Hosted: per secret', 'SecretRotation: per secret', 'ours/Hosted', 'ours/SecretRotation', 'ours: build', 'Hosted: build', 'SecretRotation: build'],
    timeRows,
  );

  const capacityRows = VARIANTS.map(v => {
    const c = capacity[v.id];
    const t = at(v.id, c.max.n, true);
    return [
      v.label, c.max.n, int(t.shape.resources), int(t.shape.processedResources), kb(t.shape.templateBytes),
      t.shape.rotationLambdas, t.shape.keys, ms(t.synth.median), ms(t.synthPerSecretMs), `N=${c.next.n}: ${c.next.reason}`, processedCapacity[v.id].max.n,
    ];
  });
  const capacityTable = table(
    ['Variant', 'Largest N', 'Resources', 'After transform', 'Template', 'Rotation Lambdas', 'KMS keys', 'Synth (median)', 'Synth per secret', 'First N that does not fit', 'Largest N after transform'],
    capacityRows, 'lrrrrrrrrlr',
  );

  // Marginal resources per secret between N=50 and N=150 (the fixed resources cancel out).
  const marginal = (id: Variant['id']) => (at(id, 150).shape.resources - at(id, 50).shape.resources) / 100;
  const perSecretTypes = (id: Variant['id']) => {
    const a = at(id, 50).shape.resourceTypes;
    const b = at(id, 150).shape.resourceTypes;
    return Object.keys(b).filter(type => (b[type] - (a[type] ?? 0)) > 0)
      .map(type => `${type.replace(/^AWS::/, '')} ×${round((b[type] - (a[type] ?? 0)) / 100, 2)}`).join(', ');
  };
  const fixedOurs = at('ours', 1).shape.resources - 3;

  const oursMax = capacity.ours.max.n;
  const lambdaCounts = [...SIZES.map(n => at('ours', n).shape.rotationLambdas), at('ours', oursMax, true).shape.rotationLambdas];
  const keyCounts = [...SIZES.map(n => at('ours', n).shape.keys), at('ours', oursMax, true).shape.keys];
  const at150 = at('ours', 150);
  const goalSizes = SIZES.filter(n => n >= 50);
  const synthRatios = goalSizes.map(n => at('ours', n).synthPerSecretMs / at('hostedRotation', n).synthPerSecretMs);
  const goals: Goal[] = [
    {
      goal: '≤ 3 resources per rotated secret',
      met: marginal('ours') <= 3,
      measured: `${round(marginal('ours'), 2)} marginal (N 50→150: ${perSecretTypes('ours')}); ${round(at('ours', 150).shape.resources / 150, 2)} per secret at N=150 incl. the fixed ones`,
    },
    {
      goal: 'one rotation function whatever N',
      met: lambdaCounts.every(c => c === 1),
      measured: `${[...new Set(lambdaCounts)].join(', ')} at N = ${[...SIZES, oursMax].join(', ')}`,
    },
    {
      goal: 'one key per stack, without an explicit key',
      met: keyCounts.every(c => c === 1),
      measured: `${[...new Set(keyCounts)].join(', ')} AWS::KMS::Key at N = ${[...SIZES, oursMax].join(', ')}; no key passed`,
    },
    {
      goal: '150 rotated secrets with one function, in one stack, without an explicit key',
      met: at150.fits && at150.shape.rotationLambdas === 1 && at150.shape.keys === 1,
      measured: `N=150: ${int(at150.shape.resources)} resources (${ratio(at150.shape.resources, at('hostedRotation', 150).shape.processedResources)} of HostedRotation's ${int(at('hostedRotation', 150).shape.processedResources)} after its transform, ${ratio(at150.shape.resources, at('secretRotation', 150).shape.resources)} of SecretRotation's ${int(at('secretRotation', 150).shape.resources)}), ${kb(at150.shape.templateBytes)}, ${at150.shape.rotationLambdas} rotation Lambda, ${at150.shape.keys} KMS key`,
    },
    {
      goal: '≥ 150 secrets per stack',
      met: oursMax >= 150,
      measured: `${oursMax} (HostedRotation ${capacity.hostedRotation.max.n}, SecretRotation ${capacity.secretRotation.max.n})`,
    },
    {
      goal: 'synth time per secret no worse than HostedRotation\'s (at N ≥ 50)',
      met: synthRatios.every(r => r <= 1),
      measured: goalSizes.map((n, i) => `${synthRatios[i].toFixed(2)}× at N=${n}`).join(', '),
    },
  ];

  const markdown = [
    '#### Template size and rotation functions',
    '',
    shapeTable,
    '',
    `✗ = does not fit in one stack (> ${MAX_RESOURCES} resources or > ${int(MAX_TEMPLATE_BYTES)} bytes). Template = \`JSON.stringify\` of the synthesized template.`,
    'No key is passed to ours: every secret and the rotation function use the stack\'s default key (`CustomerManagedKey.forStack`); "KMS keys" counts the template\'s AWS::KMS::Key resources (the aws-cdk-lib variants use the AWS-managed key, which costs nothing and cannot be scoped). The ratios compare resource counts (< 1: ours has fewer), HostedRotation after its transform.',
    '"Hosted: after transform" adds the nested stack (AWS::CloudFormation::Stack) in which the AWS::SecretsManager transform places each generated rotation function (AWS docs), i.e. what the parent stack holds once deployed; the CDK resource count and the searches below use the template as synthesized.',
    '',
    'Rotation Lambdas deployed, counting rule:',
    ...VARIANTS.map(v => `- ${v.label}: ${v.lambdaRule}.`),
    '',
    `Resources per secret (N 50→150): ours ${round(marginal('ours'), 2)} (${perSecretTypes('ours')}) plus ${fixedOurs} fixed (the stack's one key, shared by the secrets and the rotation function; the function with its role, log group, dead-letter queue, security group, policies); ` +
    `HostedRotation ${round(marginal('hostedRotation'), 2)} (${perSecretTypes('hostedRotation')}); SecretRotation ${round(marginal('secretRotation'), 2)} (${perSecretTypes('secretRotation')}). ` +
    `The SecretRotation target is an immutable imported security group; with a mutable one it adds an EC2::SecurityGroupIngress per secret (${mutableTarget.resources} resources for N=1). ` +
    'ours also encrypts every secret with the customer-managed key and adds a resource policy; the aws-cdk-lib variants use the AWS-managed key.',
    '',
    `#### Synth time (median of ${RUNS} runs of \`app.synth()\` on a fresh app)`,
    '',
    timeTable,
    '',
    '"per secret" = median synth time / N; ratios < 1 mean ours is faster per secret. "build" = constructing the App and its constructs (median, not part of the synth time). ' +
    'All variants and sizes take turns within each round (every other round in reverse order), after one untimed warm-up synth per variant; forcing a garbage collection before each synth was tried and dropped (it made every synth slower). ' +
    'ours\' synth includes staging the rotation handler asset; N=1 and N=10 are dominated by its one-off function, key and asset. ' +
    'The stacks are synthesized with CDK\'s 500-resource check off so that stacks over the limit can be measured. ' +
    `Spread of the ${RUNS} runs at N=150 (min – max): ${VARIANTS.map(v => `${v.label} ${ms(at(v.id, 150).synth.min)} – ${ms(at(v.id, 150).synth.max)}`).join(', ')}.`,
    '',
    '#### Largest N in one stack',
    '',
    capacityTable,
    '',
    `Found by doubling from 64 and then binary search over N, counting the CloudFormation resources of the construct tree (no synth; fits = no error and ≤ ${MAX_RESOURCES} resources), ` +
    `checked by full synths of N (same count, template ≤ ${int(MAX_TEMPLATE_BYTES)} bytes) and N+1, then timed like the rows above (${RUNS} runs). ` +
    '"Largest N after transform" searches again counting the parent stack\'s resources once the transforms have run (HostedRotation: + one nested stack per secret); CloudFormation applies its quota to the processed template.',
  ].join('\n');

  return {
    id: 'secretsPerStack',
    title: 'Rotated secrets per stack',
    markdown,
    goals,
    data: {
      runs: RUNS,
      limits: { maxResources: MAX_RESOURCES, maxTemplateBytes: MAX_TEMPLATE_BYTES },
      countingRules: Object.fromEntries(VARIANTS.map(v => [v.id, v.lambdaRule])),
      bySize: SIZES.map(n => ({ n, ...Object.fromEntries(VARIANTS.map(v => [v.id, at(v.id, n)])) })),
      largest: Object.fromEntries(VARIANTS.map(v => [v.id, {
        ...capacity[v.id], timed: at(v.id, capacity[v.id].max.n, true), afterTransform: processedCapacity[v.id].max.n,
      }])),
      marginalResourcesPerSecret: Object.fromEntries(VARIANTS.map(v => [v.id, marginal(v.id)])),
      secretRotationWithMutableTargetN1: mutableTarget,
    },
  };
}
