/**
 * Builds a key policy from the role model and keeps it safe as it grows.
 *
 * Internal: shared by `CustomerManagedKey` and `CustomerManagedKeyReplica`.
 * Every statement goes through `addStatement()`, which first reduces it to
 * the normal form of `normalize.ts` (canonical action names, wildcards
 * expanded, one identity per principal) and refuses what that form cannot
 * judge; the checks then run on the normal form only: no statement mixes
 * management and use, no principal is both administrator and user, every
 * `Principal: "*"` is bounded, account-wide use goes through a service,
 * service principals are bound to this account. Statements with the same
 * effect, actions, resources and conditions are merged so that hundreds of
 * grantees fit in one policy.
 */
import { IResolveContext, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import {
  bindsServiceToAccount, hasPositiveCondition, identitiesOfPrincipal, normalizeActions, normalizeStatement, PrincipalIdentity,
} from './normalize';
import {
  adminActions, CRYPTO_ACTIONS, isAdminWriteAction, isCryptoAction, KEY_POLICY_MAX_BYTES, LOCKOUT_ACTION, userDeniedActions,
} from './roles';
import { propError } from '../errors';

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

type Conditions = Record<string, Record<string, unknown>>;

/** The statements, roles and Denies of one key policy, built from the operations recorded so far. */
class PolicyState {
  public readonly document: iam.PolicyDocument;
  private readonly merged = new Map<string, iam.PolicyStatement>();
  private readonly principalsOf = new Map<string, Set<string>>();
  private readonly roles = new Map<string, { role: PolicyRole; label: string; display: string }>();
  private readonly denies = new Set<iam.PolicyStatement>();
  private readonly denied = new Map<iam.PolicyStatement, Set<string>>();
  private readonly adminDeny: iam.PolicyStatement;
  private readonly userDeny: iam.PolicyStatement;
  /** Identities allowed kms:PutKeyPolicy, and those denied it without a condition (for the lockout guard). */
  private readonly mayPutPolicy = new Set<string>();
  private readonly deniedPutPolicy = new Set<string>();

  constructor(private readonly scope: IConstruct, private readonly multiRegion: boolean, private readonly accountUse = true) {
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
    }), 'CustomerManagedKey.allowAccountToAdminister');
  }

  /**
   * Named administrators: the given actions (by default every administrative
   * one), and an explicit Deny of every cryptographic action. A principal
   * with conditions gets an Allow of its own carrying them; its Deny holds
   * without them.
   */
  public addAdministrators(principals: iam.IPrincipal[], label: string, actions: string[] = adminActions(this.multiRegion)): void {
    if (principals.length === 0) return;
    for (const p of principals) this.assertNamedPrincipal(p, label);
    const plain = principals.filter(p => !hasOwnConditions(p));
    const groups = [...(plain.length > 0 ? [plain] : []), ...principals.filter(hasOwnConditions).map(p => [p])];
    for (const group of groups) {
      this.addStatement(new iam.PolicyStatement({ sid: SID.admins, actions, principals: group, resources: ['*'] }), label);
    }
  }

  /**
   * Adds a statement. It is normalized first, and refused (with the
   * library's error, naming `label`) when it cannot be judged or would break
   * the role model. Named administrators always land in the administrators'
   * Deny of every cryptographic action; named users land in the users' Deny
   * of management when `denyRole` is set (the `users`-style properties).
   * Grantees are not added to that Deny: it would double the policy size per
   * grantee.
   */
  public addStatement(
    statement: iam.PolicyStatement, label = 'CustomerManagedKey.addToResourcePolicy', denyRole = false, isolate = false, principals?: iam.IPrincipal[],
  ): void {
    const stack = Stack.of(this.scope);
    const json = stack.resolve(statement.toStatementJson());
    const perPrincipal = (principals ?? statement.principals).map(p => ({ principal: p, ...identitiesOfPrincipal(this.scope, p) }));
    const { statement: norm, problems } = normalizeStatement(json, stack, perPrincipal.flatMap(p => p.identities));
    if (!norm) throw propError(label, '', `A key-policy statement ${problems[0].problem}`, problems[0].fix);
    const session = perPrincipal.flatMap(p => p.identities).find(i => i.kind === 'session');
    if (session) {
      // A Deny naming one session leaves the role's other sessions free; the role's own ARN
      // (with its path) cannot be derived from a session ARN.
      throw propError(label, '', `names the assumed-role session ${session.display}, which is one session of a role: a Deny for it would not hold for the role's other sessions.`, 'Name the role itself (arn:aws:iam::<account>:role/<path>/<name>, or the iam.Role).');
    }

    // A principal with conditions, or a service principal, never shares an Allow with others.
    if (norm.effect === 'Allow' && perPrincipal.length > 1 && perPrincipal.some(p => hasOwnConditions(p.principal) || p.identities.some(i => i.kind === 'service'))) {
      for (const p of perPrincipal) {
        this.addStatement(copyStatement(this.scope, statement, p.principal, principals), label, denyRole, true);
      }
      return;
    }

    const actions = norm.actions.map(a => a.name);
    // A Deny of actions without a key resource only: nothing a key policy governs.
    if (actions.length === 0) return;
    let conditions = statement.conditions as Conditions;
    const named: iam.IPrincipal[] = [];
    let role: PolicyRole | undefined;
    if (norm.effect === 'Allow') {
      role = this.roleOfActions(label, actions, json.Action);
      const wantsUse = actions.some(isCryptoAction);
      for (const { principal, identities } of perPrincipal) {
        for (const id of identities) {
          if (id.kind === 'star') {
            if (!norm.bounded) {
              throw propError(label, '', 'A key-policy statement allows Principal "*" without a positive, literal account or organization bound, which would let any AWS account in.', 'Add a StringEquals condition on aws:PrincipalAccount, aws:PrincipalOrgID, kms:CallerAccount or aws:SourceAccount whose values are literal 12-digit accounts or o-... IDs (or Aws.ACCOUNT_ID); a wildcard value, a Like or Not operator, or IfExists does not bound. Or name the principals.');
            }
            if (role === 'administrator') {
              // Any principal of the account could manage the key with no IAM policy at all, grantees too.
              throw propError(label, '', 'allows management actions to Principal "*": every principal of the bounded accounts could manage the key without any IAM policy, users and grantees included.', 'Name the administrators (`administrators`, grantAdmin), or keep `allowAccountToAdminister`, which delegates management to the account\'s IAM policies.');
            }
            if (wantsUse && !hasPositiveCondition(conditions, 'kms:ViaService')) throw this.accountWideUse(label);
            if (wantsUse && !this.accountUse) throw this.strict(label);
          } else if (id.kind === 'account') {
            if (wantsUse && !hasPositiveCondition(conditions, 'kms:ViaService')) throw this.accountWideUse(label);
            if (wantsUse && !this.accountUse) throw this.strict(label);
          } else if (id.kind === 'group') {
            throw propError(label, '', `${id.display} is an IAM group, and a group cannot be a principal in a key policy (KMS rejects the policy).`, 'Name the roles or users instead, or grant the group an IAM policy that relies on an account delegation.');
          } else if (id.kind === 'federated' || (id.kind === 'other' && !id.key.startsWith('aws:'))) {
            throw propError(label, '', `${id.display} is not a principal the key-policy role model can judge.`, 'Name IAM roles, users, their ARNs, the account, or AWS service principals.');
          } else if (id.kind !== 'service') {
            if (role && id.kind === 'other') {
              // It cannot be compared with the other principals, so "one principal in two roles" could not be judged.
              throw propError(label, '', `${id.display} is a principal whose identity cannot be known at synth (an unresolved token), so the role model cannot tell whether it also holds another role.`, 'Pass the iam.Role itself, or its literal ARN (arn:aws:iam::<account>:role/<path>/<name>).');
            }
            if (role) this.claim(id, role, label);
          }
        }
        if (identities.some(i => i.kind !== 'service' && i.kind !== 'star' && i.kind !== 'account')) named.push(principal);
      }
      if (wantsUse && perPrincipal.some(p => p.identities.some(i => i.kind === 'service')) && !bindsServiceToAccount(stack.resolve(conditions), stack)) {
        // A service acting for any account could otherwise use the key (the confused deputy).
        conditions = { ...conditions, StringEquals: { ...(conditions.StringEquals ?? {}), 'aws:SourceAccount': stack.account } };
      }
    }

    const alone = isolate || perPrincipal.some(p => hasOwnConditions(p.principal));
    const key = this.mergeKey(norm.effect, actions, statement, conditions, alone ? perPrincipal.flatMap(p => p.identities.map(i => i.key)) : []);
    const existing = this.merged.get(key);
    const listed = this.principalsOf.get(key) ?? new Set<string>();
    const fresh = perPrincipal.filter(p => p.identities.some(i => !listed.has(i.key)));
    fresh.forEach(p => p.identities.forEach(i => listed.add(i.key)));
    this.principalsOf.set(key, listed);
    if (existing) {
      // Merged: the same effect, actions, resources and conditions; each principal listed once.
      if (fresh.length > 0) existing.addPrincipals(...fresh.map(p => plainPrincipal(this.scope, p.principal)));
    } else {
      const copy = new iam.PolicyStatement({
        sid: this.uniqueSid(statement.sid ?? 'Grant'),
        effect: statement.effect,
        actions,
        resources: ['*'],
        principals: perPrincipal.map(p => plainPrincipal(this.scope, p.principal)),
        conditions: Object.keys(conditions).length > 0 ? conditions : undefined,
      });
      this.merged.set(key, copy);
      this.document.addStatements(copy);
    }

    // The lockout guard's view: who may and who may never call PutKeyPolicy.
    if (actions.includes(LOCKOUT_ACTION)) {
      const ids = perPrincipal.flatMap(p => p.identities.map(i => i.key));
      if (norm.effect === 'Allow') ids.forEach(i => this.mayPutPolicy.add(i));
      // A Deny counts whatever its condition: one that always holds (Bool aws:SecureTransport) locks out as surely.
      else ids.forEach(i => this.deniedPutPolicy.add(i));
    }
    for (const p of named) {
      const r = this.roleOfPrincipal(p);
      if (r === 'administrator') this.addDenyPrincipal(this.adminDeny, p);
      if (r === 'user' && denyRole) this.addDenyPrincipal(this.userDeny, p);
    }
  }

  /** The role a principal holds, or undefined. */
  public roleOfPrincipal(principal: iam.IPrincipal): PolicyRole | undefined {
    const ids = identitiesOfPrincipal(this.scope, principal).identities;
    return ids.map(i => this.roles.get(i.key)?.role).find(r => r !== undefined);
  }

  /** The role an identity holds, or undefined. */
  public roleOfIdentity(identity: string): PolicyRole | undefined {
    return this.roles.get(identity)?.role;
  }

  /**
   * Whether some principal can call PutKeyPolicy: allowed it, and not denied
   * it by a Deny without conditions (a Deny of "*" denies everyone).
   */
  public isManageable(): boolean {
    if (this.deniedPutPolicy.has('*')) return false;
    return [...this.mayPutPolicy].some(k => !this.deniedPutPolicy.has(k));
  }

  /** Whether an identity (a key from `identitiesOf`) may call PutKeyPolicy. */
  public mayAdminister(identity: string): boolean {
    return this.mayPutPolicy.has(identity) && !this.deniedPutPolicy.has(identity) && !this.deniedPutPolicy.has('*');
  }

  /** The identities of a principal, as the builder compares them. */
  public identitiesOf(principal: iam.IPrincipal): PrincipalIdentity[] {
    return identitiesOfPrincipal(this.scope, principal).identities;
  }

  private strict(label: string): Error {
    return propError(label, '', 'would let the account use this key through an AWS service, and the key\'s `accountAccess` is AccountAccess.NONE (only principals named in the key policy may use it).', 'Grant the named principals that need the key (ManagedSecret.grantRead and SecretGrants do, with the secret\'s SecretARN), use a ManagedSecret rather than an aws-cdk-lib Secret on this key, or set `accountAccess` to AccountAccess.VIA_SERVICES.');
  }

  private accountWideUse(label: string): Error {
    return propError(label, '', 'would let every principal of the account use this key directly.', 'Account-wide use is allowed only through an AWS service: pass `viaService` (for example \'secretsmanager\'), or grant the named roles that need the key.');
  }

  private addDenyPrincipal(deny: iam.PolicyStatement, principal: iam.IPrincipal): void {
    if (!this.denies.has(deny)) {
      this.denies.add(deny);
      this.document.addStatements(deny);
    }
    const ids = this.identitiesOf(principal).map(i => i.key);
    const listed = this.denied.get(deny) ?? new Set<string>();
    if (ids.some(k => !listed.has(k))) {
      ids.forEach(k => listed.add(k));
      this.denied.set(deny, listed);
      // A Deny must hold everywhere: the principal without its conditions.
      deny.addPrincipals(plainPrincipal(this.scope, principal));
      if (deny === this.userDeny) ids.forEach(k => this.deniedPutPolicy.add(k));
    }
  }

  private roleOfActions(label: string, actions: string[], written: unknown): PolicyRole | undefined {
    const crypto = actions.filter(isCryptoAction);
    const admin = actions.filter(isAdminWriteAction);
    if (crypto.length > 0 && admin.length > 0) {
      const wrote = (Array.isArray(written) ? written : [written]).join(', ');
      throw propError(label, '', `A key-policy statement allows ${wrote}, which covers both management actions (${admin.slice(0, 4).join(', ')}${admin.length > 4 ? ', ...' : ''}) and usage actions (${crypto.slice(0, 4).join(', ')}${crypto.length > 4 ? ', ...' : ''}): one principal would both manage and use the key.`, 'Administrators manage and users use: grant them separately, with grantAdmin() or `administrators` for one and grantEncryptDecrypt()/grantUse() or `users` for the other, naming the actions (wildcards are expanded against every KMS action, in any case).');
    }
    return crypto.length > 0 ? 'user' : admin.length > 0 ? 'administrator' : undefined;
  }

  private claim(identity: PrincipalIdentity, role: PolicyRole, label: string): void {
    const held = this.roles.get(identity.key);
    if (held && held.role !== role) {
      const [admin, user] = role === 'administrator' ? [label, held.label] : [held.label, label];
      throw propError(label, '', `${describeIdentity(identity, held.display)} is both an administrator (${admin}) and a user (${user}) of this key (compared as one identity however it is written: Role, Role.fromRoleArn, Role.fromRoleName, ArnPrincipal, a role path or session, with or without conditions). Administrators manage the key and are denied its use; users use it and are denied its management.`, 'Use two different principals (for example an admin role and an application role).');
    }
    if (!held) this.roles.set(identity.key, { role, label, display: identity.display });
  }

  private assertNamedPrincipal(principal: iam.IPrincipal, label: string): void {
    if (!this.isNamedPrincipal(principal)) {
      const ids = this.identitiesOf(principal);
      throw propError(label, '', `must list named IAM principals (roles, users, or their ARNs), not ${ids.map(i => i.display).join(', ') || 'an empty principal'}: an explicit Deny on the account root, "*", a group, an organization or a service would not name one principal.`, 'Name the administrator roles. To let the account\'s IAM administrators manage the key, leave `allowAccountToAdminister` at its default (true).');
    }
  }

  /** A principal an explicit Deny may name: an IAM role, user or ARN, never the account root, "*", a group or a service. */
  public isNamedPrincipal(principal: iam.IPrincipal): boolean {
    const ids = this.identitiesOf(principal);
    // A session passes here so that addStatement can refuse it with its own message.
    return ids.length > 0 && ids.every(i => i.kind === 'role' || i.kind === 'session' || i.kind === 'user' || (i.kind === 'other' && i.key.startsWith('aws:')));
  }

  private mergeKey(effect: string, actions: string[], statement: iam.PolicyStatement, conditions: Conditions, ownIdentities: string[]): string {
    const stack = Stack.of(this.scope);
    return JSON.stringify(stack.resolve({
      e: effect,
      a: [...actions].sort(),
      c: conditions,
      s: statement.sid,
      p: ownIdentities,
    }));
  }

  private uniqueSid(sid: string): string {
    const taken = new Set([...this.merged.values()].map(s => s.sid));
    if (!taken.has(sid)) return sid;
    let n = 2;
    while (taken.has(`${sid}${n}`)) n++;
    return `${sid}${n}`;
  }
}

