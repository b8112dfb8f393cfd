/**
 * IAM evaluation of synthesized templates, for tests.
 *
 * 1. `resolveIntrinsics` turns the CloudFormation intrinsics that appear in
 *    policies into the concrete strings they would become in one fixed test
 *    environment (`TEST_ENV`: account 111111111111, eu-west-1, partition aws).
 *    Anything it cannot resolve throws, so a test can never pass because a
 *    principal or resource silently failed to match.
 * 2. `keyPolicyOf`, `secretPolicyOf` and `identityPoliciesOf` pull resolved
 *    policy documents out of a template.
 * 3. `simulate` evaluates one request with `@cloud-copilot/iam-simulate`
 *    (identity policies + a resource policy, including the KMS key-policy
 *    trust rules) and returns `'Allowed' | 'ImplicitlyDenied' |
 *    'ExplicitlyDenied'`. Invalid input (a policy, action, resource or context
 *    key the simulator rejects or would ignore) throws: an invalid request is
 *    never reported as "denied".
 *
 * Physical names in `TEST_ENV` are derived from logical IDs:
 * - IAM role:        Ref = `<LogicalId>`, Arn = `arn:aws:iam::111111111111:role/<LogicalId>`
 * - KMS key:         Ref = KeyId = `<LogicalId>`, Arn = `arn:aws:kms:eu-west-1:111111111111:key/<LogicalId>`
 * - Secret:          Ref = Id = `arn:aws:secretsmanager:eu-west-1:111111111111:secret:<LogicalId>-AbCdEf`
 * - S3 bucket:       Ref = `<logicalid>` (lower case), Arn = `arn:aws:s3:::<logicalid>`
 * Use `arnOf(template, logicalId)` rather than spelling these out in a test.
 *
 * Known limitation of iam-simulate 0.1.x worked around here: it drops request
 * context keys of the form `kms:EncryptionContext:<key>` (its variable-key
 * matching only understands `/`-separated variables, and this one is
 * `:`-separated). `simulate` validates the request with `runSimulation`, and
 * when only those keys were dropped it re-evaluates with
 * `runUnsafeSimulation` and the full context, after checking that the unsafe
 * path gives the same decision as the validated one without those keys.
 */
import {
  allowedContextKeysForRequest, isConditionKeyArray, isWildcardOnlyAction, runSimulation, runUnsafeSimulation, typeForContextKey, type Simulation,
  type SimulationIdentityPolicy,
} from '@cloud-copilot/iam-simulate';
import { CfnElement, Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** The fixed environment intrinsics resolve in. Build test stacks with `env: TEST_STACK_ENV`. */
export const TEST_ENV = {
  account: '111111111111',
  region: 'eu-west-1',
  partition: 'aws',
  urlSuffix: 'amazonaws.com',
} as const;

/** The `env` to give a test stack so synthesized literals match `TEST_ENV`. */
export const TEST_STACK_ENV = { account: TEST_ENV.account, region: TEST_ENV.region };

/** The three decisions IAM can reach (the same names iam-simulate uses). */
export type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

/** A synthesized template, as returned by `Template.fromStack(stack).toJSON()`. */
export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly [key: string]: unknown;
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
  readonly [key: string]: unknown;
}

