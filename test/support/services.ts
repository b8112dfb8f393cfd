/**
 * Connection settings of the real services the tests talk to (PostgreSQL 15,
 * MariaDB, moto), as started by `scripts/services.sh` and exported into the
 * environment by `scripts/with-services.sh` (which `npm test` uses).
 *
 * Suites that need them use `describeWithServices` and call `requireServices()`:
 * without the services they fail with a message saying how to run them, unless
 * `KMSSEC_SKIP_SERVICES=1` asks to skip them on purpose (which is reported).
 */

import { connect, isIP, Socket } from 'net';
import { Connection, createConnection } from 'mysql2/promise';
import { Client } from 'pg';

export interface DatabaseEnv {
  /** The IP address the servers listen on (127.0.0.1). */
  readonly host: string;
  /** Port of the instance with TLS enabled (server cert signed by `caFile`, issued to the IP address `host` only). */
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Port of a second instance of the same engine with TLS disabled, same credentials. */
  readonly noTlsPort: number;
  /**
   * Port of a third instance with TLS enabled whose certificate (same CA) is
   * issued to the name `ServiceEnv.tlsName` only, not to the IP address; same credentials.
   */
  readonly namePort: number;
}

export interface PostgresEnv extends DatabaseEnv {
  readonly database: string;
}

export interface ServiceEnv {
  readonly pg: PostgresEnv;
  readonly mysql: DatabaseEnv;
  /** Absolute path of the PEM file of the test CA that signed every database server cert. */
  readonly caFile: string;
  /** The DNS name (resolving to `host`) the certificates of the `namePort` instances are issued to: localhost. */
  readonly tlsName: string;
  /** moto server (Secrets Manager and KMS emulator), e.g. `http://127.0.0.1:5000`. */
  readonly motoEndpoint: string;
}

export const SERVICES_MISSING_MESSAGE =
  'These tests need PostgreSQL, MariaDB and moto. Run them with `npm test` or ' +
  '`bash scripts/with-services.sh npx jest <path>`; set KMSSEC_SKIP_SERVICES=1 to skip them on purpose.';

/** True when the caller asked to skip the service-backed tests on purpose. */
export function servicesSkipped(): boolean {
  return process.env.KMSSEC_SKIP_SERVICES === '1';
}

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} is not set although KMSSEC_SERVICES=1; is .services/env complete? ${SERVICES_MISSING_MESSAGE}`);
  }
  return value;
}

function port(name: string): number {
  const value = Number(env(name));
  if (!Number.isInteger(value) || value <= 0 || value > 65535) {
    throw new Error(`${name}=${process.env[name]} is not a TCP port`);
  }
  return value;
}

/**
 * The connection settings of the running services. Throws (never returns
 * something half-usable) when the services were not started.
 */
export function requireServices(): ServiceEnv {
  if (process.env.KMSSEC_SERVICES !== '1') {
    throw new Error(SERVICES_MISSING_MESSAGE);
  }
  return {
    pg: {
      host: env('KMSSEC_PG_HOST'),
      port: port('KMSSEC_PG_PORT'),
      user: env('KMSSEC_PG_USER'),
      password: env('KMSSEC_PG_PASSWORD'),
      database: env('KMSSEC_PG_DATABASE'),
      noTlsPort: port('KMSSEC_PG_NOTLS_PORT'),
      namePort: port('KMSSEC_PG_NAME_PORT'),
    },
    mysql: {
      host: env('KMSSEC_MYSQL_HOST'),
      port: port('KMSSEC_MYSQL_PORT'),
      user: env('KMSSEC_MYSQL_USER'),
      password: env('KMSSEC_MYSQL_PASSWORD'),
      noTlsPort: port('KMSSEC_MYSQL_NOTLS_PORT'),
      namePort: port('KMSSEC_MYSQL_NAME_PORT'),
    },
    caFile: env('KMSSEC_TLS_CA_FILE'),
    tlsName: env('KMSSEC_TLS_NAME'),
    motoEndpoint: env('KMSSEC_MOTO_ENDPOINT'),
  };
}

// Module state is per test file (jest gives every file its own module registry).
let skipWarned = false;

function warnSkipped(name: unknown): void {
  if (skipWarned) {
    return;
  }
  skipWarned = true;
  const file = expect.getState().testPath ?? 'this test file';
  console.warn(
    `KMSSEC_SKIP_SERVICES=1: SKIPPED suite "${typeof name === 'function' ? name.name : String(name)}" in ${file} (and any other describeWithServices suites in it): ` +
    'it needs PostgreSQL, MariaDB and moto. Unset KMSSEC_SKIP_SERVICES and run `npm test` to run it.',
  );
}

function skippingDescribe(): jest.Describe {
  const skip: jest.Describe = describe.skip;
  const wrapped = ((...args: Parameters<jest.Describe>) => {
    warnSkipped(args[0]);
    skip(...args);
  }) as jest.Describe;
  // `.only`, `.skip` and `.each` all skip too: the services are not there.
  return Object.assign(wrapped, { only: wrapped, skip: wrapped, each: skip.each });
}

/**
 * `describe` for suites that need the services; `describe.skip` (with a
 * console warning naming the suite) when `KMSSEC_SKIP_SERVICES=1`.
 */
export const describeWithServices: jest.Describe = servicesSkipped() ? skippingDescribe() : describe;

/**
 * mysql2 options for a TLS connection to `host:port` verified against `ca`,
 * chain AND host name, including for an IP address. mysql2 sends no server
 * name for an IP, and Node then checks the certificate against "localhost";
 * the socket given here carries its host, so Node checks the IP address
 * instead (what src/rotation/runtime/mysql.ts does). The main MariaDB server's
 * certificate names only 127.0.0.1, so plain mysql2 with `verifyIdentity`
 * cannot connect to it.
 */
export function mysqlVerifiedTls(host: string, tcpPort: number, ca: string | Buffer): {
  readonly host: string;
  readonly port: number;
  readonly stream: () => Socket;
  readonly ssl: { readonly ca: string | Buffer; readonly rejectUnauthorized: true; readonly verifyIdentity: true };
} {
  return {
    host,
    port: tcpPort,
    stream: () => {
      const socket = connect({ host, port: tcpPort });
      if (isIP(host) !== 0) (socket as unknown as { _host: string })._host = host;
      return socket;
    },
    ssl: { ca, rejectUnauthorized: true, verifyIdentity: true },
  };
}

/** Where a test client connects: the server, whether it speaks TLS, and the CA its certificate is signed by. */
export interface TestServer {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  readonly ca: string;
}

/** A test's own PostgreSQL connection (verified TLS when the server has it); errors after connecting are ignored. */
export async function pgConnect(server: TestServer, user: string, password: string, database: string): Promise<Client> {
  const client = new Client({
    host: server.host,
    port: server.port,
    user,
    password,
    database,
    ssl: server.tls ? { ca: server.ca, rejectUnauthorized: true } : false,
    connectionTimeoutMillis: 10_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/**
 * A test's own MySQL/MariaDB connection. Over TLS, a socket that carries its IP host
 * (`mysqlVerifiedTls`), so that Node checks the certificate against the IP.
 */
export async function mysqlConnect(server: TestServer, user: string, password: string, database?: string): Promise<Connection> {
  const conn = await createConnection({
    ...(server.tls ? mysqlVerifiedTls(server.host, server.port, server.ca) : { host: server.host, port: server.port }),
    user,
    password,
    ...(database ? { database } : {}),
    connectTimeout: 10_000,
    charset: 'utf8mb4',
  });
  conn.on('error', () => undefined);
  return conn;
}
