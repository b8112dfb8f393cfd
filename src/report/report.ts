import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { attachCustomSynthesis, ISynthesisSession, Stage } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';
import { buildAccessMap, AccessMap, OURS } from './access-map';
import { CostEstimate, estimateCost, num, usd } from './cost';
import { buildGraph, renderSvg, toDot, toMermaid } from './diagram';
import { AppModel, buildModel } from './model';
import { PRICES, PriceTable } from './prices';
import { propError } from '../errors';
import { CustomerManagedKey } from '../keys/customer-managed-key';
import { ManagedSecret } from '../secrets/managed-secret';

/** Prices to use instead of the built-in table (US dollars). */
export interface KeysAndSecretsPrices {
  /** A KMS key or replica key, per month. @default 1 */
  readonly kmsKeyPerMonth?: number;
  /** Added per month by each of the first two rotations of a key. @default 1 */
  readonly kmsRotationSurchargePerMonth?: number;
  /** KMS requests, per 10,000. @default 0.03 */
  readonly kmsRequestsPer10k?: number;
  /** KMS free requests per month. @default 20000 */
  readonly kmsFreeRequestsPerMonth?: number;
  /** A secret or replica secret, per month. @default 0.4 */
  readonly secretPerMonth?: number;
  /** Secrets Manager API calls, per 10,000. @default 0.05 */
  readonly secretsManagerCallsPer10k?: number;
  /** Lambda requests, per million. @default 0.2 */
  readonly lambdaRequestsPerMillion?: number;
  /** Lambda compute, per GB-second. @default 0.0000166667 */
  readonly lambdaGbSecond?: number;
  /** The date of the prices given here (shown in the report). @default - the built-in table's date */
  readonly asOf?: string;
}

/** Options of `KeysAndSecretsReport`. */
export interface KeysAndSecretsReportProps {
  /** The file names, without extension, written into the cloud assembly. @default 'keys-and-secrets' */
  readonly fileName?: string;
  /** Print a short summary to stderr at synth. @default true */
  readonly printSummary?: boolean;
  /**
   * Also render the diagram to SVG with Graphviz (@viz-js/viz), in a child
   * Node process (the library only loads asynchronously). Off by default:
   * the child process costs about twice the synth time of a 150-secret stack.
   * The Markdown always carries the diagram as Mermaid.
   * @default false
   */
  readonly renderSvg?: boolean;
  /** Requests per second a Lambda reader without a cache serves (each reads the secret). @default 1 */
  readonly readerRequestsPerSecond?: number;
  /** Concurrent execution environments per Lambda reader (each has its own cache). @default - the function's reserved concurrency, else 1 */
  readonly readerEnvironments?: number;
  /** Envelope-encryption operations a month (one data-key call each). @default 0 */
  readonly envelopeOperationsPerMonth?: number;
  /** The rotation period your policy requires, in days: a secret rotated more often is flagged. @default 90 */
  readonly requiredRotationDays?: number;
  /** Prices to use instead of the built-in table. @default - the built-in table (src/report/prices.ts) */
  readonly prices?: KeysAndSecretsPrices;
}

/**
 * At synth, writes `keys-and-secrets.json` and `keys-and-secrets.md` (with a
 * Mermaid diagram), and with `renderSvg` `keys-and-secrets.svg`, into the
 * cloud assembly beside the templates, and prints a short summary: who can do what with every KMS
 * key and Secrets Manager secret of the app, and what they cost per month.
 *
 * Add it once, to the app: `new KeysAndSecretsReport(app, 'KeysAndSecretsReport')`.
 *
 * Why a construct and not an Aspect or a validation plugin: the report is
 * derived from the synthesized templates, which do not exist yet when
 * Aspects run (they see unresolved tokens, before the stacks are prepared);
 * a policy-validation plugin does see the templates, but it may not write
 * into the cloud assembly (CDK fails synth if one does) and does not see the
 * construct tree, so it could not name principals by construct path. A
 * construct on the app hooks the app's own synthesis step, which runs after
 * every stack of the tree has written its template.
 */
