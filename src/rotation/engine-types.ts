import { Token } from 'aws-cdk-lib';
import { DatabaseEngine } from '../secrets/types';

/**
 * aws-cdk-lib's engine types (`rds.IEngine.engineType` of an instance,
 * cluster or serverless cluster) by the `DatabaseEngine` whose rotation
 * function rotates them. The same families as the rotation function's
 * `ENGINE_FAMILIES` (runtime/engine.ts), which a test keeps in step.
 */
export const ENGINE_TYPES: Record<DatabaseEngine, readonly string[]> = {
  [DatabaseEngine.POSTGRES]: ['postgres', 'aurora-postgresql'],
  [DatabaseEngine.MYSQL]: ['mysql', 'aurora-mysql', 'aurora'],
  [DatabaseEngine.MARIADB]: ['mariadb'],
};

/**
 * The engine type of an RDS database construct (`engine.engineType`), when it
 * has one known at synth; undefined for a proxy, an imported database without
 * an engine, or any other `IConnectable`.
 */
export function engineTypeOf(database: unknown): string | undefined {
  const engineType = (database as { engine?: { engineType?: unknown } } | undefined)?.engine?.engineType;
  return typeof engineType === 'string' && !Token.isUnresolved(engineType) ? engineType : undefined;
}

/** The `DatabaseEngine` whose rotation rotates an aws-cdk-lib engine type; undefined for the others (Oracle, SQL Server, Db2...). */
export function databaseEngineOf(engineType: string): DatabaseEngine | undefined {
  return (Object.keys(ENGINE_TYPES) as DatabaseEngine[]).find(e => ENGINE_TYPES[e].includes(engineType));
}
