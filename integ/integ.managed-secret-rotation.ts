/**
 * Integration test: a ManagedSecret rotated by the PostgreSQL RotationFunction
 * against a real RDS for PostgreSQL 15 instance, and read back by a Lambda
 * function the way an application reads it.
 *
 * Design: the secret under test is the instance's MASTER credentials
 * (`rds.Credentials.fromSecret(managedSecret)`), rotated with the
 * single-user strategy. A new RDS instance has exactly one login role, the
 * master user: an application user would have to be created by SQL first
 * (single-user rotation logs in as the user itself, and alternating-users
 * rotation clones an existing user into `<user>_clone`), which would need a
 * bootstrap function of its own and test that function as much as ours.
 * Rotating the master user needs nothing but the library, and it is what
 * many teams do with RDS.
 *
 * The secret cannot name the instance's endpoint when it is created (the
 * instance is created with the secret's password: a cycle), so its `host` is
 * a placeholder in the reserved `.invalid` domain, and the secret target
 * attachment that aws-cdk-lib adds for `Credentials.fromSecret` writes the
 * real host, port and engine into it once the instance exists. The rotation
 * function never trusts that host: because the rotation names the instance
 * (`database: instance`) and the secret is attached to it, `addRotation` pins
 * the instance's endpoint (`Endpoint.Address`/`Endpoint.Port`) in the
 * function's own configuration (`ROTATION_PINNED_ENDPOINTS`) instead of the
 * secret's tags (the function may depend on the instance; the secret may not).
 * The rotation schedule waits for that attachment (and for the instance, its ingress
 * rules and the Secrets Manager endpoint): the immediate rotation at deploy
 * time (`rotateImmediately` keeps its default, true) then starts from a
 * complete secret.
 *
 * The VPC has isolated subnets only: the rotation function and the verifier
 * reach Secrets Manager through the interface endpoint that
 * `createSecretsManagerEndpoint: true` creates.
 *
 * Assertions, in order:
 * 1. DescribeSecret: rotation is on, with our function.
 * 2. RotateSecret (retried while the deploy-time rotation is still running):
 *    Secrets Manager accepts a rotation and returns its new version id.
 * 3. DescribeSecret (waited for): exactly that new version is AWSCURRENT, i.e.
 *    createSecret, setSecret, testSecret and finishSecret all succeeded.
 * 4. The verifier reads AWSCURRENT through the Parameters and Secrets
 *    extension, logs in over verified TLS as `postgres` and reports the version
 *    it used: it must be that new version.
 * (GetSecretValue is deliberately not called by an assertion: the assertion
 * provider logs every SDK response, so it would write the password to its
 * log group.)
 *
 * `npm test` verifies the synthesized snapshot offline; `npx projen
 * integ:deploy` deploys it to the current AWS account (about 15 minutes, most
 * of it creating and deleting the database).
 */
import * as path from 'path';
import { AwsApiCall, ExpectedResult, IntegTest, Match } from '@aws-cdk/integ-tests-alpha';
import { App, Aws, Duration, RemovalPolicies, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import {
  CustomerManagedKey, DatabaseEngine, ManagedSecret, Rotation, RotationFunction, RotationStrategy,
} from '../src';

const app = new App();
const stack = new Stack(app, 'CdkKmsSecretsRotationInteg');

const vpc = new ec2.Vpc(stack, 'Vpc', {
  maxAzs: 2,
  natGateways: 0,
  subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
});
const isolated = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

const key = new CustomerManagedKey(stack, 'Key', { description: 'Encrypts the credentials of the cdk-kms-secrets rotation integ test database' });
const credentials = new ManagedSecret(stack, 'MasterCredentials', {
  encryptionKey: key,
  description: 'Master user of the cdk-kms-secrets rotation integ test database',
  credentials: {
    engine: DatabaseEngine.POSTGRES,
    // Replaced by the RDS secret target attachment (see the comment at the top).
    host: 'set-by-the-rds-secret-attachment.invalid',
    username: 'postgres',
  },
});

const instance = new rds.DatabaseInstance(stack, 'Database', {
  engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 }),
  instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO),
  vpc,
  vpcSubnets: isolated,
  credentials: rds.Credentials.fromSecret(credentials),
  // The server refuses plaintext connections: every login below is over TLS.
  parameters: { 'rds.force_ssl': '1' },
  allocatedStorage: 20,
  storageEncrypted: true,
  multiAz: false,
  backupRetention: Duration.days(0),
  deleteAutomatedBackups: true,
  deletionProtection: false,
  removalPolicy: RemovalPolicy.DESTROY,
});

