/**
 * The one gate in front of every key policy.
 *
 * Whatever reaches a key policy (the constructor's roles, `grant*`,
 * `grantUse`, `addToResourcePolicy`, aws-cdk-lib's `KeyGrants` and every L2
 * that grants through `kms.IKey`, and a statement written by hand or by
 * another library that the `KeysAndSecretsChecks` nag pack judges) is first
 * reduced here to one normal form:
 *
 * - actions compared without regard to case, every wildcard (`*` or `?`,
 *   anywhere) expanded against the complete KMS action list
 *   (`kms-actions.ts`); an action KMS does not have is a problem;
 * - `NotAction`, `NotPrincipal` and `NotResource` refused: their meaning
 *   grows with every action and principal AWS adds, so no check can judge them;
 * - each principal reduced to one identity (`Role`, `Role.fromRoleArn`,
 *   `Role.fromRoleName`, `ArnPrincipal`, a role path, an assumed-role
 *   session and `PrincipalWithConditions` of the same role are one key);
 * - `Principal: "*"` judged bounded only by a positive, literal account or
 *   organization condition.
 *
 * The checks (the key-policy builder's and the nag rules') run on this form
 * only, so a new entry path cannot skip them. Internal module.
 */
import { CfnElement, CfnResource, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct, IConstruct } from 'constructs';
import { isActionPattern, KmsAction, kmsAction, matchKmsActions } from './kms-actions';

/** What kind of principal an identity is. */
export type IdentityKind = 'role' | 'session' | 'user' | 'account' | 'star' | 'service' | 'group' | 'federated' | 'other';

/** One principal, reduced to what identifies it. */
export interface PrincipalIdentity {
  /** The same string for every spelling of the same principal. */
  readonly key: string;
  readonly kind: IdentityKind;
  /** The account, where known: 12 digits, or `ACCOUNT` for this stack's unresolved account. */
  readonly account?: string;
  /** How to show it in an error. */
  readonly display: string;
}

/** A reason the normalizer cannot accept a statement, with the fix. */
export interface PolicyProblem {
  readonly problem: string;
  readonly fix: string;
}

/** A statement in normal form. */
export interface NormalizedStatement {
  readonly effect: 'Allow' | 'Deny';
  /** The KMS actions it covers, canonical names, sorted. */
  readonly actions: KmsAction[];
  readonly principals: PrincipalIdentity[];
  /** Its conditions, as written. */
  readonly conditions: Record<string, Record<string, unknown>>;
  /** Whether a `Principal: "*"` in it is bounded to named accounts or organizations. */
  readonly bounded: boolean;
}

type Conditions = Record<string, Record<string, unknown>>;

/** Condition keys whose positive, literal value bounds a `Principal: "*"`. */
export const BOUNDING_CONDITION_KEYS: readonly string[] = [
  'aws:PrincipalAccount', 'aws:PrincipalOrgID', 'kms:CallerAccount', 'aws:SourceAccount',
];

/** The only operators that bound: an exact, positive match. `ForAllValues`, `Like`, `Not` and `IfExists` do not. */
const BOUNDING_OPERATORS = ['stringequals', 'foranyvalue:stringequals'];

const ACCOUNT_RE = /^\d{12}$/;
const ORG_RE = /^o-[a-z0-9]{10,32}$/;

// --- actions -------------------------------------------------------------------------------------

/**
 * The KMS actions a statement's `Action` list covers, or the problem with it.
 * A wildcard keeps only actions a key policy can grant (an Allow never covers
 * the `denied` ones); a name that is not a KMS action, or one a key policy
 * cannot grant, is a problem.
 */
