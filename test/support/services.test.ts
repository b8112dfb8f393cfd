/**
 * Proves that every service started by scripts/services.sh is real and usable
 * the way the library's tests use it: PostgreSQL 15 and MariaDB over verified
 * TLS (and loud failures against their TLS-less twins), and moto's Secrets
 * Manager and KMS APIs.
 */
import { randomUUID } from 'crypto';
import { readFileSync } from 'fs';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, KMSClient, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { CreateSecretCommand, DeleteSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createConnection, RowDataPacket } from 'mysql2/promise';
import { Client } from 'pg';
import { describeWithServices, mysqlVerifiedTls, requireServices, ServiceEnv } from './services';

describeWithServices('test services (scripts/services.sh)', () => {
  let svc: ServiceEnv;
  let ca: Buffer;

  beforeAll(() => {
    svc = requireServices();
    ca = readFileSync(svc.caFile);
  });

  describe('PostgreSQL', () => {
    function pgClient(port: number, ssl: boolean): Client {
      return new Client({
        host: svc.pg.host,
        port,
        user: svc.pg.user,
        password: svc.pg.password,
        database: svc.pg.database,
        ssl: ssl ? { ca, rejectUnauthorized: true } : false,
        connectionTimeoutMillis: 10_000,
      });
    }

    test('is PostgreSQL 15 and the connection is TLS, verified against the test CA', async () => {
      const client = pgClient(svc.pg.port, true);
      await client.connect();
      try {
        const version = await client.query<{ version: string }>('SELECT version()');
        expect(version.rows[0].version).toContain('PostgreSQL 15');
        const ssl = await client.query<{ ssl: string }>('SHOW ssl');
        expect(ssl.rows[0].ssl).toBe('on');
        // Not just enabled on the server: this very connection is encrypted.
        const mine = await client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
        expect(mine.rows[0].ssl).toBe(true);
      } finally {
        await client.end();
      }
    });

    test('rejects a wrong password (scram-sha-256 auth is enforced)', async () => {
      const client = new Client({
        host: svc.pg.host,
        port: svc.pg.port,
        user: svc.pg.user,
        password: 'not-the-password',
        database: svc.pg.database,
        ssl: { ca, rejectUnauthorized: true },
      });
      await expect(client.connect()).rejects.toThrow(/password authentication failed/);
      await client.end().catch(() => undefined);
    });

    test('the no-TLS cluster works without TLS but rejects a client that requires TLS', async () => {
      // Control: the server is up and the credentials are right...
      const plain = pgClient(svc.pg.noTlsPort, false);
      await plain.connect();
      try {
        const ssl = await plain.query<{ ssl: string }>('SHOW ssl');
        expect(ssl.rows[0].ssl).toBe('off');
      } finally {
        await plain.end();
      }
      // ...so the failure below is about TLS alone.
      const tls = pgClient(svc.pg.noTlsPort, true);
      await expect(tls.connect()).rejects.toThrow(/does not support SSL/);
      await tls.end().catch(() => undefined);
    });
  });

  describe('MariaDB', () => {
    function mysqlOptions(port: number) {
      return { host: svc.mysql.host, port, user: svc.mysql.user, password: svc.mysql.password, connectTimeout: 10_000 };
    }

    test('is MariaDB and the connection is TLS, verified against the test CA', async () => {
      // The server's certificate names only the IP address (see mysqlVerifiedTls).
      const conn = await createConnection({
        ...mysqlOptions(svc.mysql.port),
        ...mysqlVerifiedTls(svc.mysql.host, svc.mysql.port, ca),
      });
      try {
        const [versionRows] = await conn.query<Array<RowDataPacket & { v: string }>>('SELECT VERSION() AS v');
        expect(versionRows[0].v).toContain('MariaDB');
        const [cipherRows] = await conn.query<Array<RowDataPacket & { Value: string }>>("SHOW STATUS LIKE 'Ssl_cipher'");
        expect(cipherRows).toHaveLength(1);
        expect(cipherRows[0].Value).not.toBe('');
      } finally {
        await conn.end();
      }
    });

    test('the no-TLS instance works without TLS but rejects a client that requires TLS', async () => {
      const plain = await createConnection(mysqlOptions(svc.mysql.noTlsPort));
      try {
        const [rows] = await plain.query<Array<RowDataPacket & { Value: string }>>("SHOW STATUS LIKE 'Ssl_cipher'");
        expect(rows[0]?.Value ?? '').toBe('');
      } finally {
        await plain.end();
      }
      await expect(createConnection({
        ...mysqlOptions(svc.mysql.noTlsPort),
        ssl: { ca, rejectUnauthorized: true, verifyIdentity: true },
      })).rejects.toThrow(/does not support secure connection/);
    });
  });

  describe('moto', () => {
    test('Secrets Manager: create a secret and read it back', async () => {
      const sm = new SecretsManagerClient({ endpoint: svc.motoEndpoint, region: process.env.AWS_REGION });
      try {
        const name = `services-test-${randomUUID()}`;
        const value = JSON.stringify({ username: 'app', password: randomUUID() });
        const created = await sm.send(new CreateSecretCommand({ Name: name, SecretString: value }));
        expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:/);
        const read = await sm.send(new GetSecretValueCommand({ SecretId: name }));
        expect(read.SecretString).toBe(value);
        await sm.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
      } finally {
        sm.destroy();
      }
    });

    test('KMS: create a key, encrypt and decrypt', async () => {
      const kms = new KMSClient({ endpoint: svc.motoEndpoint, region: process.env.AWS_REGION });
      try {
        const key = await kms.send(new CreateKeyCommand({ Description: 'services.test.ts' }));
        const keyId = key.KeyMetadata!.KeyId!;
        const plaintext = Buffer.from(`hello ${randomUUID()}`);
        const encrypted = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
        expect(Buffer.from(encrypted.CiphertextBlob!).equals(plaintext)).toBe(false);
        const decrypted = await kms.send(new DecryptCommand({ CiphertextBlob: encrypted.CiphertextBlob }));
        expect(Buffer.from(decrypted.Plaintext!).toString()).toBe(plaintext.toString());
        expect(decrypted.KeyId).toContain(keyId);
        await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
      } finally {
        kms.destroy();
      }
    });
  });
});
