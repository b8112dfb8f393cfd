/**
 * The provisioning function's configuration, from its environment (set by
 * the `DatabaseUser` construct): the rotation functions' TLS and timeout
 * variables (same names, same parser), and the endpoints each master secret
 * may be used on.
 */
import { connectionSettings, ConnectionSettings, Env, parseHostPort, PinnedEndpoint } from '../../../rotation/runtime/config';

/** JSON object: master secret ARN -> ["host:port", ...]. */
export const ENDPOINTS_VARIABLE = 'DATABASE_USER_ENDPOINTS';

export interface ProvisioningConfig extends ConnectionSettings {
  /** Master secret ARN -> the endpoints its credentials may be sent to. */
  readonly endpoints: ReadonlyMap<string, readonly PinnedEndpoint[]>;
}

export class ProvisioningConfigError extends Error {
  constructor(problems: readonly string[]) {
    super(`Invalid database user provisioning function configuration: ${problems.join('; ')}`);
    this.name = 'ProvisioningConfigError';
  }
}

export function loadProvisioningConfig(env: Env): ProvisioningConfig {
  const problems: string[] = [];
  const settings = connectionSettings(env, problems);
  const endpoints = new Map<string, PinnedEndpoint[]>();
  const raw = env[ENDPOINTS_VARIABLE];
  let parsed: unknown = {};
  if (raw !== undefined && raw !== '') {
    try {
      parsed = JSON.parse(raw);
    } catch {
      problems.push(`${ENDPOINTS_VARIABLE} is not JSON (an object: master secret ARN -> ["host:port"])`);
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`${ENDPOINTS_VARIABLE} is not a JSON object (master secret ARN -> ["host:port"])`);
  } else {
    for (const [arn, list] of Object.entries(parsed as Record<string, unknown>)) {
      const parsedList = Array.isArray(list) ? list.map(parseHostPort) : [];
      if (!arn.startsWith('arn:') || !Array.isArray(list) || list.length === 0 || parsedList.some(e => e === undefined)) {
        problems.push(`${ENDPOINTS_VARIABLE} has ${JSON.stringify(arn)}: ${JSON.stringify(list)}, not a secret ARN and a list of "host:port"`);
        continue;
      }
      endpoints.set(arn, parsedList as PinnedEndpoint[]);
    }
  }
  if (problems.length > 0) throw new ProvisioningConfigError(problems);
  return { ...settings, endpoints };
}
