import { createHash } from 'crypto';
import { Annotations, Aws, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { propError } from '../errors';
import { CustomerManagedKey } from '../keys/customer-managed-key';
import { KeyOperation } from '../keys/roles';

/**
 * Internal: the parts every Lambda function of this library that talks to a
 * database is made of, secured the same way (the rotation functions and the
 * database-user provisioning function):
 *
 * - a log group with retention, encrypted with the function's key (the logs
 *   service may use the key for that log group only);
 * - a dead-letter queue encrypted with the key, TLS only;
 * - a role with no AWS managed policy and no inline policy: logging to its own
 *   log group, the ENI actions of a VPC function (limited to its VPC) and
 *   `sqs:SendMessage` to its queue are in one customer-managed policy; callers
 *   add their own policies for what the function does;
 * - a security group without open egress (HTTPS to Secrets Manager: its
 *   interface endpoint when one is given or created, else any IPv4 address
 *   on 443; callers add the database port);
 * - the function in the VPC, with reserved concurrency and its environment
 *   encrypted with the key.
 *
 * Not exported from the package: the construct ids are those the
 * RotationFunction has always used, so templates do not change.
 */
export interface SecuredFunctionOptions {
  /** The key of the log group, the queue and the environment. */
  readonly key: CustomerManagedKey;
  /** The log group's name. */
  readonly logGroupName: string;
  readonly logRetention: logs.RetentionDays;
  /** The role's description. */
  readonly roleDescription: string;
  /** The description of the security group created when `securityGroups` is not given. */
  readonly securityGroupDescription: string;
  readonly vpc: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly securityGroups?: ec2.ISecurityGroup[];
  readonly description: string;
  readonly code: lambda.Code;
  readonly timeout: Duration;
  readonly reservedConcurrentExecutions: number;
  readonly environment: Record<string, string>;
  /** Create a Secrets Manager interface endpoint in the function's subnets (id: `endpointId`). */
  readonly createSecretsManagerEndpoint?: boolean;
  /** The id of that endpoint in the VPC. */
  readonly endpointId?: string;
  /**
   * An existing Secrets Manager interface endpoint: the function's own
   * security group reaches Secrets Manager through it only (checked by
   * `checkSecretsManagerEndpoint`).
   */
  readonly secretsManagerEndpoint?: ec2.IInterfaceVpcEndpoint;
  /** The owner and property named in errors about `secretsManagerEndpoint` (e.g. `RotationFunction`). */
  readonly owner: string;
  /**
   * Other HTTPS destinations the function needs, which have no fixed
   * addresses (the database-user function answers CloudFormation at a
   * pre-signed S3 URL): an egress rule on 443 to this peer, with this
   * description. Without it, the only HTTPS egress is to Secrets Manager.
   */
  readonly otherHttps?: { readonly peer: ec2.IPeer; readonly description: string };
}

export interface SecuredFunctionParts {
  readonly function: lambda.Function;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly deadLetterQueue: sqs.Queue;
  readonly connections: ec2.Connections;
  /** The security group created for the function, when `securityGroups` was not given. */
  readonly ownSecurityGroup?: ec2.SecurityGroup;
}

/** Creates the secured function's parts in `scope` (see `SecuredFunctionOptions`). */
export function createSecuredFunction(scope: Construct, options: SecuredFunctionOptions): SecuredFunctionParts {
  const stack = Stack.of(scope);
  const { key, logGroupName } = options;
  key.grantUse(new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`), {
    operations: [KeyOperation.ENCRYPT, KeyOperation.DECRYPT],
    encryptionContext: { 'aws:logs:arn': `arn:${Aws.PARTITION}:logs:${stack.region}:${stack.account}:log-group:${logGroupName}` },
  });
  const logGroup = new logs.LogGroup(scope, 'Logs', {
    logGroupName,
    encryptionKey: key,
    retention: options.logRetention,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const deadLetterQueue = new sqs.Queue(scope, 'DeadLetterQueue', {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });

  const role = new iam.Role(scope, 'Role', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: options.roleDescription,
  });

  const ownSecurityGroup = options.securityGroups ? undefined : new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc: options.vpc,
    description: options.securityGroupDescription,
    // Egress is added per destination: 443 to Secrets Manager below, the database port by the caller.
    allowAllOutbound: false,
  });
  const securityGroups = options.securityGroups ?? [ownSecurityGroup!];
  const connections = new ec2.Connections({ securityGroups });
  const vpcSubnets = options.vpcSubnets ?? defaultSubnets(options.vpc);
  const subnets = options.vpc.selectSubnets(vpcSubnets);

  // Logging and networking: the only statements AWS cannot scope to named
  // resources (log streams are named by Lambda; DescribeNetworkInterfaces
  // takes "*"). Kept in their own policy so nothing else hides among them.
  const runtimePolicy = new iam.ManagedPolicy(scope, 'LoggingAndNetworkPolicy', {
    description: 'Lambda logging to its own log group, and the ENI actions a VPC function needs',
    roles: [role],
    statements: [
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [`arn:${Aws.PARTITION}:logs:${stack.region}:${stack.account}:log-group:${logGroupName}:log-stream:*`],
      }),
      new iam.PolicyStatement({
        actions: ['ec2:DescribeNetworkInterfaces'],
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        actions: ['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        resources: ['*'],
        conditions: { ArnEquals: { 'ec2:Vpc': `arn:${Aws.PARTITION}:ec2:${stack.region}:${stack.account}:vpc/${options.vpc.vpcId}` } },
      }),
      new iam.PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: [deadLetterQueue.queueArn],
      }),
    ],
  });
  key.grantUse(role, { operations: [KeyOperation.GENERATE_DATA_KEY, KeyOperation.DECRYPT], viaService: 'sqs' });
  // The environment is encrypted with the function's own key; Lambda decrypts it with the role's credentials.
  key.grantUse(role, { operations: [KeyOperation.DECRYPT], viaService: 'lambda' });

  const fn = new lambda.Function(scope, 'Function', {
    description: options.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: options.code,
    // An immutable view of the role: aws-cdk-lib adds nothing to it (every
    // permission is in our managed policies), and the function's DependsOn
    // does not repeat the dependency its Role GetAtt already makes.
    role: iam.Role.fromRoleArn(scope, 'FunctionRole', role.roleArn, { mutable: false }),
    timeout: options.timeout,
    memorySize: 256,
    reservedConcurrentExecutions: options.reservedConcurrentExecutions,
    logGroup,
    vpc: options.vpc,
    vpcSubnets,
    securityGroups,
    environment: options.environment,
    environmentEncryption: key,
  });
  // The dead-letter queue is set on the L1 so that aws-cdk-lib does not add
  // an inline policy for it: sqs:SendMessage is in the managed policy above.
  (fn.node.defaultChild as lambda.CfnFunction).deadLetterConfig = { targetArn: deadLetterQueue.queueArn };
  fn.node.addDependency(runtimePolicy);

  if (options.createSecretsManagerEndpoint && options.secretsManagerEndpoint) {
    throw propError(options.owner, 'createSecretsManagerEndpoint', `and secretsManagerEndpoint are both set: the function would get a second Secrets Manager endpoint in ${options.vpc.node.path}.`,
      'Pass only `secretsManagerEndpoint` (the existing endpoint) and leave `createSecretsManagerEndpoint` out.');
  }
  if (options.createSecretsManagerEndpoint) {
    const endpoint = options.vpc.addInterfaceEndpoint(options.endpointId ?? `${scope.node.id}SecretsManagerEndpoint`, {
      service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      subnets: { subnets: subnets.subnets },
      securityGroups,
      privateDnsEnabled: true,
    });
    // The function reaches Secrets Manager only through the endpoint: it may not run before it exists.
    fn.node.addDependency(endpoint);
    ownSecurityGroup?.addEgressRule(ownSecurityGroup, ec2.Port.tcp(443), 'Secrets Manager, through its interface endpoint');
  } else if (options.secretsManagerEndpoint) {
    const endpoint = checkSecretsManagerEndpoint(options.owner, options.secretsManagerEndpoint, options.vpc);
    fn.node.addDependency(endpoint);
    // Egress from the function's groups (its own, or the caller's) to the endpoint's groups, and
    // ingress on those from the function's groups: the same as the database's port.
    connections.allowTo(endpoint, ec2.Port.tcp(443), 'Secrets Manager, through its interface endpoint');
    for (const group of endpoint.connections.securityGroups.filter(g => !(g instanceof ec2.SecurityGroup))) {
      // An imported group gets the ingress rule only when imported mutable (the default): say so.
      Annotations.of(fn).addWarningV2('cdk-kms-secrets:importedEndpointSecurityGroup',
        `${options.owner}.secretsManagerEndpoint: the endpoint's security group ${group.node.path} is imported; if it was imported with \`mutable: false\`, no ingress rule is added to it: allow TCP 443 from ${fn.node.path}'s security group on it yourself.`);
    }
  } else {
    // No endpoint: the Secrets Manager API's public addresses (through a NAT gateway), HTTPS only.
    // Secrets Manager has no AWS-managed prefix list, so no narrower rule exists.
    ownSecurityGroup?.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'Secrets Manager API (HTTPS)');
  }
  if (options.otherHttps) {
    for (const group of securityGroups) group.addEgressRule(options.otherHttps.peer, ec2.Port.tcp(443), options.otherHttps.description);
  }

  return { function: fn, role, logGroup, deadLetterQueue, connections, ownSecurityGroup };
}

/**
 * Checks that `endpoint` can carry the function's Secrets Manager calls and
 * returns it: it has a security group (the function's egress goes to it);
 * when it is defined in this app, it is an interface endpoint of Secrets
 * Manager (not its FIPS endpoint, which the SDK would not call) in `vpc`,
 * with private DNS (the SDK calls `secretsmanager.<region>.amazonaws.com`,
 * which must resolve to the endpoint, not to public addresses the function
 * may not reach). An imported endpoint can only be checked for its security
 * groups.
 */
export function checkSecretsManagerEndpoint(owner: string, endpoint: ec2.IInterfaceVpcEndpoint, vpc: ec2.IVpc): ec2.IInterfaceVpcEndpoint {
  const property = 'secretsManagerEndpoint';
  const name = endpoint.node.path;
  if (endpoint.connections.securityGroups.length === 0) {
    throw propError(owner, property, `${name} has no security group: the function's egress to Secrets Manager would have nowhere to go.`,
      'Import the endpoint with its security groups: `ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(this, id, { vpcEndpointId, port: 443, securityGroups })`.');
  }
  const cfn = endpoint.node.defaultChild;
  if (!(cfn instanceof ec2.CfnVPCEndpoint)) return endpoint;
  const stack = Stack.of(endpoint);
  const service = cfn.serviceName ? serviceName(stack, cfn.serviceName) : '(no service name)';
  if (/\.secretsmanager-fips$/.test(service)) {
    throw propError(owner, property, `${name} is Secrets Manager's FIPS endpoint (${service}); the functions call secretsmanager.<region>.amazonaws.com, which its private DNS does not answer.`,
      'Pass the VPC\'s standard Secrets Manager endpoint (`ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER`).');
  }
  if (!/^(cn\.)?com\.amazonaws\.[^.]+\.secretsmanager$/.test(service)) {
    throw propError(owner, property, `${name} is an endpoint of ${service}, not of Secrets Manager.`,
      'Pass the VPC\'s Secrets Manager endpoint (`service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER`), or use `createSecretsManagerEndpoint: true`.');
  }
  if (cfn.vpcEndpointType !== undefined && cfn.vpcEndpointType !== 'Interface') {
    throw propError(owner, property, `${name} is a ${cfn.vpcEndpointType} endpoint.`, 'Pass an interface endpoint of Secrets Manager (`vpc.addInterfaceEndpoint`).');
  }
  if (stack.resolve(cfn.privateDnsEnabled) === false) {
    throw propError(owner, property, `${name} has private DNS turned off: the function calls secretsmanager.<region>.amazonaws.com, which would then resolve to public addresses its security group does not reach.`,
      'Create the endpoint with `privateDnsEnabled: true` (the default of `addInterfaceEndpoint`).');
  }
  const sameVpc = sameValue(stack, cfn.vpcId, Stack.of(vpc), vpc.vpcId);
  if (sameVpc === false) {
    throw propError(owner, property, `${name} is in another VPC than ${vpc.node.path}, where the function runs.`, 'Pass the Secrets Manager endpoint of the function\'s VPC.');
  }
  if (sameVpc === undefined) {
    Annotations.of(endpoint).addWarningV2('cdk-kms-secrets:endpointVpcUnknown',
      `secretsManagerEndpoint: ${name} cannot be shown to be in ${vpc.node.path} (their VPC ids are different expressions); the function reaches Secrets Manager only if it is.`);
  }
  return endpoint;
}

