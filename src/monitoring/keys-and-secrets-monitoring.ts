import { Duration, Names, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as config from 'aws-cdk-lib/aws-config';
import * as events from 'aws-cdk-lib/aws-events';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { allowPublishers, createAlertTopic } from './alert-topic';
import { ALERTS, AlertKind, alarmDescription, DEFAULT_RUNBOOK_URL } from './alerts';
import { monitoringDashboard } from './dashboard';
import { discover, unique, unwatched, Watched, withDependents } from './discovery';
import {
  keyChangePattern, ROTATION_FAILURE_EVENT_NAMES, ROTATION_SUCCESS_EVENT_NAMES, rotationOverduePattern, rotationPattern,
  secretChangePattern, secretKeyChangePattern,
} from './event-patterns';
import { FUNCTION_ALARM_PERIOD, rotationFunctionAlarms } from './rotation-function-alarms';
import { maxDaysSinceRotation, overdueConfigRule } from './rotation-overdue';
import { AlertTopicTarget, alertMessage, MESSAGE_FIELDS } from './rule-target';
import { chunkByPatternSize, keyScope, PatternValue, ScopedValue, secretScope, SecretScope } from './scoping';
import { KMS_USAGE, SECRETS_USAGE, usageAnomalyAlarm } from './usage-anomaly-alarms';
import {
  assertKeysAreKeys, assertNoDuplicates, assertSameRegion, OWNER, validateDays, validateEmails, validateHttpsEndpoints,
  validateNumber, validateRunbookUrl,
} from './validation';
import { propError } from '../errors';
import { CustomerManagedKey } from '../keys/customer-managed-key';

/** Properties of `KeysAndSecretsMonitoring`. */
export interface KeysAndSecretsMonitoringProps {
  /**
   * KMS keys to watch. Pass keys, never aliases: KMS events name the key.
   *
   * @default - none (besides those found in `watchScope` and the keys of watched `ManagedSecret`s)
   */
  readonly keys?: kms.IKey[];

  /**
   * Secrets to watch. The key and rotation function of a `ManagedSecret` are
   * watched with it.
   *
   * @default - none (besides those found in `watchScope`)
   */
  readonly secrets?: secretsmanager.ISecret[];

  /**
   * Rotation functions to alarm on (errors, throttles, duration).
   *
   * @default - none (besides those of watched `ManagedSecret`s and those found in `watchScope`)
   */
  readonly rotationFunctions?: lambda.IFunction[];

  /**
   * A scope to search, when this construct is created, for every
   * `CustomerManagedKey`, `ManagedSecret` (with its key and rotation
   * function) and `RotationFunction` below it. Create the monitoring after
   * them: synthesis fails if the scope later gains one that is not watched.
   *
   * @default - only the resources passed in `keys`, `secrets` and `rotationFunctions`
   */
  readonly watchScope?: Construct;

  /**
   * The key that encrypts the alert topic. `events.amazonaws.com` and
   * `cloudwatch.amazonaws.com` are allowed to use it for this topic only.
   *
   * @default - a new CustomerManagedKey
   */
  readonly encryptionKey?: CustomerManagedKey;

  /**
   * Email addresses to subscribe to the alert topic. Each must confirm its
   * subscription.
   *
   * @default - no email subscription
   */
  readonly emails?: string[];

  /**
   * HTTPS endpoints to subscribe to the alert topic. Only https:// URLs.
   *
   * @default - no HTTPS subscription
   */
  readonly httpsEndpoints?: string[];

  /**
   * Whether to create a CloudWatch dashboard of rotations, API call volume,
   * rotation functions and alarm states.
   *
   * @default false
   */
  readonly dashboard?: boolean;

  /**
   * Whether to create the usage-spike alarms (anomaly detection on the
   * account's KMS Decrypt, GenerateDataKey and Encrypt calls, and on
   * Secrets Manager GetSecretValue calls). They are per account and region:
   * enable them in one `KeysAndSecretsMonitoring` per account and region
   * only, as two anomaly detectors on the same metric conflict.
   *
   * @default true
   */
  readonly usageAnomalyAlarms?: boolean;

  /**
   * The width of the anomaly-detection band, in standard deviations.
   *
   * @default 3
   */
  readonly anomalyBandWidth?: number;

  /**
   * The duration alarm of a rotation function fires when a run takes this
   * percentage of the function's timeout or more.
   *
   * @default 80
   */
  readonly durationAlarmPercent?: number;

  /**
   * Whether to alert when a watched secret has not rotated in time, with the
   * AWS Config managed rule `secretsmanager-secret-periodic-rotation`. Needs
   * AWS Config recording `AWS::SecretsManager::Secret` in the account and
   * region.
   *
   * @default true
   */
  readonly rotationOverdueCheck?: boolean;

  /**
   * How long after its rotation interval a secret counts as overdue.
   *
   * @default Duration.days(2)
   */
  readonly rotationGracePeriod?: Duration;

  /**
   * The age after which a rotated secret whose schedule this app does not
   * know (an imported secret, or a cron schedule) counts as overdue.
   *
   * @default Duration.days(90)
   */
  readonly unknownScheduleMaxAge?: Duration;

  /**
   * Where the runbooks are: every alert links `<runbookUrl>#<alert>`.
   *
   * @default - docs/monitoring.md of cdk-kms-secrets on GitHub
   */
  readonly runbookUrl?: string;
}

/**
 * Watches KMS keys and Secrets Manager secrets and sends every alert to one
 * encrypted SNS topic:
 *
 * - EventBridge rules on CloudTrail events: a watched key disabled,
 *   scheduled for deletion, given a new key policy, granted, or stripped of
 *   an alias; a watched secret deleted, its resource policy replaced or
 *   deleted, or its key changed; a rotation failed or abandoned.
 * - Rotation overdue: an AWS Config periodic rule and an EventBridge rule on
 *   its compliance changes.
 * - CloudWatch alarms: rotation function errors, throttles and duration;
 *   usage spikes of KMS and GetSecretValue calls (anomaly detection); and
 *   alerts EventBridge failed to deliver.
 * - An optional dashboard.
 *
 * See docs/monitoring.md for the runbook of each alert.
 *
 * @example
 * new KeysAndSecretsMonitoring(this, 'Monitoring', {
 *   watchScope: this,
 *   emails: ['security@example.com'],
 *   dashboard: true,
 * });
 */
export class KeysAndSecretsMonitoring extends Construct {
  /** The topic every alert is sent to. */
  public readonly topic: sns.Topic;
  /** The key that encrypts the topic. */
  public readonly encryptionKey: CustomerManagedKey;
  /** The EventBridge rules that send alerts to the topic. */
  public readonly rules: events.Rule[];
  /** Every alarm; each one notifies the topic. */
  public readonly alarms: cloudwatch.Alarm[];
  /** The AWS Config rules behind the rotation-overdue alert. */
  public readonly overdueChecks: config.ManagedRule[];
  /** The dashboard, when `dashboard` is set. */
  public readonly dashboard?: cloudwatch.Dashboard;
  /** The keys watched. */
  public readonly watchedKeys: kms.IKey[];
  /** The secrets watched. */
  public readonly watchedSecrets: secretsmanager.ISecret[];
  /** The rotation functions alarmed on. */
  public readonly watchedRotationFunctions: lambda.IFunction[];

  private readonly runbookUrl: string;

  constructor(scope: Construct, id: string, props: KeysAndSecretsMonitoringProps = {}) {
    super(scope, id);
    const emails = props.emails ?? [];
    const httpsEndpoints = props.httpsEndpoints ?? [];
    const bandWidth = props.anomalyBandWidth ?? 3;
    const durationPercent = props.durationAlarmPercent ?? 80;
    const gracePeriod = props.rotationGracePeriod ?? Duration.days(2);
    const unknownScheduleMaxAge = props.unknownScheduleMaxAge ?? Duration.days(90);
    this.runbookUrl = props.runbookUrl ?? DEFAULT_RUNBOOK_URL;
    validateEmails(emails);
    validateHttpsEndpoints(httpsEndpoints);
    validateRunbookUrl(this.runbookUrl);
    validateNumber('anomalyBandWidth', bandWidth, 0, 10, true, 'Use a number of standard deviations above 0 and at most 10 (3 by default).');
    validateNumber('durationAlarmPercent', durationPercent, 0, 100, true, 'Use a percentage above 0 and at most 100 (80 by default).');
    validateDays('rotationGracePeriod', gracePeriod, 0, 30);
    validateDays('unknownScheduleMaxAge', unknownScheduleMaxAge, 1, 1000);

    const explicit: Watched = { keys: props.keys ?? [], secrets: props.secrets ?? [], functions: props.rotationFunctions ?? [] };
    assertKeysAreKeys(explicit.keys);
    assertNoDuplicates(this, 'keys', explicit.keys, (k: kms.IKey) => k.keyArn);
    assertNoDuplicates(this, 'secrets', explicit.secrets, (s: secretsmanager.ISecret) => s.secretArn);
    assertNoDuplicates(this, 'rotationFunctions', explicit.functions, (f: lambda.IFunction) => f.functionArn);
    const found = props.watchScope ? discover(props.watchScope, this) : { keys: [], secrets: [], functions: [] };
    const watched = withDependents({
      keys: [...explicit.keys, ...found.keys],
      secrets: [...explicit.secrets, ...found.secrets],
      functions: [...explicit.functions, ...found.functions],
    });
    if (watched.keys.length + watched.secrets.length + watched.functions.length === 0) {
      if (props.watchScope) {
        throw propError(OWNER, 'watchScope', `${props.watchScope.node.path} holds no CustomerManagedKey, ManagedSecret or RotationFunction (yet), and nothing else was given to watch.`, 'Create the monitoring after the keys and secrets it should find, or pass `keys`, `secrets` or `rotationFunctions`.');
      }
      throw propError(OWNER, 'keys', 'nothing to watch: no `keys`, `secrets`, `rotationFunctions` or `watchScope` was given.', 'Pass the keys and secrets to watch, or `watchScope: this` to watch every CustomerManagedKey and ManagedSecret of the stack.');
    }
    assertSameRegion(this, 'keys', watched.keys);
    assertSameRegion(this, 'secrets', watched.secrets);
    assertSameRegion(this, 'rotationFunctions', watched.functions);
    this.watchedKeys = uniqueByArn(this, watched.keys, k => k.keyArn);
    this.watchedSecrets = uniqueByArn(this, watched.secrets, s => s.secretArn);
    this.watchedRotationFunctions = uniqueByArn(this, watched.functions, f => f.functionArn);

    const { topic, key } = createAlertTopic(this, { encryptionKey: props.encryptionKey, emails, httpsEndpoints });
    this.topic = topic;
    this.encryptionKey = key;

    // Event rules.
    this.rules = [];
    const successRules: events.Rule[] = [];
    const failureRules: events.Rule[] = [];
    const keys = dedupeValues(this, this.watchedKeys.map(keyScope));
    this.addRules('KmsKeyChange', keys, keyChangePattern, ALERTS.keyChange, MESSAGE_FIELDS.kmsCall);

    const secretScopes = this.watchedSecrets.map(s => secretScope(this, s));
    const secretIds = dedupeValues(this, secretScopes.flatMap(s => s.secretId));
    const secretArns = dedupeValues(this, secretScopes.flatMap(s => s.fullArn));
    this.addRules('SecretChange', secretIds, secretChangePattern, ALERTS.secretChange, MESSAGE_FIELDS.secretCall);
    this.addRules('SecretKeyChange', secretIds, secretKeyChangePattern, ALERTS.secretKeyChange, MESSAGE_FIELDS.secretCall);
    failureRules.push(...this.addRules('RotationFailed', secretArns, v => rotationPattern(ROTATION_FAILURE_EVENT_NAMES, v), ALERTS.rotationFailed, MESSAGE_FIELDS.rotation));

    this.overdueChecks = [];
    if (props.rotationOverdueCheck ?? true) {
      const byDays = new Map<number, SecretScope[]>();
      this.watchedSecrets.forEach((s, i) => {
        const days = maxDaysSinceRotation(s, { gracePeriod, unknownScheduleMaxAge });
        if (days === undefined) return;
        byDays.set(days, [...(byDays.get(days) ?? []), secretScopes[i]]);
      });
      for (const [days, scopes] of [...byDays.entries()].sort(([a], [b]) => a - b)) {
        const rule = overdueConfigRule(this, days);
        this.overdueChecks.push(rule);
        const arns = dedupeValues(this, scopes.flatMap(s => s.fullArn));
        this.addRules(`RotationOverdue${days}Days`, arns, v => rotationOverduePattern(rule.configRuleName, v), ALERTS.rotationOverdue, MESSAGE_FIELDS.overdue);
      }
    }
    if (props.dashboard) {
      // Only counted on the dashboard: no target, no alert.
      successRules.push(...this.addRules('RotationSucceeded', secretArns, v => rotationPattern(ROTATION_SUCCESS_EVENT_NAMES, v), undefined, {}));
    }

    // Alarms.
    this.alarms = [];
    for (const fn of this.watchedRotationFunctions) {
      const group = new Construct(this, `RotationFunction${Names.nodeUniqueId(fn.node)}`);
      this.alarms.push(...rotationFunctionAlarms(group, fn, { runbookUrl: this.runbookUrl, durationThreshold: durationPercent / 100 }));
    }
    if (props.usageAnomalyAlarms ?? true) {
      const usage = [...(this.watchedKeys.length > 0 ? KMS_USAGE : []), ...(this.watchedSecrets.length > 0 ? SECRETS_USAGE : [])];
      const group = new Construct(this, 'UsageSpikes');
      this.alarms.push(...usage.map(u => usageAnomalyAlarm(group, u, { runbookUrl: this.runbookUrl, bandWidth })));
    }
    this.alarms.push(...this.deliveryFailureAlarms());
    const action = new actions.SnsAction(topic);
    this.alarms.forEach(a => a.addAlarmAction(action));

    allowPublishers(topic, this.rules.map(r => r.ruleArn), this.alarms.map(a => a.alarmArn));

    if (props.dashboard) {
      this.dashboard = monitoringDashboard(this, {
        successRules,
        failureRules,
        functions: this.watchedRotationFunctions,
        alarms: this.alarms,
        watchesKeys: this.watchedKeys.length > 0,
        watchesSecrets: this.watchedSecrets.length > 0,
      });
    }

    const watchScope = props.watchScope;
    if (watchScope) {
      const watchedNow: Watched = { keys: this.watchedKeys, secrets: this.watchedSecrets, functions: this.watchedRotationFunctions };
      this.node.addValidation({
        validate: () => {
          const missing = unwatched(watchScope, this, watchedNow);
          return missing.length === 0 ? [] : [propError(OWNER, 'watchScope', `${missing.join(', ')} ${missing.length === 1 ? 'was' : 'were'} added to ${watchScope.node.path} after ${this.node.path} was created, so ${missing.length === 1 ? 'it is' : 'they are'} not watched.`, 'Create the monitoring after every key, secret and rotation it should watch (or pass them in `keys`, `secrets`, `rotationFunctions`).').message];
        },
      });
    }
  }

  /**
   * One rule per group of values that fits in an event pattern. A rule with
   * an alert targets the topic; one without only counts (dashboard).
   */
  private addRules(
    id: string,
    values: ScopedValue[],
    pattern: (v: PatternValue[]) => events.EventPattern,
    alert: AlertKind | undefined,
    fields: Record<string, string>,
  ): events.Rule[] {
    if (values.length === 0) return [];
    const { groups, tooLarge } = chunkByPatternSize(values, g => pattern(g.map(v => v.estimate)));
    if (tooLarge) {
      throw propError(OWNER, 'secrets', `a value of ${id} (${JSON.stringify(Stack.of(this).resolve(tooLarge.value))}) is too long for an EventBridge event pattern.`, 'Give the secret a shorter name.');
    }
    return groups.map((group, i) => {
      const rule = new events.Rule(this, groups.length > 1 ? `${id}${i + 1}` : id, {
        description: alert ? `cdk-kms-secrets ${alert.name}: ${alert.summary}`.slice(0, 512) : `cdk-kms-secrets: counts ${id} events for the dashboard`,
        eventPattern: pattern(group.map(v => v.value)),
      });
      if (alert) {
        rule.addTarget(new AlertTopicTarget(this.topic, alertMessage(this.runbookUrl, alert, fields)));
        this.rules.push(rule);
      }
      return rule;
    });
  }

  /** EventBridge could not deliver to the topic: one alarm per 10 rules (the metric-math limit). */
  private deliveryFailureAlarms(): cloudwatch.Alarm[] {
    const alarms: cloudwatch.Alarm[] = [];
    for (let start = 0; start < this.rules.length; start += 10) {
      const rules = this.rules.slice(start, start + 10);
      const usingMetrics: Record<string, cloudwatch.IMetric> = {};
      rules.forEach((r, i) => {
        usingMetrics[`r${i}`] = new cloudwatch.Metric({
          namespace: 'AWS/Events',
          metricName: 'FailedInvocations',
          dimensionsMap: { RuleName: r.ruleName },
          statistic: cloudwatch.Stats.SUM,
          period: FUNCTION_ALARM_PERIOD,
        });
      });
      const n = start / 10 + 1;
      alarms.push(new cloudwatch.Alarm(this, this.rules.length > 10 ? `AlertDeliveryFailed${n}` : 'AlertDeliveryFailed', {
        metric: new cloudwatch.MathExpression({
          expression: `SUM([${Object.keys(usingMetrics).join(',')}])`,
          usingMetrics,
          period: FUNCTION_ALARM_PERIOD,
          label: 'Failed alert deliveries',
        }),
        threshold: 1,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: alarmDescription(this.runbookUrl, ALERTS.deliveryFailed, `EventBridge failed to publish an alert of ${rules.length} monitoring rule(s) to the alert topic: alerts were lost.`),
      }));
    }
    return alarms;
  }
}

function uniqueByArn<T>(scope: Construct, items: T[], arnOf: (x: T) => string): T[] {
  const stack = Stack.of(scope);
  const seen = new Set<string>();
  return unique(items).filter(item => {
    const key = JSON.stringify(stack.resolve(arnOf(item)));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function dedupeValues(scope: Construct, values: ScopedValue[]): ScopedValue[] {
  const stack = Stack.of(scope);
  const seen = new Set<string>();
  return values.filter(v => {
    const key = JSON.stringify(stack.resolve(v.value));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
