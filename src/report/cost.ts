/**
 * The monthly cost estimate: every figure with the computation that gave
 * it, from the price table (prices.ts) and what the synthesized app says
 * (keys, replicas, rotation schedules, readers and their cache TTL). Also
 * the waste flags. Internal module.
 */
import { AccessMap } from './access-map';
import { AppModel, resolveValue } from './model';
import { PriceTable, ROTATION_MODEL } from './prices';

export interface CostLine {
  readonly item: string;
  readonly quantity: number;
  readonly unit: string;
  /** Dollars per month, rounded to the cent only for display. */
  readonly monthly: number;
  readonly computation: string;
}

export interface CostInputs {
  readonly readerRequestsPerSecond: number;
  readonly readerEnvironments?: number;
  readonly envelopeOperationsPerMonth: number;
  readonly requiredRotationDays: number;
}

export interface Reader {
  readonly function: string;
  readonly role: string;
  readonly secret: string;
  readonly cacheTtlSeconds?: number;
  readonly environments: number;
}

export interface CostEstimate {
  readonly lines: CostLine[];
  /** Before free tiers, month 1. */
  readonly totalMonthOne: number;
  /** With every key past its surcharged rotations. */
  readonly totalSteadyState: number;
  /** After the KMS and Lambda free tiers, month 1, if nothing else in the account uses them. */
  readonly totalAfterFreeTier: number;
  readonly perSecret: number;
  readonly readers: Reader[];
  readonly waste: string[];
  readonly kmsRequests: number;
  readonly secretsManagerCalls: number;
}

const MONTH_SECONDS = ROTATION_MODEL.daysPerMonth * 86_400;

const usd = (n: number) => `$${n < 0.01 && n > 0 ? n.toFixed(6) : n.toFixed(2)}`;
// One formatter each, made once: `toLocaleString` with a locale builds a new one on every call.
const INTEGER = new Intl.NumberFormat('en-US');
const DECIMAL = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const num = (n: number) => Number.isInteger(n) ? INTEGER.format(n) : DECIMAL.format(n);

