/**
 * Builds a key policy from the role model and keeps it safe as it grows.
 *
 * Internal: shared by `CustomerManagedKey` and `CustomerManagedKeyReplica`.
 * Every statement goes through `add()`, which refuses `kms:*`, unbounded
 * `Principal: "*"`, and a principal that would be both administrator and user,
 * and merges statements with the same effect, actions, resources and
 * conditions so that hundreds of grantees fit in one policy.
 */
import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import {
  adminActions, CRYPTO_ACTIONS, isAdminWriteAction, isCryptoAction, KEY_POLICY_MAX_BYTES, LOCKOUT_ACTION,
  PRINCIPAL_BOUNDING_CONDITION_KEYS, userDeniedActions,
} from './roles';

/** The Sids of the role statements, so tests, nag rules and readers can find them. */
export const SID = {
  accountAdmin: 'AccountAdministersKey',
  admins: 'AdministratorsManageKey',
  adminsDeny: 'AdministratorsNeverUseKey',
  users: 'UsersUseKey',
  usersDeny: 'UsersNeverManageKey',
  serviceUsers: 'ServiceUsersCreateGrantsForAwsResources',
  services: 'ServicesUseKey',
  accountViaService: 'AccountUsesKeyOnlyViaService',
} as const;

/** The role a principal holds in this policy. */
export type PolicyRole = 'administrator' | 'user';

export class KeyPolicyBuilder {
  public readonly document: iam.PolicyDocument;
  private readonly merged = new Map<string, iam.PolicyStatement>();
  private readonly principalsOf = new Map<string, Set<string>>();
  private readonly roles = new Map<string, { role: PolicyRole; label: string }>();
  private readonly denies = new Set<iam.PolicyStatement>();
  private readonly denied = new Map<iam.PolicyStatement, Set<string>>();
  private readonly adminDeny: iam.PolicyStatement;
  private readonly userDeny: iam.PolicyStatement;

  constructor(private readonly scope: IConstruct, private readonly multiRegion: boolean) {
    this.document = new iam.PolicyDocument();
    this.adminDeny = new iam.PolicyStatement({
      sid: SID.adminsDeny,
      effect: iam.Effect.DENY,
      actions: [...CRYPTO_ACTIONS],
      resources: ['*'],
    });
    this.userDeny = new iam.PolicyStatement({
      sid: SID.usersDeny,
      effect: iam.Effect.DENY,
      actions: userDeniedActions(),
      resources: ['*'],
    });
  }

  /** The account root may manage (never use) the key, so it can never be locked out. */
  public addAccountAdministration(): void {
    this.addStatement(new iam.PolicyStatement({
      sid: SID.accountAdmin,
      actions: adminActions(this.multiRegion),
      principals: [new iam.AccountRootPrincipal()],
      resources: ['*'],
    }));
  }

  /** Named administrators: manage, and an explicit Deny of every cryptographic action. */
  public addAdministrators(principals: iam.IPrincipal[], property: string): void {
    if (principals.length === 0) return;
    for (const p of principals) {
      this.assertNamedPrincipal(p, property);
    }
    this.addStatement(new iam.PolicyStatement({
      sid: SID.admins,
      actions: adminActions(this.multiRegion),
      principals,
      resources: ['*'],
    }), `\`${property}\``);
  }