/** A policy statement with its intrinsics resolved. */
export interface PolicyStatementJson {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: '*' | Record<string, string | string[]>;
  readonly NotPrincipal?: Record<string, string | string[]>;
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** A policy document with its intrinsics resolved. */
export interface PolicyDocumentJson {
  readonly Version?: string;
  readonly Statement: PolicyStatementJson[];
}

/** How `Ref` and `Fn::GetAtt` of one resource type resolve. */
export interface ResourceTypeResolver {
  /** The value of `Ref`. Omit if `Ref` of this type should throw. */
  readonly ref?: (logicalId: string, resource: CfnResource) => string;
  /** The value of each supported `Fn::GetAtt` attribute. */
  readonly attributes?: Record<string, (logicalId: string, resource: CfnResource) => string>;
}

const { account: ACCOUNT, region: REGION, partition: PARTITION } = TEST_ENV;

const roleArn = (id: string) => `arn:${PARTITION}:iam::${ACCOUNT}:role/${id}`;
const keyArn = (id: string) => `arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/${id}`;
const secretArn = (id: string) => `arn:${PARTITION}:secretsmanager:${REGION}:${ACCOUNT}:secret:${id}-AbCdEf`;
const bucketName = (id: string) => id.toLowerCase();

/** The resource types whose `Ref`/`Fn::GetAtt` resolve. Extend per call with `extraResolvers`. */
export const RESOURCE_RESOLVERS: Readonly<Record<string, ResourceTypeResolver>> = {
  'AWS::IAM::Role': { ref: id => id, attributes: { Arn: roleArn } },
  'AWS::KMS::Key': { ref: id => id, attributes: { Arn: keyArn, KeyId: id => id } },
  'AWS::SecretsManager::Secret': { ref: secretArn, attributes: { Id: secretArn } },
  'AWS::S3::Bucket': { ref: bucketName, attributes: { Arn: id => `arn:${PARTITION}:s3:::${bucketName(id)}` } },
};

const PSEUDO_PARAMETERS: Readonly<Record<string, string>> = {
  'AWS::Partition': PARTITION,
  'AWS::AccountId': ACCOUNT,
  'AWS::Region': REGION,
  'AWS::URLSuffix': TEST_ENV.urlSuffix,
};

export interface ResolveOptions {
  /** More resource types (or overrides) for `Ref` and `Fn::GetAtt`. */
  readonly extraResolvers?: Record<string, ResourceTypeResolver>;
}

/**
 * Resolves every intrinsic in `value` against `template` in `TEST_ENV`.
 * Throws, naming the path, on any intrinsic or reference it cannot resolve.
 */
export function resolveIntrinsics<T = any>(template: CfnTemplate, value: unknown, options: ResolveOptions = {}): T {
  const resolvers = { ...RESOURCE_RESOLVERS, ...options.extraResolvers };
  return resolveAt(template, resolvers, value, '$') as T;
}

function resolveAt(template: CfnTemplate, resolvers: Record<string, ResourceTypeResolver>, value: unknown, path: string): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v, i) => resolveAt(template, resolvers, v, `${path}[${i}]`));
  const keys = Object.keys(value);
  const obj = value as Record<string, unknown>;
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
    const fn = keys[0];
    const arg = obj[fn];
    const at = `${path}.${fn}`;
    const str = (v: unknown, p: string): string => {
      const r = resolveAt(template, resolvers, v, p);
      if (typeof r !== 'string') throw new Error(`iam-eval: expected a string at ${p}, got ${JSON.stringify(r)}`);
      return r;
    };
    switch (fn) {
      case 'Ref':
        return resolveRef(template, resolvers, arg, at);
      case 'Fn::GetAtt': {
        const [id, attr] = typeof arg === 'string' ? splitOnce(arg, '.') : (arg as [string, string]);
        return resolveGetAtt(template, resolvers, id, str(attr, `${at}[1]`), at);
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown[]];
        const resolvedParts = resolveAt(template, resolvers, parts, `${at}[1]`);
        if (!Array.isArray(resolvedParts)) throw new Error(`iam-eval: Fn::Join needs a list at ${at}[1]`);
        return resolvedParts.map((p, i) => {
          if (typeof p !== 'string') throw new Error(`iam-eval: Fn::Join part ${i} at ${at} is ${JSON.stringify(p)}, not a string`);
          return p;
        }).join(sep);
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const resolvedList = resolveAt(template, resolvers, list, `${at}[1]`);
        const i = Number(resolveAt(template, resolvers, index, `${at}[0]`));
        if (!Array.isArray(resolvedList) || !Number.isInteger(i) || i < 0 || i >= resolvedList.length) {
          throw new Error(`iam-eval: Fn::Select index ${i} out of range at ${at}`);
        }
        return resolvedList[i];
      }
      case 'Fn::Split': {
        const [sep, source] = arg as [string, unknown];
        return str(source, `${at}[1]`).split(sep);
      }
      case 'Fn::Sub': {
        const [text, vars] = typeof arg === 'string' ? [arg, {}] : (arg as [string, Record<string, unknown>]);
        return text.replace(/\$\{(!?)([^}]+)\}/g, (_m, bang: string, name: string) => {
          if (bang) return `\${${name}}`;
          if (name in vars) return str(vars[name], `${at}[1].${name}`);
          if (name in PSEUDO_PARAMETERS) return PSEUDO_PARAMETERS[name];
          if (name.includes('.')) {
            const [id, attr] = splitOnce(name, '.');
            return resolveGetAtt(template, resolvers, id, attr, at);
          }
          return resolveRef(template, resolvers, name, at);
        });
      }
      default:
        throw new Error(`iam-eval: cannot resolve intrinsic ${fn} at ${path}: ${JSON.stringify(value)}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = resolveAt(template, resolvers, obj[k], `${path}.${k}`);
  return out;
}

function splitOnce(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  if (i < 0) throw new Error(`iam-eval: cannot split '${s}' on '${sep}'`);
  return [s.slice(0, i), s.slice(i + 1)];
}

function resourceOf(template: CfnTemplate, logicalId: unknown, at: string): CfnResource {
  if (typeof logicalId !== 'string') throw new Error(`iam-eval: expected a logical ID at ${at}, got ${JSON.stringify(logicalId)}`);
  const resource = template.Resources?.[logicalId];
  if (!resource) throw new Error(`iam-eval: ${at} refers to ${logicalId}, which is not a resource of the template`);
  return resource;
}

function resolveRef(template: CfnTemplate, resolvers: Record<string, ResourceTypeResolver>, target: unknown, at: string): string {
  if (typeof target === 'string' && target in PSEUDO_PARAMETERS) return PSEUDO_PARAMETERS[target];
  if (typeof target === 'string' && target.startsWith('AWS::')) {
    throw new Error(`iam-eval: cannot resolve pseudo parameter ${target} at ${at}`);
  }
  const resource = resourceOf(template, target, at);
  const ref = resolvers[resource.Type]?.ref;
  if (!ref) throw new Error(`iam-eval: cannot resolve Ref of ${String(target)} (${resource.Type}) at ${at}`);
  return ref(target as string, resource);
}

function resolveGetAtt(
  template: CfnTemplate, resolvers: Record<string, ResourceTypeResolver>, logicalId: string, attribute: string, at: string,
): string {
  const resource = resourceOf(template, logicalId, at);
  const attr = resolvers[resource.Type]?.attributes?.[attribute];
  if (!attr) throw new Error(`iam-eval: cannot resolve Fn::GetAtt ${logicalId}.${attribute} (${resource.Type}) at ${at}`);
  return attr(logicalId, resource);
}

/** The logical ID of a CloudFormation resource, or of an L2 construct's default child. */
export function logicalIdOf(construct: IConstruct): string {
  const element = CfnElement.isCfnElement(construct) ? construct : construct.node.defaultChild;
  if (!element || !CfnElement.isCfnElement(element)) {
    throw new Error(`iam-eval: ${construct.node.path} has no CloudFormation resource`);
  }
  return Stack.of(element).getLogicalId(element);
}

/** The ARN a resource of the template has in `TEST_ENV` (role, key, secret, bucket). */
export function arnOf(template: CfnTemplate, logicalId: string, options: ResolveOptions = {}): string {
  const resource = resourceOf(template, logicalId, 'arnOf');
  if (resource.Type === 'AWS::SecretsManager::Secret') return resolveIntrinsics(template, { Ref: logicalId }, options);
  return resolveIntrinsics(template, { 'Fn::GetAtt': [logicalId, 'Arn'] }, options);
}

function resourceOfType(template: CfnTemplate, logicalId: string, type: string): CfnResource {
  const resource = resourceOf(template, logicalId, `${type} lookup`);
  if (resource.Type !== type) throw new Error(`iam-eval: ${logicalId} is a ${resource.Type}, not a ${type}`);
  return resource;
}

/** The resolved key policy of an `AWS::KMS::Key`. */
export function keyPolicyOf(template: CfnTemplate, keyLogicalId: string, options: ResolveOptions = {}): PolicyDocumentJson {
  const key = resourceOfType(template, keyLogicalId, 'AWS::KMS::Key');
  const policy = key.Properties?.KeyPolicy;
  if (!policy) throw new Error(`iam-eval: key ${keyLogicalId} has no KeyPolicy`);
  return resolveIntrinsics(template, policy, options);
}

/**
 * The resolved resource policy of an `AWS::SecretsManager::Secret` (from the
 * `AWS::SecretsManager::ResourcePolicy` whose `SecretId` refers to it), or
 * undefined if it has none. Throws if there is more than one.
 */
export function secretPolicyOf(template: CfnTemplate, secretLogicalId: string, options: ResolveOptions = {}): PolicyDocumentJson | undefined {
  resourceOfType(template, secretLogicalId, 'AWS::SecretsManager::Secret');
  const arn = arnOf(template, secretLogicalId, options);
  const policies = Object.entries(template.Resources ?? {}).filter(([, r]) =>
    r.Type === 'AWS::SecretsManager::ResourcePolicy' && resolveIntrinsics(template, r.Properties?.SecretId, options) === arn);
  if (policies.length > 1) throw new Error(`iam-eval: secret ${secretLogicalId} has ${policies.length} resource policies`);
  if (policies.length === 0) return undefined;
  return resolveIntrinsics(template, policies[0][1].Properties!.ResourcePolicy, options);
}

export interface IdentityPoliciesOptions extends ResolveOptions {
  /**
   * The documents of managed policies that are not in the template (for
   * example `arn:aws:iam::aws:policy/...`), by ARN. A role that attaches a
   * managed policy not in the template and not listed here throws.
   */
  readonly externalManagedPolicies?: Record<string, PolicyDocumentJson>;
}

/**
 * Every identity policy attached to a role of the template, resolved: the
 * role's inline `Policies`, the `AWS::IAM::Policy` and `AWS::IAM::ManagedPolicy`
 * resources that list it in `Roles`, and its `ManagedPolicyArns`.
 */
export function identityPoliciesOf(template: CfnTemplate, roleLogicalId: string, options: IdentityPoliciesOptions = {}): SimulationIdentityPolicy[] {
  const role = resourceOfType(template, roleLogicalId, 'AWS::IAM::Role');
  const roleName = resolveIntrinsics<string>(template, { Ref: roleLogicalId }, options);
  const out: SimulationIdentityPolicy[] = [];
  const seen = new Set<string>();

  for (const inline of (role.Properties?.Policies ?? []) as Array<{ PolicyName: unknown; PolicyDocument: unknown }>) {
    const name = `${roleLogicalId}/${resolveIntrinsics<string>(template, inline.PolicyName, options)}`;
    out.push({ name, policy: resolveIntrinsics(template, inline.PolicyDocument, options) });
  }

  const attachesRole = (roles: unknown): boolean => Array.isArray(roles) && roles.some(r =>
    (typeof r === 'object' && r !== null && (r as { Ref?: unknown }).Ref === roleLogicalId) || r === roleName);
  for (const [id, r] of Object.entries(template.Resources ?? {})) {
    if ((r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') && attachesRole(r.Properties?.Roles)) {
      seen.add(id);
      out.push({ name: id, policy: resolveIntrinsics(template, r.Properties!.PolicyDocument, options) });
    }
  }

  for (const [i, ref] of ((role.Properties?.ManagedPolicyArns ?? []) as unknown[]).entries()) {
    const localId = typeof ref === 'object' && ref !== null ? (ref as { Ref?: unknown }).Ref : undefined;
    if (typeof localId === 'string' && template.Resources?.[localId]?.Type === 'AWS::IAM::ManagedPolicy') {
      if (!seen.has(localId)) {
        seen.add(localId);
        out.push({ name: localId, policy: resolveIntrinsics(template, template.Resources[localId].Properties!.PolicyDocument, options) });
      }
      continue;
    }
    const arn = resolveIntrinsics<string>(template, ref, options);
    const document = options.externalManagedPolicies?.[arn];
    if (!document) {
      throw new Error(`iam-eval: role ${roleLogicalId} attaches managed policy ${arn} (ManagedPolicyArns[${i}]), whose document is not in the template; pass it in \`externalManagedPolicies\``);
    }
    out.push({ name: arn, policy: document });
  }
  return out;
}

