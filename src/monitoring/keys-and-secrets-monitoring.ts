import { Duration, Names, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as config from 'aws-cdk-lib/aws-config';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alertKey, allowPublishers, createAlertTopic, principalArns, protectTopic } from './alert-topic';
import { ALERTS, AlertKind, alarmDescription, DEFAULT_RUNBOOK_URL } from './alerts';
import { monitoringDashboard } from './dashboard';
import { DeadLetters, deadLetterQueues } from './dead-letters';
import { discover, unique, unwatched, Watched, withDependents } from './discovery';
import {
  alarmsTamperPattern, KEY_TAMPER_EVENT_NAMES, keyChangePattern, kmsEventsPattern, kmsPattern, queuesTamperPattern, ROTATION_FAILURE_EVENT_NAMES,
  ROTATION_SUCCESS_EVENT_NAMES, rotationOverduePattern, rotationPattern, rulesTamperPattern, secretCallPattern, secretChangePattern,
  secretKeyChangePattern, secretValueChangePattern, topicsTamperPattern,
} from './event-patterns';
import { FUNCTION_ALARM_PERIOD, rotationFunctionAlarms } from './rotation-function-alarms';
import { maxDaysSinceRotation, overdueConfigRule } from './rotation-overdue';
import { AlertTopicTarget, alertMessage, MESSAGE_FIELDS } from './rule-target';
import { chunkByPatternSize, keyScope, PatternValue, roleScope, ScopedValue, secretScope, SecretScope } from './scoping';
import { KMS_USAGE, SECRETS_USAGE, usageAnomalyAlarm } from './usage-anomaly-alarms';
import {
  assertKeysAreKeys, assertNoDuplicates, assertSameRegion, OWNER, validateDays, validateEmails, validateHttpsEndpoints,
  validateNumber, validateRunbookUrl,
} from './validation';
import { propError } from '../errors';
import { CustomerManagedKey } from '../keys/customer-managed-key';
import { ManagedSecret } from '../secrets/managed-secret';

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
   * The default shares the stack's key with its secrets: an administrator
   * who disables that key also stops delivery of the alert that reports it,
   * which then reaches you only through the failure alarms' OpsItems
   * (`failureOpsItems`) or a `failureTopic` on another key; pass a key of
   * its own here to keep the alert path apart.
   *
   * @default - the stack's default key, `CustomerManagedKey.forStack(this)`
   */
  readonly encryptionKey?: CustomerManagedKey;

  /**
   * The principals that may change the alert topic: subscribe to it, change
   * or delete it, its permissions or its subscriptions. The topic policy
   * denies those calls to everyone else, whatever their IAM policies allow,
   * except the CloudFormation execution role of the CDK bootstrap
   * (deployments of this stack).
   *
   * @default - the administrators of `encryptionKey` (`roles.administrators`); when it names none (a new key names none), only deployments
   */
  readonly topicAdministrators?: iam.IPrincipal[];

  /**
   * A second topic for the alerts that say alerts are failing
   * (`AlertDeliveryFailed`, `AlertDeadLettered`), so that they do not depend
   * on the alert topic or its key. Give a topic that does not use the alert
   * key (another stack's or account's); its policy and key must let
   * `cloudwatch.amazonaws.com` publish. A `Topic` of this app gets the
   * publish statement added.
   *
   * @default - those alarms notify the alert topic and open an OpsItem (`failureOpsItems`)
   */
  readonly failureTopic?: sns.ITopic;

  /**
   * Whether the alarms that say alerts are failing also open a Systems
   * Manager OpsCenter OpsItem (severity 1, category Security): a path that
   * needs no topic and no key.
   *
   * @default true
   */
  readonly failureOpsItems?: boolean;

  /**
   * Regions of replicas of the watched keys and secrets. A
   * `KeysAndSecretsReplicaMonitoring` in each forwards the events of its
   * region to an event bus of this monitoring, whose rule alerts on the
   * topic.
   *
   * @default - no replica regions
   */
  readonly replicaRegions?: string[];

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
 * - EventBridge rules on CloudTrail events, for every KMS and Secrets
 *   Manager management action on a watched key or secret (the coverage of
 *   each action, or the reason it is not watched, is data in
 *   `coverage.ts`); values written by anyone but the secret's rotation
 *   role; a rotation failed or abandoned.
 * - Self-protection: rules on calls that disable, delete or re-target its
 *   rules, delete or silence its alarms, or change its topic,
 *   subscriptions, dead-letter queues or key. The topic policy denies those
 *   changes to all but `topicAdministrators` and deployments, and publishing
 *   to all but its own rules and alarms.
 * - A dead-letter queue on every target and subscription, with alarms that
 *   also open an OpsItem and notify an optional `failureTopic`.
 * - Events of replica regions, forwarded by `KeysAndSecretsReplicaMonitoring`.
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
  /** The dead-letter queue of every rule target and topic subscription. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The event bus that receives the events of replica regions, when `replicaRegions` is set. */
  public readonly replicaEventBus?: events.EventBus;
  /** The replica regions this monitoring receives events from. */
  public readonly replicaRegions: string[];
  /**
   * The prefix of the names of this monitoring's rules, alarms and queues;
   * the self-protection rules match calls on names with it.
   */
  public readonly namePrefix: string;
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

  /** Where the runbooks are (`runbookUrl`). */
  public readonly runbookUrl: string;
  private readonly deadLetters: DeadLetters;
  /** Rule -> its literal name. */
  private readonly ruleNames = new Map<events.Rule, string>();

  /**
   * @param scope the construct the monitoring belongs to.
   * @param id the monitoring's construct ID, unique within `scope`.
   * @param props what to watch (`watchScope`, `keys`, `secrets`, `rotationFunctions`) and where alerts go.
   */
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

    this.replicaRegions = props.replicaRegions ?? [];
    validateReplicaRegions(this, this.replicaRegions);
    this.namePrefix = Names.uniqueResourceName(this, { maxLength: 36, separator: '-' });
    const key = alertKey(this, props.encryptionKey);
    this.deadLetters = deadLetterQueues(this, key, this.namePrefix);
    this.deadLetterQueue = this.deadLetters.queue;
    const { topic } = createAlertTopic(this, key, { emails, httpsEndpoints, deadLetterQueue: this.deadLetterQueue });
    this.topic = topic;
    this.encryptionKey = key;

    // Event rules.
    this.rules = [];
    const successRules: events.Rule[] = [];
    const failureRules: events.Rule[] = [];
    const keys = dedupeValues(this, this.watchedKeys.map(keyScope));
    this.addRules('KmsKeyChange', keys, keyChangePattern, ALERTS.keyChange, MESSAGE_FIELDS.kmsCall);
    this.addRules('KmsKeyConfigChange', keys, v => kmsPattern(ALERTS.kmsKeyConfigChange, v), ALERTS.kmsKeyConfigChange, MESSAGE_FIELDS.kmsCall);
    this.addRules('KmsAliasChange', keys, v => kmsPattern(ALERTS.kmsAliasChange, v), ALERTS.kmsAliasChange, MESSAGE_FIELDS.kmsCall);
    this.addRules('KmsMultiRegionChange', keys, v => kmsPattern(ALERTS.kmsMultiRegionChange, v), ALERTS.kmsMultiRegionChange, MESSAGE_FIELDS.kmsCall);
    this.addRules('KmsTagChange', keys, v => kmsPattern(ALERTS.kmsTagChange, v), ALERTS.kmsTagChange, MESSAGE_FIELDS.kmsCall);

    const secretScopes = this.watchedSecrets.map(s => secretScope(this, s));
    const secretIds = dedupeValues(this, secretScopes.flatMap(s => s.secretId));
    const secretArns = dedupeValues(this, secretScopes.flatMap(s => s.fullArn));
    this.addRules('SecretChange', secretIds, secretChangePattern, ALERTS.secretChange, MESSAGE_FIELDS.secretCall);
    this.addRules('SecretKeyChange', secretIds, secretKeyChangePattern, ALERTS.secretKeyChange, MESSAGE_FIELDS.secretCall);
    this.addRules('SecretRotationChange', secretIds, v => secretCallPattern(ALERTS.secretRotationChange, v), ALERTS.secretRotationChange, MESSAGE_FIELDS.secretCall);
    this.addRules('SecretReplicationChange', secretIds, v => secretCallPattern(ALERTS.secretReplicationChange, v), ALERTS.secretReplicationChange, MESSAGE_FIELDS.secretCall);
    this.addRules('SecretConfigChange', secretIds, v => secretCallPattern(ALERTS.secretConfigChange, v), ALERTS.secretConfigChange, MESSAGE_FIELDS.secretCall);
    // Values written by anyone but the secret's own rotation function: one
    // group of rules per rotation role, so a function rotating one secret
    // cannot write another unnoticed.
    const byRotationRole = groupByRotationRole(this, this.watchedSecrets, secretScopes);
    byRotationRole.forEach(({ role, scopes }, i) => {
      const ids = dedupeValues(this, scopes.flatMap(sc => sc.secretId));
      const roles = role ? [roleScope(role)] : [];
      // Groups are lettered (A, B, ... Z, AA, ...), so that a split group's number cannot be mistaken for another group.
      const group = byRotationRole.length > 1 ? String.fromCharCode(65 + (i % 26)).repeat(Math.floor(i / 26) + 1) : '';
      this.addRules(`SecretValueChange${group}`, ids, v => secretValueChangePattern(v, roles.map(r => r.value)),
        ALERTS.secretValueChange, MESSAGE_FIELDS.secretCall, v => secretValueChangePattern(v, roles.map(r => r.estimate)));
    });
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

    // Replica regions: their events arrive on a bus of this monitoring.
    if (this.replicaRegions.length > 0) {
      this.replicaEventBus = new events.EventBus(this, 'ReplicaEvents', { eventBusName: `${this.namePrefix}-replicas` });
      const rule = this.namedRule('ReplicaRegionEvents', {
        description: `cdk-kms-secrets ${ALERTS.replicaRegionEvent.name}: ${ALERTS.replicaRegionEvent.summary}`.slice(0, 512),
        eventBus: this.replicaEventBus,
        eventPattern: { account: [Stack.of(this).account], region: this.replicaRegions },
      });
      this.targetTopic(rule, ALERTS.replicaRegionEvent, MESSAGE_FIELDS.replica);
    }

    // Self-protection: calls on the monitoring's own rules, alarms, topic,
    // queues and key. Names are literal and share `namePrefix`, so these
    // rules watch themselves too.
    const prefix = { prefix: `${this.namePrefix}-` };
    this.tamperRule('TamperRules', rulesTamperPattern([prefix]));
    this.tamperRule('TamperAlarms', alarmsTamperPattern([prefix]));
    this.tamperRule('TamperTopic', topicsTamperPattern([topicArnFor(this)]));
    this.tamperRule('TamperQueues', queuesTamperPattern(this.deadLetters.queueNames.map(n => ({ suffix: `/${Stack.of(this).account}/${n}` }))));
    this.tamperRule('TamperKey', kmsEventsPattern(KEY_TAMPER_EVENT_NAMES, [key.keyArn]));

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
    const failureAlarms = [...this.deliveryFailureAlarms(), this.deadLetterAlarm()];
    this.alarms.push(...failureAlarms);
    const action = new actions.SnsAction(topic);
    this.alarms.forEach(a => a.addAlarmAction(action));
    if (props.failureOpsItems ?? true) {
      const opsItem = new actions.SsmAction(actions.OpsItemSeverity.CRITICAL, actions.OpsItemCategory.SECURITY);
      failureAlarms.forEach(a => a.addAlarmAction(opsItem));
    }
    if (props.failureTopic) {
      const failureTopic = props.failureTopic;
      failureAlarms.forEach(a => a.addAlarmAction(new actions.SnsAction(failureTopic)));
      failureTopic.addToResourcePolicy(new iam.PolicyStatement({
        sid: `${this.namePrefix.replace(/[^A-Za-z0-9]/g, '')}FailureAlarmsPublish`,
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [failureTopic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account }, ArnEquals: { 'aws:SourceArn': failureAlarms.map(a => a.alarmArn) } },
      }));
    }
    // Literal alarm names, with the prefix the self-protection rule matches.
    for (const a of this.alarms) {
      (a.node.defaultChild as cloudwatch.CfnAlarm).alarmName = literalName(this.namePrefix, this, a, 255);
    }

    allowPublishers(topic, this.rules.map(r => r.ruleArn), this.alarms.map(a => a.alarmArn));
    const administrators = props.topicAdministrators ?? key.roles.administrators ?? [];
    protectTopic(topic, {
      administratorArns: principalArns(administrators, p => propError(OWNER, 'topicAdministrators', `${JSON.stringify(Stack.of(this).resolve(p.policyFragment.principalJson))} is not an IAM principal with an ARN (a role, a user or an account).`, 'Name IAM roles or users (or ArnPrincipals) as administrators of the topic.')),
      publisherArns: [...this.rules.map(r => r.ruleArn), ...this.alarms.map(a => a.alarmArn)],
    });

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
      // The alert key (the stack's default key when none is given, perhaps created here) is watched by TamperKey.
      const watchedNow: Watched = { keys: [...this.watchedKeys, key], secrets: this.watchedSecrets, functions: this.watchedRotationFunctions };
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
   * `estimate` renders a group's pattern for the size estimate, when
   * `pattern` has other values to estimate.
   */
  private addRules(
    id: string,
    values: ScopedValue[],
    pattern: (v: PatternValue[]) => events.EventPattern,
    alert: AlertKind | undefined,
    fields: Record<string, string>,
    estimate: (v: PatternValue[]) => events.EventPattern = pattern,
  ): events.Rule[] {
    if (values.length === 0) return [];
    const { groups, tooLarge } = chunkByPatternSize(values, g => estimate(g.map(v => v.estimate)));
    if (tooLarge) {
      throw propError(OWNER, 'secrets', `a value of ${id} (${JSON.stringify(Stack.of(this).resolve(tooLarge.value))}) is too long for an EventBridge event pattern.`, 'Give the secret a shorter name.');
    }
    return groups.map((group, i) => {
      const rule = this.namedRule(groups.length > 1 ? `${id}${i + 1}` : id, {
        description: alert ? `cdk-kms-secrets ${alert.name}: ${alert.summary}`.slice(0, 512) : `cdk-kms-secrets: counts ${id} events for the dashboard`,
        eventPattern: pattern(group.map(v => v.value)),
      });
      if (alert) this.targetTopic(rule, alert, fields);
      return rule;
    });
  }

  /** A rule with a literal name that starts with `namePrefix`. */
  private namedRule(id: string, props: events.RuleProps): events.Rule {
    const rule = new events.Rule(this, id, props);
    const name = literalName(this.namePrefix, this, rule, 64);
    (rule.node.defaultChild as events.CfnRule).name = name;
    this.ruleNames.set(rule, name);
    return rule;
  }

  /** Sends the rule's events to the topic as `alert`, with the dead-letter queue. */
  private targetTopic(rule: events.Rule, alert: AlertKind, fields: Record<string, string>): void {
    rule.addTarget(new AlertTopicTarget(this.topic, alertMessage(this.runbookUrl, alert, fields), this.deadLetterQueue));
    this.rules.push(rule);
  }

  private tamperRule(id: string, eventPattern: events.EventPattern): void {
    const rule = this.namedRule(id, {
      description: `cdk-kms-secrets ${ALERTS.monitoringTampered.name}: ${ALERTS.monitoringTampered.summary}`.slice(0, 512),
      eventPattern,
    });
    this.targetTopic(rule, ALERTS.monitoringTampered, MESSAGE_FIELDS.tamper);
  }

  /**
   * EventBridge could not deliver to the topic, or not even to the
   * dead-letter queue: one alarm per 5 rules (two metrics each; 10 metrics
   * is the metric-math limit).
   */
  private deliveryFailureAlarms(): cloudwatch.Alarm[] {
    const alarms: cloudwatch.Alarm[] = [];
    const perAlarm = 5;
    for (let start = 0; start < this.rules.length; start += perAlarm) {
      const rules = this.rules.slice(start, start + perAlarm);
      const usingMetrics: Record<string, cloudwatch.IMetric> = {};
      rules.forEach((r, i) => {
        const metric = (metricName: string) => new cloudwatch.Metric({
          namespace: 'AWS/Events',
          metricName,
          dimensionsMap: { RuleName: this.ruleNames.get(r)! },
          statistic: cloudwatch.Stats.SUM,
          period: FUNCTION_ALARM_PERIOD,
        });
        usingMetrics[`r${i}`] = metric('FailedInvocations');
        usingMetrics[`d${i}`] = metric('InvocationsFailedToBeSentToDlq');
      });
      const n = start / perAlarm + 1;
      alarms.push(new cloudwatch.Alarm(this, this.rules.length > perAlarm ? `AlertDeliveryFailed${n}` : 'AlertDeliveryFailed', {
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
        alarmDescription: alarmDescription(this.runbookUrl, ALERTS.deliveryFailed, `EventBridge failed to publish an alert of ${rules.length} monitoring rule(s) to the alert topic (the alerts are in the dead-letter queue ${this.deadLetters.queueNames[0]}, unless InvocationsFailedToBeSentToDlq counted too: then they were lost).`),
      }));
    }
    return alarms;
  }

  /** Any message in the dead-letter queue or its archive. */
  private deadLetterAlarm(): cloudwatch.Alarm {
    const depth = (q: sqs.Queue) => q.metricApproximateNumberOfMessagesVisible({
      period: FUNCTION_ALARM_PERIOD, statistic: cloudwatch.Stats.MAXIMUM,
    });
    return new cloudwatch.Alarm(this, 'AlertDeadLettered', {
      metric: new cloudwatch.MathExpression({
        expression: 'SUM([queue, archive])',
        usingMetrics: { queue: depth(this.deadLetters.queue), archive: depth(this.deadLetters.archive) },
        period: FUNCTION_ALARM_PERIOD,
        label: 'Undelivered alerts',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: alarmDescription(this.runbookUrl, ALERTS.deadLettered, `Alerts are waiting in the dead-letter queue ${this.deadLetters.queueNames[0]} (or its archive): they were not delivered to the topic or to a subscriber.`),
    });
  }
}

/**
 * A literal physical name: `<prefix>-<path below the monitoring>`, at most
 * `max` characters (longer ones keep the prefix and end in a hash).
 */
function literalName(prefix: string, monitoring: Construct, c: Construct, max: number): string {
  const below = c.node.scopes.slice(monitoring.node.scopes.length).map(s => s.node.id).join('-').replace(/[^A-Za-z0-9_.-]/g, '');
  const name = `${prefix}-${below}`;
  if (name.length <= max) return name;
  return `${prefix}-${Names.uniqueResourceName(c, { maxLength: max - prefix.length - 1, separator: '-' })}`;
}

function topicArnFor(monitoring: KeysAndSecretsMonitoring): string {
  return monitoring.topic.topicArn;
}

/**
 * The watched secrets grouped by the role of their rotation function (a
 * `ManagedSecret`'s `rotatedBy`), in order of first appearance; secrets
 * without a known rotation function form a group without a role.
 */
interface RotationRoleGroup {
  readonly role?: iam.IRole;
  readonly scopes: SecretScope[];
}

function groupByRotationRole(scope: Construct, secrets: secretsmanager.ISecret[], scopes: SecretScope[]): RotationRoleGroup[] {
  const stack = Stack.of(scope);
  const groups = new Map<string, RotationRoleGroup>();
  secrets.forEach((s, i) => {
    const role = s instanceof ManagedSecret ? s.rotatedBy?.role : undefined;
    const key = role ? JSON.stringify(stack.resolve(role.roleArn)) : '';
    const group = groups.get(key) ?? { role, scopes: [] };
    group.scopes.push(scopes[i]);
    groups.set(key, group);
  });
  return [...groups.values()];
}

function validateReplicaRegions(scope: Construct, regions: string[]): void {
  const region = Stack.of(scope).region;
  const seen = new Set<string>();
  for (const r of regions) {
    if (Token.isUnresolved(r) || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(r)) {
      throw propError(OWNER, 'replicaRegions', `'${r}' is not a region name.`, 'Give region names such as us-east-1.');
    }
    if (r === region) {
      throw propError(OWNER, 'replicaRegions', `lists ${r}, the region of this monitoring, which watches it already.`, 'List only the other regions the keys and secrets are replicated to.');
    }
    if (seen.has(r)) throw propError(OWNER, 'replicaRegions', `lists ${r} twice.`, 'List each region once.');
    seen.add(r);
  }
  if (regions.length > 0 && Token.isUnresolved(region)) {
    throw propError(OWNER, 'replicaRegions', 'needs a stack with a known region (env.region).', 'Give the stack an `env` with the region, so replica regions can forward events to it.');
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
