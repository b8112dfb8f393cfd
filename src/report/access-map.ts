/**
 * The access map: for every key and secret of the app, which principal may
 * call which action, under which request conditions, through which policy,
 * computed by evaluating the synthesized policies (evaluator.ts) for every
 * principal the app knows of. Internal module.
 */
import { conditionKeysFor, contextSignature, evaluateParts, EvalDecision, EvalParts, EvalPolicy, EvalPrincipal, EvalRequest } from './evaluator';
import { AppModel, CfnRes, keyArn, resolveValue, roleName, secretArn, StackModel } from './model';
import { kmsAction, keyResourceActions } from '../keys/kms-actions';
import { normalizeStatement, StatementJson } from '../keys/normalize';

/** A principal the map evaluates. */
export interface MapPrincipal extends EvalPrincipal {
  /** Construct path for a role of the app, else the ARN, the service, or the delegation sentence. */
  readonly name: string;
  readonly kind: 'app-role' | 'external' | 'service' | 'account';
  readonly identityPolicies: EvalPolicy[];
  /** Managed policies attached whose documents are not in the app. */
  readonly unknownPolicies: string[];
}

/** A request context the map tries, with how to say it. */
export interface Scenario {
  readonly label: string;
  readonly context: Record<string, string | string[]>;
}

export interface KeyModel {
  readonly stack: StackModel;
  readonly logicalId: string;
  readonly path: string;
  readonly arn: string;
  readonly policy: EvalPolicy;
  readonly rotation: boolean;
  readonly rotationDays?: number;
  readonly multiRegion: boolean;
  readonly replicas: number;
  readonly ours: boolean;
}

export interface SecretModel {
  readonly stack: StackModel;
  readonly logicalId: string;
  readonly path: string;
  readonly arn: string;
  readonly key?: KeyModel;
  /** `aws/secretsmanager` or what the KmsKeyId says when it is not a key of the app. */
  readonly keyDescription: string;
  readonly policy?: EvalPolicy;
  readonly rotationDays?: number;
  readonly rotationLambda?: string;
  readonly hosted: boolean;
  readonly replicas: number;
  readonly ours: boolean;
}

/** One allowed (or not understood) request. */
export interface AccessEntry {
  readonly principal: string;
  readonly kind: MapPrincipal['kind'];
  readonly action: string;
  readonly scenario: string;
  readonly decision: EvalDecision;
  /** The policies that grant it. */
  readonly through: string[];
}

export interface EvaluatedRequest {
  readonly resource: string;
  readonly principal: MapPrincipal;
  readonly action: string;
  readonly scenario: Scenario;
  readonly request: EvalRequest;
  readonly decision: EvalDecision;
}

export interface AccessMap {
  readonly principals: MapPrincipal[];
  readonly keys: KeyModel[];
  readonly secrets: SecretModel[];
  /** By resource ARN: the allowed and not-understood entries. */
  readonly entries: Map<string, AccessEntry[]>;
  /** Every request evaluated (for the tests that check the map against a simulator). */
  readonly requests: EvaluatedRequest[];
  /** Key-policy statements the project normalizer refuses, by key ARN. */
  readonly refused: Map<string, string[]>;
}

export const SECRET_ACTIONS: Record<string, string[]> = {
  'read': ['secretsmanager:GetSecretValue'],
  'write': ['secretsmanager:PutSecretValue'],
  'rotate': ['secretsmanager:RotateSecret'],
  'delete': ['secretsmanager:DeleteSecret'],
  'change policy': ['secretsmanager:PutResourcePolicy', 'secretsmanager:DeleteResourcePolicy'],
};

