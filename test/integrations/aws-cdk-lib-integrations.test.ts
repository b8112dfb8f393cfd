/**
 * The aws-cdk-lib integrations that take a kms.IKey or secretsmanager.ISecret,
 * run against a CustomerManagedKey and a ManagedSecret (issue #12): each one
 * synthesizes, nothing crashes, and the grant it makes is allowed under IAM
 * evaluation of the key policy and the grantee's identity policies.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { CustomerManagedKey, ManagedSecret } from '../../src';
import {
  arnOf, CfnTemplate, Decision, identityPoliciesOf, keyPolicyOf, kmsRequestContext, logicalIdOf, simulate, TEST_STACK_ENV,
} from '../support/iam-eval';

interface World {
  readonly stack: Stack;
  readonly key: CustomerManagedKey;
  readonly role: iam.Role;
}

/** What a case grants: the KMS action the grantee must then be allowed (directly, or through a service). */
interface Expectation {
  readonly action: string;
  readonly viaService?: string;
  /** The role that holds the grant, when not `role` (an ECS execution role). */
  readonly grantee?: iam.IRole;
  /** The secret the request is for (Secrets Manager sends its ARN as the encryption context). */
  readonly secret?: ManagedSecret;
}

/** Ref and Fn::GetAtt of the other resource types the integrations reference. */
const OTHER = (type: string) => ({
  ref: (id: string) => `${type}-${id}`,
  attributes: { Arn: (id: string) => `arn:aws:${type}:eu-west-1:111111111111:${id}` },
});
const RESOLVERS = {
  extraResolvers: Object.fromEntries(['AWS::SQS::Queue', 'AWS::SNS::Topic', 'AWS::EC2::Volume', 'AWS::DynamoDB::Table', 'AWS::Kinesis::Stream', 'AWS::CodeBuild::Project', 'AWS::StepFunctions::StateMachine', 'AWS::Logs::LogGroup']
    .map(t => [t, OTHER(t.split('::')[1].toLowerCase())])),
};

const fn = (s: Stack, id: string, props: Partial<lambda.FunctionProps> = {}) => new lambda.Function(s, id, {
  runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => 1'), ...props,
});

const CASES: Array<[string, (w: World) => Expectation | undefined]> = [
  ['s3.Bucket.grantRead', w => {
    new s3.Bucket(w.stack, 'Bucket', { encryption: s3.BucketEncryption.KMS, encryptionKey: w.key }).grantRead(w.role);
    return { action: 'kms:Decrypt' };
  }],
  ['s3.BucketGrants on an L1 CfnBucket', w => {
    const bucket = new s3.CfnBucket(w.stack, 'Raw', { bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: w.key.keyArn } }] } });
    s3.BucketGrants.fromBucket(bucket).write(w.role);
    return { action: 'kms:GenerateDataKey' };
  }],
  ['sqs.Queue.grantSendMessages', w => {
    new sqs.Queue(w.stack, 'Queue', { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: w.key }).grantSendMessages(w.role);
    return { action: 'kms:GenerateDataKey' };
  }],
  ['sqs.Queue.grantConsumeMessages', w => {
    new sqs.Queue(w.stack, 'Queue', { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: w.key }).grantConsumeMessages(w.role);
    return { action: 'kms:Decrypt' };
  }],
  ['sns.Topic.grantPublish', w => {
    new sns.Topic(w.stack, 'Topic', { masterKey: w.key }).grantPublish(w.role);
    return { action: 'kms:GenerateDataKey' };
  }],
  ['logs.LogGroup with the key (the logs service principal granted)', w => {
    new logs.LogGroup(w.stack, 'Logs', { encryptionKey: w.key });
    w.key.grantEncryptDecrypt(new iam.ServicePrincipal('logs.eu-west-1.amazonaws.com'));
    return undefined;
  }],
  ['ec2.Volume.grantAttachVolume', w => {
    const volume = new ec2.Volume(w.stack, 'Volume', { availabilityZone: 'eu-west-1a', size: { toGibibytes: () => 8 } as never, encrypted: true, encryptionKey: w.key });
    volume.grantAttachVolume(w.role);
    return { action: 'kms:CreateGrant', viaService: 'ec2' };
  }],
  ['dynamodb.Table.grantReadData', w => {
    new dynamodb.Table(w.stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING }, encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: w.key }).grantReadData(w.role);
    return { action: 'kms:Decrypt' };
  }],
  ['kinesis.Stream.grantRead', w => {
    new kinesis.Stream(w.stack, 'Stream', { encryption: kinesis.StreamEncryption.KMS, encryptionKey: w.key }).grantRead(w.role);
    return { action: 'kms:Decrypt' };
  }],
  ['rds.DatabaseInstance with storageEncryptionKey', w => {
    const vpc = new ec2.Vpc(w.stack, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    new rds.DatabaseInstance(w.stack, 'Db', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 }),
      vpc,
      storageEncryptionKey: w.key,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      credentials: rds.Credentials.fromSecret(new ManagedSecret(w.stack, 'Master', { encryptionKey: w.key, credentials: { username: 'master', engine: 'postgres', host: 'db.internal' } as never })),
    });
    return undefined;
  }],
  ['ecs secrets: ecs.Secret.fromSecretsManager(ManagedSecret)', w => {
    const task = new ecs.FargateTaskDefinition(w.stack, 'Task');
    const secret = new ManagedSecret(w.stack, 'AppSecret', { encryptionKey: w.key });
    task.addContainer('App', { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/busybox:latest'), secrets: { DB: ecs.Secret.fromSecretsManager(secret) } });
    return { action: 'kms:Decrypt', viaService: 'secretsmanager', grantee: task.obtainExecutionRole(), secret };
  }],
  ['lambda environment encryption', w => {
    fn(w.stack, 'Fn', { environmentEncryption: w.key, environment: { A: 'b' }, role: w.role });
    return undefined;
  }],
  ['codebuild.Project with encryptionKey', w => {
    new codebuild.Project(w.stack, 'Build', { buildSpec: codebuild.BuildSpec.fromObject({ version: '0.2', phases: {} }), encryptionKey: w.key, role: w.role });
    return { action: 'kms:Decrypt' };
  }],
  ['stepfunctions.StateMachine with a customer-managed key (its role granted through the key: an intended difference)', w => {
    // aws-cdk-lib writes an identity-only grant for the state machine's role, which this key's
    // policy does not honour (refused at synth: see the next test); granting through the key works.
    w.key.grantEncryptDecrypt(w.role);
    new sfn.StateMachine(w.stack, 'Machine', {
      definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(w.stack, 'Pass')),
      role: w.role,
      encryptionConfiguration: new sfn.CustomerManagedEncryptionConfiguration(w.key, Duration.minutes(5)),
    });
    return { action: 'kms:Decrypt', viaService: 'states' };
  }],
];

