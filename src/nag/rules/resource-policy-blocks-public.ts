import { CfnResource } from 'aws-cdk-lib';
import { CfnResourcePolicy } from 'aws-cdk-lib/aws-secretsmanager';
import { NagRuleCompliance, NagRules } from 'cdk-nag';

/** KeysAndSecrets-SM4: a secret resource policy that does not block public policies (`BlockPublicPolicy`). */
export default Object.defineProperty((node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof CfnResourcePolicy)) return NagRuleCompliance.NOT_APPLICABLE;
  return NagRules.resolveIfPrimitive(node, node.blockPublicPolicy) === true ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}, 'name', { value: 'SM4' });