/**
 * The key policy of one key. Every call is recorded and applied at once (so a
 * bad statement fails where it is written), and the policy is built again
 * from the recorded calls whenever it is resolved: a statement changed after
 * it was added (`statement.addCondition(...)`, `grant.principalStatement
 * .addConditions(...)`, as `ec2.Volume.grantAttachVolume` does) reaches the key
 * policy as it is at synth, and is judged again there.
 */
export class KeyPolicyBuilder {
  /** The key policy, built at synth from every recorded call. */
  public readonly document: iam.PolicyDocument;
  private readonly ops: Array<(state: PolicyState) => void> = [];
  private state: PolicyState;
  private readonly requiredAdministrators: Array<{ ids: string[]; problem: string }> = [];

  constructor(private readonly scope: IConstruct, private readonly multiRegion: boolean, private readonly accountUse = true) {
    this.state = new PolicyState(scope, multiRegion, accountUse);
    this.document = new LivePolicyDocument(() => this.rebuild().document);
  }

  /** The account root may manage (never use) the key, so it can never be locked out. */
  public addAccountAdministration(): void {
    this.record(s => s.addAccountAdministration());
  }

  /** Named administrators (see PolicyState.addAdministrators). */
  public addAdministrators(principals: iam.IPrincipal[], label: string, actions?: string[]): void {
    this.record(s => s.addAdministrators(principals, label, actions));
  }

