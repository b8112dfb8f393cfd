/**
 * The narrow IAM evaluator the access map needs, written here so the
 * published package ships no AGPL code (the dev-only `@cloud-copilot/iam-simulate`
 * checks it in test/report/evaluator.test.ts on generated requests).
 *
 * What it understands:
 * - `Effect` Allow and Deny, `Action` and `Resource` with `*` and `?`
 *   wildcards (actions without regard to case), `Principal` (`"*"`, `AWS`
 *   ARNs and account IDs, `Service`);
 * - the condition operators that our policies and aws-cdk-lib's use:
 *   `String*`, `Arn*`, `Bool`, `Null`, `Numeric*`, with `IfExists` and the
 *   `ForAnyValue:`/`ForAllValues:` set qualifiers, condition keys without
 *   regard to case;
 * - the way KMS combines a key policy with identity policies (the key
 *   policy must allow the principal, or its account, which then delegates
 *   to IAM) and the way other services combine a resource policy with them
 *   (either grants within the account; both across accounts).
 *
 * What it refuses rather than guesses (`NotUnderstood`): `NotAction`,
 * `NotPrincipal`, `NotResource`, any other condition operator, and policy
 * variables (`${aws:username}`). Internal module.
 */

/** A policy statement, resolved to strings. */
export interface EvalStatement {
  readonly Sid?: string;
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly NotAction?: unknown;
  readonly Resource?: string | string[];
  readonly NotResource?: unknown;
  readonly Principal?: unknown;
  readonly NotPrincipal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

export interface EvalPolicy {
  readonly Statement?: EvalStatement | EvalStatement[];
}

export type EvalDecision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied' | 'NotUnderstood';

/** Who makes a request. */
export interface EvalPrincipal {
  /** `arn:aws:iam::111111111111:role/Name`, or a service principal (`logs.amazonaws.com`). */
  readonly arn: string;
  /** 12 digits (or a placeholder), absent for a service principal. */
  readonly account?: string;
  /** For a service principal: its name (`logs.eu-west-1.amazonaws.com`). */
  readonly service?: string;
}

export interface EvalRequest {
  readonly principal: EvalPrincipal;
  readonly action: string;
  readonly resource: string;
  /** The account owning the resource. */
  readonly resourceAccount: string;
  /** Request context; keys compared without regard to case. Principal keys are added from `principal`. */
  readonly context?: Record<string, string | string[]>;
  /** The principal's identity policies (empty for a service or an unknown principal). */
  readonly identityPolicies?: readonly EvalPolicy[];
  /** The resource policy (key policy or secret policy). */
  readonly resourcePolicy?: EvalPolicy;
  /** `kms`: the key policy must allow (directly or through the account); `resource`: either policy grants within the account. */
  readonly mode: 'kms' | 'resource' | 'identity';
}

type Match = 'match' | 'no' | 'unknown';

/**
 * A statement's `Action` and `Resource` prepared once for matching: exact
 * values in sets (actions in lower case), wildcard patterns apart. Matching
 * through it gives the same answers as `wildcard` on every element.
 */
interface Compiled {
  readonly actions: ReadonlySet<string>;
  readonly actionPatterns: readonly string[];
  readonly hasAction: boolean;
  readonly resources: ReadonlySet<string>;
  readonly resourcePatterns: readonly string[];
  readonly resourceCount: number;
  readonly resourceVariable: boolean;
  /** Condition keys the statement reads, in lower case. */
  readonly conditionKeys: readonly string[];
}

const COMPILED = new WeakMap<EvalStatement, Compiled>();
const isPattern = (p: string) => p.includes('*') || p.includes('?');

function compiled(s: EvalStatement): Compiled {
  let c = COMPILED.get(s);
  if (!c) {
    const actions = list(s.Action).filter(a => typeof a === 'string');
    const resources = list(s.Resource);
    c = {
      actions: new Set(actions.filter(a => !isPattern(a)).map(a => a.toLowerCase())),
      actionPatterns: actions.filter(isPattern),
      hasAction: s.Action !== undefined,
      resources: new Set(resources.filter(r => typeof r === 'string' && !isPattern(r))),
      resourcePatterns: resources.filter(r => typeof r === 'string' && isPattern(r)),
      resourceCount: resources.length,
      resourceVariable: resources.some(r => r.includes('${')),
      conditionKeys: Object.values(s.Condition ?? {}).flatMap(e => Object.keys(e ?? {}).map(k => k.toLowerCase())),
    };
    COMPILED.set(s, c);
  }
  return c;
}

function actionMatches(c: Compiled, action: string, actionLower: string): boolean {
  if (c.actions.has(actionLower)) return true;
  for (const a of c.actionPatterns) if (wildcard(a, action, true)) return true;
  return false;
}

function resourceMatches(c: Compiled, resource: string): boolean {
  if (c.resources.has(resource)) return true;
  for (const r of c.resourcePatterns) if (wildcard(r, resource, false)) return true;
  return false;
}

/** One statement's verdict on a request. */
function statementMatches(
  s: EvalStatement, req: EvalRequest, actionLower: string, ctx: Map<string, string[]>, resourcePolicy: boolean,
): Match | 'principal-account' {
  const c = compiled(s);
  if (s.NotAction !== undefined || s.NotResource !== undefined || s.NotPrincipal !== undefined) {
    // Only when the statement could otherwise apply: an Action list that misses is no.
    if (c.hasAction && !actionMatches(c, req.action, actionLower)) return 'no';
    return 'unknown';
  }
  if (!actionMatches(c, req.action, actionLower)) return 'no';
  if (c.resourceVariable) return 'unknown';
  const resourceMiss = !resourceMatches(c, req.resource);
  if (resourcePolicy ? c.resourceCount > 0 && resourceMiss : resourceMiss) return 'no';
  let viaAccount = false;
  if (resourcePolicy) {
    const p = principalMatch(s.Principal, req.principal);
    if (p === 'no') return 'no';
    viaAccount = p === 'account';
  }
  const m = conditionsMatch(s.Condition, ctx);
  if (m !== 'match') return m;
  return viaAccount ? 'principal-account' : 'match';
}

/** `direct`: the principal is named (or `*`); `account`: its account is named; `no`. */
function principalMatch(principal: unknown, p: EvalPrincipal): 'direct' | 'account' | 'no' {
  if (principal === '*') return 'direct';
  if (!principal || typeof principal !== 'object') return 'no';
  let best: 'direct' | 'account' | 'no' = 'no';
  for (const [type, value] of Object.entries(principal as Record<string, unknown>)) {
    for (const v of list(value as string | string[])) {
      if (type === 'AWS') {
        if (v === '*') return 'direct';
        if (p.service) continue;
        if (v === p.arn || sameRole(v, p.arn)) return 'direct';
        if (p.account && (v === p.account || v === `arn:aws:iam::${p.account}:root`)) best = 'account';
      } else if (type === 'Service' && p.service && serviceName(v) === serviceName(p.service)) {
        return 'direct';
      }
    }
  }
  return best;
}

/** A role's ARN with a path matches the same role without (and an assumed-role session matches its role). */
function sameRole(a: string, b: string): boolean {
  const ra = roleKey(a);
  return ra !== undefined && ra === roleKey(b);
}

/** `account/name` of a role ARN (any path), undefined for anything else; parsed once per ARN. */
const ROLE_KEYS = new Map<string, string | undefined>();

function roleKey(arn: string): string | undefined {
  if (ROLE_KEYS.has(arn)) return ROLE_KEYS.get(arn);
  const m = /^arn:aws:iam::(\d+|[^:]+):role\/(?:.*\/)?([^/]+)$/.exec(arn);
  const key = m ? `${m[1]}/${m[2]}` : undefined;
  if (ROLE_KEYS.size > 10_000) ROLE_KEYS.clear();
  ROLE_KEYS.set(arn, key);
  return key;
}

function serviceName(s: string): string {
  return s.toLowerCase().replace(/\.[a-z]{2}(-[a-z]+)+-\d\./, '.');
}

const SET_RE = /^(ForAnyValue:|ForAllValues:)?(.+?)(IfExists)?$/i;
const OPERATORS = new Set([
  'stringequals', 'stringnotequals', 'stringequalsignorecase', 'stringnotequalsignorecase', 'stringlike', 'stringnotlike',
  'arnequals', 'arnlike', 'arnnotequals', 'arnnotlike', 'bool', 'null',
  'numericequals', 'numericnotequals', 'numericlessthan', 'numericlessthanequals', 'numericgreaterthan', 'numericgreaterthanequals',
]);

/** One condition operator prepared once: `unknown` where the evaluator stops understanding, in order. */
type CompiledOperator = 'unknown' | {
  readonly set: string | undefined;
  readonly op: string;
  readonly ifExists: boolean;
  readonly entries: ReadonlyArray<'unknown' | { readonly key: string; readonly values: readonly string[] }>;
};

const COMPILED_CONDITIONS = new WeakMap<object, readonly CompiledOperator[]>();

function compileConditions(conditions: Record<string, Record<string, unknown>>): readonly CompiledOperator[] {
  let c = COMPILED_CONDITIONS.get(conditions);
  if (c) return c;
  c = Object.entries(conditions).map(([rawOp, entries]): CompiledOperator => {
    const m = SET_RE.exec(rawOp);
    if (!m) return 'unknown';
    const set = m[1]?.toLowerCase().replace(':', '');
    const op = m[2].toLowerCase();
    const ifExists = m[3] !== undefined;
    if (!OPERATORS.has(op) || (op === 'null' && (set || ifExists))) return 'unknown';
    return {
      set,
      op,
      ifExists,
      entries: Object.entries(entries ?? {}).map(([key, raw]) => {
        const values = list(raw as string | string[]).map(v => typeof v === 'boolean' || typeof v === 'number' ? String(v) : v);
        if (values.some(v => typeof v !== 'string' || v.includes('${'))) return 'unknown';
        return { key: key.toLowerCase(), values };
      }),
    };
  });
  COMPILED_CONDITIONS.set(conditions, c);
  return c;
}

/** Whether every condition holds; `unknown` for an operator or value this evaluator does not understand. */
export function conditionsMatch(conditions: Record<string, Record<string, unknown>> | undefined, ctx: Map<string, string[]>): Match {
  if (!conditions) return 'match';
  for (const c of compileConditions(conditions)) {
    if (c === 'unknown') return 'unknown';
    const { set, op, ifExists } = c;
    for (const e of c.entries) {
      if (e === 'unknown') return 'unknown';
      const values = e.values;
      const actual = ctx.get(e.key);
      if (op === 'null') {
        const wantsAbsent = values.some(v => v.toLowerCase() === 'true');
        const wantsPresent = values.some(v => v.toLowerCase() === 'false');
        if (!((wantsAbsent && actual === undefined) || (wantsPresent && actual !== undefined))) return 'no';
        continue;
      }
      const negated = op.includes('not');
      if (actual === undefined) {
        if (ifExists || set === 'forallvalues') continue;
        if (set === 'foranyvalue') return 'no';
        if (negated) continue;
        return 'no';
      }
      const one = (a: string) => valueMatches(op, a, values);
      let ok: boolean;
      if (set === 'forallvalues') ok = actual.every(one);
      else if (set === 'foranyvalue') ok = actual.some(one);
      else ok = actual.length === 1 ? one(actual[0]) : false;
      if (!ok) return 'no';
    }
  }
  return 'match';
}

function valueMatches(op: string, actual: string, values: readonly string[]): boolean {
  switch (op) {
    case 'stringequals': return values.includes(actual);
    case 'stringnotequals': return !values.includes(actual);
    case 'stringequalsignorecase': return values.some(v => v.toLowerCase() === actual.toLowerCase());
    case 'stringnotequalsignorecase': return !values.some(v => v.toLowerCase() === actual.toLowerCase());
    // ArnEquals matches wildcards exactly as ArnLike does (IAM documents them as the same).
    case 'stringlike': case 'arnlike': case 'arnequals': return values.some(v => wildcard(v, actual, false));
    case 'stringnotlike': case 'arnnotlike': case 'arnnotequals': return !values.some(v => wildcard(v, actual, false));
    case 'bool': return values.some(v => v.toLowerCase() === actual.toLowerCase());
    default: {
      const a = Number(actual);
      const nums = values.map(Number);
      if (Number.isNaN(a)) return false;
      switch (op) {
        case 'numericequals': return nums.includes(a);
        case 'numericnotequals': return !nums.includes(a);
        case 'numericlessthan': return nums.some(n => a < n);
        case 'numericlessthanequals': return nums.some(n => a <= n);
        case 'numericgreaterthan': return nums.some(n => a > n);
        default: return nums.some(n => a >= n);
      }
    }
  }
}

/** Compiled patterns, by pattern: matched without regard to case, and with. */
const PATTERNS_I = new Map<string, RegExp>();
const PATTERNS_S = new Map<string, RegExp>();

/** IAM wildcard matching: `*` any run, `?` one character. */
export function wildcard(pattern: string, value: string, ignoreCase: boolean): boolean {
  if (typeof pattern !== 'string') return false;
  if (pattern === '*') return true;
  if (!pattern.includes('*') && !pattern.includes('?')) return ignoreCase ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;
  const patterns = ignoreCase ? PATTERNS_I : PATTERNS_S;
  let re = patterns.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split('').map(c => c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('')}$`, ignoreCase ? 'is' : 's');
    patterns.set(pattern, re);
  }
  return re.test(value);
}

function list(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]) as string[];
}

function statements(p: EvalPolicy | undefined): EvalStatement[] {
  if (!p?.Statement) return [];
  return Array.isArray(p.Statement) ? p.Statement : [p.Statement];
}

/** The request context with the principal's own keys, keys in lower case. */
export function contextOf(req: EvalRequest): Map<string, string[]> {
  const ctx = new Map<string, string[]>();
  for (const [k, v] of Object.entries(req.context ?? {})) ctx.set(k.toLowerCase(), list(v));
  if (!req.principal.service) {
    ctx.set('aws:principalarn', [req.principal.arn]);
    if (req.principal.account) {
      ctx.set('aws:principalaccount', [req.principal.account]);
      if (req.action.toLowerCase().startsWith('kms:')) ctx.set('kms:calleraccount', [req.principal.account]);
    }
  } else {
    ctx.set('aws:principalservicename', [req.principal.service]);
  }
  return ctx;
}

/**
 * `contextOf`, made once per (context object, principal, KMS or not): the
 * access map passes the same scenario context to thousands of requests.
 * The map returned is shared, and only read.
 */
const CONTEXTS = new WeakMap<object, WeakMap<EvalPrincipal, Array<Map<string, string[]> | undefined>>>();

function cachedContextOf(req: EvalRequest): Map<string, string[]> {
  if (!req.context) return contextOf(req);
  let byPrincipal = CONTEXTS.get(req.context);
  if (!byPrincipal) {
    byPrincipal = new WeakMap();
    CONTEXTS.set(req.context, byPrincipal);
  }
  let pair = byPrincipal.get(req.principal);
  if (!pair) {
    pair = [undefined, undefined];
    byPrincipal.set(req.principal, pair);
  }
  const i = req.action.toLowerCase().startsWith('kms:') ? 1 : 0;
  return pair[i] ??= contextOf(req);
}

const KEYS_BY_POLICY = new WeakMap<EvalPolicy, Map<string, readonly string[]>>();

/**
 * The condition keys (lower case) that the statements of `policies` naming
 * `action` read. A decision on `action` depends on the request context
 * through these keys only: two contexts that agree on them get the same
 * decision.
 */
export function conditionKeysFor(policies: ReadonlyArray<EvalPolicy | undefined>, action: string): string[] {
  const lower = action.toLowerCase();
  const out = new Set<string>();
  for (const p of policies) {
    if (!p) continue;
    let byAction = KEYS_BY_POLICY.get(p);
    if (!byAction) {
      byAction = new Map();
      KEYS_BY_POLICY.set(p, byAction);
    }
    let keys = byAction.get(lower);
    if (!keys) {
      const named = statements(p).map(compiled).filter(c => c.hasAction && actionMatches(c, action, lower));
      keys = [...new Set(named.flatMap(c => c.conditionKeys))];
      byAction.set(lower, keys);
    }
    for (const k of keys) out.add(k);
  }
  return [...out].sort();
}

/** What a request context says about `keys` (from `conditionKeysFor`), as a string: equal strings, equal decisions. */
export function contextSignature(context: Record<string, string | string[]> | undefined, keys: readonly string[]): string {
  if (keys.length === 0) return '';
  const lower = context ? contextValues(context) : new Map<string, string>();
  return keys.map(k => lower.get(k) ?? '-').join('\u0000');
}

const CONTEXT_VALUES = new WeakMap<object, Map<string, string>>();

/** A context's values as JSON, by key in lower case (the last of keys equal but for case wins, as in `contextOf`); once per context. */
function contextValues(context: Record<string, string | string[]>): Map<string, string> {
  let m = CONTEXT_VALUES.get(context);
  if (!m) {
    const lower = new Map<string, string[]>();
    for (const [k, v] of Object.entries(context)) lower.set(k.toLowerCase(), list(v));
    m = new Map([...lower].map(([k, v]) => [k, JSON.stringify(v)]));
    CONTEXT_VALUES.set(context, m);
  }
  return m;
}

const BY_ACTION = new WeakMap<EvalPolicy, Map<string, readonly EvalStatement[]>>();

/**
 * The statements of a policy that can apply to `action`, indexed once per
 * policy and action: a statement whose `Action` misses the action is `no`
 * for every request, so leaving it out changes no decision (the evaluation
 * loops do not depend on the order of the statements).
 */
function statementsFor(p: EvalPolicy | undefined, action: string, actionLower: string): readonly EvalStatement[] {
  if (p === undefined || p === null || typeof p !== 'object') return statements(p);
  let byAction = BY_ACTION.get(p);
  if (!byAction) {
    byAction = new Map();
    BY_ACTION.set(p, byAction);
  }
  let found = byAction.get(actionLower);
  if (!found) {
    found = statements(p).filter(s => {
      const c = compiled(s);
      const not = s.NotAction !== undefined || s.NotResource !== undefined || s.NotPrincipal !== undefined;
      return not && !c.hasAction ? true : actionMatches(c, action, actionLower);
    });
    byAction.set(actionLower, found);
  }
  return found;
}

/** The decision IAM would reach on a request, or `NotUnderstood`. */
export function evaluate(req: EvalRequest): EvalDecision {
  return evaluateParts(req).decision;
}

/**
 * A decision with what it was made of. When the decision is `Allowed`, no
 * statement denied and none was not understood, so these parts also give,
 * without evaluating again, the decision on the same request with only the
 * identity policies (`identityAllows`) or only the resource policy
 * (`sameAccount && resourceAllowsDirect`).
 */
export interface EvalParts {
  readonly decision: EvalDecision;
  readonly identityAllows: boolean;
  readonly resourceAllowsDirect: boolean;
  readonly resourceAllowsAccount: boolean;
  readonly sameAccount: boolean;
}

const DENIED: EvalParts = { decision: 'ExplicitlyDenied', identityAllows: false, resourceAllowsDirect: false, resourceAllowsAccount: false, sameAccount: false };

/** `evaluate`, with the parts of the decision. */
export function evaluateParts(req: EvalRequest): EvalParts {
  const ctx = cachedContextOf(req);
  const action = req.action.toLowerCase();
  let unknown = false;
  let identityAllows = false;
  let resourceAllowsDirect = false;
  let resourceAllowsAccount = false;
  for (const p of req.identityPolicies ?? []) {
    for (const s of statementsFor(p, req.action, action)) {
      const m = statementMatches(s, req, action, ctx, false);
      if (m === 'unknown') {unknown = true;} else if (m === 'match') {
        if (s.Effect === 'Deny') return DENIED;
        identityAllows = true;
      }
    }
  }
  for (const s of statementsFor(req.resourcePolicy, req.action, action)) {
    const m = statementMatches(s, req, action, ctx, true);
    if (m === 'unknown') {unknown = true;} else if (m === 'match' || m === 'principal-account') {
      if (s.Effect === 'Deny') return DENIED;
      if (m === 'match') resourceAllowsDirect = true; else resourceAllowsAccount = true;
    }
  }
  const sameAccount = req.principal.service !== undefined || req.principal.account === req.resourceAccount;
  const parts = { identityAllows, resourceAllowsDirect, resourceAllowsAccount, sameAccount };
  if (unknown) return { decision: 'NotUnderstood', ...parts };
  let allowed: boolean;
  if (req.mode === 'identity') {
    allowed = identityAllows;
  } else if (req.mode === 'kms') {
    // The key policy decides: a principal it names (same account), or its account delegating to IAM.
    allowed = sameAccount
      ? resourceAllowsDirect || (resourceAllowsAccount && identityAllows)
      : (resourceAllowsDirect || resourceAllowsAccount) && identityAllows;
  } else {
    allowed = sameAccount
      ? identityAllows || resourceAllowsDirect
      : (resourceAllowsDirect || resourceAllowsAccount) && identityAllows;
  }
  return { decision: allowed ? 'Allowed' : 'ImplicitlyDenied', ...parts };
}

