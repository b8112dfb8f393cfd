/**
 * Host name verification, against fake database servers that negotiate TLS
 * like PostgreSQL and MySQL do and then present a certificate signed by a
 * trusted CA but issued to another host name. The adapters must refuse it.
 *
 * This matters for mysql2 in particular: with `rejectUnauthorized: true` alone
 * it checks the chain but NOT the host name (only `verifyIdentity: true` adds
 * that check), which the control case below demonstrates.
 * No database or moto needed.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { createServer, Server, Socket } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { Duplex } from 'stream';
import { TLSSocket } from 'tls';
import { createConnection } from 'mysql2/promise';
import { ConnectOptions, DbError, EngineAdapter } from '../../../src/rotation/runtime/engine';
import { mysqlEngine } from '../../../src/rotation/runtime/mysql';
import { postgresEngine } from '../../../src/rotation/runtime/postgres';

interface Pki {
  readonly ca: string;
  readonly key: string;
  readonly cert: string;
}

/** A throw-away CA and server certificates: for db.other.example only (no IP address), for localhost only, for 127.0.0.1 only. */
function makePki(dir: string): Pki & { readonly localhost: Pki; readonly ip: Pki } {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-x509', '-new', '-nodes', '-newkey', 'rsa:2048', '-sha256', '-days', '1', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-subj', '/CN=tls-identity test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  writeFileSync(join(dir, 'server.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:db.other.example\n');
  openssl('req', '-new', '-nodes', '-newkey', 'rsa:2048', '-sha256', '-subj', '/CN=db.other.example', '-keyout', 'server.key', '-out', 'server.csr');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-sha256',
    '-extfile', 'server.ext', '-out', 'server.pem');
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  const issue = (name: string, san: string, cn: string) => {
    writeFileSync(join(dir, `${name}.ext`), `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
    openssl('req', '-new', '-nodes', '-newkey', 'rsa:2048', '-sha256', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
    return { ca: read('ca.pem'), key: read(`${name}.key`), cert: read(`${name}.pem`) };
  };
  return {
    ca: read('ca.pem'),
    key: read('server.key'),
    cert: read('server.pem'),
    localhost: issue('localhost', 'DNS:localhost', 'localhost'),
    ip: issue('ip', 'IP:127.0.0.1', '127.0.0.1'),
  };
}

/** Serves TLS over `socket` after its first `skip` bytes (the engine's TLS request); records whether the handshake completed. */
function startTls(socket: Socket, pki: Pki, first: Buffer, skip: number, onSecure: () => void): void {
  const duplex = new Duplex({
    read() {},
    write(chunk, _encoding, callback) {
      socket.write(chunk, callback);
    },
  });
  if (first.length > skip) duplex.push(first.subarray(skip));
  socket.on('data', data => duplex.push(data));
  socket.on('end', () => duplex.push(null));
  socket.on('error', () => duplex.destroy());
  const tls = new TLSSocket(duplex, { isServer: true, key: pki.key, cert: pki.cert });
  tls.on('secure', onSecure);
  tls.on('error', () => socket.destroy());
}

/** PostgreSQL: the client sends SSLRequest (8 bytes) and waits for 'S'. */
function fakePostgres(pki: Pki, onSecure: () => void): Server {
  return createServer(socket => {
    socket.once('data', first => {
      socket.write('S');
      startTls(socket, pki, first, 8, onSecure);
    });
  });
}

/** MySQL: the server greets with a HandshakeV10 offering TLS; the client answers with an SSLRequest (4 + 32 bytes) and starts TLS right away. */
function fakeMysql(pki: Pki, onSecure: () => void): Server {
  return createServer(socket => {
    // LONG_PASSWORD, LONG_FLAG, CONNECT_WITH_DB, PROTOCOL_41, SSL, TRANSACTIONS, SECURE_CONNECTION, PLUGIN_AUTH
    const capabilities = Buffer.alloc(4);
    capabilities.writeUInt32LE(0x1 + 0x4 + 0x8 + 0x200 + 0x800 + 0x2000 + 0x8000 + 0x80000);
    const payload = Buffer.concat([
      Buffer.from([10]), Buffer.from('8.0.99-fake\0'), Buffer.from([1, 0, 0, 0]), Buffer.from('abcdefgh'), Buffer.from([0]),
      capabilities.subarray(0, 2), Buffer.from([45]), Buffer.from([2, 0]), capabilities.subarray(2, 4), Buffer.from([21]), Buffer.alloc(10),
      Buffer.from('ijklmnopqrst\0'), Buffer.from('mysql_native_password\0'),
    ]);
    const header = Buffer.alloc(4); // 3-byte length, sequence id 0
    header.writeUIntLE(payload.length, 0, 3);
    socket.write(Buffer.concat([header, payload]));
    let received = Buffer.alloc(0);
    const onData = (data: Buffer) => {
      received = Buffer.concat([received, data]);
      if (received.length >= 36) {
        socket.off('data', onData);
        startTls(socket, pki, received, 36, onSecure);
      }
    };
    socket.on('data', onData);
  });
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

describe('TLS host name verification of the engine adapters', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-identity-'));
  let pki: ReturnType<typeof makePki>;
  const servers: Server[] = [];

  beforeAll(() => {
    pki = makePki(dir);
  });
  afterAll(async () => {
    await Promise.all(servers.map(s => new Promise(resolve => s.close(resolve))));
    rmSync(dir, { recursive: true, force: true });
  });

  const options = (): ConnectOptions => ({ tls: { required: true, ca: pki.ca, caFile: 'test-ca.pem' }, connectTimeoutMs: 3000, statementTimeoutMs: 3000 });

  test.each([
    ['PostgreSQL', postgresEngine, fakePostgres],
    ['MySQL/MariaDB', mysqlEngine, fakeMysql],
  ] as const)('%s: a trusted certificate for another host name is refused', async (label, engine, fake) => {
    let handshakes = 0;
    const server = fake(pki, () => handshakes++);
    servers.push(server);
    const port = await listen(server);
    const err = await (engine as EngineAdapter).testLogin({ host: '127.0.0.1', port, username: 'u', password: 'p' }, options())
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DbError);
    expect((err as DbError).kind).toBe('tls');
    expect((err as DbError).message).toMatch(new RegExp(
      `^TLS to the ${label} server at 127\\.0\\.0\\.1:${port} failed: .*(altnames|does not match).*; the server certificate must chain to the CA bundle test-ca\\.pem`));
    expect(handshakes).toBe(0);
  });

  test.each([
    ['PostgreSQL', postgresEngine, fakePostgres],
    ['MySQL/MariaDB', mysqlEngine, fakeMysql],
  ] as const)('%s at an IP address: a trusted certificate for "localhost" is refused', async (label, engine, fake) => {
    // mysql2 gives Node no server name for an IP, and Node then checks the certificate against "localhost".
    let handshakes = 0;
    const server = fake(pki.localhost, () => handshakes++);
    servers.push(server);
    const port = await listen(server);
    const err = await (engine as EngineAdapter).testLogin({ host: '127.0.0.1', port, username: 'u', password: 'p' }, options())
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DbError);
    expect((err as DbError).kind).toBe('tls');
    expect((err as DbError).message).toMatch(new RegExp(`^TLS to the ${label} server at 127\\.0\\.0\\.1:${port} failed: .*IP: 127\\.0\\.0\\.1 is not in the cert's list`));
    expect(handshakes).toBe(0);
  });

  test.each([
    ['PostgreSQL', postgresEngine, fakePostgres],
    ['MySQL/MariaDB', mysqlEngine, fakeMysql],
  ] as const)('%s at an IP address: a certificate with that IP as SAN is accepted', async (_label, engine, fake) => {
    let handshakes = 0;
    const server = fake(pki.ip, () => handshakes++);
    servers.push(server);
    const port = await listen(server);
    const err = await (engine as EngineAdapter).testLogin({ host: '127.0.0.1', port, username: 'u', password: 'p' }, { ...options(), connectTimeoutMs: 1000 })
      .then(() => undefined, (e: unknown) => e);
    // The fake server never answers the login: the client gives up after a TLS handshake it accepted.
    expect(err).toBeInstanceOf(DbError);
    expect((err as DbError).kind).not.toBe('tls');
    expect(handshakes).toBe(1);
  });

  test('control: mysql2 with rejectUnauthorized alone completes the handshake with that certificate', async () => {
    let handshakes = 0;
    const server = fakeMysql(pki, () => handshakes++);
    servers.push(server);
    const port = await listen(server);
    const err = await createConnection({ host: '127.0.0.1', port, user: 'u', password: 'p', ssl: { ca: pki.ca, rejectUnauthorized: true }, connectTimeout: 1000 })
      .then(c => c.end(), (e: unknown) => e);
    // The fake server never answers the login: the client times out after a TLS handshake it accepted.
    expect(String((err as Error).message)).not.toMatch(/altnames|certificate/);
    expect(handshakes).toBe(1);
  });
});
