/**
 * Helpers the rules share: resolving a resource's policy and reading
 * statements. Internal.
 */
import { CfnResource, Stack } from 'aws-cdk-lib';

export type { StatementJson } from '../../keys/normalize';
import type { StatementJson } from '../../keys/normalize';

export function resolve(node: CfnResource, value: unknown): any {
  return Stack.of(node).resolve(value);
}

/**
 * The key policy as it will be deployed: the effective properties, raw
 * overrides included (`addPropertyOverride('KeyPolicy', ...)`), resolved.
 */
export function keyPolicyOf(node: CfnResource): unknown {
  const stack = Stack.of(node);
  const render = (node as unknown as { _toCloudFormation?: () => unknown })._toCloudFormation;
  const rendered = render ? stack.resolve(render.call(node)) as { Resources?: Record<string, { Properties?: { KeyPolicy?: unknown } }> } : undefined;
  const resource = rendered?.Resources ? Object.values(rendered.Resources)[0] : undefined;
  return resource?.Properties?.KeyPolicy ?? stack.resolve((node as unknown as { keyPolicy?: unknown }).keyPolicy);
}

export function statementsOf(document: unknown): StatementJson[] {
  const doc = document as { Statement?: StatementJson | StatementJson[] } | undefined;
  if (!doc || doc.Statement === undefined) return [];
  return Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
}

export function asArray<T>(v: T | T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Every principal of a statement, as stable JSON strings (one per AWS/Service entry, or "*"). */
export function principalsOf(s: StatementJson): string[] {
  if (s.Principal === '*') return ['"*"'];
  if (!s.Principal || typeof s.Principal !== 'object') return [];
  return Object.entries(s.Principal as Record<string, unknown>).flatMap(([kind, v]) => asArray(v).map(p => `${kind}:${JSON.stringify(p)}`));
}

export function conditionKeys(s: StatementJson): string[] {
  return Object.values(s.Condition ?? {}).flatMap(c => Object.keys(c));
}

/** Whether a principal entry is the account root (an account ID, or an ARN ending in :root). */
export function isAccountRoot(principal: string): boolean {
  return principal.includes(':root') || /^AWS:"\d{12}"$/.test(principal);
}

/** Whether an action pattern (which may hold wildcards) matches an action. */
export function actionMatches(pattern: string, action: string): boolean {
  if (pattern === '*') return true;
  const re = new RegExp(`^${pattern.split('*').map(p => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
  return re.test(action);
}

export function allowsAny(s: StatementJson, actions: readonly string[]): boolean {
  return s.Effect === 'Allow' && asArray(s.Action).some(p => actions.some(a => actionMatches(p, a)));
}

/** Whether a string looks like it came from a CloudFormation reference or a dynamic reference. */
export function isReferenceLike(value: unknown): boolean {
  if (typeof value !== 'string') return true; // an intrinsic object
  return value.startsWith('{{resolve:') || value.startsWith('arn:');
}
