/**
 * KeysAndSecretsReport on the example app and on the 150-secret benchmark
 * stack: the access map against the dev-only simulator on every principal,
 * action and request context the map evaluated; the cost figures against
 * values computed by hand; the files in the cloud assembly.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { allowedContextKeysForRequest } from '@cloud-copilot/iam-simulate';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { DataStack, KeysStack } from '../../examples/app';
import { CustomerManagedKey, DatabaseEngine, KeysAndSecretsReport, ManagedSecret, Rotation } from '../../src';
import { evaluate } from '../../src/report/evaluator';
import { simulate } from '../support/iam-eval';

// examples/app.ts imports the compiled package (../lib); here it gets the sources, so `instanceof` holds.
jest.mock('../../lib', () => jest.requireActual('../../src'), { virtual: true });

const dirs: string[] = [];
afterAll(() => dirs.forEach(d => rmSync(d, { recursive: true, force: true })));
function outdir(): string {
  const d = mkdtempSync(join(tmpdir(), 'kmssec-report-'));
  dirs.push(d);
  return d;
}

function exampleApp(props = {}) {
  const app = new App({ outdir: outdir() });
  const env = { account: '111111111111', region: 'eu-west-1' };
  const keys = new KeysStack(app, 'PaymentsKeys', { env });
  new DataStack(app, 'PaymentsData', { env, key: keys.key });
  const report = new KeysAndSecretsReport(app, 'Report', { printSummary: false, ...props });
  const assembly = app.synth();
  return { app, report, assembly, last: report._last! };
}

describe('the example app', () => {
  const { assembly, last } = exampleApp({ renderSvg: true });

  test('writes the JSON, the Markdown (with a Mermaid diagram) and the SVG beside the templates', () => {
    for (const f of ['keys-and-secrets.json', 'keys-and-secrets.md', 'keys-and-secrets.svg']) expect(existsSync(join(assembly.directory, f))).toBe(true);
    expect(existsSync(join(assembly.directory, 'PaymentsKeys.template.json'))).toBe(true);
    const md = readFileSync(join(assembly.directory, 'keys-and-secrets.md'), 'utf-8');
    expect(md).toContain('```mermaid\nflowchart LR');
    expect(md).toContain('What this map cannot know');
    expect(readFileSync(join(assembly.directory, 'keys-and-secrets.svg'), 'utf-8')).toMatch(/^<\?xml[\s\S]*<svg[\s\S]*PaymentsKeys\/PaymentsKey\/Resource/);
    const json = JSON.parse(readFileSync(join(assembly.directory, 'keys-and-secrets.json'), 'utf-8'));
    const key = json.keys.find((k: any) => k.path === 'PaymentsKeys/PaymentsKey/Resource');
    expect(key.administrators).toContain('PaymentsKeys/PlatformKeyAdmin/Resource');
    expect(key.users['kms:Decrypt'].map((u: any) => u.principal)).toContain('PaymentsKeys/PaymentsApp/Resource');
    expect(key.users['kms:Decrypt'].map((u: any) => u.principal)).not.toContain('PaymentsKeys/PlatformKeyAdmin/Resource');
    const secret = json.secrets.find((x: any) => x.path === 'PaymentsData/Payments/PaymentsAppSecret/Resource');
    expect(secret.read.map((r: any) => r.principal)).toEqual(expect.arrayContaining([
      'PaymentsData/PaymentsConsumer/Role/Resource',
      expect.stringMatching(/^PaymentsData\/RotationFunctionpostgresSingleUser[0-9A-F]{8}\/Role\/Resource$/),
      expect.stringMatching(/^PaymentsData\/DatabaseUserFunctionpostgres[0-9A-F]{8}\/Role\/Resource$/),
    ]));
    expect(key.ours).toBe(true);
    expect(key.lacks).toEqual([]);
  });

  // The example has its database now (131 resources): thousands of simulated requests; slow on a loaded 2-core machine.
  test('the access map lists exactly what IAM evaluation (iam-simulate) allows, for every principal, action and context', async () => {
    const map = last.map;
    const disagreements: string[] = [];
    const simAllowed = new Set<string>();
    let compared = 0;
    for (const r of map.requests) {
      if (r.decision === 'NotUnderstood') {
        disagreements.push(`not understood: ${r.principal.name} ${r.action} ${r.resource}`);
        continue;
      }
      const [service, action] = r.action.split(':');
      const allowed = new Set((await allowedContextKeysForRequest(service, action, r.resource, false, undefined)).map(k => k.toLowerCase()));
      const context = Object.fromEntries(Object.entries(r.scenario.context).filter(([k]) =>
        allowed.has(k.toLowerCase()) || (/^kms:encryptioncontext:/i.test(k) && allowed.has('kms:encryptioncontext:${encryptioncontextkey}'))));
      // Ours on the same (filtered) context must equal what the map recorded, and the simulator must agree.
      const ours = evaluate({ ...r.request, context });
      if (ours !== r.decision) disagreements.push(`context filter changes our decision: ${r.principal.name} ${r.action} ${r.scenario.label}`);
      if (r.principal.service) continue; // the simulator takes IAM principals only; services are covered by evaluator.test.ts
      const principalKeys: Record<string, string> = { 'aws:PrincipalArn': r.principal.arn, 'aws:PrincipalAccount': r.principal.account! };
      if (service === 'kms') principalKeys['kms:CallerAccount'] = r.principal.account!;
      const theirs = await simulate({
        principalArn: r.principal.arn,
        action: r.action,
        resourceArn: r.resource,
        identityPolicies: r.principal.identityPolicies as any,
        resourcePolicy: r.request.resourcePolicy as any,
        context: { ...context, ...principalKeys },
      });
      compared++;
      if (theirs !== r.decision) disagreements.push(`${r.principal.name} ${r.action} on ${r.resource} (${r.scenario.label}): map ${r.decision}, simulator ${theirs}`);
      if (theirs === 'Allowed') simAllowed.add(`${r.resource}|${r.action}|${r.principal.name}`);
    }
    expect(disagreements).toEqual([]);
    expect(compared).toBeGreaterThan(1000);
    // The map's listing is exactly the allowed set (secret reads and writes also need the key, checked above as KMS requests).
    const listed = new Set<string>();
    for (const [resource, entries] of map.entries) {
      for (const e of entries) {
        if (e.decision === 'Allowed' && e.kind !== 'service') listed.add(`${resource}|${e.action}|${e.principal}`);
      }
    }
    const keyArns = new Set(map.keys.map(k => k.arn));
    const secretPart = (s: string) => !keyArns.has(s.split('|')[0]);
    const simKeys = [...simAllowed].filter(s => !secretPart(s)).sort();
    expect([...listed].filter(s => !secretPart(s)).sort()).toEqual(simKeys);
    // Secrets: allowed by Secrets Manager, and (read, write) by the key through Secrets Manager.
    const expectedSecrets = [...simAllowed].filter(secretPart).filter(s => {
      const [resource, action, principal] = s.split('|');
      const secret = map.secrets.find(x => x.arn === resource)!;
      const kmsAction = action === 'secretsmanager:GetSecretValue' ? 'kms:Decrypt' : action === 'secretsmanager:PutSecretValue' ? 'kms:GenerateDataKey' : undefined;
      if (!kmsAction || !secret.key) return true;
      return map.requests.some(r => r.resource === secret.key!.arn && r.action === kmsAction && r.principal.name === principal && r.scenario.label === 'through Secrets Manager' && simAllowed.has(`${secret.key!.arn}|${kmsAction}|${principal}`) && r.decision === 'Allowed');
    }).sort();
    expect([...listed].filter(secretPart).sort()).toEqual(expectedSecrets);
  }, 900_000);

  test('cost figures equal the hand-computed values', () => {
    const c = last.cost;
    // 1 key × $1 (the payments key: the rotation and provisioning functions use it too) + 3 secrets × $0.40
    // (the master, payments_app, reporting)
    // rotation every 30 days: 3 rotations/month × 8 Secrets Manager calls = 24 calls → 24 / 10,000 × $0.05 = $0.00012
    // the DatabaseUser provisioning function serves a custom resource: it reads at deploy time only, not counted
    // the consumer: 5 reserved environments × 2,592,000 s / 300 s = 43,200 GetSecretValue → $0.216
    // KMS: 3 × 3 (rotation) + 43,200 (one Decrypt per read) = 43,209 → × $0.03 / 10,000 = $0.129627
    // Lambda: 12 invocations → 12 / 1e6 × $0.20 = $0.0000024; 12 × 2 s × 0.25 GB = 6 GB-s × $0.0000166667 = $0.0001000002
    const lambda = 0.0000024 + 0.0001000002;
    const expected = 1 + 1.2 + 0.00012 + 0.216 + 0.129627 + lambda;
    expect(c.totalMonthOne).toBeCloseTo(expected, 9);
    expect(c.kmsRequests).toBe(43_209);
    expect(c.secretsManagerCalls).toBe(43_224);
    expect(c.waste.some(w => /DatabaseUser/.test(w))).toBe(false);
    // After the charged rotations: + 2 × $1 on the one key.
    expect(c.totalSteadyState).toBeCloseTo(expected + 2, 9);
    // Free tiers: 20,000 KMS requests ($0.06) and all the Lambda cost.
    expect(c.totalAfterFreeTier).toBeCloseTo(expected - 0.06 - lambda, 9);
    expect(c.waste.some(w => /rotates every 30 days; the required period is 90 days/.test(w))).toBe(true);
    for (const l of c.lines) expect(l.computation.length).toBeGreaterThan(0);
  });

  test('the SVG is rendered only when asked for', () => {
    const { assembly: a, last: l } = exampleApp();
    expect(existsSync(join(a.directory, 'keys-and-secrets.md'))).toBe(true);
    expect(existsSync(join(a.directory, 'keys-and-secrets.svg'))).toBe(false);
    expect(l.markdown).toContain('```mermaid\nflowchart LR');
    expect(l.markdown).not.toContain('keys-and-secrets.svg');
  });

  test('prices can be overridden', () => {
    const { last: l } = exampleApp({ prices: { kmsKeyPerMonth: 2, asOf: '2030-01-01' }, renderSvg: false });
    expect(l.cost.totalMonthOne).toBeCloseTo(last.cost.totalMonthOne + 1, 9); // one key, $1 more
    expect(l.markdown).toContain('Prices as of 2030-01-01');
  });
});

test('the 150-secret benchmark stack: cost per secret against the hand-computed value', () => {
  const app = new App({ outdir: outdir(), context: { '@aws-cdk/core:stackResourceLimit': 0 } });
  const stack = new Stack(app, 'RotatedSecrets');
  const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['us-east-1a', 'us-east-1b'], privateSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0aaaaaaaaaaaaaaa2'] });
  const key = new CustomerManagedKey(stack, 'Key');
  const rotation = Rotation.postgresSingleUser({ vpc });
  for (let i = 0; i < 150; i++) {
    new ManagedSecret(stack, `Secret${i}`, { encryptionKey: key, credentials: { engine: DatabaseEngine.POSTGRES, host: 'db.cluster-abc.us-east-1.rds.amazonaws.com', username: `app${i}`, dbname: 'app' }, rotation });
  }
  const report = new KeysAndSecretsReport(app, 'Report', { printSummary: false, renderSvg: false });
  app.synth();
  const c = report._last!.cost;
  const days = report._last!.map.secrets[0].rotationDays!;
  expect(report._last!.map.secrets.every(s => s.rotationDays === days)).toBe(true);
  // 2 keys (the shared one and the rotation function's) × $1 + 150 × $0.40 = $62
  // rotations: 150 × 30 / days; each 8 Secrets Manager calls, 3 KMS requests, 4 invocations of 2 s at 0.25 GB.
  const rotations = 150 * 30 / days;
  const expected = 2 + 150 * 0.4
    + rotations * 8 / 10_000 * 0.05 + rotations * 3 / 10_000 * 0.03
    + rotations * 4 / 1e6 * 0.2 + rotations * 4 * 2 * 0.25 * 0.0000166667;
  expect(report._last!.map.keys).toHaveLength(2);
  expect(c.totalMonthOne).toBeCloseTo(expected, 9);
  expect(c.perSecret).toBeCloseTo(expected / 150, 9);
});

test('a plain kms.Key and Secret are reported, with what they lack', () => {
  const app = new App({ outdir: outdir() });
  const stack = new Stack(app, 'Plain', { env: { account: '111111111111', region: 'eu-west-1' } });
  new kms.Key(stack, 'Key');
  new secretsmanager.Secret(stack, 'Secret');
  const report = new KeysAndSecretsReport(app, 'Report', { printSummary: false, renderSvg: false });
  app.synth();
  const json = report._last!.json as any;
  expect(json.keys[0].lacks).toEqual(expect.arrayContaining([expect.stringMatching(/not a CustomerManagedKey/), expect.stringMatching(/rotation is off/), expect.stringMatching(/kms:\* to an account root/)]));
  expect(json.secrets[0].lacks).toEqual(expect.arrayContaining([expect.stringMatching(/AWS managed key/), 'no rotation schedule', expect.stringMatching(/no resource policy/)]));
  expect(json.keys[0].accounts).toEqual(['any principal of account 111111111111 whose IAM policy allows it']);
});

test('the report must be created on the app', () => {
  const app = new App();
  const stack = new Stack(app, 'S');
  expect(() => new KeysAndSecretsReport(stack, 'R')).toThrow(/\[cdk-kms-secrets\] KeysAndSecretsReport.scope: .* Fix: /);
  expect(() => new KeysAndSecretsReport(app, 'R', { readerRequestsPerSecond: -1 })).toThrow(/KeysAndSecretsReport.readerRequestsPerSecond/);
});
