import { CfnResource } from 'aws-cdk-lib';
import { NagMessageLevel, NagPack, NagPackProps } from 'cdk-nag';
import { IConstruct } from 'constructs';
import kmsStar from './rules/key-policy-allows-kms-star';
import noAdministrator from './rules/no-administrator';
import plaintext from './rules/plaintext-secret-material';
import bothRoles from './rules/principal-both-admin-and-user';
import blocksPublic from './rules/resource-policy-blocks-public';
import sourceAccount from './rules/rotation-permission-source-account';
import { secretRotationRule } from './rules/secret-rotation';
import cmk from './rules/secret-without-customer-managed-key';
import rotation from './rules/symmetric-key-without-rotation';
import unboundedStar from './rules/unbounded-star-principal';
import wildcard from './rules/wildcard-secret-or-decrypt';

/** Properties of the `KeysAndSecretsChecks` pack. */
export interface KeysAndSecretsChecksProps extends NagPackProps {
  /**
   * The longest rotation interval rule SM2 accepts, in days.
   *
   * @default 90
   */
  readonly maxRotationDays?: number;
}

/** A rule of the pack: its ID suffix, what it found, why it matters, and the fix. */
interface RuleDefinition {
  readonly rule: (node: CfnResource) => any;
  readonly info: string;
  readonly explanation: string;
}

/**
 * The mistakes with KMS keys and Secrets Manager secrets that the other
 * cdk-nag packs cannot see (none of them reads a key policy). Rule IDs are
 * `KeysAndSecrets-<ID>`; each rule says what it found and how to fix it.
 *
 * @example
 * Validations.of(app).addPlugins(new KeysAndSecretsChecks());
 */
export class KeysAndSecretsChecks extends NagPack {
  /** The pack's name, the prefix of its rule IDs. */
  public readonly name = 'KeysAndSecrets';
  private readonly rules: RuleDefinition[];

  /**
   * @param scope the scope the pack validates, as for every cdk-nag 3 pack (the whole app when omitted).
   * @param props cdk-nag's pack options and `maxRotationDays`.
   */
  constructor(scope?: IConstruct, props: KeysAndSecretsChecksProps = {}) {
    super(scope, props);
    this.packName = 'KeysAndSecrets';
    const maxDays = props.maxRotationDays ?? 90;
    if (!Number.isInteger(maxDays) || maxDays < 1 || maxDays > 1000) {
      throw new Error(`[cdk-kms-secrets] KeysAndSecretsChecks.maxRotationDays: ${maxDays} is outside 1-1000. Fix: Use a whole number of days, 90 by default.`);
    }
    this.rules = [
      { rule: kmsStar, info: 'The key policy allows kms:*.', explanation: 'kms:* gives one principal both the management and the use of the key; with the account root it lets every IAM administrator decrypt. Fix: grant administrators the management actions and users the cryptographic ones (CustomerManagedKey does).' },
      { rule: bothRoles, info: 'A principal is both an administrator and a user of the key.', explanation: 'Separation of duties: whoever can change the key policy must not also use the key, or one compromised principal reads and hides. Fix: use two principals, and deny each the other role.' },
      { rule: unboundedStar, info: 'A policy allows Principal "*" without an account or organization condition.', explanation: 'Any AWS account could use the key or read the secret. Fix: name the principals, or add aws:PrincipalAccount / aws:PrincipalOrgID.' },
      { rule: noAdministrator, info: 'No principal may call kms:PutKeyPolicy.', explanation: 'A key nobody can manage is locked out: its policy can never be fixed. Fix: keep the account administering the key, or name administrators.' },
      { rule: rotation, info: 'The symmetric key does not rotate.', explanation: 'Automatic rotation limits how much data one key version protects. Fix: enableKeyRotation: true.' },
      { rule: cmk, info: 'The secret uses the AWS-managed key.', explanation: 'aws/secretsmanager cannot be narrowed (kms:ViaService, encryption context) or shared across accounts. Fix: encrypt it with a customer-managed key (ManagedSecret does).' },
      { rule: secretRotationRule(maxDays), info: `The secret does not rotate at least every ${maxDays} days.`, explanation: 'A credential that never changes stays valid after a leak. Fix: add a rotation (ManagedSecret.addRotation) with a schedule within the limit.' },
      { rule: plaintext, info: 'Secret material is in the template in plaintext.', explanation: 'Templates are stored and shown in many places (CloudFormation, CI logs, cdk.out). Fix: let Secrets Manager generate the value, or reference it (SecretValue.ssmSecure, a secret ARN in the environment).' },
      { rule: wildcard, info: 'An IAM policy allows secretsmanager:GetSecretValue or kms:Decrypt on "*".', explanation: 'It reads every secret or decrypts with every key the account allows. Fix: name the secret and key (SecretGrants.read).' },
      { rule: sourceAccount, info: 'Secrets Manager may invoke the function without a SourceAccount condition.', explanation: 'Secrets Manager acting for another account could invoke the rotation function (confused deputy). Fix: set sourceAccount on the permission (RotationFunction does).' },
      { rule: blocksPublic, info: 'The secret resource policy does not block public policies.', explanation: 'BlockPublicPolicy makes Secrets Manager refuse a policy that would open the secret widely. Fix: blockPublicPolicy: true (ManagedSecret does).' },
    ];
  }

  /** The rule IDs of the pack, for documentation and tests. */
  public get ruleIdsOfPack(): string[] {
    return this.rules.map(r => `KeysAndSecrets-${(r.rule as { name: string }).name}`);
  }

  /**
   * @param node the CloudFormation resource every rule of the pack is applied to.
   */
  protected checkResource(node: CfnResource): void {
    for (const r of this.rules) {
      // The fix is part of the message: a finding must say how to resolve it.
      const [why, fix] = r.explanation.split(' Fix: ');
      this.applyRule({ info: `${r.info} Fix: ${fix}`, explanation: why, level: NagMessageLevel.ERROR, rule: r.rule, node });
    }
  }
}