export function normalizeActions(actions: readonly string[], effect: 'Allow' | 'Deny'): { actions: KmsAction[]; problems: PolicyProblem[] } {
  const out = new Map<string, KmsAction>();
  const problems: PolicyProblem[] = [];
  for (const raw of actions) {
    if (typeof raw !== 'string' || Token.isUnresolved(raw)) {
      problems.push({ problem: `has an action that is not a literal string (${JSON.stringify(raw)}).`, fix: 'Name each action literally, for example kms:Decrypt.' });
      continue;
    }
    if (isActionPattern(raw)) {
      const matches = matchKmsActions(raw).filter(a => a.role !== 'no-key-resource' && (effect === 'Deny' || a.role !== 'denied'));
      if (matches.length === 0) {
        problems.push({ problem: `has the action pattern '${raw}', which matches no KMS action a key policy can grant.`, fix: 'Name KMS actions, for example kms:Decrypt or kms:GenerateDataKey*.' });
      }
      matches.forEach(a => out.set(a.name, a));
      continue;
    }
    const action = kmsAction(raw);
    if (!action) {
      problems.push({ problem: `has the action '${raw}', which AWS KMS does not have.`, fix: 'Check the spelling against the KMS actions of the Service Authorization Reference (for example kms:Decrypt).' });
    } else if (action.role === 'no-key-resource') {
      if (effect === 'Allow') problems.push({ problem: `allows '${action.name}', which has no key resource: a key policy cannot grant it.`, fix: 'Grant it in an IAM policy instead.' });
    } else if (action.role === 'denied' && effect === 'Allow') {
      problems.push({ problem: `allows '${action.name}'. ${action.reason}`, fix: `Remove ${action.name}.` });
    } else {
      out.set(action.name, action);
    }
  }
  return { actions: [...out.values()].sort((a, b) => a.name.localeCompare(b.name)), problems };
}

// --- principals ----------------------------------------------------------------------------------

/** Where a principal's tokens resolve: the stack, and a way to find the resource a reference names. */
export interface IdentityContext {
  readonly stack: Stack;
}

/**
 * The identities of an IAM principal object, and its own conditions
 * (`PrincipalWithConditions`). The principal is resolved in its own stack
 * when it is a construct, so a role of another stack is still recognised.
 */
export function identitiesOfPrincipal(scope: IConstruct, principal: iam.IPrincipal): { identities: PrincipalIdentity[]; conditions: Conditions } {
  const base = unwrapPrincipal(principal);
  const stack = Construct.isConstruct(base) ? Stack.of(base) : Stack.of(scope);
  const json = stack.resolve(base.policyFragment.principalJson) as Record<string, unknown>;
  const conditions = (principal.policyFragment.conditions ?? {}) as Record<string, Record<string, unknown>>;
  return { identities: identitiesOfJson(json, { stack }), conditions: Stack.of(scope).resolve(conditions) ?? {} };
}

/** The principal a `PrincipalWithConditions` (or any aws-cdk-lib adapter) wraps. */
export function unwrapPrincipal(principal: iam.IPrincipal): iam.IPrincipal {
  let p = principal;
  for (let i = 0; i < 10; i++) {
    const wrapped = (p as unknown as { wrapped?: iam.IPrincipal }).wrapped;
    if (!wrapped || !(p instanceof iam.PrincipalWithConditions)) break;
    p = wrapped;
  }
  return p;
}

/** The identities of a resolved `Principal` element (`"*"`, or `{ AWS, Service, ... }`). */
export function identitiesOfJson(principal: unknown, ctx: IdentityContext): PrincipalIdentity[] {
  if (principal === undefined) return [];
  if (principal === '*') return [STAR];
  if (typeof principal !== 'object' || principal === null) {
    return [{ key: `other:${JSON.stringify(principal)}`, kind: 'other', display: JSON.stringify(principal) }];
  }
  const out: PrincipalIdentity[] = [];
  for (const [type, value] of Object.entries(principal as Record<string, unknown>)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      if (type === 'AWS') out.push(awsIdentity(v, ctx));
      else if (type === 'Service') out.push(serviceIdentity(v, ctx));
      else out.push({ key: `${type.toLowerCase()}:${JSON.stringify(v)}`, kind: type === 'Federated' ? 'federated' : 'other', display: `${type} ${JSON.stringify(v)}` });
    }
  }
  return out;
}

const STAR: PrincipalIdentity = { key: '*', kind: 'star', display: 'Principal "*"' };

function serviceIdentity(v: unknown, ctx: IdentityContext): PrincipalIdentity {
  const text = typeof v === 'string' ? v : flatten(v, ctx);
  // logs.eu-west-1.amazonaws.com and logs.amazonaws.com are the same service.
  const service = text.toLowerCase().replace(/\.[a-z]{2}(-[a-z]+)+-\d\./, '.').replace(/\.amazonaws\.com(\.cn)?$/, '');
  return { key: `service:${service}`, kind: 'service', display: `Service ${text}` };
}