  /**
   * Adds a statement (see PolicyState.addStatement). `principals`, when
   * given, are the principals the statement is for (a grant's statement,
   * which names none itself).
   */
  public addStatement(statement: iam.PolicyStatement, label?: string, denyRole = false, principals?: iam.IPrincipal[]): void {
    this.record(s => s.addStatement(statement, label, denyRole, false, principals));
  }

  /**
   * Statements found again at every build of the policy (for example those a
   * database elsewhere in the app needs because it uses the key): `produce`
   * runs each time, and its statements pass the same checks as any other.
   */
  public addLazyStatements(produce: () => Array<[iam.PolicyStatement, string]>): void {
    this.record(s => {
      for (const [statement, label] of produce()) s.addStatement(statement, label);
    });
  }

  /** Checked at validation: one of these identities must still be able to call PutKeyPolicy. */
  public requireAdministrator(ids: string[], problem: string): void {
    this.requiredAdministrators.push({ ids, problem });
  }

  public roleOfIdentity(identity: string): PolicyRole | undefined {
    return this.state.roleOfIdentity(identity);
  }

  public isNamedPrincipal(principal: iam.IPrincipal): boolean {
    return this.state.isNamedPrincipal(principal);
  }

  public identitiesOf(principal: iam.IPrincipal): PrincipalIdentity[] {
    return this.state.identitiesOf(principal);
  }

