import { Names, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

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
  return principal instanceof iam.Role ? new GrantsPolicyPrincipal(principal) : grantee;
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
  private readonly policy: iam.ManagedPolicy;

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

