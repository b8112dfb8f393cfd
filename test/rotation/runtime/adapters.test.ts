/**
 * The engine adapters on their own, against the real servers: quoting of
 * hostile names and passwords, SCRAM verifiers, cloning, and the errors a
 * connection can end with (TLS missing or unverifiable, refused, bad password).
 */
import { randomBytes } from 'crypto';
import { readFileSync } from 'fs';
import { createServer } from 'net';
import { createConnection, RowDataPacket } from 'mysql2/promise';
import { Client, escapeIdentifier, escapeLiteral } from 'pg';
import { ConnectOptions, DbError, EngineAdapter, LoginTarget, withConnection } from '../../../src/rotation/runtime/engine';
import { mysqlEngine } from '../../../src/rotation/runtime/mysql';
import { postgresEngine, scramSha256Verifier } from '../../../src/rotation/runtime/postgres';
import { describeWithServices, mysqlVerifiedTls, requireServices, ServiceEnv } from '../../support/services';

const NASTY = 'o\'brien "x"\\ ü;--\'; DROP TABLE items; --';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>(resolve => server.close(() => resolve()));
  return port;
}

async function connectError(engine: EngineAdapter, target: LoginTarget, options: ConnectOptions): Promise<DbError> {
  const err = await engine.testLogin(target, options).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DbError);
  return err as DbError;
}