  /**
   * The key policy size in bytes as KMS will count it, estimating every
   * unresolved token (a role ARN, an account ID) at its longest likely size.
   */
  public estimatedSize(): number {
    const stack = Stack.of(this.scope);
    return estimatePolicySize(stack.stackName, stack.resolve(this.document.toJSON()));
  }

  /** Validation messages for the finished policy (the calls judged again as they are now, size, lockout). */
  public validate(lockoutFix: string, sizeFix?: string): string[] {
    let state: PolicyState;
    try {
      state = this.rebuild();
    } catch (e) {
      return [(e as Error).message];
    }
    const errors: string[] = [];
    if (!state.isManageable()) {
      errors.push(`[cdk-kms-secrets] CustomerManagedKey.administrators: the key policy leaves no principal that can call kms:PutKeyPolicy (none is allowed it, or each one allowed is also denied it), so the key could never be managed again (KMS: "The new key policy will not allow you to update the key policy in the future"). Fix: ${lockoutFix}`);
    }
    for (const r of this.requiredAdministrators) {
      if (!r.ids.some(i => state.mayAdminister(i))) errors.push(`[cdk-kms-secrets] CustomerManagedKey.deploymentRole: ${r.problem} Fix: ${lockoutFix}`);
    }
    const size = estimatePolicySize(Stack.of(this.scope).stackName, Stack.of(this.scope).resolve(state.document.toJSON()));
    if (size > KEY_POLICY_MAX_BYTES) {
      errors.push(`[cdk-kms-secrets] CustomerManagedKey: the key policy is about ${size} bytes, over the ${KEY_POLICY_MAX_BYTES}-byte KMS limit. Fix: ${sizeFix ?? 'Grant roles rather than many individual principals, put grantees that share a purpose behind one role, or use grants with the same options so their statements merge.'}`);
    }
    return errors;
  }