/** Lambda functions that read a secret: their role, and the extension's cache TTL if any. */
export function findReaders(model: AppModel, map: AccessMap, inputs: CostInputs): Reader[] {
  const out: Reader[] = [];
  for (const s of model.stacks) {
    const resources = Object.entries(s.template.Resources ?? {});
    // A function that serves a custom resource (DatabaseUser's provisioning function, say) reads at
    // deploy time only: it is not a runtime reader.
    const deployTimeOnly = new Set<string>();
    for (const [, r] of resources) {
      if (!(r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource')) continue;
      const token = r.Properties?.ServiceToken;
      const target = token?.['Fn::GetAtt']?.[0];
      if (typeof target === 'string') deployTimeOnly.add(target);
    }
    for (const [id, r] of resources) {
      if (r.Type !== 'AWS::Lambda::Function' || deployTimeOnly.has(id)) continue;
      const roleArn = resolveValue(s, r.Properties?.Role, model);
      const role = map.principals.find(p => p.arn === roleArn);
      if (!role) continue;
      const env = (resolveValue(s, r.Properties?.Environment?.Variables, model) ?? {}) as Record<string, string>;
      const cached = env.PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED === 'true';
      const ttl = cached ? Number(env.SECRETS_MANAGER_TTL ?? 300) : undefined;
      const reserved = typeof r.Properties?.ReservedConcurrentExecutions === 'number' ? r.Properties.ReservedConcurrentExecutions : undefined;
      // A rotation function reads the secrets it rotates, but is not a reader (once per function, not per secret).
      if (map.secrets.some(x => x.rotationLambda !== undefined && x.rotationLambda.includes(id))) continue;
      for (const secret of map.secrets) {
        const reads = (map.entries.get(secret.arn) ?? []).some(e => e.principal === role.name && e.action === 'secretsmanager:GetSecretValue' && e.decision === 'Allowed');
        if (reads) {
          out.push({
            function: s.paths.get(id) ?? id,
            role: role.name,
            secret: secret.path,
            cacheTtlSeconds: ttl,
            environments: inputs.readerEnvironments ?? reserved ?? 1,
          });
        }
      }
    }
  }
  return out;
}

export function estimateCost(model: AppModel, map: AccessMap, prices: PriceTable, inputs: CostInputs): CostEstimate {
  const lines: CostLine[] = [];
  const waste: string[] = [];
  let surchargeSteady = 0;

  for (const key of map.keys) {
    lines.push({ item: `key ${key.path}`, quantity: 1, unit: 'key', monthly: prices.kmsKeyPerMonth, computation: `1 key × ${usd(prices.kmsKeyPerMonth)}` });
    if (key.replicas > 0) {
      lines.push({ item: `replicas of ${key.path}`, quantity: key.replicas, unit: 'replica key', monthly: key.replicas * prices.kmsKeyPerMonth, computation: `${key.replicas} replica keys × ${usd(prices.kmsKeyPerMonth)}` });
    }
    if (key.rotation) {
      const max = prices.kmsRotationSurchargeMaxRotations * prices.kmsRotationSurchargePerMonth * (1 + key.replicas);
      surchargeSteady += max;
      lines.push({
        item: `rotation surcharge of ${key.path}`,
        quantity: 0,
        unit: 'rotation',
        monthly: 0,
        computation: `rotates every ${key.rotationDays} days: ${usd(0)} in month 1, +${usd(prices.kmsRotationSurchargePerMonth)}/month per key after day ${key.rotationDays}, ` +
          `+${usd(max)}/month after day ${(key.rotationDays ?? 365) * prices.kmsRotationSurchargeMaxRotations} (the first ${prices.kmsRotationSurchargeMaxRotations} rotations are charged, later ones free)`,
      });
    }
  }

  let smCalls = 0;
  let kmsCalls = 0;
  let invocations = 0;
  for (const secret of map.secrets) {
    const copies = 1 + secret.replicas;
    lines.push({ item: `secret ${secret.path}`, quantity: copies, unit: 'secret', monthly: copies * prices.secretPerMonth, computation: `${copies === 1 ? '1 secret' : `1 secret + ${secret.replicas} replicas`} × ${usd(prices.secretPerMonth)}` });
    if (secret.rotationDays !== undefined) {
      const rotations = ROTATION_MODEL.daysPerMonth / secret.rotationDays;
      smCalls += rotations * ROTATION_MODEL.secretsManagerCalls;
      if (secret.key) kmsCalls += rotations * ROTATION_MODEL.kmsCalls;
      invocations += rotations * ROTATION_MODEL.invocations;
      if (secret.rotationDays < inputs.requiredRotationDays) {
        waste.push(`${secret.path} rotates every ${num(secret.rotationDays)} days; the required period is ${inputs.requiredRotationDays} days: rotating at ${inputs.requiredRotationDays} would take ${num(rotations * ROTATION_MODEL.invocations)} → ${num(ROTATION_MODEL.daysPerMonth / inputs.requiredRotationDays * ROTATION_MODEL.invocations)} rotation invocations a month (and the database logins with them).`);
      }
    }
  }
  if (invocations > 0) {
    const rotations = invocations / ROTATION_MODEL.invocations;
    lines.push({
      item: 'rotation: Secrets Manager calls',
      quantity: rotations * ROTATION_MODEL.secretsManagerCalls,
      unit: 'call',
      monthly: rotations * ROTATION_MODEL.secretsManagerCalls / 10_000 * prices.secretsManagerCallsPer10k,
      computation: `${num(rotations)} rotations × ${ROTATION_MODEL.secretsManagerCalls} calls / 10,000 × ${usd(prices.secretsManagerCallsPer10k)}`,
    });
  }

  const readers = findReaders(model, map, inputs);
  for (const r of readers) {
    const secret = map.secrets.find(s => s.path === r.secret)!;
    const calls = r.cacheTtlSeconds !== undefined
      ? r.environments * MONTH_SECONDS / r.cacheTtlSeconds
      : inputs.readerRequestsPerSecond * MONTH_SECONDS;
    const how = r.cacheTtlSeconds !== undefined
      ? `${r.environments} execution environment(s) × ${num(MONTH_SECONDS)} s / ${r.cacheTtlSeconds} s cache TTL`
      : `no cache: ${inputs.readerRequestsPerSecond} request(s)/s × ${num(MONTH_SECONDS)} s`;
    smCalls += calls;
    if (secret.key) kmsCalls += calls;
    lines.push({ item: `reads of ${r.secret} by ${r.function}`, quantity: calls, unit: 'GetSecretValue', monthly: calls / 10_000 * prices.secretsManagerCallsPer10k, computation: `${how} = ${num(calls)} calls / 10,000 × ${usd(prices.secretsManagerCallsPer10k)}${secret.key ? ' (each also one KMS Decrypt, below)' : ''}` });
    if (r.cacheTtlSeconds === undefined) {
      waste.push(`${r.function} reads ${r.secret} without a cache: ${num(calls)} calls a month; addLambdaReader (5-minute cache) would make it ${num(r.environments * MONTH_SECONDS / 300)}.`);
    }
  }

  if (inputs.envelopeOperationsPerMonth > 0) {
    kmsCalls += inputs.envelopeOperationsPerMonth;
    lines.push({ item: 'envelope encryption: data-key calls', quantity: inputs.envelopeOperationsPerMonth, unit: 'KMS request', monthly: 0, computation: `${num(inputs.envelopeOperationsPerMonth)} expected operations × 1 GenerateDataKey or Decrypt (counted in KMS requests below)` });
  }
  if (kmsCalls > 0) {
    lines.push({ item: 'KMS requests', quantity: kmsCalls, unit: 'request', monthly: kmsCalls / 10_000 * prices.kmsRequestsPer10k, computation: `${num(kmsCalls)} requests / 10,000 × ${usd(prices.kmsRequestsPer10k)} (before the ${num(prices.kmsFreeRequestsPerMonth)} free requests a month)` });
  }
  let lambdaMonthly = 0;
  let gbSeconds = 0;
  if (invocations > 0) {
    gbSeconds = invocations * ROTATION_MODEL.secondsPerInvocation * 0.25;
    lambdaMonthly = invocations / 1e6 * prices.lambdaRequestsPerMillion + gbSeconds * prices.lambdaGbSecond;
    lines.push({
      item: 'rotation function (Lambda)',
      quantity: invocations,
      unit: 'invocation',
      monthly: lambdaMonthly,
      computation: `${num(invocations)} invocations / 1M × ${usd(prices.lambdaRequestsPerMillion)} + ${num(invocations)} × ${ROTATION_MODEL.secondsPerInvocation} s × 0.25 GB = ${num(gbSeconds)} GB-s × ${usd(prices.lambdaGbSecond)}`,
    });
  }

  // A key per secret where one would do: keys of the app that protect exactly one secret each.
  const single = map.keys.filter(k => map.secrets.filter(s => s.key === k).length === 1);
  if (single.length > 1) {
    waste.push(`${single.length} keys each protect a single secret (${single.map(k => k.path).join(', ')}): one key with per-secret encryption context would do, saving ${usd((single.length - 1) * prices.kmsKeyPerMonth)}/month.`);
  }

  const totalMonthOne = sum(lines.map(l => l.monthly));
  const freeKms = Math.min(kmsCalls, prices.kmsFreeRequestsPerMonth) / 10_000 * prices.kmsRequestsPer10k;
  const freeLambda = Math.min(lambdaMonthly,
    Math.min(invocations, prices.lambdaFreeRequestsPerMonth) / 1e6 * prices.lambdaRequestsPerMillion
    + Math.min(gbSeconds, prices.lambdaFreeGbSecondsPerMonth) * prices.lambdaGbSecond);
  return {
    lines,
    totalMonthOne,
    totalSteadyState: totalMonthOne + surchargeSteady,
    totalAfterFreeTier: totalMonthOne - freeKms - freeLambda,
    perSecret: map.secrets.length > 0 ? totalMonthOne / map.secrets.length : 0,
    readers,
    waste,
    kmsRequests: kmsCalls,
    secretsManagerCalls: smCalls,
  };
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

export { usd, num };
