/**
 * ManagedSecret and SecretGrants as drop-ins for aws-cdk-lib's Secret grants
 * (issue #12): the paths that work on Secret work on ours.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { CustomerManagedKey, DatabaseEngine, ManagedSecret, Rotation, SecretGrants } from '../../src';

describe('secret ARNs in policies: one derivation for every grant', () => {
  test('a named secret of eu-west-1 granted to a role of a us-east-1 stack matches its real ARN (-??????), in the resource and the SecretARN condition', () => {
    const app = new App();
    const secrets = new Stack(app, 'Secrets', { env: { account: '111111111111', region: 'eu-west-1' } });
    const apps = new Stack(app, 'Apps', { env: { account: '111111111111', region: 'us-east-1' } });
    const secret = new ManagedSecret(secrets, 'Secret', { secretName: 'MySecret' });
    secret.grantRead(new iam.Role(apps, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
    const text = JSON.stringify(Template.fromStack(apps).toJSON());
    const arns = [...text.matchAll(/secret:MySecret[^"]*/g)].map(m => m[0]);
    expect(arns.length).toBeGreaterThanOrEqual(2);
    for (const a of arns) expect(a).toBe('secret:MySecret-??????');
  });

  test('with crossRegionReferences the consumer gets the complete ARN, and no second suffix', () => {
    const app = new App();
    const secrets = new Stack(app, 'Secrets', { env: { account: '111111111111', region: 'eu-west-1' }, crossRegionReferences: true });
    const apps = new Stack(app, 'Apps', { env: { account: '111111111111', region: 'us-east-1' }, crossRegionReferences: true });
    const secret = new ManagedSecret(secrets, 'Secret', { secretName: 'MySecret' });
    secret.grantRead(new iam.Role(apps, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
    expect(JSON.stringify(Template.fromStack(apps).toJSON())).not.toContain('??????');
  });

  test('a name with a wildcard is refused: it would grant every secret it matches', () => {
    const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
    const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    expect(() => SecretGrants.read(reader, secretsmanager.Secret.fromSecretNameV2(stack, 'S', 'team-*'), new CustomerManagedKey(stack, 'Key')))
      .toThrow(/\[cdk-kms-secrets\] SecretGrants\.read\.secret: is named 'team-\*', with a wildcard.*Fix: Import the secret by its exact name/);
  });
});

describe('cross-account grants', () => {
  test('with an explicit env the grant reports success, so assertSuccess() holds', () => {
    const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
    const secret = new ManagedSecret(stack, 'Secret', { secretName: 'shared' });
    const grant = secret.grantRead(new iam.AccountPrincipal('222222222222'));
    expect(grant.success).toBe(true);
    expect(() => grant.assertSuccess()).not.toThrow();
  });

  test('in an env-agnostic stack, a grant to another account writes the resource policy as Secret does', () => {
    const stack = new Stack(new App(), 'S');
    const secret = new ManagedSecret(stack, 'Secret', { secretName: 'shared' });
    const grant = secret.grantRead(new iam.AccountPrincipal('222222222222'));
    expect(grant.success).toBe(true);
    const policy = JSON.stringify(Template.fromStack(stack).findResources('AWS::SecretsManager::ResourcePolicy'));
    expect(policy).toContain(':iam::222222222222:root');
    expect(policy).toContain('secretsmanager:GetSecretValue');
  });
});

describe('deploy ordering', () => {
  test('after grantRead(fn), the function is deployed after the policy that grants it the secret', () => {
    const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
    const secret = new ManagedSecret(stack, 'Secret');
    const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => 1') });
    secret.grantRead(fn);
    const template = Template.fromStack(stack).toJSON();
    const [fnId] = Object.entries(template.Resources as Record<string, { Type: string }>).find(([, r]) => r.Type === 'AWS::Lambda::Function')!;
    const [policyId] = Object.entries(template.Resources as Record<string, { Type: string; Properties?: { Description?: string } }>)
      .find(([, r]) => r.Type === 'AWS::IAM::ManagedPolicy' && /Least-privilege secret and key grants/.test(r.Properties?.Description ?? ''))!;
    expect([template.Resources[fnId].DependsOn].flat()).toContain(policyId);
  });
});

describe('a master secret imported by name', () => {
  test('the rotation role reads it by its -?????? pattern, and a warning says its key is unknown', () => {
    const stack = new Stack(new App(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
    const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-1', availabilityZones: ['eu-west-1a'], privateSubnetIds: ['subnet-1'], vpcCidrBlock: '10.0.0.0/16' });
    const master = secretsmanager.Secret.fromSecretNameV2(stack, 'Master', 'rds/master');
    new ManagedSecret(stack, 'Db', {
      credentials: { engine: DatabaseEngine.POSTGRES, host: 'db.internal', username: 'app', masterSecret: master },
      rotation: Rotation.postgresAlternatingUsers({ vpc }),
    });
    const text = JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::ManagedPolicy'));
    expect(text).toContain('secret:rds/master-??????');
    expect(text).not.toMatch(/secret:rds\/master"/);
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('The master secret .* has no known key'));
  });
});
