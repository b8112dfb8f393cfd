/**
 * Where an alert goes when it cannot be delivered: one encrypted SQS
 * dead-letter queue for every EventBridge target and every SNS
 * subscription of the monitoring, so an alert that fails (a key policy, a
 * throttle, an endpoint down) is kept for 14 days instead of dropped.
 *
 * The queue is encrypted with the alert key: `events.amazonaws.com` and
 * `sns.amazonaws.com` are its service users for this queue only
 * (`kms:EncryptionContext:aws:sqs:arn`). It is named, so that the key policy
 * can name it (the queue references the key) and the self-protection rule
 * can match calls on it by URL.
 *
 * cdk-nag's AwsSolutions-SQS3 counts a queue as a dead-letter queue only when
 * another queue or a Lambda function uses it so; EventBridge and SNS do not
 * count. Instead of suppressing the finding, the queue has a dead-letter
 * queue of its own, an archive: a dead letter received 10 times (read by a
 * tool, never deleted) is moved there, not dropped. The depth alarm sums both.
 *
 * Internal module: not exported from the package index.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CustomerManagedKey } from '../keys/customer-managed-key';

export const DEAD_LETTER_RETENTION = Duration.days(14);
export const ARCHIVE_AFTER_RECEIVES = 10;

export interface DeadLetters {
  /** The dead-letter queue of every target and subscription. */
  readonly queue: sqs.Queue;
  /** The queue's own dead-letter queue. */
  readonly archive: sqs.Queue;
  /** The names of both queues. */
  readonly queueNames: string[];
}

/** The services that may send to the queue: EventBridge (rule targets) and SNS (subscriptions). */
export const DEAD_LETTER_SENDERS = ['events.amazonaws.com', 'sns.amazonaws.com'];

export function deadLetterQueues(
  scope: Construct, key: CustomerManagedKey, namePrefix: string, senders: string[] = DEAD_LETTER_SENDERS,
): DeadLetters {
  const stack = Stack.of(scope);
  const archiveName = `${namePrefix}-dlq-archive`;
  const queueName = `${namePrefix}-dlq`;
  const archive = new sqs.Queue(scope, 'DeadLetterArchive', {
    queueName: archiveName,
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: DEAD_LETTER_RETENTION,
  });
  const queue = new sqs.Queue(scope, 'DeadLetterQueue', {
    queueName,
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: DEAD_LETTER_RETENTION,
    deadLetterQueue: { queue: archive, maxReceiveCount: ARCHIVE_AFTER_RECEIVES },
  });
  const queueArn = stack.formatArn({ service: 'sqs', resource: queueName, arnFormat: ArnFormat.NO_RESOURCE_NAME });
  for (const service of senders) {
    key.grantEnvelopeEncryption(new iam.ServicePrincipal(service), { encryptionContext: { 'aws:sqs:arn': queueArn } });
  }
  return { queue, archive, queueNames: [queueName, archiveName] };
}
