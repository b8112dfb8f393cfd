import { Duration, RemovalPolicy, Resource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { CustomerManagedKey } from './customer-managed-key';
import { applyRoles, assertOperations, grantConditions, usageStatements } from './key-roles';
import { KeyPolicyBuilder, SID } from './policy-builder';
import { actionsFor, PENDING_WINDOW_DAYS } from './roles';
import { AccountAccess, KeyRolesProps, KeyUseGrantOptions } from './types';
import { propError } from '../errors';

/** Properties of a `CustomerManagedKeyReplica`. */
export interface CustomerManagedKeyReplicaProps extends KeyRolesProps {
  /**
   * The multi-Region primary key to replicate. It must be in another region
   * and have `multiRegion: true`. Its key usage and spec are reused.
   *
   * Referencing a key of another region's stack needs `crossRegionReferences:
   * true` on this stack, unless `primaryKeyArn` is given.
   */
  readonly primaryKey: CustomerManagedKey;

  /**
   * The primary key's ARN as a literal string, to avoid a cross-region
   * reference when the primary key is deployed already.
   *
   * @default - `primaryKey.keyArn`
   */
  readonly primaryKeyArn?: string;

  /**
   * A description of the replica.
   *
   * @default - the primary key's description is not copied; no description
   */
  readonly description?: string;

  /**
   * An alias for the replica, with or without the `alias/` prefix.
   *
   * @default - no alias
   */
  readonly alias?: string;

  /**
   * Waiting period after the replica is scheduled for deletion, 7 to 30 days.
   *
   * @default Duration.days(30)
   */
  readonly pendingWindow?: Duration;

  /**
   * What happens to the replica when it is removed from the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const OWNER = 'CustomerManagedKeyReplica';

/**
 * A replica of a multi-Region `CustomerManagedKey` in another region, with
 * its own key policy built from the same role model (administrators, users,
 * service users, narrowing). Rotation follows the primary key.
 */
export class CustomerManagedKeyReplica extends Resource {
  /** The replica's ARN. */
  public readonly keyArn: string;
  /** The replica's key ID (the same `mrk-` ID as the primary). */
  public readonly keyId: string;
  /** The underlying CloudFormation resource. */
  public readonly resource: kms.CfnReplicaKey;

  private readonly builder: KeyPolicyBuilder;
  private readonly keyUsage: kms.KeyUsage;
  private readonly roles: KeyRolesProps;

  /**
   * @param scope the construct the replica belongs to, in the replica's region.
   * @param id the replica's construct ID, unique within `scope`.
   * @param props the primary key (multi-Region) and the replica's options.
   */
  constructor(scope: Construct, id: string, props: CustomerManagedKeyReplicaProps) {
    super(scope, id);
    const primary = props.primaryKey;
    if (!primary.multiRegion) {
      throw propError(OWNER, 'primaryKey', `${primary.node.path} is not a multi-Region key.`, 'Create the primary key with `multiRegion: true`.');
    }
    const here = Stack.of(this).region;
    const there = Stack.of(primary).region;
    if (!Stack.of(this).resolve(here).toString().startsWith('${') && here === there) {
      throw propError(OWNER, 'primaryKey', `is in the same region (${here}) as the replica.`, 'Create the replica in a stack of another region.');
    }
    const days = props.pendingWindow?.toDays() ?? PENDING_WINDOW_DAYS.max;
    if (days < PENDING_WINDOW_DAYS.min || days > PENDING_WINDOW_DAYS.max) {
      throw propError(OWNER, 'pendingWindow', `${days} days is outside the ${PENDING_WINDOW_DAYS.min}-${PENDING_WINDOW_DAYS.max} days KMS allows.`, `Use a Duration between Duration.days(${PENDING_WINDOW_DAYS.min}) and Duration.days(${PENDING_WINDOW_DAYS.max}).`);
    }
    this.keyUsage = primary.keyUsage;
    this.roles = props;
    this.builder = new KeyPolicyBuilder(this, true, (props.accountAccess ?? AccountAccess.VIA_SERVICES) === AccountAccess.VIA_SERVICES);
    applyRoles(this, OWNER, this.builder, props, primary.keyUsage);

    this.resource = new kms.CfnReplicaKey(this, 'Resource', {
      primaryKeyArn: props.primaryKeyArn ?? primary.keyArn,
      keyPolicy: this.builder.document,
      description: props.description,
      pendingWindowInDays: days,
    });
    this.resource.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
    this.keyArn = this.resource.attrArn;
    this.keyId = this.resource.attrKeyId;
    if (props.alias !== undefined) {
      new kms.CfnAlias(this, 'Alias', {
        aliasName: props.alias.startsWith('alias/') ? props.alias : `alias/${props.alias}`,
        targetKeyId: this.keyId,
      });
    }
    this.node.addValidation({
      validate: () => this.builder.validate('Name at least one principal in `administrators`, or leave `allowAccountToAdminister` at its default (true).'),
    });
  }

  /**
   * Allow a principal to use the replica, like `CustomerManagedKey.grantUse`; the grant lands in the replica's key policy.
   * @param grantee the principal allowed to use the replica.
   * @param options the operations, and optionally the service, encryption context or account that narrow the grant.
   */
  public grantUse(grantee: iam.IGrantable, options: KeyUseGrantOptions): iam.Grant {
    assertOperations(`${OWNER}.grantUse`, this.keyUsage, options.operations);
    const conditions = grantConditions(this, OWNER, this.roles, grantee.grantPrincipal, options);
    const actions = actionsFor(options.operations);
    for (const s of usageStatements(actions, grantee.grantPrincipal, conditions, SID.users)) {
      this.builder.addStatement(s, `${OWNER}.grantUse`);
    }
    return iam.Grant.drop(grantee, 'recorded in the replica key policy');
  }
}