export class KeysAndSecretsReport extends Construct {
  private readonly props: KeysAndSecretsReportProps;
  /** The last report written, for tests and tools. @internal */
  public _last?: { model: AppModel; map: AccessMap; cost: CostEstimate; json: unknown; markdown: string; svgError?: string; millis: number };

  /**
   * @param scope the app (the report reads every stack of it at synthesis).
   * @param id the report's construct ID, unique within `scope`.
   * @param props the cost assumptions, prices and output options.
   */
  constructor(scope: Construct, id: string, props: KeysAndSecretsReportProps = {}) {
    super(scope, id);
    if (scope.node.scope !== undefined && !Stage.isStage(scope)) {
      throw propError('KeysAndSecretsReport', 'scope', `is ${scope.node.path}, not the app.`, 'Create the report on the App: new KeysAndSecretsReport(app, "KeysAndSecretsReport").');
    }
    for (const [prop, v] of Object.entries({ readerRequestsPerSecond: props.readerRequestsPerSecond, readerEnvironments: props.readerEnvironments, envelopeOperationsPerMonth: props.envelopeOperationsPerMonth, requiredRotationDays: props.requiredRotationDays, ...Object.fromEntries(Object.entries(props.prices ?? {}).filter(([k]) => k !== 'asOf').map(([k, x]) => [`prices.${k}`, x])) })) {
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
        throw propError('KeysAndSecretsReport', prop, `is ${String(v)}, not a number >= 0.`, 'Pass a non-negative number.');
      }
    }
    if (props.requiredRotationDays === 0) throw propError('KeysAndSecretsReport', 'requiredRotationDays', 'is 0.', 'Pass the period in days, for example 90.');
    this.props = props;
    const root = scope;
    if ((root as unknown as Record<symbol, unknown>)[Symbol.for('@aws-cdk/core:customSynthesis')] !== undefined) {
      throw propError('KeysAndSecretsReport', 'scope', 'already has a report (or another custom synthesis).', 'Add one KeysAndSecretsReport per app.');
    }
    attachCustomSynthesis(root, { onSynthesize: session => this.write(session) });
  }

  private write(session: ISynthesisSession): void {
    const t0 = Date.now();
    const root = this.node.scope as IConstruct;
    OURS.clear();
    const all = root.node.findAll();
    for (const c of all) {
      if ((c instanceof CustomerManagedKey || c instanceof ManagedSecret) && c.node.defaultChild) OURS.add(c.node.defaultChild.node.path);
    }
    const model = buildModel(root, all);
    const map = buildAccessMap(model);
    const prices: PriceTable = { ...PRICES, ...definedOnly(this.props.prices ?? {}) };
    const cost = estimateCost(model, map, prices, {
      readerRequestsPerSecond: this.props.readerRequestsPerSecond ?? 1,
      readerEnvironments: this.props.readerEnvironments,
      envelopeOperationsPerMonth: this.props.envelopeOperationsPerMonth ?? 0,
      requiredRotationDays: this.props.requiredRotationDays ?? 90,
    });
    const graph = buildGraph(map);
    const mermaid = toMermaid(graph);
    const lack = lacks(map);
    const json = toJson(map, cost, prices, lack);
    const name = this.props.fileName ?? 'keys-and-secrets';
    let svgError: string | undefined;
    const outdir = session.outdir;
    mkdirSync(outdir, { recursive: true });
    if (this.props.renderSvg ?? false) {
      const r = renderSvg(toDot(graph));
      if (r.svg) writeFileSync(join(outdir, `${name}.svg`), r.svg);
      svgError = r.error;
    }
    const markdown = toMarkdown(map, cost, prices, lack, mermaid, this.props.renderSvg ?? false ? `${name}.svg` : undefined, svgError);
    writeFileSync(join(outdir, `${name}.json`), JSON.stringify(json, null, 2) + '\n');
    writeFileSync(join(outdir, `${name}.md`), markdown);
    const millis = Date.now() - t0;
    this._last = { model, map, cost, json, markdown, svgError, millis };
    if (this.props.printSummary ?? true) {
      process.stderr.write(summary(map, cost, join(outdir, name), this.props.renderSvg ?? false, svgError) + '\n');
    }
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

const CANNOT_KNOW = [
  'IAM policies outside this app (roles, users and groups created elsewhere, and AWS managed policies whose documents are not in the templates)',
  'service control policies and resource control policies of AWS Organizations',
  'permission boundaries and session policies',
  "the account's administrators: anyone whose IAM policy allows kms:* or secretsmanager:* where a key or resource policy delegates to the account",
  'grants created at run time (kms:CreateGrant by a service or a principal)',
];

function lacks(map: AccessMap): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const k of map.keys) {
    const l: string[] = [];
    if (!k.ours) l.push('not a CustomerManagedKey: administrators and users are not separated by construction');
    if (!k.rotation) l.push('automatic key rotation is off');
    const rootAll = [k.policy.Statement].flat().some(s => s?.Effect === 'Allow' && [s.Action].flat().some(a => a === 'kms:*') && JSON.stringify(s.Principal ?? '').includes(':root'));
    if (rootAll) l.push('the key policy gives kms:* to an account root: any principal of that account whose IAM policy allows it can use and administer the key');
    out.set(k.arn, l);
  }
  for (const s of map.secrets) {
    const l: string[] = [];
    if (!s.ours) l.push('not a ManagedSecret');
    if (!s.key) l.push(`encrypted with ${s.keyDescription}: its use cannot be limited by a key policy of the app`);
    if (s.rotationDays === undefined) l.push('no rotation schedule');
    if (!s.policy) l.push('no resource policy (nothing denies other accounts or limits readers)');
    out.set(s.arn, l);
  }
  return out;
}