/** A policy document allowing `actions` on `resources`: an identity policy a test hands a principal. */
export function allowPolicy(actions: string | string[], resources: string | string[] = '*'): PolicyDocumentJson {
  return { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: actions, Resource: resources }] };
}

/** The account of an ARN (`arn:aws:iam::222222222222:role/X` -> `222222222222`). */
export function accountOfArn(arn: string): string {
  const account = arn.split(':')[4];
  if (!/^\d{12}$/.test(account ?? '')) throw new Error(`iam-eval: no account in ARN ${arn}`);
  return account;
}

export interface KmsRequestContextOptions {
  /** The caller. */
  readonly principalArn: string;
  /** The service the call comes through: a name (`secretsmanager`) or an endpoint. */
  readonly viaService?: string;
  /** The encryption context of the request. */
  readonly encryptionContext?: Record<string, string>;
}

/**
 * The request context KMS builds for a call: `kms:CallerAccount`, the
 * principal keys, TLS, and when given the service (`kms:ViaService`,
 * `aws:ViaAWSService`) and encryption context (`kms:EncryptionContext:<k>`
 * for each pair, and `kms:EncryptionContextKeys`). Only pass
 * `encryptionContext` for actions that take one.
 */
export function kmsRequestContext(options: KmsRequestContextOptions): Record<string, string | string[]> {
  const account = accountOfArn(options.principalArn);
  const context: Record<string, string | string[]> = {
    'aws:PrincipalArn': options.principalArn,
    'aws:PrincipalAccount': account,
    'aws:SecureTransport': 'true',
    'kms:CallerAccount': account,
  };
  if (options.viaService !== undefined) {
    context['kms:ViaService'] = options.viaService.includes('.') ? options.viaService : `${options.viaService}.${REGION}.amazonaws.com`;
    context['aws:ViaAWSService'] = 'true';
  }
  if (options.encryptionContext !== undefined) {
    for (const [k, v] of Object.entries(options.encryptionContext)) context[`kms:EncryptionContext:${k}`] = v;
    context['kms:EncryptionContextKeys'] = Object.keys(options.encryptionContext);
  }
  return context;
}

