/**
 * The price table the cost estimate uses: region-independent list prices
 * (US East, N. Virginia), in US dollars, as data, with the date they were
 * recorded and the source page of each. Override any of them with
 * `KeysAndSecretsReportProps.prices`. Internal module.
 *
 * These are list prices as recorded on the table's date (`asOf`). They were
 * NOT verified against the live pricing pages from the machine this table
 * was written on (it has no internet access): check them against the pages
 * in `sourceOf` before relying on the figures, and pass the current ones
 * through `prices` if they differ.
 */

export interface PriceTable {
  readonly asOf: string;
  readonly currency: string;
  readonly sources: readonly string[];
  /** How far the prices were checked (shown in the report). */
  readonly verification: string;
  /** The pricing page each price is read from, by price name. */
  readonly sourceOf: Readonly<Record<string, string>>;
  /** A customer-managed KMS key (also each multi-Region replica key), per month. */
  readonly kmsKeyPerMonth: number;
  /** Added per month by each of the first `kmsRotationSurchargeMaxRotations` rotations of a key's material. */
  readonly kmsRotationSurchargePerMonth: number;
  readonly kmsRotationSurchargeMaxRotations: number;
  /** KMS requests (symmetric), per 10,000. */
  readonly kmsRequestsPer10k: number;
  /** KMS free tier: requests per month, per account (all Regions). */
  readonly kmsFreeRequestsPerMonth: number;
  /** A secret (also each replica), per month. */
  readonly secretPerMonth: number;
  /** Secrets Manager API calls, per 10,000. */
  readonly secretsManagerCallsPer10k: number;
  /** Lambda requests, per million. */
  readonly lambdaRequestsPerMillion: number;
  /** Lambda compute (x86), per GB-second. */
  readonly lambdaGbSecond: number;
  readonly lambdaFreeRequestsPerMonth: number;
  readonly lambdaFreeGbSecondsPerMonth: number;
}

const KMS = 'https://aws.amazon.com/kms/pricing/';
const SECRETS_MANAGER = 'https://aws.amazon.com/secrets-manager/pricing/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';

export const PRICES: PriceTable = {
  asOf: '2026-12-01',
  currency: 'USD',
  sources: [
    'https://aws.amazon.com/kms/pricing/ (keys $1/month prorated hourly; each of the first two rotations of a key adds $1/month, later rotations are free; $0.03 per 10,000 requests; 20,000 free requests/month)',
    'https://aws.amazon.com/secrets-manager/pricing/ ($0.40 per secret per month, replicas count as secrets; $0.05 per 10,000 API calls; the 30-day trial is not counted)',
    'https://aws.amazon.com/lambda/pricing/ ($0.20 per 1M requests, $0.0000166667 per GB-second on x86; free tier 1M requests and 400,000 GB-seconds per month)',
  ],
  verification: 'list prices as recorded on the table\'s date; not verified against the live pricing pages (the table was written offline)',
  sourceOf: {
    kmsKeyPerMonth: KMS,
    kmsRotationSurchargePerMonth: KMS,
    kmsRotationSurchargeMaxRotations: KMS,
    kmsRequestsPer10k: KMS,
    kmsFreeRequestsPerMonth: KMS,
    secretPerMonth: SECRETS_MANAGER,
    secretsManagerCallsPer10k: SECRETS_MANAGER,
    lambdaRequestsPerMillion: LAMBDA,
    lambdaGbSecond: LAMBDA,
    lambdaFreeRequestsPerMonth: LAMBDA,
    lambdaFreeGbSecondsPerMonth: LAMBDA,
  },
  kmsKeyPerMonth: 1,
  kmsRotationSurchargePerMonth: 1,
  kmsRotationSurchargeMaxRotations: 2,
  kmsRequestsPer10k: 0.03,
  kmsFreeRequestsPerMonth: 20_000,
  secretPerMonth: 0.4,
  secretsManagerCallsPer10k: 0.05,
  lambdaRequestsPerMillion: 0.2,
  lambdaGbSecond: 0.0000166667,
  lambdaFreeRequestsPerMonth: 1_000_000,
  lambdaFreeGbSecondsPerMonth: 400_000,
};

/**
 * What one rotation of a database secret costs in calls, counted from the
 * rotation protocol (src/rotation/runtime/protocol.ts), single-user, no
 * retries: Secrets Manager invokes the function 4 times (createSecret,
 * setSecret, testSecret, finishSecret); each step describes the secret
 * (+1 in finishSecret); createSecret reads AWSCURRENT and AWSPENDING and
 * puts the new version; setSecret reads both; testSecret reads AWSPENDING;
 * finishSecret moves the stage.
 */
export const ROTATION_MODEL = {
  invocations: 4,
  /**
   * As measured by `npm run bench` (rotation handler): DescribeSecret 4 (one per step),
   * GetSecretValue 2 (AWSCURRENT, and the master secret for alternating users; values are
   * cached by version in a warm container), PutSecretValue 1, UpdateSecretVersionStage 1.
   * 7 for single-user, 8 for alternating users: the estimate uses 8, the upper bound of a warm rotation.
   */
  secretsManagerCalls: 8,
  /** One Decrypt per GetSecretValue (2) and one GenerateDataKey for PutSecretValue (1). */
  kmsCalls: 3,
  /** Assumed duration of one invocation (a database login and an ALTER USER). */
  secondsPerInvocation: 2,
  /** Days in the billing month the estimate uses. */
  daysPerMonth: 30,
} as const;
