/**
 * The role properties shared by a key and its replicas, and how they become
 * key-policy statements and grant conditions. Internal except for the
 * `KeyRolesProps` and grant-option structs, which are public API.
 */
import { DefaultStackSynthesizer, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { IConstruct } from 'constructs';
import { identitiesOfPrincipal } from './normalize';
import { KeyPolicyBuilder, SID } from './policy-builder';
import {
  actionsFor, ENCRYPTION_CONTEXT_ACTIONS, KeyOperation, SERVICE_USER_ACTIONS, USAGE_OPERATIONS, userOperations,
} from './roles';
import { KeyGrantOptions, KeyRolesProps } from './types';
import { propError } from '../errors';

type Conditions = Record<string, Record<string, unknown>>;

/** Normalizes `secretsmanager` into `secretsmanager.<region>.amazonaws.com`. */
export function viaServiceEndpoint(scope: IConstruct, service: string): string {
  if (Token.isUnresolved(service) || service.includes('.')) return service;
  return `${service}.${Stack.of(scope).region}.amazonaws.com`;
}

/** Whether a principal is AWS service principals only, by the normalizer's identities. */
export function isServicePrincipal(scope: IConstruct, principal: iam.IPrincipal): boolean {
  const ids = identitiesOfPrincipal(scope, principal).identities;
  return ids.length > 0 && ids.every(i => i.kind === 'service');
}

/**
 * Turns the key-level narrowing and a grant's options into conditions: one
 * set for the actions that take an encryption context, one for the others.
 */
export function grantConditions(
  scope: IConstruct, owner: string, roles: KeyRolesProps, principal: iam.IPrincipal, options: KeyGrantOptions,
): { withContext: Conditions; withoutContext: Conditions } {
  const common: Record<string, unknown> = {};
  const narrowed = !isServicePrincipal(scope, principal);
  const keyServices = (roles.viaServices ?? []).map(s => viaServiceEndpoint(scope, s));
  if (options.viaService !== undefined) {
    const endpoint = viaServiceEndpoint(scope, options.viaService);
    if (narrowed && keyServices.length > 0 && !keyServices.includes(endpoint)) {
      throw propError(owner, 'viaService', `'${options.viaService}' is not one of the key's \`viaServices\` (${keyServices.join(', ')}), so the grant could never be used.`, 'Grant through one of the key\'s services, or add the service to `viaServices`.');
    }
    common['kms:ViaService'] = endpoint;
  } else if (narrowed && keyServices.length > 0) {
    common['kms:ViaService'] = keyServices.length === 1 ? keyServices[0] : keyServices;
  }
  const accounts = roles.callerAccounts ?? [];
  if (options.callerAccount !== undefined) {
    if (accounts.length > 0 && !accounts.includes(options.callerAccount)) {
      throw propError(owner, 'callerAccount', `'${options.callerAccount}' is not one of the key's \`callerAccounts\` (${accounts.join(', ')}).`, 'Grant to a caller of one of those accounts, or add the account to `callerAccounts`.');
    }
    common['kms:CallerAccount'] = options.callerAccount;
  } else if (accounts.length > 0) {
    common['kms:CallerAccount'] = accounts.length === 1 ? accounts[0] : accounts;
  }

  const context: Record<string, unknown> = { ...common };
  if (options.encryptionContext !== undefined) {
    const entries = Object.entries(options.encryptionContext);
    if (entries.length === 0) {
      throw propError(owner, 'encryptionContext', 'is empty, which would narrow nothing.', 'Give at least one key and value (for example `{ tenant: \'acme\' }`), or leave `encryptionContext` out.');
    }
    for (const [k, v] of entries) {
      if (typeof v !== 'string' || (!Token.isUnresolved(v) && v.length === 0)) {
        throw propError(owner, 'encryptionContext', `has an empty or non-string value for '${k}'.`, 'Every encryption-context value must be a non-empty string.');
      }
      context[`kms:EncryptionContext:${k}`] = v;
    }
  }
  const nulls: Record<string, string> = {};
  for (const k of roles.requiredEncryptionContextKeys ?? []) {
    if (options.encryptionContext?.[k] === undefined) nulls[`kms:EncryptionContext:${k}`] = 'false';
  }
  const withContext: Conditions = {};
  if (Object.keys(context).length > 0) withContext.StringEquals = context;
  if (Object.keys(nulls).length > 0) withContext.Null = nulls;
  const withoutContext: Conditions = Object.keys(common).length > 0 ? { StringEquals: common } : {};
  return { withContext, withoutContext };
}

/**
 * Builds the usage statements for one principal. Actions that take an
 * encryption context carry the context conditions; the others (and
 * `kms:DescribeKey`, when `describe` is set) go into a second statement
 * without them, or into the same one when there is no context condition.
 */
export function usageStatements(
  actions: string[], principal: iam.IPrincipal, conditions: { withContext: Conditions; withoutContext: Conditions }, sid: string, describe = false,
): iam.PolicyStatement[] {
  const all = [...new Set([...actions, ...(describe ? ['kms:DescribeKey'] : [])])].sort();
  const contextNarrows = JSON.stringify(conditions.withContext) !== JSON.stringify(conditions.withoutContext);
  const ctx = contextNarrows ? all.filter(a => ENCRYPTION_CONTEXT_ACTIONS.includes(a)) : all;
  const other = contextNarrows ? all.filter(a => !ENCRYPTION_CONTEXT_ACTIONS.includes(a)) : [];
  const statements: iam.PolicyStatement[] = [];
  if (ctx.length > 0) {
    statements.push(new iam.PolicyStatement({ sid, actions: ctx, principals: [principal], resources: ['*'], conditions: nonEmpty(conditions.withContext) }));
  }
  if (other.length > 0) {
    statements.push(new iam.PolicyStatement({ sid: `${sid}WithoutContext`, actions: other, principals: [principal], resources: ['*'], conditions: nonEmpty(conditions.withoutContext) }));
  }
  return statements;
}

function nonEmpty(c: Conditions): Conditions | undefined {
  return Object.keys(c).length > 0 ? c : undefined;
}

/** Checks that operations fit the key usage. */
export function assertOperations(owner: string, keyUsage: kms.KeyUsage, operations: KeyOperation[]): void {
  if (operations.length === 0) {
    throw propError(owner, 'operations', 'is empty.', 'Name at least one KeyOperation, for example KeyOperation.DECRYPT.');
  }
  const supported = USAGE_OPERATIONS[keyUsage];
  for (const op of operations) {
    if (!supported.includes(op)) {
      throw propError(owner, 'operations', `${op} is not possible with a ${keyUsage} key.`, `Use one of ${supported.join(', ')}, or a key whose keyUsage supports ${op}.`);
    }
  }
}

/** Writes the role statements of `KeyRolesProps` into a policy builder. */
export function applyRoles(scope: IConstruct, owner: string, builder: KeyPolicyBuilder, roles: KeyRolesProps, keyUsage: kms.KeyUsage): void {
  const allowAccount = roles.allowAccountToAdminister ?? true;
  const administrators = [...(roles.administrators ?? [])];
  if (!allowAccount && administrators.length === 0 && roles.deploymentRole === undefined) {
    throw propError(owner, 'allowAccountToAdminister', 'is false and `administrators` is empty, so no principal could ever manage the key again (a KMS lockout).', 'Name at least one principal in `administrators` (the role CloudFormation deploys with among them), or leave `allowAccountToAdminister` at its default (true).');
  }
  if (roles.deploymentRole !== undefined && !allowAccount) administrators.push(roles.deploymentRole);
  if (allowAccount) builder.addAccountAdministration();
  builder.addAdministrators(administrators, `${owner}.administrators`);

  const named: Array<[string, iam.IPrincipal[], KeyOperation[]]> = [
    ['users', roles.users ?? [], [...userOperations(keyUsage)]],
    ['encryptors', roles.encryptors ?? [], [KeyOperation.ENCRYPT]],
    ['decryptors', roles.decryptors ?? [], [KeyOperation.DECRYPT]],
  ];
  for (const [property, principals, operations] of named) {
    if (principals.length === 0) continue;
    if (property !== 'users') {
      assertOperations(`${owner}.${property}`, keyUsage, operations);
    }
    for (const principal of principals) {
      assertUsablePrincipal(scope, builder, `${owner}.${property}`, principal);
      const conditions = grantConditions(scope, owner, roles, principal, {});
      for (const s of usageStatements(actionsFor(operations), principal, conditions, SID.users, true)) {
        builder.addStatement(s, `${owner}.${property}`, true);
      }
    }
  }

  for (const principal of roles.serviceUsers ?? []) {
    assertUsablePrincipal(scope, builder, `${owner}.serviceUsers`, principal);
    // The key-level narrowing (services, accounts) applies to grants too.
    const narrowing = grantConditions(scope, owner, roles, principal, {}).withoutContext;
    builder.addStatement(new iam.PolicyStatement({
      sid: SID.serviceUsers,
      actions: [...SERVICE_USER_ACTIONS],
      principals: [principal],
      resources: ['*'],
      conditions: { ...narrowing, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    }), `${owner}.serviceUsers`, true);
  }
  // Last, so that a principal in two roles is reported as such first.
  if (!allowAccount) requireDeployerAmongAdministrators(scope, owner, builder, roles);
}

/**
 * The ARN of the role CloudFormation deploys a stack with, when its
 * synthesizer says (the DefaultStackSynthesizer's execution role); else undefined.
 */
export function defaultDeploymentRoleArn(stack: Stack): string | undefined {
  const synthesizer = stack.synthesizer;
  if (!(synthesizer instanceof DefaultStackSynthesizer)) return undefined;
  return synthesizer.cloudFormationExecutionRoleArn
    .replace(/\$\{AWS::Partition\}/g, stack.partition)
    .replace(/\$\{AWS::AccountId\}/g, stack.account)
    .replace(/\$\{AWS::Region\}/g, stack.region);
}

/**
 * With `allowAccountToAdminister: false`, CloudFormation's CreateKey checks
 * that the deploying principal may call PutKeyPolicy: it must be one of the
 * administrators (the stack synthesizer's CloudFormation execution role, or
 * the `deploymentRole` given), and nothing may deny it PutKeyPolicy.
 */
function requireDeployerAmongAdministrators(scope: IConstruct, owner: string, builder: KeyPolicyBuilder, roles: KeyRolesProps): void {
  const stack = Stack.of(scope);
  let deployer = roles.deploymentRole;
  let arn: string | undefined;
  if (!deployer) {
    arn = defaultDeploymentRoleArn(stack);
    if (arn === undefined) {
      throw propError(owner, 'deploymentRole', `is not set, and the stack's synthesizer (${stack.synthesizer.constructor.name}) does not say which principal CloudFormation deploys with. With \`allowAccountToAdminister: false\`, CreateKey refuses a key policy that does not let the deploying principal call kms:PutKeyPolicy.`, 'Pass `deploymentRole`: the role (or user) that deploys this stack; it becomes an administrator.');
    }
    deployer = new iam.ArnPrincipal(arn);
  }
  const ids = builder.identitiesOf(deployer).map(i => i.key);
  const shown = roles.deploymentRole ? 'the deploymentRole' : (stack.synthesizer as DefaultStackSynthesizer).cloudFormationExecutionRoleArn;
  if (!ids.some(k => builder.roleOfIdentity(k) === 'administrator')) {
    throw propError(owner, 'administrators', `does not include the role CloudFormation deploys the stack with (${shown}). With \`allowAccountToAdminister: false\`, CreateKey refuses a key policy that does not let the deploying principal call kms:PutKeyPolicy, so the deployment would fail.`, 'Add that role to `administrators` (for example iam.Role.fromRoleArn(this, \'Deployer\', arn)), pass `deploymentRole`, or leave `allowAccountToAdminister` at its default (true).');
  }
  builder.requireAdministrator(ids, `the deploying role (${shown}) is denied kms:PutKeyPolicy by a statement without conditions, so CreateKey would refuse the key policy.`);
}

function assertUsablePrincipal(scope: IConstruct, builder: KeyPolicyBuilder, property: string, principal: iam.IPrincipal): void {
  if (!builder.isNamedPrincipal(principal) && !isServicePrincipal(scope, principal)) {
    throw propError(property, '', 'must list named IAM principals (roles, users, or their ARNs) or AWS service principals, not the account root or "*": that would give the whole account the use of the key.', 'Name the roles that need the key; to allow use through a service for the whole account, call grantUse() with `viaService`.');
  }
}