/** An endpoint's service name with its tokens (the region) as `*`: `com.amazonaws.*.secretsmanager`. */
function serviceName(stack: Stack, value: string): string {
  const flatten = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const join = (v as Record<string, unknown> | undefined)?.['Fn::Join'] as [string, unknown[]] | undefined;
    if (Array.isArray(join)) return join[1].map(flatten).join(join[0]);
    return '*';
  };
  return flatten(stack.resolve(value));
}

/**
 * Whether two VPC ids name the same VPC: `true` when they are the same
 * expression (the endpoint was made on that VPC) or equal literals, or
 * `{ Ref }`s of one resource of one stack; `false` when they are different
 * literals, or `{ Ref }`s of different resources (or of different stacks);
 * `undefined` when it cannot be told (imports, parameters).
 */
function sameValue(stackA: Stack, a: string, stackB: Stack, b: string): boolean | undefined {
  if (a === b) return true;
  const ra = stackA.resolve(a);
  const rb = stackB.resolve(b);
  if (!Token.isUnresolved(a) && !Token.isUnresolved(b)) return ra === rb;
  const isRef = (r: unknown) => typeof r === 'object' && r !== null && Object.keys(r).length === 1 && typeof (r as { Ref?: unknown }).Ref === 'string';
  if (isRef(ra) && isRef(rb)) return stackA === stackB && JSON.stringify(ra) === JSON.stringify(rb);
  return undefined;
}

/**
 * The last 8 characters of a shared function's construct id: a hash of its
 * placement, resolved (the same placement gives the same function). The
 * rotation and database-user functions are shared this way.
 */
export function placementHash(stack: Stack, placement: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(stack.resolve(placement))).digest('hex').slice(0, 8).toUpperCase();
}

/** The private subnets with egress, else the isolated ones. */
export function defaultSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
  return vpc.privateSubnets.length > 0 ? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } : { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
}