export interface SimulateRequest {
  /** The caller, e.g. `arn:aws:iam::111111111111:role/App`. */
  readonly principalArn: string;
  /** One concrete action, e.g. `kms:Decrypt`. */
  readonly action: string;
  /** One concrete resource ARN (no wildcards, except `*` for wildcard-only actions). */
  readonly resourceArn: string;
  /** The account that owns the resource. @default - the account of `resourceArn`, else TEST_ENV.account */
  readonly resourceAccount?: string;
  /** The caller's identity policies: named (from `identityPoliciesOf`) or plain documents. */
  readonly identityPolicies?: Array<SimulationIdentityPolicy | PolicyDocumentJson>;
  /** The resource policy (a key policy, a secret policy). */
  readonly resourcePolicy?: PolicyDocumentJson;
  /** The request context. See `kmsRequestContext`. */
  readonly context?: Record<string, string | string[]>;
}

const CONDITION_OPERATOR = new RegExp(`^(ForAnyValue:|ForAllValues:)?(${[
  'StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike',
  'NumericEquals', 'NumericNotEquals', 'NumericLessThan', 'NumericLessThanEquals', 'NumericGreaterThan', 'NumericGreaterThanEquals',
  'DateEquals', 'DateNotEquals', 'DateLessThan', 'DateLessThanEquals', 'DateGreaterThan', 'DateGreaterThanEquals',
  'Bool', 'BinaryEquals', 'IpAddress', 'NotIpAddress', 'ArnEquals', 'ArnLike', 'ArnNotEquals', 'ArnNotLike',
].join('|')})(IfExists)?$|^Null$`);
const knownNames = new Map<string, string | undefined>();