const rotationFunction = new RotationFunction(stack, 'PostgresRotation', {
  engine: DatabaseEngine.POSTGRES,
  strategy: RotationStrategy.SINGLE_USER,
  vpc,
  vpcSubnets: isolated,
  createSecretsManagerEndpoint: true,
});
credentials.addRotation(Rotation.postgresSingleUser({ vpc, vpcSubnets: isolated, database: instance, rotationFunction }));
const secretsManagerEndpoint = vpc.node.children.find(c => c instanceof ec2.InterfaceVpcEndpoint);
if (!secretsManagerEndpoint) throw new Error('RotationFunction did not create the Secrets Manager endpoint');
// The deploy-time rotation starts when the schedule is created: only once
// the secret holds the real host, the database accepts the function, and
// Secrets Manager is reachable from the isolated subnets.
credentials.node.findChild('RotationSchedule').node.addDependency(instance, instance.secret!, secretsManagerEndpoint);

// The verifier: an application-like reader (see verifier/index.ts), with its
// own role and customer-managed policies only, like the example app's consumer.
const verifierLogs = new logs.LogGroup(stack, 'VerifierLogs', { retention: logs.RetentionDays.ONE_WEEK });
const verifierRole = new iam.Role(stack, 'VerifierRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
const verifierRuntimePolicy = new iam.ManagedPolicy(stack, 'VerifierLoggingAndNetworkPolicy', {
  roles: [verifierRole],
  statements: [
    new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [verifierLogs.logGroupArn] }),
    new iam.PolicyStatement({ actions: ['ec2:DescribeNetworkInterfaces'], resources: ['*'] }),
    new iam.PolicyStatement({
      actions: ['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
      resources: ['*'],
      conditions: { StringEquals: { 'ec2:Vpc': `arn:${Aws.PARTITION}:ec2:${Aws.REGION}:${Aws.ACCOUNT_ID}:vpc/${vpc.vpcId}` } },
    }),
  ],
});
const verifier = new nodejs.NodejsFunction(stack, 'Verifier', {
  description: 'cdk-kms-secrets integ test: logs in to the database with the current secret',
  entry: path.join(__dirname, 'verifier', 'index.ts'),
  handler: 'handler',
  runtime: lambda.Runtime.NODEJS_24_X,
  role: iam.Role.fromRoleArn(stack, 'VerifierFunctionRole', verifierRole.roleArn, { mutable: false }),
  vpc,
  vpcSubnets: isolated,
  timeout: Duration.seconds(30),
  logGroup: verifierLogs,
  // Node.js in Lambda trusts the RDS CAs only through this file.
  environment: { NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem' },
  bundling: { externalModules: ['@aws-sdk/*', 'pg-native'], minify: true, sourceMap: false },
});
verifier.node.addDependency(verifierRuntimePolicy);
instance.connections.allowFrom(verifier, ec2.Port.tcp(5432), 'cdk-kms-secrets integ verifier');
// Reads through the extension with the shortest cache, AWSCURRENT only.
credentials.addLambdaReader(verifier, { cacheTtl: Duration.seconds(1), versionStages: ['AWSCURRENT'], grantee: verifierRole });

// A test leaves nothing behind (the library retains keys, secrets and log groups by default).
RemovalPolicies.of(stack).destroy();

const integ = new IntegTest(app, 'ManagedSecretRotationTest', { testCases: [stack] });
const SecretId = credentials.secretArn;
const waitFor = { totalTimeout: Duration.minutes(10), interval: Duration.seconds(20) };

const rotationOn = integ.assertions
  .awsApiCall('SecretsManager', 'describeSecret', { SecretId })
  .expect(ExpectedResult.objectLike({ RotationEnabled: true, RotationLambdaARN: rotationFunction.function.functionArn }));

// Retried while the deploy-time rotation is still running ("A previous rotation isn't complete").
const rotate = integ.assertions
  .awsApiCall('SecretsManager', 'rotateSecret', { SecretId })
  .assertAtPath('VersionId', ExpectedResult.stringLikeRegexp('^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'))
  .waitForAssertions(waitFor) as AwsApiCall;
// RotateSecret also needs lambda:InvokeFunction on the rotation function; the waiter's provider makes the call.
rotate.waiterProvider!.addToRolePolicy({ Effect: 'Allow', Action: ['lambda:InvokeFunction'], Resource: [rotationFunction.function.functionArn] });
const newVersion = rotate.getAttString('VersionId');

// Done when the version this rotation created is AWSCURRENT (and no longer AWSPENDING).
const rotated = integ.assertions
  .awsApiCall('SecretsManager', 'describeSecret', { SecretId })
  .expect(ExpectedResult.objectLike({ VersionIdsToStages: { [newVersion]: ['AWSCURRENT'] } }))
  .waitForAssertions(waitFor);

const verified = integ.assertions
  .invokeFunction({ functionName: verifier.functionName })
  .expect(ExpectedResult.objectLike({
    Payload: Match.stringLikeRegexp(`^\\{"loggedIn":true,"user":"postgres","tls":true,"versionId":"${newVersion}"\\}$`),
  }));

rotationOn.next(rotate).next(rotated).next(verified);

app.synth();
