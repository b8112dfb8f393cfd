import { Names, Stack, Token, TokenComparison } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { propError } from '../errors';

/** One Grant for several: the statements of all of them (at least one). */
export function combineGrants(grants: iam.Grant[]): iam.Grant {
  return grants.reduce((all, g) => all.combine(g));
}

/**
 * Where this library's identity statements for a grantee go: for a role of
 * this app, one customer-managed policy per role (an inline policy would be
 * flagged by the HIPAA, NIST and PCI packs); for anything else, the
 * principal's own policy. Internal.
 */
export function identityGrantee(grantee: iam.IGrantable): iam.IGrantable {
  const principal = grantee.grantPrincipal;
  if (!(principal instanceof iam.Role)) return grantee;
  const wrapped = new GrantsPolicyPrincipal(principal);
  // As with a role's default policy, the grantee (a function, a task) is deployed after the
  // policy that grants it, so nothing it runs at deploy time can run before its permission.
  // Only its own resource: the role is often its child, and must not wait for its own policy.
  const resource = Construct.isConstruct(grantee) && grantee !== principal ? grantee.node.defaultChild : undefined;
  if (resource && !resource.node.scopes.includes(principal) && Stack.of(resource) === Stack.of(principal)) {
    resource.node.addDependency(wrapped.policy);
  }
  return wrapped;
}

/**
 * A role as a principal whose policy statements go into one customer-managed
 * policy per role (no inline policy, which the HIPAA, NIST and PCI packs flag).
 */
class GrantsPolicyPrincipal implements iam.IPrincipal {
  public readonly grantPrincipal: iam.IPrincipal = this;
  public readonly assumeRoleAction: string;
  public readonly policyFragment: iam.PrincipalPolicyFragment;
  public readonly principalAccount?: string;
  public readonly policy: iam.ManagedPolicy;

  constructor(role: iam.Role) {
    this.assumeRoleAction = role.assumeRoleAction;
    this.policyFragment = role.policyFragment;
    this.principalAccount = role.principalAccount;
    const stack = Stack.of(role);
    const id = `SecretGrants${Names.uniqueId(role)}`;
    const existing = stack.node.tryFindChild(id);
    this.policy = existing instanceof iam.ManagedPolicy ? existing : new iam.ManagedPolicy(stack, id, {
      description: `Least-privilege secret and key grants of ${role.node.path} (cdk-kms-secrets)`,
      roles: [role],
    });
  }

  public addToPolicy(statement: iam.PolicyStatement): boolean {
    return this.addToPrincipalPolicy(statement).statementAdded;
  }

  public addToPrincipalPolicy(statement: iam.PolicyStatement): iam.AddToPrincipalPolicyResult {
    this.policy.addStatements(statement);
    return { statementAdded: true, policyDependable: this.policy };
  }
}


/**
 * The one place a secret's ARN for a policy is derived: the complete ARN
 * when the consuming stack can know it, else `<partial ARN>-??????` (a
 * secret known only by name, or one of another account or region, whose
 * random suffix the consumer cannot see). A name with a wildcard in it is
 * refused: it would grant every secret it matches. Internal.
 */
export function secretArnForPolicies(
  owner: string, secret: secretsmanager.ISecret, consumer: IConstruct,
): { readonly arn: string; readonly pattern: boolean } {
  const name = secret.secretName;
  if (typeof name === 'string' && !Token.isUnresolved(name) && /[*?]/.test(name)) {
    throw propError(owner, 'secret', `is named '${name}', with a wildcard: as a policy ARN it would match every secret that name matches, not one secret.`, 'Import the secret by its exact name or complete ARN (Secret.fromSecretCompleteArn).');
  }
  const here = Stack.of(consumer);
  const there = Stack.of(secret);
  const same = (a: string, b: string) => [TokenComparison.SAME, TokenComparison.BOTH_UNRESOLVED].includes(Token.compareStrings(a, b));
  // As aws-cdk-lib's arnForPolicies: another region without crossRegionReferences sees only the name.
  const crossRegionReferences = (here as unknown as { _crossRegionReferences?: boolean })._crossRegionReferences === true;
  const crossEnvironment = here !== there && (!same(here.account, there.account) || (!same(here.region, there.region) && !crossRegionReferences));
  if (secret.secretFullArn === undefined || crossEnvironment) return { arn: `${secret.secretArn}-??????`, pattern: true };
  return { arn: secret.secretFullArn, pattern: false };
}

/**
 * The condition of every statement that lets a principal use a key for
 * secrets: only through Secrets Manager in `region`, and only for
 * `secretArns` (the encryption context Secrets Manager sends): complete ARNs
 * with `StringEquals`, `-??????` patterns (`pattern`) with `StringLike`.
 * Internal.
 */
export function viaSecretsManagerFor(region: string, secretArns: string | string[], pattern: boolean): Record<string, unknown> {
  const viaService = { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` };
  return pattern
    ? { StringEquals: viaService, StringLike: { 'kms:EncryptionContext:SecretARN': secretArns } }
    : { StringEquals: { ...viaService, 'kms:EncryptionContext:SecretARN': secretArns } };
}

/** The construct a grant's identity statements belong to: the grantee, if it is part of the app. */
export function consumerOf(grantee: iam.IGrantable, fallback: IConstruct): IConstruct {
  const principal = grantee.grantPrincipal;
  return Construct.isConstruct(principal) ? principal : Construct.isConstruct(grantee) ? grantee : fallback;
}
