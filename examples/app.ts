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
 *   anomalies) on one KMS-encrypted SNS topic; and an ECS (Fargate) task
 *   whose caching client reads the reporting user's credentials at runtime.
 *
 * `npm run example` synthesizes it into cdk.out (with the keys-and-secrets
 * report: access map, diagram and cost estimate), runs the four cdk-nag packs
 * and cfn-lint on every template, and fails on any finding except the two
 * documented in README "Findings we cannot fix".
 */
import { App, Aws, CfnResource, Duration, Fn, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  CustomerManagedKey, DatabaseEngine, EcsSecretLocation, KeyOperation, KeysAndSecretsMonitoring, KeysAndSecretsReport,
  ManagedDatabase, ManagedSecret, MasterUser,
  RotationSchedule, RotationStrategy,
} from '../lib';

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
  public readonly database: ManagedDatabase;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const key = props.key;
    const network = new PaymentsNetwork(this, 'Network', { key });
    const vpc = network.vpc;

    // The master user: a ManagedSecret on the key, attached to the instance and rotated by the library.
    const master = MasterUser.libraryRotated(this, 'PaymentsMaster', { engine: DatabaseEngine.POSTGRES, encryptionKey: key });
    const instance = new rds.DatabaseInstance(this, 'PaymentsDb', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17_5 }),
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      // The database only answers: no egress (ManagedDatabase and the consumer open its ingress).
      securityGroups: [new ec2.SecurityGroup(this, 'PaymentsDbSecurityGroup', { vpc, allowAllOutbound: false, description: 'Payments database: ingress from its functions only' })],
      port: DB_PORT,
      databaseName: 'payments',
      credentials: master.credentials,
      // The key policy lets RDS create its grants through RDS only (found by the key).
      storageEncryptionKey: key,
      performanceInsightEncryptionKey: key,
      multiAz: true,
      deletionProtection: true,
      backupRetention: Duration.days(14),
      iamAuthentication: true,
      autoMinorVersionUpgrade: true,
      cloudwatchLogsExports: ['postgresql', 'upgrade'],
      monitoringInterval: Duration.seconds(60),
      monitoringRole: enhancedMonitoringRole(this),
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    backUp(this, key, instance);

    this.database = new ManagedDatabase(this, 'Payments', {
      instance,
      masterUser: master,
      databaseName: 'payments',
      masterRotation: { schedule: RotationSchedule.after(Duration.days(30)), window: Duration.hours(4) },
      // The rotation and user-creation functions reach Secrets Manager through the VPC's endpoint only.
      secretsManagerEndpoint: network.secretsManagerEndpoint,
    });
    // Created in the database at deploy time, then rotated: one in place, one alternating with the master.
    const app = this.database.addUser('PaymentsApp', {
      username: 'payments_app',
      rotation: { schedule: RotationSchedule.after(Duration.days(30)), window: Duration.hours(4) },
    });
    const reporting = this.database.addUser('Reporting', {
      username: 'reporting',
      strategy: RotationStrategy.ALTERNATING_USERS,
      privileges: ['SELECT'],
      rotation: { schedule: RotationSchedule.after(Duration.days(30)), window: Duration.hours(4) },
    });

    // The Lambda reader: reads the current credentials at runtime, never from the template.
    const consumer = new PaymentsConsumer(this, 'PaymentsConsumer', { vpc, key, secretsManagerEndpoint: network.secretsManagerEndpoint });
    consumer.function.connections.allowTo(instance, ec2.Port.tcp(DB_PORT), 'payments consumer');
    app.secret.addLambdaReader(consumer.function, { cacheTtl: Duration.minutes(5), versionStages: ['AWSCURRENT'], grantee: consumer.role });

    // The ECS reader: a Fargate task whose caching SDK client reads the reporting credentials at
    // runtime (ARN and cache TTL in Docker labels, not in the environment: AwsSolutions-ECS2), so a
    // rotation reaches a running task within the TTL, without a restart.
    new PaymentsReportingTask(this, 'ReportingTask', { key }).addReader(reporting.secret);

    // Alerts for key deletion, key-policy changes, rotation failures and usage
    // spikes, on one encrypted topic (docs/monitoring.md has the runbooks).
    new KeysAndSecretsMonitoring(this, 'Monitoring', {
      watchScope: this,
      keys: [key],
      encryptionKey: key,
      emails: ['payments-security@example.com'],
      dashboard: true,
    });
  }
}

/** The database's port: not the engine's default (AwsSolutions-RDS11). */
const DB_PORT = 5433;
const CIDR = '10.20.0.0/16';

/**
 * A VPC with isolated subnets only (no internet route), flow logs to a
 * KMS-encrypted log group, its default security group closed, a Secrets
 * Manager interface endpoint in a security group of its own (opened on 443
 * to each function given it) with a policy for this account only, and an S3 gateway
 * endpoint (the user-creation function answers CloudFormation at a
 * pre-signed S3 URL).
 */
