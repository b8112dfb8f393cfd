/**
 * The Lambda entry point shared by every engine: `<engine>-handler.ts` is
 * `export const handler = createHandler(<engine>Engine)`.
 *
 * The Secrets Manager client is created on the first invocation and reused
 * (SDK v3 from the Lambda runtime; `AWS_ENDPOINT_URL_SECRETS_MANAGER` is
 * honoured, which the tests use to point it at moto). The configuration is
 * read from the environment at every invocation, so a bad setting fails the
 * invocation with a clear message instead of the whole container.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context, SecretsManagerRotationEvent } from 'aws-lambda';
import { loadConfig } from './config';
import { EngineAdapter, errorMessage } from './engine';
import { rotate, RotationError, RotationLogger } from './protocol';

export const SERVICE_NAME = 'cdk-kms-secrets-rotation';

export const logger = new Logger({ serviceName: SERVICE_NAME });

let defaultClient: SecretsManagerClient | undefined;

export interface HandlerOverrides {
  /** Secrets Manager client to use instead of `new SecretsManagerClient({})`. */
  readonly secrets?: SecretsManagerClient;
  readonly logger?: RotationLogger;
}

export type RotationHandler = (event: SecretsManagerRotationEvent, context?: Context) => Promise<void>;

export function createHandler(engine: EngineAdapter, overrides: HandlerOverrides = {}): RotationHandler {
  return async (event, context) => {
    if (context !== undefined && overrides.logger === undefined) {
      // Adds the request id and function name to every line (one invocation at a time per Lambda container).
      logger.addContext(context);
    }
    const log = overrides.logger ?? logger;
    let config;
    try {
      config = loadConfig(process.env);
    } catch (err) {
      log.error('rotation step failed', { step: event?.Step, secretArn: event?.SecretId, token: event?.ClientRequestToken, engine: engine.name, outcome: 'failed', error: errorMessage(err) });
      throw err;
    }
    const secrets = overrides.secrets ?? (defaultClient ??= new SecretsManagerClient({}));
    const step = rotate(event, { secrets, engine, config, logger: log });
    const remaining = context?.getRemainingTimeInMillis?.();
    if (remaining === undefined) {
      return step;
    }
    return withinDeadline(step, remaining - DEADLINE_MARGIN_MS, () => {
      log.error('rotation step failed', {
        step: event?.Step,
        secretArn: event?.SecretId,
        token: event?.ClientRequestToken,
        engine: engine.name,
        outcome: 'failed',
        errorKind: 'timeout',
        error: `the step did not finish within the function's timeout (less ${DEADLINE_MARGIN_MS} ms); Secrets Manager retries it`,
      });
    });
  };
}

/** Time kept before Lambda's own timeout so that a step that runs too long still fails with our message. */
export const DEADLINE_MARGIN_MS = 1_500;

/** `step`, or a RotationError once `ms` have passed (the step's sockets are bounded by their own timeouts). */
export async function withinDeadline<T = void>(step: Promise<T>, ms: number, onExpired: () => void, message?: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onExpired();
      reject(new RotationError(message ?? `The rotation step did not finish before the function's timeout (${Math.max(0, ms)} ms left at the start, ${DEADLINE_MARGIN_MS} ms kept): a database or Secrets Manager call hung; it is retried.`));
    }, Math.max(0, ms));
  });
  try {
    return await Promise.race([step, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
