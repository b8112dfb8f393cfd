/**
 * The Lambda entry point of the provisioning function, shared by every
 * engine: `<engine>-handler.ts` is `export const handler = createUserHandler(<engine>Admin)`.
 *
 * CloudFormation invokes the function asynchronously with a
 * `Custom::DatabaseUser` request; the function answers it itself by a PUT to
 * the request's pre-signed `ResponseURL` (no `custom_resources.Provider`
 * framework function). Every failure is answered `FAILED` with a message
 * scrubbed of every password read, before Lambda's own timeout; the
 * invocation itself fails only if the answer cannot be delivered, and Lambda
 * then retries it (every step is idempotent).
 */
import { request as httpRequest } from 'http';
import { request as httpsRequest } from 'https';
import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { UserAdmin } from './admin';
import { loadProvisioningConfig } from './config';
import { failureMessage, NO_USER_ID_PREFIX, provision, ProvisionLogger } from './provision';
import { DEADLINE_MARGIN_MS, withinDeadline } from '../../../rotation/runtime/lambda';
import { Redactor } from '../../../rotation/runtime/protocol';

export const SERVICE_NAME = 'cdk-kms-secrets-database-user';
const logger = new Logger({ serviceName: SERVICE_NAME });
let defaultClient: SecretsManagerClient | undefined;

/** The answer to CloudFormation (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html). */
export interface CustomResourceResponse {
  readonly Status: 'SUCCESS' | 'FAILED';
  readonly Reason?: string;
  readonly PhysicalResourceId: string;
  readonly StackId: string;
  readonly RequestId: string;
  readonly LogicalResourceId: string;
  readonly Data?: Record<string, string>;
}

export interface UserHandlerOverrides {
  readonly secrets?: SecretsManagerClient;
  readonly logger?: ProvisionLogger;
  /** Deliver the answer (default: PUT to the ResponseURL). */
  readonly respond?: (url: string, response: CustomResourceResponse) => Promise<void>;
}

export type UserHandler = (event: CloudFormationCustomResourceEvent, context?: Context) => Promise<void>;

/** CloudFormation shows at most this much of a reason. */
const MAX_REASON = 1_000;

export function createUserHandler(admin: UserAdmin, overrides: UserHandlerOverrides = {}): UserHandler {
  return async (event, context) => {
    if (context !== undefined && overrides.logger === undefined) logger.addContext(context);
    const log = overrides.logger ?? logger;
    const redactor = new Redactor();
    const started = Date.now();
    const fields = {
      requestType: event.RequestType,
      logicalResourceId: event.LogicalResourceId,
      requestId: event.RequestId,
      userSecretArn: (event.ResourceProperties as Record<string, unknown> | undefined)?.UserSecretArn,
      engine: admin.engine.name,
    };
    // A failed Create leaves no user of ours: its id says so, and its Delete then drops nothing.
    const previousId = event.RequestType === 'Create' ? `${NO_USER_ID_PREFIX}${event.RequestId}` : event.PhysicalResourceId;
    let response: CustomResourceResponse;
    try {
      const config = loadProvisioningConfig(process.env);
      const secrets = overrides.secrets ?? (defaultClient ??= new SecretsManagerClient({}));
      const work = provision(event, { secrets, admin, config, logger: log, redactor });
      const remaining = context?.getRemainingTimeInMillis?.();
      const result = remaining === undefined ? await work : await withinDeadline(work, remaining - DEADLINE_MARGIN_MS, () => undefined,
        `The request did not finish before the function's timeout (${DEADLINE_MARGIN_MS} ms kept): a database or Secrets Manager call hung.`);
      response = { ...base(event), Status: 'SUCCESS', PhysicalResourceId: result.physicalResourceId, Data: result.data };
      log.info('request succeeded', { ...fields, outcome: 'succeeded', physicalResourceId: result.physicalResourceId, durationMs: Date.now() - started });
    } catch (err) {
      const reason = failureMessage(err, redactor);
      log.error('request failed', { ...fields, outcome: 'failed', error: reason, durationMs: Date.now() - started });
      response = { ...base(event), Status: 'FAILED', Reason: reason.slice(0, MAX_REASON), PhysicalResourceId: previousId };
    }
    // Throws if CloudFormation cannot be told: Lambda retries the invocation (idempotent).
    await (overrides.respond ?? putResponse)(event.ResponseURL, response);
  };
}

function base(event: CloudFormationCustomResourceEvent) {
  return { StackId: event.StackId, RequestId: event.RequestId, LogicalResourceId: event.LogicalResourceId };
}

/** PUT the answer to the pre-signed URL (https; http only for tests on loopback addresses). */
export async function putResponse(url: string, response: CustomResourceResponse, attempts = 3): Promise<void> {
  const body = JSON.stringify(response);
  const target = new URL(url);
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname);
  if (target.protocol !== 'https:' && !(target.protocol === 'http:' && loopback)) {
    throw new Error(`ResponseURL is not an https URL (${target.protocol}//${target.hostname}); the answer was not sent.`);
  }
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  let last: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        const req = send(target, { method: 'PUT', headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) }, timeout: 10_000 }, res => {
          res.resume();
          res.on('end', () => (res.statusCode !== undefined && res.statusCode < 300 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end(body);
      });
      return;
    } catch (err) {
      last = err;
      await new Promise(r => setTimeout(r, 200 * attempt));
    }
  }
  throw new Error(`Could not deliver the answer to CloudFormation after ${attempts} attempts: ${(last as Error)?.message ?? String(last)}`);
}