class PaymentsNetwork extends Construct {
  public readonly vpc: ec2.Vpc;
  public readonly secretsManagerEndpoint: ec2.InterfaceVpcEndpoint;

  constructor(scope: Construct, id: string, props: { key: CustomerManagedKey }) {
    super(scope, id);
    const stack = Stack.of(this);
    const flowLogGroupName = '/cdk-kms-secrets/example/vpc-flow-logs';
    props.key.grantUse(new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`), {
      operations: [KeyOperation.ENCRYPT, KeyOperation.DECRYPT],
      encryptionContext: { 'aws:logs:arn': `arn:${Aws.PARTITION}:logs:${stack.region}:${stack.account}:log-group:${flowLogGroupName}` },
    });
    const flowLogs = new logs.LogGroup(this, 'FlowLogs', { logGroupName: flowLogGroupName, encryptionKey: props.key, retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    const flowLogsRole = new iam.Role(this, 'FlowLogsRole', { assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com') });
    new iam.ManagedPolicy(this, 'LoggingAndNetworkPolicy', {
      description: 'VPC Flow Logs writes to its own log group',
      roles: [flowLogsRole],
      statements: [new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [`arn:${Aws.PARTITION}:logs:${stack.region}:${stack.account}:log-group:${flowLogGroupName}:log-stream:*`],
      })],
    });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(CIDR),
      // Not hard-coded (cfn-lint W3010): the region's first two zones at deploy time.
      availabilityZones: [Fn.select(0, Fn.getAzs()), Fn.select(1, Fn.getAzs())],
      natGateways: 0,
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [{ name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
      flowLogs: {
        all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs, iam.Role.fromRoleArn(this, 'FlowLogsRoleRef', flowLogsRole.roleArn, { mutable: false })) },
      },
    });
    // The rotation, user-creation and reader functions reach Secrets Manager through this endpoint
    // (each opens it to itself: ManagedDatabase's `secretsManagerEndpoint`).
    // An endpoint only answers: its security group has no egress.
    const endpointGroup = new ec2.SecurityGroup(this, 'SecretsManagerEndpointSecurityGroup', { vpc: this.vpc, allowAllOutbound: false, description: 'Secrets Manager endpoint: HTTPS from the functions that use it' });
    this.secretsManagerEndpoint = this.vpc.addInterfaceEndpoint('SecretsManager', { service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, open: false, securityGroups: [endpointGroup] });
    // Calls through the endpoint only by this account's principals, on this account's secrets.
    this.secretsManagerEndpoint.addToPolicy(new iam.PolicyStatement({
      principals: [new iam.AnyPrincipal()],
      actions: ['secretsmanager:*'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:PrincipalAccount': stack.account, 'aws:ResourceAccount': stack.account } },
    }));
    // No internet route: CloudFormation's S3 response URL (for the user-creation function) through S3's gateway endpoint.
    this.vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
    // aws-cdk-lib's provider of the default-security-group custom resource repeats a dependency its GetAtt makes (cfn-lint W3005).
    const provider = stack.node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider');
    const handler = provider?.node.tryFindChild('Handler') as CfnResource | undefined;
    const role = provider?.node.tryFindChild('Role') as CfnResource | undefined;
    if (handler && role) handler.removeDependency(role);
  }
}

/** Enhanced monitoring's role: writes only RDS's own RDSOSMetrics log group. */
function enhancedMonitoringRole(scope: Construct): iam.Role {
  const stack = Stack.of(scope);
  const role = new iam.Role(scope, 'EnhancedMonitoringRole', { assumedBy: new iam.ServicePrincipal('monitoring.rds.amazonaws.com') });
  const group = `arn:${Aws.PARTITION}:logs:${stack.region}:${stack.account}:log-group:RDSOSMetrics`;
  new iam.ManagedPolicy(scope, 'LoggingAndNetworkPolicy', {
    description: 'RDS Enhanced Monitoring writes to its RDSOSMetrics log group',
    roles: [role],
    statements: [
      new iam.PolicyStatement({ actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy'], resources: [group] }),
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams', 'logs:GetLogEvents'], resources: [`${group}:log-stream:*`] }),
    ],
  });
  return role;
}

/** A daily AWS Backup plan for the instance, in a vault on the key, with a role of customer-managed policies. */
function backUp(scope: Construct, key: CustomerManagedKey, instance: rds.DatabaseInstance): void {
  const vault = new backup.BackupVault(scope, 'Vault', { encryptionKey: key, removalPolicy: RemovalPolicy.RETAIN });
  const plan = backup.BackupPlan.daily35DayRetention(scope, 'Backup', vault);
  const role = new iam.Role(scope, 'BackupRole', { assumedBy: new iam.ServicePrincipal('backup.amazonaws.com') });
  plan.addSelection('PaymentsDb', { resources: [backup.BackupResource.fromRdsDatabaseInstance(instance)], role, disableDefaultBackupPolicy: true });
}

/**
 * A Lambda function set up the way the four nag packs expect: in the VPC, its
 * own role with customer-managed policies only, reserved concurrency, a
 * KMS-encrypted dead-letter queue and log group with retention.
 */
class PaymentsConsumer extends Construct {
  public readonly function: lambda.Function;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: { vpc: ec2.IVpc; key: CustomerManagedKey; secretsManagerEndpoint: ec2.IInterfaceVpcEndpoint }) {
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
    // Its environment is encrypted with the key, which Lambda uses with the role's credentials.
    props.key.grantUse(role, { operations: [KeyOperation.DECRYPT], viaService: 'lambda' });
    // No open egress: HTTPS to the Secrets Manager endpoint (the extension's reads), and the database port (added by the caller).
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', { vpc: props.vpc, allowAllOutbound: false, description: 'Payments consumer: reaches Secrets Manager and the database' });
    securityGroup.connections.allowTo(props.secretsManagerEndpoint, ec2.Port.tcp(443), 'Secrets Manager, through its interface endpoint');
    const runtime = new iam.ManagedPolicy(this, 'LoggingAndNetworkPolicy', {
      roles: [role],
      statements: [
        new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`arn:${Aws.PARTITION}:logs:${stack.region}:${stack.account}:log-group:${logGroupName}:log-stream:*`] }),
        new iam.PolicyStatement({ actions: ['ec2:DescribeNetworkInterfaces'], resources: ['*'] }),
        new iam.PolicyStatement({
          actions: ['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
          resources: ['*'],
          conditions: { ArnEquals: { 'ec2:Vpc': `arn:${Aws.PARTITION}:ec2:${stack.region}:${stack.account}:vpc/${props.vpc.vpcId}` } },
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
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [securityGroup],
      environmentEncryption: props.key,
      reservedConcurrentExecutions: 5,
      logGroup,
      timeout: Duration.seconds(10),
    });
    (this.function.node.defaultChild as lambda.CfnFunction).deadLetterConfig = { targetArn: dlq.queueArn };
    this.function.node.addDependency(runtime);
    this.role = role;
  }
}

/**
 * A Fargate task definition (run by the platform's ECS service, outside this
 * app) whose container reads a secret with a caching SDK client.
 */
class PaymentsReportingTask extends Construct {
  public readonly container: ecs.ContainerDefinition;

  constructor(scope: Construct, id: string, props: { key: CustomerManagedKey }) {
    super(scope, id);
    const stack = Stack.of(this);
    const logGroupName = '/cdk-kms-secrets/example/payments-reporting';
    props.key.grantUse(new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`), {
      operations: [KeyOperation.ENCRYPT, KeyOperation.DECRYPT],
      encryptionContext: { 'aws:logs:arn': `arn:${Aws.PARTITION}:logs:${stack.region}:${stack.account}:log-group:${logGroupName}` },
    });
    const logGroup = new logs.LogGroup(this, 'Logs', { logGroupName, encryptionKey: props.key, retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
    // The execution role (pulls the image, writes the logs) gets a managed policy, never an inline one.
    const executionRole = new iam.Role(this, 'ExecutionRole', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    new iam.ManagedPolicy(this, 'LoggingAndNetworkPolicy', {
      roles: [executionRole],
      statements: [
        new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`arn:${Aws.PARTITION}:logs:${stack.region}:${stack.account}:log-group:${logGroupName}:log-stream:*`] }),
      ],
    });
    const task = new ecs.FargateTaskDefinition(this, 'Task', { cpu: 256, memoryLimitMiB: 512, executionRole: executionRole.withoutPolicyUpdates() });
    this.container = task.addContainer('Reporting', {
      image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/node:24-slim'),
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: 'reporting' }),
      readonlyRootFilesystem: true,
      user: '1000',
      essential: true,
    });
  }

  /** Grants the task role read of `secret` and labels the container with its ARN and cache TTL. */
  public addReader(secret: ManagedSecret): void {
    secret.addEcsReader(this.container, { location: EcsSecretLocation.DOCKER_LABELS, cacheTtl: Duration.minutes(5), versionStages: ['AWSCURRENT'] });
  }
}

/** Options of `buildApp`. */
export interface BuildAppOptions {
  /** Whether to add the keys-and-secrets report (tests of the templates leave it out). @default true */
  readonly report?: boolean;
}

export function buildApp(outdir?: string, options: BuildAppOptions = {}): App {
  const app = new App({ outdir });
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT ?? '111111111111', region: process.env.CDK_DEFAULT_REGION ?? 'eu-west-1' };
  const keys = new KeysStack(app, 'PaymentsKeys', { env });
  new DataStack(app, 'PaymentsData', { env, key: keys.key });
  // Writes keys-and-secrets.{json,md} (and, asked for here, .svg) into the cloud assembly and prints a summary at synth.
  if (options.report ?? true) new KeysAndSecretsReport(app, 'KeysAndSecretsReport', { renderSvg: true });
  return app;
}

if (require.main === module) {
  buildApp().synth();
}
