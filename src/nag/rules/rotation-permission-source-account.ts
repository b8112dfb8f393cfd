import { CfnResource } from 'aws-cdk-lib';
import { CfnPermission } from 'aws-cdk-lib/aws-lambda';
import { NagRuleCompliance, NagRules } from 'cdk-nag';

/**
 * KeysAndSecrets-LAMBDA1: a permission for Secrets Manager to invoke a
 * (rotation) function without `SourceAccount`, so Secrets Manager acting for
 * any account could invoke it (the confused-deputy problem).
 */
export default Object.defineProperty((node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof CfnPermission)) return NagRuleCompliance.NOT_APPLICABLE;
  if (NagRules.resolveIfPrimitive(node, node.principal) !== 'secretsmanager.amazonaws.com') return NagRuleCompliance.NOT_APPLICABLE;
  return node.sourceAccount === undefined && node.sourceArn === undefined ? NagRuleCompliance.NON_COMPLIANT : NagRuleCompliance.COMPLIANT;
}, 'name', { value: 'LAMBDA1' });