async function allowed(w: World, e: Expectation): Promise<Decision> {
  const template = Template.fromStack(w.stack).toJSON() as CfnTemplate;
  const role = e.grantee ?? w.role;
  const principalArn = arnOf(template, logicalIdOf(role));
  return simulate({
    principalArn,
    action: e.action,
    resourceArn: arnOf(template, logicalIdOf(w.key)),
    resourcePolicy: keyPolicyOf(template, logicalIdOf(w.key), RESOLVERS),
    identityPolicies: identityPoliciesOf(template, logicalIdOf(role), RESOLVERS),
    context: {
      ...kmsRequestContext({
        principalArn, viaService: e.viaService, encryptionContext: e.secret ? { SecretARN: arnOf(template, logicalIdOf(e.secret)) } : undefined,
      }),
      ...(e.action === 'kms:CreateGrant' ? { 'kms:GrantIsForAWSResource': 'true', 'kms:GrantConstraintType': 'EncryptionContextSubset' } : {}),
    },
  });
}

describe('aws-cdk-lib integrations on a CustomerManagedKey and a ManagedSecret', () => {
  test.each(CASES)('%s', async (_name, build) => {
    const stack = new Stack(new App(), 'Integration', { env: TEST_STACK_ENV });
    const w: World = { stack, key: new CustomerManagedKey(stack, 'Key'), role: new iam.Role(stack, 'Grantee', { assumedBy: new iam.AccountRootPrincipal() }) };
    const expectation = build(w);
    expect(() => Template.fromStack(stack)).not.toThrow();
    if (expectation) expect(await allowed(w, expectation)).toBe('Allowed');
  });
});

test('a state machine on the key without a grant through the key is refused with our error, naming the fix', () => {
  const stack = new Stack(new App(), 'Integration', { env: TEST_STACK_ENV });
  const key = new CustomerManagedKey(stack, 'Key');
  new sfn.StateMachine(stack, 'Machine', {
    definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Pass')),
    encryptionConfiguration: new sfn.CustomerManagedEncryptionConfiguration(key, Duration.minutes(5)),
  });
  expect(() => Template.fromStack(stack)).toThrow(/\[cdk-kms-secrets\] CustomerManagedKey: the identity policy .* which the key policy does not name.*Fix: grant through the key/s);
});