async function problemOf(name: string, check: () => Promise<unknown>): Promise<string | undefined> {
  if (!knownNames.has(name)) {
    try {
      await check();
      knownNames.set(name, undefined);
    } catch (e) {
      knownNames.set(name, (e as Error).message);
    }
  }
  return knownNames.get(name);
}

/**
 * What iam-simulate's own validation lets through but would silently decide
 * wrong (a statement that never matches): unknown actions, condition
 * operators and condition keys. Returns the problems, empty if none.
 */
export async function lintPolicy(document: PolicyDocumentJson, where = 'policy'): Promise<string[]> {
  const problems: string[] = [];
  for (const [i, statement] of (document.Statement ?? []).entries()) {
    const at = `${where}.Statement[${i}]${statement.Sid ? ` (${statement.Sid})` : ''}`;
    for (const action of [statement.Action ?? [], statement.NotAction ?? []].flat()) {
      if (action === '*' || /[*?]/.test(action)) continue;
      const [service, name] = action.split(':');
      const problem = await problemOf(`action ${action.toLowerCase()}`, () => isWildcardOnlyAction(service.toLowerCase(), name));
      if (problem) problems.push(`${at}: unknown action ${action} (${problem})`);
    }
    for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
      if (!CONDITION_OPERATOR.test(operator)) problems.push(`${at}: unknown condition operator ${operator}`);
      for (const key of Object.keys(entries)) {
        const problem = await problemOf(`key ${key.toLowerCase()}`, () => typeForContextKey(key));
        if (problem) problems.push(`${at}: unknown condition key ${key} (${problem})`);
      }
    }
  }
  return problems;
}