describeWithServices('rotation engine adapters', () => {
  let svc: ServiceEnv;
  let ca: string;
  let options: ConnectOptions;

  beforeAll(() => {
    svc = requireServices();
    ca = readFileSync(svc.caFile, 'utf8');
    options = { tls: { required: true, ca, caFile: svc.caFile }, connectTimeoutMs: 5000, statementTimeoutMs: 10000 };
  });

  describe('PostgreSQL', () => {
    const id = randomBytes(3).toString('hex');
    const created: string[] = [];
    let admin: Client;
    let adminTarget: LoginTarget;

    const target = (username: string, password: string): LoginTarget => ({
      host: svc.pg.host, port: svc.pg.port, username, password, dbname: svc.pg.database,
    });

    beforeAll(async () => {
      admin = new Client({
        host: svc.pg.host,
        port: svc.pg.port,
        user: svc.pg.user,
        password: svc.pg.password,
        database: svc.pg.database,
        ssl: { ca, rejectUnauthorized: true },
      });
      await admin.connect();
      adminTarget = target(svc.pg.user, svc.pg.password);
    });

    afterAll(async () => {
      for (const role of created.reverse()) {
        await admin.query(`DROP ROLE IF EXISTS ${escapeIdentifier(role)}`).catch(() => undefined);
      }
      await admin.end();
    });

    async function createRole(name: string, password: string): Promise<string> {
      created.push(name);
      await admin.query(`CREATE ROLE ${escapeIdentifier(name)} LOGIN PASSWORD ${escapeLiteral(password)}`);
      return name;
    }

    test('the SCRAM verifier computed client-side is the one the server computes', async () => {
      const name = await createRole(`scram_${id}`, `Pw'"\\;${id}`);
      const stored = (await admin.query<{ p: string }>('SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1', [name])).rows[0].p;
      const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(stored)!;
      expect(scramSha256Verifier(`Pw'"\\;${id}`, Buffer.from(salt, 'base64'), Number(iterations))).toBe(stored);
    });

    test.each([
      ['printable ASCII (sent as a SCRAM verifier)', `a'b"c\\d;e--f ${'x'.repeat(8)}`, true],
      ['non-ASCII (sent as a quoted literal, hashed by the server)', `${NASTY} ü€𝄞`, false],
    ])('sets a %s password on a hostile role name, as itself and as an administrator', async (_, password, verifierSent) => {
      const name = await createRole(`${NASTY}_${id}_${verifierSent ? 'a' : 'n'}`, 'initial-password');
      await withConnection(postgresEngine, target(name, 'initial-password'), options, conn => postgresEngine.setPassword(conn, name, password));
      await postgresEngine.testLogin(target(name, password), options);
      await withConnection(postgresEngine, adminTarget, options, conn => postgresEngine.setPassword(conn, name, `${password}2`));
      await postgresEngine.testLogin(target(name, `${password}2`), options);
      const stored = (await admin.query<{ p: string }>('SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1', [name])).rows[0].p;
      expect(stored).toMatch(/^SCRAM-SHA-256\$4096:/);
      expect((await admin.query("SELECT 1 FROM pg_roles WHERE rolname = 'items'")).rowCount).toBe(0);
    });

    test('cloneUser gives the clone the role\'s privileges and CREATEDB, and tolerates a concurrent clone', async () => {
      const from = await createRole(`owner_${id}`, 'pw-owner');
      await admin.query(`ALTER ROLE ${escapeIdentifier(from)} CREATEDB`);
      const to = `owner_${id}_clone`;
      created.push(to);
      await Promise.all([1, 2].map(() => withConnection(postgresEngine, adminTarget, options,
        conn => postgresEngine.cloneUser(conn, { from, to, password: 'pw-clone' }))));
      await postgresEngine.testLogin(target(to, 'pw-clone'), options);
      const attrs = (await admin.query('SELECT rolcreatedb, rolcanlogin FROM pg_roles WHERE rolname = $1', [to])).rows[0];
      expect(attrs).toEqual({ rolcreatedb: true, rolcanlogin: true });
      const member = await admin.query('SELECT pg_has_role($1, $2, \'USAGE\') AS m', [to, from]);
      expect(member.rows[0].m).toBe(true);
      expect(await withConnection(postgresEngine, adminTarget, options, conn => postgresEngine.userExists(conn, to))).toBe(true);
      expect(await withConnection(postgresEngine, adminTarget, options, conn => postgresEngine.userExists(conn, `${to}x`))).toBe(false);
    });

    test('connection errors say what went wrong', async () => {
      const wrong = await connectError(postgresEngine, target(svc.pg.user, 'wrong'), options);
      expect(wrong.kind).toBe('auth');
      expect(wrong.message).toMatch(/^cannot log in to PostgreSQL at 127\.0\.0\.1:\d+ as "postgres": password authentication failed .* \(SQLSTATE 28P01\)$/);

      const noTls = await connectError(postgresEngine, { ...adminTarget, port: svc.pg.noTlsPort }, options);
      expect(noTls.kind).toBe('tls');
      expect(noTls.message).toBe(`TLS is required (ROTATION_REQUIRE_TLS=true) but the PostgreSQL server at 127.0.0.1:${svc.pg.noTlsPort} does not support it; `
        + 'no plaintext connection was attempted. Enable TLS on the server, or set ROTATION_REQUIRE_TLS=false only if credentials may cross the network unencrypted.');

      const untrusted = await connectError(postgresEngine, adminTarget, { ...options, tls: { required: true } });
      expect(untrusted.kind).toBe('tls');
      expect(untrusted.message).toMatch(/^TLS to the PostgreSQL server at 127\.0\.0\.1:\d+ failed: self-signed certificate in certificate chain; the server certificate must chain to Node's trust store/);

      const refused = await connectError(postgresEngine, { ...adminTarget, port: await closedPort() }, options);
      expect(refused.kind).toBe('network');
      expect(refused.message).toMatch(/^cannot reach PostgreSQL at 127\.0\.0\.1:\d+: ECONNREFUSED/);

      // Plaintext only when explicitly allowed.
      await postgresEngine.testLogin({ ...adminTarget, port: svc.pg.noTlsPort }, { ...options, tls: { required: false } });
    });

    test('connections use TLS when required', async () => {
      const ssl = await withConnection(postgresEngine, adminTarget, options,
        conn => conn.client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()'));
      expect(ssl.rows[0].ssl).toBe(true);
    });
  });

  describe('MySQL/MariaDB', () => {
    const id = randomBytes(3).toString('hex');
    const users: string[] = [];
    const db = `adapters_${id}`;
    let rootTarget: LoginTarget;

    const target = (username: string, password: string): LoginTarget => ({ host: svc.mysql.host, port: svc.mysql.port, username, password });

    async function root<T extends RowDataPacket[]>(sql: string, params: unknown[] = []): Promise<T> {
      const conn = await createConnection({
        ...mysqlVerifiedTls(svc.mysql.host, svc.mysql.port, ca),
        user: svc.mysql.user,
        password: svc.mysql.password,
      });
      try {
        return (await conn.query<T>(sql, params))[0];
      } finally {
        await conn.end();
      }
    }

    async function user(name: string, password: string): Promise<string> {
      users.push(name);
      await root("CREATE USER ?@'%' IDENTIFIED BY ?", [name, password]);
      return name;
    }

    beforeAll(async () => {
      rootTarget = target(svc.mysql.user, svc.mysql.password);
      await root(`CREATE DATABASE \`${db}\``);
      await root(`CREATE TABLE \`${db}\`.items (id INT PRIMARY KEY)`);
    });

    afterAll(async () => {
      for (const name of users) {
        await root("DROP USER IF EXISTS ?@'%'", [name]).catch(() => undefined);
      }
      await root(`DROP ROLE IF EXISTS \`reader_${id}\``).catch(() => undefined);
      await root(`DROP DATABASE IF EXISTS \`${db}\``).catch(() => undefined);
    });

    test('sets hostile passwords on a hostile account name, as itself (SET PASSWORD) and as an administrator (ALTER USER)', async () => {
      const name = await user(`${NASTY}_${id}`, 'initial-password');
      const password = `${NASTY} ü€𝄞`;
      await withConnection(mysqlEngine, target(name, 'initial-password'), options, conn => mysqlEngine.setPassword(conn, name, password));
      await mysqlEngine.testLogin(target(name, password), options);
      await withConnection(mysqlEngine, rootTarget, options, conn => mysqlEngine.setPassword(conn, name, `${password}2`));
      await mysqlEngine.testLogin(target(name, `${password}2`), options);
      expect(await root(`SHOW TABLES FROM \`${db}\``)).toHaveLength(1);
    });

    test('cloneUser copies table, column and role grants, the default role, GRANT OPTION and REQUIRE SSL', async () => {
      const from = await user(`src'${id}`, 'pw-src');
      const to = `src'${id}_clone`;
      users.push(to);
      await root(`CREATE ROLE \`reader_${id}\``);
      await root(`GRANT SELECT ON \`${db}\`.* TO \`reader_${id}\``);
      await root(`GRANT \`reader_${id}\` TO ?@'%'`, [from]);
      await root(`SET DEFAULT ROLE \`reader_${id}\` FOR ?@'%'`, [from]);
      await root(`GRANT INSERT ON \`${db}\`.items TO ?@'%' WITH GRANT OPTION`, [from]);
      await root(`GRANT UPDATE (id) ON \`${db}\`.items TO ?@'%'`, [from]);
      await root("ALTER USER ?@'%' REQUIRE SSL", [from]);
      await withConnection(mysqlEngine, rootTarget, options, conn => mysqlEngine.cloneUser(conn, { from, to, password: 'pw-clone' }));
      // Idempotent: a second run (a retry) changes nothing and does not fail.
      await withConnection(mysqlEngine, rootTarget, options, conn => mysqlEngine.cloneUser(conn, { from, to, password: 'pw-clone' }));
      await mysqlEngine.testLogin(target(to, 'pw-clone'), options);

      const grants = async (name: string) => (await root("SHOW GRANTS FOR ?@'%'", [name]))
        .map(r => String(Object.values(r)[0]).split(name.replace(/`/g, '``')).join('<user>'))
        .filter(g => !g.startsWith('GRANT USAGE'))
        .sort();
      expect(await grants(to)).toEqual(await grants(from));
      // MariaDB prints the table and column grants of one table on one line.
      expect(await grants(to)).toEqual([
        `GRANT INSERT, UPDATE (\`id\`) ON \`${db}\`.\`items\` TO \`<user>\`@\`%\` WITH GRANT OPTION`,
        `GRANT \`reader_${id}\` TO \`<user>\`@\`%\``,
        `SET DEFAULT ROLE \`reader_${id}\` FOR \`<user>\`@\`%\``,
      ]);
      const ssl = await root("SELECT ssl_type AS t FROM mysql.user WHERE User = ? AND Host = '%'", [to]);
      expect(ssl[0].t).toBe('ANY');
    });

    test('connection errors say what went wrong', async () => {
      const wrong = await connectError(mysqlEngine, target(svc.mysql.user, 'wrong'), options);
      expect(wrong.kind).toBe('auth');
      expect(wrong.message).toMatch(/^cannot log in to MySQL\/MariaDB at 127\.0\.0\.1:\d+ as 'root': Access denied for user 'root'@'127\.0\.0\.1' \(using password: YES\) \(errno 1045\)$/);

      const noTls = await connectError(mysqlEngine, { ...rootTarget, port: svc.mysql.noTlsPort }, options);
      expect(noTls.kind).toBe('tls');
      expect(noTls.message).toContain(`TLS is required (ROTATION_REQUIRE_TLS=true) but the MySQL/MariaDB server at 127.0.0.1:${svc.mysql.noTlsPort} does not support it;`);

      const untrusted = await connectError(mysqlEngine, rootTarget, { ...options, tls: { required: true } });
      expect(untrusted.kind).toBe('tls');
      expect(untrusted.message).toMatch(/^TLS to the MySQL\/MariaDB server at 127\.0\.0\.1:\d+ failed: self-signed certificate in certificate chain;/);

      const refused = await connectError(mysqlEngine, { ...rootTarget, port: await closedPort() }, options);
      expect(refused.kind).toBe('network');
      expect(refused.message).toMatch(/^cannot reach MySQL\/MariaDB at 127\.0\.0\.1:\d+: ECONNREFUSED/);

      await mysqlEngine.testLogin({ ...rootTarget, port: svc.mysql.noTlsPort }, { ...options, tls: { required: false } });
    });

    test('a user that does not exist is an authentication failure (MariaDB answers errno 1045 or, at random, 1698)', async () => {
      const errnos = new Set<number>();
      for (let i = 0; i < 40; i++) {
        const err = await connectError(mysqlEngine, target(`nobody_${id}_${i}`, 'x'), options);
        expect(err.kind).toBe('auth');
        errnos.add(Number(/\(errno (\d+)\)$/.exec(err.message)?.[1]));
      }
      expect([...errnos].every(n => n === 1045 || n === 1698)).toBe(true);
    });

    test('connections use TLS when required', async () => {
      const rows = await withConnection(mysqlEngine, rootTarget, options,
        async conn => (await conn.conn.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_version'"))[0]);
      expect(String(rows[0].Value)).toMatch(/^TLSv1\.[23]$/);
    });
  });
});
