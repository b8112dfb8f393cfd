/**
 * Host name verification against the REAL PostgreSQL 15 and MariaDB servers
 * of scripts/services.sh, which run with two certificates from one test CA:
 *
 *   - the main TLS servers (`port`): a certificate for the IP address 127.0.0.1 only;
 *   - their twins (`namePort`): a certificate for the name localhost only.
 *
 * Neither certificate names the other host, so each case below proves one
 * direction: the certificate checked is the one for the host connected to,
 * IP SANs for an IP address, DNS SANs for a name (issue #17, problem 3).
 *
 * For MySQL/MariaDB this is the case that matters: mysql2 sends no server name
 * for an IP address, and Node then checks the certificate against
 * "localhost". With mysql2's own socket (the adapter before the fix), the IP
 * certificate is refused at 127.0.0.1 and the localhost certificate is
 * accepted there; the control cases at the end show exactly that on the real
 * server, so these tests fail with the adapter as it was.
 */
import { readFileSync } from 'fs';
import { TLSSocket } from 'tls';
import { Connection, createConnection } from 'mysql2/promise';
import { Client } from 'pg';
import { ConnectOptions, DbError, EngineAdapter, LoginTarget } from '../../../src/rotation/runtime/engine';
import { mysqlEngine } from '../../../src/rotation/runtime/mysql';
import { postgresEngine } from '../../../src/rotation/runtime/postgres';
import { DatabaseEnv, describeWithServices, requireServices, ServiceEnv } from '../../support/services';

async function loginError(engine: EngineAdapter, target: LoginTarget, options: ConnectOptions): Promise<unknown> {
  return engine.testLogin(target, options).then(() => undefined, (e: unknown) => e);
}

describeWithServices('TLS host name verification against the real servers (IP certificate, name certificate)', () => {
  let svc: ServiceEnv;
  let ca: string;
  let options: ConnectOptions;

  beforeAll(() => {
    svc = requireServices();
    ca = readFileSync(svc.caFile, 'utf8');
    options = { tls: { required: true, ca, caFile: svc.caFile }, connectTimeoutMs: 5000, statementTimeoutMs: 5000 };
  });

  const engines = [
    ['PostgreSQL', postgresEngine, (s: ServiceEnv): DatabaseEnv & { database?: string } => s.pg],
    ['MySQL/MariaDB', mysqlEngine, (s: ServiceEnv): DatabaseEnv & { database?: string } => s.mysql],
  ] as const;

  const target = (db: DatabaseEnv & { database?: string }, host: string, port: number): LoginTarget =>
    ({ host, port, username: db.user, password: db.password, ...(db.database ? { dbname: db.database } : {}) });

  test.each(engines)('%s at the IP address: the certificate for that IP is accepted and the login succeeds', async (_label, engine, db) => {
    const d = db(svc);
    await expect((engine as EngineAdapter).testLogin(target(d, d.host, d.port), options)).resolves.toBeUndefined();
  });

  test.each(engines)('%s at the IP address: a trusted certificate for "localhost" only is refused before any password is sent', async (label, engine, db) => {
    const d = db(svc);
    const err = await loginError(engine as EngineAdapter, target(d, d.host, d.namePort), options);
    expect(err).toBeInstanceOf(DbError);
    expect((err as DbError).kind).toBe('tls');
    expect((err as DbError).message).toMatch(new RegExp(
      `^TLS to the ${label.replace('/', '\\/')} server at 127\\.0\\.0\\.1:${d.namePort} failed: .*IP: 127\\.0\\.0\\.1 is not in the cert's list`));
  });

  test.each(engines)('%s at the name: the certificate for that name is accepted and the login succeeds', async (_label, engine, db) => {
    const d = db(svc);
    await expect((engine as EngineAdapter).testLogin(target(d, svc.tlsName, d.namePort), options)).resolves.toBeUndefined();
  });

  test.each(engines)('%s at the name: a trusted certificate for the IP address only is refused', async (label, engine, db) => {
    const d = db(svc);
    const err = await loginError(engine as EngineAdapter, target(d, svc.tlsName, d.port), options);
    // Node falls back to the CN (127.0.0.1) when a certificate names no DNS name: still not the name connected to.
    expect(err).toBeInstanceOf(DbError);
    expect((err as DbError).kind).toBe('tls');
    expect((err as DbError).message).toMatch(new RegExp(
      `^TLS to the ${label.replace('/', '\\/')} server at ${svc.tlsName}:${d.port} failed: .*Host: ${svc.tlsName}\\. is not (in the cert's altnames|cert's CN: 127\\.0\\.0\\.1)`));
  });

  describe('the servers present the certificates these cases assume', () => {
    const san = (socket: unknown) => (socket as TLSSocket).getPeerCertificate().subjectaltname;

    test('PostgreSQL: IP certificate on port, name certificate on namePort', async () => {
      const cases = [[svc.pg.port, svc.pg.host, 'IP Address:127.0.0.1'], [svc.pg.namePort, svc.tlsName, 'DNS:localhost']] as const;
      for (const [port, host, expected] of cases) {
        const client = new Client({
          host,
          port,
          user: svc.pg.user,
          password: svc.pg.password,
          database: svc.pg.database,
          ssl: { ca, rejectUnauthorized: true },
        });
        await client.connect();
        try {
          expect(san((client as unknown as { connection: { stream: unknown } }).connection.stream)).toBe(expected);
        } finally {
          await client.end();
        }
      }
    });

    test('MariaDB: IP certificate on port, name certificate on namePort', async () => {
      // Chain only (no identity check) here: this case is about what the server presents.
      for (const [port, expected] of [[svc.mysql.port, 'IP Address:127.0.0.1'], [svc.mysql.namePort, 'DNS:localhost']] as const) {
        const conn = await createConnection({
          host: svc.mysql.host,
          port,
          user: svc.mysql.user,
          password: svc.mysql.password,
          ssl: { ca, rejectUnauthorized: true },
        });
        try {
          expect(san((conn as unknown as { connection: { stream: unknown } }).connection.stream)).toBe(expected);
        } finally {
          await conn.end();
        }
      }
    });
  });

  describe('control: mysql2 on its own socket (what the adapter did before the fix) checks an IP host against "localhost"', () => {
    const connect = (port: number): Promise<Connection> => createConnection({
      host: svc.mysql.host,
      port,
      user: svc.mysql.user,
      password: svc.mysql.password,
      connectTimeout: 5000,
      ssl: { ca, rejectUnauthorized: true, verifyIdentity: true },
    });

    test('the certificate for 127.0.0.1 is refused at 127.0.0.1', async () => {
      await expect(connect(svc.mysql.port)).rejects.toThrow(/Host: localhost\. is not (in the cert's altnames|cert's CN: 127\.0\.0\.1)/);
    });

    test('the certificate for localhost only is accepted at 127.0.0.1, and the login succeeds', async () => {
      const conn = await connect(svc.mysql.namePort);
      await conn.end();
    });
  });
});
