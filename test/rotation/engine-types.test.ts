/**
 * The engine of the database a rotated secret belongs to, at synth and at run
 * time: which aws-cdk-lib engine types each `DatabaseEngine` covers, that the
 * rotation function accepts exactly the same families in a secret's `engine`,
 * and that a mismatch is refused at synth with the property and the fix.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { DatabaseEngine, ManagedSecret, Rotation } from '../../src';
import { databaseEngineOf, ENGINE_TYPES, engineTypeOf } from '../../src/rotation/engine-types';
import { ENGINE_FAMILIES, engineFamily } from '../../src/rotation/runtime/engine';
import { mysqlEngine } from '../../src/rotation/runtime/mysql';
import { postgresEngine } from '../../src/rotation/runtime/postgres';

const ENV = { account: '123456789012', region: 'eu-west-1' };

function fixture() {
  const stack = new Stack(new App(), 'Db', { env: ENV });
  const vpc = new ec2.Vpc(stack, 'Vpc', { natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  const placement = { vpc, vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED } };
  return { stack, vpc, placement };
}

const instanceEngines: Array<[string, rds.IInstanceEngine]> = [
  ['postgres', rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_15 })],
  ['mysql', rds.DatabaseInstanceEngine.mysql({ version: rds.MysqlEngineVersion.VER_8_0 })],
  ['mariadb', rds.DatabaseInstanceEngine.mariaDb({ version: rds.MariaDbEngineVersion.VER_10_11 })],
  ['sqlserver-ex', rds.DatabaseInstanceEngine.SQL_SERVER_EX],
  ['oracle-ee', rds.DatabaseInstanceEngine.ORACLE_EE],
];
const clusterEngines: Array<[string, rds.IClusterEngine]> = [
  ['aurora-postgresql', rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_15_4 })],
  ['aurora-mysql', rds.DatabaseClusterEngine.auroraMysql({ version: rds.AuroraMysqlEngineVersion.VER_3_05_2 })],
];

describe('engine types', () => {
  test('aws-cdk-lib engine types map to the DatabaseEngine whose rotation rotates them; Oracle and SQL Server to none', () => {
    const mapped = Object.fromEntries([...instanceEngines, ...clusterEngines]
      .map(([type, engine]) => [type, [engine.engineType, databaseEngineOf(engine.engineType)]]));
    expect(mapped).toEqual({
      'postgres': ['postgres', DatabaseEngine.POSTGRES],
      'mysql': ['mysql', DatabaseEngine.MYSQL],
      'mariadb': ['mariadb', DatabaseEngine.MARIADB],
      'sqlserver-ex': ['sqlserver-ex', undefined],
      'oracle-ee': ['oracle-ee', undefined],
      'aurora-postgresql': ['aurora-postgresql', DatabaseEngine.POSTGRES],
      'aurora-mysql': ['aurora-mysql', DatabaseEngine.MYSQL],
    });
  });

  test('the rotation function accepts, for a secret pinned to each DatabaseEngine, exactly the engine types of that engine (plus spellings)', () => {
    for (const engine of Object.values(DatabaseEngine)) {
      const family = engineFamily(engine)!;
      expect(family).toEqual(expect.arrayContaining([...ENGINE_TYPES[engine]]));
      // The only extra value is the adapter's historical "postgresql" spelling.
      expect(family.filter(e => !ENGINE_TYPES[engine].includes(e))).toEqual(engine === DatabaseEngine.POSTGRES ? ['postgresql'] : []);
    }
    // Families are disjoint, and each adapter rotates exactly its families.
    expect(new Set(ENGINE_FAMILIES.flat()).size).toBe(ENGINE_FAMILIES.flat().length);
    expect([...postgresEngine.engines].sort()).toEqual([...engineFamily('postgres')!].sort());
    expect([...mysqlEngine.engines].sort()).toEqual([...engineFamily('mysql')!, ...engineFamily('mariadb')!].sort());
    expect(engineFamily('AURORA-POSTGRESQL')).toBe(engineFamily('postgres'));
    expect(engineFamily('oracle-ee')).toBeUndefined();
  });

  test('engineTypeOf reads instances and clusters, and nothing from a plain IConnectable (a security group)', () => {
    const { stack, vpc, placement } = fixture();
    const instance = new rds.DatabaseInstance(stack, 'I', { ...placement, engine: instanceEngines[0][1] });
    const cluster = new rds.DatabaseCluster(stack, 'C', { ...placement, engine: clusterEngines[1][1], writer: rds.ClusterInstance.provisioned('W') });
    const sg = new ec2.SecurityGroup(stack, 'Sg', { vpc });
    expect([engineTypeOf(instance), engineTypeOf(cluster), engineTypeOf(sg), engineTypeOf(undefined)]).toEqual(['postgres', 'aurora-mysql', undefined, undefined]);
  });
});

describe('a rotated secret whose database runs another engine fails at synth', () => {
  const credentials = (engine: DatabaseEngine) => ({ engine, host: 'db.example.internal', username: 'app' });
  const rotationFor = (engine: DatabaseEngine, vpc: ec2.IVpc, database: ec2.IConnectable) =>
    engine === DatabaseEngine.POSTGRES ? Rotation.postgresSingleUser({ vpc, database }) : Rotation.mysqlSingleUser({ vpc, database });

  test.each([
    [DatabaseEngine.POSTGRES, 'aurora-postgresql'],
    [DatabaseEngine.MYSQL, 'aurora-mysql'],
    [DatabaseEngine.POSTGRES, 'postgres'],
    [DatabaseEngine.MYSQL, 'mysql'],
    [DatabaseEngine.MARIADB, 'mariadb'],
  ] as const)('%s credentials, database %s: accepted', (engine, type) => {
    const { stack, vpc, placement } = fixture();
    const cluster = clusterEngines.find(([t]) => t === type);
    const database = cluster
      ? new rds.DatabaseCluster(stack, 'Database', { ...placement, engine: cluster[1], writer: rds.ClusterInstance.provisioned('W') })
      : new rds.DatabaseInstance(stack, 'Database', { ...placement, engine: instanceEngines.find(([t]) => t === type)![1] });
    expect(() => new ManagedSecret(stack, 'S', { credentials: credentials(engine), rotation: rotationFor(engine, vpc, database) })).not.toThrow();
  });

  test.each([
    [DatabaseEngine.MYSQL, 'mariadb', /ManagedSecret\.credentials\.engine: is mysql, but the rotation's database Db\/Database runs mariadb\. Fix: Create the secret with `engine: DatabaseEngine\.MARIADB`/],
    [DatabaseEngine.MARIADB, 'mysql', /ManagedSecret\.credentials\.engine: is mariadb, but the rotation's database Db\/Database runs mysql\. Fix: Create the secret with `engine: DatabaseEngine\.MYSQL`/],
    [DatabaseEngine.MYSQL, 'aurora-postgresql', /credentials\.engine: is mysql, but the rotation's database Db\/Database runs aurora-postgresql\. Fix: Create the secret with `engine: DatabaseEngine\.POSTGRES` \(postgres covers aurora-postgresql\)/],
    [DatabaseEngine.POSTGRES, 'sqlserver-ex', /credentials\.engine: is postgres, but the rotation's database Db\/Database runs sqlserver-ex, which no rotation of this library rotates\. Fix: Rotate it with your own function/],
  ] as const)('%s credentials, database %s: refused with the property and the fix', (engine, type, message) => {
    const { stack, vpc, placement } = fixture();
    const cluster = clusterEngines.find(([t]) => t === type);
    const database = cluster
      ? new rds.DatabaseCluster(stack, 'Database', { ...placement, engine: cluster[1], writer: rds.ClusterInstance.provisioned('W') })
      : new rds.DatabaseInstance(stack, 'Database', { ...placement, engine: instanceEngines.find(([t]) => t === type)![1], ...(type === 'sqlserver-ex' ? { licenseModel: rds.LicenseModel.LICENSE_INCLUDED } : {}) });
    expect(() => new ManagedSecret(stack, 'S', { credentials: credentials(engine), rotation: rotationFor(engine, vpc, database) })).toThrow(message);
  });
});
