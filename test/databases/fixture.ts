/** Databases for the ManagedDatabase tests: a VPC, a key, and an RDS instance or Aurora cluster on it. */
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { CustomerManagedKey, DatabaseEngine, ManagedDatabase, MasterUser } from '../../src';
import { TEST_STACK_ENV } from '../support/iam-eval';

export interface DbWorld {
  readonly stack: Stack;
  readonly key: CustomerManagedKey;
  readonly vpc: ec2.Vpc;
  readonly master: MasterUser;
  readonly instance?: rds.DatabaseInstance;
  readonly cluster?: rds.DatabaseCluster;
  readonly database: ManagedDatabase;
}

export type Kind = 'postgres-instance' | 'mysql-instance' | 'mariadb-instance' | 'aurora-postgres' | 'aurora-mysql';

const ENGINE: Record<Kind, DatabaseEngine> = {
  'postgres-instance': DatabaseEngine.POSTGRES,
  'mysql-instance': DatabaseEngine.MYSQL,
  'mariadb-instance': DatabaseEngine.MARIADB,
  'aurora-postgres': DatabaseEngine.POSTGRES,
  'aurora-mysql': DatabaseEngine.MYSQL,
};

export function vpcOf(stack: Stack): ec2.Vpc {
  return new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
}

export function database(kind: Kind, rdsManaged = false, port?: number): DbWorld {
  const stack = new Stack(new App(), 'Db', { env: TEST_STACK_ENV });
  const key = new CustomerManagedKey(stack, 'Key');
  const vpc = vpcOf(stack);
  const engine = ENGINE[kind];
  const master = rdsManaged
    ? MasterUser.rdsManaged({ encryptionKey: key, engine })
    : MasterUser.libraryRotated(stack, 'Master', { engine, encryptionKey: key });
  const common = {
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    storageEncryptionKey: key,
    credentials: master.credentials,
    port,
  };
  let instance: rds.DatabaseInstance | undefined;
  let cluster: rds.DatabaseCluster | undefined;
  if (kind.endsWith('-instance')) {
    const engines: Record<string, rds.IInstanceEngine> = {
      'postgres-instance': rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17_5 }),
      'mysql-instance': rds.DatabaseInstanceEngine.mysql({ version: rds.MysqlEngineVersion.VER_8_0_40 }),
      'mariadb-instance': rds.DatabaseInstanceEngine.mariaDb({ version: rds.MariaDbEngineVersion.VER_10_11 }),
    };
    instance = new rds.DatabaseInstance(stack, 'Instance', { ...common, engine: engines[kind], databaseName: 'payments' });
  } else {
    cluster = new rds.DatabaseCluster(stack, 'Cluster', {
      ...common,
      engine: kind === 'aurora-postgres'
        ? rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 })
        : rds.DatabaseClusterEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_3_08_0 }),
      writer: rds.ClusterInstance.serverlessV2('Writer'),
      defaultDatabaseName: 'payments',
    });
  }
  const db = new ManagedDatabase(stack, 'Payments', { instance, cluster, masterUser: master, databaseName: 'payments' });
  return { stack, key, vpc, master, instance, cluster, database: db };
}