const ANY = (account: string) => `AnyPrincipalOfAccount${account}`;
const ALLOW_ALL: EvalPolicy = { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
const REQUEST_KEY = /^(kms:viaservice|kms:encryptioncontext:.+|kms:grantisforawsresource|secretsmanager:versionstage|aws:viaawsservice)$/i;

function docs(v: unknown): EvalPolicy {
  return (v ?? {}) as EvalPolicy;
}

/** A template's resources by type, in template order, indexed once per template. */
const BY_TYPE = new WeakMap<object, Map<string, Array<[string, CfnRes]>>>();

function resourcesOf(s: StackModel, type: string): Array<[string, CfnRes]> {
  let byType = BY_TYPE.get(s.template);
  if (!byType) {
    byType = new Map();
    for (const entry of Object.entries(s.template.Resources ?? {})) {
      const found = byType.get(entry[1].Type);
      if (found) found.push(entry); else byType.set(entry[1].Type, [entry]);
    }
    BY_TYPE.set(s.template, byType);
  }
  return byType.get(type) ?? [];
}

/** Construct paths of the L1s that our constructs made; filled by the report construct. */
export const OURS = new Set<string>();

export function collectPrincipals(model: AppModel, policies: EvalPolicy[]): MapPrincipal[] {
  const out: MapPrincipal[] = [];
  const seen = new Set<string>();
  const managed = new Map<string, EvalPolicy>();
  for (const s of model.stacks) {
    for (const [id, r] of resourcesOf(s, 'AWS::IAM::ManagedPolicy')) managed.set(`{${s.name}.${id}}`, docs(resolveValue(s, r.Properties?.PolicyDocument, model)));
  }
  const attached = new Map<string, EvalPolicy[]>();
  for (const s of model.stacks) {
    for (const [, r] of [...resourcesOf(s, 'AWS::IAM::Policy'), ...resourcesOf(s, 'AWS::IAM::ManagedPolicy')]) {
      const roles = resolveValue(s, r.Properties?.Roles ?? [], model) as unknown[];
      const doc = docs(resolveValue(s, r.Properties?.PolicyDocument, model));
      for (const name of roles) {
        if (typeof name === 'string') attached.set(name, [...attached.get(name) ?? [], doc]);
      }
    }
  }
  const arnsByName = new Map<string, string>();
  for (const [a, name] of model.roleNames) if (!arnsByName.has(name)) arnsByName.set(name, a);
  for (const s of model.stacks) {
    for (const [id, r] of resourcesOf(s, 'AWS::IAM::Role')) {
      const arn = arnsByName.get(s.paths.get(id) ?? `${s.name}/${id}`)!;
      const identityPolicies: EvalPolicy[] = [];
      for (const p of (r.Properties?.Policies ?? []) as Array<{ PolicyDocument: unknown }>) {
        identityPolicies.push(docs(resolveValue(s, p.PolicyDocument, model)));
      }
      identityPolicies.push(...attached.get(roleName(s, id, r)) ?? []);
      const unknownPolicies: string[] = [];
      for (const m of resolveValue(s, r.Properties?.ManagedPolicyArns ?? [], model) as unknown[]) {
        const doc = typeof m === 'string' ? managed.get(m) : undefined;
        if (doc) {
          if (!identityPolicies.includes(doc)) identityPolicies.push(doc);
        } else {
          unknownPolicies.push(String(m));
        }
      }
      seen.add(arn);
      out.push({ arn, account: s.account, name: model.roleNames.get(arn)!, kind: 'app-role', identityPolicies, unknownPolicies });
    }
  }
  // Principals named in resource policies that are not roles of the app.
  for (const p of policies) {
    for (const st of list(p.Statement)) {
      const principal = st.Principal;
      if (!principal || typeof principal !== 'object') continue;
      for (const [type, value] of Object.entries(principal as Record<string, unknown>)) {
        for (const v of list(value)) {
          if (typeof v !== 'string') continue;
          if (type === 'Service' && !seen.has(`service:${v}`)) {
            seen.add(`service:${v}`);
            out.push({ arn: v, service: v, name: `service ${v}`, kind: 'service', identityPolicies: [], unknownPolicies: [] });
          } else if (type === 'AWS') {
            const account = /^\d{12}$|^\{ACCOUNT\}$/.test(v) ? v : /^arn:aws:iam::([^:]+):root$/.exec(v)?.[1];
            if (account) {
              const arn = `arn:aws:iam::${account}:role/${ANY(account)}`;
              if (!seen.has(arn)) {
                seen.add(arn);
                out.push({ arn, account, name: `any principal of account ${account} whose IAM policy allows it`, kind: 'account', identityPolicies: [ALLOW_ALL], unknownPolicies: [] });
              }
            } else if (v !== '*' && !seen.has(v)) {
              seen.add(v);
              out.push({ arn: v, account: v.split(':')[4], name: v, kind: 'external', identityPolicies: [ALLOW_ALL], unknownPolicies: ['(its IAM policies are outside the app: assumed to allow)'] });
            }
          }
        }
      }
    }
  }
  return out;
}

function list<T = any>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The request contexts one policy's statements name, in statement order (computed once per policy). */
const POLICY_SCENARIOS = new WeakMap<EvalPolicy, Array<[string, Record<string, string | string[]>]>>();

function policyScenarios(p: EvalPolicy): Array<[string, Record<string, string | string[]>]> {
  let found = POLICY_SCENARIOS.get(p);
  if (found) return found;
  found = [];
  for (const st of list(p.Statement)) {
    const ctx: Record<string, string | string[]> = {};
    for (const [op, entries] of Object.entries(st.Condition ?? {})) {
      if (/not|null/i.test(op)) continue;
      for (const [k, v] of Object.entries(entries ?? {})) {
        const first = list(v as string | string[])[0];
        if (!REQUEST_KEY.test(k) || typeof first !== 'string' || /[*?]/.test(first)) continue;
        ctx[k] = String(first);
        if (/^kms:encryptioncontext:/i.test(k)) {
          const keys = list(ctx['kms:EncryptionContextKeys'] as string[]);
          ctx['kms:EncryptionContextKeys'] = [...keys, k.slice('kms:EncryptionContext:'.length)];
        }
      }
    }
    if (ctx['kms:ViaService'] !== undefined) ctx['aws:ViaAWSService'] = 'true';
    const keys = Object.keys(ctx).filter(k => k !== 'aws:ViaAWSService' && k !== 'kms:EncryptionContextKeys');
    if (keys.length === 0) continue;
    found.push([keys.sort().map(k => `${k}=${String(ctx[k])}`).join(', '), ctx]);
  }
  POLICY_SCENARIOS.set(p, found);
  return found;
}

/** The context every request has. */
const BASE: Record<string, string> = { 'aws:SecureTransport': 'true' };
const DIRECTLY: Scenario = { label: 'directly', context: BASE };
/** One scenario object per statement context, shared by every resource (the evaluator caches per context object). */
const SCENARIOS = new WeakMap<object, Scenario>();

const KMS_FREE = new WeakMap<Scenario, boolean>();

/** Whether a scenario names no `kms:` key (the ones a Secrets Manager request can have), computed once per scenario. */
function withoutKmsKeys(sc: Scenario): boolean {
  let free = KMS_FREE.get(sc);
  if (free === undefined) {
    free = !Object.keys(sc.context).some(k => k.toLowerCase().startsWith('kms:'));
    KMS_FREE.set(sc, free);
  }
  return free;
}

/** The request contexts worth trying: none, and each combination of request keys a statement names. */
function scenarios(policies: EvalPolicy[]): Scenario[] {
  const out = new Map<string, Scenario>();
  out.set('', DIRECTLY);
  for (const p of policies) {
    for (const [label, ctx] of policyScenarios(p)) {
      let sc = SCENARIOS.get(ctx);
      if (!sc) {
        sc = { label, context: { ...BASE, ...ctx } };
        SCENARIOS.set(ctx, sc);
      }
      out.set(label, sc);
    }
  }
  return [...out.values()];
}

export function collectKeys(model: AppModel): KeyModel[] {
  const keys: KeyModel[] = [];
  for (const s of model.stacks) {
    for (const [id, r] of resourcesOf(s, 'AWS::KMS::Key')) {
      const arn = keyArn(s, id);
      const replicas = model.stacks.flatMap(o => resourcesOf(o, 'AWS::KMS::ReplicaKey').filter(([, rr]) => resolveValue(o, rr.Properties?.PrimaryKeyArn, model) === arn)).length;
      const path = s.paths.get(id) ?? `${s.name}/${id}`;
      keys.push({
        stack: s,
        logicalId: id,
        path,
        arn,
        policy: docs(resolveValue(s, r.Properties?.KeyPolicy, model)),
        rotation: r.Properties?.EnableKeyRotation === true,
        rotationDays: r.Properties?.EnableKeyRotation === true ? Number(r.Properties?.RotationPeriodInDays ?? 365) : undefined,
        multiRegion: r.Properties?.MultiRegion === true,
        replicas,
        ours: OURS.has(path),
      });
    }
  }
  return keys;
}

export function collectSecrets(model: AppModel, keys: KeyModel[]): SecretModel[] {
  const out: SecretModel[] = [];
  // Secret policies with the same text are one object: the evaluator prepares
  // a policy once (statements compiled and indexed by action), and most apps
  // give many secrets the same policy.
  const interned = new Map<string, EvalPolicy>();
  const intern = (doc: EvalPolicy) => {
    const text = JSON.stringify(doc);
    const known = interned.get(text);
    if (known) return known;
    interned.set(text, doc);
    return doc;
  };
  for (const s of model.stacks) {
    // By secret (the first of each, as a search in template order would find).
    const policies = new Map<unknown, EvalPolicy>();
    for (const [, r] of resourcesOf(s, 'AWS::SecretsManager::ResourcePolicy')) {
      const secretId = resolveValue(s, r.Properties?.SecretId, model);
      if (!policies.has(secretId)) policies.set(secretId, intern(docs(resolveValue(s, r.Properties?.ResourcePolicy, model))));
    }
    const schedules = new Map<unknown, Record<string, any>>();
    for (const [, r] of resourcesOf(s, 'AWS::SecretsManager::RotationSchedule')) {
      const secretId = resolveValue(s, r.Properties?.SecretId, model);
      if (!schedules.has(secretId)) schedules.set(secretId, resolveValue(s, r.Properties, model) as Record<string, any>);
    }
    for (const [id, r] of resourcesOf(s, 'AWS::SecretsManager::Secret')) {
      const arn = secretArn(s, id, r);
      const kmsKeyId = resolveValue(s, r.Properties?.KmsKeyId, model);
      const key = typeof kmsKeyId === 'string' ? keys.find(k => k.arn === kmsKeyId || k.arn.endsWith(`/${kmsKeyId}`)) : undefined;
      const schedule = schedules.get(arn);
      const path = s.paths.get(id) ?? `${s.name}/${id}`;
      out.push({
        stack: s,
        logicalId: id,
        path,
        arn,
        key,
        keyDescription: key ? key.path : kmsKeyId === undefined ? 'aws/secretsmanager (AWS managed key)' : String(kmsKeyId),
        policy: policies.get(arn),
        rotationDays: schedule ? rotationDays(schedule.RotationRules) : undefined,
        rotationLambda: typeof schedule?.RotationLambdaARN === 'string' ? schedule.RotationLambdaARN : undefined,
        hosted: schedule?.HostedRotationLambda !== undefined,
        replicas: list(r.Properties?.ReplicaRegions).length,
        ours: OURS.has(path),
      });
    }
  }
  return out;
}

/** Days between rotations from `RotationRules` (AutomaticallyAfterDays, rate(N days|hours), or a cron: assumed daily-or-less). */
export function rotationDays(rules: Record<string, unknown> | undefined): number | undefined {
  if (!rules) return undefined;
  if (typeof rules.AutomaticallyAfterDays === 'number') return rules.AutomaticallyAfterDays;
  const expr = String(rules.ScheduleExpression ?? '');
  const rate = /^rate\((\d+) (day|days|hour|hours)\)$/.exec(expr);
  if (rate) return rate[2].startsWith('day') ? Number(rate[1]) : Number(rate[1]) / 24;
  return undefined;
}

/** Evaluates every principal of the app against every key and secret. */
export function buildAccessMap(model: AppModel): AccessMap {
  const keys = collectKeys(model);
  const secrets = collectSecrets(model, keys);
  const principals = collectPrincipals(model, [...keys.map(k => k.policy), ...secrets.flatMap(s => s.policy ? [s.policy] : [])]);
  const entries = new Map<string, AccessEntry[]>();
  const requests: EvaluatedRequest[] = [];
  const refused = new Map<string, string[]>();
  const identityDocs = principals.flatMap(p => p.identityPolicies.filter(d => d !== ALLOW_ALL));
  const keyActions = keyResourceActions().filter(a => kmsAction(a)?.role !== 'denied');

  const run = (
    resource: string, resourceAccount: string, principal: MapPrincipal, action: string, scenario: Scenario,
    resourcePolicy: EvalPolicy | undefined, mode: EvalRequest['mode'], known?: EvalParts,
  ): EvalParts => {
    const request: EvalRequest = {
      principal, action, resource, resourceAccount, context: scenario.context, identityPolicies: principal.identityPolicies, resourcePolicy, mode,
    };
    const parts = known ?? evaluateParts(request);
    requests.push({ resource, principal, action, scenario, request, decision: parts.decision });
    return parts;
  };

  for (const key of keys) {
    const problems: string[] = [];
    for (const st of list(key.policy.Statement)) {
      const n = normalizeStatement(st as StatementJson, key.stack.stack);
      if (n.problems.length > 0) problems.push(`${st.Sid ?? '(no Sid)'}: ${n.problems.map(p => p.problem).join(' ')}`);
    }
    if (problems.length > 0) refused.set(key.arn, problems);
    const list_: AccessEntry[] = [];
    const scen = scenarios([key.policy, ...identityDocs]);
    for (const principal of principals) {
      for (const action of keyActions) {
        const allowedUnder: string[] = [];
        let through: string[] = [];
        // Scenarios that agree on every condition key the statements naming
        // this action read get the same decision: evaluated once, recorded
        // for each (so the tests still compare every one with the simulator).
        const relevant = conditionKeysFor([...principal.identityPolicies, key.policy], action);
        const decided = new Map<string, EvalParts>();
        for (const sc of scen) {
          const signature = contextSignature(sc.context, relevant);
          const parts = run(key.arn, key.stack.account, principal, action, sc, key.policy, 'kms', decided.get(signature));
          decided.set(signature, parts);
          const d = parts.decision;
          if (d === 'Allowed' || d === 'NotUnderstood') {
            if (d === 'NotUnderstood') {
              list_.push({ principal: principal.name, kind: principal.kind, action, scenario: sc.label, decision: d, through: [] });
              continue;
            }
            allowedUnder.push(sc.label);
            if (through.length === 0) {
              // The key policy alone allows it (see EvalParts: no second evaluation).
              const direct = parts.sameAccount && parts.resourceAllowsDirect;
              through = direct ? ['key policy'] : ['key policy (account delegation)', 'identity policy'];
            }
          }
        }
        // "directly" covers every other scenario: no condition needed.
        const labels = allowedUnder.includes('directly') ? ['directly'] : allowedUnder;
        for (const l of labels) list_.push({ principal: principal.name, kind: principal.kind, action, scenario: l, decision: 'Allowed', through });
      }
    }
    entries.set(key.arn, list_);
  }

  // A secret whose policy names no request key gets the scenarios of the identity policies alone.
  const identityScenarios = scenarios(identityDocs).filter(withoutKmsKeys);
  for (const secret of secrets) {
    const list_: AccessEntry[] = [];
    const region = secret.stack.region;
    const scen = !secret.policy || policyScenarios(secret.policy).length === 0
      ? identityScenarios
      : scenarios([secret.policy, ...identityDocs]).filter(withoutKmsKeys);
    const kmsContext: Scenario = {
      label: 'through Secrets Manager',
      context: { 'aws:SecureTransport': 'true', 'kms:ViaService': `secretsmanager.${region}.amazonaws.com`, 'aws:ViaAWSService': 'true', 'kms:EncryptionContext:SecretARN': secret.arn, 'kms:EncryptionContextKeys': ['SecretARN'] },
    };
    for (const principal of principals) {
      if (principal.kind === 'service') continue;
      for (const [what, actions] of Object.entries(SECRET_ACTIONS)) {
        for (const action of actions) {
          for (const sc of scen) {
            const parts = run(secret.arn, secret.stack.account, principal, action, sc, secret.policy, 'resource');
            const d = parts.decision;
            if (d !== 'Allowed' && d !== 'NotUnderstood') continue;
            const through: string[] = [];
            if (d === 'Allowed') {
              // Which policy alone would allow it, from the parts of the decision (see EvalParts).
              if (parts.identityAllows) through.push('identity policy');
              if (secret.policy && parts.sameAccount && parts.resourceAllowsDirect) through.push('resource policy');
              if (through.length === 0) through.push('identity policy', 'resource policy');
            }
            // Reading and writing also need the key: Decrypt / GenerateDataKey through Secrets Manager.
            if (d === 'Allowed' && (what === 'read' || what === 'write')) {
              const kmsActionName = what === 'read' ? 'kms:Decrypt' : 'kms:GenerateDataKey';
              if (secret.key) {
                const k = run(secret.key.arn, secret.key.stack.account, principal, kmsActionName, kmsContext, secret.key.policy, 'kms').decision;
                if (k !== 'Allowed') {
                  list_.push({ principal: principal.name, kind: principal.kind, action: `${action} (but the key refuses ${kmsActionName}: cannot ${what})`, scenario: sc.label, decision: k === 'NotUnderstood' ? 'NotUnderstood' : 'ImplicitlyDenied', through });
                  continue;
                }
                through.push(`key policy (${kmsActionName})`);
              } else {
                through.push(`${secret.keyDescription}`);
              }
            }
            list_.push({ principal: principal.name, kind: principal.kind, action, scenario: sc.label, decision: d, through });
            if (sc.label === 'directly') break;
          }
        }
      }
    }
    entries.set(secret.arn, list_);
  }
  return { principals, keys, secrets, entries, requests, refused };
}
