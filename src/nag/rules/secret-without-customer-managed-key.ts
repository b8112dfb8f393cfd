import { CfnResource } from 'aws-cdk-lib';
import { CfnSecret } from 'aws-cdk-lib/aws-secretsmanager';
import { NagRuleCompliance } from 'cdk-nag';
import { resolve } from './util';

/**
 * KeysAndSecrets-SM1: a secret encrypted with the AWS-managed key (no
 * `KmsKeyId`, or `alias/aws/secretsmanager`), whose key policy can be
 * neither narrowed nor shared.
 */
export default Object.defineProperty((node: CfnResource): NagRuleCompliance => {
  if (!(node instanceof CfnSecret)) return NagRuleCompliance.NOT_APPLICABLE;
  const key = resolve(node, node.kmsKeyId);
  if (key === undefined || (typeof key === 'string' && key.includes('alias/aws/'))) return NagRuleCompliance.NON_COMPLIANT;
  return NagRuleCompliance.COMPLIANT;
}, 'name', { value: 'SM1' });
