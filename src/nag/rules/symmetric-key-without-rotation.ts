import { CfnResource } from 'aws-cdk-lib';
import { CfnKey } from 'aws-cdk-lib/aws-kms';
import { NagRuleCompliance, NagRules } from 'cdk-nag';

/** KeysAndSecrets-KMS5: a symmetric encryption key without automatic rotation. */
export default Object.defineProperty((node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof CfnKey)) return NagRuleCompliance.NOT_APPLICABLE;
  const spec = NagRules.resolveIfPrimitive(node, node.keySpec) ?? 'SYMMETRIC_DEFAULT';
  if (spec !== 'SYMMETRIC_DEFAULT') return NagRuleCompliance.NOT_APPLICABLE;
  return NagRules.resolveIfPrimitive(node, node.enableKeyRotation) === true ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}, 'name', { value: 'KMS5' });
