/**
 * The example app: what a platform team would deploy.
 *
 * - `KeysStack`: a customer-managed key for the payments team. The platform
 *   admin role manages it and can never use it; the application role uses it
 *   and can never manage it.
 *
 * `npm run example` synthesizes it into cdk.out, runs the four cdk-nag packs
 * and cfn-lint on every template, and fails on any finding.
 */
import { App, Stack, StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CustomerManagedKey } from '../lib';

export class KeysStack extends Stack {
  public readonly key: CustomerManagedKey;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const admin = new iam.Role(this, 'PlatformKeyAdmin', {
      assumedBy: new iam.AccountRootPrincipal(),
      description: 'Manages the payments key; denied its use by the key policy',
    });
    const app = new iam.Role(this, 'PaymentsApp', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'The payments application; uses the key, denied its management',
    });
    this.key = new CustomerManagedKey(this, 'PaymentsKey', {
      alias: 'payments',
      description: 'Protects payments credentials and data keys',
      administrators: [admin],
      users: [app],
    });
  }
}

export function buildApp(outdir?: string): App {
  const app = new App({ outdir });
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT ?? '111111111111', region: process.env.CDK_DEFAULT_REGION ?? 'eu-west-1' };
  new KeysStack(app, 'PaymentsKeys', { env });
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
