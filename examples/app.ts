/**
 * The example app: what a platform team would deploy.
 *
 * - `PaymentsKeys`: a customer-managed key for the payments team. The
 *   platform admin role manages it and can never use it; the application
 *   role uses it and can never manage it.
 * - `PaymentsData`: the credentials of the payments PostgreSQL database, in a
 *   `ManagedSecret` encrypted with that key, rotated every 30 days inside the
 *   database's VPC by the shared PostgreSQL rotation function (the VPC and
 *   the database belong to the platform's network stack, so they are
 *   imported here).
 *
 * `npm run example` synthesizes it into cdk.out, runs the four cdk-nag packs
 * and cfn-lint on every template, and fails on any finding except the two
 * documented in README "Findings we cannot fix".
 */
import { App, Duration, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CustomerManagedKey, DatabaseEngine, ManagedSecret, Rotation, RotationSchedule } from '../lib';

export class KeysStack extends Stack {
  public readonly key: CustomerManagedKey;
  public readonly app: iam.Role;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const admin = new iam.Role(this, 'PlatformKeyAdmin', {
      assumedBy: new iam.AccountRootPrincipal(),
      description: 'Manages the payments key; denied its use by the key policy',
    });
    this.app = new iam.Role(this, 'PaymentsApp', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'The payments application; uses the key, denied its management',
    });
    this.key = new CustomerManagedKey(this, 'PaymentsKey', {
      alias: 'payments',
      description: 'Protects payments credentials and data keys',
      administrators: [admin],
      users: [this.app],
    });
  }
}

export interface DataStackProps extends StackProps {
  readonly key: CustomerManagedKey;
}

export class DataStack extends Stack {
  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    // The platform's network: a VPC with private subnets and the database's security group.
    const vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
      vpcId: 'vpc-0a1b2c3d4e5f60718',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      privateSubnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-08192a3b4c5d6e7f8'],
    });
    const database = ec2.SecurityGroup.fromSecurityGroupId(this, 'PaymentsDb', 'sg-0a1b2c3d4e5f60718', { mutable: true });

    new ManagedSecret(this, 'PaymentsDbCredentials', {
      description: 'payments-app user of the payments PostgreSQL database',
      encryptionKey: props.key,
      credentials: {
        engine: DatabaseEngine.POSTGRES,
        host: 'payments.cluster-c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com',
        username: 'payments_app',
        dbname: 'payments',
      },
      rotation: Rotation.postgresSingleUser({
        vpc,
        database,
        schedule: RotationSchedule.after(Duration.days(30)),
        window: Duration.hours(4),
      }),
    });
  }
}

export function buildApp(outdir?: string): App {
  const app = new App({ outdir });
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT ?? '111111111111', region: process.env.CDK_DEFAULT_REGION ?? 'eu-west-1' };
  const keys = new KeysStack(app, 'PaymentsKeys', { env });
  new DataStack(app, 'PaymentsData', { env, key: keys.key });
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