function grouped(map: AccessMap, arn: string) {
  type Row = { principal: string; kind: string; actions: string[]; conditions: Set<string>; through: Set<string>; notUnderstood: string[] };
  const by = new Map<string, Row>();
  for (const e of map.entries.get(arn) ?? []) {
    const x: Row = by.get(e.principal)
      ?? { principal: e.principal, kind: e.kind, actions: [], conditions: new Set<string>(), through: new Set<string>(), notUnderstood: [] };
    if (e.decision === 'Allowed') {
      if (!x.actions.includes(e.action)) x.actions.push(e.action);
      x.conditions.add(e.scenario);
      e.through.forEach(t => x.through.add(t));
    } else {
      x.notUnderstood.push(e.action);
    }
    by.set(e.principal, x);
  }
  return [...by.values()].map(x => ({ ...x, conditions: [...x.conditions], through: [...x.through] }));
}

function keyRoles(map: AccessMap, arn: string) {
  const admin = ['kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey'];
  const entries = map.entries.get(arn) ?? [];
  const names = (pred: (a: string) => boolean) => [...new Set(entries.filter(e => e.decision === 'Allowed' && pred(e.action)).map(e => e.principal))];
  return {
    administrators: names(a => admin.includes(a)),
    users: Object.fromEntries(['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:Sign', 'kms:Verify', 'kms:GenerateMac'].map(a => [a,
      entries.filter(e => e.decision === 'Allowed' && e.action === a).map(e => ({ principal: e.principal, when: e.scenario, through: e.through }))]).filter(([, v]) => (v as unknown[]).length > 0)),
    grantCreators: entries.filter(e => e.decision === 'Allowed' && e.action === 'kms:CreateGrant').map(e => ({ principal: e.principal, when: e.scenario })),
    accounts: [...new Set(entries.filter(e => e.decision === 'Allowed' && e.kind === 'account').map(e => e.principal))],
  };
}