function awsIdentity(v: unknown, ctx: IdentityContext): PrincipalIdentity {
  if (v === '*') return STAR;
  const ref = referencedResource(v, ctx);
  if (ref) return ref;
  const text = typeof v === 'string' ? v : flatten(v, ctx);
  if (ACCOUNT_RE.test(text)) return account(text);
  if (text === '{ACCOUNT}') return account('ACCOUNT');
  const arn = /^arn:[^:]*:(iam|sts)::([^:]*):(.*)$/.exec(text);
  if (arn) {
    const [, service, acct, resource] = arn;
    const accountId = acct === '{ACCOUNT}' ? 'ACCOUNT' : acct;
    if (resource === 'root') return account(accountId);
    const [type, ...rest] = resource.split('/');
    const name = rest[rest.length - 1] ?? '';
    if (service === 'sts' && type === 'assumed-role' && rest.length >= 2) {
      // A session of a role is that role, for the question "who manages and who uses".
      return { key: `aws:${accountId}:role/${rest[0].toLowerCase()}`, kind: 'session', account: accountId, display: text };
    }
    if (service === 'iam' && (type === 'role' || type === 'user' || type === 'group')) {
      // Role and user names are unique in an account whatever their path, and compared without case.
      return { key: `aws:${accountId}:${type}/${name.toLowerCase()}`, kind: type as IdentityKind, account: accountId, display: text };
    }
  }
  return { key: `aws:${text}`, kind: 'other', display: text };
}

function account(id: string): PrincipalIdentity {
  return { key: `aws:${id}:root`, kind: 'account', account: id, display: id === 'ACCOUNT' ? 'the account root' : `account ${id}` };
}

/** An identity for `{ "Fn::GetAtt": [Role, "Arn"] }` and the like: the resource it names. */
function referencedResource(v: unknown, ctx: IdentityContext): PrincipalIdentity | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const getAtt = (v as Record<string, unknown>)['Fn::GetAtt'];
  if (!Array.isArray(getAtt) || getAtt[1] !== 'Arn' || typeof getAtt[0] !== 'string') return undefined;
  const found = findResource(ctx.stack, getAtt[0]);
  if (!found) return undefined;
  const kinds: Record<string, IdentityKind> = { 'AWS::IAM::Role': 'role', 'AWS::IAM::User': 'user', 'AWS::IAM::Group': 'group' };
  const kind = kinds[found.resource.cfnResourceType];
  if (!kind) return undefined;
  const acct = accountOf(found.stack);
  return { key: `aws:${acct}:${kind}/${nameOf(found.stack, found.resource, found.logicalId)}`, kind, account: acct, display: found.resource.node.path };
}

/** The physical name of a role or user: its literal name, or a stand-in unique to the resource. */
function nameOf(stack: Stack, resource: CfnResource, logicalId: string): string {
  const props = (resource as unknown as { roleName?: unknown; userName?: unknown; groupName?: unknown });
  const name = stack.resolve(props.roleName ?? props.userName ?? props.groupName);
  // Compared without case, like IAM names; the stand-in has no '/' so an ARN built around it parses the same.
  return (typeof name === 'string' ? name : `{${stack.node.path.replace(/\//g, '.')}.${logicalId}}`).toLowerCase();
}

function accountOf(stack: Stack): string {
  return Token.isUnresolved(stack.account) ? 'ACCOUNT' : stack.account;
}

/**
 * A resolved string value with its intrinsics replaced: the account and
 * partition pseudo parameters by what they are, a reference to a role or
 * user by that resource's name, anything else by its JSON.
 */
function flatten(v: unknown, ctx: IdentityContext): string {
  if (typeof v === 'string') return v;
  if (!v || typeof v !== 'object') return JSON.stringify(v);
  const o = v as Record<string, unknown>;
  if (o.Ref === 'AWS::AccountId') return Token.isUnresolved(ctx.stack.account) ? '{ACCOUNT}' : ctx.stack.account;
  if (o.Ref === 'AWS::Partition') return 'aws';
  if (typeof o.Ref === 'string') {
    const found = findResource(ctx.stack, o.Ref);
    if (found && ['AWS::IAM::Role', 'AWS::IAM::User'].includes(found.resource.cfnResourceType)) {
      return nameOf(found.stack, found.resource, found.logicalId);
    }
  }
  const join = o['Fn::Join'];
  if (Array.isArray(join) && typeof join[0] === 'string' && Array.isArray(join[1])) {
    return (join[1] as unknown[]).map(p => flatten(p, ctx)).join(join[0]);
  }
  const sub = o['Fn::Sub'];
  if (typeof sub === 'string' || (Array.isArray(sub) && typeof sub[0] === 'string')) {
    const [template, vars] = typeof sub === 'string' ? [sub, {}] : [sub[0] as string, (sub[1] ?? {}) as Record<string, unknown>];
    return template.replace(/\$\{([^}]+)\}/g, (whole, name: string) => {
      if (name === 'AWS::AccountId') return Token.isUnresolved(ctx.stack.account) ? '{ACCOUNT}' : ctx.stack.account;
      if (name === 'AWS::Partition') return 'aws';
      if (name in vars) return flatten(vars[name], ctx);
      const [id, attribute] = name.split('.');
      if (attribute === 'Arn') return flatten({ 'Fn::GetAtt': [id, 'Arn'] }, ctx);
      return attribute === undefined ? flatten({ Ref: id }, ctx) : whole;
    });
  }
  const getAtt = o['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt[1] === 'Arn') {
    const id = referencedResource(v, ctx);
    if (id) return `arn:aws:iam::${id.account}:${id.key.split(':').slice(2).join(':')}`;
  }
  return JSON.stringify(v);
}

