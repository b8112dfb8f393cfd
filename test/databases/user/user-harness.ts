/**
 * Drives the DatabaseUser provisioning handler (src/databases/user/runtime)
 * the way CloudFormation does, against the real services of
 * scripts/services.sh: PostgreSQL 15 / MariaDB over verified TLS (or their
 * TLS-less twins) and moto's Secrets Manager, read by the handler's real AWS
 * SDK client.
 *
 * Each harness gets its own database, master user and secrets (unique
 * names). The master user is like an RDS master: PostgreSQL `CREATEROLE`
 * and owner of the database (not a superuser); MariaDB `ALL ON *.* WITH GRANT
 * OPTION`. The secrets hold a decoy host and port: the handler must never use
 * them (a listener on the decoy port counts connections).
 */
import { randomBytes, randomUUID } from 'crypto';
import { readFileSync } from 'fs';
import { createServer, Server } from 'net';
import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent, SecretsManagerRotationEvent } from 'aws-lambda';
import { Connection, RowDataPacket } from 'mysql2/promise';
import { Client, escapeIdentifier, escapeLiteral } from 'pg';
import { createUserHandler, CustomResourceResponse } from '../../../src/databases/user/runtime/lambda';
import { mysqlAdmin } from '../../../src/databases/user/runtime/mysql-admin';
import { postgresAdmin } from '../../../src/databases/user/runtime/postgres-admin';
import { createHandler } from '../../../src/rotation/runtime/lambda';
import { mysqlEngine } from '../../../src/rotation/runtime/mysql';
import { postgresEngine } from '../../../src/rotation/runtime/postgres';
import { STEPS } from '../../../src/rotation/runtime/protocol';
import { TAGS } from '../../../src/rotation/runtime/target';
import { mysqlConnect, pgConnect, requireServices, ServiceEnv, TestServer } from '../../support/services';

export type EngineName = 'postgres' | 'mysql';
export const ENGINES: readonly EngineName[] = ['postgres', 'mysql'];

/** Where the secrets say the database is: never to be used. */
export const DECOY_HOST = '127.0.0.1';

