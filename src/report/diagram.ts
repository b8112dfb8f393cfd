/**
 * The access map as a graph: keys and secrets as nodes, principals grouped
 * by kind, one edge per principal and resource labelled with what it may do.
 * One model, written as Mermaid (for the Markdown) and as Graphviz DOT,
 * which `@viz-js/viz` (Graphviz compiled to WebAssembly, MIT, bundled)
 * lays out and renders to SVG. Internal module.
 *
 * @viz-js/viz only loads asynchronously and synthesis is synchronous, so the
 * SVG is rendered in a short-lived child Node process (`execFileSync`),
 * offline, with no browser.
 */
import { execFileSync } from 'child_process';
import { AccessMap } from './access-map';

export interface Graph {
  readonly nodes: Array<{ id: string; label: string; group: string }>;
  readonly edges: Array<{ from: string; to: string; label: string }>;
}

const GROUPS: Record<string, string> = {
  'app-role': 'Roles of the app',
  'service': 'AWS services',
  'account': 'Account delegations',
  'external': 'Principals outside the app',
  'key': 'KMS keys',
  'secret': 'Secrets',
};

/** What a set of actions amounts to, in a few words. */
function summarize(actions: string[]): string {
  const a = new Set(actions.map(x => x.replace(/^(kms|secretsmanager):/, '')));
  const words: string[] = [];
  if (a.has('PutKeyPolicy') || a.has('ScheduleKeyDeletion')) words.push('administer');
  for (const [w, names] of [['decrypt', ['Decrypt']], ['encrypt', ['Encrypt', 'GenerateDataKey']], ['grant', ['CreateGrant']],
    ['read', ['GetSecretValue']], ['write', ['PutSecretValue']], ['rotate', ['RotateSecret']], ['delete', ['DeleteSecret']], ['policy', ['PutResourcePolicy']]] as Array<[string, string[]]>) {
    if (names.some(n => a.has(n))) words.push(w);
  }
  return words.length > 0 ? words.join(', ') : 'describe';
}

export function buildGraph(map: AccessMap): Graph {
  const nodes: Graph['nodes'] = [];
  const edges: Graph['edges'] = [];
  const ids = new Map<string, string>();
  const id = (k: string) => {
    if (!ids.has(k)) ids.set(k, `n${ids.size}`);
    return ids.get(k)!;
  };
  for (const k of map.keys) nodes.push({ id: id(k.arn), label: `🔑 ${k.path}`, group: 'key' });
  for (const s of map.secrets) nodes.push({ id: id(s.arn), label: `🔒 ${s.path}`, group: 'secret' });
  for (const s of map.secrets) if (s.key) edges.push({ from: id(s.arn), to: id(s.key.arn), label: 'encrypted by' });
  const used = new Set<string>();
  for (const [resource, entries] of map.entries) {
    const byPrincipal = new Map<string, { kind: string; actions: string[] }>();
    for (const e of entries) {
      if (e.decision !== 'Allowed' || e.action.includes('(')) continue;
      const x = byPrincipal.get(e.principal) ?? { kind: e.kind, actions: [] };
      x.actions.push(e.action);
      byPrincipal.set(e.principal, x);
    }
    for (const [principal, { kind, actions }] of byPrincipal) {
      if (!used.has(principal)) {
        used.add(principal);
        nodes.push({ id: id(`p:${principal}`), label: principal, group: kind });
      }
      edges.push({ from: id(`p:${principal}`), to: id(resource), label: summarize(actions) });
    }
  }
  return { nodes, edges };
}

const q = (s: string) => s.replace(/"/g, '#quot;');

export function toMermaid(g: Graph): string {
  const lines = ['flowchart LR'];
  for (const [group, title] of Object.entries(GROUPS)) {
    const members = g.nodes.filter(n => n.group === group);
    if (members.length === 0) continue;
    lines.push(`  subgraph ${group.replace(/-/g, '_')}["${title}"]`);
    for (const n of members) lines.push(`    ${n.id}["${q(n.label)}"]`);
    lines.push('  end');
  }
  for (const e of g.edges) lines.push(`  ${e.from} -->|${q(e.label)}| ${e.to}`);
  return lines.join('\n');
}

const d = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

export function toDot(g: Graph): string {
  const lines = ['digraph access {', '  rankdir=LR; node [shape=box, style="rounded,filled", fillcolor="#f8f8f8", fontname="Helvetica", fontsize=10]; edge [fontname="Helvetica", fontsize=9];'];
  for (const [group, title] of Object.entries(GROUPS)) {
    const members = g.nodes.filter(n => n.group === group);
    if (members.length === 0) continue;
    lines.push(`  subgraph ${d(`cluster_${group}`)} { label=${d(title)}; style=dashed;`);
    for (const n of members) lines.push(`    ${n.id} [label=${d(n.label)}${group === 'key' ? ', fillcolor="#fff3cd"' : group === 'secret' ? ', fillcolor="#d1e7dd"' : ''}];`);
    lines.push('  }');
  }
  for (const e of g.edges) lines.push(`  ${e.from} -> ${e.to} [label=${d(e.label)}];`);
  lines.push('}');
  return lines.join('\n');
}

const RENDER = "let d='';process.stdin.on('data',c=>d+=c).on('end',()=>require(process.argv[1]).instance().then(v=>process.stdout.write(v.renderString(d,{format:'svg'}))).catch(e=>{console.error(e.message);process.exit(1)}))";

/** Renders DOT to SVG with @viz-js/viz, or returns the reason it could not. */
export function renderSvg(dot: string): { svg?: string; error?: string } {
  try {
    const viz = require.resolve('@viz-js/viz');
    const svg = execFileSync(process.execPath, ['-e', RENDER, viz], { input: dot, maxBuffer: 64 * 1024 * 1024, stdio: ['pipe', 'pipe', 'pipe'] }).toString('utf-8');
    return { svg };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0] };
  }
}
