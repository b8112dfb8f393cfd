/**
 * The app as the report sees it: every stack's SYNTHESIZED template (read
 * from the cloud assembly), with the intrinsics of its policies resolved to
 * strings, and the construct path of each resource. Internal module.
 *
 * Names used for what is only known at deploy time (stable, so policies
 * written in different stacks name the same thing the same way):
 * - a role: its `RoleName` if literal, else `<stack>-<LogicalId>`;
 * - a key: `key/<stack>-<LogicalId>`; a secret: `secret:<Name or stack-LogicalId>-XXXXXX`;
 * - anything else: `{<stack>.<LogicalId>[.<Attribute>]}`, which matches
 *   nothing but itself (so a statement on it is never taken for another).
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import { Stack, Stage, Token, CfnElement, CfnResource } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

export interface CfnRes {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
  readonly Metadata?: Record<string, unknown>;
}

/** One stack of the app, its template, and how to resolve its values. */
export interface StackModel {
  readonly stack: Stack;
  readonly name: string;
  readonly account: string;
  readonly region: string;
  readonly template: { Resources?: Record<string, CfnRes>; Outputs?: Record<string, any> };
  /** Construct path of each logical ID of the types in NAMED_TYPES (the ones the report names). */
  readonly paths: Map<string, string>;
}

export interface AppModel {
  readonly stacks: StackModel[];
  /** Export name -> [stack, value] for Fn::ImportValue. */
  readonly exports: Map<string, { stack: StackModel; value: unknown }>;
  /** Resolved role ARN -> construct path. */
  readonly roleNames: Map<string, string>;
}

/** The resource types whose construct paths the report uses: principals, keys, secrets, reader functions. */
const NAMED_TYPES = new Set(['AWS::IAM::Role', 'AWS::KMS::Key', 'AWS::SecretsManager::Secret', 'AWS::Lambda::Function']);

/** Reads every stack's template from the assembly and indexes it. */
export function buildModel(root: IConstruct, all: IConstruct[] = root.node.findAll()): AppModel {
  const stacks: StackModel[] = [];
  // One walk of the tree: the resources the report names, by their stack (a nested stack's are not its parent's).
  const named = new Map<Stack, CfnResource[]>();
  for (const r of all) {
    if (CfnResource.isCfnResource(r) && NAMED_TYPES.has(r.cfnResourceType)) {
      const owner = Stack.of(r);
      const found = named.get(owner);
      if (found) found.push(r); else named.set(owner, [r]);
    }
  }
  for (const c of all) {
    if (!Stack.isStack(c) || c.nested) continue;
    const stage = Stage.of(c);
    const outdir = stage?.outdir;
    if (!outdir) continue;
    let template: StackModel['template'];
    try {
      template = JSON.parse(readFileSync(join(outdir, c.templateFile), 'utf-8'));
    } catch {
      continue;
    }
    // Resolving a logical ID is the dearest step of the model: only the
    // resources the report names by path (see NAMED_TYPES) are resolved.
    const paths = new Map<string, string>();
    for (const r of named.get(c) ?? []) {
      paths.set(c.resolve((r as CfnElement).logicalId), r.node.path);
    }
    stacks.push({
      stack: c,
      name: c.stackName,
      account: Token.isUnresolved(c.account) ? '{ACCOUNT}' : c.account,
      region: Token.isUnresolved(c.region) ? '{REGION}' : c.region,
      template,
      paths,
    });
  }
  const exports = new Map<string, { stack: StackModel; value: unknown }>();
  for (const s of stacks) {
    for (const o of Object.values(s.template.Outputs ?? {})) {
      if (o?.Export?.Name !== undefined) {
        const name = resolveValue(s, o.Export.Name, undefined);
        if (typeof name === 'string') exports.set(name, { stack: s, value: o.Value });
      }
    }
  }
  const model: AppModel = { stacks, exports, roleNames: new Map() };
  for (const s of stacks) {
    for (const [id, r] of Object.entries(s.template.Resources ?? {})) {
      if (r.Type === 'AWS::IAM::Role') model.roleNames.set(roleArn(s, id, r), s.paths.get(id) ?? `${s.name}/${id}`);
    }
  }
  return model;
}

export function roleName(s: StackModel, id: string, r: CfnRes): string {
  const n = r.Properties?.RoleName;
  return typeof n === 'string' ? n : `${s.name}-${id}`;
}