  private record(op: (state: PolicyState) => void): void {
    op(this.state);
    this.ops.push(op);
  }

  /** The policy built again from every recorded call, with the statements as they are now. */
  private rebuild(): PolicyState {
    const state = new PolicyState(this.scope, this.multiRegion, this.accountUse);
    for (const op of this.ops) op(state);
    this.state = state;
    return state;
  }
}

/** A policy document whose statements are produced when it is resolved. */
class LivePolicyDocument extends iam.PolicyDocument {
  constructor(private readonly produce: () => iam.PolicyDocument) {
    super();
  }
  public resolve(context: IResolveContext): any {
    return this.produce().resolve(context);
  }
  public toJSON(): any {
    return this.produce().toJSON();
  }
  public get isEmpty(): boolean {
    return this.produce().isEmpty;
  }
  public get statementCount(): number {
    return this.produce().statementCount;
  }
  public validateForResourcePolicy(): string[] {
    return this.produce().validateForResourcePolicy();
  }
}

/** Whether a principal carries conditions of its own (PrincipalWithConditions, ViaServicePrincipal, ...). */
export function hasOwnConditions(principal: iam.IPrincipal): boolean {
  return Object.keys(principal.policyFragment.conditions ?? {}).length > 0;
}

/** The principal's JSON without its conditions: what a Deny, or a statement that already carries them, names. */
function plainPrincipal(scope: IConstruct, principal: iam.IPrincipal): iam.IPrincipal {
  if (!hasOwnConditions(principal)) return principal;
  return new JsonPrincipal(principal.policyFragment.principalJson, Stack.of(scope).account);
}

