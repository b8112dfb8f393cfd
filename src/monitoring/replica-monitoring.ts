import { Names, Stack, Token, TokenComparison } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ALERTS, alarmDescription } from './alerts';
import { deadLetterQueues } from './dead-letters';
import {
  alarmsTamperPattern, KEY_TAMPER_EVENT_NAMES, kmsEventsPattern, kmsPattern, queuesTamperPattern, rulesTamperPattern, secretCallPattern,
  secretKeyChangePattern, secretValueChangePattern,
} from './event-patterns';
import { KeysAndSecretsMonitoring } from './keys-and-secrets-monitoring';
import { FUNCTION_ALARM_PERIOD } from './rotation-function-alarms';
import { chunkByPatternSize, keyScope, PatternValue, ScopedValue, secretScope } from './scoping';
import { assertKeysAreKeys } from './validation';
import { propError } from '../errors';
import { CustomerManagedKey } from '../keys/customer-managed-key';

const OWNER = 'KeysAndSecretsReplicaMonitoring';

/** Properties of `KeysAndSecretsReplicaMonitoring`. */
export interface KeysAndSecretsReplicaMonitoringProps {
  /**
   * The monitoring in the primary region. Its `replicaRegions` must list
   * the region of this construct's stack.
   */
  readonly primary: KeysAndSecretsMonitoring;

  /**
   * The replica keys in this region (a `CustomerManagedKeyReplica`, or a
   * replica imported with `kms.Key.fromKeyArn`).
   *
   * @default - none
   */
  readonly keys?: kms.IKey[];

  /**
   * The replica secrets in this region, imported by their ARN in this region
   * (`secretsmanager.Secret.fromSecretCompleteArn`).
   *
   * @default - none
   */
  readonly secrets?: secretsmanager.ISecret[];

  /**
   * The key that encrypts this region's dead-letter queue.
   *
   * @default - the stack's default key, `CustomerManagedKey.forStack(this)`
   */
  readonly encryptionKey?: CustomerManagedKey;

  /**
   * Whether this region's alarms (events that could not be forwarded,
   * dead letters) open a Systems Manager OpsItem. An alarm cannot notify a
   * topic of another region.
   *
   * @default true
   */
  readonly failureOpsItems?: boolean;
}

/**
 * The rules of `KeysAndSecretsMonitoring` for the replicas of a region:
 * EventBridge sees only its own region, so a replica key or secret needs its
 * rules where it lives. Each rule forwards the events it matches to the
 * primary monitoring's event bus (a cross-region event bus target, with a
 * role allowed `events:PutEvents` on that bus only), where one rule sends
 * them to the alert topic as `ReplicaRegionEvent`.
 *
 * Every target has an encrypted dead-letter queue in this region; alarms on
 * failed forwards and on the queue's depth open an OpsItem here. Rules on
 * calls to this construct's rules, alarms, queues and key forward too.
 *
 * @example
 * // In a stack of us-east-1, with the primary monitoring in eu-west-1
 * // created with `replicaRegions: ['us-east-1']`:
 * new KeysAndSecretsReplicaMonitoring(this, 'ReplicaMonitoring', {
 *   primary: monitoring,
 *   keys: [replicaKey],
 *   secrets: [secretsmanager.Secret.fromSecretCompleteArn(this, 'Replica', replicaArn)],
 * });
 */
export class KeysAndSecretsReplicaMonitoring extends Construct {
  /** The rules that forward this region's events. */
  public readonly rules: events.Rule[] = [];
  /** The alarms of this region. */
  public readonly alarms: cloudwatch.Alarm[] = [];
  /** The dead-letter queue of every forwarding target. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The key that encrypts the dead-letter queue. */
  public readonly encryptionKey: CustomerManagedKey;
  /** The prefix of the names of this construct's rules, alarms and queues. */
  public readonly namePrefix: string;

  private readonly target: events.IRuleTarget;
  private readonly ruleNames = new Map<events.Rule, string>();