function toJson(map: AccessMap, cost: CostEstimate, prices: PriceTable, lack: Map<string, string[]>): unknown {
  return {
    cannotKnow: CANNOT_KNOW,
    keys: map.keys.map(k => ({
      path: k.path,
      stack: k.stack.name,
      arn: k.arn,
      ours: k.ours,
      rotation: k.rotation,
      rotationDays: k.rotationDays,
      multiRegion: k.multiRegion,
      replicas: k.replicas,
      lacks: lack.get(k.arn),
      notUnderstood: map.refused.get(k.arn) ?? [],
      ...keyRoles(map, k.arn),
      access: grouped(map, k.arn),
    })),
    secrets: map.secrets.map(s => ({
      path: s.path,
      stack: s.stack.name,
      arn: s.arn,
      ours: s.ours,
      key: s.keyDescription,
      rotationDays: s.rotationDays,
      hostedRotation: s.hosted,
      replicas: s.replicas,
      lacks: lack.get(s.arn),
      ...Object.fromEntries(Object.entries({ read: ['secretsmanager:GetSecretValue'], write: ['secretsmanager:PutSecretValue'], rotate: ['secretsmanager:RotateSecret'], delete: ['secretsmanager:DeleteSecret'], changePolicy: ['secretsmanager:PutResourcePolicy', 'secretsmanager:DeleteResourcePolicy'] })
        .map(([what, actions]) => [what, (map.entries.get(s.arn) ?? []).filter(e => e.decision === 'Allowed' && actions.includes(e.action)).map(e => ({ principal: e.principal, when: e.scenario, through: e.through }))])),
      refusedByKey: (map.entries.get(s.arn) ?? []).filter(e => e.action.includes('(')).map(e => ({ principal: e.principal, action: e.action })),
    })),
    principals: map.principals.map(p => ({ name: p.name, kind: p.kind, arn: p.arn, policiesNotInApp: p.unknownPolicies })),
    cost: { prices, ...cost },
  };
}

