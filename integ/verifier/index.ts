/**
 * The verifier of integ.managed-secret-rotation: a Lambda function that reads
 * the database secret's AWSCURRENT version the way an application does
 * (through the AWS Parameters and Secrets Lambda Extension that
 * `ManagedSecret.addLambdaReader` adds), logs in to PostgreSQL with it over
 * verified TLS, and returns who it is. It never returns or logs the password.
 *
 * Bundled with esbuild when the integ test is synthesized (NodejsFunction);
 * `pg` is bundled, the AWS SDK is not used.
 */
import { Client } from 'pg';

export interface VerifierResult {
  readonly loggedIn: true;
  /** `current_user` of the session. */
  readonly user: string;
  /** Whether the session is encrypted (pg_stat_ssl). */
  readonly tls: boolean;
  /** The version of the secret that was used. */
  readonly versionId: string;
}

interface SecretsExtensionResponse {
  readonly SecretString?: string;
  readonly VersionId?: string;
}

export async function handler(): Promise<VerifierResult> {
  const secretArn = process.env.SECRET_ARN;
  if (!secretArn) throw new Error('SECRET_ARN is not set');
  const url = `http://localhost:2773/secretsmanager/get?secretId=${encodeURIComponent(secretArn)}&versionStage=AWSCURRENT`;
  const res = await fetch(url, { headers: { 'X-Aws-Parameters-Secrets-Token': process.env.AWS_SESSION_TOKEN ?? '' } });
  if (!res.ok) throw new Error(`reading the secret through the extension failed: HTTP ${res.status}`);
  const body = await res.json() as SecretsExtensionResponse;
  const secret = JSON.parse(body.SecretString ?? '{}') as { host?: string; port?: number; username?: string; password?: string; dbname?: string };

  const client = new Client({
    host: secret.host,
    port: Number(secret.port ?? 5432),
    user: secret.username,
    password: secret.password,
    database: secret.dbname ?? 'postgres',
    // Verified TLS: the RDS CAs come from NODE_EXTRA_CA_CERTS; never plaintext.
    ssl: { rejectUnauthorized: true },
    connectionTimeoutMillis: 10_000,
  });
  try {
    await client.connect();
  } catch (err) {
    // The driver's message names the failure (password authentication failed, certificate...), never the password.
    throw new Error(`cannot log in to ${secret.host}:${secret.port} as "${secret.username}": ${(err as Error).message}`);
  }
  try {
    const { rows } = await client.query<{ user: string; tls: boolean }>(
      'SELECT current_user AS "user", COALESCE((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false) AS tls');
    return { loggedIn: true, user: rows[0].user, tls: rows[0].tls, versionId: body.VersionId ?? '' };
  } finally {
    await client.end().catch(() => undefined);
  }
}
