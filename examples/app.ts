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
 *   imported here), and a consumer Lambda that reads the credentials at
 *   runtime through the AWS Parameters and Secrets Lambda Extension, cached
 *   for 5 minutes: a rotation reaches it without a redeploy; and monitoring
 *   of the key and the secret (CloudTrail events, rotation alarms, usage
 *   anomalies) on one KMS-encrypted SNS topic.
 *
 * `npm run example` synthesizes it into cdk.out (with the keys-and-secrets
 * report: access map, diagram and cost estimate), runs the four cdk-nag packs
 * and cfn-lint on every template, and fails on any finding except the two
 * documented in README "Findings we cannot fix".
 */
import { App, Aws, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CustomerManagedKey, DatabaseEngine, KeyOperation, KeysAndSecretsMonitoring, KeysAndSecretsReport, ManagedSecret, Rotation, RotationSchedule } from '../lib';

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

    const credentials = new ManagedSecret(this, 'PaymentsDbCredentials', {
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

    // The consumer: reads the current credentials at runtime, never from the template.
    const consumer = new PaymentsConsumer(this, 'PaymentsConsumer', { vpc, key: props.key });
    database.connections.allowFrom(consumer.function, ec2.Port.tcp(5432), 'payments consumer');
    credentials.addLambdaReader(consumer.function, { cacheTtl: Duration.minutes(5), versionStages: ['AWSCURRENT'], grantee: consumer.role });

    // Alerts for key deletion, key-policy changes, rotation failures and usage
    // spikes, on one encrypted topic (docs/monitoring.md has the runbooks).
    new KeysAndSecretsMonitoring(this, 'Monitoring', {
      watchScope: this,
      keys: [props.key],
      emails: ['payments-security@example.com'],
      dashboard: true,
    });
  }
}

/**
 * A Lambda function set up the way the four nag packs expect: in the VPC, its
 * own role with customer-managed policies only, reserved concurrency, a
 * KMS-encrypted dead-letter queue and log group with retention.
 */
class PaymentsConsumer extends Construct {
  public readonly function: lambda.Function;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: { vpc: ec2.IVpc; key: CustomerManagedKey }) {
    super(scope, id);
    const stack = Stack.of(this);
    const logGroupName = '/cdk-kms-secrets/example/payments-consumer';
    props.key.grantUse(new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`), {
      operations: [KeyOperation.ENCRYPT, KeyOperation.DECRYPT],
      encryptionContext: { 'aws:logs:arn': `arn:${Aws.PARTITION}:logs:${stack.region}:${stack.account}:log-group:${logGroupName}` },
    });
    const logGroup = new logs.LogGroup(this, 'Logs', { logGroupName, encryptionKey: props.key, retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    const dlq = new sqs.Queue(this, 'DeadLetterQueue', { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: props.key, enforceSSL: true });
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    props.key.grantUse(role, { operations: [KeyOperation.GENERATE_DATA_KEY, KeyOperation.DECRYPT], viaService: 'sqs' });
    const runtime = new iam.ManagedPolicy(this, 'LoggingAndNetworkPolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`arn:${Aws.PARTITION}:logs:${stack.region}:${stack.account}:log-group:${logGroupName}:log-stream:*`] }),
        new iam.PolicyStatement({ actions: ['ec2:DescribeNetworkInterfaces'], resources: ['*'] }),
        new iam.PolicyStatement({
          actions: ['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
          resources: ['*'],
          conditions: { StringEquals: { 'ec2:Vpc': `arn:${Aws.PARTITION}:ec2:${stack.region}:${stack.account}:vpc/${props.vpc.vpcId}` } },
        }),
        new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [dlq.queueArn] }),
      ],
    });
    this.function = new lambda.Function(this, 'Function', {
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      // Reads the secret through the extension on localhost:2773 (cached), and
      // returns only who it connects as: a secret value is never logged or returned.
      code: lambda.Code.fromInline([
        'exports.handler = async () => {',
        '  const url = `http://localhost:2773/secretsmanager/get?secretId=${encodeURIComponent(process.env.SECRET_ARN)}&versionStage=AWSCURRENT`;',
        "  const res = await fetch(url, { headers: { 'X-Aws-Parameters-Secrets-Token': process.env.AWS_SESSION_TOKEN } });",
        '  if (!res.ok) throw new Error(`secret read failed: ${res.status}`);',
        '  const { username, host, dbname } = JSON.parse((await res.json()).SecretString);',
        '  return { username, host, dbname };',
        '};',
      ].join('\n')),
      role: iam.Role.fromRoleArn(this, 'FunctionRole', role.roleArn, { mutable: false }),
      vpc: props.vpc,
      reservedConcurrentExecutions: 5,
      logGroup,
      timeout: Duration.seconds(10),
    });
    (this.function.node.defaultChild as lambda.CfnFunction).deadLetterConfig = { targetArn: dlq.queueArn };
    this.function.node.addDependency(runtime);
    this.role = role;
  }
}

export function buildApp(outdir?: string): App {
  const app = new App({ outdir });
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT ?? '111111111111', region: process.env.CDK_DEFAULT_REGION ?? 'eu-west-1' };
  const keys = new KeysStack(app, 'PaymentsKeys', { env });
  new DataStack(app, 'PaymentsData', { env, key: keys.key });
  // Writes keys-and-secrets.{json,md} (and, asked for here, .svg) into the cloud assembly and prints a summary at synth.
  new KeysAndSecretsReport(app, 'KeysAndSecretsReport', { renderSvg: true });
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