let svc: ServiceEnv | undefined;
let sm: SecretsManagerClient | undefined;
export function services(): ServiceEnv {
  svc ??= requireServices();
  return svc;
}
export function secretsClient(): SecretsManagerClient {
  sm ??= new SecretsManagerClient({ endpoint: services().motoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  return sm;
}

/** A TCP listener that counts connections (and closes them at once). */
export async function connectionCounter(): Promise<{ port: number; count: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server: Server = createServer(socket => {
    n++;
    socket.destroy();
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { port, count: () => n, close: () => new Promise(resolve => server.close(() => resolve())) };
}

/** A free TCP port nothing listens on (a database that is down). */
export async function closedPort(): Promise<number> {
  const counter = await connectionCounter();
  await counter.close();
  return counter.port;
}

export interface HarnessOptions {
  readonly engine: EngineName;
  /** The user name (default `app_<id>`). */
  readonly username?: string;
  /** The database name (default `usr_<id>`). */
  readonly dbname?: string;
  /** Use the server without TLS. */
  readonly serverWithoutTls?: boolean;
  /**
   * Make the user secret rotatable with this strategy, as ManagedSecret.addRotation
   * does (rotation enabled, tags pinning the database, the real host and port
   * in the value: rotation checks them against the tags).
   */
  readonly rotation?: 'single-user' | 'alternating-users';
}

export interface Invocation {
  readonly response: CustomResourceResponse;
  readonly logs: string[];
}

export class UserHarness {
  static async setup(options: HarnessOptions): Promise<UserHarness> {
    const h = new UserHarness(options);
    await h.create();
    return h;
  }

  public readonly id = randomBytes(3).toString('hex');
  public readonly engine: EngineName;
  public readonly username: string;
  public readonly dbname: string;
  public readonly masterUsername: string;
  public masterPassword = randomBytes(16).toString('hex');
  public userPassword = `${randomBytes(12).toString('hex')}'"\\;--`;
  public readonly host: string;
  public port: number;
  public readonly tlsServer: boolean;
  public userSecretArn = '';
  public masterSecretArn = '';
  /** The handler's environment (DATABASE_USER_ENDPOINTS pins the real endpoint for the master secret). */
  public env: Record<string, string | undefined> = {};
  /** Every log line and answer of every invocation. */
  public readonly logs: string[] = [];
  public readonly responses: CustomResourceResponse[] = [];
  /** Every password a test used (they must never appear in logs or answers). */
  public readonly passwords = new Set<string>();
  private readonly ca: string;
  private readonly options: HarnessOptions;
  private readonly decoy: Promise<{ port: number; count: () => number; close: () => Promise<void> }>;

  private constructor(options: HarnessOptions) {
    const s = services();
    this.options = options;
    this.engine = options.engine;
    this.username = options.username ?? `app_${this.id}`;
    this.dbname = options.dbname ?? `usr_${this.id}`;
    this.masterUsername = `master_${this.id}`;
    this.tlsServer = options.serverWithoutTls !== true;
    const db = options.engine === 'postgres' ? s.pg : s.mysql;
    this.host = db.host;
    this.port = this.tlsServer ? db.port : db.noTlsPort;
    this.ca = readFileSync(s.caFile, 'utf8');
    this.decoy = connectionCounter();
    this.passwords.add(this.masterPassword);
    this.passwords.add(this.userPassword);
  }

  /** Connections the decoy endpoint (the host/port in the secrets) received. */
  async decoyConnections(): Promise<number> {
    return (await this.decoy).count();
  }

  async close(): Promise<void> {
    await (await this.decoy).close();
  }

  // --- CloudFormation requests ---------------------------------------------

  properties(overrides: Record<string, string | undefined> = {}): Record<string, string> {
    const props: Record<string, string | undefined> = {
      ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:provisioning',
      Engine: this.engine === 'postgres' ? 'postgres' : 'mariadb',
      UserSecretArn: this.userSecretArn,
      MasterSecretArn: this.masterSecretArn,
      Host: this.host,
      Port: String(this.port),
      DatabaseName: this.dbname,
      Privileges: 'SELECT,INSERT,UPDATE,DELETE' + (this.engine === 'postgres' ? ',CONNECT' : ''),
      AdoptExistingUser: 'false',
      DropOnDelete: 'false',
      ...overrides,
    };
    return Object.fromEntries(Object.entries(props).filter(([, v]) => v !== undefined)) as Record<string, string>;
  }

  async create(): Promise<void> {
    if (this.engine === 'postgres') await this.createPostgres();
    else await this.createMysql();
    const decoy = await this.decoy;
    const value = (username: string, password: string) => JSON.stringify({
      engine: this.engine === 'postgres' ? 'postgres' : 'mariadb', host: DECOY_HOST, port: decoy.port, username, password, dbname: this.dbname,
    });
    const base = `database-user-test/${this.engine}/${this.id}`;
    // With rotation, the master secret has no host/port (the shape of RDS-managed master secrets): rotation refuses one for another endpoint.
    const masterValue = this.options.rotation
      ? JSON.stringify({ username: this.masterUsername, password: this.masterPassword })
      : value(this.masterUsername, this.masterPassword);
    this.masterSecretArn = (await secretsClient().send(new CreateSecretCommand({ Name: `${base}/master`, SecretString: masterValue }))).ARN!;
    this.pin([`${this.host}:${this.port}`]);
    if (!this.options.rotation) {
      this.userSecretArn = (await secretsClient().send(new CreateSecretCommand({ Name: `${base}/user`, SecretString: value(this.username, this.userPassword) }))).ARN!;
      return;
    }
    const engine = this.engine === 'postgres' ? 'postgres' : 'mariadb';
    const tags = [
      { Key: TAGS.engine, Value: engine }, { Key: TAGS.host, Value: this.host }, { Key: TAGS.port, Value: String(this.port) },
      { Key: TAGS.username, Value: this.username }, { Key: TAGS.dbname, Value: this.dbname },
      ...(this.options.rotation === 'alternating-users' ? [{ Key: TAGS.masterarn, Value: this.masterSecretArn }] : []),
    ];
    // Created empty, rotation enabled, then the first value (see test/support/rotation-harness.ts on moto).
    this.userSecretArn = (await secretsClient().send(new CreateSecretCommand({ Name: `${base}/user`, Tags: tags }))).ARN!;
    await secretsClient().send(new RotateSecretCommand({
      SecretId: this.userSecretArn, RotationRules: { AutomaticallyAfterDays: 30 }, RotateImmediately: false,
    }));
    await secretsClient().send(new PutSecretValueCommand({
      SecretId: this.userSecretArn,
      SecretString: JSON.stringify({
        engine,
        host: this.host,
        port: this.port,
        username: this.username,
        password: this.userPassword,
        dbname: this.dbname,
        ...(this.options.rotation === 'alternating-users' ? { masterarn: this.masterSecretArn } : {}),
      }),
      VersionStages: ['AWSCURRENT'],
    }));
  }

  /** A whole rotation of the user secret by the real rotation handler (the four steps); returns the new AWSCURRENT. */
  async rotate(): Promise<{ username: string; password: string }> {
    const saved = { ...process.env };
    Object.assign(process.env, { ROTATION_STRATEGY: this.options.rotation, ROTATION_TLS_CA_FILE: services().caFile });
    try {
      const handler = createHandler(this.engine === 'postgres' ? postgresEngine : mysqlEngine, { secrets: secretsClient() });
      const token = randomUUID();
      for (const step of STEPS) {
        await handler({ SecretId: this.userSecretArn, ClientRequestToken: token, Step: step } as SecretsManagerRotationEvent);
      }
    } finally {
      for (const k of ['ROTATION_STRATEGY', 'ROTATION_TLS_CA_FILE']) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    }
    const current = await secretsClient().send(new GetSecretValueCommand({ SecretId: this.userSecretArn, VersionStage: 'AWSCURRENT' }));
    const { username, password } = JSON.parse(current.SecretString!) as { username: string; password: string };
    this.passwords.add(password);
    return { username, password };
  }

  /** Pins these endpoints for the master secret in the handler's configuration. */
  pin(endpoints: string[]): void {
    this.env = {
      ROTATION_TLS_CA_FILE: services().caFile,
      ROTATION_CONNECT_TIMEOUT_MS: '3000',
      ROTATION_STATEMENT_TIMEOUT_MS: '5000',
      DATABASE_USER_ENDPOINTS: JSON.stringify({ [this.masterSecretArn]: endpoints }),
    };
  }

  /** A new AWSCURRENT of the user secret (as rotation would leave it), username and password. */
  async putUserSecret(username: string, password: string): Promise<void> {
    this.passwords.add(password);
    const decoy = await this.decoy;
    await secretsClient().send(new PutSecretValueCommand({
      SecretId: this.userSecretArn,
      SecretString: JSON.stringify({ engine: this.engine, host: DECOY_HOST, port: decoy.port, username, password, dbname: this.dbname }),
      VersionStages: ['AWSCURRENT'],
    }));
  }

  async putMasterPassword(password: string): Promise<void> {
    this.passwords.add(password);
    const decoy = await this.decoy;
    await secretsClient().send(new PutSecretValueCommand({
      SecretId: this.masterSecretArn,
      SecretString: JSON.stringify({ engine: this.engine, host: DECOY_HOST, port: decoy.port, username: this.masterUsername, password }),
      VersionStages: ['AWSCURRENT'],
    }));
  }

  event(requestType: 'Create' | 'Update' | 'Delete', options: {
    properties?: Record<string, string>; old?: Record<string, string>; physicalResourceId?: string;
  } = {}): CloudFormationCustomResourceEvent {
    const common = {
      ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:provisioning',
      ResponseURL: 'https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/not-used',
      StackId: 'arn:aws:cloudformation:us-east-1:111111111111:stack/test/1',
      RequestId: randomUUID(),
      LogicalResourceId: 'User',
      ResourceType: 'Custom::DatabaseUser',
      ResourceProperties: options.properties ?? this.properties(),
    };
    if (requestType === 'Create') return { ...common, RequestType: 'Create' } as CloudFormationCustomResourceEvent;
    const physicalResourceId = options.physicalResourceId ?? `user:${this.username}`;
    if (requestType === 'Delete') return { ...common, RequestType: 'Delete', PhysicalResourceId: physicalResourceId } as CloudFormationCustomResourceEvent;
    return { ...common, RequestType: 'Update', PhysicalResourceId: physicalResourceId, OldResourceProperties: options.old ?? this.properties() } as CloudFormationCustomResourceEvent;
  }

  /** One invocation of the handler, with its answer and log lines. */
  async invoke(event: CloudFormationCustomResourceEvent): Promise<Invocation> {
    const saved = Object.fromEntries(Object.keys(this.env).map(k => [k, process.env[k]]));
    for (const [k, v] of Object.entries(this.env)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    const logs: string[] = [];
    const record = (level: string) => (message: string, fields?: Record<string, unknown>) => logs.push(JSON.stringify({ level, message, ...fields }));
    let response: CustomResourceResponse | undefined;
    const handler = createUserHandler(this.engine === 'postgres' ? postgresAdmin : mysqlAdmin, {
      secrets: secretsClient(),
      logger: { info: record('INFO'), warn: record('WARN'), error: record('ERROR') },
      respond: async (_url, r) => {
        response = r;
      },
    });
    try {
      await handler(event);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    this.logs.push(...logs);
    this.responses.push(response!);
    return { response: response!, logs };
  }

  /** Asserts that no password a test used appears in any log line or answer. */
  assertNoPasswordLeaked(): void {
    const text = [...this.logs, ...this.responses.map(r => JSON.stringify(r))].join('\n');
    for (const password of this.passwords) {
      for (const form of [password, JSON.stringify(password).slice(1, -1), password.replace(/'/g, "''")]) {
        expect(text.includes(form)).toBe(false);
      }
    }
  }

  // --- the database, seen from outside -------------------------------------

  /** Runs `sql` as `username` (TLS when the server has it); throws on failure. */
  async asUser(username: string, password: string, sql: string, database = this.dbname): Promise<Array<Record<string, unknown>>> {
    if (this.engine === 'postgres') {
      const client = await this.pgConnect(username, password, database);
      try {
        return (await client.query(sql)).rows;
      } finally {
        await client.end();
      }
    }
    const conn = await this.mysqlConnect(username, password, database);
    try {
      return (await conn.query<RowDataPacket[]>(sql))[0];
    } finally {
      await conn.end();
    }
  }

  /** Whether `username` logs in with `password`. */
  async logsIn(username: string, password: string, database = this.dbname): Promise<boolean> {
    try {
      await this.asUser(username, password, 'SELECT 1 AS ok', database);
      return true;
    } catch {
      return false;
    }
  }

  /** As the server's superuser. */
  async asSuperuser(sql: string, params: unknown[] = [], database?: string): Promise<Array<Record<string, unknown>>> {
    const s = services();
    if (this.engine === 'postgres') {
      const client = await this.pgConnect(s.pg.user, s.pg.password, database ?? s.pg.database);
      try {
        return (await client.query(sql, params)).rows;
      } finally {
        await client.end();
      }
    }
    const conn = await this.mysqlConnect(s.mysql.user, s.mysql.password);
    try {
      return (await conn.query<RowDataPacket[]>(sql, params))[0];
    } finally {
      await conn.end();
    }
  }

  async userExists(username: string): Promise<boolean> {
    const rows = this.engine === 'postgres'
      ? await this.asSuperuser('SELECT 1 FROM pg_roles WHERE rolname = $1', [username])
      : await this.asSuperuser("SELECT 1 FROM mysql.user WHERE User = ? AND Host = '%'", [username]);
    return rows.length > 0;
  }

  /** What the server stores for the user's password (to prove it did not change). */
  async storedPassword(username: string): Promise<string | undefined> {
    const rows = this.engine === 'postgres'
      ? await this.asSuperuser('SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1', [username])
      : await this.asSuperuser("SELECT authentication_string AS p FROM mysql.user WHERE User = ? AND Host = '%'", [username]);
    return rows[0]?.p as string | undefined;
  }

  /** Creates a user directly (outside the handler), with SELECT on the test table. */
  async createUserDirectly(username: string, password: string): Promise<void> {
    this.passwords.add(password);
    if (this.engine === 'postgres') {
      await this.asSuperuser(`CREATE ROLE ${escapeIdentifier(username)} LOGIN PASSWORD ${escapeLiteral(password)}`);
      return;
    }
    await this.asSuperuser("CREATE USER ?@'%' IDENTIFIED BY ?", [username, password]);
  }

  /** The SQL for the test table in the test database. */
  get table(): string {
    return this.engine === 'postgres' ? 'items' : `${mysqlId(this.dbname)}.items`;
  }

  private async createPostgres(): Promise<void> {
    const s = services();
    await this.asSuperuser(`CREATE ROLE ${escapeIdentifier(this.masterUsername)} LOGIN CREATEROLE PASSWORD ${escapeLiteral(this.masterPassword)}`);
    await this.asSuperuser(`CREATE DATABASE ${escapeIdentifier(this.dbname)} OWNER ${escapeIdentifier(this.masterUsername)}`);
    const client = await this.pgConnect(this.masterUsername, this.masterPassword, this.dbname);
    try {
      await client.query('CREATE TABLE items (id serial PRIMARY KEY, name text)');
      await client.query("INSERT INTO items (name) VALUES ('a'), ('b')");
    } finally {
      await client.end();
    }
    void s;
  }

  private async createMysql(): Promise<void> {
    await this.asSuperuser(`CREATE DATABASE ${mysqlId(this.dbname)}`);
    await this.asSuperuser(`CREATE TABLE ${mysqlId(this.dbname)}.items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(10))`);
    await this.asSuperuser(`INSERT INTO ${mysqlId(this.dbname)}.items (name) VALUES ('a'), ('b')`);
    await this.asSuperuser("CREATE USER ?@'%' IDENTIFIED BY ?", [this.masterUsername, this.masterPassword]);
    await this.asSuperuser("GRANT ALL PRIVILEGES ON *.* TO ?@'%' WITH GRANT OPTION", [this.masterUsername]);
  }

  private get server(): TestServer {
    return { host: this.host, port: this.port, tls: this.tlsServer, ca: this.ca };
  }

  private pgConnect(user: string, password: string, database: string): Promise<Client> {
    return pgConnect(this.server, user, password, database);
  }

  private mysqlConnect(user: string, password: string, database?: string): Promise<Connection> {
    return mysqlConnect(this.server, user, password, database);
  }
}

/** A MySQL identifier in backticks. */
export function mysqlId(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}
