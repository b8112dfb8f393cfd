/**
 * CustomerManagedKey as a drop-in for kms.Key (issue #12): the aws-cdk-lib
 * paths that grant on a key work on ours, under IAM evaluation, or are
 * refused with the library's error.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CustomerManagedKey, KeyOperation } from '../../src';
import {
  arnOf, CfnTemplate, identityPoliciesOf, keyPolicyOf, kmsRequestContext, logicalIdOf, simulate, TEST_STACK_ENV,
} from '../support/iam-eval';

function world(props: ConstructorParameters<typeof CustomerManagedKey>[2] = {}) {
  const app = new App();
  const stack = new Stack(app, 'Keys', { env: TEST_STACK_ENV });
  const role = new iam.Role(stack, 'App', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  const key = new CustomerManagedKey(stack, 'Key', props);
  return { app, stack, role, key };
}

async function decide(w: ReturnType<typeof world>, action: string, extra: { viaService?: string } = {}) {
  const template = Template.fromStack(w.stack).toJSON() as CfnTemplate;
  const principalArn = arnOf(template, logicalIdOf(w.role));
  return simulate({
    principalArn,
    action,
    resourceArn: arnOf(template, logicalIdOf(w.key)),
    resourcePolicy: keyPolicyOf(template, logicalIdOf(w.key)),
    identityPolicies: identityPoliciesOf(template, logicalIdOf(w.role)),
    context: kmsRequestContext({ principalArn, viaService: extra.viaService }),
  });
}

describe('aws-cdk-lib KeyGrants go through the key', () => {
  test('key.grants.decrypt(role) lands in the key policy with the key\'s narrowing', async () => {
    const w = world({ viaServices: ['s3'] });
    w.key.grants.decrypt(w.role);
    expect(await decide(w, 'kms:Decrypt', { viaService: 's3' })).toBe('Allowed');
    expect(await decide(w, 'kms:Decrypt')).toBe('ImplicitlyDenied');
  });

  test('key.grants.admin(role) makes the role an administrator, as grantAdmin does', async () => {
    const w = world();
    w.key.grants.admin(w.role);
    expect(await decide(w, 'kms:PutKeyPolicy')).toBe('Allowed');
    expect(await decide(w, 'kms:Decrypt')).not.toBe('Allowed');
  });

  test('s3.BucketGrants for an L1 bucket on the key reaches the key policy through the CfnKey', async () => {
    const w = world();
    const bucket = new s3.CfnBucket(w.stack, 'Raw', {
      bucketEncryption: { serverSideEncryptionConfiguration: [{ serverSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: w.key.keyArn } }] },
    });
    s3.BucketGrants.fromBucket(bucket).read(w.role);
    expect(await decide(w, 'kms:Decrypt')).toBe('Allowed');
  });

  test('KeyGrants.fromKey(key) with the default trust writes an identity-only grant: refused at synth with our error', () => {
    const w = world();
    kms.KeyGrants.fromKey(w.key).decrypt(w.role);
    expect(() => Template.fromStack(w.stack)).toThrow(/\[cdk-kms-secrets\] CustomerManagedKey: the identity policy .* allows kms:Decrypt on this key to .*which the key policy does not name.*Fix: grant through the key/s);
  });
});

describe('grants are live: later edits reach the key policy', () => {
  test('ec2.Volume.grantAttachVolume on an encrypted volume does not crash, and its conditions reach the key policy', () => {
    const w = world();
    const volume = new ec2.Volume(w.stack, 'Volume', { availabilityZone: 'eu-west-1a', size: { toGibibytes: () => 8 } as never, encrypted: true, encryptionKey: w.key });
    expect(() => volume.grantAttachVolume(w.role)).not.toThrow();
    const policy = keyPolicyOf(Template.fromStack(w.stack).toJSON() as CfnTemplate, logicalIdOf(w.key));
    const createGrant = policy.Statement.find(s => [s.Action].flat().includes('kms:CreateGrant') && JSON.stringify(s.Principal).includes('App'))!;
    expect(createGrant.Condition).toMatchObject({ Bool: { 'kms:GrantIsForAWSResource': true }, StringEquals: { 'kms:ViaService': 'ec2.eu-west-1.amazonaws.com' } });
  });

  test('addToResourcePolicy(st) then st.addCondition(...): the condition is in the key policy', () => {
    const w = world();
    const st = new iam.PolicyStatement({ actions: ['kms:Decrypt'], principals: [w.role], resources: ['*'] });
    w.key.addToResourcePolicy(st);
    st.addCondition('StringEquals', { 'kms:EncryptionContext:tenant': 'acme' });
    const policy = JSON.stringify(keyPolicyOf(Template.fromStack(w.stack).toJSON() as CfnTemplate, logicalIdOf(w.key)));
    expect(policy).toContain('"kms:EncryptionContext:tenant":"acme"');
  });

  test('a grant widened later into management is judged again at synth', () => {
    const w = world({ users: [] });
    const grant = w.key.grantDecrypt(w.role);
    grant.principalStatement!.addActions('kms:PutKeyPolicy');
    expect(() => Template.fromStack(w.stack)).toThrow(/\[cdk-kms-secrets\] .*covers both management actions .* and usage actions/s);
  });
});

describe('cross-account key grant', () => {
  test('grantEncryptDecrypt to a role of another account\'s stack writes the key policy and the role\'s identity policy', () => {
    const app = new App();
    const keys = new Stack(app, 'Keys', { env: TEST_STACK_ENV });
    const partner = new Stack(app, 'Partner', { env: { account: '222222222222', region: 'eu-west-1' } });
    const role = new iam.Role(partner, 'PartnerRole', { roleName: 'partner-app', assumedBy: new iam.AccountRootPrincipal() });
    const key = new CustomerManagedKey(keys, 'Key');
    const grant = key.grantEncryptDecrypt(role);
    expect(grant.success).toBe(true);
    const identity = JSON.stringify(Template.fromStack(partner).toJSON());
    expect(identity).toContain('kms:Decrypt');
    const policy = JSON.stringify(Template.fromStack(keys).toJSON());
    expect(policy).toContain(':iam::222222222222:role/partner-app');
  });
});

describe('a grant that would be a dependency cycle', () => {
  test('grantUse with viaService and grantDecrypt for principals of the same other stack: our error, not a DependencyCycle', () => {
    const app = new App();
    const keys = new Stack(app, 'Keys', { env: TEST_STACK_ENV });
    const apps = new Stack(app, 'Apps', { env: TEST_STACK_ENV });
    const key = new CustomerManagedKey(keys, 'Key');
    const a = new iam.Role(apps, 'A', { assumedBy: new iam.AccountRootPrincipal() });
    const b = new iam.Role(apps, 'B', { assumedBy: new iam.AccountRootPrincipal() });
    key.grantUse(a, { operations: [KeyOperation.DECRYPT], viaService: 's3' });
    expect(() => key.grantDecrypt(b)).toThrow(/\[cdk-kms-secrets\] CustomerManagedKey\.grantUse\.viaService: grantees in stack Apps are granted both through a service .* a dependency cycle\. Fix: Grant every principal of that stack with `viaService`/);
  });
});
