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

/** One statement's verdict on a request. */
function statementMatches(s: EvalStatement, req: EvalRequest, ctx: Map<string, string[]>, resourcePolicy: boolean): Match | 'principal-account' {
  if (s.NotAction !== undefined || s.NotResource !== undefined || s.NotPrincipal !== undefined) {
    // Only when the statement could otherwise apply: an Action list that misses is no.
    if (s.Action !== undefined && !list(s.Action).some(a => wildcard(a, req.action, true))) return 'no';
    return 'unknown';
  }
  if (!list(s.Action).some(a => wildcard(a, req.action, true))) return 'no';
  const resources = list(s.Resource);
  if (resources.some(r => r.includes('${'))) return 'unknown';
  if (resourcePolicy ? resources.length > 0 && !resources.some(r => wildcard(r, req.resource, false)) : !resources.some(r => wildcard(r, req.resource, false))) return 'no';
  let viaAccount = false;
  if (resourcePolicy) {
    const p = principalMatch(s.Principal, req.principal);
    if (p === 'no') return 'no';
    viaAccount = p === 'account';
  }
  const c = conditionsMatch(s.Condition, ctx);
  if (c !== 'match') return c;
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
  const ra = /^arn:aws:iam::(\d+|[^:]+):role\/(?:.*\/)?([^/]+)$/.exec(a);
  const rb = /^arn:aws:iam::(\d+|[^:]+):role\/(?:.*\/)?([^/]+)$/.exec(b);
  return !!ra && !!rb && ra[1] === rb[1] && ra[2] === rb[2];
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

/** Whether every condition holds; `unknown` for an operator or value this evaluator does not understand. */
export function conditionsMatch(conditions: Record<string, Record<string, unknown>> | undefined, ctx: Map<string, string[]>): Match {
  for (const [rawOp, entries] of Object.entries(conditions ?? {})) {
    const m = SET_RE.exec(rawOp);
    if (!m) return 'unknown';
    const set = m[1]?.toLowerCase().replace(':', '');
    const op = m[2].toLowerCase();
    const ifExists = m[3] !== undefined;
    if (!OPERATORS.has(op) || (op === 'null' && (set || ifExists))) return 'unknown';
    for (const [key, raw] of Object.entries(entries ?? {})) {
      const values = list(raw as string | string[]).map(v => typeof v === 'boolean' || typeof v === 'number' ? String(v) : v);
      if (values.some(v => typeof v !== 'string' || v.includes('${'))) return 'unknown';
      const actual = ctx.get(key.toLowerCase());
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

function valueMatches(op: string, actual: string, values: string[]): boolean {
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

const PATTERNS = new Map<string, RegExp>();

/** IAM wildcard matching: `*` any run, `?` one character. */
export function wildcard(pattern: string, value: string, ignoreCase: boolean): boolean {
  if (typeof pattern !== 'string') return false;
  if (pattern === '*') return true;
  if (!pattern.includes('*') && !pattern.includes('?')) return ignoreCase ? pattern.toLowerCase() === value.toLowerCase() : pattern === value;
  const cacheKey = `${ignoreCase ? 'i' : 's'}${pattern}`;
  let re = PATTERNS.get(cacheKey);
  if (!re) {
    re = new RegExp(`^${pattern.split('').map(c => c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('')}$`, ignoreCase ? 'is' : 's');
    PATTERNS.set(cacheKey, re);
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

/** The decision IAM would reach on a request, or `NotUnderstood`. */
export function evaluate(req: EvalRequest): EvalDecision {
  const ctx = contextOf(req);
  let unknown = false;
  let identityAllows = false;
  let resourceAllowsDirect = false;
  let resourceAllowsAccount = false;
  for (const p of req.identityPolicies ?? []) {
    for (const s of statements(p)) {
      const m = statementMatches(s, req, ctx, false);
      if (m === 'unknown') {unknown = true;} else if (m === 'match') {
        if (s.Effect === 'Deny') return 'ExplicitlyDenied';
        identityAllows = true;
      }
    }
  }
  for (const s of statements(req.resourcePolicy)) {
    const m = statementMatches(s, req, ctx, true);
    if (m === 'unknown') {unknown = true;} else if (m === 'match' || m === 'principal-account') {
      if (s.Effect === 'Deny') return 'ExplicitlyDenied';
      if (m === 'match') resourceAllowsDirect = true; else resourceAllowsAccount = true;
    }
  }
  if (unknown) return 'NotUnderstood';
  const sameAccount = req.principal.service !== undefined || req.principal.account === req.resourceAccount;
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
  return allowed ? 'Allowed' : 'ImplicitlyDenied';
}