export function roleArn(s: StackModel, id: string, r: CfnRes): string {
  const path = typeof r.Properties?.Path === 'string' ? r.Properties.Path : '/';
  return `arn:aws:iam::${s.account}:role${path}${roleName(s, id, r)}`;
}

export function keyArn(s: StackModel, id: string): string {
  return `arn:aws:kms:${s.region}:${s.account}:key/${s.name}-${id}`;
}

export function secretArn(s: StackModel, id: string, r: CfnRes): string {
  const n = r.Properties?.Name;
  return `arn:aws:secretsmanager:${s.region}:${s.account}:secret:${typeof n === 'string' ? n : `${s.name}-${id}`}-XXXXXX`;
}

function ref(s: StackModel, id: string): unknown {
  switch (id) {
    case 'AWS::AccountId': return s.account;
    case 'AWS::Region': return s.region;
    case 'AWS::Partition': return 'aws';
    case 'AWS::URLSuffix': return 'amazonaws.com';
    case 'AWS::StackName': return s.name;
    case 'AWS::NoValue': return undefined;
  }
  const r = s.template.Resources?.[id];
  if (!r) return `{${s.name}.${id}}`;
  switch (r.Type) {
    case 'AWS::IAM::Role': return roleName(s, id, r);
    case 'AWS::KMS::Key': return `${s.name}-${id}`;
    case 'AWS::SecretsManager::Secret': return secretArn(s, id, r);
    default: return `{${s.name}.${id}}`;
  }
}

function getAtt(s: StackModel, id: string, attr: string): unknown {
  const r = s.template.Resources?.[id];
  if (r?.Type === 'AWS::IAM::Role' && attr === 'Arn') return roleArn(s, id, r);
  if (r?.Type === 'AWS::KMS::Key' && attr === 'Arn') return keyArn(s, id);
  if (r?.Type === 'AWS::KMS::Key' && attr === 'KeyId') return `${s.name}-${id}`;
  if (r?.Type === 'AWS::SecretsManager::Secret' && (attr === 'Id' || attr === 'SecretArn')) return secretArn(s, id, r);
  return `{${s.name}.${id}.${attr}}`;
}

/** A template value with its intrinsics resolved (see the module comment for what stays symbolic). */
export function resolveValue(s: StackModel, v: unknown, model: AppModel | undefined): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(x => resolveValue(s, x, model)).filter(x => x !== undefined);
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
    const arg = o[keys[0]];
    switch (keys[0]) {
      case 'Ref': return ref(s, String(arg));
      case 'Fn::GetAtt': {
        const [id, attr] = typeof arg === 'string' ? arg.split('.') : arg as string[];
        return getAtt(s, id, attr);
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown[]];
        const resolved = resolveValue(s, parts, model);
        return Array.isArray(resolved) ? resolved.map(p => typeof p === 'string' ? p : JSON.stringify(p)).join(sep) : JSON.stringify(v);
      }
      case 'Fn::Select': {
        const [i, l] = arg as [unknown, unknown];
        const list = resolveValue(s, l, model);
        return Array.isArray(list) ? list[Number(resolveValue(s, i, model))] : JSON.stringify(v);
      }
      case 'Fn::Split': {
        const [sep, src] = arg as [string, unknown];
        const str = resolveValue(s, src, model);
        return typeof str === 'string' ? str.split(sep) : JSON.stringify(v);
      }
      case 'Fn::Sub': {
        const [text, vars] = typeof arg === 'string' ? [arg, {} as Record<string, unknown>] : arg as [string, Record<string, unknown>];
        return text.replace(/\$\{(!?)([^}]+)\}/g, (_m, bang: string, name: string) => {
          if (bang) return `\${${name}}`;
          if (name in vars) return String(resolveValue(s, vars[name], model));
          if (name.includes('.')) {
            const [id, attr] = name.split('.');
            return String(getAtt(s, id, attr));
          }
          return String(ref(s, name));
        });
      }
      case 'Fn::ImportValue': {
        const name = resolveValue(s, arg, model);
        const exp = typeof name === 'string' ? model?.exports.get(name) : undefined;
        return exp ? resolveValue(exp.stack, exp.value, model) : `{import:${String(name)}}`;
      }
      default: return JSON.stringify(v);
    }
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = resolveValue(s, o[k], model);
  return out;
}