  /**
   * Adds a statement, merging it into an existing one with the same effect,
   * actions, resources, conditions and Sid. Refuses what would break the role
   * model, and records which named principals are administrators and users.
   * Named administrators always land in the administrators' Deny of every
   * cryptographic action; named users land in the users' Deny of management
   * when `denyRole` is set (the `users`-style properties). Grantees are not
   * added to that Deny: it would double the policy size per grantee.
   */
  public addStatement(statement: iam.PolicyStatement, label = 'a grant', denyRole = false): void {
    const actions = expandActions(statement.actions);
    this.assertNoWildcardAction(statement.effect, actions);
    this.assertBoundedStar(statement);
    const named: iam.IPrincipal[] = [];
    if (statement.effect === iam.Effect.ALLOW) {
      const role = this.roleOfActions(actions);
      for (const p of statement.principals) {
        if (this.isNamedPrincipal(p)) {
          if (role) this.claim(p, role, label);
          named.push(p);
        } else if (role === 'user' && (this.isAccountRoot(p) || this.isStar(p)) && !hasConditionKey(statement, 'kms:ViaService')) {
          throw new Error(`${label} would let every principal of the account use this key directly. Account-wide use is allowed only through an AWS service: pass \`viaService\` (for example 'secretsmanager'), or grant the named roles that need the key.`);
        }
      }
    }
    const key = this.mergeKey(statement, actions);
    const existing = this.merged.get(key);
    const listed = this.principalsOf.get(key) ?? new Set<string>();
    const fresh = statement.principals.filter(p => !listed.has(this.principalKey(p)));
    fresh.forEach(p => listed.add(this.principalKey(p)));
    this.principalsOf.set(key, listed);
    if (existing) {
      // Merged: the same effect, actions, resources and conditions; each principal listed once.
      if (fresh.length > 0) existing.addPrincipals(...fresh);
    } else {
      const copy = new iam.PolicyStatement({
        sid: this.uniqueSid(statement.sid ?? 'Grant'),
        effect: statement.effect,
        actions,
        notActions: statement.notActions,
        resources: statement.resources.length > 0 ? statement.resources : ['*'],
        notResources: statement.notResources,
        principals: statement.principals,
        notPrincipals: statement.notPrincipals,
        conditions: statement.conditions,
      });
      this.merged.set(key, copy);
      this.document.addStatements(copy);
    }
    for (const p of named) {
      const role = this.roleOf(p);
      if (role === 'administrator') this.addDenyPrincipal(this.adminDeny, p);
      if (role === 'user' && denyRole) this.addDenyPrincipal(this.userDeny, p);
    }
  }

  /** The principal that holds a role, or undefined. */
  public roleOf(principal: iam.IPrincipal): PolicyRole | undefined {
    return this.roles.get(this.principalKey(principal))?.role;
  }

  /** Whether a principal can call PutKeyPolicy: used by the lockout guard. */
  public isManageable(): boolean {
    return this.statements().some(s =>
      s.Effect === 'Allow' && asArray(s.Action).includes(LOCKOUT_ACTION) && s.Principal !== undefined);
  }

  /**
   * The key policy size in bytes as KMS will count it, estimating every
   * unresolved token (a role ARN, an account ID) at its longest likely size.
   */
  public estimatedSize(): number {
    const stack = Stack.of(this.scope);
    return estimatePolicySize(stack.stackName, stack.resolve(this.document.toJSON()));
  }

  /** Validation messages for the finished policy (size, lockout). */
  public validate(lockoutFix: string): string[] {
    const errors: string[] = [];
    if (!this.isManageable()) {
      errors.push(`The key policy leaves no principal that can call kms:PutKeyPolicy, so the key could never be managed again (KMS: "The new key policy will not allow you to update the key policy in the future"). ${lockoutFix}`);
    }
    const size = this.estimatedSize();
    if (size > KEY_POLICY_MAX_BYTES) {
      errors.push(`The key policy is about ${size} bytes, over the ${KEY_POLICY_MAX_BYTES}-byte KMS limit. Grant roles rather than many individual principals, put grantees that share a purpose behind one role, or use grants with the same options so their statements merge.`);
    }
    return errors;
  }

  private statements(): Array<{ Effect: string; Action?: string | string[]; Principal?: unknown }> {
    return (Stack.of(this.scope).resolve(this.document.toJSON())?.Statement ?? []);
  }

  private addDenyPrincipal(deny: iam.PolicyStatement, principal: iam.IPrincipal): void {
    if (!this.denies.has(deny)) {
      this.denies.add(deny);
      this.document.addStatements(deny);
    }
    const key = this.principalKey(principal);
    const listed = this.denied.get(deny) ?? new Set<string>();
    if (!listed.has(key)) {
      listed.add(key);
      this.denied.set(deny, listed);
      deny.addPrincipals(principal);
    }
  }

  private roleOfActions(actions: string[]): PolicyRole | undefined {
    const crypto = actions.filter(isCryptoAction);
    const admin = actions.filter(isAdminWriteAction);
    if (crypto.length > 0 && admin.length > 0) {
      throw new Error(`A key-policy statement mixes management actions (${admin.join(', ')}) with usage actions (${crypto.join(', ')}). Administrators manage and users use: grant them separately, with grantAdmin() or \`administrators\` for one and grantEncryptDecrypt()/grantUse() or \`users\` for the other.`);
    }
    return crypto.length > 0 ? 'user' : admin.length > 0 ? 'administrator' : undefined;
  }