  /**
   * @param scope the construct the replica monitoring belongs to, in the replica's region.
   * @param id the replica monitoring's construct ID, unique within `scope`.
   * @param props the primary monitoring, and the replica keys and secrets to watch.
   */
  constructor(scope: Construct, id: string, props: KeysAndSecretsReplicaMonitoringProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const primaryStack = Stack.of(props.primary);
    const region = stack.region;
    if (Token.isUnresolved(region) || Token.isUnresolved(primaryStack.region)) {
      throw propError(OWNER, 'primary', 'needs stacks with known regions (env.region), here and for the primary monitoring.', 'Give both stacks an `env` with the region.');
    }
    if (!props.primary.replicaRegions.includes(region) || !props.primary.replicaEventBus) {
      throw propError(OWNER, 'primary', `${props.primary.node.path} does not list ${region} in its replicaRegions, so nothing would receive the events of this region.`, `Add '${region}' to the \`replicaRegions\` of the primary KeysAndSecretsMonitoring.`);
    }
    if (Token.compareStrings(stack.account, primaryStack.account) === TokenComparison.DIFFERENT) {
      throw propError(OWNER, 'primary', `is in account ${primaryStack.account}, this stack in ${stack.account}.`, 'Create the replica monitoring in the account of the primary monitoring.');
    }
    const keys = props.keys ?? [];
    const secrets = props.secrets ?? [];
    assertKeysAreKeys(keys);
    if (keys.length + secrets.length === 0) {
      throw propError(OWNER, 'keys', 'nothing to watch: no `keys` or `secrets` were given.', 'Pass the replica keys and secrets of this region.');
    }

    this.namePrefix = Names.uniqueResourceName(this, { maxLength: 36, separator: '-' });
    this.encryptionKey = props.encryptionKey ?? CustomerManagedKey.forStack(this);
    const deadLetters = deadLetterQueues(this, this.encryptionKey, this.namePrefix, ['events.amazonaws.com']);
    this.deadLetterQueue = deadLetters.queue;

    // The primary's bus, by its literal ARN: no cross-region reference.
    const busArn = stack.formatArn({ service: 'events', region: primaryStack.region, account: primaryStack.account, resource: 'event-bus', resourceName: `${props.primary.namePrefix}-replicas` });
    // One role for every rule, its permission in a managed policy: PutEvents on that bus only.
    const role = new iam.Role(this, 'ForwardRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: `Forwards the events of ${region} matched by ${this.node.path} to the primary monitoring's event bus`,
      managedPolicies: [new iam.ManagedPolicy(this, 'ForwardPolicy', {
        description: 'PutEvents on the primary monitoring\'s replica event bus only',
        statements: [new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [busArn] })],
      })],
    });
    this.target = new ForwardTarget(busArn, role, this.deadLetterQueue);

    const keyValues = keys.map(keyScope);
    for (const alert of [ALERTS.keyChange, ALERTS.kmsKeyConfigChange, ALERTS.kmsAliasChange, ALERTS.kmsMultiRegionChange, ALERTS.kmsTagChange]) {
      this.forward(alert.name, keyValues, v => kmsPattern(alert, v));
    }
    const secretIds = secrets.flatMap(s => secretScope(this, s).secretId);
    for (const alert of [ALERTS.secretChange, ALERTS.secretRotationChange, ALERTS.secretReplicationChange, ALERTS.secretConfigChange]) {
      this.forward(alert.name, secretIds, v => secretCallPattern(alert, v));
    }
    this.forward(ALERTS.secretKeyChange.name, secretIds, secretKeyChangePattern);
    // A replica is read-only: any value written to it is worth an alert.
    this.forward(ALERTS.secretValueChange.name, secretIds, v => secretValueChangePattern(v, []));

    const prefix = { prefix: `${this.namePrefix}-` };
    this.forwardOne('TamperRules', rulesTamperPattern([prefix]));
    this.forwardOne('TamperAlarms', alarmsTamperPattern([prefix]));
    this.forwardOne('TamperQueues', queuesTamperPattern(deadLetters.queueNames.map(n => ({ suffix: `/${stack.account}/${n}` }))));
    this.forwardOne('TamperKey', kmsEventsPattern(KEY_TAMPER_EVENT_NAMES, [this.encryptionKey.keyArn]));

    const runbookUrl = props.primary.runbookUrl;
    this.alarms.push(this.deadLetterAlarm(deadLetters.queue, deadLetters.archive, runbookUrl), ...this.forwardingFailedAlarms(runbookUrl));
    if (props.failureOpsItems ?? true) {
      const opsItem = new actions.SsmAction(actions.OpsItemSeverity.CRITICAL, actions.OpsItemCategory.SECURITY);
      this.alarms.forEach(a => a.addAlarmAction(opsItem));
    }
    for (const a of this.alarms) (a.node.defaultChild as cloudwatch.CfnAlarm).alarmName = `${this.namePrefix}-${a.node.id}`;
  }

  private forward(id: string, values: ScopedValue[], pattern: (v: PatternValue[]) => events.EventPattern): void {
    if (values.length === 0) return;
    const { groups, tooLarge } = chunkByPatternSize(values, g => pattern(g.map(v => v.estimate)));
    if (tooLarge) throw propError(OWNER, 'secrets', `a value of ${id} is too long for an EventBridge event pattern.`, 'Give the secret a shorter name.');
    groups.forEach((g, i) => this.forwardOne(groups.length > 1 ? `${id}${i + 1}` : id, pattern(g.map(v => v.value))));
  }

  private forwardOne(id: string, eventPattern: events.EventPattern): void {
    const rule = new events.Rule(this, id, { description: `cdk-kms-secrets ${ALERTS.replicaRegionEvent.name}: forwards ${id} events to the primary region`, eventPattern });
    const name = `${this.namePrefix}-${id}`.slice(0, 64);
    (rule.node.defaultChild as events.CfnRule).name = name;
    this.ruleNames.set(rule, name);
    rule.addTarget(this.target);
    this.rules.push(rule);
  }

  /** Events waiting in the dead-letter queue or its archive. */
  private deadLetterAlarm(queue: sqs.Queue, archive: sqs.Queue, runbookUrl: string): cloudwatch.Alarm {
    const depth = (q: sqs.Queue) => q.metricApproximateNumberOfMessagesVisible({
      period: FUNCTION_ALARM_PERIOD, statistic: cloudwatch.Stats.MAXIMUM,
    });
    return new cloudwatch.Alarm(this, 'DeadLettered', {
      metric: new cloudwatch.MathExpression({ expression: 'SUM([queue, archive])', usingMetrics: { queue: depth(queue), archive: depth(archive) }, period: FUNCTION_ALARM_PERIOD, label: 'Events not forwarded' }),
      ...ONE_IN_FIVE_MINUTES,
      alarmDescription: alarmDescription(runbookUrl, ALERTS.deadLettered, `Events of ${Stack.of(this).region} could not be forwarded to the primary region and wait in ${queue.node.path}.`),
    });
  }

  /** Forwards that failed even to the dead-letter queue: up to 10 rules per alarm. */
  private forwardingFailedAlarms(runbookUrl: string): cloudwatch.Alarm[] {
    const alarms: cloudwatch.Alarm[] = [];
    for (let start = 0; start < this.rules.length; start += 10) {
      const usingMetrics: Record<string, cloudwatch.IMetric> = {};
      this.rules.slice(start, start + 10).forEach((r, i) => {
        usingMetrics[`d${i}`] = new cloudwatch.Metric({
          namespace: 'AWS/Events',
          metricName: 'InvocationsFailedToBeSentToDlq',
          dimensionsMap: { RuleName: this.ruleNames.get(r)! },
          statistic: cloudwatch.Stats.SUM,
          period: FUNCTION_ALARM_PERIOD,
        });
      });
      alarms.push(new cloudwatch.Alarm(this, this.rules.length > 10 ? `ForwardingFailed${start / 10 + 1}` : 'ForwardingFailed', {
        metric: new cloudwatch.MathExpression({ expression: `SUM([${Object.keys(usingMetrics).join(',')}])`, usingMetrics, period: FUNCTION_ALARM_PERIOD, label: 'Events lost' }),
        ...ONE_IN_FIVE_MINUTES,
        alarmDescription: alarmDescription(runbookUrl, ALERTS.deliveryFailed, `EventBridge in ${Stack.of(this).region} could not forward events to the primary region, nor put them in the dead-letter queue: they were lost.`),
      }));
    }
    return alarms;
  }
}

/** The primary's bus as a target, with one shared role (no inline policy) and the dead-letter queue. */
class ForwardTarget implements events.IRuleTarget {
  constructor(private readonly busArn: string, private readonly role: iam.IRole, private readonly deadLetterQueue: sqs.IQueue) {}

  public bind(rule: events.IRule): events.RuleTargetConfig {
    targets.addToDeadLetterQueueResourcePolicy(rule, this.deadLetterQueue);
    return { arn: this.busArn, role: this.role, deadLetterConfig: { arn: this.deadLetterQueue.queueArn } };
  }
}

const ONE_IN_FIVE_MINUTES = {
  threshold: 1,
  evaluationPeriods: 1,
  datapointsToAlarm: 1,
  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
  treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
};
