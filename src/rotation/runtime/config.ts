/**
 * The rotation function's configuration, from its environment variables
 * (set by the `RotationFunction` construct). Every problem is reported at
 * once, naming the variable and what it accepts.
 */
import { readFileSync } from 'fs';
import { TlsConfig } from './engine';
import { characterClasses, PasswordPolicy } from './password';

export type RotationStrategy = 'single-user' | 'alternating-users';
export const STRATEGIES: readonly RotationStrategy[] = ['single-user', 'alternating-users'];

export interface RotationConfig {
  readonly strategy: RotationStrategy;
  readonly password: PasswordPolicy;
  readonly tls: TlsConfig;
  readonly connectTimeoutMs: number;
  readonly statementTimeoutMs: number;
  /**
   * Secret ARN -> the endpoint its credentials go to, from
   * `ROTATION_PINNED_ENDPOINTS` (set by the construct for secrets whose host
   * is only known after deployment, such as an RDS secret attachment's).
   * It takes the place of the secret's host and port tags.
   */
  readonly pinnedEndpoints: ReadonlyMap<string, PinnedEndpoint>;
}

export interface PinnedEndpoint {
  readonly host: string;
  readonly port: number;
}

/** The variable that pins endpoints in the function's own configuration: a JSON object, secret ARN -> "host:port". */
export const PINNED_ENDPOINTS_VARIABLE = 'ROTATION_PINNED_ENDPOINTS';

/** Characters that break connection strings, URLs and shell quoting. */
export const DEFAULT_EXCLUDE_CHARACTERS = ' "\'\\/@';
export const DEFAULT_PASSWORD_LENGTH = 32;
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 4096;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 15_000;

