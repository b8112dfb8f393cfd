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
import { rotate, RotationLogger } from './protocol';

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
    return rotate(event, { secrets, engine, config, logger: log });
  };
}