  private isStar(principal: iam.IPrincipal): boolean {
    const json = Stack.of(this.scope).resolve(principal.policyFragment.principalJson) as Record<string, unknown[]>;
    return (json.AWS ?? []).includes('*');
  }

  private isAccountRoot(principal: iam.IPrincipal): boolean {
    const text = JSON.stringify(Stack.of(this.scope).resolve(principal.policyFragment.principalJson));
    return text.includes(':root') || /"\d{12}"/.test(text);
  }

  private claim(principal: iam.IPrincipal, role: PolicyRole, label: string): void {
    const key = this.principalKey(principal);
    const held = this.roles.get(key);
    if (held && held.role !== role) {
      const [admin, user] = role === 'administrator' ? [label, held.label] : [held.label, label];
      throw new Error(`${describePrincipal(this.scope, principal)} is both an administrator (${admin}) and a user (${user}) of this key. Administrators manage the key and are denied its use; users use it and are denied its management. Use two different principals (for example an admin role and an application role).`);
    }
    if (!held) this.roles.set(key, { role, label });
  }

  private assertNamedPrincipal(principal: iam.IPrincipal, property: string): void {
    if (!this.isNamedPrincipal(principal)) {
      throw new Error(`\`${property}\` must list named IAM principals (roles, users, or their ARNs), not ${describePrincipal(this.scope, principal)}: an explicit Deny on the account root or on "*" would deny every principal of the account. To let the account's IAM administrators manage the key, leave \`allowAccountToAdminister\` at its default (true).`);
    }
  }

  /** A principal an explicit Deny may name: an IAM role, user or ARN, never the account root, "*" or a service. */
  public isNamedPrincipal(principal: iam.IPrincipal): boolean {
    const json = Stack.of(this.scope).resolve(principal.policyFragment.principalJson) as Record<string, unknown[]>;
    const aws = json.AWS ?? [];
    if (Object.keys(json).some(k => k !== 'AWS')) return false;
    if (aws.length === 0) return false;
    // Not "*", and not the account root (a 12-digit account ID, or an ARN ending in :root).
    return aws.every(a => a !== '*' && !/^"\d{12}"$/.test(JSON.stringify(a)) && !JSON.stringify(a).includes(':root'));
  }

  private assertNoWildcardAction(effect: iam.Effect, actions: string[]): void {
    const bad = actions.filter(a => a === '*' || a === 'kms:*');
    if (bad.length > 0 && effect === iam.Effect.ALLOW) {
      throw new Error(`A key-policy statement may not allow "${bad[0]}": it would give one principal both the management and the use of the key. Grant the specific actions instead (grantEncryptDecrypt, grantUse, or the \`administrators\`/\`users\` properties).`);
    }
  }

  private assertBoundedStar(statement: iam.PolicyStatement): void {
    type StatementJson = { Principal?: unknown; Condition?: Record<string, Record<string, unknown>> };
    const json = Stack.of(this.scope).resolve(statement.toStatementJson()) as StatementJson;
    const principal = json.Principal;
    const isStar = principal === '*' || (typeof principal === 'object' && principal !== null && asArray((principal as Record<string, unknown>).AWS).includes('*'));
    if (!isStar || statement.effect !== iam.Effect.ALLOW) return;
    const keys = Object.values(json.Condition ?? {}).flatMap(c => Object.keys(c));
    if (!keys.some(k => PRINCIPAL_BOUNDING_CONDITION_KEYS.includes(k))) {
      throw new Error(`A key-policy statement allows Principal "*" without an account or organization condition, which would let any AWS account use the key. Add a condition on one of ${PRINCIPAL_BOUNDING_CONDITION_KEYS.join(', ')} (for example \`aws:PrincipalOrgID\`), or name the principals.`);
    }
  }

  private mergeKey(statement: iam.PolicyStatement, actions: string[]): string {
    const stack = Stack.of(this.scope);
    return JSON.stringify(stack.resolve({
      e: statement.effect,
      a: [...actions].sort(),
      na: [...statement.notActions].sort(),
      r: [...statement.resources].sort(),
      c: statement.conditions,
      np: statement.notPrincipals.map(p => p.policyFragment.principalJson),
      s: statement.sid,
    }));
  }

  private principalKey(principal: iam.IPrincipal): string {
    return JSON.stringify(Stack.of(this.scope).resolve(principal.policyFragment.principalJson));
  }

