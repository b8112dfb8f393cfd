/**
 * The evidence matrix: every construct, in its default configuration and in
 * each major option set, against every pack (the four cdk-nag packs and our
 * own) and cfn-lint. One cell per (scenario, pack). The only findings allowed
 * anywhere are the two documented in UNFIXABLE_FINDINGS, and library code
 * holds no suppression.
 */
import { readdirSync, readFileSync, statSync } from 'fs';
import { join } from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { CustomerManagedKey, CustomerManagedKeyReplica, DatabaseEngine, ManagedSecret, Rotation } from '../../src';
import { cfnLint, describeFindings, Finding, nagFindings, PACK_NAMES, unexpectedFindings } from '../support/compliance';

const ENV = { account: '111111111111', region: 'eu-west-1' };
type Scenario = (s: Stack) => void;
const role = (s: Stack, id: string) => new iam.Role(s, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
const vpcOf = (s: Stack): ec2.IVpc => (s.node.tryFindChild('Vpc') as ec2.IVpc | undefined)
  ?? ec2.Vpc.fromVpcAttributes(s, 'Vpc', { vpcId: 'vpc-12345678', availabilityZones: ['eu-west-1a', 'eu-west-1b'], privateSubnetIds: ['subnet-11111111', 'subnet-22222222'] });
const pg = { engine: DatabaseEngine.POSTGRES, host: 'db.internal', username: 'app' };

const SCENARIOS: Record<string, Scenario> = {
  'CustomerManagedKey default': s => new CustomerManagedKey(s, 'Key'),
  'CustomerManagedKey administrators, users, grants': s => {
    const key = new CustomerManagedKey(s, 'Key', { administrators: [role(s, 'Admin')], users: [role(s, 'User')], serviceUsers: [role(s, 'Svc')], alias: 'payments' });
    key.grantEnvelopeEncryption(role(s, 'Env'), { encryptionContext: { tenant: 'a' } });
  },
  'CustomerManagedKey narrowed, account not administering': s => new CustomerManagedKey(s, 'Key', {
    administrators: [role(s, 'Admin')], deploymentRole: role(s, 'Deployer'), allowAccountToAdminister: false, viaServices: ['secretsmanager'], callerAccounts: [ENV.account], requiredEncryptionContextKeys: ['app'],
  }),
  'CustomerManagedKey HMAC and signing': s => {
    new CustomerManagedKey(s, 'Mac', { keySpec: kms.KeySpec.HMAC_256, keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC });
    new CustomerManagedKey(s, 'Sign', { keySpec: kms.KeySpec.RSA_3072, keyUsage: kms.KeyUsage.SIGN_VERIFY });
  },
  'CustomerManagedKeyReplica': s => {
    const primary = new Stack(s.node.scope as App, 'Primary', { env: { ...ENV, region: 'eu-central-1' } });
    new CustomerManagedKeyReplica(s, 'Replica', {
      primaryKey: new CustomerManagedKey(primary, 'Key', { multiRegion: true }),
      primaryKeyArn: 'arn:aws:kms:eu-central-1:111111111111:key/mrk-1',
      administrators: [role(s, 'Admin')],
    });
  },
  'ManagedSecret PostgreSQL single user': s => new ManagedSecret(s, 'Db', { credentials: pg, rotation: Rotation.postgresSingleUser({ vpc: vpcOf(s), window: Duration.hours(2) }) }),
  'ManagedSecret PostgreSQL alternating users': s => {
    const master = new ManagedSecret(s, 'Master', { credentials: { ...pg, username: 'postgres' }, rotation: Rotation.postgresSingleUser({ vpc: vpcOf(s) }) });
    new ManagedSecret(s, 'Db', { credentials: { ...pg, masterSecret: master }, rotation: Rotation.postgresAlternatingUsers({ vpc: vpcOf(s) }) });
  },
  'ManagedSecret MariaDB/MySQL': s => {
    const master = new ManagedSecret(s, 'Master', { credentials: { ...pg, engine: DatabaseEngine.MYSQL, username: 'admin' }, rotation: Rotation.mysqlSingleUser({ vpc: vpcOf(s) }) });
    new ManagedSecret(s, 'Db', { credentials: { ...pg, engine: DatabaseEngine.MARIADB, masterSecret: master }, rotation: Rotation.mysqlAlternatingUsers({ vpc: vpcOf(s) }) });
  },
  'ManagedSecret custom rotation': s => new ManagedSecret(s, 'Token', { rotation: Rotation.custom({ function: lambda.Function.fromFunctionArn(s, 'F', 'arn:aws:lambda:eu-west-1:111111111111:function:rotate') }) }),
  'Grants: read, write, rotate, cross-account': s => {
    const secret = new ManagedSecret(s, 'Db', { credentials: pg, rotation: Rotation.postgresSingleUser({ vpc: vpcOf(s) }) });
    secret.grantRead(role(s, 'Reader'), ['AWSCURRENT']);
    secret.grantWrite(role(s, 'Writer'));
    secret.grantRotate(role(s, 'Rotator'));
    secret.grantRead(new iam.ArnPrincipal('arn:aws:iam::222222222222:role/Partner'));
  },
};

interface Result { readonly nag: Record<string, Finding[]>; readonly lint: Finding[] }
const results = new Map<string, Result>();
function resultOf(name: string): Result {
  if (!results.has(name)) {
    const app = new App();
    const s = new Stack(app, 'Matrix', { env: ENV, crossRegionReferences: true });
    SCENARIOS[name](s);
    results.set(name, { nag: nagFindings(s), lint: cfnLint(Template.fromStack(s).toJSON(), [ENV.region]) });
  }
  return results.get(name)!;
}

const cells = Object.keys(SCENARIOS).flatMap(scenario => [...PACK_NAMES, 'cfn-lint'].map(pack => [scenario, pack] as const));

describe('matrix: construct x options x pack', () => {
  test.each(cells)('%s / %s', (scenario, pack) => {
    const r = resultOf(scenario);
    const findings = pack === 'cfn-lint' ? r.lint : r.nag[pack];
    expect(findings).toBeDefined();
    expect(describeFindings(unexpectedFindings(findings))).toBe('');
  });
});

describe('library code holds no suppression', () => {
  const files = (dir: string): string[] => readdirSync(dir).flatMap(f => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });

  test('no acknowledge(), NagSuppressions or cdk_nag metadata under src/', () => {
    const offenders = files(join(__dirname, '..', '..', 'src')).filter(f => /\.acknowledge\(|NagSuppressions|rules_to_suppress|cdk_nag/.test(readFileSync(f, 'utf-8')));
    expect(offenders).toEqual([]);
  });
});