const RESOURCES = new WeakMap<Stack, Map<string, CfnResource>>();

/** The resource with a logical ID in a stack, else (a reference written across stacks) the only one in the app. */
function findResource(stack: Stack, logicalId: string): { stack: Stack; resource: CfnResource; logicalId: string } | undefined {
  const here = lookup(stack, logicalId);
  if (here) return { stack, resource: here, logicalId };
  const stacks = stack.node.root.node.findAll().filter((c): c is Stack => Stack.isStack(c) && c !== stack);
  const found = stacks.map(s => ({ stack: s, resource: lookup(s, logicalId), logicalId })).filter(f => f.resource !== undefined);
  return found.length === 1 ? found[0] as { stack: Stack; resource: CfnResource; logicalId: string } : undefined;
}

function lookup(stack: Stack, logicalId: string): CfnResource | undefined {
  let map = RESOURCES.get(stack);
  if (!map?.has(logicalId)) {
    // Built on a miss, so resources added since are found.
    map = new Map();
    for (const c of stack.node.findAll()) {
      if (CfnResource.isCfnResource(c) && Stack.of(c) === stack) map.set(stack.resolve((c as CfnElement).logicalId), c);
    }
    RESOURCES.set(stack, map);
  }
  return map.get(logicalId);
}

// --- conditions ----------------------------------------------------------------------------------

/**
 * Whether conditions bound a `Principal: "*"` to named accounts or
 * organizations: a `StringEquals` (or `ForAnyValue:StringEquals`) on one of
 * the bounding keys, every value of which is a literal 12-digit account, an
 * `o-...` organization ID (for `aws:PrincipalOrgID`), or this stack's account.
 */
export function isBounded(conditions: Record<string, Record<string, unknown>> | undefined, stack: Stack): boolean {
  for (const [operator, entries] of Object.entries(conditions ?? {})) {
    if (!BOUNDING_OPERATORS.includes(operator.toLowerCase()) || !entries || typeof entries !== 'object') continue;
    for (const [key, value] of Object.entries(entries)) {
      const bounding = BOUNDING_CONDITION_KEYS.find(k => k.toLowerCase() === key.toLowerCase());
      if (!bounding) continue;
      const values = Array.isArray(value) ? value : [value];
      const org = bounding === 'aws:PrincipalOrgID';
      if (values.length > 0 && values.every(x => isBoundingValue(x, org, stack))) return true;
    }
  }
  return false;
}

function isBoundingValue(v: unknown, org: boolean, stack: Stack): boolean {
  if (typeof v === 'string') return org ? ORG_RE.test(v) : ACCOUNT_RE.test(v);
  if (org) return false;
  // { Ref: AWS::AccountId }: the account the stack deploys to.
  if (v && typeof v === 'object' && (v as Record<string, unknown>).Ref === 'AWS::AccountId') return true;
  return JSON.stringify(v) === JSON.stringify(stack.resolve(stack.account));
}

// --- statements ----------------------------------------------------------------------------------