export class ConfigError extends Error {
  constructor(problems: readonly string[]) {
    super(`Invalid rotation function configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
  }
}

export type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env): RotationConfig {
  const problems: string[] = [];

  const strategy = env.ROTATION_STRATEGY;
  if (strategy === undefined || strategy === '') {
    problems.push(`ROTATION_STRATEGY is not set (use ${STRATEGIES.join(' or ')})`);
  } else if (!(STRATEGIES as readonly string[]).includes(strategy)) {
    problems.push(`ROTATION_STRATEGY=${JSON.stringify(strategy)} is not one of ${STRATEGIES.join(', ')}`);
  }

  const length = integer(env, 'ROTATION_PASSWORD_LENGTH', DEFAULT_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH, problems);
  const policy: PasswordPolicy = {
    length,
    // Unset means the default; set to the empty string means "exclude nothing".
    excludeCharacters: env.ROTATION_EXCLUDE_CHARACTERS ?? DEFAULT_EXCLUDE_CHARACTERS,
    excludeUppercase: boolean(env, 'ROTATION_EXCLUDE_UPPERCASE', false, problems),
    excludeLowercase: boolean(env, 'ROTATION_EXCLUDE_LOWERCASE', false, problems),
    excludeNumbers: boolean(env, 'ROTATION_EXCLUDE_NUMBERS', false, problems),
    excludePunctuation: boolean(env, 'ROTATION_EXCLUDE_PUNCTUATION', false, problems),
    requireEachIncludedType: boolean(env, 'ROTATION_REQUIRE_EACH_INCLUDED_TYPE', true, problems),
  };
  try {
    const { pool, required } = characterClasses(policy);
    if (required.length > length) {
      problems.push(`ROTATION_PASSWORD_LENGTH=${length} is shorter than the ${required.length} character classes each password must contain`);
    }
    if (pool.length < 10) {
      problems.push(`the password policy leaves only ${pool.length} usable characters (ROTATION_EXCLUDE_CHARACTERS and ROTATION_EXCLUDE_*); allow at least 10`);
    }
  } catch (err) {
    problems.push(`${(err as Error).message} (ROTATION_EXCLUDE_CHARACTERS and ROTATION_EXCLUDE_*)`);
  }

  const { tls, connectTimeoutMs, statementTimeoutMs } = connectionSettings(env, problems);

  const pinnedEndpoints = endpoints(env, problems);

  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  return {
    strategy: strategy as RotationStrategy,
    password: policy,
    tls,
    connectTimeoutMs,
    statementTimeoutMs,
    pinnedEndpoints,
  };
}

/** How the function connects to databases: TLS and timeouts. */
export interface ConnectionSettings {
  readonly tls: TlsConfig;
  readonly connectTimeoutMs: number;
  readonly statementTimeoutMs: number;
}

/**
 * `ROTATION_REQUIRE_TLS`, `ROTATION_TLS_CA_FILE`, `ROTATION_CONNECT_TIMEOUT_MS`
 * and `ROTATION_STATEMENT_TIMEOUT_MS`, validated (problems are appended).
 * Shared with the functions that create database users (src/databases/user/runtime).
 */
export function connectionSettings(env: Env, problems: string[]): ConnectionSettings {
  const required = boolean(env, 'ROTATION_REQUIRE_TLS', true, problems);
  const caFile = env.ROTATION_TLS_CA_FILE === '' ? undefined : env.ROTATION_TLS_CA_FILE;
  let ca: string | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile, 'utf8');
      if (!ca.includes('-----BEGIN CERTIFICATE-----')) {
        problems.push(`ROTATION_TLS_CA_FILE=${caFile} holds no PEM certificate`);
      }
    } catch (err) {
      problems.push(`ROTATION_TLS_CA_FILE=${caFile} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }

  const connectTimeoutMs = integer(env, 'ROTATION_CONNECT_TIMEOUT_MS', DEFAULT_CONNECT_TIMEOUT_MS, 100, 60_000, problems);
  const statementTimeoutMs = integer(env, 'ROTATION_STATEMENT_TIMEOUT_MS', DEFAULT_STATEMENT_TIMEOUT_MS, 100, 300_000, problems);
  return { tls: { required, ca, caFile }, connectTimeoutMs, statementTimeoutMs };
}

function endpoints(env: Env, problems: string[]): ReadonlyMap<string, PinnedEndpoint> {
  const out = new Map<string, PinnedEndpoint>();
  const raw = env[PINNED_ENDPOINTS_VARIABLE];
  if (raw === undefined || raw === '') {
    return out;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push(`${PINNED_ENDPOINTS_VARIABLE} is not JSON (an object: secret ARN -> "host:port")`);
    return out;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`${PINNED_ENDPOINTS_VARIABLE} is not a JSON object (secret ARN -> "host:port")`);
    return out;
  }
  for (const [arn, value] of Object.entries(parsed as Record<string, unknown>)) {
    const endpoint = parseHostPort(value);
    if (!arn.startsWith('arn:') || endpoint === undefined) {
      problems.push(`${PINNED_ENDPOINTS_VARIABLE} has ${JSON.stringify(arn)}: ${JSON.stringify(value)}, not a secret ARN and "host:port"`);
      continue;
    }
    out.set(arn, endpoint);
  }
  return out;
}

/** "host:port", the host a DNS name or IPv4 address (RDS endpoints are names); undefined for anything else. */
export function parseHostPort(value: unknown): PinnedEndpoint | undefined {
  const match = typeof value === 'string' ? /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(value) : null;
  const port = match ? Number(match[2]) : NaN;
  return match && port >= 1 && port <= 65535 ? { host: match[1], port } : undefined;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    problems.push(`${name}=${JSON.stringify(raw)} is not a whole number between ${min} and ${max}`);
    return fallback;
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean, problems: string[]): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  switch (raw.trim().toLowerCase()) {
    case 'true':
      return true;
    case 'false':
      return false;
    default:
      problems.push(`${name}=${JSON.stringify(raw)} is not true or false`);
      return fallback;
  }
}