class JsonPrincipal extends iam.PrincipalBase {
  constructor(private readonly json: { [key: string]: string[] }, public readonly principalAccount: string | undefined) {
    super();
  }
  public get policyFragment(): iam.PrincipalPolicyFragment {
    return new iam.PrincipalPolicyFragment(this.json);
  }
  public dedupeString(): string | undefined {
    return JSON.stringify(this.json);
  }
  public toString(): string {
    return `JsonPrincipal(${JSON.stringify(this.json)})`;
  }
}

/** The statement for one of its principals: the principal without its own conditions, which the statement already holds. */
function copyStatement(scope: IConstruct, s: iam.PolicyStatement, principal: iam.IPrincipal, principals = s.principals): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: s.sid,
    effect: s.effect,
    actions: s.actions,
    resources: ['*'],
    principals: [plainPrincipal(scope, principal)],
    conditions: withoutConditionsOf(s.conditions as Conditions, principals.filter(p => p !== principal)),
  });
}

/** Statement conditions less those that only other principals brought. */
function withoutConditionsOf(conditions: Conditions, others: iam.IPrincipal[]): Conditions | undefined {
  const out: Conditions = JSON.parse(JSON.stringify(conditions ?? {}));
  for (const p of others) {
    for (const [op, entries] of Object.entries(p.policyFragment.conditions ?? {})) {
      for (const k of Object.keys(entries as object)) {
        if (out[op]) delete out[op][k];
        if (out[op] && Object.keys(out[op]).length === 0) delete out[op];
      }
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function describeIdentity(identity: PrincipalIdentity, other: string): string {
  const a = Token.isUnresolved(identity.display) ? 'a principal' : identity.display;
  return other && other !== a ? `Principal ${a} (also written ${other})` : `Principal ${a}`;
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

/**
 * Canonical names of the KMS actions an action list covers (case folded,
 * wildcards expanded); an action KMS does not have is an error naming `label`.
 */
export function expandActions(actions: string[], label = 'CustomerManagedKey.grant'): string[] {
  const { actions: out, problems } = normalizeActions(actions, 'Allow');
  if (problems.length > 0) throw propError(label, 'actions', problems[0].problem, problems[0].fix);
  return out.map(a => a.name);
}