function toMarkdown(
  map: AccessMap, cost: CostEstimate, prices: PriceTable, lack: Map<string, string[]>,
  mermaid: string, svg: string | undefined, svgError: string | undefined,
): string {
  const out: string[] = ['# Keys and secrets: who can do what, and what it costs', ''];
  out.push('Derived from the synthesized templates of every stack of the app (identity policies of every role, key policies, secret resource policies).', '');
  out.push('**What this map cannot know:**', ...CANNOT_KNOW.map(c => `- ${c}`), '');
  out.push('## Diagram', '', '```mermaid', mermaid, '```', '');
  if (svg && !svgError) out.push(`Rendered by Graphviz: [${svg}](${svg})`, '');
  if (svgError) out.push(`(SVG not rendered: ${svgError})`, '');
  out.push('## Keys', '');
  for (const k of map.keys) {
    const r = keyRoles(map, k.arn);
    out.push(`### 🔑 ${k.path}`, '', `- stack ${k.stack.name}; rotation ${k.rotation ? `every ${k.rotationDays} days` : 'off'}; ${k.multiRegion ? `multi-Region, ${k.replicas} replica(s)` : 'single-Region'}`);
    out.push(`- administrators: ${r.administrators.join('; ') || 'none'}`);
    for (const [action, users] of Object.entries(r.users)) {
      out.push(`- ${action}: ${(users as Array<{ principal: string; when: string; through: string[] }>).map(u => `${u.principal} (${u.when}; ${u.through.join(' + ')})`).join('; ')}`);
    }
    out.push(`- may create grants: ${r.grantCreators.map(g => `${g.principal} (${g.when})`).join('; ') || 'nobody'}`);
    out.push(`- accounts: ${r.accounts.join('; ') || 'none'}`);
    for (const p of map.refused.get(k.arn) ?? []) out.push(`- ⚠ not understood: ${p}`);
    for (const l of lack.get(k.arn) ?? []) out.push(`- lacks: ${l}`);
    out.push('');
  }
  out.push('## Secrets', '', '| Secret | Key | Rotation | Read | Write | Rotate | Delete | Change policy |', '|---|---|---|---|---|---|---|---|');
  for (const s of map.secrets) {
    // The secret's allowed entries by action, in entry order, walked once for the five cells.
    const byAction = new Map<string, string[]>();
    for (const e of map.entries.get(s.arn) ?? []) {
      if (e.decision !== 'Allowed') continue;
      const text = `${e.principal}${e.scenario === 'directly' ? '' : ` (${e.scenario})`} [${e.through.join(' + ')}]`;
      const found = byAction.get(e.action);
      if (found) found.push(text); else byAction.set(e.action, [text]);
    }
    const cell = (actions: string[]) => [...new Set(actions.length === 1 ? byAction.get(actions[0]) ?? []
      : (map.entries.get(s.arn) ?? []).filter(e => e.decision === 'Allowed' && actions.includes(e.action))
        .map(e => `${e.principal}${e.scenario === 'directly' ? '' : ` (${e.scenario})`} [${e.through.join(' + ')}]`))].join('<br>') || '—';
    out.push(`| ${s.path} | ${s.keyDescription} | ${s.rotationDays !== undefined ? `${num(s.rotationDays)} days` : 'none'} | ${cell(['secretsmanager:GetSecretValue'])} | ${cell(['secretsmanager:PutSecretValue'])} | ${cell(['secretsmanager:RotateSecret'])} | ${cell(['secretsmanager:DeleteSecret'])} | ${cell(['secretsmanager:PutResourcePolicy', 'secretsmanager:DeleteResourcePolicy'])} |`);
  }
  out.push('');
  for (const s of map.secrets) for (const l of lack.get(s.arn) ?? []) out.push(`- ${s.path} lacks: ${l}`);
  out.push('', '## Cost per month', '', `Prices as of ${prices.asOf} (${prices.currency}): ${prices.verification}; sources: ${prices.sources.join('; ')}.`, '');
  out.push('| Item | Quantity | Per month | Computation |', '|---|---:|---:|---|');
  for (const l of cost.lines) out.push(`| ${l.item} | ${num(l.quantity)} ${l.unit} | ${usd(l.monthly)} | ${l.computation} |`);
  out.push('', `- **Total, month 1: ${usd(cost.totalMonthOne)}** (${usd(cost.perSecret)} per secret)`, `- after every key's charged rotations: ${usd(cost.totalSteadyState)}`, `- after the KMS and Lambda free tiers (if nothing else in the account uses them): ${usd(cost.totalAfterFreeTier)}`, '');
  out.push('## Waste', '', ...(cost.waste.length > 0 ? cost.waste.map(w => `- ${w}`) : ['- none found']), '');
  return out.join('\n');
}

function summary(map: AccessMap, cost: CostEstimate, base: string, svg: boolean, svgError: string | undefined): string {
  const allowed = [...map.entries.values()].flat().filter(e => e.decision === 'Allowed').length;
  const unknown = [...map.entries.values()].flat().filter(e => e.decision === 'NotUnderstood').length;
  return [
    `[cdk-kms-secrets] keys and secrets report: ${map.keys.length} key(s), ${map.secrets.length} secret(s), ${map.principals.length} principal(s), ${allowed} allowed access(es)${unknown ? `, ${unknown} not understood` : ''}.`,
    `  cost: ${usd(cost.totalMonthOne)}/month in month 1 (${usd(cost.perSecret)} per secret), ${usd(cost.totalSteadyState)} after key rotations, ${usd(cost.totalAfterFreeTier)} after free tiers; ${cost.waste.length} waste flag(s).`,
    `  wrote ${base}.json, ${base}.md${!svg ? '' : svgError ? ` (no SVG: ${svgError})` : `, ${base}.svg`}`,
  ].join('\n');
}