  private uniqueSid(sid: string): string {
    const taken = new Set([...this.merged.values()].map(s => s.sid));
    if (!taken.has(sid)) return sid;
    let n = 2;
    while (taken.has(`${sid}${n}`)) n++;
    return `${sid}${n}`;
  }
}

function asArray(v: unknown): unknown[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Longest likely values of the pseudo parameters. */
const PSEUDO_LENGTHS: Record<string, number> = {
  'AWS::Partition': 'aws-iso-b'.length + 1,
  'AWS::AccountId': 12,
  'AWS::Region': 'ap-southeast-5'.length,
  'AWS::URLSuffix': 'amazonaws.com.cn'.length,
};

/**
 * The size of a resolved policy document as KMS will count it, with every
 * CloudFormation intrinsic replaced by a string as long as the value it
 * will likely become: pseudo parameters at their longest, an IAM role ARN at
 * `arn:<partition>:iam::<account>:role/` plus the name CloudFormation will
 * generate (stack name + logical ID + a 13-character suffix, at most 64), and
 * anything else at 100 characters.
 */
export function estimatePolicySize(stackName: string, resolvedDocument: unknown): number {
  return JSON.stringify(resolvedDocument, (_k, v) => estimateIntrinsic(stackName, v)).length;
}

/** The length a CloudFormation role ARN of a stack will likely have (see estimatePolicySize). */
export function estimatedRoleArnLength(stackName: string, logicalId: string): number {
  return 'arn:aws-iso-b:iam::123456789012:role/'.length + Math.min(64, stackName.length + 1 + logicalId.length + 13);
}

function estimateIntrinsic(stackName: string, v: unknown): unknown {
  const length = estimateLength(stackName, v);
  return length === undefined ? v : 'x'.repeat(length);
}

function estimateLength(stackName: string, v: unknown): number | undefined {
  if (typeof v === 'string') return v.length;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const keys = Object.keys(v);
  if (keys.length !== 1 || !(keys[0].startsWith('Fn::') || keys[0] === 'Ref')) return undefined;
  const [fn, arg] = [keys[0], (v as Record<string, unknown>)[keys[0]]];
  if (fn === 'Ref' && typeof arg === 'string' && PSEUDO_LENGTHS[arg] !== undefined) return PSEUDO_LENGTHS[arg];
  if (fn === 'Fn::Join' && Array.isArray(arg) && Array.isArray(arg[1])) {
    const parts = (arg[1] as unknown[]).map(p => estimateLength(stackName, p) ?? 100);
    return parts.reduce((a, b) => a + b, 0) + String(arg[0]).length * Math.max(0, parts.length - 1);
  }
  if (fn === 'Fn::GetAtt' && Array.isArray(arg) && arg[1] === 'Arn' && typeof arg[0] === 'string') {
    return estimatedRoleArnLength(stackName, arg[0]);
  }
  return 100;
}

export function describePrincipal(scope: IConstruct, principal: iam.IPrincipal): string {
  const json = Stack.of(scope).resolve(principal.policyFragment.principalJson);
  const text = JSON.stringify(json);
  if (Token.isUnresolved(text)) return 'a principal';
  const node = (principal as unknown as { node?: { path?: string } }).node;
  return node?.path ? `Principal ${node.path} (${text})` : `Principal ${text}`;
}

/** Every KMS action the role model knows, for expanding wildcards like `kms:ReEncrypt*`. */
const KNOWN_ACTIONS = [...new Set([...adminActions(true), ...CRYPTO_ACTIONS])];

/** Expands `kms:Xyz*` wildcards into the known actions they match, so statements stay explicit. */
export function expandActions(actions: string[]): string[] {
  const out = new Set<string>();
  for (const a of actions) {
    if (a.startsWith('kms:') && a.endsWith('*') && a !== 'kms:*') {
      const prefix = a.slice(0, -1);
      const matches = KNOWN_ACTIONS.filter(k => k.startsWith(prefix));
      (matches.length > 0 ? matches : [a]).forEach(m => out.add(m));
    } else {
      out.add(a);
    }
  }
  return [...out].sort();
}

function hasConditionKey(statement: iam.PolicyStatement, conditionKey: string): boolean {
  return Object.values(statement.conditions ?? {}).some(c => Object.keys(c as object).includes(conditionKey));
}
