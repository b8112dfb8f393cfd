import { App, Duration, Fn, Stack, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as backup from 'aws-cdk-lib/aws-backup';
import { CustomerManagedKey, KeyOperation } from '../src';
import { nagFindings, cfnLint, describeFindings } from '../test/support/compliance';
const app = new App();
const stack = new Stack(app, 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
const key = new CustomerManagedKey(stack, 'Key');
key.grantUse(new iam.ServicePrincipal('logs.eu-west-1.amazonaws.com'), { operations: [KeyOperation.ENCRYPT, KeyOperation.DECRYPT], encryptionContext: { 'aws:logs:arn': 'arn:aws:logs:eu-west-1:111111111111:log-group:/cdk-kms-secrets/example/vpc-flow-logs' } });
const flowLogs = new logs.LogGroup(stack, 'FlowLogs', { logGroupName: '/cdk-kms-secrets/example/vpc-flow-logs', encryptionKey: key, retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
const flowRole = new iam.Role(stack, 'FlowLogsRole', { assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com') });
new iam.ManagedPolicy(stack, 'FlowLogsPolicy', { roles: [flowRole], statements: [new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'], resources: [flowLogs.logGroupArn, `${flowLogs.logGroupArn}:log-stream:*`] })] });
const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, ipAddresses: ec2.IpAddresses.cidr('10.20.0.0/16'), availabilityZones: [Fn.select(0, Fn.getAzs()), Fn.select(1, Fn.getAzs())], restrictDefaultSecurityGroup: true, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
  flowLogs: { all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs, iam.Role.fromRoleArn(stack, 'FlowRole', flowRole.roleArn, { mutable: false })) } } });
const ep = vpc.addInterfaceEndpoint('SecretsManager', { service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, open: false });
ep.connections.allowFrom(ec2.Peer.ipv4('10.20.0.0/16'), ec2.Port.tcp(443), 'HTTPS from the VPC');
const mon = new iam.Role(stack, 'MonitoringRole', { assumedBy: new iam.ServicePrincipal('monitoring.rds.amazonaws.com') });
new iam.ManagedPolicy(stack, 'MonitoringPolicy', { roles: [mon], statements: [
  new iam.PolicyStatement({ actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy'], resources: ['arn:aws:logs:eu-west-1:111111111111:log-group:RDS*'] }),
  new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams', 'logs:GetLogEvents'], resources: ['arn:aws:logs:eu-west-1:111111111111:log-group:RDS*:log-stream:*'] })] });
const db = new rds.DatabaseInstance(stack, 'Db', {
  engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17_5 }), instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM),
  vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
  storageEncryptionKey: key, port: 5433, multiAz: true, deletionProtection: true, backupRetention: Duration.days(14),
  iamAuthentication: true, autoMinorVersionUpgrade: true, cloudwatchLogsExports: ['postgresql', 'upgrade'], monitoringInterval: Duration.seconds(60), monitoringRole: mon, databaseName: 'payments',
  enablePerformanceInsights: true, performanceInsightEncryptionKey: key, 
  credentials: rds.Credentials.fromPassword('postgres', { unsafeUnwrap: () => '{{resolve:ssm-secure:/x}}' } as never),
});
const plan = backup.BackupPlan.daily35DayRetention(stack, 'Backup', new backup.BackupVault(stack, 'Vault', { encryptionKey: key }));
const brole = new iam.Role(stack, 'BackupRole', { assumedBy: new iam.ServicePrincipal('backup.amazonaws.com') });
plan.addSelection('Db', { resources: [backup.BackupResource.fromRdsDatabaseInstance(db)], role: brole, disableDefaultBackupPolicy: true } as never);
app.synth();
const f = Object.values(nagFindings(stack)).flat();
console.log(describeFindings(f));
console.log(describeFindings(cfnLint(app.synth().getStackByName('S').template, ['eu-west-1'])));
