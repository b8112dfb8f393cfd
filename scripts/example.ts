/**
 * `npm run example`: synthesizes examples/app.ts into cdk.out, runs every
 * cdk-nag pack and cfn-lint on each stack, prints one table and exits
 * non-zero on any finding.
 */
import { spawnSync } from 'child_process';
import { readFileSync, rmSync } from 'fs';
import { Stack } from 'aws-cdk-lib';
import { buildApp } from '../examples/app';
import { cfnLint, describeFindings, Finding, nagFindings, unfixableReason } from '../test/support/compliance';

// cfn-lint is a Python tool: without it, one line that says how to get it, not a stack trace.
const probe = spawnSync('cfn-lint', ['--version'], { encoding: 'utf-8' });
if (probe.error || probe.status !== 0) {
  console.error('npm run example: cfn-lint is not installed (or does not run). Install it with: python3 -m pip install cfn-lint');
  process.exit(1);
}

// EXAMPLE_OUTDIR: scripts/cdk-latest.sh synthesizes with the newest aws-cdk-lib beside cdk.out.
const outdir = process.env.EXAMPLE_OUTDIR ?? 'cdk.out';
// eslint-disable-next-line @typescript-eslint/no-require-imports
console.log(`aws-cdk-lib ${require('aws-cdk-lib/package.json').version}, cdk-nag ${require('cdk-nag/package.json').version}`);
rmSync(outdir, { recursive: true, force: true });
const app = buildApp(outdir);
const assembly = app.synth();

const stacks = app.node.findAll().filter((c): c is Stack => Stack.isStack(c));
const rows: string[][] = [];
const all: Finding[] = [];
const accepted: Array<Finding & { reason: string }> = [];
let packNames: string[] = [];
for (const stack of stacks) {
  const artifact = assembly.getStackByName(stack.stackName);
  const template = artifact.template;
  const rawNag = nagFindings(stack);
  const nag: Record<string, Finding[]> = {};
  for (const [pack, findings] of Object.entries(rawNag)) {
    nag[pack] = findings.filter(f => {
      const reason = unfixableReason(f);
      if (reason) accepted.push({ ...f, reason });
      return !reason;
    });
  }
  packNames = Object.keys(nag);
  const lint = cfnLint(template, [stack.region]);
  const errors = lint.filter(f => f.level === 'error').length;
  const warnings = lint.length - errors;
  rows.push([
    stack.stackName,
    String(Object.keys(template.Resources ?? {}).length),
    ...packNames.map(p => String(nag[p].length)),
    String(errors),
    String(warnings),
    String(accepted.filter(a => a.resource.startsWith(`${stack.node.path}/`)).length),
  ]);
  all.push(...Object.values(nag).flat(), ...lint);
}

const header = ['Stack', 'Resources', ...packNames, 'cfn-lint errors', 'cfn-lint warnings', 'Accepted (documented)'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => r[i].length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map(w => '-'.repeat(w + 2)).join('|')}|`);
rows.forEach(r => console.log(line(r)));
console.log(`\nSynthesized ${stacks.length} stack(s) into ${outdir}/.`);

// The keys-and-secrets report (KeysAndSecretsReport in examples/app.ts): its cost section, printed.
const report = readFileSync(`${outdir}/keys-and-secrets.md`, 'utf-8');
console.log(`\n${report.slice(report.indexOf('## Cost per month'))}`);
console.log(`Full report: ${outdir}/keys-and-secrets.md (access map, Mermaid diagram), ${outdir}/keys-and-secrets.json, ${outdir}/keys-and-secrets.svg`);

if (accepted.length > 0) {
  console.log('\nAccepted findings (README "Findings we cannot fix"; nothing is suppressed in the library):');
  accepted.forEach(a => console.log(`  ${a.rule} on ${a.resource}\n    because: ${a.reason}`));
}

if (all.length > 0) {
  console.error(`\n${all.length} finding(s):\n${describeFindings(all)}`);
  process.exit(1);
}
console.log('No findings.');