/** The JSON of a statement, as `PolicyStatement.toStatementJson()` resolves. */
export interface StatementJson {
  readonly Sid?: string;
  readonly Effect?: string;
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: unknown;
  readonly NotResource?: unknown;
  readonly Principal?: unknown;
  readonly NotPrincipal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/**
 * A resolved statement in normal form, or the problems that keep it from
 * one. `identities`, when given, replaces the identities read from its
 * `Principal` (the builder passes those it computed from the principal objects).
 */
export function normalizeStatement(
  json: StatementJson, stack: Stack, identities?: PrincipalIdentity[],
): { statement?: NormalizedStatement; problems: PolicyProblem[] } {
  const problems: PolicyProblem[] = [];
  if (json.NotAction !== undefined) problems.push({ problem: 'uses NotAction, whose meaning grows with every action AWS adds, so the role model cannot judge it.', fix: 'List the actions it allows or denies in Action (wildcards such as kms:Describe* are expanded).' });
  if (json.NotPrincipal !== undefined) problems.push({ problem: 'uses NotPrincipal, which applies to every principal but the ones named, so the role model cannot judge it.', fix: 'Name the principals in Principal, or use a Condition on aws:PrincipalArn.' });
  if (json.NotResource !== undefined) problems.push({ problem: 'uses NotResource, which in a key policy means nothing (the only resource is the key itself).', fix: 'Use Resource: "*".' });
  const effect = json.Effect === 'Deny' ? 'Deny' : 'Allow';
  const { actions, problems: actionProblems } = normalizeActions(toArray(json.Action), effect);
  problems.push(...actionProblems);
  const principals = identities ?? identitiesOfJson(json.Principal, { stack });
  const conditions = json.Condition ?? {};
  if (problems.length > 0) return { problems };
  return { statement: { effect, actions, principals, conditions, bounded: isBounded(conditions, stack) }, problems };
}

function toArray(v: string | string[] | undefined): string[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** Operators that require a value to be present and to match: the only ones that narrow. */
const POSITIVE_OPERATORS = ['stringequals', 'stringlike', 'foranyvalue:stringequals', 'foranyvalue:stringlike', 'arnequals', 'arnlike'];

/**
 * Whether conditions require `key` to be present with one of literal,
 * non-empty values (a positive operator: no `Not`, `IfExists`, `Null` or
 * `ForAllValues`, which all hold when the key is absent).
 */
export function hasPositiveCondition(conditions: Record<string, Record<string, unknown>> | undefined, key: string): boolean {
  return positiveValues(conditions, key).length > 0;
}

/** The values a positive condition on `key` requires (see hasPositiveCondition); empty if none. */
function positiveValues(conditions: Record<string, Record<string, unknown>> | undefined, key: string): unknown[] {
  for (const [operator, entries] of Object.entries(conditions ?? {})) {
    if (!POSITIVE_OPERATORS.includes(operator.toLowerCase()) || !entries || typeof entries !== 'object') continue;
    for (const [k, value] of Object.entries(entries)) {
      if (k.toLowerCase() !== key.toLowerCase()) continue;
      const values = Array.isArray(value) ? value : [value];
      if (values.length > 0 && values.every(v => v !== '' && v !== undefined && v !== null)) return values;
    }
  }
  return [];
}

/**
 * Whether conditions tie a service principal's request to this stack's
 * account: a literal `aws:SourceAccount` or `aws:SourceOrgID` (the bound of
 * `isBounded`), or an `aws:SourceArn` or encryption-context value that is an
 * ARN of this account (its account field literal, never a wildcard).
 */
export function bindsServiceToAccount(conditions: Record<string, Record<string, unknown>> | undefined, stack: Stack): boolean {
  const only = (key: string) => Object.fromEntries(Object.entries(conditions ?? {}).map(([op, e]) =>
    [op, Object.fromEntries(Object.entries(e ?? {}).filter(([k]) => k.toLowerCase() === key.toLowerCase()))]));
  if (['aws:SourceAccount', 'aws:SourceOrgID'].some(key => isBounded(only(key), stack))) return true;
  const literal = Token.isUnresolved(stack.account) ? undefined : stack.account;
  const ofThisAccount = (v: unknown): boolean => {
    const text = JSON.stringify(v);
    if (/[*?]/.test(text.split(':').slice(4, 5).join(''))) return false;
    return (literal !== undefined && text.includes(`:${literal}:`)) || text.includes('{"Ref":"AWS::AccountId"}');
  };
  for (const [operator, entries] of Object.entries(conditions ?? {})) {
    if (!POSITIVE_OPERATORS.includes(operator.toLowerCase())) continue;
    for (const [k, value] of Object.entries(entries ?? {})) {
      const key = k.toLowerCase();
      if (key !== 'aws:sourcearn' && !key.startsWith('kms:encryptioncontext:')) continue;
      const values = Array.isArray(value) ? value : [value];
      if (values.length > 0 && values.every(ofThisAccount)) return true;
    }
  }
  return false;
}