/** Keys iam-simulate drops although they apply: the `:`-separated KMS encryption-context variable. */
const DROPPED_BY_SIMULATOR = /^kms:EncryptionContext:.+$/i;

/**
 * Evaluates one request. Throws on anything the simulator rejects (invalid
 * policy, action, resource, or a context key that does not apply to the
 * action), so only a valid request gets a decision.
 */
export async function simulate(request: SimulateRequest): Promise<Decision> {
  const context = request.context ?? {};
  const resourceAccount = request.resourceAccount ?? (request.resourceArn.split(':')[4] || ACCOUNT);
  const build = (contextVariables: Record<string, string | string[]>, unsafe = false): Simulation => ({
    request: {
      principal: request.principalArn,
      action: request.action,
      resource: { resource: request.resourceArn, accountId: resourceAccount },
      contextVariables,
    },
    identityPolicies: namedIdentityPolicies(request),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    // runUnsafeSimulation loads the resource policy without a name, and then
    // fails reading it; a pre-validated policy (iam-policy's ValidatedPolicy
    // shape) carries one. Only used after runSimulation validated the policy.
    resourcePolicy: unsafe && request.resourcePolicy
      ? { __validated: true, policyDocument: request.resourcePolicy, metadata: { name: 'ResourcePolicy' }, errors: [] }
      : request.resourcePolicy,
  });

  const problems = [
    ...(request.resourcePolicy ? await lintPolicy(request.resourcePolicy, 'resourcePolicy') : []),
    ...(await Promise.all(namedIdentityPolicies(request).map(p => lintPolicy(p.policy, `identityPolicy ${p.name}`)))).flat(),
  ];
  if (problems.length > 0) {
    throw new Error(`iam-eval: policies that would never match as written, for ${describe(request)}:\n${problems.join('\n')}`);
  }

  const simulation = build(context);
  const result = await runSimulation(simulation, { simulationMode: 'Strict' });
  if (result.resultType === 'error') {
    throw new Error(`iam-eval: iam-simulate rejected the request ${describe(request)}: ${JSON.stringify(result.errors, null, 2)}`);
  }
  if (result.resultType !== 'single') {
    throw new Error(`iam-eval: ${describe(request)} was simulated as a wildcard resource (${result.resultType}); use a concrete resource ARN`);
  }
  const ignored = result.result.ignoredContextKeys ?? [];
  // Encryption-context keys are only dropped wrongly if the action takes them.
  const [service, action] = request.action.split(':');
  const takesContext = ignored.length > 0 && (await allowedContextKeysForRequest(service, action, request.resourceArn, false, undefined))
    .includes('kms:encryptioncontext:${encryptioncontextkey}');
  const unexpected = ignored.filter(k => !(takesContext && DROPPED_BY_SIMULATOR.test(k)));
  if (unexpected.length > 0) {
    throw new Error(`iam-eval: context keys ${unexpected.join(', ')} do not apply to ${request.action} on ${request.resourceArn}; remove them (${describe(request)})`);
  }
  const decision = checkDecision(result.overallResult, request);
  if (ignored.length === 0) return decision;

  // iam-simulate dropped the encryption-context keys. The request itself is
  // valid (it passed validation above): evaluate it with them, through the
  // unvalidated engine, after checking that engine agrees with the validated
  // one on the same request without those keys.
  const kept = await normalizeContext(Object.fromEntries(Object.entries(context).filter(([k]) => !ignored.includes(k))));
  const unsafeWithout = checkDecision(runUnsafeSimulation(build(kept, true), { simulationMode: 'Strict' }), request);
  if (unsafeWithout !== decision) {
    throw new Error(`iam-eval: the unvalidated engine disagrees with the validated one (${unsafeWithout} vs ${decision}) for ${describe(request)}; cannot evaluate encryption-context keys`);
  }
  return checkDecision(runUnsafeSimulation(build(await normalizeContext(context), true), { simulationMode: 'Strict' }), request);
}

function namedIdentityPolicies(request: SimulateRequest): SimulationIdentityPolicy[] {
  return (request.identityPolicies ?? []).map((p, i) =>
    'Statement' in p ? { name: `identity${i}`, policy: p } : p as SimulationIdentityPolicy);
}

function checkDecision(value: string, request: SimulateRequest): Decision {
  if (value === 'Allowed' || value === 'ImplicitlyDenied' || value === 'ExplicitlyDenied') return value;
  throw new Error(`iam-eval: unexpected decision ${value} for ${describe(request)}`);
}

/** Gives each context value the shape its key's type needs (a list for ArrayOf* keys), as `runSimulation` does. */
async function normalizeContext(context: Record<string, string | string[]>): Promise<Record<string, string | string[]>> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(context)) {
    const type = await typeForContextKey(key);
    if (isConditionKeyArray(type)) {
      out[key] = [value].flat();
    } else {
      if (Array.isArray(value)) throw new Error(`iam-eval: context key ${key} takes one value, got ${JSON.stringify(value)}`);
      out[key] = value;
    }
  }
  return out;
}

function describe(request: SimulateRequest): string {
  return `${request.principalArn} ${request.action} ${request.resourceArn} ${JSON.stringify(request.context ?? {})}`;
}
